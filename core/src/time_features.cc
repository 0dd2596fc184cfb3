#include "lstmad/core/time_features.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <optional>

#include "lstmad/core/text.h"

namespace lstmad::core {
namespace {

constexpr TimeCycle kAllCycles[] = {TimeCycle::kDaily, TimeCycle::kWeekly};

std::optional<TimeCycle> ParseCycle(std::string_view name) {
  for (const TimeCycle c : kAllCycles) {
    if (TimeCycleName(c) == name) return c;
  }
  return std::nullopt;
}

}  // namespace

double CyclePeriodSeconds(TimeCycle cycle) noexcept {
  return cycle == TimeCycle::kDaily ? 86400.0 : 604800.0;
}

std::string_view TimeCycleName(TimeCycle cycle) noexcept {
  return cycle == TimeCycle::kDaily ? "daily" : "weekly";
}

std::string TimeFeatures::ToString() const {
  if (cycles.empty()) return "none";
  std::string out;
  for (const TimeCycle c : cycles) {
    if (!out.empty()) out += ',';
    out += TimeCycleName(c);
  }
  return out;
}

Result<TimeFeatures> TimeFeatures::Parse(std::string_view list) {
  TimeFeatures out;
  if (list.empty() || list == "none") return out;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    const std::string_view name = list.substr(start, comma - start);
    const std::optional<TimeCycle> cycle = ParseCycle(name);
    if (!cycle) {
      return Status::Invalid("unknown time feature " + Quote(name) + " (known: daily, weekly)");
    }
    if (std::find(out.cycles.begin(), out.cycles.end(), *cycle) != out.cycles.end()) {
      return Status::Invalid("time feature " + Quote(name) + " appears twice");
    }
    out.cycles.push_back(*cycle);
    start = comma + 1;
  }
  std::sort(out.cycles.begin(), out.cycles.end());
  return out;
}

void TimeFeatures::Compute(double seconds, std::span<float> out) const noexcept {
  size_t i = 0;
  for (const TimeCycle c : cycles) {
    const double period = CyclePeriodSeconds(c);
    // fmod is exact, so the angle keeps the precision of a phase in [0, P)
    // rather than of an epoch time around 2e9.
    const double angle = 2.0 * std::numbers::pi * (std::fmod(seconds, period) / period);
    out[i++] = static_cast<float>(std::sin(angle));
    out[i++] = static_cast<float>(std::cos(angle));
  }
}

template <typename S>
Matrix<S> AppendTimeInputs(const Matrix<S>& series, const TimeFeatures& time,
                           std::span<const double> seconds) {
  const Eigen::Index features = series.rows();
  Matrix<S> out(features + time.inputs(), series.cols());
  out.topRows(features) = series;
  Vector<float> inputs(time.inputs());
  for (Eigen::Index s = 0; s < series.cols(); ++s) {
    time.Compute(seconds[static_cast<size_t>(s)],
                 std::span<float>(inputs.data(), static_cast<size_t>(inputs.size())));
    out.col(s).tail(time.inputs()) = inputs.cast<S>();
  }
  return out;
}

template Matrix<float> AppendTimeInputs(const Matrix<float>&, const TimeFeatures&, std::span<const double>);
template Matrix<double> AppendTimeInputs(const Matrix<double>&, const TimeFeatures&, std::span<const double>);

}  // namespace lstmad::core
