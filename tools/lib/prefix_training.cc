#include "prefix_training.h"

#include <limits>
#include <utility>

#include "time_inputs.h"

namespace lstmad::tools {
namespace {

std::string ParseUnits(const std::string& text, const char* flag, std::vector<int>* units) {
  units->clear();
  for (const std::string& item : SplitList(text)) {
    int u = 0;
    if (std::string e = IntValue(flag, item, 1, std::numeric_limits<int>::max(), &u); !e.empty()) return e;
    units->push_back(u);
  }
  return units->empty() ? std::string("--") + flag + " needs at least one layer" : "";
}

}  // namespace

void AddPrefixTrainingFlags(ArgParser* p) {
  namespace d = training_defaults;
  p->AddOption("lookback", "T", "window length in samples", d::kLookback);
  p->AddOption("encoder", "UNITS", "LSTM units of the encoder layers", d::kEncoder);
  p->AddOption("decoder", "UNITS", "LSTM units of the decoder layers", d::kDecoder);
  p->AddOption("activation", "relu|tanh", "LSTM activation", d::kActivation);
  p->AddOption("epochs", "N", "maximum number of epochs", d::kEpochs);
  p->AddOption("patience", "P", "early stopping: epochs without a better val_loss", d::kPatience);
  p->AddOption("batch-size", "B", "windows per mini-batch", "32");
  p->AddOption("learning-rate", "LR", "Adam learning rate", "0.001");
  p->AddOption("validation-split", "F", "fraction of the training windows held out", "0.1");
  p->AddOption("scaler", "standard|minmax|none", "feature scaling", "standard");
  p->AddOption("threshold", "SPEC", "the model's fixed threshold (as lstmad train)", "p99.5");
  p->AddSwitch("last-step-error", "score only the last timestep of each window (as lstmad train)");
  p->AddOption("seed", "S", "random seed", "1");
  p->AddOption("time-features", "daily,weekly",
               "time of day / day of week inputs (sin, cos) from the timestamp column", "none");
}

std::string ParsePrefixTrainingFlags(const ArgParser& p, PrefixTraining* s) {
  constexpr int kMax = std::numeric_limits<int>::max();
  if (std::string e = IntFlag(p, "lookback", 1, kMax, &s->spec.timesteps); !e.empty()) return e;
  if (auto e = ParseUnits(p.Get("encoder"), "encoder", &s->spec.encoder_units); !e.empty()) return e;
  if (auto e = ParseUnits(p.Get("decoder"), "decoder", &s->spec.decoder_units); !e.empty()) return e;
  const std::string act = p.Get("activation");
  if (act != "relu" && act != "tanh") return "--activation must be relu or tanh";
  s->spec.activation = *core::ParseActivation(act);
  core::TrainOptions& o = s->options;
  if (std::string e = IntFlag(p, "epochs", 1, kMax, &o.epochs); !e.empty()) return e;
  if (std::string e = IntFlag(p, "patience", 0, kMax, &o.patience); !e.empty()) return e;
  if (std::string e = IntFlag(p, "batch-size", 1, kMax, &o.batch_size); !e.empty()) return e;
  if (!ParseDouble(p.Get("learning-rate"), &o.learning_rate) || o.learning_rate <= 0) {
    return "--learning-rate must be a positive number";
  }
  if (!ParseDouble(p.Get("validation-split"), &o.validation_split) || o.validation_split < 0 ||
      o.validation_split >= 1) {
    return "--validation-split must be in [0, 1)";
  }
  auto scaler = core::ParseScalerKind(p.Get("scaler"));
  if (!scaler) return "--scaler must be standard, minmax or none";
  s->scaler = *scaler;
  auto threshold = core::ThresholdSpec::Parse(p.Get("threshold"));
  if (!threshold.ok()) return "--threshold: " + threshold.status().message();
  s->threshold = *threshold;
  s->error_options.last_step_only = p.Switch("last-step-error");
  if (std::string e = Uint64Flag(p, "seed", &s->seed); !e.empty()) return e;
  core::Result<core::TimeFeatures> time = core::TimeFeatures::Parse(p.Get("time-features"));
  if (!time.ok()) return "--time-features: " + time.status().message();
  s->time_features = std::move(*time);
  return {};
}

core::Result<TrainedPrefix> TrainOnPrefix(const core::CsvTable& table, const std::string& path, int rows,
                                          const PrefixTraining& settings) {
  const std::string context = "the first " + std::to_string(rows) + " rows";
  if (rows < 0 || rows > table.rows()) {
    return core::Status::Error(context + ": the series has " + std::to_string(table.rows()));
  }
  std::vector<double> seconds;
  if (!settings.time_features.empty()) {
    core::Result<std::vector<double>> all = RowSeconds(table, path, settings.time_features);
    if (!all.ok()) return all.status();
    seconds.assign(all->begin(), all->begin() + rows);
  }
  core::Result<core::TrainedModel> trained =
      core::TrainAutoencoder(table.values.leftCols(rows), table.feature_names, settings, {}, seconds);
  if (!trained.ok()) return trained.status().WithContext(context);
  TrainedPrefix out;
  out.model = std::move(trained->model);
  out.model.metadata["trained_on"] = context + " (evaluate-stream)";
  out.epochs = static_cast<int>(trained->training.history.size());
  out.warnings = trained->warnings;
  out.val_loss = trained->training.history.back().val_loss;
  out.seconds = trained->seconds;
  return out;
}

}  // namespace lstmad::tools
