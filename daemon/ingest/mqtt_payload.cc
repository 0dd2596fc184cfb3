#include "ingest/mqtt_payload.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cmath>
#include <utility>

#include "ingest/line_protocol.h"

namespace lstmad::daemon {
namespace {

// Line protocol's escapes: measurements escape comma and space; tag keys,
// tag values and field keys also the equals sign.
void AppendEscaped(std::string_view text, bool equals_too, std::string* out) {
  for (const char c : text) {
    if (c == ',' || c == ' ' || (equals_too && c == '=')) *out += '\\';
    *out += c;
  }
}

void AppendNumber(double v, std::string* out) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v);
  out->append(buffer, ec == std::errc() ? end : buffer);
}

// The topic's values of the levels the subscription names as tags.
std::vector<std::pair<std::string, std::string>> TopicTags(const config::MqttSubscription& subscription,
                                                           std::string_view topic) {
  std::vector<std::pair<std::string, std::string>> tags;
  size_t level = 0, start = 0;
  while (level < subscription.level_tags.size()) {
    const size_t slash = topic.find('/', start);
    const std::string_view value = topic.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (!subscription.level_tags[level].empty()) tags.emplace_back(subscription.level_tags[level], std::string(value));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
    ++level;
  }
  return tags;
}

// Where a line's measurement-and-tags part ends: its first unescaped space.
size_t SeriesEnd(std::string_view line) {
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\\') {
      ++i;
    } else if (line[i] == ' ') {
      return i;
    }
  }
  return line.size();
}

std::string WithTopicTags(std::string_view line, const std::vector<std::pair<std::string, std::string>>& topic_tags,
                          ParsedLine* parsed) {
  ParseError error;
  // A line that does not parse goes on as it is: the ingestor refuses and counts it.
  if (topic_tags.empty() || ParseLine(line, parsed, &error) != ParseResult::kPoint) return std::string(line);
  std::string extra;
  for (const auto& [key, value] : topic_tags) {
    bool own = false;
    for (size_t i = 0; i < parsed->tag_count; ++i) own = own || parsed->tags[i].first == key;
    if (own) continue;
    extra += ',';
    AppendEscaped(key, true, &extra);
    extra += '=';
    AppendEscaped(value, true, &extra);
  }
  const size_t at = SeriesEnd(line);
  std::string out(line.substr(0, at));
  out += extra;
  out += line.substr(at);
  return out;
}

int64_t UnitsPerSecond(config::TimestampPrecision precision) {
  switch (precision) {
    case config::TimestampPrecision::kNanoseconds: return 1000000000;
    case config::TimestampPrecision::kMicroseconds: return 1000000;
    case config::TimestampPrecision::kMilliseconds: return 1000;
    case config::TimestampPrecision::kSeconds: return 1;
  }
  return 1;
}

MqttConversion Refuse(std::string why, MqttRefusal reason = MqttRefusal::kJsonShape) {
  MqttConversion out;
  out.refusal = reason;
  out.error = std::move(why);
  return out;
}

MqttConversion ConvertJson(const config::MqttSubscription& subscription, std::string_view payload,
                           const std::vector<std::pair<std::string, std::string>>& topic_tags,
                           config::TimestampPrecision precision) {
  const nlohmann::json doc = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Refuse("the payload is not JSON", MqttRefusal::kNotJson);
  if (!doc.is_object()) return Refuse("the payload is not a JSON object");
  for (const auto& [key, value] : doc.items()) {
    if (key != "measurement" && key != "ts" && key != "tags" && key != "fields") {
      return Refuse("unknown key \"" + key + "\" (expected measurement, ts, tags, fields)");
    }
  }
  std::string measurement = subscription.measurement;
  if (const auto it = doc.find("measurement"); it != doc.end()) {
    if (!it->is_string()) return Refuse("\"measurement\" is not a string");
    measurement = it->get<std::string>();
  }
  if (measurement.empty()) return Refuse("no measurement: the payload names none and the subscription neither");
  std::string line;
  AppendEscaped(measurement, false, &line);

  std::vector<std::pair<std::string, std::string>> tags;
  if (const auto it = doc.find("tags"); it != doc.end()) {
    if (!it->is_object()) return Refuse("\"tags\" is not an object");
    for (const auto& [key, value] : it->items()) {
      if (!value.is_string()) return Refuse("tag \"" + key + "\" is not a string");
      tags.emplace_back(key, value.get<std::string>());
    }
  }
  for (const auto& [key, value] : topic_tags) {
    bool own = false;
    for (const auto& tag : tags) own = own || tag.first == key;
    if (!own) tags.emplace_back(key, value);
  }
  for (const auto& [key, value] : tags) {
    line += ',';
    AppendEscaped(key, true, &line);
    line += '=';
    AppendEscaped(value, true, &line);
  }

  const auto fields = doc.find("fields");
  if (fields == doc.end() || !fields->is_object() || fields->empty()) {
    return Refuse("\"fields\" is missing or not a non-empty object");
  }
  char separator = ' ';
  for (const auto& [key, value] : fields->items()) {
    line += separator;
    separator = ',';
    AppendEscaped(key, true, &line);
    line += '=';
    if (value.is_boolean()) {
      line += value.get<bool>() ? "true" : "false";
    } else if (value.is_number()) {
      const double v = value.get<double>();
      if (!std::isfinite(v)) return Refuse("field \"" + key + "\" is not finite");
      AppendNumber(v, &line);
    } else {
      return Refuse("field \"" + key + "\" is not a number or a boolean");
    }
  }

  if (const auto it = doc.find("ts"); it != doc.end()) {
    if (!it->is_number()) return Refuse("\"ts\" is not a number (Unix seconds)");
    const double units = it->get<double>() * static_cast<double>(UnitsPerSecond(precision));
    // Within int64 and after 1970, as the line protocol's own timestamps.
    if (!std::isfinite(units) || units < 0 || units >= 9.2e18) return Refuse("\"ts\" is out of range (Unix seconds)");
    line += ' ';
    line += std::to_string(static_cast<int64_t>(std::llround(units)));
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
  }
  return "none";
}

bool TopicMatches(std::string_view filter, std::string_view topic) {
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
  MqttConversion out;
  ParsedLine parsed;
  while (!payload.empty()) {
    const size_t newline = payload.find('\n');
    std::string_view line = payload.substr(0, newline);
    payload = newline == std::string_view::npos ? std::string_view() : payload.substr(newline + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    out.lines.push_back(WithTopicTags(line, topic_tags, &parsed));
  }
  if (out.lines.empty()) return Refuse("the payload holds no line", MqttRefusal::kEmpty);
  return out;
}

}  // namespace lstmad::daemon
