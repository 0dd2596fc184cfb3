// `lstmad train`: fit a scaler and an LSTM autoencoder on a CSV series,
// compute the anomaly threshold, and write the model file.
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <iostream>
#include <limits>

#include "cli_args.h"
#include "command_support.h"
#include "commands.h"
#include "lstmad/core/files.h"
#include "lstmad/core/model_file.h"
#include "lstmad/core/threshold.h"
#include "lstmad/core/trainer.h"
#include "lstmad/core/training_recipe.h"
#include "prefix_training.h"
#include "prometheus_source.h"
#include "series_source.h"
#include "time_inputs.h"

namespace lstmad::tools {
namespace {

constexpr const char* kCommand = "train";

struct TrainSettings {
  std::string data, out;
  std::vector<std::string> features;
  core::EmptyCells fill = core::EmptyCells::kError;
  core::TrainingRecipe recipe;
};

ArgParser MakeParser() {
  ArgParser p(kCommand, "Train an LSTM autoencoder on the windows of a CSV series and write a model.");
  p.AddOption("data", "FILE.csv", "training data: header row, optional timestamp column first");
  namespace d = training_defaults;
  p.AddOption("lookback", "T", "window length in samples (timesteps)", d::kLookback);
  p.AddOption("features", "a,b",
              "feature columns to use, in order (default: every non-timestamp column)");
  p.AddOption("encoder", "UNITS", "LSTM units of the encoder layers", d::kEncoder);
  p.AddOption("decoder", "UNITS", "LSTM units of the decoder layers", d::kDecoder);
  p.AddOption("activation", "relu|tanh", "LSTM activation", d::kActivation);
  p.AddOption("epochs", "N", "maximum number of epochs", d::kEpochs);
  p.AddOption("batch-size", "B", "windows per mini-batch", "32");
  p.AddOption("learning-rate", "LR", "Adam learning rate", "0.001");
  p.AddOption("validation-split", "F", "fraction of windows (the last ones) held out", "0.1");
  p.AddOption("patience", "P", "early stopping: epochs without a better val_loss (0: off)", d::kPatience);
  p.AddOption("scaler", "standard|minmax|none", "feature scaling fitted on the training data",
              "standard");
  p.AddOption("threshold", "SPEC",
              "anomaly threshold on window MSE: pNN (percentile of validation errors), "
              "mean+Kstd, or a number",
              "p99.5");
  p.AddSwitch("last-step-error", "score only the last timestep of each window");
  p.AddOption("seed", "S", "random seed (initialisation and shuffling)", "1");
  p.AddOption("time-features", "daily,weekly",
              "also learn with time inputs from the timestamp column: sin and cos of the time of "
              "day (daily) and of the day of the week (weekly), UTC",
              "none");
  p.AddOption("out", "MODEL", "where to write the model file");
  AddFillFlag(&p);
  AddPrometheusFlags(&p);
  return p;
}

std::string CheckSettings(const ArgParser& p, TrainSettings* s) {
  if (std::string e = CheckSeriesSource(p); !e.empty()) return e;
  if (!p.Has("out")) return "--out is required";
  s->data = SeriesName(p);
  s->out = p.Get("out");
  // Before training, not after: a device named by --out is refused at once.
  if (core::Status ok = core::CheckReplaceable(s->out); !ok.ok()) return ok.message();
  if (p.Has("features")) s->features = SplitList(p.Get("features"));
  core::Result<core::EmptyCells> fill = FillOf(p);
  if (!fill.ok()) return fill.status().message();
  s->fill = *fill;
  constexpr int kMax = std::numeric_limits<int>::max();
  if (std::string e = IntFlag(p, "lookback", 1, kMax, &s->recipe.spec.timesteps); !e.empty()) return e;
  for (auto [flag, units] : {std::pair{"encoder", &s->recipe.spec.encoder_units},
                             std::pair{"decoder", &s->recipe.spec.decoder_units}}) {
    units->clear();
    for (const std::string& item : SplitList(p.Get(flag))) {
      int u = 0;
      if (std::string e = IntValue(flag, item, 1, kMax, &u); !e.empty()) return e;
      units->push_back(u);
    }
    if (units->empty()) return std::string("--") + flag + " needs at least one layer";
  }
  const std::string act = p.Get("activation");
  if (act != "relu" && act != "tanh") return "--activation must be relu or tanh";
  s->recipe.spec.activation = *core::ParseActivation(act);
  core::TrainOptions& o = s->recipe.options;
  if (std::string e = IntFlag(p, "epochs", 1, kMax, &o.epochs); !e.empty()) return e;
  if (std::string e = IntFlag(p, "batch-size", 1, kMax, &o.batch_size); !e.empty()) return e;
  if (!ParseDouble(p.Get("learning-rate"), &o.learning_rate) || o.learning_rate <= 0) {
    return "--learning-rate must be a positive number";
  }
  if (!ParseDouble(p.Get("validation-split"), &o.validation_split) || o.validation_split < 0 ||
      o.validation_split >= 1) {
    return "--validation-split must be in [0, 1)";
  }
  if (std::string e = IntFlag(p, "patience", 0, kMax, &o.patience); !e.empty()) return e;
  if (std::string e = Uint64Flag(p, "seed", &s->recipe.seed); !e.empty()) return e;
  auto scaler = core::ParseScalerKind(p.Get("scaler"));
  if (!scaler) return "--scaler must be standard, minmax or none";
  s->recipe.scaler = *scaler;
  auto threshold = core::ThresholdSpec::Parse(p.Get("threshold"));
  if (!threshold.ok()) return "--threshold: " + threshold.status().message();
  s->recipe.threshold = *threshold;
  core::Result<core::TimeFeatures> time = core::TimeFeatures::Parse(p.Get("time-features"));
  if (!time.ok()) return "--time-features: " + time.status().message();
  s->recipe.time_features = std::move(*time);
  return {};
}

// Per-epoch lines like Keras' fit(); on a terminal, a progress bar below them.
class EpochPrinter {
 public:
  EpochPrinter() : tty_(isatty(STDERR_FILENO) == 1) {}
  void operator()(const core::EpochReport& r) {
    char line[160];
    if (r.val_loss >= 0) {
      std::snprintf(line, sizeof line, "epoch %d/%d - loss %.6g - val_loss %.6g - %.2fs", r.epoch,
                    r.epochs, r.loss, r.val_loss, r.seconds);
    } else {
      std::snprintf(line, sizeof line, "epoch %d/%d - loss %.6g - %.2fs", r.epoch, r.epochs,
                    r.loss, r.seconds);
    }
    if (tty_) std::cerr << "\r\033[K";
    std::cerr << line << "\n";
    if (tty_) DrawBar(r);
  }
  ~EpochPrinter() {
    if (tty_) std::cerr << "\r\033[K" << std::flush;
  }

 private:
  void DrawBar(const core::EpochReport& r) {
    constexpr int kWidth = 30;
    elapsed_ += r.seconds;
    const int filled = r.epoch * kWidth / r.epochs;
    const double eta = elapsed_ / r.epoch * (r.epochs - r.epoch);
    std::cerr << "[" << std::string(static_cast<size_t>(filled), '=')
              << std::string(static_cast<size_t>(kWidth - filled), ' ') << "] " << r.epoch << "/"
              << r.epochs << " ETA " << static_cast<int>(eta) << "s" << std::flush;
  }
  bool tty_;
  double elapsed_ = 0;
};

}  // namespace

int RunTrain(const std::vector<std::string>& args) {
  ArgParser parser = MakeParser();
  if (const int code = ParseArgsOrExit(&parser, args, kCommand); code >= 0) return code;
  std::string error;
  TrainSettings s;
  if (error = CheckSettings(parser, &s); !error.empty()) return Fail(kCommand, error);

  core::Result<core::CsvTable> table = LoadSeries(parser, kCommand, s.features, s.fill);
  if (!table.ok()) return Fail(kCommand, table.status().message());
  s.recipe.error_options.last_step_only = parser.Switch("last-step-error");
  std::vector<double> seconds;
  if (!s.recipe.time_features.empty()) {
    core::Result<std::vector<double>> t = RowSeconds(*table, s.data, s.recipe.time_features);
    if (!t.ok()) return Fail(kCommand, t.status().message());
    seconds = std::move(*t);
  }
  // Bad input (too few rows, a split that leaves no training windows) is told
  // apart from a failed run by planning first.
  core::Result<core::TrainingPlan> plan = core::PlanTraining(
      s.recipe, static_cast<int>(table->values.rows()), table->rows());
  if (!plan.ok()) return Fail(kCommand, s.data + ": " + plan.status().message());
  std::cerr << "training on " << plan->windows << " windows of " << s.recipe.spec.timesteps << " x "
            << plan->architecture.features << " from " << s.data << " ("
            << core::TotalParamCount(plan->architecture) << " parameters)\n";
  core::Result<core::TrainedModel> trained = [&] {
    EpochPrinter printer;
    return core::TrainAutoencoder(table->values, table->feature_names, s.recipe, std::ref(printer), seconds);
  }();
  if (!trained.ok()) return Fail(kCommand, trained.status().message(), kExitFailure);
  for (const std::string& w : trained->warnings) {
    std::cerr << "lstmad " << kCommand << ": warning: " << s.data << ": " << w << "\n";
  }
  core::Model& model = trained->model;
  model.metadata["trained_at"] = core::UtcNowIso8601();
  model.metadata["lstmad_version"] = LSTMAD_VERSION;
  model.metadata["data"] = s.data;
  if (core::Status saved = core::SaveModel(model, s.out); !saved.ok()) return FailWrite(kCommand, saved);
  std::cerr << "threshold " << model.threshold << " (" << model.threshold_spec << " of "
            << trained->calibration_windows << " " << model.metadata["threshold_windows"]
            << " windows); model written to " << s.out << "\n";
  return kExitOk;
}

}  // namespace lstmad::tools
