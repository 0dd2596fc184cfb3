#include "detection_run.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <limits>
#include <numeric>

#include "command_support.h"
#include "labels.h"
#include "lstmad/core/reconstruction.h"
#include "lstmad/core/scaler.h"
#include "lstmad/core/text.h"
#include "lstmad/core/threshold.h"
#include "replay.h"
#include "time_inputs.h"

namespace lstmad::tools {

namespace {

// Whether window `b` of a scaled batch (column t * batch + b for step t) holds
// only values the model can score (core::kMaxScaledMagnitude). The daemon
// refuses a sample beyond it; here, where a row cannot be left out without
// shifting every window, each window holding it is given an infinite error:
// an anomaly that enters no detector state. Otherwise its huge but finite
// error would enter the calibration and blind SPOT's tail for good.
bool WithinScale(const core::Model& model, const core::Matrix<float>& input, int steps, int batch, int b) {
  const auto features = static_cast<Eigen::Index>(model.scaler.offset.size());
  const auto bound = static_cast<float>(core::kMaxScaledMagnitude);
  for (int t = 0; t < steps; ++t) {
    const auto column = input.col(static_cast<Eigen::Index>(t) * batch + b).head(features).array();
    if (!(column.abs() <= bound).all()) return false;
  }
  return true;
}

// Scores windows [first, first + count) of `scaled` (the model's scaling of
// its input series) with `net` into `run`, in batches of 256 as the daemon
// scores (max_batch); the errors do not depend on the batching.
void ScoreRange(const core::Model& model, const core::Network<float>& net,
                const core::WindowSet<float>& scaled, int first, int count, SeriesRun* run) {
  constexpr int kBatch = 256;
  core::Network<float>::Workspace workspace;
  core::Matrix<float> input, output, last, per_feature;
  core::Vector<float> errors;
  std::vector<int> indices;
  for (int start = first; start < first + count; start += kBatch) {
    const int batch = std::min(kBatch, first + count - start);
    indices.resize(static_cast<size_t>(batch));
    std::iota(indices.begin(), indices.end(), start);
    core::GatherBatch(scaled, indices.data(), batch, &input);
    net.Forward(input, batch, &workspace, &output);
    core::ReconstructionErrors(input, output, run->lookback, batch, model.error_options, &errors,
                               &per_feature);
    last = output.middleCols(static_cast<Eigen::Index>(run->lookback - 1) * batch, batch);
    model.scaler.Inverse(&last);
    for (int b = 0; b < batch; ++b) {
      run->errors[static_cast<size_t>(start + b)] = WithinScale(model, input, run->lookback, batch, b)
                                                        ? errors[b]
                                                        : std::numeric_limits<double>::infinity();
      run->per_feature.col(start + b) = per_feature.col(b).cast<double>();
      run->reconstruction.col(start + b) = last.col(b).head(run->reconstruction.rows()).cast<double>();
    }
  }
}

// The raw windows `indices` of `raw`, oldest first, as a WindowSet.
core::WindowSet<float> Collect(const core::WindowSet<float>& raw, const std::deque<int>& indices) {
  core::WindowSet<float> out;
  out.timesteps = raw.timesteps;
  out.features = raw.features;
  out.count = static_cast<int>(indices.size());
  out.data.resize(raw.data.rows(), static_cast<Eigen::Index>(out.count) * raw.timesteps);
  const auto t = static_cast<Eigen::Index>(raw.timesteps);
  Eigen::Index n = 0;
  for (int w : indices) out.data.middleCols(t * n++, t) = raw.data.middleCols(t * w, t);
  return out;
}

// Each window's sampling interval from the timestamp column, in whole
// nanoseconds as `lstmad replay` sends them to the daemon; empty without
// timestamps, or when one does not parse or fit.
std::vector<double> WindowSteps(const core::CsvTable& table, int lookback) {
  if (static_cast<int>(table.timestamps.size()) != table.rows()) return {};
  std::vector<int64_t> ns;
  ns.reserve(table.timestamps.size());
  for (int row = 0; row < table.rows(); ++row) {
    const core::Result<std::optional<int64_t>> t = RowTimestamp(table, row, 1);
    if (!t.ok() || !t->has_value()) return {};
    ns.push_back(**t);
  }
  std::vector<double> steps;
  for (size_t w = 0; w + static_cast<size_t>(lookback) <= ns.size(); ++w) {
    steps.push_back(core::WindowStepSeconds(ns[w], ns[w + static_cast<size_t>(lookback) - 1], lookback));
  }
  return steps;
}

double Step(const SeriesRun& run, int w) {
  return static_cast<size_t>(w) < run.steps.size() ? run.steps[static_cast<size_t>(w)] : 0.0;
}

// The calibration windows' errors and steps (no steps without timestamps).
std::span<const double> CalibrationErrors(const SeriesRun& run) {
  return {run.errors.data(), static_cast<size_t>(run.calibration_windows)};
}
std::span<const double> CalibrationSteps(const SeriesRun& run) {
  if (run.steps.empty()) return {};
  return {run.steps.data(), std::min(run.steps.size(), static_cast<size_t>(run.calibration_windows))};
}

// A risk per period of time needs each window's interval.
core::Status CheckSteps(const core::DetectorOptions& options, const SeriesRun& run) {
  if (options.uses_likelihood() && options.likelihood_risk_per > 0 && run.steps.empty() &&
      run.windows() > 0) {
    return core::Status::Invalid(
        "--likelihood-risk-per needs the rows' times: a first column named timestamp (ISO 8601 or epoch "
        "seconds) in --data");
  }
  return core::Status::Ok();
}

// A run of every window of `table` under `model`, sized, with each window's
// newest observed values filled and no score yet.
SeriesRun SizedRun(const core::Model& model, const core::CsvTable& table, int lookback) {
  SeriesRun run;
  run.lookback = lookback;
  const int windows = std::max(table.rows() - lookback + 1, 0);
  const auto features = static_cast<Eigen::Index>(model.feature_names.size());
  run.errors.resize(static_cast<size_t>(windows));
  run.per_feature.resize(features, windows);
  run.reconstruction.resize(features, windows);
  run.observed.resize(features, windows);
  for (int w = 0; w < windows; ++w) {
    run.observed.col(w) = table.values.col(run.RowOf(w)).cast<float>().cast<double>();
  }
  if (windows > 0) {
    run.leading = table.values.topLeftCorner(features, lookback - 1).cast<float>().cast<double>();
  }
  run.overrides.assign(static_cast<size_t>(windows), core::Override::kNone);
  run.steps = WindowSteps(table, lookback);
  return run;
}

// Window `w`'s newest observed values, one per feature, for the detector's
// novelty range (the daemon gives it the same, from the stream's ring).
std::span<const double> Newest(const SeriesRun& run, int w) {
  if (run.observed.cols() <= w) return {};
  return {run.observed.col(w).data(), static_cast<size_t>(run.observed.rows())};
}

// Teaches the detector's novelty range the rows before window 0's newest:
// every value of the series then enters the range, the first T - 1 rows
// included (the daemon's scorer teaches a stream's new detector the samples
// of its first window the same way).
void LearnLeadingRows(const SeriesRun& run, core::StreamDetector* detector) {
  for (Eigen::Index t = 0; t < run.leading.cols(); ++t) {
    detector->LearnValues({run.leading.col(t).data(), static_cast<size_t>(run.leading.rows())});
  }
}

}  // namespace

SeriesRun RunModel(const core::Model& model, const core::Network<float>& net,
                   const core::CsvTable& table) {
  SeriesRun run = SizedRun(model, table, net.timesteps());
  core::Matrix<float> series = ModelInputSeries(model, table);
  model.scaler.Transform(&series);
  ScoreRange(model, net, core::MakeWindows(series, run.lookback), 0, run.windows(), &run);
  return run;
}

core::Status RunAndDetect(core::Model model, const core::CsvTable& table,
                          const core::DetectorOptions& options, int calibrate_before,
                          const Relearning& relearning, std::span<const core::FeatureGuard> guards,
                          SeriesRun* run, RelearnStats* stats) {
  core::Result<core::Network<float>> net = model.MakeNetwork();
  if (!net.ok()) return net.status();
  *run = SizedRun(model, table, net->timesteps());
  const int windows = run->windows();
  const auto features = static_cast<Eigen::Index>(model.feature_names.size());
  if (!guards.empty() && static_cast<Eigen::Index>(guards.size()) != features) {
    return core::Status::Invalid(std::to_string(guards.size()) + " guards for " + std::to_string(features) +
                                 " features");
  }
  // With time features the raw windows carry the time inputs too: a
  // relearning fine-tune trains on the model's whole input.
  const core::Matrix<float> series = ModelInputSeries(model, table);
  const core::WindowSet<float> raw = core::MakeWindows(series, run->lookback);
  core::Matrix<float> scaled_series = series;
  model.scaler.Transform(&scaled_series);  // a retrain keeps the scaler, so this stays valid
  const core::WindowSet<float> scaled = core::MakeWindows(scaled_series, run->lookback);

  LSTMAD_RETURN_IF_ERROR(CheckSteps(options, *run));
  core::StreamDetector detector(options, model.threshold, run->lookback);
  run->refractory = detector.refractory();
  run->calibration_windows = std::clamp(calibrate_before - run->lookback + 1, 0, windows);
  run->detections.assign(static_cast<size_t>(windows), core::Detection{});
  ScoreRange(model, *net, scaled, 0, run->calibration_windows, run);
  LearnLeadingRows(*run, &detector);
  auto guard = [&](int w) {
    if (guards.empty()) return;
    run->overrides[static_cast<size_t>(w)] = core::GuardOverride(
        guards, std::span<const double>(run->observed.col(w).data(), guards.size()),
        std::span<const double>(run->reconstruction.col(w).data(), guards.size()));
  };
  for (int w = 0; w < run->calibration_windows; ++w) {
    guard(w);  // AlertVerdicts uses them there too
    detector.LearnValues(Newest(*run, w));
  }
  if (run->calibration_windows > 0) {
    core::Status status = detector.Calibrate(CalibrationErrors(*run), CalibrationSteps(*run));
    if (!status.ok()) {
      return status.WithContext("calibrating on the first " + std::to_string(run->calibration_windows) +
                                " windows");
    }
  }
  core::AlertState alert;
  std::deque<int> normal;  // indices of the newest windows judged normal
  const int step = relearning.enabled() ? relearning.every : std::max(windows, 1);
  for (int first = run->calibration_windows; first < windows; first += step) {
    const int count = std::min(step, windows - first);
    ScoreRange(model, *net, scaled, first, count, run);
    for (int w = first; w < first + count; ++w) {
      const auto i = static_cast<size_t>(w);
      guard(w);
      const core::Detection d =
          detector.Observe(run->errors[i], run->overrides[i], Newest(*run, w), Step(*run, w));
      run->detections[static_cast<size_t>(w)] = d;
      alert.Observe(d.alarm, relearning.rule, d.held, d.accepted);
      if (!relearning.enabled() || d.alarm || alert.firing()) continue;
      normal.push_back(w);
      if (static_cast<int>(normal.size()) > relearning.max_windows) normal.pop_front();
    }
    if (!relearning.enabled() || first + count >= windows ||
        static_cast<int>(normal.size()) < relearning.min_windows) {
      continue;
    }
    const auto start = std::chrono::steady_clock::now();
    core::RetrainOptions retrain = relearning.options;
    retrain.seed = relearning.options.seed + static_cast<uint64_t>(stats->attempts);
    ++stats->attempts;
    core::Result<core::RetrainOutcome> outcome = core::RetrainModel(model, Collect(raw, normal), retrain);
    stats->seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!outcome.ok()) {
      ++stats->failures;
      continue;
    }
    if (!outcome->swap) continue;
    core::Result<core::Network<float>> tuned = outcome->candidate.MakeNetwork();
    if (!tuned.ok()) {
      ++stats->failures;
      continue;
    }
    ++stats->swaps;
    // The windows scored so far keep the threshold they were judged by.
    run->model_thresholds.resize(static_cast<size_t>(first + count), model.threshold);
    model = std::move(outcome->candidate);
    net = std::move(tuned);
    detector.set_fixed_threshold(model.threshold);  // as the daemon's scorer does after a swap
  }
  if (!run->model_thresholds.empty())
    run->model_thresholds.resize(static_cast<size_t>(windows), model.threshold);
  return core::Status::Ok();
}

core::Status Detect(const core::DetectorOptions& options, double fixed_threshold,
                    int calibrate_before, SeriesRun* run, std::span<const core::FeatureGuard> guards) {
  LSTMAD_RETURN_IF_ERROR(CheckSteps(options, *run));
  core::StreamDetector detector(options, fixed_threshold, run->lookback);
  run->refractory = detector.refractory();
  run->calibration_windows = std::clamp(calibrate_before - run->lookback + 1, 0, run->windows());
  if (run->calibration_windows > 0) {
    core::Status status = detector.Calibrate(CalibrationErrors(*run), CalibrationSteps(*run));
    if (!status.ok()) return status.WithContext("calibrating on the first " +
                                                std::to_string(run->calibration_windows) + " windows");
  }
  if (!guards.empty() && (static_cast<Eigen::Index>(guards.size()) != run->observed.rows() ||
                          run->observed.cols() != run->windows() ||
                          run->reconstruction.rows() != run->observed.rows() ||
                          run->reconstruction.cols() != run->windows())) {
    return core::Status::Invalid(std::to_string(guards.size()) + " guards for a run of " +
                                 std::to_string(run->observed.rows()) + " observed features");
  }
  run->overrides.assign(run->errors.size(), core::Override::kNone);
  if (!guards.empty()) {
    for (int w = 0; w < run->windows(); ++w) {
      run->overrides[static_cast<size_t>(w)] = core::GuardOverride(
          guards, std::span<const double>(run->observed.col(w).data(), guards.size()),
          std::span<const double>(run->reconstruction.col(w).data(), guards.size()));
    }
  }
  run->detections.assign(run->errors.size(), core::Detection{});
  LearnLeadingRows(*run, &detector);
  for (int w = 0; w < run->calibration_windows; ++w) detector.LearnValues(Newest(*run, w));
  for (int w = run->calibration_windows; w < run->windows(); ++w) {
    const auto i = static_cast<size_t>(w);
    run->detections[i] = detector.Observe(run->errors[i], run->overrides[i], Newest(*run, w), Step(*run, w));
  }
  return core::Status::Ok();
}

std::vector<double> RowScores(const SeriesRun& run, int rows) {
  std::vector<double> scores(static_cast<size_t>(rows), 0.0);
  for (int w = run.calibration_windows; w < run.windows(); ++w) {
    scores[static_cast<size_t>(run.RowOf(w))] = run.detections[static_cast<size_t>(w)].score;
  }
  return scores;
}

std::vector<uint8_t> RowAlarms(const SeriesRun& run, int rows) {
  std::vector<uint8_t> alarms(static_cast<size_t>(rows), 0);
  for (int w = run.calibration_windows; w < run.windows(); ++w) {
    alarms[static_cast<size_t>(run.RowOf(w))] = run.detections[static_cast<size_t>(w)].alarm ? 1 : 0;
  }
  return alarms;
}

std::vector<uint8_t> RowsOfWindows(const SeriesRun& run, int rows, const std::vector<uint8_t>& per_window) {
  std::vector<uint8_t> out(static_cast<size_t>(rows), 0);
  for (int w = 0; w < run.windows(); ++w)
    out[static_cast<size_t>(run.RowOf(w))] = per_window[static_cast<size_t>(w)];
  return out;
}

std::vector<uint8_t> AlertVerdicts(const SeriesRun& run, core::ThresholdMode mode,
                                   double fixed_threshold) {
  const bool adaptive = mode != core::ThresholdMode::kFixed;
  std::vector<uint8_t> verdicts(static_cast<size_t>(run.windows()), 0);
  for (int w = 0; w < run.windows(); ++w) {
    const auto i = static_cast<size_t>(w);
    const double threshold = i < run.model_thresholds.size() ? run.model_thresholds[i] : fixed_threshold;
    bool above = adaptive && w >= run.calibration_windows ? run.detections[i].alarm
                                                          : core::ExceedsThreshold(run.errors[i], threshold);
    // The detection's alarm has the override in it already; this is for the
    // fixed threshold's verdict.
    if (i < run.overrides.size() && run.overrides[i] != core::Override::kNone) {
      above = run.overrides[i] == core::Override::kAnomalous;
    }
    verdicts[i] = above ? 1 : 0;
  }
  return verdicts;
}

namespace {

// Per window: one flag of the detections, where the detector judged.
std::vector<uint8_t> DetectionFlags(const SeriesRun& run, core::ThresholdMode mode,
                                    bool core::Detection::*flag) {
  std::vector<uint8_t> flags(static_cast<size_t>(run.windows()), 0);
  if (mode == core::ThresholdMode::kFixed) return flags;
  for (int w = run.calibration_windows; w < run.windows(); ++w) {
    const auto i = static_cast<size_t>(w);
    flags[i] = run.detections[i].*flag ? 1 : 0;
  }
  return flags;
}

}  // namespace

std::vector<uint8_t> HeldVerdicts(const SeriesRun& run, core::ThresholdMode mode) {
  return DetectionFlags(run, mode, &core::Detection::held);
}

std::vector<uint8_t> AcceptedVerdicts(const SeriesRun& run, core::ThresholdMode mode) {
  return DetectionFlags(run, mode, &core::Detection::accepted);
}

std::vector<uint8_t> AlertColumn(const std::vector<uint8_t>& verdicts, const core::AlertRule& rule,
                                 const std::vector<uint8_t>& held, const std::vector<uint8_t>& accepted,
                                 int* accepted_alerts) {
  core::AlertState state;
  std::vector<uint8_t> firing;
  firing.reserve(verdicts.size());
  if (accepted_alerts != nullptr) *accepted_alerts = 0;
  for (size_t i = 0; i < verdicts.size(); ++i) {
    state.Observe(verdicts[i] != 0, rule, i < held.size() && held[i] != 0,
                  i < accepted.size() && accepted[i] != 0);
    // Counted as the daemon counts them: when a firing alert is first marked.
    if (accepted_alerts != nullptr && state.accepted_now()) ++*accepted_alerts;
    firing.push_back(state.firing() ? 1 : 0);
  }
  return firing;
}

PlotData MakePlot(const std::string& title, const core::CsvTable& table, const SeriesRun& run,
                  double fixed_threshold, const std::vector<uint8_t>& labels, int calibration_rows) {
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  const int rows = table.rows();
  const auto n = static_cast<size_t>(rows);
  PlotData p;
  p.title = title;
  p.time.resize(n);
  p.time_is_epoch = !table.timestamps.empty();
  for (size_t i = 0; i < n && p.time_is_epoch; ++i) {
    const std::optional<double> t = ParseTimestamp(table.timestamps[i]);
    p.time_is_epoch = t.has_value() && (i == 0 || *t > p.time[i - 1]);
    p.time[i] = t.value_or(0);
    // Said on the plot: a silent switch to rows would read as a bug.
    if (!t) {
      p.time_note = "timestamp " + core::Quote(table.timestamps[i]) + " at data row " + std::to_string(i + 1) +
                    " is not a time: the x axis is the row number";
    } else if (!p.time_is_epoch) {
      p.time_note = std::string("timestamps ") + (*t == p.time[i - 1] ? "repeat" : "go backwards") +
                    " at data row " + std::to_string(i + 1) + " (" + table.timestamps[i - 1] + ", then " +
                    table.timestamps[i] + "): the x axis is the row number";
    }
  }
  if (!p.time_is_epoch) {
    for (size_t i = 0; i < n; ++i) p.time[i] = static_cast<double>(i);
  }
  p.feature_names = table.feature_names;
  for (Eigen::Index f = 0; f < table.values.rows(); ++f) {
    p.values.emplace_back(n);
    for (int i = 0; i < rows; ++i) p.values.back()[static_cast<size_t>(i)] = table.values(f, i);
    p.reconstruction.emplace_back(n, kNaN);
    for (int w = 0; w < run.windows(); ++w) {
      p.reconstruction.back()[static_cast<size_t>(run.RowOf(w))] = run.reconstruction(f, w);
    }
  }
  p.error.assign(n, kNaN);
  p.threshold.assign(n, kNaN);
  p.score.assign(n, kNaN);
  p.alarms.assign(n, 0);
  p.onsets.assign(n, 0);
  for (int w = 0; w < run.windows(); ++w) {
    const auto row = static_cast<size_t>(run.RowOf(w));
    p.error[row] = run.errors[static_cast<size_t>(w)];
    if (w < run.calibration_windows) continue;
    const core::Detection& d = run.detections[static_cast<size_t>(w)];
    p.threshold[row] = d.threshold;
    p.score[row] = d.score;
    p.alarms[row] = d.alarm ? 1 : 0;
    p.onsets[row] = d.onset ? 1 : 0;
  }
  p.fixed_threshold = fixed_threshold;
  p.labels = labels;
  p.calibration_rows = calibration_rows;
  return p;
}

}  // namespace lstmad::tools
