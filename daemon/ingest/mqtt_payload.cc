#include "ingest/mqtt_payload.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>

#include "ingest/line_protocol.h"
#include "ingest/sample_checks.h"
#include "lstmad/core/text.h"

namespace lstmad::daemon {
namespace {

using Tags = std::vector<std::pair<std::string, std::string>>;  // (key, value), unescaped

bool IsSpecial(char c, bool equals_too) { return c == ',' || c == ' ' || (equals_too && c == '='); }
bool IsControl(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }
bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

// Line protocol's escapes: measurements escape comma and space; tag keys,
// tag values and field keys also the equals sign. A backslash is literal
// unless it comes before one of those or another backslash (or ends the
// name, where it would escape the separator that follows): then it is
// doubled, so that ParseLine reads the same name back.
void AppendEscaped(std::string_view text, bool equals_too, std::string* out) {
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (IsSpecial(c, equals_too) ||
        (c == '\\' && (i + 1 == text.size() || text[i + 1] == '\\' || IsSpecial(text[i + 1], equals_too)))) {
      *out += '\\';
    }
    *out += c;
  }
}

// ",k=v" for each tag, escaped.
void AppendTag(std::string_view key, std::string_view value, std::string* out) {
  *out += ',';
  AppendEscaped(key, true, out);
  *out += '=';
  AppendEscaped(value, true, out);
}

void AppendNumber(double v, std::string* out) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
  out->append(buffer, ec == std::errc() ? end : buffer);
}

// The topic's values of the levels the subscription names as tags.
Tags TopicTags(const config::MqttSubscription& subscription, std::string_view topic) {
  Tags tags;
  size_t level = 0, start = 0;
  while (level < subscription.level_tags.size()) {
    const size_t slash = topic.find('/', start);
    const std::string_view value = topic.substr(start, slash == std::string_view::npos ? slash : slash - start);
    // An empty level ("plant//pump/p1") has no value to tag with: line
    // protocol has no empty tag values, so the tag is left out.
    if (!subscription.level_tags[level].empty() && !value.empty()) {
      tags.emplace_back(subscription.level_tags[level], std::string(value));
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
    ++level;
  }
  return tags;
}

// Where a line's measurement-and-tags part ends: its first unescaped space
// after the blanks ParseLine skips at the start of a line.
size_t SeriesEnd(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  for (; i < line.size(); ++i) {
    if (line[i] == '\\') {
      ++i;
    } else if (line[i] == ' ') {
      return i;
    }
  }
  return line.size();
}

std::string WithTopicTags(std::string_view line, const Tags& topic_tags, ParsedLine* parsed) {
  ParseError error;
  // A line that does not parse goes on as it is: the ingestor refuses and counts it.
  if (topic_tags.empty() || ParseLine(line, parsed, &error) != ParseResult::kPoint) return std::string(line);
  std::string extra;
  for (const auto& [key, value] : topic_tags) {
    bool own = false;
    for (size_t i = 0; i < parsed->tag_count; ++i) own = own || parsed->tags[i].first == key;
    if (!own) AppendTag(key, value, &extra);
  }
  const size_t at = SeriesEnd(line);
  std::string out(line.substr(0, at));
  out += extra;
  out += line.substr(at);
  return out;
}

// Timestamp units per second in `precision`.
int64_t UnitsPerSecond(config::TimestampPrecision precision) { return 1000000000 / PrecisionToNs(precision); }

MqttConversion Refuse(std::string why, MqttRefusal reason = MqttRefusal::kJsonShape) {
  MqttConversion out;
  out.refusal = reason;
  out.error = std::move(why);
  return out;
}

// Why `name` cannot be a measurement, tag key, tag value or field key of a
// line ("" when it can): ParseLine refuses empty names and control bytes,
// and would quietly drop a leading tab.
std::string NameProblem(std::string_view what, std::string_view name) {
  if (name.empty()) return std::string(what) + " is empty";
  for (const char c : name) {
    if (IsControl(c)) return std::string(what) + " " + core::Quote(name) + " holds a control character";
  }
  return "";
}

// "ts" (Unix seconds, a double) in `precision`'s units; false when before
// 1970 or beyond int64. Whole seconds and the fraction are scaled apart: the
// product of a timestamp near 1.7e9 and 1e9 is beyond a double's integers
// (2^53), so scaling the whole would round even a fraction like .25.
bool ScaleTimestamp(double seconds, config::TimestampPrecision precision, int64_t* units) {
  const int64_t per_second = UnitsPerSecond(precision);
  if (!(seconds >= 0)) return false;
  const double whole = std::floor(seconds);
  // whole + 1 seconds must still fit: the fraction may round up to a second.
  if (whole >= static_cast<double>(std::numeric_limits<int64_t>::max() / per_second)) return false;
  const double fraction = seconds - whole;  // exact (Sterbenz): whole is 0 or within a factor 2 of seconds
  const int64_t whole_units = static_cast<int64_t>(whole) * per_second;
  *units = whole_units + std::llround(fraction * static_cast<double>(per_second));
  return true;
}

// The tags of a JSON payload: those of "tags", then the topic's that the
// payload does not name.
MqttConversion ReadTags(const nlohmann::json& doc, const Tags& topic_tags, Tags* tags) {
  if (const auto it = doc.find("tags"); it != doc.end()) {
    if (!it->is_object()) return Refuse("\"tags\" is not an object");
    for (const auto& [key, value] : it->items()) {
      if (!value.is_string()) return Refuse("tag " + core::Quote(key) + " is not a string");
      std::string problem = NameProblem("a tag key", key);
      if (problem.empty()) {
        problem = NameProblem("the value of tag " + core::Quote(key), value.get<std::string>());
      }
      if (!problem.empty()) return Refuse(std::move(problem));
      tags->emplace_back(key, value.get<std::string>());
    }
  }
  for (const auto& [key, value] : topic_tags) {
    bool own = false;
    for (const auto& tag : *tags) own = own || tag.first == key;
    if (!own) tags->emplace_back(key, value);
  }
  return {};
}

// " k=v,k2=v2": the fields of a JSON payload.
MqttConversion AppendFields(const nlohmann::json& doc, std::string* line) {
  const auto fields = doc.find("fields");
  if (fields == doc.end() || !fields->is_object() || fields->empty()) {
    return Refuse("\"fields\" is missing or not a non-empty object");
  }
  char separator = ' ';
  for (const auto& [key, value] : fields->items()) {
    if (std::string problem = NameProblem("a field key", key); !problem.empty()) {
      return Refuse(std::move(problem));
    }
    *line += separator;
    separator = ',';
    AppendEscaped(key, true, line);
    *line += '=';
    if (value.is_boolean()) {
      *line += value.get<bool>() ? "true" : "false";
    } else if (value.is_number()) {
      // JSON has no NaN or infinity, and nlohmann refuses numbers beyond a
      // double (1e999) as not JSON; this guards the line all the same.
      const double v = value.get<double>();
      if (!std::isfinite(v)) return Refuse("field " + core::Quote(key) + " is not finite");
      AppendNumber(v, line);
    } else {
      return Refuse("field " + core::Quote(key) + " is not a number or a boolean");
    }
  }
  return {};
}

MqttConversion ConvertJson(const config::MqttSubscription& subscription, std::string_view payload,
                           const Tags& topic_tags, config::TimestampPrecision precision) {
  // An empty message is what a broker delivers when a retained one is cleared.
  if (payload.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return Refuse("the payload is empty", MqttRefusal::kEmpty);
  }
  const nlohmann::json doc = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Refuse("the payload is not JSON", MqttRefusal::kNotJson);
  if (!doc.is_object()) return Refuse("the payload is not a JSON object");
  for (const auto& [key, value] : doc.items()) {
    if (key != "measurement" && key != "ts" && key != "tags" && key != "fields") {
      return Refuse("unknown key " + core::Quote(key) + " (expected measurement, ts, tags, fields)");
    }
  }
  std::string measurement = subscription.measurement;
  if (const auto it = doc.find("measurement"); it != doc.end()) {
    if (!it->is_string()) return Refuse("\"measurement\" is not a string");
    measurement = it->get<std::string>();
    if (measurement.empty()) return Refuse("\"measurement\" is empty");
  }
  if (measurement.empty()) {
    return Refuse("no measurement: the payload names none and the subscription neither");
  }
  if (std::string problem = NameProblem("the measurement", measurement); !problem.empty()) {
    return Refuse(std::move(problem));
  }
  // A line starting with '#' is a comment: the sample would vanish unread.
  if (measurement.front() == '#') {
    return Refuse("the measurement " + core::Quote(measurement) + " starts with '#'");
  }
  std::string line;
  AppendEscaped(measurement, false, &line);

  Tags tags;
  if (MqttConversion refused = ReadTags(doc, topic_tags, &tags); !refused.error.empty()) return refused;
  for (const auto& [key, value] : tags) AppendTag(key, value, &line);
  if (MqttConversion refused = AppendFields(doc, &line); !refused.error.empty()) return refused;

  if (const auto it = doc.find("ts"); it != doc.end()) {
    if (!it->is_number()) return Refuse("\"ts\" is not a number (Unix seconds)");
    int64_t units = 0;
    if (!ScaleTimestamp(it->get<double>(), precision, &units)) {
      return Refuse("\"ts\" is out of range (Unix seconds)");
    }
    line += ' ';
    line += std::to_string(units);
  }
  // What the checks above leave to the parser (Unicode format controls, a
  // topic level the parser refuses as a tag value) is refused here, with the
  // parser's words, rather than counted later as a line the client wrote.
  ParsedLine parsed;
  ParseError error;
  if (ParseLine(line, &parsed, &error) != ParseResult::kPoint) {
    return Refuse("the payload makes an invalid line: " + error.message);
  }
  MqttConversion out;
  out.lines.push_back(std::move(line));
  return out;
}

// A bare value: "23.5", "-1e3", "true"/"false", blanks around allowed. The
// line is `measurement,<topic tags> <field>=<value>`, without a timestamp:
// the daemon's clock on arrival, as for a line that carries none.
MqttConversion ConvertValue(const config::MqttSubscription& subscription, std::string_view topic,
                            std::string_view payload, const Tags& topic_tags) {
  const size_t first = payload.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return Refuse("the payload is empty", MqttRefusal::kEmpty);
  payload = payload.substr(first, payload.find_last_not_of(" \t\r\n") + 1 - first);
  std::string value;
  if (payload == "true" || payload == "false") {
    value = std::string(payload);
  } else {
    double v = 0;
    const auto [end, ec] = std::from_chars(payload.data(), payload.data() + payload.size(), v);
    if (ec != std::errc() || end != payload.data() + payload.size()) {
      return Refuse("the payload " + core::Quote(payload) + " is not a number or a boolean", MqttRefusal::kNotValue);
    }
    if (!std::isfinite(v)) return Refuse("the value " + core::Quote(payload) + " is not finite", MqttRefusal::kNotValue);
    AppendNumber(v, &value);
  }
  const std::string_view field =
      subscription.field.empty() ? topic.substr(topic.rfind('/') + 1) : std::string_view(subscription.field);
  if (std::string problem = NameProblem("the field name (the topic's last level)", field); !problem.empty()) {
    return Refuse(std::move(problem), MqttRefusal::kTopic);
  }
  std::string line;
  AppendEscaped(subscription.measurement, false, &line);
  for (const auto& [key, tag] : topic_tags) AppendTag(key, tag, &line);
  line += ' ';
  AppendEscaped(field, true, &line);
  line += '=';
  line += value;
  ParsedLine parsed;
  ParseError error;
  if (ParseLine(line, &parsed, &error) != ParseResult::kPoint) {
    return Refuse("the payload makes an invalid line: " + error.message, MqttRefusal::kTopic);
  }
  MqttConversion out;
  out.lines.push_back(std::move(line));
  return out;
}

}  // namespace

const char* MqttRefusalLabel(MqttRefusal reason) {
  switch (reason) {
    case MqttRefusal::kNone: return "none";
    case MqttRefusal::kTopic: return "topic";
    case MqttRefusal::kNotJson: return "not_json";
    case MqttRefusal::kJsonShape: return "json_shape";
    case MqttRefusal::kEmpty: return "empty";
    case MqttRefusal::kTooLarge: return "too_large";
    case MqttRefusal::kNotValue: return "not_value";
  }
  return "none";
}

bool TopicMatches(std::string_view filter, std::string_view topic) {
  // Topics starting with '$' ($SYS/...) are the broker's own: a filter whose
  // first level is a wildcard does not match them (MQTT 3.1.1, 4.7.2).
  const std::string_view first_level = filter.substr(0, filter.find('/'));
  if (!topic.empty() && topic.front() == '$' && (first_level == "+" || first_level == "#")) return false;
  while (true) {
    const size_t fs = filter.find('/');
    const size_t ts = topic.find('/');
    const std::string_view f = filter.substr(0, fs);
    const std::string_view t = topic.substr(0, ts);
    if (f == "#") return true;
    if (f != "+" && f != t) return false;
    if (fs == std::string_view::npos || ts == std::string_view::npos) {
      // Both end here; or the filter goes on with "/#", which also matches the parent level.
      if (fs == std::string_view::npos && ts == std::string_view::npos) return true;
      return ts == std::string_view::npos && filter.substr(fs + 1) == "#";
    }
    filter.remove_prefix(fs + 1);
    topic.remove_prefix(ts + 1);
  }
}

MqttConversion ConvertMqttMessage(const config::MqttSubscription& subscription, std::string_view topic,
                                  std::string_view payload, config::TimestampPrecision precision) {
  if (!TopicMatches(subscription.filter, topic)) return Refuse("topic does not match " + subscription.filter, MqttRefusal::kTopic);
  const auto topic_tags = TopicTags(subscription, topic);
  if (subscription.format == config::MqttSubscription::Format::kJson) {
    return ConvertJson(subscription, payload, topic_tags, precision);
  }
  if (subscription.format == config::MqttSubscription::Format::kValue) {
    return ConvertValue(subscription, topic, payload, topic_tags);
  }
  MqttConversion out;
  ParsedLine parsed;
  while (!payload.empty()) {
    const size_t newline = payload.find('\n');
    std::string_view line = payload.substr(0, newline);
    payload = newline == std::string_view::npos ? std::string_view() : payload.substr(newline + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    // Blank lines (CRLF, trailing newlines, indentation alone) are not lines.
    if (std::all_of(line.begin(), line.end(), IsBlank)) continue;
    out.lines.push_back(WithTopicTags(line, topic_tags, &parsed));
  }
  if (out.lines.empty()) return Refuse("the payload holds no line", MqttRefusal::kEmpty);
  return out;
}

}  // namespace lstmad::daemon
