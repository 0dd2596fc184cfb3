// Internal: reading a Keras model config (the JSON of `model_config` or
// config.json) down to what lstmad can run: the input shape and the chain of
// layers from the input to the chosen output.
//
// Handles every layout seen in real files: Keras 2.0's bare list of layers,
// Sequential `{name, layers}`, functional `Model` (<= 2.3) and `Functional`
// (>= 2.4) with Keras 2 list-style or Keras 3 dict-style inbound nodes.
// Errors name the layer (and never include the file name: the caller adds it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "json.h"
#include "lstmad/core/status.h"

namespace lstmad::keras {

struct KerasLayer {
  std::string class_name;                // "LSTM", "TimeDistributed", ...
  std::string name;                      // the configured layer name
  const json::Value* config = nullptr;   // its "config" object, owned by the document
  // Where a `.keras` file keeps its weights: "layers/<snake_case class><_k>",
  // k the per-class ordinal in the model's layer list (none for the first).
  std::string zip_weights_path;
};

struct KerasModelConfig {
  std::string class_name;  // "Sequential", "Functional" or "Model"
  std::string name;
  int64_t timesteps = -1;  // -1: left open (None) by the file
  int64_t features = -1;
  std::vector<KerasLayer> chain;     // input to output, InputLayer excluded
  std::vector<std::string> outputs;  // output layer names; one for Sequential
  std::string output;                // the one the chain ends at
};

// `output` picks one of several outputs of a functional model by layer name;
// empty means the model must have exactly one.
core::Result<KerasModelConfig> ReadModelConfig(const json::Value& root, const std::string& output);

// Keras' naming.to_snake_case: "TimeDistributed" -> "time_distributed",
// "LSTM" -> "lstm", "CuDNNLSTM" -> "cu_dnnlstm".
std::string ToSnakeCase(const std::string& class_name);

// "layer 'lstm_1' (LSTM)", for error messages.
std::string LayerLabel(const KerasLayer& layer);

}  // namespace lstmad::keras
