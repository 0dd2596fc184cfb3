// Internal: the JSON reader for Keras' model configs (config.json,
// metadata.json, the `model_config` attribute). RFC 8259, parsed by
// nlohmann::json's SAX parser, plus the tokens Python's json.dumps writes for
// non-finite floats (NaN, Infinity, -Infinity); a number too large for a
// double reads as +-infinity, as in Python. Strings must be valid UTF-8 and
// surrogate escapes paired (nlohmann's rules); a leading UTF-8 BOM is skipped.
//
// Input is untrusted: at most kMaxDepth arrays and objects may be open at
// once, nothing is read past the end, and every error names the line and
// column (1-based, in bytes) of the byte where reading stopped: the last byte
// of the offending token, or just past the text when it ended too soon.
// A parsed Value owns its children; a value type with no thread affinity.
// Parse is reentrant.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lstmad/core/status.h"

namespace lstmad::keras::json {

inline constexpr int kMaxDepth = 128;  // Keras configs nest about 10 deep

class Value {
 public:
  enum class Type { kNull, kBool, kNumber, kString, kArray, kObject };

  Value() = default;  // null

  Type type() const { return type_; }
  bool is_null() const { return type_ == Type::kNull; }
  bool is_bool() const { return type_ == Type::kBool; }
  bool is_number() const { return type_ == Type::kNumber; }
  bool is_string() const { return type_ == Type::kString; }
  bool is_array() const { return type_ == Type::kArray; }
  bool is_object() const { return type_ == Type::kObject; }

  // Each accessor is meaningful only for its own type (a default otherwise).
  bool boolean() const { return boolean_; }
  double number() const { return number_; }
  const std::string& string() const { return string_; }
  const std::vector<Value>& array() const { return array_; }
  const std::vector<std::pair<std::string, Value>>& object() const { return object_; }

  // The member named `key` of an object (the last one, as Python keeps, when
  // a key repeats); nullptr when absent or when this is not an object.
  const Value* Find(std::string_view key) const;

  static Value Null() { return Value(Type::kNull); }
  static Value Bool(bool b);
  static Value Number(double n);
  static Value String(std::string s);
  static Value Array(std::vector<Value> items);
  static Value Object(std::vector<std::pair<std::string, Value>> members);

 private:
  explicit Value(Type type) : type_(type) {}

  Type type_ = Type::kNull;
  bool boolean_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<Value> array_;
  std::vector<std::pair<std::string, Value>> object_;
};

// Parses one JSON text (surrounding whitespace allowed, nothing else).
core::Result<Value> Parse(std::string_view text);

// The name of a type for error messages ("an object", "a string", ...).
std::string_view TypeName(Value::Type type);

}  // namespace lstmad::keras::json
