#include "lstmad/keras/import.h"

#include "hdf5_file.h"
#include "json.h"
#include "layer_conversion.h"
#include "lstmad/core/files.h"
#include "model_config.h"
#include "weights.h"
#include "zip_archive.h"

namespace lstmad::keras {
namespace {

using core::Result;
using core::Status;

// Limits on the members of a `.keras` zip, checked before reading them.
constexpr uint64_t kMaxConfigBytes = uint64_t{64} << 20;
constexpr uint64_t kMaxMetadataBytes = uint64_t{1} << 20;

// What the two formats have in common once opened: the model config, the
// Keras version, and an HDF5 file holding the weights.
struct OpenedFile {
  std::string format;  // "legacy-hdf5" or "keras-zip"
  WeightLayout layout = WeightLayout::kLegacyHdf5;
  std::string config_text;
  std::string config_source;  // "model_config" or "config.json", for JSON errors
  KerasVersion version;
  std::string backend;
  std::string weights_bytes;  // the zip's model.weights.h5 (kept alive for the HDF5 image)
  std::optional<Hdf5File> weights;
};

Result<OpenedFile> OpenLegacy(std::string_view bytes) {
  OpenedFile out;
  out.format = "legacy-hdf5";
  out.layout = WeightLayout::kLegacyHdf5;
  out.config_source = "model_config";
  Result<Hdf5File> file = Hdf5File::OpenImage(bytes);
  if (!file.ok()) return file.status();
  Result<std::optional<std::string>> config = file->StringAttribute("", "model_config");
  if (!config.ok()) return config.status();
  if (!config->has_value()) {
    return Status::Error("no model_config attribute: a weights-only file (save_weights) or not "
                         "a Keras model; save the whole model with model.save()");
  }
  out.config_text = std::move(**config);
  for (auto [name, field] : {std::pair{"keras_version", &out.version.text},
                             std::pair{"backend", &out.backend}}) {
    Result<std::optional<std::string>> value = file->StringAttribute("", name);
    if (!value.ok()) return value.status();
    if (value->has_value()) *field = **value;
  }
  out.version = KerasVersion::Parse(out.version.text);
  if (!file->HasGroup("model_weights")) {
    return Status::Error("no model_weights group: the model was saved without its weights");
  }
  out.weights.emplace(std::move(*file));
  return out;
}

// metadata.json is the only place a `.keras` file records the Keras version.
Result<KerasVersion> ZipVersion(const ZipArchive& zip) {
  Result<std::optional<std::string>> metadata = zip.Read("metadata.json", kMaxMetadataBytes);
  if (!metadata.ok()) return metadata.status();
  if (!metadata->has_value()) return KerasVersion{};
  Result<json::Value> parsed = json::Parse(**metadata);
  if (!parsed.ok()) return parsed.status().WithContext("metadata.json");
  const json::Value* version = parsed->Find("keras_version");
  if (version == nullptr || !version->is_string()) return KerasVersion{};
  return KerasVersion::Parse(version->string());
}

Result<OpenedFile> OpenZip(std::string_view bytes) {
  OpenedFile out;
  out.format = "keras-zip";
  out.layout = WeightLayout::kKerasZip;
  out.config_source = "config.json";
  Result<ZipArchive> zip = ZipArchive::Open(bytes);
  if (!zip.ok()) return zip.status();
  Result<std::optional<std::string>> config = zip->Read("config.json", kMaxConfigBytes);
  if (!config.ok()) return config.status();
  if (!config->has_value()) {
    return Status::Error("a zip archive without config.json: not a Keras .keras file");
  }
  out.config_text = std::move(**config);
  Result<KerasVersion> version = ZipVersion(*zip);
  if (!version.ok()) return version.status();
  out.version = *version;
  Result<std::optional<std::string>> weights = zip->Read("model.weights.h5", kMaxKerasFileBytes);
  if (!weights.ok()) return weights.status();
  if (!weights->has_value()) return Status::Error("no model.weights.h5 in the .keras archive");
  out.weights_bytes = std::move(**weights);
  Result<Hdf5File> file = Hdf5File::OpenImage(out.weights_bytes);
  if (!file.ok()) return file.status().WithContext("model.weights.h5");
  out.weights.emplace(std::move(*file));
  return out;
}

Result<OpenedFile> Open(std::string_view bytes) {
  if (LooksLikeZip(bytes)) return OpenZip(bytes);
  Result<OpenedFile> legacy = OpenLegacy(bytes);
  if (!legacy.ok() && legacy.status().message().starts_with("not an HDF5 file")) {
    return Status::Error("not a Keras model file: neither HDF5 (.h5) nor a zip archive (.keras)");
  }
  return legacy;
}

// The lstmad architecture of the chain, skipping layers that are the
// identity at inference; `kept` receives the Keras layer of each lstmad layer.
Result<core::Architecture> BuildArchitecture(const KerasModelConfig& config,
                                             const KerasVersion& version, int timesteps,
                                             std::vector<const KerasLayer*>* kept,
                                             std::vector<std::string>* skipped) {
  core::Architecture arch;
  if (config.timesteps < 0 && timesteps <= 0) {
    return Status::Error("the model's input length is open (None): pass the window length "
                         "(--timesteps)");
  }
  if (config.timesteps > 0 && timesteps > 0 && config.timesteps != timesteps) {
    return Status::Error("the model's input length is " + std::to_string(config.timesteps) +
                         ", not " + std::to_string(timesteps));
  }
  arch.timesteps = config.timesteps > 0 ? static_cast<int>(config.timesteps) : timesteps;
  arch.features = static_cast<int>(config.features);
  core::LayerShape shape{arch.timesteps, arch.features};
  for (const KerasLayer& layer : config.chain) {
    Result<std::optional<core::LayerSpec>> spec = ConvertLayer(layer, shape, version);
    if (!spec.ok()) return spec.status();
    if (!spec->has_value()) {
      skipped->push_back(layer.name);
      continue;
    }
    arch.layers.push_back(std::move(**spec));
    kept->push_back(&layer);
    // Validating layer by layer keeps the next layer's input shape defined.
    core::Architecture prefix = arch;
    LSTMAD_RETURN_IF_ERROR(core::ValidateArchitecture(prefix, false));
    shape = core::LayerOutputShapes(prefix).back();
  }
  if (arch.layers.empty()) return Status::Error("no layer computes anything");
  LSTMAD_RETURN_IF_ERROR(core::ValidateArchitecture(arch, true));
  return arch;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

Result<core::Model> Import(std::string_view bytes, const std::vector<std::string>& features,
                           const ImportOptions& options) {
  Result<OpenedFile> opened = Open(bytes);
  if (!opened.ok()) return opened.status();
  Result<json::Value> root = json::Parse(opened->config_text);
  if (!root.ok()) return root.status().WithContext(opened->config_source);
  Result<KerasModelConfig> config = ReadModelConfig(*root, options.output);
  if (!config.ok()) return config.status();
  std::vector<const KerasLayer*> kept;
  std::vector<std::string> skipped;
  Result<core::Architecture> arch =
      BuildArchitecture(*config, opened->version, options.timesteps, &kept, &skipped);
  if (!arch.ok()) return arch.status();
  if (features.size() != static_cast<size_t>(arch->features)) {
    return Status::Error("the model takes " + std::to_string(arch->features) + " features, but " +
                         std::to_string(features.size()) +
                         (features.size() == 1 ? " feature name was given" : " feature names were given"));
  }
  core::Model model;
  model.architecture = *arch;
  model.feature_names = features;
  model.scaler = core::Scaler::Identity(arch->features);
  model.threshold = 0;
  model.threshold_spec = "none";
  for (size_t i = 0; i < arch->layers.size(); ++i) {
    Result<std::vector<core::Matrix<float>>> tensors =
        ReadLayerWeights(*opened->weights, opened->layout, *kept[i], arch->layers[i],
                         core::LayerTensorShapes(*arch, i));
    if (!tensors.ok()) return tensors.status();
    model.weights.layers.push_back(std::move(*tensors));
  }
  model.metadata = {
      {"keras_format", opened->format},
      {"keras_version", opened->version.text.empty() ? "unknown" : opened->version.text},
      {"keras_model", config->class_name + (config->name.empty() ? "" : " " + config->name)},
      {"keras_output", config->output},
  };
  if (!opened->backend.empty()) model.metadata["keras_backend"] = opened->backend;
  if (!skipped.empty()) model.metadata["keras_skipped_layers"] = JoinNames(skipped);
  LSTMAD_RETURN_IF_ERROR(model.Validate());
  return model;
}

}  // namespace

bool LooksLikeKerasFile(std::string_view head) {
  return LooksLikeZip(head) || head.starts_with(std::string_view("\211HDF\r\n\032\n", 8));
}

Result<core::Model> ImportKerasModelFromBytes(std::string_view bytes, const std::string& source,
                                              const std::vector<std::string>& features,
                                              const ImportOptions& options) {
  Hdf5Lock lock;
  Result<core::Model> model = Import(bytes, features, options);
  if (!model.ok()) return model.status().WithContext(source);
  model->metadata["keras_file"] = source;
  return model;
}

Result<core::Model> ImportKerasModel(const std::string& path,
                                     const std::vector<std::string>& features,
                                     const ImportOptions& options) {
  Result<std::string> bytes = core::ReadFileBounded(path, kMaxKerasFileBytes);
  if (!bytes.ok()) return bytes.status();
  return ImportKerasModelFromBytes(*bytes, path, features, options);
}

}  // namespace lstmad::keras
