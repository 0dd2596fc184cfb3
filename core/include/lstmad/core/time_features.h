// Time features: inputs a model can learn daily and weekly cycles from. Each
// cycle of period P adds two inputs for a sample at time t (seconds since the
// epoch, UTC): sin(2 pi t / P) and cos(2 pi t / P). Together they place t on
// the cycle's circle without the jump a plain "hour of day" has at midnight,
// and they are already in [-1, 1], so the model's scaler leaves them alone.
//
// The network's inputs are the series' features followed by the time inputs
// (docs/detection.md, "Time features"); a model stores its set in the model
// file (docs/model-format.md, key `time_features`).
//
// A value type; Compute is pure and noexcept, safe from any thread.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lstmad/core/status.h"
#include "lstmad/core/tensor.h"

namespace lstmad::core {

enum class TimeCycle {
  kDaily,   // period 86400 s
  kWeekly,  // period 604800 s; phase 0 is Thursday 00:00 UTC (1970-01-01 was a Thursday)
};

double CyclePeriodSeconds(TimeCycle cycle) noexcept;
std::string_view TimeCycleName(TimeCycle cycle) noexcept;

struct TimeFeatures {
  // Distinct, in the canonical order (daily before weekly) whatever order
  // they were asked for in, so two spellings of a set give the same inputs.
  std::vector<TimeCycle> cycles;

  bool empty() const noexcept { return cycles.empty(); }
  // The number of inputs the set adds: two per cycle.
  int inputs() const noexcept { return 2 * static_cast<int>(cycles.size()); }

  // "daily,weekly"; "none" for the empty set.
  std::string ToString() const;
  // A comma-separated list of cycle names ("weekly,daily"); "" and "none"
  // are the empty set. An unknown name or a repeated cycle is an error that
  // names it.
  static Result<TimeFeatures> Parse(std::string_view list);

  // Writes the inputs() values for time `seconds` into out[0..inputs()):
  // sin then cos of each cycle, in `cycles` order. The phase is reduced
  // modulo the period first, so large epoch times keep their precision.
  void Compute(double seconds, std::span<float> out) const noexcept;

  friend bool operator==(const TimeFeatures&, const TimeFeatures&) = default;
};

// The network's input series for `series` [F x N] (any units) sampled at
// `seconds` [N]: its F rows followed by the time inputs of each sample,
// [(F + time.inputs()) x N]. The time inputs are computed in float, as the
// daemon computes them, so every scorer feeds the network the same values.
// `seconds` must hold one time per sample.
template <typename S>
Matrix<S> AppendTimeInputs(const Matrix<S>& series, const TimeFeatures& time,
                           std::span<const double> seconds);

}  // namespace lstmad::core
