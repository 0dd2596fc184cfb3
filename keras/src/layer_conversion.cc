#include "layer_conversion.h"

#include <charconv>
#include <cmath>
#include <initializer_list>
#include <set>
#include <string_view>

namespace lstmad::keras {
namespace {

using core::Activation;
using core::LayerKind;
using core::LayerSpec;
using core::Result;
using core::Status;
using json::Value;

// Keys that never change the numbers at inference, whatever the layer.
constexpr std::string_view kCommonIgnored[] = {"name", "trainable", "batch_input_shape",
                                               "batch_shape", "batch_size"};
constexpr std::string_view kInitializersEtc[] = {
    "kernel_initializer", "recurrent_initializer", "bias_initializer", "kernel_regularizer",
    "recurrent_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint",
    "recurrent_constraint", "bias_constraint"};

std::string Shown(const Value& v) {
  switch (v.type()) {
    case Value::Type::kNull: return "null";
    case Value::Type::kBool: return v.boolean() ? "true" : "false";
    case Value::Type::kString: return "'" + v.string().substr(0, 40) + "'";
    case Value::Type::kNumber: {
      char buf[32];
      const auto r = std::to_chars(buf, buf + sizeof buf, v.number());
      return std::string(buf, r.ptr);
    }
    default: return std::string(json::TypeName(v.type()));
  }
}

// Reads one layer's config, remembering which keys were looked at, so that
// whatever is left at the end is an option lstmad does not know.
class Options {
 public:
  Options(const Value& config, std::string label) : config_(config), label_(std::move(label)) {
    for (std::string_view key : kCommonIgnored) used_.insert(std::string(key));
  }

  const std::string& label() const { return label_; }

  const Value* Get(std::string_view key) {
    used_.insert(std::string(key));
    return config_.Find(key);
  }
  template <typename Keys>
  void Ignore(const Keys& keys) {
    for (std::string_view key : keys) used_.insert(std::string(key));
  }
  void Ignore(std::initializer_list<std::string_view> keys) {
    for (std::string_view key : keys) used_.insert(std::string(key));
  }

  Status Error(std::string_view key, const std::string& what) const {
    return Status::Error(label_ + ": option " + std::string(key) + " " + what);
  }

  Result<bool> Bool(std::string_view key, bool fallback) {
    const Value* v = Get(key);
    if (v == nullptr || v->is_null()) return fallback;
    if (!v->is_bool()) return Error(key, "is " + Shown(*v) + ", not true or false");
    return v->boolean();
  }

  Result<int> PositiveInt(std::string_view key) {
    const Value* v = Get(key);
    if (v == nullptr) return Error(key, "is missing");
    if (!v->is_number() || !(v->number() >= 1 && v->number() <= (1 << 20)) ||
        v->number() != std::floor(v->number())) {
      return Error(key, "is " + Shown(*v) + ", not an integer in 1..2^20");
    }
    return static_cast<int>(v->number());
  }

  // Refuses the layer when `key` is set to anything but its harmless default.
  Status RefuseUnless(std::string_view key, bool (*harmless)(const Value&), const std::string& why) {
    const Value* v = Get(key);
    if (v == nullptr || harmless(*v)) return Status::Ok();
    return Error(key, "= " + Shown(*v) + " is not supported (" + why + ")");
  }

  Status CheckDtype() {
    const Value* v = Get("dtype");
    if (v == nullptr || v->is_null()) return Status::Ok();
    const Value* name = v;
    if (v->is_object()) {  // a dtype policy: {"class_name": ..., "config": {"name": ...}}
      const Value* config = v->Find("config");
      name = config != nullptr ? config->Find("name") : nullptr;
    }
    static const std::set<std::string, std::less<>> kFloat = {
        "float16", "float32", "float64", "bfloat16", "mixed_float16", "mixed_bfloat16"};
    if (name != nullptr && name->is_string() && kFloat.count(name->string()) > 0) {
      return Status::Ok();
    }
    return Error("dtype", "= " + (name != nullptr ? Shown(*name) : Shown(*v)) +
                              " is not supported (quantized or non-float layers)");
  }

  Status CheckNoneLeft() const {
    for (const auto& [key, value] : config_.object()) {
      if (used_.count(key) == 0) {
        return Status::Error(label_ + ": unknown option " + key.substr(0, 60) + " = " +
                             Shown(value) + " (lstmad refuses what it cannot check)");
      }
    }
    return Status::Ok();
  }

 private:
  const Value& config_;
  std::string label_;
  std::set<std::string, std::less<>> used_;
};

bool IsFalse(const Value& v) { return v.is_null() || (v.is_bool() && !v.boolean()); }
bool IsTrue(const Value& v) { return v.is_bool() && v.boolean(); }
bool IsNullOrZero(const Value& v) { return v.is_null() || (v.is_number() && v.number() == 0); }
bool IsNull(const Value& v) { return v.is_null(); }

Result<Activation> ReadActivation(Options* o, std::string_view key, const KerasVersion& version,
                                  Activation fallback) {
  const Value* v = o->Get(key);
  if (v == nullptr) return fallback;
  if (v->is_null()) return Activation::kLinear;  // activation=None
  if (!v->is_string()) {
    return o->Error(key, "is " + Shown(*v) + ", not a built-in activation name");
  }
  const std::string& name = v->string();
  if (name == "tanh") return Activation::kTanh;
  if (name == "relu") return Activation::kRelu;
  if (name == "sigmoid") return Activation::kSigmoid;
  if (name == "linear") return Activation::kLinear;
  if (name == "hard_sigmoid") {
    // Keras 2: clip(0.2 x + 0.5, 0, 1); Keras 3: clip(x / 6 + 0.5, 0, 1).
    if (!version.known()) {
      return o->Error(key, "= 'hard_sigmoid' depends on the Keras version, which the file "
                           "does not record");
    }
    return version.major >= 3 ? Activation::kHardSigmoidK3 : Activation::kHardSigmoid;
  }
  return o->Error(key, "= " + Shown(*v) +
                           " is not supported (tanh, relu, sigmoid, linear, hard_sigmoid are)");
}

Result<LayerSpec> ConvertLstm(const KerasLayer& layer, Options* o, const KerasVersion& version) {
  LayerSpec spec;
  spec.kind = LayerKind::kLstm;
  spec.name = layer.name;
  Result<int> units = o->PositiveInt("units");
  if (!units.ok()) return units.status();
  spec.units = *units;
  Result<Activation> act = ReadActivation(o, "activation", version, Activation::kTanh);
  if (!act.ok()) return act.status();
  spec.activation = *act;
  // Before Keras 2.3 the default recurrent activation was hard_sigmoid.
  const bool old = version.known() && (version.major < 2 || (version.major == 2 && version.minor < 3));
  Result<Activation> rec = ReadActivation(o, "recurrent_activation", version,
                                          old ? Activation::kHardSigmoid : Activation::kSigmoid);
  if (!rec.ok()) return rec.status();
  spec.recurrent_activation = *rec;
  for (auto [key, field, fallback] :
       {std::tuple{"use_bias", &spec.use_bias, true},
        std::tuple{"return_sequences", &spec.return_sequences, false},
        std::tuple{"go_backwards", &spec.go_backwards, false}}) {
    Result<bool> b = o->Bool(key, fallback);
    if (!b.ok()) return b.status();
    *field = *b;
  }
  LSTMAD_RETURN_IF_ERROR(o->RefuseUnless(
      "stateful", IsFalse, "the state would carry over from one window to the next"));
  LSTMAD_RETURN_IF_ERROR(o->RefuseUnless("return_state", IsFalse, "lstmad serves one output"));
  LSTMAD_RETURN_IF_ERROR(o->RefuseUnless("time_major", IsFalse,
                                         "lstmad feeds (batch, timesteps, features)"));
  // Training-time or speed-only settings: the numbers at inference are the same.
  o->Ignore(kInitializersEtc);
  o->Ignore({"unroll", "implementation", "unit_forget_bias", "dropout", "recurrent_dropout",
             "zero_output_for_mask", "seed", "use_cudnn"});
  return spec;
}

Result<LayerSpec> ConvertDense(const std::string& name, Options* o, const KerasVersion& version) {
  LayerSpec spec;
  spec.kind = LayerKind::kDense;
  spec.name = name;
  Result<int> units = o->PositiveInt("units");
  if (!units.ok()) return units.status();
  spec.units = *units;
  Result<Activation> act = ReadActivation(o, "activation", version, Activation::kLinear);
  if (!act.ok()) return act.status();
  spec.activation = *act;
  Result<bool> bias = o->Bool("use_bias", true);
  if (!bias.ok()) return bias.status();
  spec.use_bias = *bias;
  LSTMAD_RETURN_IF_ERROR(o->RefuseUnless("lora_rank", IsNullOrZero, "LoRA adds weights"));
  LSTMAD_RETURN_IF_ERROR(
      o->RefuseUnless("quantization_config", IsNull, "quantized weights"));
  o->Ignore(kInitializersEtc);
  o->Ignore({"lora_alpha"});
  return spec;
}

Result<LayerSpec> ConvertTimeDistributed(const KerasLayer& layer, Options* o,
                                         const core::LayerShape& input,
                                         const KerasVersion& version) {
  const Value* inner = o->Get("layer");
  const Value* inner_class = inner != nullptr ? inner->Find("class_name") : nullptr;
  const Value* inner_config = inner != nullptr ? inner->Find("config") : nullptr;
  if (inner_class == nullptr || !inner_class->is_string() || inner_config == nullptr ||
      !inner_config->is_object()) {
    return o->Error("layer", "does not describe the wrapped layer");
  }
  if (inner_class->string() != "Dense") {
    return Status::Error(o->label() + ": wraps a " + inner_class->string().substr(0, 40) +
                         " (only TimeDistributed(Dense) is supported)");
  }
  if (input.steps == 0) return Status::Error(o->label() + ": needs a sequence input");
  Options inner_options(*inner_config, o->label() + " wrapping Dense");
  LSTMAD_RETURN_IF_ERROR(inner_options.CheckDtype());
  Result<LayerSpec> spec = ConvertDense(layer.name, &inner_options, version);
  if (!spec.ok()) return spec.status();
  LSTMAD_RETURN_IF_ERROR(inner_options.CheckNoneLeft());
  spec->time_distributed = true;
  return spec;
}

Result<LayerSpec> ConvertBatchNorm(const KerasLayer& layer, Options* o,
                                   const core::LayerShape& input) {
  LayerSpec spec;
  spec.kind = LayerKind::kBatchNorm;
  spec.name = layer.name;
  // Only the feature axis (the last) is supported: -1, or the input's rank - 1.
  const Value* axis = o->Get("axis");
  if (axis != nullptr && axis->is_array() && axis->array().size() == 1) axis = &axis->array()[0];
  const double last = input.steps == 0 ? 1 : 2;
  if (axis != nullptr && !(axis->is_number() && (axis->number() == -1 || axis->number() == last))) {
    return o->Error("axis", "= " + Shown(*axis) +
                                " is not supported (only the last axis, the features)");
  }
  const Value* epsilon = o->Get("epsilon");
  if (epsilon != nullptr) {
    if (!epsilon->is_number() || !std::isfinite(epsilon->number()) || epsilon->number() < 0) {
      return o->Error("epsilon", "is " + Shown(*epsilon) + ", not a number >= 0");
    }
    spec.epsilon = epsilon->number();
  }
  LSTMAD_RETURN_IF_ERROR(o->RefuseUnless("center", IsTrue, "a BatchNormalization without beta"));
  LSTMAD_RETURN_IF_ERROR(o->RefuseUnless("scale", IsTrue, "a BatchNormalization without gamma"));
  LSTMAD_RETURN_IF_ERROR(o->RefuseUnless("renorm", IsFalse, "batch renormalization"));
  LSTMAD_RETURN_IF_ERROR(o->RefuseUnless("virtual_batch_size", IsNull, "ghost batches"));
  LSTMAD_RETURN_IF_ERROR(o->RefuseUnless("adjustment", IsNull, "a custom adjustment"));
  o->Ignore({"momentum", "beta_initializer", "gamma_initializer", "moving_mean_initializer",
             "moving_variance_initializer", "beta_regularizer", "gamma_regularizer",
             "beta_constraint", "gamma_constraint", "renorm_clipping", "renorm_momentum", "fused",
             "synchronized"});
  return spec;
}

bool IsIdentityAtInference(const std::string& class_name) {
  return class_name == "Dropout" || class_name == "SpatialDropout1D" ||
         class_name == "GaussianDropout" || class_name == "GaussianNoise" ||
         class_name == "AlphaDropout";
}

}  // namespace

KerasVersion KerasVersion::Parse(const std::string& text) {
  KerasVersion v;
  v.text = text;
  int parts[2] = {-1, -1};
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (int& part : parts) {
    const auto r = std::from_chars(p, end, part);
    if (r.ec != std::errc()) break;
    p = r.ptr;
    if (p == end || *p != '.') break;
    ++p;
  }
  if (parts[0] >= 0) {
    v.major = parts[0];
    v.minor = parts[1] < 0 ? 0 : parts[1];
  }
  return v;
}

Result<std::optional<LayerSpec>> ConvertLayer(const KerasLayer& layer,
                                              const core::LayerShape& input,
                                              const KerasVersion& version) {
  const std::string& cls = layer.class_name;
  const std::string label = LayerLabel(layer);
  if (IsIdentityAtInference(cls)) return std::optional<LayerSpec>();
  if (cls == "Masking") {
    return Status::Error(label + ": masking is not supported (lstmad windows have no padding)");
  }
  if (cls == "CuDNNLSTM") {
    return Status::Error(label + ": CuDNNLSTM (8*units biases, cuDNN weight layout) is not "
                         "supported; convert it to LSTM in Keras and save again");
  }
  if (cls == "Sequential" || cls == "Functional" || cls == "Model") {
    return Status::Error(label + ": a nested model is not supported");
  }
  Options o(*layer.config, label);
  LSTMAD_RETURN_IF_ERROR(o.CheckDtype());
  Result<LayerSpec> spec = Status::Error("");
  if (cls == "LSTM") {
    spec = ConvertLstm(layer, &o, version);
  } else if (cls == "Dense") {
    spec = ConvertDense(layer.name, &o, version);
  } else if (cls == "TimeDistributed") {
    spec = ConvertTimeDistributed(layer, &o, input, version);
  } else if (cls == "RepeatVector") {
    Result<int> n = o.PositiveInt("n");
    if (!n.ok()) return n.status();
    LayerSpec repeat;
    repeat.kind = LayerKind::kRepeatVector;
    repeat.name = layer.name;
    repeat.repeat = *n;
    spec = repeat;
  } else if (cls == "BatchNormalization") {
    spec = ConvertBatchNorm(layer, &o, input);
  } else {
    return Status::Error(label + ": unsupported layer class " + cls.substr(0, 60) +
                         " (lstmad runs LSTM, RepeatVector, Dense, TimeDistributed(Dense) and "
                         "BatchNormalization; Dropout and InputLayer are skipped)");
  }
  if (!spec.ok()) return spec.status();
  LSTMAD_RETURN_IF_ERROR(o.CheckNoneLeft());
  return std::optional<LayerSpec>(std::move(*spec));
}

}  // namespace lstmad::keras
