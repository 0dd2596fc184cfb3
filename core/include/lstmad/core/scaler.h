// Per-feature scaling fitted on training data, stored with the model, applied
// to inputs on the way in and undone on reconstructions on the way out.
// A value type; no thread affinity.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "lstmad/core/status.h"
#include "lstmad/core/tensor.h"

namespace lstmad::core {

enum class ScalerKind {
  kNone,      // identity
  kStandard,  // z-score: (x - mean) / std, population std (ddof 0) as scikit-learn
  kMinMax,    // (x - min) / (max - min), into [0, 1] on the training data
};

std::string_view ScalerKindName(ScalerKind kind);
std::optional<ScalerKind> ParseScalerKind(std::string_view name);

// The largest magnitude a scaled value may have for the model to score it.
// Window errors are means of squared scaled differences in float, whose
// square overflows near 1.8e19; 1e15 leaves room for T x F terms and the
// network's gain, and no real measurement lies 1e15 training standard
// deviations (or ranges) away from its training data. The daemon refuses a
// sample beyond it (`out_of_range`) instead of scoring an overflowed window.
inline constexpr double kMaxScaledMagnitude = 1e15;

// The rows of `series` [features x samples] that are constant as the
// network sees them: minimum and maximum are the same float32 value. (A
// constant column's standard deviation computed in double is rounding noise,
// ~1e-16 of its level, not 0; dividing by it turned a change of 0.001 into
// an error of 1e19.)
std::vector<int> ConstantFeatures(const Matrix<double>& series);

// scaled = (x - offset) / scale, per feature. A constant feature (above) gets
// scale 1, so it maps to x - offset in its own units instead of dividing by
// (about) zero.
struct Scaler {
  ScalerKind kind = ScalerKind::kNone;
  std::vector<double> offset;
  std::vector<double> scale;

  // `series` is [features x samples].
  static Scaler Fit(ScalerKind kind, const Matrix<double>& series);
  static Scaler Identity(int features);

  // In place on a [rows x n] matrix of any column count: the first
  // offset.size() rows (the series' features) are scaled; rows after them,
  // a model's time inputs (core/time_features.h), are left as they are.
  template <typename S>
  void Transform(Matrix<S>* x) const;
  template <typename S>
  void Inverse(Matrix<S>* x) const;
  // Feature `f`'s value `x` scaled (in double: it may overflow float).
  double Scaled(int f, double x) const {
    if (kind == ScalerKind::kNone) return x;
    const auto i = static_cast<size_t>(f);
    return (x - offset[i]) / scale[i];
  }

  Status Validate(int features) const;
};

}  // namespace lstmad::core
