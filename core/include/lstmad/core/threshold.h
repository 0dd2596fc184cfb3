// The anomaly threshold on reconstruction error: how it is specified and
// computed from the validation windows' errors at the end of training.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lstmad/core/status.h"

namespace lstmad::core {

// Spellings: "p99.5" (percentile, linear interpolation as NumPy's default),
// "mean+4std" (mean plus k population standard deviations), or a plain
// non-negative number (a fixed threshold).
struct ThresholdSpec {
  enum class Kind { kPercentile, kMeanPlusStd, kFixed };
  Kind kind = Kind::kPercentile;
  double value = 99.5;  // percentile, k, or the fixed threshold

  static Result<ThresholdSpec> Parse(std::string_view text);
  std::string ToString() const;
};

// The least threshold ComputeThreshold gives for a percentile or mean+k std:
// an RMS reconstruction error of 0.001 scaled units. Windows reconstructed
// exactly (a constant series) would otherwise give a threshold of 0, and
// every later window that differs by a rounding step would be an anomaly.
inline constexpr double kMinComputedThreshold = 1e-6;

// Errors must be non-empty unless the spec is fixed. A computed threshold is
// at least kMinComputedThreshold; a fixed one is as given.
Result<double> ComputeThreshold(const ThresholdSpec& spec, std::vector<double> errors);

// Whether a window's error is above the fixed threshold. A NaN error (a
// reconstruction that overflowed) is: it is the least normal window there is.
inline bool ExceedsThreshold(double error, double threshold) { return !(error <= threshold); }

// NumPy's default (linear) percentile, p in [0, 100]; `values` non-empty.
double Percentile(std::vector<double> values, double p);
// The same of values already sorted ascending (not empty): no copy, no sort.
double PercentileOfSorted(std::span<const double> sorted, double p);

}  // namespace lstmad::core
