#include "remote_write_settings.h"

#include <algorithm>

#include "lstmad/core/text.h"
#include "nats_settings.h"
#include "schema_keys.h"

namespace lstmad::config::detail {
namespace {

using core::Status;

bool IsNameStart(char c, bool metric) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (metric && c == ':');
}
bool IsNameChar(char c, bool metric) { return IsNameStart(c, metric) || (c >= '0' && c <= '9'); }

// Reads a Prometheus metric or label name at `*pos`.
bool ReadName(std::string_view text, size_t* pos, bool metric, std::string* out) {
  const size_t start = *pos;
  if (start >= text.size() || !IsNameStart(text[start], metric)) return false;
  size_t end = start + 1;
  while (end < text.size() && IsNameChar(text[end], metric)) ++end;
  *out = std::string(text.substr(start, end - start));
  *pos = end;
  return true;
}

void SkipSpaces(std::string_view text, size_t* pos) {
  while (*pos < text.size() && (text[*pos] == ' ' || text[*pos] == '\t')) ++(*pos);
}

// A "double" or 'single' quoted string with PromQL's common escapes.
bool ReadQuoted(std::string_view text, size_t* pos, std::string* out, std::string* error) {
  const char quote = text[*pos];
  out->clear();
  for (size_t i = *pos + 1; i < text.size(); ++i) {
    const char c = text[i];
    if (c == quote) {
      *pos = i + 1;
      return true;
    }
    if (c != '\\') {
      out->push_back(c);
      continue;
    }
    if (++i == text.size()) break;
    switch (text[i]) {
      case '\\': out->push_back('\\'); break;
      case '"': out->push_back('"'); break;
      case '\'': out->push_back('\''); break;
      case 'n': out->push_back('\n'); break;
      case 't': out->push_back('\t'); break;
      default:
        *error = "unknown escape \\" + std::string(1, text[i]) + " at column " + std::to_string(i);
        return false;
    }
  }
  *error = "unterminated quoted value starting at column " + std::to_string(*pos + 1);
  return false;
}

}  // namespace

bool ParseSeriesSelector(std::string_view text, SeriesSelector* out, std::string* error) {
  *out = SeriesSelector{};
  out->text = std::string(text);
  size_t pos = 0;
  SkipSpaces(text, &pos);
  if (!ReadName(text, &pos, true, &out->metric)) {
    *error = "expected a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) at column " + std::to_string(pos + 1);
    return false;
  }
  SkipSpaces(text, &pos);
  if (pos < text.size() && text[pos] == '{') {
    ++pos;
    while (true) {
      SkipSpaces(text, &pos);
      if (pos < text.size() && text[pos] == '}') {
        ++pos;
        break;
      }
      LabelMatcher m;
      if (!ReadName(text, &pos, false, &m.name)) {
        *error = "expected a label name or '}' at column " + std::to_string(pos + 1);
        return false;
      }
      if (m.name == "__name__") {
        *error = "select the metric by its name before '{', not by __name__";
        return false;
      }
      SkipSpaces(text, &pos);
      if (text.substr(pos, 2) == "=~" || text.substr(pos, 2) == "!~") {
        *error = "regular-expression matchers (=~, !~) are not supported; use = or !=";
        return false;
      }
      if (text.substr(pos, 2) == "!=") {
        m.equal = false;
        pos += 2;
      } else if (text.substr(pos, 1) == "=") {
        pos += 1;
      } else {
        *error = "expected = or != after label " + m.name + " at column " + std::to_string(pos + 1);
        return false;
      }
      SkipSpaces(text, &pos);
      if (pos >= text.size() || (text[pos] != '"' && text[pos] != '\'')) {
        *error = "expected a quoted value for label " + m.name + " at column " + std::to_string(pos + 1);
        return false;
      }
      if (!ReadQuoted(text, &pos, &m.value, error)) return false;
      if (std::any_of(out->matchers.begin(), out->matchers.end(),
                      [&](const LabelMatcher& o) { return o.name == m.name; })) {
        *error = "label " + m.name + " is matched twice";
        return false;
      }
      out->matchers.push_back(std::move(m));
      SkipSpaces(text, &pos);
      if (pos < text.size() && text[pos] == ',') {
        ++pos;
        continue;
      }
      if (pos < text.size() && text[pos] == '}') {
        ++pos;
        break;
      }
      *error = "expected ',' or '}' at column " + std::to_string(pos + 1);
      return false;
    }
  }
  SkipSpaces(text, &pos);
  if (pos != text.size()) {
    *error = "unexpected text at column " + std::to_string(pos + 1);
    return false;
  }
  return true;
}

Status ParseModelRemoteWrite(const Reader& r, const Field& f, ModelRemoteWrite* out) {
  const Status parsed = r.ForEachField(f, keys::kModelRemoteWrite, [&](std::string_view key, const Field& v) {
    if (key == "features") {
      return r.ForEachField(v, {}, [&](std::string_view feature, const Field& s) {
        if (feature.empty()) return r.Error(s, "a feature name must not be empty");
        std::string text, error;
        LSTMAD_RETURN_IF_ERROR(r.ReadString(s, &text));
        SeriesSelector selector;
        if (!ParseSeriesSelector(text, &selector, &error)) {
          return r.Error(s, "invalid series selector " + core::Quote(text) + ": " + error);
        }
        out->features.emplace_back(std::string(feature), std::move(selector));
        return Status::Ok();
      });
    }
    return r.ForEachItem(v, [&](size_t, const Field& item) {
      std::string name;
      LSTMAD_RETURN_IF_ERROR(r.ReadString(item, &name));
      size_t pos = 0;
      std::string checked;
      if (!ReadName(name, &pos, false, &checked) || pos != name.size() || name == "__name__") {
        return r.Error(
            item, "expected a label name ([a-zA-Z_][a-zA-Z0-9_]*, not __name__), got " + core::Quote(name));
      }
      if (std::find(out->stream_labels.begin(), out->stream_labels.end(), name) != out->stream_labels.end()) {
        return r.Error(item, "label " + name + " is listed twice");
      }
      out->stream_labels.push_back(name);
      return Status::Ok();
    });
  });
  if (!parsed.ok()) return parsed;
  if (out->features.empty()) return r.Error(f, "features: at least one feature's selector is required");
  return Status::Ok();
}

Status ParseRemoteWrite(const Reader& r, const Field& f, RemoteWriteSettings* out) {
  return r.ForEachField(f, keys::kRemoteWrite, [&](std::string_view key, const Field& v) {
    if (key == "max_body_bytes") return r.ReadInt(v, 1024, 1 << 30, &out->max_body_bytes);
    if (key == "max_uncompressed_bytes") return r.ReadInt(v, 1024, 1 << 30, &out->max_uncompressed_bytes);
    if (key == "max_series_per_request") return r.ReadInt(v, 1, 10'000'000, &out->max_series_per_request);
    if (key == "max_pending_timestamps") return r.ReadInt(v, 1, 1024, &out->max_pending_timestamps);
    return ReadDuration(r, v, 0, 86400, &out->max_delay_s);
  });
}

}  // namespace lstmad::config::detail
