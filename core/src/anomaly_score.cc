#include "lstmad/core/anomaly_score.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace lstmad::core {
namespace {

SpotOptions SpotFor(const DetectorOptions& options) {
  SpotOptions spot = options.spot;
  spot.depth = options.threshold == ThresholdMode::kDspot ? options.dspot_depth : 0;
  return spot;
}

double Score(ScoreMode mode, double level, bool onset) {
  if (mode == ScoreMode::kLevel) return level;
  return onset ? kOnsetScoreFloor + (1.0 - kOnsetScoreFloor) * level : kQuietScoreCeiling * level;
}

}  // namespace

std::string_view ThresholdModeName(ThresholdMode mode) {
  switch (mode) {
    case ThresholdMode::kFixed: return "fixed";
    case ThresholdMode::kSpot: return "spot";
    case ThresholdMode::kDspot: return "dspot";
  }
  return "?";
}

std::optional<ThresholdMode> ParseThresholdMode(std::string_view name) {
  for (ThresholdMode m : {ThresholdMode::kFixed, ThresholdMode::kSpot, ThresholdMode::kDspot}) {
    if (name == ThresholdModeName(m)) return m;
  }
  return std::nullopt;
}

std::string_view ScoreModeName(ScoreMode mode) {
  return mode == ScoreMode::kOnset ? "onset" : "level";
}

std::optional<ScoreMode> ParseScoreMode(std::string_view name) {
  for (ScoreMode m : {ScoreMode::kOnset, ScoreMode::kLevel}) {
    if (name == ScoreModeName(m)) return m;
  }
  return std::nullopt;
}

Status DetectorOptions::Validate() const {
  LSTMAD_RETURN_IF_ERROR(SpotFor(*this).Validate());
  if (threshold == ThresholdMode::kDspot && dspot_depth < 1) {
    return Status::Error("DSPOT depth must be >= 1");
  }
  if (!(smoothing_span >= 1) || !std::isfinite(smoothing_span)) {
    return Status::Error("smoothing span must be a number >= 1 (1: no smoothing)");
  }
  if (calibration_windows < 0) return Status::Error("calibration windows must be >= 0");
  if (calibration_windows > 0 &&
      calibration_windows < kMinSpotCalibration + SpotFor(*this).depth) {
    return Status::Error("calibration windows must be at least " +
                         std::to_string(kMinSpotCalibration + SpotFor(*this).depth));
  }
  return Status::Ok();
}

StreamDetector::StreamDetector(const DetectorOptions& options, double fixed_threshold,
                               int lookback)
    : options_(options),
      fixed_threshold_(fixed_threshold),
      refractory_(options.refractory > 0 ? options.refractory : std::max(lookback, 1)),
      ewma_(options.smoothing_span),
      gate_(refractory_),
      spot_(SpotFor(options)) {
  warmup_.reserve(static_cast<size_t>(options.calibration_windows));
}

Status StreamDetector::Calibrate(std::span<const double> errors) {
  std::vector<double> smoothed;
  smoothed.reserve(errors.size());
  for (double e : errors) smoothed.push_back(ewma_.Update(e));
  warmup_.clear();
  return spot_.Calibrate(smoothed);
}

Detection StreamDetector::Warmup(double smoothed) noexcept {
  // The level is the error's rank among the windows seen so far (ties count
  // half): the empirical CDF, until there is enough for a tail model.
  Detection d;
  double below = 0;
  for (double v : warmup_) below += v < smoothed ? 1.0 : v == smoothed ? 0.5 : 0.0;
  d.level = warmup_.empty() ? 0.5 : below / static_cast<double>(warmup_.size());
  d.threshold = fixed_threshold_;
  d.alarm = smoothed > fixed_threshold_;
  if (options_.calibration_windows > 0 && std::isfinite(smoothed)) {
    warmup_.push_back(smoothed);
    if (warmup_.size() >= static_cast<size_t>(options_.calibration_windows)) {
      // The only allocation after construction: the tail model's buffers.
      if (spot_.Calibrate(warmup_).ok()) warmup_.clear();
    }
  }
  return d;
}

Detection StreamDetector::Observe(double error) noexcept {
  const double smoothed = ewma_.Update(error);
  Detection d;
  if (!spot_.calibrated()) {
    d = Warmup(smoothed);
  } else {
    const Spot::Step step = spot_.Observe(smoothed);
    d.level = std::clamp(1.0 - step.tail_probability, 0.0, 1.0);
    if (options_.threshold == ThresholdMode::kFixed) {
      d.threshold = fixed_threshold_;
      d.alarm = !(smoothed <= fixed_threshold_);
    } else {
      d.threshold = step.threshold;
      d.alarm = step.verdict == Spot::Verdict::kAlarm;
    }
  }
  d.error = error;
  d.smoothed = smoothed;
  d.onset = gate_.Observe(d.alarm);
  d.score = Score(options_.score, d.level, d.onset);
  return d;
}

}  // namespace lstmad::core
