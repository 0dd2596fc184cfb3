// `lstmad import-keras`: read a model trained in Keras (.h5 or .keras),
// optionally fit its scaler and threshold on normal data, and write an lstmad
// model file.
#include <cstdio>
#include <ctime>
#include <iostream>
#include <limits>

#include "cli_args.h"
#include "command_support.h"
#include "commands.h"
#include "lstmad/core/files.h"
#include "lstmad/core/model_file.h"
#include "lstmad/keras/calibration.h"
#include "lstmad/keras/import.h"

namespace lstmad::tools {
namespace {

constexpr const char* kCommand = "import-keras";

ArgParser MakeParser() {
  ArgParser p(kCommand,
              "Import an LSTM autoencoder saved by Keras (model.save: legacy .h5 or .keras) and\n"
              "write an lstmad model. Without --calibrate the model has no scaler and\n"
              "threshold 0 (or --threshold NUMBER): calibrate it before serving.\n"
              "See docs/keras-import.md.");
  p.AddPositional("FILE", "the Keras model file (.h5 or .keras)");
  p.AddOption("features", "a,b", "the model's input feature names, in order (required)");
  p.AddOption("output", "LAYER",
              "functional models with several outputs: the output layer that reconstructs "
              "the input");
  p.AddOption("timesteps", "T", "window length, when the model's input length is None");
  p.AddOption("calibrate", "NORMAL.csv",
              "normal data: fit the scaler and the threshold on it, as `lstmad train` does");
  p.AddOption("scaler", "standard|minmax|none",
              "the scaling the Keras model was trained with, fitted on --calibrate "
              "(default: none)");
  p.AddOption("threshold", "SPEC",
              "anomaly threshold on window MSE: pNN or mean+Kstd of the --calibrate windows' "
              "errors (default p99.5), or a number");
  p.AddSwitch("last-step-error", "score only the last timestep of each window");
  p.AddOption("out", "MODEL", "where to write the lstmad model file");
  return p;
}

struct ImportSettings {
  std::string file, out, calibrate;
  std::vector<std::string> features;
  keras::ImportOptions import;
  keras::CalibrationOptions calibration;
  bool threshold_given = false;
};

std::string CheckSettings(const ArgParser& p, ImportSettings* s) {
  if (p.positionals().size() != 1) return "give exactly one Keras model FILE";
  if (!p.Has("features")) return "--features is required (the model's input names, in order)";
  if (!p.Has("out")) return "--out is required";
  s->file = p.positionals()[0];
  s->out = p.Get("out");
  if (core::Status ok = core::CheckReplaceable(s->out); !ok.ok()) return ok.message();
  s->features = SplitList(p.Get("features"));
  if (p.Has("output")) s->import.output = p.Get("output");
  if (p.Has("timesteps")) {
    const int max = std::numeric_limits<int>::max();
    if (std::string e = IntFlag(p, "timesteps", 1, max, &s->import.timesteps); !e.empty()) return e;
  }
  if (p.Has("calibrate")) s->calibrate = p.Get("calibrate");
  if (p.Has("scaler")) {
    auto scaler = core::ParseScalerKind(p.Get("scaler"));
    if (!scaler) return "--scaler must be standard, minmax or none";
    s->calibration.scaler = *scaler;
    if (*scaler != core::ScalerKind::kNone && s->calibrate.empty()) {
      return "--scaler " + p.Get("scaler") + " needs --calibrate NORMAL.csv to be fitted on";
    }
  }
  if (p.Has("threshold")) {
    auto threshold = core::ThresholdSpec::Parse(p.Get("threshold"));
    if (!threshold.ok()) return "--threshold: " + threshold.status().message();
    if (s->calibrate.empty() && threshold->kind != core::ThresholdSpec::Kind::kFixed) {
      return "--threshold " + p.Get("threshold") + " needs --calibrate NORMAL.csv";
    }
    s->calibration.threshold = *threshold;
    s->threshold_given = true;
  }
  return {};
}

// Sets the scaler and threshold; returns the message to fail with, if any.
std::string CalibrateOrFix(const ImportSettings& s, core::Model* model) {
  if (s.calibrate.empty()) {
    if (s.threshold_given) {  // a fixed number: checked by CheckSettings
      model->threshold = s.calibration.threshold.value;
      model->threshold_spec = s.calibration.threshold.ToString();
    } else {
      std::cerr << "lstmad " << kCommand << ": warning: no --calibrate: threshold 0, every "
                << "window will be flagged; calibrate on normal data before serving\n";
      model->threshold_spec = "uncalibrated";
    }
    return {};
  }
  core::Result<core::CsvTable> table = LoadCsv(s.calibrate, model->feature_names);
  if (!table.ok()) return table.status().message();
  core::Result<keras::CalibrationReport> report = keras::Calibrate(*table, s.calibration, model);
  if (!report.ok()) return s.calibrate + ": " + report.status().message();
  model->metadata["calibration_data"] = s.calibrate;
  model->metadata["calibration_windows"] = std::to_string(report->windows);
  for (const std::string& w : report->warnings) {
    std::cerr << "lstmad " << kCommand << ": warning: " << s.calibrate << ": " << w << "\n";
  }
  return {};
}

}  // namespace

int RunImportKeras(const std::vector<std::string>& args) {
  ArgParser parser = MakeParser();
  if (const int code = ParseArgsOrExit(&parser, args, kCommand); code >= 0) return code;
  std::string error;
  ImportSettings s;
  if (error = CheckSettings(parser, &s); !error.empty()) return Fail(kCommand, error);
  core::Result<core::Model> model = keras::ImportKerasModel(s.file, s.features, s.import);
  if (!model.ok()) return Fail(kCommand, model.status().message());
  model->error_options.last_step_only = parser.Switch("last-step-error");
  if (error = CalibrateOrFix(s, &*model); !error.empty()) return Fail(kCommand, error);
  model->metadata["imported_at"] = core::UtcNowIso8601();
  model->metadata["lstmad_version"] = LSTMAD_VERSION;
  if (core::Status saved = core::SaveModel(*model, s.out); !saved.ok()) return FailWrite(kCommand, saved);
  const core::Architecture& arch = model->architecture;
  std::cerr << "imported " << s.file << " (" << model->metadata["keras_model"] << ", Keras "
            << model->metadata["keras_version"] << ", " << model->metadata["keras_format"]
            << "): " << arch.layers.size() << " layers, " << core::TotalParamCount(arch)
            << " parameters, input " << arch.timesteps << " x " << arch.features
            << "; threshold " << model->threshold << " (" << model->threshold_spec
            << "); model written to " << s.out << "\n";
  return kExitOk;
}

}  // namespace lstmad::tools
