#include "model_config.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>

#include "lstmad/core/text.h"

namespace lstmad::keras {
namespace {

using core::Result;
using core::Status;
using json::Value;

// Names come from the file: quoted, escaped and cut short (core/text.h).
std::string Quote(std::string_view s) { return core::Quote(s, 80); }

const std::string* StringMember(const Value& object, std::string_view key) {
  const Value* v = object.Find(key);
  return v != nullptr && v->is_string() ? &v->string() : nullptr;
}

bool IsInteger(const Value& v) {
  return v.is_number() && std::isfinite(v.number()) && v.number() == std::floor(v.number());
}

// A reference to a layer's output: [name, node_index, tensor_index(, kwargs)].
struct TensorRef {
  std::string layer;
  double node = 0;
  double tensor = 0;
  const Value* kwargs = nullptr;
};

Result<TensorRef> ParseTensorRef(const Value& v, const std::string& what) {
  if (!v.is_array() || v.array().size() < 3 || v.array().size() > 4 || !v.array()[0].is_string() ||
      !IsInteger(v.array()[1]) || !IsInteger(v.array()[2])) {
    return Status::Error(what + " is not a [layer, node, tensor] reference");
  }
  TensorRef ref{v.array()[0].string(), v.array()[1].number(), v.array()[2].number()};
  if (v.array().size() == 4) ref.kwargs = &v.array()[3];
  return ref;
}

// input_layers / output_layers: one reference, a list of them, or (Keras 3
// dict-structured models) an object of them.
Result<std::vector<TensorRef>> ParseTensorRefs(const Value* v, const std::string& what) {
  if (v == nullptr) return Status::Error("the functional config has no " + what);
  std::vector<const Value*> items;
  if (v->is_array() && !v->array().empty() && v->array()[0].is_string()) {
    items.push_back(v);
  } else if (v->is_array()) {
    for (const Value& item : v->array()) items.push_back(&item);
  } else if (v->is_object()) {
    for (const auto& member : v->object()) items.push_back(&member.second);
  } else {
    return Status::Error(what + " is " + std::string(json::TypeName(v->type())) + ", not a list");
  }
  std::vector<TensorRef> refs;
  for (const Value* item : items) {
    Result<TensorRef> ref = ParseTensorRef(*item, "an entry of " + what);
    if (!ref.ok()) return ref.status();
    refs.push_back(std::move(*ref));
  }
  return refs;
}

Result<std::vector<KerasLayer>> ParseLayerList(const Value& list) {
  if (!list.is_array()) return Status::Error("the model's layers are not a list");
  std::vector<KerasLayer> layers;
  std::map<std::string, int> per_class;
  for (size_t i = 0; i < list.array().size(); ++i) {
    const Value& entry = list.array()[i];
    const std::string where = "layer entry " + std::to_string(i);
    const std::string* class_name = StringMember(entry, "class_name");
    const Value* config = entry.Find("config");
    if (class_name == nullptr) return Status::Error(where + " has no class_name");
    if (config == nullptr || !config->is_object()) {
      return Status::Error(where + " (" + *class_name + ") has no config object");
    }
    const std::string* name = StringMember(entry, "name");
    if (name == nullptr) name = StringMember(*config, "name");
    if (name == nullptr || name->empty()) {
      return Status::Error(where + " (" + *class_name + ") has no name");
    }
    const std::string snake = ToSnakeCase(*class_name);
    const int k = per_class[snake]++;
    layers.push_back({*class_name, *name, config,
                      "layers/" + snake + (k == 0 ? "" : "_" + std::to_string(k))});
  }
  return layers;
}

// [batch, timesteps, features] with batch and timesteps possibly null.
Status ParseInputShape(const Value& shape, const std::string& where, KerasModelConfig* model) {
  if (!shape.is_array() || shape.array().size() != 3) {
    return Status::Error(where + ": the input shape is not (batch, timesteps, features): "
                         "lstmad reads sequences of feature vectors");
  }
  const Value& steps = shape.array()[1];
  const Value& width = shape.array()[2];
  if (!steps.is_null() && (!IsInteger(steps) || steps.number() < 1)) {
    return Status::Error(where + ": the input's timesteps are not a positive integer");
  }
  if (!IsInteger(width) || width.number() < 1) {
    return Status::Error(where + ": the input's feature count is not a positive integer");
  }
  constexpr double kLimit = 1 << 20;
  if ((!steps.is_null() && steps.number() > kLimit) || width.number() > kLimit) {
    return Status::Error(where + ": the input shape is too large");
  }
  model->timesteps = steps.is_null() ? -1 : static_cast<int64_t>(steps.number());
  model->features = static_cast<int64_t>(width.number());
  return Status::Ok();
}

// The declared input shape of a layer: Keras 2 `batch_input_shape`, Keras 3
// `batch_shape`.
const Value* DeclaredShape(const KerasLayer& layer) {
  const Value* shape = layer.config->Find("batch_input_shape");
  return shape != nullptr && !shape->is_null() ? shape : layer.config->Find("batch_shape");
}

Result<KerasModelConfig> ReadSequential(const Value& config, const std::string& output) {
  KerasModelConfig model;
  model.class_name = "Sequential";
  // Keras 2.0 stored a bare list of layers.
  const Value* list = config.is_array() ? &config : config.Find("layers");
  if (list == nullptr) return Status::Error("the Sequential config has no layers");
  if (const std::string* name = StringMember(config, "name")) model.name = *name;
  Result<std::vector<KerasLayer>> layers = ParseLayerList(*list);
  if (!layers.ok()) return layers.status();
  const Value* shape = nullptr;
  std::string shape_from;
  for (size_t i = 0; i < layers->size(); ++i) {
    const KerasLayer& layer = (*layers)[i];
    if (layer.class_name != "InputLayer") {
      model.chain.push_back(layer);
      continue;
    }
    if (i != 0) return Status::Error(LayerLabel(layer) + ": an InputLayer inside the stack");
    shape = DeclaredShape(layer);
    shape_from = LayerLabel(layer);
  }
  if (model.chain.empty()) return Status::Error("the model has no layers");
  if (shape == nullptr || shape->is_null()) {
    shape = DeclaredShape(model.chain[0]);
    shape_from = LayerLabel(model.chain[0]);
  }
  // Keras 3 records where a Sequential model was built instead.
  if ((shape == nullptr || shape->is_null()) && config.is_object()) {
    shape = config.Find("build_input_shape");
    shape_from = "the Sequential config";
  }
  if (shape == nullptr || shape->is_null()) {
    return Status::Error("the config records no input shape (was the model ever built?)");
  }
  LSTMAD_RETURN_IF_ERROR(ParseInputShape(*shape, shape_from, &model));
  model.outputs = {model.chain.back().name};
  if (!output.empty() && output != model.chain.back().name) {
    return Status::Error("no output layer " + Quote(output) + ": the model's output is " +
                         Quote(model.chain.back().name));
  }
  model.output = model.chain.back().name;
  return model;
}

Status CheckCallKwargs(const KerasLayer& layer, const Value* kwargs) {
  if (kwargs == nullptr || kwargs->is_null()) return Status::Ok();
  if (!kwargs->is_object()) return Status::Error(LayerLabel(layer) + ": malformed call arguments");
  for (const auto& [key, value] : kwargs->object()) {
    if (key == "training") continue;  // inference anyway
    if (key == "mask" && value.is_null()) continue;
    if (key == "mask") {
      return Status::Error(LayerLabel(layer) + ": called with a mask (masking is not supported)");
    }
    return Status::Error(LayerLabel(layer) + ": called with argument " + Quote(key) +
                         " (not supported)");
  }
  return Status::Ok();
}

// The single layer feeding `layer` in a functional graph.
Result<std::string> InboundLayer(const KerasLayer& layer, const Value& entry) {
  const Value* nodes = entry.Find("inbound_nodes");
  const std::string label = LayerLabel(layer);
  if (nodes == nullptr || !nodes->is_array() || nodes->array().empty()) {
    return Status::Error(label + ": no inbound nodes (not connected to the input)");
  }
  if (nodes->array().size() > 1) {
    return Status::Error(label + ": called " + std::to_string(nodes->array().size()) +
                         " times (shared layers are not supported)");
  }
  const Value& node = nodes->array()[0];
  const Value* ref_value = nullptr;
  const Value* kwargs = nullptr;
  size_t inputs = 0;
  if (node.is_array()) {  // Keras 2: [[name, node, tensor, kwargs], ...]
    inputs = node.array().size();
    if (inputs == 1) ref_value = &node.array()[0];
  } else if (node.is_object()) {  // Keras 3: {"args": [keras tensors], "kwargs": {...}}
    const Value* args = node.Find("args");
    kwargs = node.Find("kwargs");
    if (args == nullptr || !args->is_array()) return Status::Error(label + ": malformed inbound node");
    inputs = args->array().size();
    if (inputs == 1) {
      const Value& tensor = args->array()[0];
      const std::string* tensor_class = StringMember(tensor, "class_name");
      const Value* tensor_config = tensor.Find("config");
      if (tensor_class == nullptr || *tensor_class != "__keras_tensor__" ||
          tensor_config == nullptr) {
        return Status::Error(label + ": its input is not a Keras tensor");
      }
      ref_value = tensor_config->Find("keras_history");
    }
  } else {
    return Status::Error(label + ": malformed inbound node");
  }
  if (inputs != 1) {
    return Status::Error(label + ": " + std::to_string(inputs) +
                         " inputs (merge layers and multi-input calls are not supported)");
  }
  if (ref_value == nullptr) return Status::Error(label + ": malformed inbound node");
  Result<TensorRef> ref = ParseTensorRef(*ref_value, label + ": its inbound tensor");
  if (!ref.ok()) return ref.status();
  if (ref->node != 0) {
    return Status::Error(label + ": fed by call " + std::to_string(int64_t(ref->node)) + " of " +
                         Quote(ref->layer) + " (shared layers are not supported)");
  }
  if (ref->tensor != 0) {
    return Status::Error(label + ": fed by output " + std::to_string(int64_t(ref->tensor)) +
                         " of " + Quote(ref->layer) + " (return_state is not supported)");
  }
  LSTMAD_RETURN_IF_ERROR(CheckCallKwargs(layer, ref->kwargs));
  LSTMAD_RETURN_IF_ERROR(CheckCallKwargs(layer, kwargs));
  return ref->layer;
}

std::string NameList(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + Quote(n);
  return out;
}

std::string CountWord(size_t n) {
  static const char* const kWords[] = {"no", "one", "two", "three", "four", "five"};
  return n < 6 ? kWords[n] : std::to_string(n);
}

Result<std::string> PickOutput(const std::vector<std::string>& outputs, const std::string& output) {
  if (!output.empty()) {
    if (std::find(outputs.begin(), outputs.end(), output) == outputs.end()) {
      return Status::Error("no output layer " + Quote(output) + ": the model's outputs are " +
                           NameList(outputs));
    }
    return output;
  }
  if (outputs.size() != 1) {
    return Status::Error(CountWord(outputs.size()) + " outputs: " + NameList(outputs) +
                         "; pick the reconstruction with --output LAYER");
  }
  return outputs[0];
}

Result<KerasModelConfig> ReadFunctional(const std::string& class_name, const Value& config,
                                        const std::string& output) {
  KerasModelConfig model;
  model.class_name = class_name;
  if (const std::string* name = StringMember(config, "name")) model.name = *name;
  const Value* list = config.Find("layers");
  if (list == nullptr) return Status::Error("the " + class_name + " config has no layers");
  Result<std::vector<KerasLayer>> layers = ParseLayerList(*list);
  if (!layers.ok()) return layers.status();
  std::map<std::string, size_t> by_name;
  for (size_t i = 0; i < layers->size(); ++i) {
    if (!by_name.emplace((*layers)[i].name, i).second) {
      return Status::Error("two layers are named " + Quote((*layers)[i].name));
    }
  }
  Result<std::vector<TensorRef>> inputs = ParseTensorRefs(config.Find("input_layers"), "input_layers");
  if (!inputs.ok()) return inputs.status();
  if (inputs->size() != 1) {
    return Status::Error(CountWord(inputs->size()) + " inputs (lstmad models take one input)");
  }
  Result<std::vector<TensorRef>> outputs =
      ParseTensorRefs(config.Find("output_layers"), "output_layers");
  if (!outputs.ok()) return outputs.status();
  for (const TensorRef& ref : *outputs) model.outputs.push_back(ref.layer);
  Result<std::string> chosen = PickOutput(model.outputs, output);
  if (!chosen.ok()) return chosen.status();
  model.output = *chosen;
  // Walk back from the output to the input; every layer on the way has one input.
  std::string current = model.output;
  for (size_t steps = 0;; ++steps) {
    const auto it = by_name.find(current);
    if (it == by_name.end()) return Status::Error("the graph refers to a missing layer " + Quote(current));
    if (steps > layers->size()) return Status::Error("the layer graph has a cycle");
    const KerasLayer& layer = (*layers)[it->second];
    if (layer.class_name == "InputLayer") {
      if (layer.name != (*inputs)[0].layer) {
        return Status::Error("the output depends on " + Quote(layer.name) +
                             ", which is not the model's input");
      }
      const Value* shape = DeclaredShape(layer);
      if (shape == nullptr) return Status::Error(LayerLabel(layer) + ": no input shape");
      LSTMAD_RETURN_IF_ERROR(ParseInputShape(*shape, LayerLabel(layer), &model));
      break;
    }
    model.chain.push_back(layer);
    Result<std::string> inbound = InboundLayer(layer, list->array()[it->second]);
    if (!inbound.ok()) return inbound.status();
    current = *inbound;
  }
  if (model.chain.empty()) return Status::Error("the output is the input: the model has no layers");
  std::reverse(model.chain.begin(), model.chain.end());
  return model;
}

}  // namespace

std::string ToSnakeCase(const std::string& class_name) {
  auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  auto lower = [](char c) { return c >= 'a' && c <= 'z'; };
  std::string word;  // re.sub(r"\W+", "", name)
  for (const char c : class_name) {
    if (upper(c) || lower(c) || (c >= '0' && c <= '9') || c == '_') word.push_back(c);
  }
  std::string a;  // re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
  for (size_t i = 0; i < word.size();) {
    if (i + 2 < word.size() && upper(word[i + 1]) && lower(word[i + 2])) {
      a += word[i];
      a += '_';
      a += word[i + 1];
      i += 2;
      while (i < word.size() && lower(word[i])) a += word[i++];
    } else {
      a += word[i++];
    }
  }
  std::string b;  // re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
  for (size_t i = 0; i < a.size();) {
    if (i + 1 < a.size() && lower(a[i]) && upper(a[i + 1])) {
      b += a[i];
      b += '_';
      b += static_cast<char>(a[i + 1] - 'A' + 'a');
      i += 2;
    } else {
      b += upper(a[i]) ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
      ++i;
    }
  }
  return b;
}

std::string LayerLabel(const KerasLayer& layer) {
  return "layer " + Quote(layer.name) + " (" + layer.class_name + ")";
}

Result<KerasModelConfig> ReadModelConfig(const Value& root, const std::string& output) {
  if (!root.is_object()) return Status::Error("the model config is not a JSON object");
  const std::string* class_name = StringMember(root, "class_name");
  const Value* config = root.Find("config");
  if (class_name == nullptr || config == nullptr) {
    return Status::Error("the model config has no class_name and config");
  }
  if (*class_name == "Sequential") return ReadSequential(*config, output);
  if (*class_name == "Functional" || *class_name == "Model") {
    if (!config->is_object()) return Status::Error("the " + *class_name + " config is not an object");
    return ReadFunctional(*class_name, *config, output);
  }
  return Status::Error("model class " + Quote(*class_name) +
                       " is not supported: only Sequential and functional models have a config "
                       "lstmad can read (a subclassed model does not)");
}

}  // namespace lstmad::keras
