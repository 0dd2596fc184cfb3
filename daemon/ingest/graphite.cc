#include "ingest/graphite.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "lstmad/core/text.h"

namespace lstmad::daemon {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// The next token of `line` from `*pos` (blanks skipped before it); empty at the end.
std::string_view NextToken(std::string_view line, size_t* pos) {
  while (*pos < line.size() && IsBlank(line[*pos])) ++*pos;
  const size_t begin = *pos;
  while (*pos < line.size() && !IsBlank(line[*pos])) ++*pos;
  return line.substr(begin, *pos - begin);
}

bool Fail(ParseError* error, size_t column, std::string message, bool format_control = false) {
  error->message = std::move(message);
  error->column = column;
  error->format_control = format_control;
  return false;
}

// A path: printable, valid UTF-8, no refused format control, no empty part
// at either end. `offset` is its column - 1 in the line.
bool CheckPath(std::string_view path, size_t offset, ParseError* error) {
  for (size_t i = 0; i < path.size();) {
    const auto c = static_cast<unsigned char>(path[i]);
    if (c < 0x20 || c == 0x7f) return Fail(error, offset + i + 1, "control character in the path");
    const size_t len = core::Utf8SequenceLength(path, i);
    if (len == 0) return Fail(error, offset + i + 1, "invalid UTF-8 in the path");
    if (len > 1) {
      uint32_t cp = c & (0x7fu >> len);
      for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(path[i + k]) & 0x3fu);
      if (IsFormatControl(cp)) return Fail(error, offset + i + 1, "Unicode format control in the path", true);
    }
    i += len;
  }
  if (path.front() == '.' || path.back() == '.') return Fail(error, offset + 1, "path starts or ends with '.'");
  if (const size_t empty = path.find(".."); empty != std::string_view::npos) {
    return Fail(error, offset + empty + 2, "empty part in the path ('..')");
  }
  return true;
}

// Seconds since the epoch (an integer, or a decimal fraction) in ns.
bool ParseTimestamp(std::string_view token, int64_t* ns) {
  constexpr int64_t kNsPerS = 1'000'000'000;
  int64_t whole = 0;
  const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), whole);
  if (ec == std::errc() && end == token.data() + token.size()) {
    if (whole > std::numeric_limits<int64_t>::max() / kNsPerS || whole < std::numeric_limits<int64_t>::min() / kNsPerS) {
      return false;
    }
    *ns = whole * kNsPerS;
    return true;
  }
  double seconds = 0;
  const auto [dend, dec] = std::from_chars(token.data(), token.data() + token.size(), seconds);
  if (dec != std::errc() || dend != token.data() + token.size() || !std::isfinite(seconds) ||
      std::abs(seconds) >= 9.2e9) {
    return false;
  }
  *ns = static_cast<int64_t>(std::llround(seconds * 1e9));
  return true;
}

std::vector<std::string_view> SplitDots(std::string_view s) {
  std::vector<std::string_view> parts;
  for (size_t begin = 0;;) {
    const size_t dot = s.find('.', begin);
    parts.push_back(s.substr(begin, dot == std::string_view::npos ? std::string_view::npos : dot - begin));
    if (dot == std::string_view::npos) return parts;
    begin = dot + 1;
  }
}

void Join(std::string* out, std::string_view part, const std::string& separator) {
  if (!out->empty()) out->append(separator);
  out->append(part);
}

}  // namespace

ParseResult ParseGraphiteLine(std::string_view line, GraphiteLine* out, ParseError* error) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  size_t pos = 0;
  const std::string_view path = NextToken(line, &pos);
  if (path.empty()) return ParseResult::kSkipped;
  const size_t path_at = static_cast<size_t>(path.data() - line.data());
  if (!CheckPath(path, path_at, error)) return ParseResult::kError;
  const std::string_view value = NextToken(line, &pos);
  const size_t value_at = static_cast<size_t>(value.data() - line.data());
  if (value.empty()) {
    Fail(error, line.size() + 1, "missing value after the path");
    return ParseResult::kError;
  }
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), out->value);
  if (ec != std::errc() || end != value.data() + value.size()) {
    Fail(error, value_at + 1, "value is not a number");
    return ParseResult::kError;
  }
  const std::string_view timestamp = NextToken(line, &pos);
  out->timestamp_ns.reset();
  if (!timestamp.empty()) {
    int64_t ns = 0;
    if (!ParseTimestamp(timestamp, &ns)) {
      Fail(error, static_cast<size_t>(timestamp.data() - line.data()) + 1,
           "timestamp is not seconds since the epoch within the signed 64-bit nanosecond range");
      return ParseResult::kError;
    }
    if (ns != -1'000'000'000) out->timestamp_ns = ns;  // -1: "now", as Carbon reads it
  }
  const std::string_view extra = NextToken(line, &pos);
  if (!extra.empty()) {
    Fail(error, static_cast<size_t>(extra.data() - line.data()) + 1,
         "unexpected text after the timestamp (expected \"path value timestamp\")");
    return ParseResult::kError;
  }
  out->path = path;
  return ParseResult::kPoint;
}

bool GlobMatch(std::string_view glob, std::string_view text) {
  // Iterative wildcard matching with one backtrack point: linear in practice,
  // never exponential on hostile globs or paths.
  size_t g = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (g < glob.size() && glob[g] == '*') {
      star = g++;
      resume = t;
    } else if (g < glob.size() && glob[g] == text[t]) {
      ++g;
      ++t;
    } else if (star != std::string_view::npos) {
      g = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

core::Status GraphiteTemplates::CompileOne(const std::string& spec, Template* out) {
  std::vector<std::string_view> tokens;
  size_t pos = 0;
  for (std::string_view token = NextToken(spec, &pos); !token.empty(); token = NextToken(spec, &pos)) {
    tokens.push_back(token);
  }
  if (tokens.empty() || tokens.size() > 3) {
    return core::Status::Invalid("expected \"[filter ]template[ tag=value,...]\", got " + core::Quote(spec));
  }
  // Two tokens: filter and template, unless the second holds tags.
  const bool has_tags = tokens.size() == 3 || (tokens.size() == 2 && tokens[1].find('=') != std::string_view::npos);
  const bool has_filter = tokens.size() == 3 || (tokens.size() == 2 && !has_tags);
  const std::string_view templ = tokens[has_filter ? 1 : 0];
  if (has_filter) {
    for (std::string_view part : SplitDots(tokens[0])) {
      if (part.empty()) return core::Status::Invalid("empty part in filter " + core::Quote(std::string(tokens[0])));
      out->filter.emplace_back(part);
      if (part.find('*') == std::string_view::npos) ++out->literal_parts;
    }
  }
  bool measurement = false;
  for (std::string_view name : SplitDots(templ)) {
    Part part;
    if (name.empty() || name == "*") {
      part.kind = Part::Kind::kSkip;
    } else if (name == "measurement" || name == "measurement*") {
      part.kind = Part::Kind::kMeasurement;
      part.rest = name.back() == '*';
      measurement = true;
    } else if (name == "field" || name == "field*") {
      part.kind = Part::Kind::kField;
      part.rest = name.back() == '*';
    } else if (name.find('*') != std::string_view::npos) {
      return core::Status::Invalid("template part " + core::Quote(std::string(name)) +
                                           ": only measurement* and field* may end in '*'");
    } else {
      part.kind = Part::Kind::kTag;
      part.tag = std::string(name);
    }
    if (!out->parts.empty() && out->parts.back().rest) {
      return core::Status::Invalid("template " + core::Quote(std::string(templ)) +
                                           ": nothing may follow measurement* or field*");
    }
    out->parts.push_back(std::move(part));
  }
  if (!measurement) {
    return core::Status::Invalid("template " + core::Quote(std::string(templ)) +
                                         " has no measurement part");
  }
  if (has_tags) {
    std::string_view tags = tokens.back();
    while (!tags.empty()) {
      const size_t comma = tags.find(',');
      const std::string_view pair = tags.substr(0, comma);
      const size_t eq = pair.find('=');
      if (eq == std::string_view::npos || eq == 0 || eq + 1 == pair.size()) {
        return core::Status::Invalid("tag " + core::Quote(std::string(pair)) + ": expected name=value");
      }
      out->tags.emplace_back(std::string(pair.substr(0, eq)), std::string(pair.substr(eq + 1)));
      tags = comma == std::string_view::npos ? std::string_view() : tags.substr(comma + 1);
    }
  }
  return core::Status::Ok();
}

core::Result<GraphiteTemplates> GraphiteTemplates::Compile(const std::vector<std::string>& specs,
                                                           const std::string& separator) {
  GraphiteTemplates out;
  out.separator_ = separator;
  out.default_.parts.push_back(Part{Part::Kind::kMeasurement, {}, true});
  bool have_default = false;
  for (size_t i = 0; i < specs.size(); ++i) {
    Template t;
    const core::Status s = CompileOne(specs[i], &t);
    if (!s.ok()) {
      return core::Status::Invalid("ingest.graphite.templates[" + std::to_string(i) + "]: " + s.message());
    }
    if (!t.filter.empty()) {
      out.templates_.push_back(std::move(t));
      continue;
    }
    if (have_default) {
      return core::Status::Invalid("ingest.graphite.templates[" + std::to_string(i) +
                                           "]: a second template without a filter");
    }
    have_default = true;
    out.default_ = std::move(t);
  }
  return out;
}

const GraphiteTemplates::Template& GraphiteTemplates::Select(const std::vector<std::string_view>& parts) const {
  const Template* best = &default_;
  for (const Template& t : templates_) {
    if (t.filter.size() > parts.size()) continue;
    bool match = true;
    for (size_t i = 0; i < t.filter.size() && match; ++i) match = GlobMatch(t.filter[i], parts[i]);
    if (!match) continue;
    if (best == &default_ || t.filter.size() > best->filter.size() ||
        (t.filter.size() == best->filter.size() && t.literal_parts > best->literal_parts)) {
      best = &t;
    }
  }
  return *best;
}

bool GraphiteTemplates::Apply(std::string_view path, double value, ParsedLine* out, std::string* error) const {
  const std::vector<std::string_view> parts = SplitDots(path);
  const Template& t = Select(parts);
  out->measurement.clear();
  out->tag_count = 0;
  out->timestamp.reset();
  std::string field;
  const auto add_tag = [&](std::string_view key, std::string_view tag_value) {
    for (size_t i = 0; i < out->tag_count; ++i) {
      if (out->tags[i].first == key) {
        Join(&out->tags[i].second, tag_value, separator_);
        return;
      }
    }
    if (out->tags.size() <= out->tag_count) out->tags.emplace_back();
    out->tags[out->tag_count].first.assign(key);
    out->tags[out->tag_count].second.assign(tag_value);
    ++out->tag_count;
  };
  for (size_t i = 0; i < parts.size() && i < t.parts.size(); ++i) {
    const Part& part = t.parts[i];
    const size_t end = part.rest ? parts.size() : i + 1;
    for (size_t k = i; k < end; ++k) {
      switch (part.kind) {
        case Part::Kind::kSkip: break;
        case Part::Kind::kMeasurement: Join(&out->measurement, parts[k], separator_); break;
        case Part::Kind::kField: Join(&field, parts[k], separator_); break;
        case Part::Kind::kTag: add_tag(part.tag, parts[k]); break;
      }
    }
  }
  for (const auto& [key, tag_value] : t.tags) {
    bool present = false;
    for (size_t i = 0; i < out->tag_count; ++i) present = present || out->tags[i].first == key;
    if (!present) add_tag(key, tag_value);  // the path's own tags win over the template's defaults
  }
  if (out->measurement.empty()) {
    *error = "template leaves path \"" + std::string(path) + "\" no measurement";
    return false;
  }
  std::sort(out->tags.begin(), out->tags.begin() + static_cast<ptrdiff_t>(out->tag_count),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  if (out->fields.empty()) out->fields.emplace_back();
  out->fields[0].first = field.empty() ? "value" : field;
  out->fields[0].second.kind = FieldValue::Kind::kFloat;
  out->fields[0].second.number = value;
  out->field_count = 1;
  return true;
}

}  // namespace lstmad::daemon
