#include "lstmad/core/error_likelihood.h"

#include <algorithm>
#include <cmath>

#include "lstmad/core/byte_codec.h"

namespace lstmad::core {
namespace {

// sigma is floored at this fraction of |mu| (and a tiny absolute value): a
// stream whose errors were all equal would otherwise alarm on the first
// rounding difference.
constexpr double kRelativeStdevFloor = 1e-3;
constexpr double kAbsoluteStdevFloor = 1e-12;

}  // namespace

Status LikelihoodOptions::Validate() const {
  if (short_window < 1 || short_window > 10000) {
    return Status::Error("likelihood short window must be in [1, 10000]");
  }
  if (block < 1 || history < block || history % block != 0 || history / block > 10000) {
    return Status::Error("likelihood history must be a multiple of its block (at most 10000 blocks)");
  }
  if (!(risk > 0 && risk < 0.5)) return Status::Error("likelihood risk must be in (0, 0.5)");
  if (!(clear_risk == 0 || (clear_risk >= risk && clear_risk < 0.5))) {
    return Status::Error("likelihood clear risk must be 0 (none) or in [risk, 0.5)");
  }
  return Status::Ok();
}

double NormalTail(double z) noexcept { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

double NormalTailInverse(double p) noexcept {
  double lo = -40, hi = 40;  // Q is decreasing
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (NormalTail(mid) > p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

double LogScaledLevel(double tail) noexcept {
  if (!(tail > 0)) return 1.0;
  if (tail >= 1) return 0.0;  // not -0.0, which a gauge would print
  return std::clamp(-std::log10(tail) / 10.0, 0.0, 1.0);
}

void ErrorLikelihood::Moments::Add(double x) noexcept {
  count += 1;
  const double delta = x - mean;
  mean += delta / count;
  m2 += delta * (x - mean);
}

void ErrorLikelihood::Moments::Merge(const Moments& other) noexcept {
  if (other.count == 0) return;
  const double n = count + other.count;
  const double delta = other.mean - mean;
  mean += delta * other.count / n;
  m2 += other.m2 + delta * delta * count * other.count / n;
  count = n;
}

ErrorLikelihood::ErrorLikelihood(const LikelihoodOptions& options)
    : options_(options),
      recent_(static_cast<size_t>(std::max(options.short_window - 1, 0))),
      blocks_(static_cast<size_t>(options.history / std::max(options.block, 1) + 1)),
      alarm_z_(NormalTailInverse(options.risk)) {}

double ErrorLikelihood::ShortAverage(double error) const noexcept {
  // Summed oldest first, so the result does not depend on where the ring
  // starts (a restored one starts at 0).
  const int size = static_cast<int>(recent_.size());
  const int oldest = recent_count_ < size ? 0 : recent_next_;
  double sum = 0;
  for (int i = 0; i < recent_count_; ++i) sum += recent_[static_cast<size_t>((oldest + i) % size)];
  return (sum + error) / (recent_count_ + 1);
}

void ErrorLikelihood::Push(double error, double average, int weight) noexcept {
  if (!recent_.empty()) {
    recent_[static_cast<size_t>(recent_next_)] = error;
    recent_next_ = (recent_next_ + 1) % static_cast<int>(recent_.size());
    recent_count_ = std::min(recent_count_ + 1, static_cast<int>(recent_.size()));
  }
  // A weight of w adds the value w times, one window's worth at a time, so
  // every block still holds whole windows (a saved state's counts stay
  // integers within the block) and the history stays `history` windows long.
  for (int i = 0; i < weight; ++i) {
    Moments* block = &blocks_[static_cast<size_t>(current_)];
    if (block->count >= options_.block) {
      // The oldest block leaves the history as a new one starts.
      current_ = (current_ + 1) % static_cast<int>(blocks_.size());
      block = &blocks_[static_cast<size_t>(current_)];
      *block = Moments{};
      MergeCompleteBlocks();
    }
    block->Add(average);
  }
}

void ErrorLikelihood::MergeCompleteBlocks() noexcept {
  // Oldest first, as Observe() then adds the current block last: the same
  // order, so the same bits, as merging every block on every step.
  complete_ = Moments{};
  const int blocks = static_cast<int>(blocks_.size());
  for (int i = 1; i < blocks; ++i) complete_.Merge(blocks_[static_cast<size_t>((current_ + i) % blocks)]);
}

ErrorLikelihood::Step ErrorLikelihood::Observe(double error, bool clip, int weight) noexcept {
  Step step;
  if (!std::isfinite(error)) {
    step.average = error;
    step.tail = error == -INFINITY ? 1.0 : 0.0;
    return step;
  }
  step.average = ShortAverage(error);
  // The complete blocks change only when a block fills: merged then, not on
  // every step (87 blocks with the default history).
  Moments all = complete_;
  all.Merge(blocks_[static_cast<size_t>(current_)]);
  if (all.count > 0) {
    step.mean = all.mean;
    step.stdev = std::max({std::sqrt(std::max(all.m2, 0.0) / all.count),
                           kRelativeStdevFloor * std::abs(all.mean), kAbsoluteStdevFloor});
    step.tail = step.average <= step.mean ? 1.0 : NormalTail((step.average - step.mean) / step.stdev);
  }
  // An alarming value enters the history clipped at the alarm level.
  const bool alarm = clip && step.tail < options_.risk;
  Push(error, alarm ? std::min(step.average, step.mean + alarm_z_ * step.stdev) : step.average,
       std::max(weight, 1));
  return step;
}

void ErrorLikelihood::set_risk(double risk) noexcept {
  options_.risk = risk;
  alarm_z_ = NormalTailInverse(risk);
}

void ErrorLikelihood::Learn(double error) noexcept {
  if (std::isfinite(error)) Push(error, ShortAverage(error));
}

int64_t ErrorLikelihood::history_count() const {
  double n = 0;
  for (const Moments& m : blocks_) n += m.count;
  return static_cast<int64_t>(n);
}

void ErrorLikelihood::AppendState(std::string* out) const {
  // The short window oldest first, so the ring's position need not travel.
  std::vector<double> recent;
  for (int i = 0; i < recent_count_; ++i) {
    const int oldest = recent_count_ < static_cast<int>(recent_.size()) ? 0 : recent_next_;
    recent.push_back(recent_[static_cast<size_t>((oldest + i) % static_cast<int>(recent_.size()))]);
  }
  bytes::PutCounted(out, recent);
  std::vector<double> moments;
  for (int i = 1; i <= static_cast<int>(blocks_.size()); ++i) {  // oldest block first
    const Moments& m = blocks_[static_cast<size_t>((current_ + i) % static_cast<int>(blocks_.size()))];
    moments.insert(moments.end(), {m.count, m.mean, m.m2});
  }
  bytes::PutCounted(out, moments);
}

Status ErrorLikelihood::ReadState(std::string_view* in) {
  std::vector<double> recent, moments;
  if (!bytes::GetCounted(in, recent_.size(), &recent) ||
      !bytes::GetCounted(in, 3 * blocks_.size(), &moments)) {
    return Status::Error("detector state: truncated or oversized likelihood state");
  }
  if (moments.size() != 3 * blocks_.size()) {
    return Status::Error("detector state: likelihood state for another history");
  }
  for (double v : recent) {
    if (!std::isfinite(v)) return Status::Error("detector state: a non-finite likelihood error");
  }
  for (size_t i = 0; i < moments.size(); i += 3) {
    const double count = moments[i], mean = moments[i + 1], m2 = moments[i + 2];
    if (!(count >= 0 && count <= options_.block && count == std::floor(count)) || !std::isfinite(mean) ||
        !(m2 >= 0) || !std::isfinite(m2)) {
      return Status::Error("detector state: inconsistent likelihood block");
    }
  }
  std::fill(recent_.begin(), recent_.end(), 0.0);
  std::copy(recent.begin(), recent.end(), recent_.begin());
  recent_count_ = static_cast<int>(recent.size());
  recent_next_ = recent_.empty() ? 0 : recent_count_ % static_cast<int>(recent_.size());
  for (size_t b = 0; b < blocks_.size(); ++b) {
    blocks_[b] = Moments{moments[3 * b], moments[3 * b + 1], moments[3 * b + 2]};
  }
  current_ = static_cast<int>(blocks_.size()) - 1;  // the newest, written last
  MergeCompleteBlocks();
  return Status::Ok();
}

}  // namespace lstmad::core
