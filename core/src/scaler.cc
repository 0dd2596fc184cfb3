#include "lstmad/core/scaler.h"

#include <algorithm>

#include <cmath>
#include <string>

namespace lstmad::core {

std::string_view ScalerKindName(ScalerKind kind) {
  switch (kind) {
    case ScalerKind::kNone: return "none";
    case ScalerKind::kStandard: return "standard";
    case ScalerKind::kMinMax: return "minmax";
  }
  return "unknown";
}

std::optional<ScalerKind> ParseScalerKind(std::string_view name) {
  if (name == "none") return ScalerKind::kNone;
  if (name == "standard") return ScalerKind::kStandard;
  if (name == "minmax") return ScalerKind::kMinMax;
  return std::nullopt;
}

Scaler Scaler::Identity(int features) {
  Scaler s;
  s.kind = ScalerKind::kNone;
  s.offset.assign(static_cast<size_t>(features), 0.0);
  s.scale.assign(static_cast<size_t>(features), 1.0);
  return s;
}

namespace {

bool IsConstant(const Matrix<double>& series, Eigen::Index f) {
  return static_cast<float>(series.row(f).minCoeff()) == static_cast<float>(series.row(f).maxCoeff());
}

}  // namespace

std::vector<int> ConstantFeatures(const Matrix<double>& series) {
  std::vector<int> out;
  if (series.cols() == 0) return out;
  for (Eigen::Index f = 0; f < series.rows(); ++f) {
    if (IsConstant(series, f)) out.push_back(static_cast<int>(f));
  }
  return out;
}

Scaler Scaler::Fit(ScalerKind kind, const Matrix<double>& series) {
  Scaler s = Identity(static_cast<int>(series.rows()));
  s.kind = kind;
  if (series.cols() == 0) return s;
  for (Eigen::Index f = 0; f < series.rows(); ++f) {
    const auto row = series.row(f).array();
    double offset = 0, scale = 1;
    if (kind == ScalerKind::kStandard) {
      offset = row.mean();
      scale = std::sqrt((row - offset).square().mean());
    } else if (kind == ScalerKind::kMinMax) {
      offset = row.minCoeff();
      scale = row.maxCoeff() - offset;
    }
    // A constant feature would divide by (about) zero; keep its own units.
    if (IsConstant(series, f) || !(scale > 0) || !std::isfinite(scale)) scale = 1;
    s.offset[static_cast<size_t>(f)] = offset;
    s.scale[static_cast<size_t>(f)] = scale;
  }
  return s;
}

template <typename S>
void Scaler::Transform(Matrix<S>* x) const {
  if (kind == ScalerKind::kNone) return;
  const Eigen::Index rows = std::min<Eigen::Index>(x->rows(), static_cast<Eigen::Index>(offset.size()));
  for (Eigen::Index f = 0; f < rows; ++f) {
    const auto i = static_cast<size_t>(f);
    x->row(f).array() = (x->row(f).array() - S(offset[i])) / S(scale[i]);
  }
}

template <typename S>
void Scaler::Inverse(Matrix<S>* x) const {
  if (kind == ScalerKind::kNone) return;
  const Eigen::Index rows = std::min<Eigen::Index>(x->rows(), static_cast<Eigen::Index>(offset.size()));
  for (Eigen::Index f = 0; f < rows; ++f) {
    const auto i = static_cast<size_t>(f);
    x->row(f).array() = x->row(f).array() * S(scale[i]) + S(offset[i]);
  }
}

Status Scaler::Validate(int features) const {
  const auto n = static_cast<size_t>(features);
  if (offset.size() != n || scale.size() != n) {
    return Status::Error("scaler has " + std::to_string(offset.size()) + " offsets and " +
                         std::to_string(scale.size()) + " scales for " + std::to_string(n) +
                         " features");
  }
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(offset[i]) || !std::isfinite(scale[i]) || scale[i] <= 0) {
      return Status::Error("scaler entry " + std::to_string(i) +
                           " is not finite or has a non-positive scale");
    }
  }
  return Status::Ok();
}

template void Scaler::Transform<float>(Matrix<float>*) const;
template void Scaler::Transform<double>(Matrix<double>*) const;
template void Scaler::Inverse<float>(Matrix<float>*) const;
template void Scaler::Inverse<double>(Matrix<double>*) const;

}  // namespace lstmad::core
