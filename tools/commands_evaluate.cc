// `lstmad evaluate` and `lstmad evaluate-stream`: score a labelled series
// with a model and the per-stream detector, and measure the alarms against
// the labels (core/evaluation.h). evaluate-stream replays the series as NAB
// prescribes: it trains on the probationary period and scores the rest
// online, as the daemon would.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <iostream>
#include <limits>

#include "cli_args.h"
#include "command_support.h"
#include "commands.h"
#include "detection_run.h"
#include "detector_flags.h"
#include "evaluation_report.h"
#include "guard_flags.h"
#include "labels.h"
#include "lstmad/core/evaluation.h"
#include "lstmad/core/files.h"
#include "lstmad/core/model_file.h"
#include "prefix_training.h"
#include "prometheus_source.h"
#include "series_source.h"
#include "svg_plot.h"
#include "time_inputs.h"

namespace lstmad::tools {
namespace {

// evaluate-stream fine-tunes every 250 windows by default (--relearn-every).
constexpr int kStreamRelearnEvery = 250;

// relearn_every: the default of --relearn-every. evaluate-stream, the
// replay of a stream's life in the daemon from its first training, learns
// on (docs/detection.md: +3.6 NAB points over three seeds); evaluate scores
// a given model as `score` does, so it keeps that model unless asked.
void AddCommonFlags(ArgParser* p, int relearn_every) {
  p->AddOption("data", "FILE.csv", "the labelled series (header row, optional timestamp column first)");
  p->AddOption("label-column", "NAME",
               "the column of 0/1 labels (ignored with --windows); with --prometheus (evaluate), the --query "
               "of that name",
               "label");
  p->AddOption("windows", "WINDOWS.json",
               "labels from NAB anomaly windows instead (combined_windows.json; the entry whose key "
               "ends the --data path)");
  p->AddOption("probation-rows", "N",
               "rows that calibrate the detector and are not scored (default: NAB's, "
               "min(floor(0.15 rows), 750))");
  p->AddOption("plot", "OUT.svg", "draw the series, reconstruction, error, threshold, alerts and labels");
  p->AddOption("nab-results", "DIR",
               "write DIR/<category>/<detector>_<file>: timestamp,value,anomaly_score,label for NAB's scorer");
  p->AddOption("detector-name", "NAME", "the detector's name in NAB results file names", "lstmad");
  p->AddSwitch("json", "print the metrics as one JSON object instead of text");
  AddDetectorFlags(p);
  AddAlertFlags(p);
  AddGuardFlag(p);
  p->AddOption("relearn-every", "N",
               "learning never stops: every N scored windows, fine-tune the model on the newest windows "
               "judged normal, as the daemon's retrain does (0: never)",
               std::to_string(relearn_every));
  p->AddOption("relearn-min-windows", "N", "normal windows collected before a fine-tune", "200");
  p->AddOption("relearn-max-windows", "N", "newest normal windows kept for fine-tuning", "2000");
  p->AddOption("relearn-epochs", "N", "epochs per fine-tune", "2");
  p->AddOption("relearn-holdout", "F", "newest fraction held back to accept or refuse a fine-tune", "0.2");
}

std::string ParseRelearning(const ArgParser& p, Relearning* r) {
  constexpr int kMax = std::numeric_limits<int>::max();
  if (std::string e = IntFlag(p, "relearn-every", 0, kMax, &r->every); !e.empty()) return e;
  if (std::string e = IntFlag(p, "relearn-min-windows", 10, kMax, &r->min_windows); !e.empty()) return e;
  // At least --relearn-min-windows.
  if (std::string e = IntFlag(p, "relearn-max-windows", r->min_windows, kMax, &r->max_windows); !e.empty()) {
    return e;
  }
  if (std::string e = IntFlag(p, "relearn-epochs", 1, kMax, &r->options.epochs); !e.empty()) return e;
  if (!ParseDouble(p.Get("relearn-holdout"), &r->options.holdout) || !(r->options.holdout >= 0.05) ||
      !(r->options.holdout <= 0.5)) {
    return "--relearn-holdout must be in [0.05, 0.5]";
  }
  return {};
}

int ParseOrExit(ArgParser* p, const std::vector<std::string>& args, const char* command) {
  if (const int code = ParseArgsOrExit(p, args, command); code >= 0) return code;
  if (std::string e = CheckSeriesSource(*p); !e.empty()) return Fail(command, e);
  // Output paths are checked before the (possibly long) run.
  for (const char* flag : {"plot", "save-model"}) {
    if (!p->Has(flag)) continue;
    if (core::Status ok = core::CheckReplaceable(p->Get(flag)); !ok.ok()) return Fail(command, ok.message());
  }
  return -1;
}

core::Result<std::vector<uint8_t>> LoadLabels(const ArgParser& p, const core::CsvTable& table) {
  if (p.Has("windows")) return LoadNabWindowLabels(p.Get("windows"), p.Get("data"), table.timestamps);
  return LoadLabelColumn(p.Get("data"), p.Get("label-column"));
}

// The model's features and the labels from one query_range run: the label
// column is the --query named as --label-column, its non-zero values 1.
core::Result<core::CsvTable> LoadPrometheusWithLabels(const ArgParser& p, const std::vector<std::string>& features,
                                                      core::Result<std::vector<uint8_t>>* labels) {
  core::Result<core::CsvTable> all = LoadSeries(p, "evaluate", {}, core::EmptyCells::kError);
  if (!all.ok()) return all.status();
  core::Result<core::CsvTable> label = SelectQueryColumns(*all, {p.Get("label-column")});
  if (!label.ok()) {
    *labels = label.status();
  } else {
    std::vector<uint8_t> out;
    out.reserve(static_cast<size_t>(label->rows()));
    for (int i = 0; i < label->rows(); ++i) out.push_back(label->values(0, i) != 0 ? 1 : 0);
    *labels = std::move(out);
  }
  return SelectQueryColumns(*all, features);
}

// Probation rows from the flag or NAB's rule; an error message or "".
std::string Probation(const ArgParser& p, int rows, int* probation) {
  *probation = core::NabProbationaryRows(rows);
  if (p.Has("probation-rows")) return IntFlag(p, "probation-rows", 0, rows - 1, probation);  // [0, rows)
  return {};
}

// Everything after the detector ran: metrics, NAB results, plot.
struct Outcome {
  const core::CsvTable* table;
  const std::vector<uint8_t>* labels;
  const SeriesRun* run;
  const std::vector<uint8_t>* alerts;  // per row: the alert firing after the window ending there
  int alerts_accepted;                 // alerts whose change the detector accepted as the new normal
  core::AlertRule alert_rule;
  int probation;
  double fixed_threshold;
  std::string detector, training;
};

int Report(const ArgParser& p, const char* command, const Outcome& o) {
  const int rows = o.table->rows();
  const std::vector<double> scores = RowScores(*o.run, rows);
  EvaluationSummary s = Summarize(SeriesName(p), *o.labels, RowAlarms(*o.run, rows), scores, *o.alerts,
                                  o.alert_rule, o.probation, o.table->timestamps);
  s.detector = o.detector;
  s.training = o.training;
  s.alerts_accepted = o.alerts_accepted;
  if (p.Switch("json")) {
    PrintJson(std::cout, s);
  } else {
    PrintText(std::cout, s);
  }
  if (p.Has("nab-results")) {
    std::vector<double> values(static_cast<size_t>(rows));
    for (int i = 0; i < rows; ++i) values[static_cast<size_t>(i)] = o.table->values(0, i);
    core::Status written = WriteNabResults(p.Get("nab-results"), p.Get("detector-name"), SeriesName(p),
                                           o.table->timestamps, values, scores, *o.labels);
    if (!written.ok()) return FailWrite(command, written);
  }
  if (p.Has("plot")) {
    const PlotData plot = MakePlot("lstmad " + std::string(command) + ": " + SeriesName(p), *o.table,
                                   *o.run, o.fixed_threshold, *o.labels, o.probation);
    const core::Status written = core::WriteFileAtomically(p.Get("plot"), RenderSvg(plot));
    if (!written.ok()) return FailWrite(command, written);
  }
  return std::cout.flush() ? kExitOk : Fail(command, "writing stdout failed", kExitFailure);
}

// Runs the detector (and relearning) and reports; the common tail of both commands.
int DetectAndReport(const ArgParser& p, const char* command, const core::DetectorOptions& options,
                    const core::Model& model, const core::CsvTable& table,
                    const std::vector<uint8_t>& labels, int probation, std::string training) {
  if (labels.size() != static_cast<size_t>(table.rows())) {
    return Fail(command, "labels and data differ in length");
  }
  std::vector<core::FeatureGuard> guards;
  if (std::string e = ParseGuardFlag(p, model.feature_names, &guards); !e.empty()) return Fail(command, e);
  Relearning relearning;
  relearning.options = core::RetrainOptionsForModel(model);  // ParseRelearning sets epochs and holdout
  if (std::string e = ParseRelearning(p, &relearning); !e.empty()) return Fail(command, e);
  // The alert decides which windows relearning keeps, as in the daemon.
  if (std::string e = ParseAlertFlags(p, &relearning.rule); !e.empty()) return Fail(command, e);
  SeriesRun run;
  RelearnStats stats;
  if (core::Status s = RunAndDetect(model, table, options, probation, relearning, guards, &run, &stats);
      !s.ok()) {
    return Fail(command, SeriesName(p) + ": " + s.message() +
                             " (the probationary period is too short for the detector)");
  }
  if (relearning.enabled()) {
    char text[160];
    std::snprintf(text, sizeof text, "; relearning every %d windows: %d fine-tune(s), %d swapped, %d failed, %.1f s",
                  relearning.every, stats.attempts, stats.swaps, stats.failures, stats.seconds);
    training += text;
  }
  // The alert column `score` would print for this run, per row.
  int accepted = 0;
  const std::vector<uint8_t> alert_rows = RowsOfWindows(
      run, table.rows(),
      AlertColumn(AlertVerdicts(run, options.threshold, model.threshold), relearning.rule,
                  HeldVerdicts(run, options.threshold), AcceptedVerdicts(run, options.threshold), &accepted));
  return Report(p, command,
                Outcome{&table, &labels, &run, &alert_rows, accepted, relearning.rule, probation,
                        model.threshold, DescribeDetector(options, run.refractory), training});
}

}  // namespace

int RunEvaluate(const std::vector<std::string>& args) {
  constexpr const char* kCommand = "evaluate";
  ArgParser p(kCommand,
              "Score a labelled series with a model and measure the alarms against the labels:\n"
              "precision, recall and F1 point-wise and event-wise, time to detection, point-adjusted\n"
              "F1 (apart: it flatters), and the NAB score. The first rows (NAB's probationary period)\n"
              "calibrate the detector and are not scored; the rest are scored in time order.");
  p.AddOption("model", "MODEL", "an lstmad model file");
  AddCommonFlags(&p, 0);
  // Or the series from Prometheus: a --query per model feature, and one for
  // the labels, named as --label-column.
  AddPrometheusFlags(&p);
  if (int code = ParseOrExit(&p, args, kCommand); code >= 0) return code;
  if (!p.Has("model")) return Fail(kCommand, "--model is required");
  core::DetectorOptions options;
  if (std::string e = ParseDetectorFlags(p, &options); !e.empty()) return Fail(kCommand, e);
  core::Result<core::Model> model = core::LoadModel(p.Get("model"));
  if (!model.ok()) return Fail(kCommand, model.status().message());
  core::Result<core::Network<float>> net = model->MakeNetwork();
  if (!net.ok()) return Fail(kCommand, p.Get("model") + ": " + net.status().message());
  if (p.Has("prometheus") && p.Has("windows")) {
    return Fail(kCommand, "--windows finds its entry by the --data path; with --prometheus, give the labels "
                          "as --query " + p.Get("label-column") + "=PROMQL (a 0/1 series)");
  }
  core::Result<std::vector<uint8_t>> labels = core::Status::Error("no labels");
  core::Result<core::CsvTable> table = p.Has("prometheus")
                                           ? LoadPrometheusWithLabels(p, model->feature_names, &labels)
                                           : LoadCsv(p.Get("data"), model->feature_names);
  if (!p.Has("prometheus") && table.ok()) labels = LoadLabels(p, *table);
  if (!table.ok()) return Fail(kCommand, table.status().message());
  if (table->rows() < model->architecture.timesteps) {
    return Fail(kCommand, SeriesName(p) + ": fewer rows than the model's lookback");
  }
  if (core::Status s = CheckTimeInputs(*model, *table, SeriesName(p)); !s.ok())
    return Fail(kCommand, s.message());
  if (!labels.ok()) return Fail(kCommand, labels.status().message());
  int probation = 0;
  if (std::string e = Probation(p, table->rows(), &probation); !e.empty()) return Fail(kCommand, e);
  return DetectAndReport(p, kCommand, options, *model, *table, *labels, probation,
                         "loaded from " + p.Get("model"));
}

int RunEvaluateStream(const std::vector<std::string>& args) {
  constexpr const char* kCommand = "evaluate-stream";
  ArgParser p(kCommand,
              "Replay a labelled series the way the daemon sees it, following NAB's protocol: train a\n"
              "model on the probationary period (the first min(15%, 750) rows), calibrate the detector\n"
              "on those windows' errors, then score the rest window by window in time order with the\n"
              "daemon's code path (no look-ahead), and report as `lstmad evaluate` does.");
  p.AddOption("features", "a,b", "feature columns (default: every column but the timestamp and labels)");
  p.AddOption("save-model", "MODEL", "also write the model trained on the probationary period");
  AddCommonFlags(&p, kStreamRelearnEvery);
  AddPrefixTrainingFlags(&p);
  if (int code = ParseOrExit(&p, args, kCommand); code >= 0) return code;
  core::DetectorOptions options;
  if (std::string e = ParseDetectorFlags(p, &options); !e.empty()) return Fail(kCommand, e);
  PrefixTraining training;
  if (std::string e = ParsePrefixTrainingFlags(p, &training); !e.empty()) return Fail(kCommand, e);
  std::vector<std::string> features;
  if (p.Has("features")) features = SplitList(p.Get("features"));
  core::Result<core::CsvTable> table = LoadCsv(p.Get("data"), features);
  if (!table.ok()) return Fail(kCommand, table.status().message());
  core::Result<std::vector<uint8_t>> labels = LoadLabels(p, *table);
  if (!labels.ok()) return Fail(kCommand, labels.status().message());
  // The label column is ground truth, never a feature.
  if (auto it = std::find(table->feature_names.begin(), table->feature_names.end(), p.Get("label-column"));
      it != table->feature_names.end() && !p.Has("features")) {
    core::Result<core::CsvTable> rest = LoadCsv(p.Get("data"), [&] {
      std::vector<std::string> keep = table->feature_names;
      keep.erase(keep.begin() + (it - table->feature_names.begin()));
      return keep;
    }());
    if (!rest.ok()) return Fail(kCommand, rest.status().message());
    table = std::move(rest);
  }
  if (table->feature_names.empty()) return Fail(kCommand, p.Get("data") + ": no feature columns");
  int probation = 0;
  if (std::string e = Probation(p, table->rows(), &probation); !e.empty()) return Fail(kCommand, e);
  if (!training.time_features.empty()) {
    if (core::Result<std::vector<double>> t = RowSeconds(*table, p.Get("data"), training.time_features);
        !t.ok()) {
      return Fail(kCommand, t.status().message());
    }
  }
  core::Result<TrainedPrefix> trained = TrainOnPrefix(*table, p.Get("data"), probation, training);
  if (!trained.ok()) return Fail(kCommand, p.Get("data") + ": " + trained.status().message());
  for (const std::string& w : trained->warnings) {
    std::cerr << "lstmad " << kCommand << ": warning: " << p.Get("data") << ": " << w << "\n";
  }
  core::Result<core::Network<float>> net = trained->model.MakeNetwork();
  if (!net.ok()) return Fail(kCommand, net.status().message(), kExitFailure);
  if (p.Has("save-model")) {
    if (core::Status s = core::SaveModel(trained->model, p.Get("save-model")); !s.ok())
      return FailWrite(kCommand, s);
  }
  char description[256];
  std::snprintf(description, sizeof description,
                "trained on the first %d rows: T=%d, encoder %s, decoder %s, %s, %d epoch(s), "
                "val_loss %.4g, %.1f s",
                probation, training.spec.timesteps, p.Get("encoder").c_str(),
                p.Get("decoder").c_str(), p.Get("activation").c_str(), trained->epochs,
                trained->val_loss, trained->seconds);
  std::string trained_on = description;
  if (!training.time_features.empty()) trained_on += ", time features " + training.time_features.ToString();
  return DetectAndReport(p, kCommand, options, trained->model, *table, *labels, probation, trained_on);
}

}  // namespace lstmad::tools
