#include "lstmad/core/anomaly_score.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace lstmad::core {
namespace {

SpotOptions SpotFor(const DetectorOptions& options) {
  SpotOptions spot = options.spot;
  spot.depth = options.threshold == ThresholdMode::kDspot ? options.dspot_depth : 0;
  return spot;
}

double Score(ScoreMode mode, double tail, bool onset) {
  if (mode == ScoreMode::kLevel) return std::clamp(1.0 - tail, 0.0, 1.0);
  const double s = LogScaledLevel(tail);
  return onset ? kOnsetScoreFloor + (1.0 - kOnsetScoreFloor) * s : kQuietScoreCeiling * s;
}

// Whether a window's step (Observe's step_seconds) says anything of the
// sampling interval; samples that share a timestamp say nothing.
bool KnownStep(double seconds) { return std::isfinite(seconds) && seconds > 0; }

// The lower median (one of the values, no averaging), reordering them; 0
// when there are none.
double LowerMedian(std::vector<double>* values) {
  if (values->empty()) return 0;
  const auto mid = values->begin() + static_cast<std::ptrdiff_t>((values->size() - 1) / 2);
  std::nth_element(values->begin(), mid, values->end());
  return *mid;
}

}  // namespace

std::string_view ThresholdModeName(ThresholdMode mode) {
  switch (mode) {
    case ThresholdMode::kFixed: return "fixed";
    case ThresholdMode::kSpot: return "spot";
    case ThresholdMode::kDspot: return "dspot";
    case ThresholdMode::kLikelihood: return "likelihood";
    case ThresholdMode::kSpotAndLikelihood: return "spot_and_likelihood";
  }
  return "?";
}

std::optional<ThresholdMode> ParseThresholdMode(std::string_view name) {
  for (ThresholdMode m : {ThresholdMode::kFixed, ThresholdMode::kSpot, ThresholdMode::kDspot,
                          ThresholdMode::kLikelihood, ThresholdMode::kSpotAndLikelihood}) {
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
  LSTMAD_RETURN_IF_ERROR(likelihood.Validate());
  if (threshold == ThresholdMode::kDspot && dspot_depth < 1) {
    return Status::Error("DSPOT depth must be >= 1");
  }
  if (!(smoothing_span >= 1) || !std::isfinite(smoothing_span)) {
    return Status::Error("smoothing span must be a number >= 1 (1: no smoothing)");
  }
  if (calibration_windows < 0) return Status::Error("calibration windows must be >= 0");
  if (settle < -1) return Status::Error("likelihood settling must be >= 0 windows (-1: the lookback)");
  if (accept_after < -1) {
    return Status::Error("likelihood accept-after must be >= 0 windows (-1: a tenth of the history)");
  }
  if (settle_weight < 1 || settle_weight > 10000) {
    return Status::Error("likelihood settling weight must be in [1, 10000] windows");
  }
  if (!(likelihood_risk_per >= 0) || !std::isfinite(likelihood_risk_per)) {
    return Status::Error("likelihood risk period must be >= 0 seconds (0: the risk is per window)");
  }
  if (!(novelty_margin >= 0 || novelty_margin == kNoveltyOff) || !std::isfinite(novelty_margin)) {
    return Status::Error("novelty margin must be a number >= 0 (a fraction of the range), or off");
  }
  if (calibration_windows > 0 &&
      calibration_windows < kMinSpotCalibration + SpotFor(*this).depth) {
    return Status::Error("calibration windows must be at least " +
                         std::to_string(kMinSpotCalibration + SpotFor(*this).depth));
  }
  return Status::Ok();
}

StreamDetector::StreamDetector(const DetectorOptions& options, double fixed_threshold, int lookback)
    : options_(options),
      fixed_threshold_(fixed_threshold),
      refractory_(options.refractory > 0 ? options.refractory : std::max(lookback, 1)),
      settle_(!options.uses_likelihood() ? 0
              : options.settle >= 0      ? options.settle
                                         : std::max(lookback, 0)),
      ewma_(options.smoothing_span),
      gate_(refractory_),
      novelty_gate_(refractory_),
      spot_(SpotFor(options)),
      likelihood_(options.likelihood),
      novelty_(options.novelty_margin),
      risk_(options.likelihood.risk),
      likelihood_z_(NormalTailInverse(options.likelihood.risk)),
      likelihood_threshold_(fixed_threshold) {
  if (options.uses_spot()) warmup_.reserve(static_cast<size_t>(options.calibration_windows));
  if (per_time_risk()) steps_.reserve(static_cast<size_t>(options.calibration_windows));
}

void StreamDetector::SetSamplingInterval(double seconds) {
  if (!per_time_risk() || !KnownStep(seconds)) return;
  // At most kMaxRiskPerWindow (or the risk itself, if higher): a stream
  // sampled much more slowly than the period would alarm on most windows.
  const double risk =
      std::clamp(options_.likelihood.risk * seconds / options_.likelihood_risk_per,
                 std::numeric_limits<double>::min(), std::max(kMaxRiskPerWindow, options_.likelihood.risk));
  risk_ = risk;
  likelihood_z_ = NormalTailInverse(risk);
  likelihood_.set_risk(risk);
}

Status StreamDetector::Calibrate(std::span<const double> errors, std::span<const double> steps) {
  std::vector<double> smoothed, known_steps;
  smoothed.reserve(errors.size());
  for (size_t i = 0; i < errors.size(); ++i) {
    if (!std::isfinite(errors[i])) continue;
    smoothed.push_back(ewma_.Update(errors[i]));
    if (per_time_risk() && i < steps.size() && KnownStep(steps[i])) known_steps.push_back(steps[i]);
  }
  if (per_time_risk()) SetSamplingInterval(LowerMedian(&known_steps));
  warmup_.clear();
  if (options_.uses_spot()) LSTMAD_RETURN_IF_ERROR(spot_.Calibrate(smoothed));
  if (options_.uses_likelihood()) {
    if (smoothed.size() < static_cast<size_t>(kMinSpotCalibration)) {
      return Status::Error("the likelihood needs at least " + std::to_string(kMinSpotCalibration) +
                           " calibration errors");
    }
    for (double e : smoothed) likelihood_.Learn(e);
  }
  calibrated_ = true;
  return Status::Ok();
}

void StreamDetector::LearnValues(std::span<const double> newest) {
  if (options_.uses_novelty()) novelty_.Learn(newest);
}

Detection StreamDetector::Warmup(double smoothed, double step_seconds) noexcept {
  // Until there is enough for a tail model the fixed threshold decides; the
  // level is the likelihood's where it runs (it judges against what it has
  // seen), else the error's rank among the windows seen so far (ties count
  // half): the empirical CDF.
  Detection d;
  if (options_.uses_likelihood()) {
    // Windows that calibrate are the normal reference and enter the history
    // as they are, as Calibrate() takes them: clipped against the few seen
    // before them, they would bias it low, and a stream that calibrates
    // itself (the daemon, `score`) would judge differently from one
    // calibrated explicitly on the same windows (`evaluate`).
    const bool calibrating = options_.calibration_windows > 0;
    d.tail = likelihood_.Observe(smoothed, /*clip=*/!calibrating).tail;
  } else {
    double below = 0;
    for (double v : warmup_) below += v < smoothed ? 1.0 : v == smoothed ? 0.5 : 0.0;
    d.tail = warmup_.empty() ? 0.5 : 1.0 - below / static_cast<double>(warmup_.size());
  }
  d.threshold = fixed_threshold_;
  d.alarm = smoothed > fixed_threshold_;
  if (options_.calibration_windows > 0 && std::isfinite(smoothed)) {
    ++warmup_count_;
    if (options_.uses_spot()) warmup_.push_back(smoothed);
    if (per_time_risk() && KnownStep(step_seconds) &&
        steps_.size() < static_cast<size_t>(options_.calibration_windows)) {
      steps_.push_back(step_seconds);
    }
    if (warmup_count_ >= options_.calibration_windows) {
      // The only allocation after construction: the tail model's buffers.
      calibrated_ = !options_.uses_spot() || spot_.Calibrate(warmup_).ok();
      if (calibrated_) {
        warmup_.clear();
        if (per_time_risk()) {
          SetSamplingInterval(LowerMedian(&steps_));
          steps_.clear();
        }
      }
    }
  }
  return d;
}

Detection StreamDetector::Calibrated(double smoothed) noexcept {
  Detection d;
  bool spot_alarm = false, likelihood_alarm = false, likelihood_held = false;
  if (options_.uses_spot()) {
    const Spot::Step step = spot_.Observe(smoothed);
    d.tail = step.tail_probability;
    d.threshold = step.threshold;
    spot_alarm = step.verdict == Spot::Verdict::kAlarm;
  }
  if (options_.uses_likelihood()) {
    const bool settling = settled_ < settle_;
    if (settling) ++settled_;
    const int accept_after = options_.accept_after_windows();
    const bool accepting = accept_after > 0 && alarm_run_ >= accept_after;
    const ErrorLikelihood::Step step = likelihood_.Observe(
        smoothed, /*clip=*/!settling && !accepting, settling || accepting ? options_.settle_weight : 1);
    d.tail = step.tail;
    d.accepted = accepting;
    // Hysteresis: an alarm that goes on (the previous window alarmed) is
    // judged against clear_risk; gate_ has not seen this window yet.
    const double clear_risk = options_.likelihood.clear_risk;
    const double risk = gate_.quiet() == 0 && clear_risk > risk_ ? clear_risk : risk_;
    likelihood_alarm = !settling && step.tail < risk;
    likelihood_held = likelihood_alarm && !(step.tail < risk_);
    alarm_run_ = likelihood_alarm ? std::min<int64_t>(alarm_run_ + 1, accept_after) : 0;
    if (options_.threshold == ThresholdMode::kLikelihood) {
      // The short mean that would alarm, as an error level for plots and events.
      d.threshold = step.mean + step.stdev * likelihood_z_;
      likelihood_threshold_ = d.threshold;
    }
  }
  switch (options_.threshold) {
    case ThresholdMode::kFixed:
      d.threshold = fixed_threshold_;
      d.alarm = !(smoothed <= fixed_threshold_);
      break;
    case ThresholdMode::kSpot:
    case ThresholdMode::kDspot: d.alarm = spot_alarm; break;
    case ThresholdMode::kLikelihood: d.alarm = likelihood_alarm; break;
    case ThresholdMode::kSpotAndLikelihood: d.alarm = spot_alarm && likelihood_alarm; break;
  }
  d.held = d.alarm && likelihood_held;
  return d;
}

Detection StreamDetector::NonFinite() const noexcept {
  Detection d;
  d.tail = 0;
  d.alarm = true;
  if (!calibrated_ || options_.threshold == ThresholdMode::kFixed) {
    d.threshold = fixed_threshold_;
  } else if (options_.threshold == ThresholdMode::kLikelihood) {
    d.threshold = likelihood_threshold_;
  } else {
    d.threshold = spot_.threshold();
  }
  return d;
}

Detection StreamDetector::Observe(double error, Override override, std::span<const double> newest,
                                  double step_seconds) noexcept {
  const bool finite = std::isfinite(error);
  const double smoothed = finite ? ewma_.Update(error) : error;
  // Whether the detector was calibrated before this window (Warmup() may
  // calibrate it on this one).
  const bool was_calibrated = calibrated_;
  Detection d = !finite ? NonFinite() : calibrated_ ? Calibrated(smoothed) : Warmup(smoothed, step_seconds);
  // Judged against the range before this window, which it then widens; a
  // detector still warming up only learns. (Unlike the likelihood's, the
  // range needs no settling: it is not narrower on the trained-on windows
  // than on fresh ones.)
  const bool novel = options_.uses_novelty() && !newest.empty() && novelty_.Observe(newest) && was_calibrated;
  bool novelty_alarm = false;
  if (override != Override::kNone) {
    d.alarm = override == Override::kAnomalous;
    d.held = false;
    d.accepted = false;
  } else if (novel) {
    // Nothing like it was seen: as sure as a non-finite error.
    novelty_alarm = true;
    d.held = false;
    d.tail = 0;
  }
  d.tail = std::clamp(d.tail, 0.0, 1.0);
  d.level = 1.0 - d.tail;
  d.error = error;
  d.smoothed = smoothed;
  // A value beyond anything seen is news even inside an excursion of the
  // model's errors (which gave its onset already), so novel values pass a
  // gate of their own; the model's gate sees every alarm, so the errors that
  // follow a novel value (its window's error grows as the value moves through
  // the lookback) are the same excursion, not a second onset.
  const bool novelty_onset = novelty_gate_.Observe(novelty_alarm);
  d.alarm = d.alarm || novelty_alarm;
  d.onset = gate_.Observe(d.alarm) || novelty_onset;
  d.score = Score(options_.score, d.tail, d.onset);
  return d;
}

}  // namespace lstmad::core
