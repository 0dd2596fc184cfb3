#include "lstmad/core/value_novelty.h"

#include <cmath>
#include <limits>

#include "lstmad/core/byte_codec.h"

namespace lstmad::core {

void ValueNovelty::Learn(std::span<const double> values) {
  if (bounds_.empty()) bounds_.assign(2 * values.size(), std::numeric_limits<double>::quiet_NaN());
  Widen(values);
}

void ValueNovelty::Widen(std::span<const double> values) noexcept {
  if (bounds_.size() != 2 * values.size()) return;
  for (size_t f = 0; f < values.size(); ++f) {
    const double v = values[f];
    if (!std::isfinite(v)) continue;
    double& lo = bounds_[2 * f];
    double& hi = bounds_[2 * f + 1];
    // NaN bounds (no value yet) compare false: the first value sets both.
    if (!(lo <= v)) lo = v;
    if (!(hi >= v)) hi = v;
  }
}

bool ValueNovelty::Observe(std::span<const double> values) noexcept {
  if (bounds_.empty()) {
    // Not learnt from anything yet: the first values only start the range.
    bounds_.assign(2 * values.size(), std::numeric_limits<double>::quiet_NaN());
  }
  if (bounds_.size() != 2 * values.size()) return false;
  bool novel = false;
  for (size_t f = 0; f < values.size(); ++f) {
    const double v = values[f], lo = bounds_[2 * f], hi = bounds_[2 * f + 1];
    const double width = hi - lo;  // NaN before the feature's first value
    if (!std::isfinite(v) || !(width > 0)) continue;
    const double slack = margin_ * width;
    if (v > hi + slack || v < lo - slack) novel = true;
  }
  Widen(values);
  return novel;
}

void ValueNovelty::AppendState(std::string* out) const { bytes::PutCounted(out, bounds_); }

Status ValueNovelty::ReadState(std::string_view* in) {
  std::vector<double> bounds;
  // A model has at most a few thousand features; the bound only keeps a
  // damaged count from allocating.
  constexpr size_t kMaxBounds = size_t{1} << 24;
  if (!bytes::GetCounted(in, kMaxBounds, &bounds) || bounds.size() % 2 != 0) {
    return Status::Error("detector state: truncated or inconsistent value range");
  }
  for (size_t i = 0; i < bounds.size(); i += 2) {
    const double lo = bounds[i], hi = bounds[i + 1];
    const bool unset = std::isnan(lo) && std::isnan(hi);
    if (!unset && !(std::isfinite(lo) && std::isfinite(hi) && lo <= hi)) {
      return Status::Error("detector state: inconsistent value range");
    }
  }
  bounds_ = std::move(bounds);
  return Status::Ok();
}

}  // namespace lstmad::core
