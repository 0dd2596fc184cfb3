#include "lstmad/core/architecture.h"

#include <cmath>
#include <string>

namespace lstmad::core {
namespace {

std::string LayerLabel(const LayerSpec& layer, size_t index) {
  return "layer " + std::to_string(index) + " (" + (layer.name.empty() ? "unnamed" : layer.name) + ")";
}

// Width of the tensor entering layer `index`.
int InputWidth(const Architecture& arch, const std::vector<LayerShape>& shapes, size_t index) {
  return index == 0 ? arch.features : shapes[index - 1].width;
}

}  // namespace

std::vector<LayerShape> LayerOutputShapes(const Architecture& arch) {
  std::vector<LayerShape> shapes;
  LayerShape current{arch.timesteps, arch.features};
  for (const LayerSpec& layer : arch.layers) {
    switch (layer.kind) {
      case LayerKind::kLstm:
        current = {layer.return_sequences ? current.steps : 0, layer.units};
        break;
      case LayerKind::kRepeatVector: current = {layer.repeat, current.width}; break;
      case LayerKind::kDense: current = {current.steps, layer.units}; break;
      case LayerKind::kBatchNorm: break;
    }
    shapes.push_back(current);
  }
  return shapes;
}

// Sizes beyond this are refused: they are not sensor models, and 4*units
// must stay far from int overflow.
constexpr int kMaxDimension = 1 << 20;

Status ValidateArchitecture(const Architecture& arch, bool require_autoencoder) {
  if (arch.timesteps <= 0 || arch.timesteps > kMaxDimension) {
    return Status::Error("timesteps must be in 1.." + std::to_string(kMaxDimension));
  }
  if (arch.features <= 0 || arch.features > kMaxDimension) {
    return Status::Error("features must be in 1.." + std::to_string(kMaxDimension));
  }
  if (arch.layers.empty()) return Status::Error("the model has no layers");
  LayerShape current{arch.timesteps, arch.features};
  for (size_t i = 0; i < arch.layers.size(); ++i) {
    const LayerSpec& layer = arch.layers[i];
    const std::string label = LayerLabel(layer, i);
    switch (layer.kind) {
      case LayerKind::kLstm:
        if (layer.units <= 0 || layer.units > kMaxDimension) {
          return Status::Error(label + ": LSTM units must be in 1.." + std::to_string(kMaxDimension));
        }
        if (current.steps == 0) return Status::Error(label + ": LSTM needs a sequence input");
        current = {layer.return_sequences ? current.steps : 0, layer.units};
        break;
      case LayerKind::kRepeatVector:
        if (layer.repeat <= 0 || layer.repeat > kMaxDimension) {
          return Status::Error(label + ": RepeatVector n must be in 1.." + std::to_string(kMaxDimension));
        }
        if (current.steps != 0) return Status::Error(label + ": RepeatVector needs a vector input");
        current = {layer.repeat, current.width};
        break;
      case LayerKind::kDense:
        if (layer.units <= 0 || layer.units > kMaxDimension) {
          return Status::Error(label + ": Dense units must be in 1.." + std::to_string(kMaxDimension));
        }
        current = {current.steps, layer.units};
        break;
      case LayerKind::kBatchNorm:
        if (!std::isfinite(layer.epsilon) || layer.epsilon < 0) {
          return Status::Error(label + ": BatchNormalization epsilon must be a finite number >= 0");
        }
        break;
    }
  }
  if (require_autoencoder && (current.steps != arch.timesteps || current.width != arch.features)) {
    return Status::Error("the model's output shape (" + std::to_string(current.steps) + ", " +
                         std::to_string(current.width) + ") differs from its input shape (" +
                         std::to_string(arch.timesteps) + ", " + std::to_string(arch.features) +
                         "): not an autoencoder");
  }
  return Status::Ok();
}

std::vector<TensorShape> LayerTensorShapes(const Architecture& arch, size_t index) {
  const std::vector<LayerShape> shapes = LayerOutputShapes(arch);
  const LayerSpec& layer = arch.layers[index];
  const int in = InputWidth(arch, shapes, index);
  const int u = layer.units;
  std::vector<TensorShape> tensors;
  switch (layer.kind) {
    case LayerKind::kLstm:
      tensors = {{"kernel", in, 4 * u}, {"recurrent_kernel", u, 4 * u}};
      if (layer.use_bias) tensors.push_back({"bias", 1, 4 * u});
      break;
    case LayerKind::kDense:
      tensors = {{"kernel", in, u}};
      if (layer.use_bias) tensors.push_back({"bias", 1, u});
      break;
    case LayerKind::kBatchNorm:
      tensors = {{"gamma", 1, in}, {"beta", 1, in}, {"moving_mean", 1, in},
                 {"moving_variance", 1, in}};
      break;
    case LayerKind::kRepeatVector: break;
  }
  return tensors;
}

int64_t LayerParamCount(const Architecture& arch, size_t index) {
  int64_t total = 0;
  for (const TensorShape& t : LayerTensorShapes(arch, index)) total += int64_t{t.rows} * t.cols;
  return total;
}

int64_t TotalParamCount(const Architecture& arch) {
  int64_t total = 0;
  for (size_t i = 0; i < arch.layers.size(); ++i) total += LayerParamCount(arch, i);
  return total;
}

int64_t NonTrainableParamCount(const Architecture& arch) {
  int64_t total = 0;
  for (size_t i = 0; i < arch.layers.size(); ++i) {
    for (const TensorShape& t : LayerTensorShapes(arch, i)) {
      if (t.name == "moving_mean" || t.name == "moving_variance") total += int64_t{t.rows} * t.cols;
    }
  }
  return total;
}

Result<Architecture> BuildAutoencoder(const AutoencoderSpec& spec) {
  if (spec.encoder_units.empty()) return Status::Error("the encoder needs at least one LSTM layer");
  if (spec.decoder_units.empty()) return Status::Error("the decoder needs at least one LSTM layer");
  Architecture arch;
  arch.timesteps = spec.timesteps;
  arch.features = spec.features;
  int lstm_count = 0;
  auto add_lstm = [&](int units, bool return_sequences) {
    LayerSpec layer;
    layer.kind = LayerKind::kLstm;
    layer.name = lstm_count == 0 ? "lstm" : "lstm_" + std::to_string(lstm_count);
    ++lstm_count;
    layer.units = units;
    layer.activation = spec.activation;
    layer.recurrent_activation = spec.recurrent_activation;
    layer.return_sequences = return_sequences;
    arch.layers.push_back(layer);
  };
  for (size_t i = 0; i < spec.encoder_units.size(); ++i) {
    add_lstm(spec.encoder_units[i], i + 1 < spec.encoder_units.size());
  }
  LayerSpec repeat;
  repeat.kind = LayerKind::kRepeatVector;
  repeat.name = "repeat_vector";
  repeat.repeat = spec.timesteps;
  arch.layers.push_back(repeat);
  for (int units : spec.decoder_units) add_lstm(units, true);
  LayerSpec dense;
  dense.kind = LayerKind::kDense;
  dense.name = "time_distributed";
  dense.units = spec.features;
  dense.activation = Activation::kLinear;
  dense.time_distributed = true;
  arch.layers.push_back(dense);
  LSTMAD_RETURN_IF_ERROR(ValidateArchitecture(arch, true));
  return arch;
}

}  // namespace lstmad::core
