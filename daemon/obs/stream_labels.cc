#include "obs/stream_labels.h"

#include <algorithm>

namespace lstmad::daemon {
namespace {

bool IsLabelChar(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

// Reads up to an unescaped `stop` (or the end), unescaping; returns where it stopped.
size_t ReadEscaped(std::string_view key, size_t at, std::string_view stops, std::string* out) {
  out->clear();
  while (at < key.size() && stops.find(key[at]) == std::string_view::npos) {
    if (key[at] == '\\' && at + 1 < key.size()) ++at;
    out->push_back(key[at++]);
  }
  return at;
}

}  // namespace

LabelPairs TagsOfStreamKey(std::string_view key) {
  LabelPairs tags;
  std::string measurement, name, value;
  size_t at = ReadEscaped(key, 0, ",", &measurement);
  while (at < key.size() && key[at] == ',') {
    at = ReadEscaped(key, at + 1, "=,", &name);
    if (at >= key.size() || key[at] != '=') break;  // not a series key the ingest built
    at = ReadEscaped(key, at + 1, ",", &value);
    tags.emplace_back(name, value);
  }
  return tags;
}

std::string SanitizeLabelName(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 1);
  if (name.empty() || !IsLabelChar(name.front(), true)) out.push_back('_');
  for (char c : name) out.push_back(IsLabelChar(c, false) ? c : '_');
  return out;
}

LabelPairs StreamLabels(LabelPairs fixed, std::string_view key) {
  auto taken = [&fixed](const std::string& name) {
    return name.starts_with("__") ||
           std::any_of(fixed.begin(), fixed.end(), [&](const auto& label) { return label.first == name; });
  };
  for (auto& [tag, value] : TagsOfStreamKey(key)) {
    std::string name = SanitizeLabelName(tag);
    while (taken(name)) name = "exported_" + name;
    fixed.emplace_back(std::move(name), std::move(value));
  }
  return fixed;
}

}  // namespace lstmad::daemon
