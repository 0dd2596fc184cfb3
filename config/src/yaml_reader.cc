#include "yaml_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "lstmad/core/suggest.h"
#include "lstmad/core/text.h"
#include "endpoint_parse.h"

namespace lstmad::config::detail {
namespace {

// yaml-cpp tags: "?" on plain scalars, "!" on quoted ones, the full name on
// explicit tags (`!!int 5`).
constexpr std::string_view kPlainTag = "?";
constexpr std::string_view kIntTag = "tag:yaml.org,2002:int";
constexpr std::string_view kFloatTag = "tag:yaml.org,2002:float";

int LineOf(const YAML::Node& node, int fallback) {
  const YAML::Mark mark = node.Mark();
  // Null values are marked at the token after them, often on a later line.
  if (node.IsNull() || mark.is_null() || mark.line < 0) return fallback;
  return mark.line + 1;
}

std::string Join(std::span<const std::string_view> names) {
  std::string out;
  for (const std::string_view name : names) out += (out.empty() ? "" : ", ") + std::string(name);
  return out;
}

template <typename T>
std::string RangeText(T min, T max) {
  const auto text = [](T v) {
    if constexpr (std::is_floating_point_v<T>) {
      char buf[32];
      const auto result = std::to_chars(buf, buf + sizeof buf, v);
      return std::string(buf, result.ptr);
    } else {
      return std::to_string(v);
    }
  };
  bool unbounded = max == std::numeric_limits<T>::max();
  if constexpr (std::is_floating_point_v<T>) unbounded = unbounded || std::isinf(max);
  if (unbounded) return "must be >= " + text(min);
  return "must be from " + text(min) + " to " + text(max);
}

// YAML allows a leading '+'; from_chars does not.
std::string_view StripPlus(std::string_view text) {
  if (text.size() > 1 && text.front() == '+' && text[1] != '-') text.remove_prefix(1);
  return text;
}

}  // namespace

std::string JoinPath(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Scalar: break;
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: return "nothing";
  }
  constexpr size_t kMaxShown = 60;
  return core::Quote(node.Scalar(), kMaxShown);
}

core::Status Reader::Error(int line, const std::string& path, const std::string& what) const {
  std::string message = source_ + ":" + std::to_string(line) + ": ";
  if (!path.empty()) message += path + ": ";
  return core::Status::Error(message + what);
}

core::Status Reader::ForEachField(const Field& map, std::span<const std::string_view> keys,
                                  const FieldFn& fn) const {
  if (map.node.IsNull()) return core::Status::Ok();
  if (!map.node.IsMap()) return Error(map, "expected a map, got " + Describe(map.node));
  std::vector<std::pair<std::string, int>> seen;  // key, line
  for (const auto& entry : map.node) {
    const YAML::Node& key = entry.first;
    const int line = LineOf(key, map.line);
    if (!key.IsScalar()) {
      return Error(line, map.path, "keys must be names, got " + Describe(key));
    }
    const std::string& name = key.Scalar();
    const std::string path = JoinPath(map.path, name);
    if (!keys.empty() && std::find(keys.begin(), keys.end(), name) == keys.end()) {
      const std::optional<std::string> meant =
          core::ClosestMatch(name, std::vector<std::string>(keys.begin(), keys.end()));
      return Error(line, path,
                   std::string("unknown key") + (meant ? ", did you mean \"" + *meant + "\"?" : "") +
                       " (expected one of: " + Join(keys) + ")");
    }
    const auto first = std::find_if(seen.begin(), seen.end(),
                                    [&](const auto& s) { return s.first == name; });
    if (first != seen.end()) {
      return Error(line, path, "duplicate key (first at line " + std::to_string(first->second) + ")");
    }
    seen.emplace_back(name, line);
    LSTMAD_RETURN_IF_ERROR(fn(name, Field{entry.second, line, path}));
  }
  return core::Status::Ok();
}

core::Status Reader::ForEachItem(const Field& list, const ItemFn& fn) const {
  if (list.node.IsNull()) return core::Status::Ok();
  if (!list.node.IsSequence()) return Error(list, "expected a list, got " + Describe(list.node));
  size_t index = 0;
  for (const YAML::Node& item : list.node) {
    const Field field{item, LineOf(item, list.line), list.path + "[" + std::to_string(index) + "]"};
    LSTMAD_RETURN_IF_ERROR(fn(index, field));
    ++index;
  }
  return core::Status::Ok();
}

core::Status Reader::ReadString(const Field& f, std::string* out) const {
  if (!f.node.IsScalar()) return Error(f, "expected a string, got " + Describe(f.node));
  *out = f.node.Scalar();
  return core::Status::Ok();
}

core::Status Reader::PlainScalar(const Field& f, std::string_view what, std::string* out) const {
  if (!f.node.IsScalar()) {
    return Error(f, "expected " + std::string(what) + ", got " + Describe(f.node));
  }
  const std::string& tag = f.node.Tag();
  if (tag != kPlainTag && tag != kIntTag && tag != kFloatTag) {
    return Error(f, "expected " + std::string(what) + ", got the string " + Describe(f.node) +
                        " (write numbers without quotes)");
  }
  *out = f.node.Scalar();
  return core::Status::Ok();
}

core::Status Reader::ReadInt(const Field& f, int min, int max, int* out) const {
  std::string scalar;
  LSTMAD_RETURN_IF_ERROR(PlainScalar(f, "an integer", &scalar));
  const std::string_view text = StripPlus(scalar);
  long long value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ptr != end || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    return Error(f, "expected an integer, got " + Describe(f.node));
  }
  if (ec == std::errc::result_out_of_range || value < min || value > max) {
    return Error(f, RangeText(min, max) + ", got " + scalar);
  }
  *out = static_cast<int>(value);
  return core::Status::Ok();
}

core::Status Reader::ReadDouble(const Field& f, double min, double max, double* out) const {
  std::string scalar;
  LSTMAD_RETURN_IF_ERROR(PlainScalar(f, "a number", &scalar));
  const std::string_view text = StripPlus(scalar);
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ptr != end || ec != std::errc() || !std::isfinite(value)) {
    return Error(f, "expected a finite number, got " + Describe(f.node));
  }
  if (value < min || value > max) return Error(f, RangeText(min, max) + ", got " + scalar);
  *out = value;
  return core::Status::Ok();
}

core::Status Reader::ReadEndpoint(const Field& f, Endpoint* out) const {
  if (!f.node.IsScalar()) {
    // An unquoted "[::1]:7878" is YAML flow syntax, hence the hint.
    return Error(f, "expected HOST:PORT (quote IPv6 endpoints: \"[::1]:7878\"), got " +
                        Describe(f.node));
  }
  core::Result<Endpoint> endpoint = ParseEndpoint(f.node.Scalar());
  if (!endpoint.ok()) return Error(f, endpoint.status().message());
  *out = std::move(endpoint).value();
  return core::Status::Ok();
}

}  // namespace lstmad::config::detail
