// From a stream's window errors to alarms and an anomaly score in [0, 1]:
// what `lstmad score`, `evaluate`, `evaluate-stream` and the daemon run per
// stream, window after window, in time order (no look-ahead, no knowledge of
// the stream's length).
//
//   error --EWMA (optional)--> smoothed --threshold--> alarm --onset gate--> onset
//                                  \--tail model--> tail = P(E > smoothed), level = 1 - tail
//
// - Smoothing: exponentially weighted moving average with span s (alpha =
//   2 / (s + 1), as pandas' ewm(span=s) that telemanom uses); s = 1 is off.
// - Threshold: the model's fixed one, SPOT's z_q or DSPOT's (spot.h), the
//   anomaly likelihood (error_likelihood.h: the error's short mean against
//   the stream's last few thousand), or SPOT and the likelihood together
//   (an alarm needs both). The tail model is the likelihood's in the
//   likelihood modes, else SPOT's, which then runs in every mode because it
//   gives the level.
// - Level: 1 - the tail probability of the smoothed error under the tail
//   model: 0.98 at SPOT's t, 1 - q at z_q.
// - Onset gate: an alarm is an onset when the previous `refractory` windows
//   raised none. A spike in the series stays inside T consecutive windows,
//   and a long excursion keeps raising alarms, so with refractory >= T (the
//   default is T) each excursion gives exactly one onset, at its first alarm,
//   however long it lasts; a new one needs `refractory` quiet windows first.
// - Score (kOnset, the default): 0.5 + 0.5 s at an onset, 0.49 s elsewhere,
//   where s = LogScaledLevel(tail) = min(1, -log10(tail) / 10), Numenta's
//   log scale: near 0 on normal windows (0.03 at the median), 0.4 at a tail
//   of 1e-4, so a dashboard reads 0 as normal. At or above 0.5 means "something new starts here"; below it,
//   the level orders windows (the gap keeps the two apart in any rounding).
//   This is what NAB rewards: its scorer counts every point above its
//   threshold, so a score that stays high through an excursion is one true
//   positive and a flood of false positives. kLevel
//   outputs the level itself (for comparison).
//
// A window whose error is not finite (the reconstruction overflowed: a value
// far beyond anything seen in training, or a network that blew up) is an
// anomaly: alarm, tail 0, level 1 (score 1 at an onset, 0.49 inside an
// excursion), unless a guard overrides it. It enters none of the detector's
// state (EWMA, SPOT, likelihood history, self-calibration), so the next
// finite window is judged exactly as if it had not come.
//
// Calibration: Calibrate() with errors of normal windows (evaluate-stream
// passes the probationary period's), or self-calibration on the first
// `calibration_windows` windows observed; until then the fixed threshold
// decides alarms and the level is the error's rank among those seen so far.
//
// Settling (the likelihood modes): the calibration windows are, in practice,
// the ones the model was trained on, and their errors are lower than those of
// windows it has not seen, so a history made of them alone is too tight and
// the first fresh windows alarm (SKAB: a false alert from the first scored
// window in 4 of 16 files, lasting up to 213 windows). For `settle` windows
// after calibration (default: T, one lookback) the likelihood judges each
// window (tail, level and score as usual) but does not alarm, and takes its
// short mean into the history unclipped, so the history learns the level of
// fresh errors before it is used to alarm. A non-finite error still alarms.
// Each settling window's short mean counts as `settle_weight` windows of the
// history (10 by default, the likelihood's short window): the T settling
// windows are the only fresh errors the history holds at first, and counted
// once each they are a tenth of the calibration's few hundred trained-on
// ones (SKAB 371, NAB up to 721), so the history stays nearly as tight as
// the trained-on windows made it; and a history of few windows is moved
// fast by an excursion's clipped alarms, so a fault's alert resolves while
// the fault goes on. Weighted, the settling windows have about the
// calibration's say (300 windows' worth). Measured in docs/detection.md.
//
// Hysteresis (likelihood.clear_risk, 1e-2 by default, 0 off): once a window alarms,
// the next ones alarm while their tail stays below clear_risk (>= risk), so
// an alert does not resolve the moment the history has absorbed part of a
// lasting fault.
//
// A lasting change (accept_after, a tenth of the likelihood's history by
// default, 0 off): clipped alarms raise the history's level only at the pace
// of its spread, so where the errors had none (a constant metric that steps)
// the alarm would never end. After accept_after alarming windows in a row the
// change is the new normal: each further alarming window enters the history
// unclipped and settle_weight times, as a settling window does, until the
// alarm ends (docs/detection.md, "A lasting change").
//
// Novel values (value_novelty.h; novelty_margin, 0.05 by default, < 0 off):
// given each window's newest observed values, a window with a value beyond
// the range of every value seen so far (by more than the margin times the
// range) alarms, with tail 0, in every mode but kFixed (which stays the
// model's threshold). The range learns from every window's newest values,
// those of the calibration windows included (LearnValues() where Calibrate()
// is called explicitly); it alarms once the detector is calibrated.
// Guards override it as they override the model. Its alarms also pass a
// gate of their own: a novel value inside an excursion of the model's errors
// is an onset when no novel value came in the previous `refractory` windows.
//
// Not thread-safe; one StreamDetector per stream. Observe() is noexcept and
// allocation-free once calibrated.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lstmad/core/error_likelihood.h"
#include "lstmad/core/spot.h"
#include "lstmad/core/status.h"
#include "lstmad/core/value_novelty.h"

namespace lstmad::core {

// Exponentially weighted moving average; the first value passes through. A
// non-finite x is returned as it is and does not enter the average: one
// overflowed window would otherwise make every later value NaN or infinite.
class Ewma {
 public:
  explicit Ewma(double span) : alpha_(span <= 1 ? 1.0 : 2.0 / (span + 1.0)) {}
  double Update(double x) noexcept {
    if (!std::isfinite(x)) return x;
    value_ = started_ ? alpha_ * x + (1 - alpha_) * value_ : x;
    started_ = true;
    return value_;
  }
  double alpha() const { return alpha_; }
  // For saved detector state: the running value, and whether it started.
  double value() const { return value_; }
  bool started() const { return started_; }
  void Restore(double value, bool started) {
    value_ = value;
    started_ = started;
  }

 private:
  double alpha_;
  double value_ = 0;
  bool started_ = false;
};

// Turns alarms into one onset per excursion (see above).
class OnsetGate {
 public:
  explicit OnsetGate(int refractory) : refractory_(refractory < 1 ? 1 : refractory) {}
  // True when `alarm` and none of the previous `refractory` windows alarmed.
  bool Observe(bool alarm) noexcept {
    const bool onset = alarm && quiet_ >= refractory_;
    quiet_ = alarm ? 0 : quiet_ + 1;
    return onset;
  }
  int64_t quiet() const { return quiet_; }
  void Restore(int64_t quiet) { quiet_ = quiet < 0 ? 0 : quiet; }

 private:
  int64_t refractory_;
  int64_t quiet_ = INT64_MAX / 2;  // windows since the last alarm
};

// Onset scores lie in [kOnsetScoreFloor, 1], the others in [0, kQuietScoreCeiling].
inline constexpr double kOnsetScoreFloor = 0.5;
inline constexpr double kQuietScoreCeiling = 0.49;

// Appended only: the values travel in saved detector state.
enum class ThresholdMode { kFixed, kSpot, kDspot, kLikelihood, kSpotAndLikelihood };
enum class ScoreMode { kOnset, kLevel };
std::string_view ThresholdModeName(ThresholdMode mode);
std::optional<ThresholdMode> ParseThresholdMode(std::string_view name);
std::string_view ScoreModeName(ScoreMode mode);
std::optional<ScoreMode> ParseScoreMode(std::string_view name);

// Numenta's margin for novel values (value_novelty.h), and "off".
inline constexpr double kDefaultNoveltyMargin = 0.05;
inline constexpr double kNoveltyOff = -1;
// The weight of a settling window in the likelihood's history (below): the
// likelihood's short window, 10 (the rule docs/detection.md states, so the
// two defaults cannot drift apart).
inline constexpr int kDefaultSettleWeight = LikelihoodOptions{}.short_window;
// The largest risk per window likelihood_risk_per may give (a stream sampled
// more slowly than its period): an alarm needs z above ~1.3 at least.
inline constexpr double kMaxRiskPerWindow = 0.1;

// A window's sampling interval in seconds, for likelihood_risk_per: the span
// from its oldest to its newest sample over its lookback - 1 steps (0 with
// one step: unknown). The daemon and the offline replay both compute it so,
// from nanosecond timestamps, so that their risks agree to the bit.
inline double WindowStepSeconds(int64_t oldest_ns, int64_t newest_ns, int lookback) {
  return lookback > 1 ? static_cast<double>(newest_ns - oldest_ns) * 1e-9 / (lookback - 1) : 0.0;
}

struct DetectorOptions {
  ThresholdMode threshold = ThresholdMode::kSpot;
  SpotOptions spot;        // q, t's level, K; its depth is used in kDspot only
  int dspot_depth = 10;    // d for kDspot
  LikelihoodOptions likelihood;  // for kLikelihood and kSpotAndLikelihood
  double smoothing_span = 1;  // EWMA span in windows; 1: off
  int refractory = 0;         // windows; <= 0: the model's lookback T
  int calibration_windows = 0;  // self-calibrate after this many windows; 0: only Calibrate()
  // The likelihood's settling: the first `settle` windows after calibration
  // are judged but cannot alarm, and enter the history unclipped (below),
  // each counting as `settle_weight` windows of it; settle < 0: the model's
  // lookback T; 0: none.
  int settle = -1;
  int settle_weight = kDefaultSettleWeight;
  // A lasting change (the likelihood modes): once the likelihood has alarmed
  // for `accept_after` windows in a row, the alarm is taken to be the new
  // normal, and each further alarming window enters the history unclipped
  // and `settle_weight` times, as a settling window does, until the alarm
  // ends. < 0: a tenth of the likelihood's history (860 windows by default,
  // 3 days at 5 minutes); 0: never.
  int accept_after = -1;
  ScoreMode score = ScoreMode::kOnset;
  // Novel values (above): the margin, a fraction of each feature's range;
  // kNoveltyOff (< 0): off.
  double novelty_margin = kDefaultNoveltyMargin;
  // > 0: likelihood.risk is the chance of a false alarm per this many
  // seconds of the stream's time, not per window. At calibration each stream
  // turns it into a risk per window from its sampling interval (the median
  // over the calibration windows of their span / (T - 1)): risk * interval /
  // likelihood_risk_per, so a stream sampled every 0.1 s and one sampled
  // every 5 minutes raise false alarms equally often in time. 0: per window.
  double likelihood_risk_per = 0;

  friend bool operator==(const DetectorOptions&, const DetectorOptions&) = default;
  Status Validate() const;
  bool uses_novelty() const { return novelty_margin >= 0 && threshold != ThresholdMode::kFixed; }
  bool uses_spot() const { return threshold != ThresholdMode::kLikelihood; }
  bool uses_likelihood() const {
    return threshold == ThresholdMode::kLikelihood || threshold == ThresholdMode::kSpotAndLikelihood;
  }
  // accept_after resolved: 0 (never) outside the likelihood modes.
  int accept_after_windows() const {
    if (!uses_likelihood()) return 0;
    return accept_after >= 0 ? accept_after : std::max(likelihood.history / 10, 1);
  }
};

// A verdict from outside the model (guards on the sample's values) that
// overrides the detector's own for one window, before the onset gate.
enum class Override { kNone, kNormal, kAnomalous };

// What the detector says about one window.
struct Detection {
  double error = 0;      // the window's error as given
  double smoothed = 0;   // after the EWMA (== error when smoothing is off)
  double threshold = 0;  // the threshold in force for this window
  double tail = 1;       // tail probability of `smoothed` under the tail model
  double level = 0;      // 1 - tail, in [0, 1]
  bool alarm = false;    // the threshold mode's verdict (e.g. smoothed > threshold)
  // The alarm goes on only by hysteresis: the window's tail lies between the
  // likelihood's risk and clear_risk, after an alarming window. It keeps a
  // firing alert firing but does not start one (AlertState::Observe).
  bool held = false;
  // The likelihood took this window as part of a lasting change, the new
  // normal (DetectorOptions::accept_after): it had alarmed accept_after windows
  // in a row before it, and the window entered its history unclipped. False
  // where a guard decided the window. A firing alert that sees one resolves as
  // the change accepted, not as the fault over (AlertState::accepted).
  bool accepted = false;
  bool onset = false;    // the first alarm of an excursion
  double score = 0;      // the anomaly score, in [0, 1]
};

class StreamDetector {
 public:
  // `fixed_threshold`: the model's; `lookback`: T (the default refractory).
  // `options` must pass Validate().
  StreamDetector(const DetectorOptions& options, double fixed_threshold, int lookback);

  // Fits the tail model on the errors of normal windows, in time order (they
  // also run through the EWMA); non-finite errors are left out (such a window
  // is no normal one). Errors: see Spot::Calibrate. With likelihood_risk_per,
  // `steps` are the same windows' steps (as Observe() takes them): their
  // lower median fixes the risk per window, as when it calibrates itself.
  Status Calibrate(std::span<const double> errors, std::span<const double> steps = {});
  bool calibrated() const { return calibrated_; }
  // Teaches the novelty range a calibration window's newest values (one per
  // feature), where Calibrate() is called explicitly; Observe() learns them
  // itself.
  void LearnValues(std::span<const double> newest);

  // `newest`: the window's newest observed values, one per feature, in the
  // model's units (empty: no novelty judgement for this window).
  // `step_seconds`: the window's span over its T - 1 steps, in seconds; read
  // while the detector calibrates itself, with likelihood_risk_per (0 or
  // non-finite: unknown).
  Detection Observe(double error, Override override = Override::kNone, std::span<const double> newest = {},
                    double step_seconds = 0) noexcept;
  // With likelihood_risk_per: the stream's sampling interval, which fixes
  // the risk per window (Calibrate() and self-calibration set it from the
  // calibration windows' steps). Not finite or <= 0: unknown, and the risk
  // stays per window.
  void SetSamplingInterval(double seconds);
  // The likelihood's risk per window in force: options().likelihood.risk,
  // or with likelihood_risk_per the one the sampling interval gave.
  double likelihood_risk() const { return risk_; }

  const Spot& spot() const { return spot_; }
  const ErrorLikelihood& likelihood() const { return likelihood_; }
  const ValueNovelty& novelty() const { return novelty_; }
  // The model's threshold, which decides in kFixed and until calibrated. A
  // retrained model brings a new one while the detector carries on.
  void set_fixed_threshold(double threshold) noexcept { fixed_threshold_ = threshold; }
  double fixed_threshold() const { return fixed_threshold_; }
  const DetectorOptions& options() const { return options_; }
  int refractory() const { return refractory_; }
  int settle() const { return settle_; }
  // Resolved: alarming windows in a row after which a change is accepted (0: never).
  int accept_after() const { return options_.accept_after_windows(); }

  // The detector's whole state as bytes (daemon snapshots, so a restart does
  // not recalibrate every stream), and back. RestoreState() refuses state
  // saved under other options (risk, level, K, depth, smoothing, refractory,
  // calibration windows, settling, novelty margin) or that is damaged, and then leaves the detector as
  // it was.
  std::string SaveState() const;
  Status RestoreState(std::string_view bytes);

 private:
  Detection Warmup(double smoothed, double step_seconds) noexcept;
  bool per_time_risk() const { return options_.uses_likelihood() && options_.likelihood_risk_per > 0; }
  Detection Calibrated(double smoothed) noexcept;
  // The verdict on a non-finite error, which touches no state but the gate's.
  Detection NonFinite() const noexcept;

  DetectorOptions options_;
  double fixed_threshold_;
  int refractory_;
  int settle_;               // resolved: windows the likelihood settles after calibration
  int64_t settled_ = 0;      // finite windows observed since calibration, counted up to settle_
  int64_t alarm_run_ = 0;    // the likelihood's alarming windows in a row, up to accept_after()
  Ewma ewma_;
  OnsetGate gate_;          // every alarm
  OnsetGate novelty_gate_;  // novel values' alarms only
  Spot spot_;
  ErrorLikelihood likelihood_;
  ValueNovelty novelty_;
  double risk_;          // the likelihood's risk per window (likelihood_risk())
  double likelihood_z_;  // Q^-1(risk_): the z at which the likelihood alarms
  // With likelihood_risk_per, while calibrating itself: each finite
  // window's step in seconds, for their median.
  std::vector<double> steps_;
  double likelihood_threshold_ = 0;  // kLikelihood: the last finite window's threshold, for NonFinite()
  bool calibrated_ = false;
  int64_t warmup_count_ = 0;    // windows seen before self-calibration
  std::vector<double> warmup_;  // smoothed errors until self-calibration (SPOT only)
};

}  // namespace lstmad::core
