#include "scoring/model_runtime.h"

#include <atomic>

#include <filesystem>
#include <fstream>

#include "lstmad/core/csv.h"
#include "lstmad/core/files.h"
#include "lstmad/core/model_file.h"
#include "lstmad/keras/calibration.h"
#include "lstmad/keras/import.h"

namespace lstmad::daemon {
namespace {

// The normal data a Keras model is calibrated on (models[].calibrate) is read
// whole; a larger file is refused rather than read (as lstmad's own commands
// refuse input files past 4 GiB).
constexpr uint64_t kMaxCalibrationCsvBytes = uint64_t{4} << 30;

std::string ArchitectureText(const core::Model& model) {
  std::string enc, dec;
  bool after_repeat = false;
  for (const core::LayerSpec& layer : model.architecture.layers) {
    if (layer.kind == core::LayerKind::kRepeatVector) after_repeat = true;
    if (layer.kind != core::LayerKind::kLstm) continue;
    std::string& list = after_repeat ? dec : enc;
    list += (list.empty() ? "" : ",") + std::to_string(layer.units);
  }
  const auto& first = model.architecture.layers.front();
  return "T=" + std::to_string(model.architecture.timesteps) + " F=" +
         std::to_string(model.architecture.features) + " enc=" + enc + " dec=" + dec + " " +
         std::string(core::ActivationName(first.activation));
}

// A Keras file (.h5 / .keras) served directly: imported with the configured
// feature names, then calibrated on normal data or given a fixed threshold.
core::Result<core::Model> LoadKerasModel(const config::ModelSettings& settings, const std::string& at) {
  if (settings.features.empty()) {
    return core::Status::Error(at + ".features: required to serve a Keras file (" + settings.path + ")");
  }
  keras::ImportOptions options;
  options.output = settings.keras_output;
  core::Result<core::Model> model = keras::ImportKerasModel(settings.path, settings.features, options);
  if (!model.ok()) return model.status().WithContext(at + ".path");
  if (settings.calibrate.empty()) {
    if (settings.scaler != "none") {
      return core::Status::Error(at + ".scaler: " + settings.scaler + " needs " + at + ".calibrate to fit it");
    }
    if (!settings.threshold) {
      return core::Status::Error(at + ".threshold: required for a Keras file without " + at + ".calibrate");
    }
    return model;
  }
  core::Result<std::string> text = core::ReadFileBounded(settings.calibrate, kMaxCalibrationCsvBytes);
  if (!text.ok()) return text.status().WithContext(at + ".calibrate");
  core::Result<core::CsvTable> table = core::ParseCsv(*text, settings.calibrate, model->feature_names);
  if (!table.ok()) return table.status().WithContext(at + ".calibrate");
  keras::CalibrationOptions options_cal;
  options_cal.scaler = *core::ParseScalerKind(settings.scaler);
  auto report = keras::Calibrate(*table, options_cal, &*model);
  if (!report.ok()) return report.status().WithContext(at + ".calibrate");
  return model;
}

bool IsKerasFile(const std::string& path) {
  // Opening a FIFO for reading would wait for a writer, and the io thread with
  // it; anything but a regular file goes to core::LoadModel, which refuses it.
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  std::ifstream in(path, std::ios::binary);
  char head[8] = {};
  in.read(head, sizeof head);
  return keras::LooksLikeKerasFile(std::string_view(head, static_cast<size_t>(in.gcount())));
}

}  // namespace

core::Result<std::shared_ptr<ModelRuntime>> LoadModelRuntime(const config::ModelSettings& settings,
                                                            size_t index) {
  const std::string at = "models[" + std::to_string(index) + "]";
  const std::string where = at + ".path";
  core::Result<core::Model> model =
      IsKerasFile(settings.path) ? LoadKerasModel(settings, at) : core::LoadModel(settings.path);
  if (!model.ok()) return IsKerasFile(settings.path) ? model.status() : model.status().WithContext(where);
  core::Result<core::Network<float>> network = model->MakeNetwork();
  if (!network.ok()) return network.status().WithContext(where + ": " + settings.path);
  std::vector<core::FeatureGuard> guards;
  if (!settings.guards.empty()) {
    // Feature names are known only now, with the model file read.
    core::Result<std::vector<core::FeatureGuard>> resolved =
        core::ResolveGuards(settings.guards, model->feature_names);
    if (!resolved.ok()) return resolved.status().WithContext(at + ".guards: model " + settings.name);
    guards = std::move(resolved).value();
  }
  auto runtime = std::make_shared<ModelRuntime>(ModelRuntime{
      settings, std::move(model).value(), std::move(network).value(), 0, {}, 0, std::move(guards)});
  runtime->threshold = settings.threshold.value_or(runtime->model.threshold);
  runtime->generation = NextModelGeneration();
  runtime->detector_generation = runtime->generation;
  runtime->fingerprint = core::ModelFingerprint(runtime->model);
  return runtime;
}

uint64_t NextModelGeneration() {
  static std::atomic<uint64_t> generations{0};
  return ++generations;
}

void RegisterMetrics(ModelRuntime* runtime, Metrics* metrics) {
  ModelInfo info;
  info.name = runtime->settings.name;
  info.measurement = runtime->settings.measurement;
  info.path = runtime->settings.path;
  for (const std::string& f : runtime->model.feature_names) {
    info.features += (info.features.empty() ? "" : ",") + f;
  }
  info.architecture = ArchitectureText(runtime->model);
  info.lookback = runtime->lookback();
  info.guards = !runtime->guards.empty();
  runtime->metrics = metrics->ForModel(info, runtime->threshold);
}

const std::shared_ptr<const ModelRuntime>* ModelSet::FindByMeasurement(std::string_view measurement) const {
  for (const auto& m : models) {
    if (m->settings.measurement == measurement) return &m;
  }
  return nullptr;
}

core::Result<std::vector<std::shared_ptr<ModelRuntime>>> LoadModelRuntimes(const config::Settings& settings) {
  std::vector<std::shared_ptr<ModelRuntime>> loaded;
  for (size_t i = 0; i < settings.models.size(); ++i) {
    auto runtime = LoadModelRuntime(settings.models[i], i);
    if (!runtime.ok()) return runtime.status();
    loaded.push_back(std::move(runtime).value());
  }
  return loaded;
}

std::shared_ptr<const ModelSet> MakeModelSet(std::vector<std::shared_ptr<ModelRuntime>> loaded,
                                             Metrics* metrics) {
  auto set = std::make_shared<ModelSet>();
  for (auto& runtime : loaded) {
    if (metrics != nullptr) RegisterMetrics(runtime.get(), metrics);
    set->models.push_back(std::move(runtime));
  }
  return set;
}

core::Result<std::shared_ptr<const ModelSet>> LoadModelSet(const config::Settings& settings,
                                                           Metrics* metrics) {
  auto loaded = LoadModelRuntimes(settings);
  if (!loaded.ok()) return loaded.status();
  return MakeModelSet(std::move(loaded).value(), metrics);
}

}  // namespace lstmad::daemon
