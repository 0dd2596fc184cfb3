// Novel values: a sample beyond everything the stream has shown is an
// anomaly whatever the model's error says. After the "spatial anomaly" rule of
// Numenta's NAB detector (numenta/NAB, nab/detectors/numenta): per feature,
// the lowest and highest value seen so far, [lo, hi]; a value outside
// [lo - m (hi - lo), hi + m (hi - lo)] is novel, with m = 0.05 there and by
// default here. Every value then widens the range, so a new level is novel
// once, at its first sample, and normal after; a spike teaches the range its
// height, so only a higher one is novel again.
//
// Why, for an autoencoder: a value outside the training range is where its
// reconstruction is least predictable. A ramp or level shift to values the
// model never saw can still reconstruct with an ordinary error (the model
// extrapolates a smooth shape well), and a window's error is the mean over T
// steps, so one new extreme sample is diluted by T. The rule is what the
// error cannot see; the model's error is what the rule cannot see (every
// anomaly inside the range).
//
// A feature whose range has no width yet (one value seen, or all equal) is
// never novel (as in Numenta's rule): there is no scale to measure "beyond"
// against. Non-finite values are neither judged nor learnt (the detector's
// non-finite path, and the daemon's sample checks, handle those).
//
// Memory: two doubles per feature, allocated at the first values. Not
// thread-safe; one per stream (StreamDetector holds it).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lstmad/core/status.h"

namespace lstmad::core {

class ValueNovelty {
 public:
  explicit ValueNovelty(double margin) : margin_(margin) {}

  // Widens the range by `values` (one per feature) without judging them.
  void Learn(std::span<const double> values);
  // Whether some feature of `values` lies outside its widened range; then
  // learns them. A span of another length than the first one learnt is
  // neither judged nor learnt (false). Allocation-free after the first call.
  bool Observe(std::span<const double> values) noexcept;

  double margin() const { return margin_; }
  // Per feature: lo, hi, interleaved (empty before the first values).
  const std::vector<double>& bounds() const { return bounds_; }

  // For saved detector state (detector_state.cc).
  void AppendState(std::string* out) const;
  Status ReadState(std::string_view* in);

 private:
  void Widen(std::span<const double> values) noexcept;

  double margin_;
  std::vector<double> bounds_;  // lo_0, hi_0, lo_1, hi_1, ...; NaN until a feature's first finite value
};

}  // namespace lstmad::core
