#include "lstmad/core/evaluation.h"

#include <algorithm>
#include <cmath>

namespace lstmad::core {
namespace {

double Ratio(int64_t num, int64_t den) {
  return den > 0 ? static_cast<double>(num) / static_cast<double>(den) : 0.0;
}

int Rows(std::span<const uint8_t> labels) { return static_cast<int>(labels.size()); }

Counts PointCounts(std::span<const uint8_t> labels, std::span<const uint8_t> flags,
                   int first_scored) {
  Counts c;
  for (int i = std::max(first_scored, 0); i < Rows(labels); ++i) {
    const bool l = labels[static_cast<size_t>(i)] != 0, f = flags[static_cast<size_t>(i)] != 0;
    c.tp += l && f;
    c.fp += !l && f;
    c.fn += l && !f;
  }
  return c;
}

}  // namespace

double Counts::precision() const { return Ratio(tp, tp + fp); }
double Counts::recall() const { return Ratio(tp, tp + fn); }
double Counts::f1() const {
  const double p = precision(), r = recall();
  return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}
Counts& Counts::operator+=(const Counts& other) {
  tp += other.tp;
  fp += other.fp;
  fn += other.fn;
  return *this;
}

std::vector<Event> EventsFromLabels(std::span<const uint8_t> labels, int first_scored) {
  std::vector<Event> events;
  for (int i = std::max(first_scored, 0); i < Rows(labels); ++i) {
    if (labels[static_cast<size_t>(i)] == 0) continue;
    if (!events.empty() && events.back().end == i - 1) {
      events.back().end = i;
    } else {
      events.push_back(Event{i, i});
    }
  }
  return events;
}

double Evaluation::MeanDelay() const {
  if (delays.empty()) return 0;
  double sum = 0;
  for (int d : delays) sum += d;
  return sum / static_cast<double>(delays.size());
}

double Evaluation::MedianDelay() const {
  if (delays.empty()) return 0;
  std::vector<int> sorted = delays;
  std::sort(sorted.begin(), sorted.end());
  return sorted[(sorted.size() - 1) / 2];
}

Evaluation Evaluate(std::span<const uint8_t> labels, std::span<const uint8_t> flags,
                    int first_scored) {
  Evaluation e;
  e.points = PointCounts(labels, flags, first_scored);
  const std::vector<Event> events = EventsFromLabels(labels, first_scored);
  std::vector<uint8_t> adjusted(flags.begin(), flags.end());
  for (const Event& ev : events) {
    int first = -1;
    for (int i = ev.begin; i <= ev.end && first < 0; ++i) {
      if (flags[static_cast<size_t>(i)] != 0) first = i;
    }
    if (first < 0) {
      ++e.events.fn;
      continue;
    }
    ++e.events.tp;
    e.delays.push_back(first - ev.begin);
    e.first_flags.push_back(first);
    std::fill(adjusted.begin() + ev.begin, adjusted.begin() + ev.end + 1, uint8_t{1});
  }
  e.point_adjusted = PointCounts(labels, adjusted, first_scored);
  // False-positive events: runs of flagged rows with no labelled row in them.
  const int n = Rows(labels);
  for (int i = std::max(first_scored, 0); i < n;) {
    if (flags[static_cast<size_t>(i)] == 0) {
      ++i;
      continue;
    }
    bool touches = false;
    for (; i < n && flags[static_cast<size_t>(i)] != 0; ++i) {
      touches = touches || labels[static_cast<size_t>(i)] != 0;
    }
    e.events.fp += touches ? 0 : 1;
  }
  return e;
}

int NabProbationaryRows(int rows, double fraction) {
  return static_cast<int>(std::min(std::floor(fraction * rows), fraction * 5000));
}

double NabScaledSigmoid(double y) {
  if (y >= 3.0) return -1.0;
  return 2.0 / (1.0 + std::exp(5.0 * y)) - 1.0;
}

double NabFileScore::Normalized() const {
  return perfect > null ? 100.0 * (raw - null) / (perfect - null) : 0.0;
}

NabFileScore NabScore(std::span<const double> scores, std::span<const uint8_t> labels,
                      double threshold, const NabProfile& profile) {
  NabFileScore result;
  const int n = Rows(labels);
  const int probation = NabProbationaryRows(n);
  const std::vector<Event> windows = EventsFromLabels(labels);
  const double max_tp = NabScaledSigmoid(-1.0);
  double fp_sum = 0, window_sum = 0;
  size_t next = 0;              // the next window to enter or the one we are in
  const Event* prev = nullptr;  // the last window left behind
  // Detections outside windows, each weighed by how far past the previous
  // window it is (NAB counts a window in the probation as "previous" too).
  auto fp_weight = [&](int i) {
    double position = 3.0;
    if (prev != nullptr) {
      const double width = prev->end - prev->begin + 1;
      position = std::abs(prev->end - i) / std::max(width - 1.0, 1.0);
    }
    return NabScaledSigmoid(position) * profile.fp_weight;
  };
  for (int i = 0; i < n; ++i) {
    while (next < windows.size() && windows[next].end < i) prev = &windows[next++];
    const bool in_window = next < windows.size() && windows[next].begin <= i;
    if (i < probation || !(scores[static_cast<size_t>(i)] >= threshold)) continue;
    if (!in_window) {
      fp_sum += fp_weight(i);
      ++result.false_positives;
    }
  }
  for (const Event& w : windows) {
    if (w.end < probation) continue;
    ++result.windows;
    const double width = w.end - w.begin + 1;
    double best = -profile.fn_weight;
    for (int i = std::max(w.begin, probation); i <= w.end; ++i) {
      if (!(scores[static_cast<size_t>(i)] >= threshold)) continue;
      const double position = -(w.end - i + 1) / width;
      best = std::max(best, NabScaledSigmoid(position) * profile.tp_weight / max_tp);
    }
    result.detected += best > -profile.fn_weight ? 1 : 0;
    window_sum += best;
  }
  result.raw = window_sum + fp_sum;
  result.null = -profile.fn_weight * result.windows;
  result.perfect = profile.tp_weight * result.windows;
  return result;
}

}  // namespace lstmad::core
