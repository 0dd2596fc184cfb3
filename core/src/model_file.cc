#include "lstmad/core/model_file.h"

#include "lstmad/core/byte_codec.h"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cstdio>
#include <map>
#include <optional>
#include <utility>

#include "lstmad/core/files.h"
#include "lstmad/core/model_file_format.h"
#include "lstmad/core/text.h"

namespace lstmad::core {
namespace {

namespace mf = model_file;

// Little-endian encoding: core/byte_codec.h (bytes::), shared with the state
// formats; `bytes::` names that namespace even where a variable is called bytes.

// A cursor over untrusted bytes: every read checks what is left first.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  size_t remaining() const { return bytes_.size() - pos_; }
  size_t position() const { return pos_; }

  bool ReadU32(uint32_t* v) {
    if (remaining() < 4) return false;
    *v = bytes::GetAt<uint32_t>(bytes_, pos_);
    pos_ += 4;
    return true;
  }
  bool ReadU64(uint64_t* v) {
    if (remaining() < 8) return false;
    *v = bytes::GetAt<uint64_t>(bytes_, pos_);
    pos_ += 8;
    return true;
  }
  bool ReadBytes(uint64_t n, std::string_view* v) {
    if (n > remaining()) return false;
    *v = bytes_.substr(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return true;
  }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
};

// ---------------------------------------------------------------------------
// Header text: one `key=value\n` line per field, both sides %XX-escaped so
// names may hold any byte (see docs/model-format.md).

bool IsPlain(unsigned char c) {
  return c >= mf::kFirstPlainByte && c <= mf::kLastPlainByte && c != mf::kEscapeByte &&
         c != mf::kSeparatorByte;
}

std::string Escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (IsPlain(u)) {
      out.push_back(c);
    } else {
      out.push_back(mf::kEscapeByte);
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0xFu]);
    }
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;  // lower case is refused: the writer never produces it
}

// Strict inverse of Escape(): a byte Escape() would have escaped may not
// appear raw, so every accepted text has exactly one spelling.
std::optional<std::string> Unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != mf::kEscapeByte) {
      if (!IsPlain(static_cast<unsigned char>(s[i]))) return std::nullopt;
      out.push_back(s[i]);
      continue;
    }
    if (s.size() - i < 3) return std::nullopt;
    const int hi = HexDigit(s[i + 1]);
    const int lo = HexDigit(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::string FormatDouble(double v) {
  // Shortest text that reads back as the same double (C++17 to_chars
  // guarantee), independent of the locale.
  std::array<char, 64> buf;
  const auto result = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  return std::string(buf.data(), result.ptr);
}

std::string_view FormatBool(bool v) { return v ? "true" : "false"; }

std::string_view LayerKindName(LayerKind kind) {
  switch (kind) {
    case LayerKind::kLstm: return "lstm";
    case LayerKind::kRepeatVector: return "repeat_vector";
    case LayerKind::kDense: return "dense";
    case LayerKind::kBatchNorm: return "batch_normalization";
  }
  return "unknown";
}

std::optional<LayerKind> ParseLayerKind(std::string_view name) {
  for (const LayerKind kind : {LayerKind::kLstm, LayerKind::kRepeatVector, LayerKind::kDense,
                               LayerKind::kBatchNorm}) {
    if (LayerKindName(kind) == name) return kind;
  }
  return std::nullopt;
}

// Like the labels in architecture.cc, but escaped: the name comes from the file.
std::string LayerLabel(const Architecture& arch, size_t index) {
  const std::string& name = arch.layers[index].name;
  return "layer " + std::to_string(index) + " (" + (name.empty() ? "unnamed" : Escape(name)) + ")";
}

class HeaderWriter {
 public:
  void Add(std::string_view key, std::string_view value) {
    text_ += Escape(key);
    text_ += mf::kSeparatorByte;
    text_ += Escape(value);
    text_ += '\n';
  }
  void Add(std::string_view key, int value) { Add(key, std::to_string(value)); }
  void Add(std::string_view key, bool value) { Add(key, FormatBool(value)); }
  void Add(std::string_view key, double value) { Add(key, FormatDouble(value)); }
  void Add(std::string_view key, const char* value) { Add(key, std::string_view(value)); }

  std::string Take() { return std::move(text_); }

 private:
  std::string text_;
};

void AddLayer(const LayerSpec& layer, size_t index, HeaderWriter* w) {
  const std::string p = "layer." + std::to_string(index) + ".";
  w->Add(p + "kind", LayerKindName(layer.kind));
  w->Add(p + "name", layer.name);
  w->Add(p + "units", layer.units);
  w->Add(p + "repeat", layer.repeat);
  w->Add(p + "activation", ActivationName(layer.activation));
  w->Add(p + "recurrent_activation", ActivationName(layer.recurrent_activation));
  w->Add(p + "return_sequences", layer.return_sequences);
  w->Add(p + "go_backwards", layer.go_backwards);
  w->Add(p + "use_bias", layer.use_bias);
  w->Add(p + "time_distributed", layer.time_distributed);
  // Only for the kind that uses it, so files without one stay as they were.
  if (layer.kind == LayerKind::kBatchNorm) w->Add(p + "epsilon", layer.epsilon);
}

std::string EncodeHeader(const Model& model) {
  HeaderWriter w;
  const Architecture& arch = model.architecture;
  w.Add("timesteps", arch.timesteps);
  w.Add("features", arch.features);
  w.Add("layers", static_cast<int>(arch.layers.size()));
  for (size_t i = 0; i < arch.layers.size(); ++i) AddLayer(arch.layers[i], i, &w);
  for (size_t i = 0; i < model.feature_names.size(); ++i) {
    w.Add("feature." + std::to_string(i), model.feature_names[i]);
  }
  w.Add("scaler.kind", ScalerKindName(model.scaler.kind));
  for (size_t i = 0; i < model.scaler.offset.size(); ++i) {
    w.Add("scaler.offset." + std::to_string(i), model.scaler.offset[i]);
  }
  for (size_t i = 0; i < model.scaler.scale.size(); ++i) {
    w.Add("scaler.scale." + std::to_string(i), model.scaler.scale[i]);
  }
  w.Add("threshold", model.threshold);
  w.Add("threshold_spec", model.threshold_spec);
  w.Add("error.last_step_only", model.error_options.last_step_only);
  // Only when there are any, so a model without them is written as before
  // and a reader that predates the key still reads it.
  if (!model.time_features.empty()) w.Add("time_features", model.time_features.ToString());
  for (const auto& [key, value] : model.metadata) w.Add("metadata." + key, value);
  return w.Take();
}

std::string EncodeWeights(const Weights<float>& weights, const Architecture& arch) {
  std::string out;
  bytes::Put<uint32_t>(&out, static_cast<uint32_t>(weights.layers.size()));
  for (size_t i = 0; i < weights.layers.size(); ++i) {
    // Names come from the architecture when it agrees, so the file reads the
    // same as Keras' weight names; a mismatch is the caller's bug and the
    // reader will refuse the file.
    const std::vector<TensorShape> shapes =
        i < arch.layers.size() ? LayerTensorShapes(arch, i) : std::vector<TensorShape>{};
    const auto& tensors = weights.layers[i];
    bytes::Put<uint32_t>(&out, static_cast<uint32_t>(tensors.size()));
    for (size_t k = 0; k < tensors.size(); ++k) {
      const std::string name = k < shapes.size() ? shapes[k].name : "tensor_" + std::to_string(k);
      bytes::Put<uint32_t>(&out, static_cast<uint32_t>(name.size()));
      out += name;
      const Matrix<float>& t = tensors[k];
      bytes::Put<uint32_t>(&out, static_cast<uint32_t>(t.rows()));
      bytes::Put<uint32_t>(&out, static_cast<uint32_t>(t.cols()));
      // Row-major, Keras' layout; Eigen stores column-major, hence the loop.
      for (Eigen::Index r = 0; r < t.rows(); ++r) {
        for (Eigen::Index c = 0; c < t.cols(); ++c) bytes::Put<uint32_t>(&out, std::bit_cast<uint32_t>(t(r, c)));
      }
    }
  }
  return out;
}

void PutSection(std::string_view tag, std::string_view payload, std::string* out) {
  out->append(tag);
  bytes::Put<uint64_t>(out, payload.size());
  out->append(payload);
}

// ---------------------------------------------------------------------------
// Parsing the header text.

// The header's fields by key. Getters remove what they read, so whatever is
// left at the end is a key this version does not know.
class HeaderFields {
 public:
  static Result<HeaderFields> Parse(std::string_view text);

  Status GetString(const std::string& key, std::string* out);
  Status GetInt(const std::string& key, int min, int max, int* out);
  Status GetDouble(const std::string& key, double* out);
  Status GetBool(const std::string& key, bool* out);
  // An optional key: nullopt when absent.
  std::optional<std::string> TakeOptional(const std::string& key);
  // An enum spelled by name: `parse` returns nullopt for unknown names,
  // `what` describes the known ones for the error.
  template <typename E>
  Status GetEnum(const std::string& key, std::optional<E> (*parse)(std::string_view),
                 std::string_view what, E* out) {
    std::string v;
    LSTMAD_RETURN_IF_ERROR(Take(key, &v));
    const std::optional<E> parsed = parse(v);
    if (!parsed) return Invalid(key, v, what);
    *out = *parsed;
    return Status::Ok();
  }
  std::map<std::string, std::string> TakePrefixed(const std::string& prefix);
  Status CheckNoneLeft() const;

 private:
  Status Take(const std::string& key, std::string* value);
  static Status Invalid(const std::string& key, std::string_view value, std::string_view want) {
    return Status::Error("header key " + Quote(key) + ": " + Quote(value) + " is not " +
                         std::string(want));
  }

  std::map<std::string, std::string> fields_;
};

Result<HeaderFields> HeaderFields::Parse(std::string_view text) {
  HeaderFields h;
  size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const std::string where = "header line " + std::to_string(line_number);
    const size_t end = text.find('\n');
    if (end == std::string_view::npos) return Status::Error(where + " does not end with a newline");
    const std::string_view line = text.substr(0, end);
    text.remove_prefix(end + 1);
    const size_t eq = line.find(mf::kSeparatorByte);
    if (eq == std::string_view::npos) return Status::Error(where + " has no '='");
    std::optional<std::string> key = Unescape(line.substr(0, eq));
    std::optional<std::string> value = Unescape(line.substr(eq + 1));
    if (!key || !value) return Status::Error(where + " has a bad escape or a raw control byte");
    const auto [it, inserted] = h.fields_.emplace(std::move(*key), std::move(*value));
    if (!inserted) {
      return Status::Error(where + ": header key " + Quote(it->first) + " appears twice");
    }
  }
  return h;
}

Status HeaderFields::Take(const std::string& key, std::string* value) {
  const auto it = fields_.find(key);
  if (it == fields_.end()) return Status::Error("header key " + Quote(key) + " is missing");
  *value = std::move(it->second);
  fields_.erase(it);
  return Status::Ok();
}

Status HeaderFields::GetString(const std::string& key, std::string* out) { return Take(key, out); }

std::optional<std::string> HeaderFields::TakeOptional(const std::string& key) {
  const auto it = fields_.find(key);
  if (it == fields_.end()) return std::nullopt;
  std::string value = std::move(it->second);
  fields_.erase(it);
  return value;
}

Status HeaderFields::GetInt(const std::string& key, int min, int max, int* out) {
  std::string v;
  LSTMAD_RETURN_IF_ERROR(Take(key, &v));
  const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
  if (ec != std::errc() || ptr != v.data() + v.size() || *out < min || *out > max) {
    return Invalid(key, v,
                   "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  return Status::Ok();
}

Status HeaderFields::GetDouble(const std::string& key, double* out) {
  std::string v;
  LSTMAD_RETURN_IF_ERROR(Take(key, &v));
  const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
  if (ec != std::errc() || ptr != v.data() + v.size()) return Invalid(key, v, "a number");
  return Status::Ok();
}

Status HeaderFields::GetBool(const std::string& key, bool* out) {
  std::string v;
  LSTMAD_RETURN_IF_ERROR(Take(key, &v));
  if (v != "true" && v != "false") return Invalid(key, v, "true or false");
  *out = v == "true";
  return Status::Ok();
}

std::map<std::string, std::string> HeaderFields::TakePrefixed(const std::string& prefix) {
  std::map<std::string, std::string> taken;
  auto it = fields_.lower_bound(prefix);
  while (it != fields_.end() && it->first.starts_with(prefix)) {
    taken.emplace(it->first.substr(prefix.size()), std::move(it->second));
    it = fields_.erase(it);
  }
  return taken;
}

Status HeaderFields::CheckNoneLeft() const {
  if (fields_.empty()) return Status::Ok();
  return Status::Error("unknown header key " + Quote(fields_.begin()->first));
}

constexpr std::string_view kKnownLayerKind =
    "a known layer kind (lstm, repeat_vector, dense, batch_normalization)";
constexpr std::string_view kKnownActivation = "a known activation";

Status ParseLayer(size_t index, HeaderFields* h, LayerSpec* layer) {
  const std::string p = "layer." + std::to_string(index) + ".";
  LSTMAD_RETURN_IF_ERROR(h->GetEnum(p + "kind", ParseLayerKind, kKnownLayerKind, &layer->kind));
  LSTMAD_RETURN_IF_ERROR(h->GetString(p + "name", &layer->name));
  LSTMAD_RETURN_IF_ERROR(h->GetInt(p + "units", 0, mf::kMaxDimension, &layer->units));
  LSTMAD_RETURN_IF_ERROR(h->GetInt(p + "repeat", 0, mf::kMaxDimension, &layer->repeat));
  LSTMAD_RETURN_IF_ERROR(
      h->GetEnum(p + "activation", ParseActivation, kKnownActivation, &layer->activation));
  LSTMAD_RETURN_IF_ERROR(h->GetEnum(p + "recurrent_activation", ParseActivation, kKnownActivation,
                                    &layer->recurrent_activation));
  LSTMAD_RETURN_IF_ERROR(h->GetBool(p + "return_sequences", &layer->return_sequences));
  LSTMAD_RETURN_IF_ERROR(h->GetBool(p + "go_backwards", &layer->go_backwards));
  LSTMAD_RETURN_IF_ERROR(h->GetBool(p + "use_bias", &layer->use_bias));
  LSTMAD_RETURN_IF_ERROR(h->GetBool(p + "time_distributed", &layer->time_distributed));
  if (layer->kind != LayerKind::kBatchNorm) return Status::Ok();
  return h->GetDouble(p + "epsilon", &layer->epsilon);
}

Status ParseArchitecture(HeaderFields* h, Architecture* arch) {
  LSTMAD_RETURN_IF_ERROR(h->GetInt("timesteps", 1, mf::kMaxDimension, &arch->timesteps));
  LSTMAD_RETURN_IF_ERROR(h->GetInt("features", 1, mf::kMaxDimension, &arch->features));
  int layers = 0;
  LSTMAD_RETURN_IF_ERROR(h->GetInt("layers", 1, mf::kMaxLayers, &layers));
  arch->layers.resize(static_cast<size_t>(layers));
  for (size_t i = 0; i < arch->layers.size(); ++i) {
    LSTMAD_RETURN_IF_ERROR(ParseLayer(i, h, &arch->layers[i]));
  }
  // The weights reader relies on LayerTensorShapes, which needs a valid
  // architecture; Model::Validate repeats this later, cheaply.
  return ValidateArchitecture(*arch, /*require_autoencoder=*/true);
}

// `time_features` is optional: a file without it (every file written before
// it existed) has none. An unknown cycle refuses the file, as the inputs it
// needs could not be built.
Status ParseTimeFeatures(HeaderFields* h, Model* model) {
  const std::optional<std::string> value = h->TakeOptional("time_features");
  if (!value) return Status::Ok();
  Result<TimeFeatures> parsed = TimeFeatures::Parse(*value);
  if (!parsed.ok() || parsed->empty()) {
    return Status::Error("header key \"time_features\": " + Quote(*value) +
                         " is not a list of known time cycles (daily, weekly; each once)");
  }
  model->time_features = std::move(*parsed);
  if (model->time_features.inputs() >= model->architecture.features) {
    return Status::Error("header key \"time_features\": " + std::to_string(model->time_features.inputs()) +
                         " time inputs leave no series feature of the " +
                         std::to_string(model->architecture.features) + " inputs");
  }
  return Status::Ok();
}

// Per-feature fields: `features` is bounded by kMaxDimension and a missing
// key stops the loop, so a huge count costs one failed lookup, not memory.
Status ParsePerFeature(HeaderFields* h, int features, Model* model) {
  const auto n = static_cast<size_t>(features);
  for (size_t i = 0; i < n; ++i) {
    std::string name;
    LSTMAD_RETURN_IF_ERROR(h->GetString("feature." + std::to_string(i), &name));
    model->feature_names.push_back(std::move(name));
  }
  LSTMAD_RETURN_IF_ERROR(h->GetEnum("scaler.kind", ParseScalerKind,
                                    "a known scaler kind (none, standard, minmax)",
                                    &model->scaler.kind));
  for (size_t i = 0; i < n; ++i) {
    double v = 0;
    LSTMAD_RETURN_IF_ERROR(h->GetDouble("scaler.offset." + std::to_string(i), &v));
    model->scaler.offset.push_back(v);
  }
  for (size_t i = 0; i < n; ++i) {
    double v = 0;
    LSTMAD_RETURN_IF_ERROR(h->GetDouble("scaler.scale." + std::to_string(i), &v));
    model->scaler.scale.push_back(v);
  }
  return Status::Ok();
}

Status ParseHeader(std::string_view text, Model* model) {
  Result<HeaderFields> parsed = HeaderFields::Parse(text);
  if (!parsed.ok()) return parsed.status();
  HeaderFields& h = *parsed;
  LSTMAD_RETURN_IF_ERROR(ParseArchitecture(&h, &model->architecture));
  LSTMAD_RETURN_IF_ERROR(ParseTimeFeatures(&h, model));
  LSTMAD_RETURN_IF_ERROR(
      ParsePerFeature(&h, model->architecture.features - model->time_features.inputs(), model));
  LSTMAD_RETURN_IF_ERROR(h.GetDouble("threshold", &model->threshold));
  LSTMAD_RETURN_IF_ERROR(h.GetString("threshold_spec", &model->threshold_spec));
  LSTMAD_RETURN_IF_ERROR(h.GetBool("error.last_step_only", &model->error_options.last_step_only));
  model->SetTimeFeatures(model->time_features);  // derives error_options.scored_features
  model->metadata = h.TakePrefixed("metadata.");
  return h.CheckNoneLeft();
}

// ---------------------------------------------------------------------------
// Parsing the weights.

Status ParseTensor(const std::string& label, const TensorShape& want, Reader* r,
                   Matrix<float>* out) {
  const Status cut_short = Status::Error(label + ": the " + want.name + " tensor is cut short");
  uint32_t name_size = 0;
  std::string_view name;
  if (!r->ReadU32(&name_size)) return cut_short;
  if (name_size > mf::kMaxTensorNameSize || !r->ReadBytes(name_size, &name)) {
    return Status::Error(label + ": bad tensor name where " + want.name + " was expected");
  }
  if (name != want.name) {
    return Status::Error(label + ": tensor " + Quote(name) + " where " + want.name +
                         " was expected");
  }
  uint32_t rows = 0, cols = 0;
  if (!r->ReadU32(&rows) || !r->ReadU32(&cols)) return cut_short;
  if (rows != static_cast<uint32_t>(want.rows) || cols != static_cast<uint32_t>(want.cols)) {
    return Status::Error(label + ": " + want.name + " has shape [" + std::to_string(rows) + ", " +
                         std::to_string(cols) + "], the architecture needs [" +
                         std::to_string(want.rows) + ", " + std::to_string(want.cols) + "]");
  }
  // The architecture bounds the shape only loosely (2^42 floats): check the
  // data is really there before allocating for it.
  const uint64_t count = uint64_t{rows} * cols;
  if (count > r->remaining() / sizeof(float)) return cut_short;
  out->resize(want.rows, want.cols);
  for (Eigen::Index i = 0; i < out->rows(); ++i) {
    for (Eigen::Index j = 0; j < out->cols(); ++j) {
      uint32_t bits = 0;
      r->ReadU32(&bits);  // cannot fail: checked above
      (*out)(i, j) = std::bit_cast<float>(bits);
    }
  }
  if (!out->allFinite()) return Status::Error(label + ": " + want.name + " has non-finite values");
  return Status::Ok();
}

Status ParseWeights(std::string_view payload, const Architecture& arch, Weights<float>* weights) {
  Reader r(payload);
  uint32_t layer_count = 0;
  if (!r.ReadU32(&layer_count)) return Status::Error("the weights section is cut short");
  if (layer_count != arch.layers.size()) {
    return Status::Error("the weights section has " + std::to_string(layer_count) +
                         " layers, the architecture has " + std::to_string(arch.layers.size()));
  }
  weights->layers.resize(arch.layers.size());
  for (size_t i = 0; i < arch.layers.size(); ++i) {
    const std::string label = LayerLabel(arch, i);
    const std::vector<TensorShape> shapes = LayerTensorShapes(arch, i);
    uint32_t tensor_count = 0;
    if (!r.ReadU32(&tensor_count)) return Status::Error(label + ": weights cut short");
    if (tensor_count != shapes.size()) {
      return Status::Error(label + ": " + std::to_string(tensor_count) +
                           " weight tensors, the architecture needs " +
                           std::to_string(shapes.size()));
    }
    weights->layers[i].resize(shapes.size());
    for (size_t k = 0; k < shapes.size(); ++k) {
      LSTMAD_RETURN_IF_ERROR(ParseTensor(label, shapes[k], &r, &weights->layers[i][k]));
    }
  }
  if (r.remaining() != 0) {
    return Status::Error("the weights section has " + std::to_string(r.remaining()) +
                         " bytes after the last tensor");
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// The frame: magic, version, size, checksum, sections.

struct Sections {
  std::optional<std::string_view> header;
  std::optional<std::string_view> weights;
};

std::string Hex32(uint32_t v) {
  std::array<char, 16> buf;
  const int n = std::snprintf(buf.data(), buf.size(), "0x%08X", static_cast<unsigned>(v));
  return std::string(buf.data(), static_cast<size_t>(n));
}

// The fixed header (magic, version, file size) of a file of `file_size`
// bytes; `head` is its first kFixedHeaderSize bytes, or all of a shorter file.
// Here and in CheckFrame the checks run in this order so each kind of damage
// gets its own message: a file cut short is reported as truncated rather than
// as a checksum mismatch.
Status CheckFixedHeader(std::string_view head, uint64_t file_size) {
  if (file_size == 0) return Status::Error("the file is empty");
  const size_t magic_size = std::min(head.size(), mf::kMagic.size());
  if (head.substr(0, magic_size) != mf::kMagic.substr(0, magic_size)) {
    return Status::Error("not an lstmad model file (no LSTMADMF magic)");
  }
  if (head.size() >= mf::kVersionOffset + 4) {
    const auto version = bytes::GetAt<uint32_t>(head, mf::kVersionOffset);
    if (version != mf::kVersion) {
      return Status::Error("unsupported model file version " + std::to_string(version) +
                           " (this build reads version " + std::to_string(mf::kVersion) + ")");
    }
  }
  if (file_size < mf::kMinFileSize) {
    return Status::Error("truncated: " + std::to_string(file_size) + " bytes, a model file has at least " +
                         std::to_string(mf::kMinFileSize));
  }
  if (head.size() < mf::kFixedHeaderSize) {  // the file shrank after its size was taken
    return Status::Error("truncated: " + std::to_string(head.size()) + " bytes read of " +
                         std::to_string(file_size));
  }
  const uint64_t declared = bytes::GetAt<uint64_t>(head, mf::kFileSizeOffset);
  if (declared != file_size) {
    return Status::Error((declared > file_size ? "truncated: " : "corrupt: ") + std::to_string(file_size) +
                         " bytes, the file header says " + std::to_string(declared));
  }
  return Status::Ok();
}

Status CheckFrame(std::string_view bytes) {
  LSTMAD_RETURN_IF_ERROR(CheckFixedHeader(bytes.substr(0, mf::kFixedHeaderSize), bytes.size()));
  const size_t body_end = bytes.size() - mf::kTrailerSize;
  const auto stored = bytes::GetAt<uint32_t>(bytes, body_end);
  const uint32_t computed = mf::Crc32c(bytes.substr(0, body_end));
  if (stored != computed) {
    return Status::Error("corrupt: checksum mismatch (stored " + Hex32(stored) + ", computed " +
                         Hex32(computed) + ")");
  }
  return Status::Ok();
}

bool IsValidTag(std::string_view tag) {
  return std::all_of(tag.begin(), tag.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
  });
}

Status StoreSection(std::string_view tag, std::string_view payload, Sections* sections) {
  std::optional<std::string_view>* slot = nullptr;
  if (tag == mf::kHeaderTag) slot = &sections->header;
  if (tag == mf::kWeightsTag) slot = &sections->weights;
  if (slot == nullptr) {
    if (tag[0] >= 'a' && tag[0] <= 'z') return Status::Ok();  // ancillary: skip
    return Status::Error("unsupported section " + std::string(tag) +
                         " (written by a newer lstmad?)");
  }
  if (slot->has_value()) return Status::Error("section " + std::string(tag) + " appears twice");
  *slot = payload;
  return Status::Ok();
}

Result<Sections> SplitSections(std::string_view bytes) {
  const std::string_view body =
      bytes.substr(mf::kFixedHeaderSize, bytes.size() - mf::kFixedHeaderSize - mf::kTrailerSize);
  Reader r(body);
  Sections sections;
  while (r.remaining() > 0) {
    const std::string at = " at offset " + std::to_string(mf::kFixedHeaderSize + r.position());
    std::string_view tag, payload;
    uint64_t size = 0;
    if (!r.ReadBytes(mf::kTagSize, &tag) || !r.ReadU64(&size)) {
      return Status::Error("section header" + at + " is cut short");
    }
    if (!IsValidTag(tag)) return Status::Error("bad section tag " + Quote(tag) + at);
    if (!r.ReadBytes(size, &payload)) {
      return Status::Error("section " + std::string(tag) + at + " claims " + std::to_string(size) +
                           " bytes, only " + std::to_string(r.remaining()) + " remain");
    }
    LSTMAD_RETURN_IF_ERROR(StoreSection(tag, payload, &sections));
  }
  if (!sections.header) return Status::Error("no " + std::string(mf::kHeaderTag) + " section");
  if (!sections.weights) return Status::Error("no " + std::string(mf::kWeightsTag) + " section");
  return sections;
}

}  // namespace

std::string SerializeModel(const Model& model) {
  std::string out(mf::kMagic);
  bytes::Put<uint32_t>(&out, mf::kVersion);
  bytes::Put<uint64_t>(&out, 0);  // file size, patched below once known
  PutSection(mf::kHeaderTag, EncodeHeader(model), &out);
  PutSection(mf::kWeightsTag, EncodeWeights(model.weights, model.architecture), &out);
  const uint64_t size = out.size() + mf::kTrailerSize;
  for (size_t i = 0; i < 8; ++i) {
    out[mf::kFileSizeOffset + i] = static_cast<char>((size >> (8 * i)) & 0xFFu);
  }
  bytes::Put<uint32_t>(&out, mf::Crc32c(out));
  return out;
}

uint32_t ModelFingerprint(const Model& model) {
  // Only what decides the errors: a copy of the header fields without the
  // threshold and the metadata, then every tensor's shape and values, read
  // in place. (No encoded copy of the weights: a daemon fingerprints each
  // model it loads, and a large temporary freed on the loading thread makes
  // glibc shrink that thread's heap, for which it reads
  // /proc/sys/vm/overcommit_memory, outside the sandbox's ProcSubset=pid.)
  Model decides;
  decides.architecture = model.architecture;
  decides.feature_names = model.feature_names;
  decides.scaler = model.scaler;
  decides.time_features = model.time_features;
  decides.error_options = model.error_options;
  uint32_t crc = Crc32c(EncodeHeader(decides));
  for (const auto& layer : model.weights.layers) {
    for (const Matrix<float>& t : layer) {
      const uint32_t shape[2] = {static_cast<uint32_t>(t.rows()), static_cast<uint32_t>(t.cols())};
      crc = Crc32cExtend(crc, std::string_view(reinterpret_cast<const char*>(shape), sizeof(shape)));
      crc = Crc32cExtend(crc, std::string_view(reinterpret_cast<const char*>(t.data()),
                                               static_cast<size_t>(t.size()) * sizeof(float)));
    }
  }
  return crc;
}

std::string FingerprintText(uint32_t fingerprint) {
  char text[9];
  std::snprintf(text, sizeof(text), "%08x", fingerprint);
  return text;
}

Result<Model> ParseModel(std::string_view bytes, const std::string& source) {
  LSTMAD_RETURN_IF_ERROR(CheckFrame(bytes).WithContext(source));
  Result<Sections> sections = SplitSections(bytes);
  if (!sections.ok()) return sections.status().WithContext(source);
  Model model;
  LSTMAD_RETURN_IF_ERROR(ParseHeader(*sections->header, &model).WithContext(source));
  LSTMAD_RETURN_IF_ERROR(ParseWeights(*sections->weights, model.architecture, &model.weights)
                             .WithContext(source + ": weights"));
  LSTMAD_RETURN_IF_ERROR(model.Validate().WithContext(source));
  return model;
}

Status SaveModel(const Model& model, const std::string& path) {
  // A model the reader would refuse is not worth writing over a good one.
  LSTMAD_RETURN_IF_ERROR(
      model.Validate().WithContext(path + ": refusing to save an invalid model"));
  return WriteFileAtomically(path, SerializeModel(model));
}

Result<Model> LoadModel(const std::string& path) {
  // The fixed header first: a file that is not a model file, or whose size is
  // not the one its header declares, is refused after reading 20 bytes rather
  // than after reading (and allocating for) up to kMaxFileBytes. The bound
  // still holds for a file that grows meanwhile; devices are refused by both.
  Result<FilePrefix> head = ReadFilePrefix(path, mf::kFixedHeaderSize);
  if (!head.ok()) return head.status();
  LSTMAD_RETURN_IF_ERROR(CheckFixedHeader(head->bytes, head->file_size).WithContext(path));
  Result<std::string> bytes = ReadFileBounded(path, mf::kMaxFileBytes);
  if (!bytes.ok()) return bytes.status();
  return ParseModel(*bytes, path);
}

}  // namespace lstmad::core
