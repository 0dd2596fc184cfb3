#include "prefix_training.h"

#include <chrono>

#include "lstmad/core/initializers.h"
#include "lstmad/core/reconstruction.h"
#include "lstmad/core/windows.h"

namespace lstmad::tools {
namespace {

std::string ParseUnits(const std::string& text, const char* flag, std::vector<int>* units) {
  units->clear();
  for (const std::string& item : SplitList(text)) {
    int u = 0;
    if (!ParseInt(item, &u) || u < 1) return std::string("--") + flag + ": bad units \"" + item + "\"";
    units->push_back(u);
  }
  return units->empty() ? std::string("--") + flag + " needs at least one layer" : "";
}

}  // namespace

void AddPrefixTrainingFlags(ArgParser* p) {
  p->AddOption("lookback", "T", "window length in samples", "30");
  p->AddOption("encoder", "UNITS", "LSTM units of the encoder layers", "32,16");
  p->AddOption("decoder", "UNITS", "LSTM units of the decoder layers", "16,32");
  p->AddOption("activation", "relu|tanh", "LSTM activation", "tanh");
  p->AddOption("epochs", "N", "maximum number of epochs", "20");
  p->AddOption("patience", "P", "early stopping: epochs without a better val_loss", "3");
  p->AddOption("batch-size", "B", "windows per mini-batch", "32");
  p->AddOption("learning-rate", "LR", "Adam learning rate", "0.001");
  p->AddOption("validation-split", "F", "fraction of the training windows held out", "0.1");
  p->AddOption("scaler", "standard|minmax|none", "feature scaling", "standard");
  p->AddOption("threshold", "SPEC", "the model's fixed threshold (as lstmad train)", "p99.5");
  p->AddOption("seed", "S", "random seed", "1");
}

std::string ParsePrefixTrainingFlags(const ArgParser& p, PrefixTraining* s) {
  if (!ParseInt(p.Get("lookback"), &s->spec.timesteps) || s->spec.timesteps < 1) {
    return "--lookback must be a positive integer";
  }
  if (auto e = ParseUnits(p.Get("encoder"), "encoder", &s->spec.encoder_units); !e.empty()) return e;
  if (auto e = ParseUnits(p.Get("decoder"), "decoder", &s->spec.decoder_units); !e.empty()) return e;
  const std::string act = p.Get("activation");
  if (act != "relu" && act != "tanh") return "--activation must be relu or tanh";
  s->spec.activation = *core::ParseActivation(act);
  core::TrainOptions& o = s->options;
  if (!ParseInt(p.Get("epochs"), &o.epochs) || o.epochs < 1) return "--epochs must be >= 1";
  if (!ParseInt(p.Get("patience"), &o.patience) || o.patience < 0) return "--patience must be >= 0";
  if (!ParseInt(p.Get("batch-size"), &o.batch_size) || o.batch_size < 1) return "--batch-size must be >= 1";
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
  if (!ParseUint64(p.Get("seed"), &s->seed)) return "--seed must be a non-negative integer";
  return {};
}

core::Result<TrainedPrefix> TrainOnPrefix(const core::CsvTable& table, int rows,
                                          const PrefixTraining& settings) {
  const auto start = std::chrono::steady_clock::now();
  core::AutoencoderSpec spec = settings.spec;
  spec.features = static_cast<int>(table.values.rows());
  const int windows_total = rows - spec.timesteps + 1;
  const auto train_windows =
      static_cast<int>(windows_total * (1.0 - settings.options.validation_split));
  if (train_windows < 1) {
    return core::Status::Error("the first " + std::to_string(rows) +
                               " rows hold no training windows of length " +
                               std::to_string(spec.timesteps));
  }
  TrainedPrefix out;
  core::Model& model = out.model;
  model.feature_names = table.feature_names;
  model.scaler = core::Scaler::Fit(settings.scaler,
                                   table.values.leftCols(train_windows + spec.timesteps - 1));
  core::Result<core::Architecture> arch = core::BuildAutoencoder(spec);
  if (!arch.ok()) return arch.status();
  model.architecture = *arch;
  core::Matrix<float> series = table.values.leftCols(rows).cast<float>();
  model.scaler.Transform(&series);
  const core::WindowSet<float> windows = core::MakeWindows(series, spec.timesteps);
  core::Rng rng(settings.seed);
  auto net = core::Network<float>::Create(model.architecture,
                                          core::InitializeWeights<float>(*arch, &rng));
  if (!net.ok()) return net.status();
  core::Result<core::TrainResult> trained = core::Train(&*net, windows, settings.options, &rng);
  if (!trained.ok()) return trained.status();
  const std::vector<int>& calibration = trained->validation_windows.empty()
                                            ? trained->training_windows
                                            : trained->validation_windows;
  auto threshold = core::ComputeThreshold(
      settings.threshold, core::WindowErrors(*net, windows, calibration, model.error_options));
  if (!threshold.ok()) return threshold.status();
  model.threshold = *threshold;
  model.threshold_spec = settings.threshold.ToString();
  model.weights = net->weights();
  out.epochs = static_cast<int>(trained->history.size());
  out.val_loss = trained->history.back().val_loss;
  model.metadata = {
      {"trained_on", "the first " + std::to_string(rows) + " rows (evaluate-stream)"},
      {"windows", std::to_string(windows.count)},
      {"epochs", std::to_string(out.epochs)},
      {"best_epoch", std::to_string(trained->best_epoch)},
      {"seed", std::to_string(settings.seed)},
  };
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace lstmad::tools
