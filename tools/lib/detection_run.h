// Running a model and the per-stream detector over every window of a series,
// in time order: what `score`, `evaluate` and `evaluate-stream` share. The
// steps are the daemon's (core::Scaler::Transform, Network::Forward in
// batches, ReconstructionErrors, one core::StreamDetector per stream), so a
// replayed series gets the verdicts the daemon would give it.
#pragma once

#include <span>
#include <vector>

#include "lstmad/core/alert_state.h"
#include "lstmad/core/anomaly_score.h"
#include "lstmad/core/csv.h"
#include "lstmad/core/guards.h"
#include "lstmad/core/model.h"
#include "lstmad/core/retraining.h"
#include "lstmad/core/status.h"
#include "svg_plot.h"

namespace lstmad::tools {

struct SeriesRun {
  int lookback = 0;                      // window k ends at row k + lookback - 1
  std::vector<double> errors;            // per window, scaled units
  core::Matrix<double> per_feature;      // [F x windows]
  core::Matrix<double> reconstruction;   // [F x windows]: each window's last step, original units
  // [F x windows]: each window's last step as observed, rounded to float as
  // the daemon holds samples, so guards see what the daemon's see.
  core::Matrix<double> observed;
  // [F x (lookback - 1)]: the rows before window 0's last one, observed the
  // same way. Values the stream has shown, which no window has as its newest:
  // the detector's novelty range learns them first (LearnLeadingRows), as the
  // daemon's does from a stream's first window.
  core::Matrix<double> leading;
  std::vector<core::Override> overrides;  // per window: the guards' verdict; kNone without guards
  std::vector<core::Detection> detections;  // per window; default for calibration windows
  // Per window: its sampling interval in seconds (core::WindowStepSeconds)
  // from the timestamp column; empty when the table has none (or one that
  // does not parse). For the likelihood's risk per period of time.
  std::vector<double> steps;
  // Per window: the model's fixed threshold in force when it was scored,
  // where relearning swapped models (each has its own); empty when one
  // threshold served the whole run.
  std::vector<double> model_thresholds;
  int calibration_windows = 0;           // windows that calibrated the detector (no detection)
  int refractory = 0;

  int windows() const { return static_cast<int>(errors.size()); }
  int RowOf(int window) const { return window + lookback - 1; }
};

// Errors, per-feature errors and reconstructions of every window. With a
// model that has time features the table has passed CheckTimeInputs
// (time_inputs.h), here and in RunAndDetect.
SeriesRun RunModel(const core::Model& model, const core::Network<float>& net,
                   const core::CsvTable& table);

// Runs a detector over the windows in order. The windows ending before row
// `calibrate_before` calibrate it (explicitly; they get no detection); the
// rest are observed one by one. With calibrate_before = 0 the detector
// calibrates itself if options.calibration_windows > 0. With `guards` (one
// per feature, core/guards.h) each window's override goes to the detector
// and into run->overrides.
core::Status Detect(const core::DetectorOptions& options, double fixed_threshold,
                    int calibrate_before, SeriesRun* run,
                    std::span<const core::FeatureGuard> guards = {});

// Learning that never stops, replayed as the daemon's retrainer does it
// (core/retraining.h; docs/retraining.md): the windows judged normal (no
// alarm, the alert not firing) are kept, the newest `max_windows`; every
// `every` scored windows, with at least `min_windows` kept, the model is
// fine-tuned on them and replaces the running one when it is not worse on
// the newest held-back part. The stream's detector goes on across a swap.
struct Relearning {
  int every = 0;  // windows between attempts; 0: never
  int min_windows = 0;
  int max_windows = 0;
  core::RetrainOptions options;
  core::AlertRule rule;  // decides "the alert is firing" for collection

  bool enabled() const { return every > 0; }
};

struct RelearnStats {
  int attempts = 0;  // fine-tunes run
  int swaps = 0;     // candidates that replaced the running model
  int failures = 0;  // attempts that failed (e.g. diverged): the model kept
  double seconds = 0;
};

// RunModel and Detect in one pass, in time order, with relearning: each
// window is scored by the model in force when it arrives. With relearning
// off it gives exactly RunModel + Detect's run.
// `guards` as for Detect.
core::Status RunAndDetect(core::Model model, const core::CsvTable& table,
                          const core::DetectorOptions& options, int calibrate_before,
                          const Relearning& relearning, std::span<const core::FeatureGuard> guards,
                          SeriesRun* run, RelearnStats* stats);

// Per row of the series (`rows` long): the anomaly score and the alarm of
// the window ending there; 0 for rows no scored window ends at.
std::vector<double> RowScores(const SeriesRun& run, int rows);
std::vector<uint8_t> RowAlarms(const SeriesRun& run, int rows);
// Per row: `per_window`'s value for the window ending there (every window,
// calibrating ones included); 0 for rows no window ends at.
std::vector<uint8_t> RowsOfWindows(const SeriesRun& run, int rows, const std::vector<uint8_t>& per_window);

// Per window: 1 when it counts as above the threshold for alerting, decided
// as the daemon decides it (daemon/scoring/scorer.cc): the detector's alarm
// when `mode` is adaptive, else error > fixed_threshold (or the window's
// run.model_thresholds entry, where relearning swapped models). Windows that
// calibrated the detector explicitly (no detection) use the fixed threshold.
// A guard's override (run.overrides) replaces the fixed threshold's verdict
// as it replaces the detector's alarm.
std::vector<uint8_t> AlertVerdicts(const SeriesRun& run, core::ThresholdMode mode,
                                   double fixed_threshold);

// Per window: 1 when the verdict is above only by the detector's hysteresis
// (core::Detection::held), as the daemon passes it to the alert; 0 for the
// windows AlertVerdicts judges by the fixed threshold.
std::vector<uint8_t> HeldVerdicts(const SeriesRun& run, core::ThresholdMode mode);
// Per window: 1 when the detector took it as part of a lasting change, the
// new normal (core::Detection::accepted), as the daemon passes it to the
// alert; 0 for the windows AlertVerdicts judges by the fixed threshold.
std::vector<uint8_t> AcceptedVerdicts(const SeriesRun& run, core::ThresholdMode mode);

// Per window: 1 while the alert fires after that window, i.e. the state of
// one core::AlertState fed `verdicts` (and `held` and `accepted`, where not
// empty) in order under `rule`. `accepted_alerts`, where given: the alerts
// whose change the detector accepted (the daemon's
// lstmad_changes_accepted_total, resolved with reason change_accepted).
std::vector<uint8_t> AlertColumn(const std::vector<uint8_t>& verdicts, const core::AlertRule& rule,
                                 const std::vector<uint8_t>& held = {},
                                 const std::vector<uint8_t>& accepted = {}, int* accepted_alerts = nullptr);

// The picture of a run (svg_plot.h); `labels` may be empty.
PlotData MakePlot(const std::string& title, const core::CsvTable& table, const SeriesRun& run,
                  double fixed_threshold, const std::vector<uint8_t>& labels, int calibration_rows);

}  // namespace lstmad::tools
