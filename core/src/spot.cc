#include "lstmad/core/spot.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "lstmad/core/threshold.h"

namespace lstmad::core {

Status SpotOptions::Validate() const {
  if (!(initial_level > 0 && initial_level < 1)) {
    return Status::Error("SPOT initial level must be in (0, 1), got " + std::to_string(initial_level));
  }
  if (!(risk > 0 && risk < 1 - initial_level)) {
    return Status::Error("SPOT risk q must be in (0, 1 - initial level) = (0, " +
                         std::to_string(1 - initial_level) + "), got " + std::to_string(risk));
  }
  if (max_peaks < 1) return Status::Error("SPOT max peaks must be >= 1");
  if (depth < 0) return Status::Error("DSPOT depth must be >= 0");
  return Status::Ok();
}

Spot::Spot(const SpotOptions& options) : options_(options) {}

double Spot::drift() const {
  return window_.empty() ? 0.0 : window_sum_ / static_cast<double>(window_.size());
}

void Spot::PushDrift(double x) noexcept {
  if (window_.empty()) return;
  window_[window_next_] = x;
  window_next_ = (window_next_ + 1) % window_.size();
  // Summed afresh (d is small) so rounding does not accumulate over a long stream.
  window_sum_ = 0;
  for (double v : window_) window_sum_ += v;
}

void Spot::AddPeak(double excess) noexcept {
  if (excess_.size() < static_cast<size_t>(options_.max_peaks)) {
    excess_.push_back(excess);  // capacity reserved by Calibrate: no allocation
    arrival_.push_back(count_);
    return;
  }
  dropped_count_ = arrival_[oldest_];
  excess_[oldest_] = excess;
  arrival_[oldest_] = count_;
  oldest_ = (oldest_ + 1) % excess_.size();
}

double Spot::censored() const {
  const int64_t online = count_ - std::max(dropped_count_, calibration_count_);
  return online > 0 ? options_.risk * static_cast<double>(online) : 0.0;
}

void Spot::Refit() noexcept {
  // A local search from the previous fit, with a full one now and then in
  // case the optimum moved to another basin.
  const bool full = refits_++ % kFullSearchEvery == 0;
  gpd_ = FitGpd(GpdSample{excess_, censored(), std::max(z_ - t_, 0.0)}, full ? nullptr : &gpd_);
  UpdateQuantile();
}

void Spot::UpdateQuantile() noexcept {
  if (excess_.empty()) {
    z_ = t_;
    return;
  }
  // The quantile lies below t when q n / N_t >= 1 (only if K cut the horizon
  // short); t is then the best the model can say.
  const double m = censored();
  const double r = options_.risk * (static_cast<double>(observations()) + m) /
                   (static_cast<double>(peaks()) + m);
  z_ = r < 1 ? t_ + GpdInverseSurvival(gpd_, r) : t_;
}

Status Spot::Calibrate(std::span<const double> values) {
  const size_t d = static_cast<size_t>(options_.depth);
  if (values.size() < d + kMinSpotCalibration) {
    return Status::Error("SPOT calibration needs at least " +
                         std::to_string(d + kMinSpotCalibration) + " values, got " +
                         std::to_string(values.size()));
  }
  for (double v : values) {
    if (!std::isfinite(v)) return Status::Error("SPOT calibration values must be finite");
  }
  calibrated_ = false;
  window_.assign(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(d));
  window_next_ = 0;
  window_sum_ = 0;
  for (double v : window_) window_sum_ += v;
  std::vector<double> corrected;
  corrected.reserve(values.size() - d);
  for (size_t i = d; i < values.size(); ++i) {
    corrected.push_back(values[i] - drift());
    PushDrift(values[i]);
  }
  t_ = Percentile(corrected, 100.0 * options_.initial_level);
  excess_.clear();
  arrival_.clear();
  excess_.reserve(static_cast<size_t>(options_.max_peaks));
  arrival_.reserve(static_cast<size_t>(options_.max_peaks));
  oldest_ = 0;
  count_ = 0;
  dropped_count_ = 0;
  refits_ = 0;
  std::vector<double> below;
  for (double v : corrected) {
    ++count_;
    if (v > t_) {
      AddPeak(v - t_);
    } else {
      below.push_back(v);
    }
  }
  calibration_count_ = count_;
  below_t_.clear();
  if (!below.empty()) {
    std::sort(below.begin(), below.end());
    for (int k = 0; k < kCdfPoints; ++k) {
      below_t_.push_back(PercentileOfSorted(below, 100.0 * k / (kCdfPoints - 1)));
    }
  }
  Refit();
  calibrated_ = true;
  return Status::Ok();
}

double Spot::TailProbability(double x) const noexcept {
  const double xc = x - drift();
  const double m = censored();
  const double rate = (static_cast<double>(peaks()) + m) /
                      std::max(static_cast<double>(observations()) + m, 1.0);
  if (xc > t_) return excess_.empty() ? 0.0 : rate * GpdSurvival(gpd_, xc - t_);
  // Below t: the calibration values' empirical CDF, interpolated between the
  // stored quantiles.
  double cdf = 1.0;
  if (!below_t_.empty() && xc < below_t_.back()) {
    const auto it = std::upper_bound(below_t_.begin(), below_t_.end(), xc);
    if (it == below_t_.begin()) {
      cdf = 0.0;
    } else {
      const auto k = static_cast<size_t>(it - below_t_.begin()) - 1;
      const double lo = below_t_[k], hi = below_t_[k + 1];
      const double frac = hi > lo ? (xc - lo) / (hi - lo) : 0.0;
      cdf = (static_cast<double>(k) + frac) / (kCdfPoints - 1);
    }
  }
  return rate + (1.0 - rate) * (1.0 - cdf);
}

Spot::Step Spot::Observe(double x) noexcept {
  Step step;
  step.threshold = threshold();
  if (!std::isfinite(x)) {
    // Nothing can be learnt from it; it is as anomalous as it gets.
    step.verdict = Verdict::kAlarm;
    step.tail_probability = 0;
    return step;
  }
  step.tail_probability = TailProbability(x);
  const double xc = x - drift();
  if (xc > z_) {
    step.verdict = Verdict::kAlarm;
    return step;
  }
  ++count_;
  if (xc > t_) {
    step.verdict = Verdict::kPeak;
    AddPeak(xc - t_);
    Refit();
  } else {
    UpdateQuantile();  // n grew, the peak rate N_t / n fell: z_q follows it
  }
  PushDrift(x);
  return step;
}

}  // namespace lstmad::core
