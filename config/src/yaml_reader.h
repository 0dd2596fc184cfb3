// Reader: typed access to a yaml-cpp document for settings.cc. Every problem
// becomes a Status "SOURCE:LINE: KEY.PATH: what", so parsers of sections only
// say what they expect. Private to lstmad::config: yaml-cpp stays out of the
// public headers. Stateless apart from the source name; no thread affinity.
#pragma once

#include <functional>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include <yaml-cpp/yaml.h>

#include "lstmad/config/settings.h"
#include "lstmad/core/status.h"

namespace lstmad::config::detail {

// A value and where to blame it. `line` is 1-based; for map entries it is the
// key's line, because yaml-cpp marks an empty (null) value at the next token.
struct Field {
  YAML::Node node;
  int line = 1;
  std::string path;  // "models[1].alert.for"; empty for the document root
};

// `path.key`, or `key` at the root.
std::string JoinPath(const std::string& path, std::string_view key);

// How a node reads in "got ..." messages: `"text"`, `a list`, `a map`, `nothing`.
std::string Describe(const YAML::Node& node);

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  core::Status Error(int line, const std::string& path, const std::string& what) const;
  core::Status Error(const Field& at, const std::string& what) const {
    return Error(at.line, at.path, what);
  }

  using FieldFn = std::function<core::Status(std::string_view key, const Field& value)>;
  using ItemFn = std::function<core::Status(size_t index, const Field& item)>;

  // Calls `fn` for each entry of the map in file order; stops at the first
  // error. Null counts as an empty map. Keys outside `keys` (when `keys` is
  // not empty: an empty list accepts any name), duplicate keys and
  // non-scalar keys are errors.
  core::Status ForEachField(const Field& map, std::span<const std::string_view> keys,
                            const FieldFn& fn) const;
  // Calls `fn` for each element of the list; null counts as an empty list.
  core::Status ForEachItem(const Field& list, const ItemFn& fn) const;

  // Any scalar, quoted or not.
  core::Status ReadString(const Field& f, std::string* out) const;
  // A plain decimal integer in [min, max]; "0x10" and quoted numbers are errors.
  core::Status ReadInt(const Field& f, int min, int max, int* out) const;
  // A plain finite number in [min, max].
  core::Status ReadDouble(const Field& f, double min, double max, double* out) const;
  // "host:port" or "[v6-host]:port".
  core::Status ReadEndpoint(const Field& f, Endpoint* out) const;

  template <typename T>
  core::Status ReadEnum(const Field& f, std::span<const std::pair<std::string_view, T>> names,
                        T* out) const {
    std::string text;
    LSTMAD_RETURN_IF_ERROR(ReadString(f, &text));
    std::string expected;
    for (const auto& [name, value] : names) {
      if (name == text) {
        *out = value;
        return core::Status::Ok();
      }
      expected += (expected.empty() ? "" : ", ") + std::string(name);
    }
    return Error(f, "expected one of " + expected + "; got " + Describe(f.node));
  }

 private:
  // The scalar text of a plain (unquoted, untagged) scalar, or an error
  // naming `what` was expected.
  core::Status PlainScalar(const Field& f, std::string_view what, std::string* out) const;

  std::string source_;
};

}  // namespace lstmad::config::detail
