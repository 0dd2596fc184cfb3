// Fuzzes the MQTT input's conversion of messages into line-protocol lines
// (daemon/ingest/mqtt_payload.h) and the topic templates of its
// subscriptions (config's ParseTopicTemplate). The input: one byte of
// choices (payload format, timestamp precision, whether the subscription
// names a measurement), then a topic template line, a topic line, and the
// rest is the payload. A template that does not parse must say why; the
// message is then converted under "{a}/{b}/#". Checks:
//  - TopicMatches(filter, topic) is false exactly when the message is
//    refused with reason `topic`;
//  - a refusal has a reason and a message, and no lines;
//  - accepted lines are non-empty and hold no newline;
//  - line payloads: one output line per non-blank payload line; a line the
//    parser refuses comes out unchanged; a point comes out as the same
//    point with the topic's tags (those it does not carry itself) added,
//    unless a tag name or topic value holds bytes the parser refuses;
//  - JSON payloads: the one line parses to the payload's measurement (or the
//    subscription's), its fields, its "ts" when present, its tags, and every
//    non-empty topic tag the payload's tags do not name;
//  - value payloads: the one line parses to the subscription's measurement,
//    exactly the topic's non-empty tags, one field (named by the
//    subscription or the topic's last level) and no timestamp. A field name
//    the topic's last level cannot give is refused as `topic` too.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_check.h"
#include "ingest/line_protocol.h"
#include "ingest/mqtt_payload.h"
#include "mqtt_settings.h"

namespace {

using lstmad::config::MqttSubscription;
using lstmad::config::TimestampPrecision;
using lstmad::daemon::ConvertMqttMessage;
using lstmad::daemon::MqttConversion;
using lstmad::daemon::MqttRefusal;
using lstmad::daemon::ParsedLine;
using lstmad::daemon::ParseError;
using lstmad::daemon::ParseLine;
using lstmad::daemon::ParseResult;
using lstmad::daemon::TopicMatches;
using Tags = std::vector<std::pair<std::string, std::string>>;

constexpr TimestampPrecision kPrecisions[] = {
    TimestampPrecision::kNanoseconds, TimestampPrecision::kMicroseconds, TimestampPrecision::kMilliseconds,
    TimestampPrecision::kSeconds};

// The first line of `*input`, which loses it and its newline.
std::string_view TakeLine(std::string_view* input) {
  const size_t nl = input->find('\n');
  const std::string_view line = input->substr(0, nl);
  *input = nl == std::string_view::npos ? std::string_view() : input->substr(nl + 1);
  return line;
}

// The tags the topic's levels give, as the subscription names them; empty
// levels give none.
Tags TopicTags(const MqttSubscription& s, std::string_view topic) {
  Tags tags;
  for (size_t level = 0, begin = 0; level < s.level_tags.size(); ++level) {
    const size_t slash = topic.find('/', begin);
    const std::string_view value =
        topic.substr(begin, slash == std::string_view::npos ? slash : slash - begin);
    if (!s.level_tags[level].empty() && !value.empty()) tags.emplace_back(s.level_tags[level], value);
    if (slash == std::string_view::npos) break;
    begin = slash + 1;
  }
  return tags;
}

Tags TagsOf(const ParsedLine& p) {
  return Tags(p.tags.begin(), p.tags.begin() + static_cast<std::ptrdiff_t>(p.tag_count));
}

const std::string* FindTag(const Tags& tags, std::string_view key) {
  for (const auto& [k, v] : tags) {
    if (k == key) return &v;
  }
  return nullptr;
}

// Whether a tag made of these bytes may be refused by the parser: control
// bytes, and beyond ASCII (invalid UTF-8, Unicode format controls).
bool MayBeRefused(const Tags& tags) {
  for (const auto& [k, v] : tags) {
    for (const std::string* s : {&k, &v}) {
      for (const char c : *s) {
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) return true;
      }
    }
  }
  return false;
}

void CheckLinePayload(std::string_view payload, const Tags& topic_tags,
                      const std::vector<std::string>& lines) {
  size_t out = 0;
  ParsedLine in_point, out_point;
  ParseError error;
  while (!payload.empty()) {
    std::string_view in = TakeLine(&payload);
    if (!in.empty() && in.back() == '\r') in.remove_suffix(1);
    if (in.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    LSTMAD_FUZZ_CHECK(out < lines.size(), in);
    const std::string& line = lines[out++];
    if (topic_tags.empty() || ParseLine(in, &in_point, &error) != ParseResult::kPoint) {
      LSTMAD_FUZZ_CHECK(line == in, line);
      continue;
    }
    if (ParseLine(line, &out_point, &error) != ParseResult::kPoint) {
      LSTMAD_FUZZ_CHECK(MayBeRefused(topic_tags), line + ": " + error.message);
      continue;
    }
    LSTMAD_FUZZ_CHECK(out_point.measurement == in_point.measurement, line);
    LSTMAD_FUZZ_CHECK(out_point.field_count == in_point.field_count, line);
    LSTMAD_FUZZ_CHECK(out_point.timestamp == in_point.timestamp, line);
    Tags expected = TagsOf(in_point);
    for (const auto& [key, value] : topic_tags) {
      if (FindTag(TagsOf(in_point), key) == nullptr) expected.emplace_back(key, value);
    }
    std::sort(expected.begin(), expected.end());
    LSTMAD_FUZZ_CHECK(TagsOf(out_point) == expected, line);
  }
  LSTMAD_FUZZ_CHECK(out == lines.size(), lines.back());
}

void CheckJsonPayload(std::string_view payload, const MqttSubscription& s, const Tags& topic_tags,
                      const std::vector<std::string>& lines) {
  LSTMAD_FUZZ_CHECK(lines.size() == 1, payload);
  const std::string& line = lines[0];
  ParsedLine point;
  ParseError error;
  LSTMAD_FUZZ_CHECK(ParseLine(line, &point, &error) == ParseResult::kPoint, line + ": " + error.message);
  const nlohmann::json doc = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  LSTMAD_FUZZ_CHECK(doc.is_object(), line);
  const std::string measurement =
      doc.contains("measurement") ? doc["measurement"].get<std::string>() : s.measurement;
  LSTMAD_FUZZ_CHECK(point.measurement == measurement, line);
  LSTMAD_FUZZ_CHECK(point.field_count == doc["fields"].size(), line);
  LSTMAD_FUZZ_CHECK(point.timestamp.has_value() == doc.contains("ts"), line);
  Tags expected;
  if (doc.contains("tags")) {
    for (const auto& [key, value] : doc["tags"].items()) expected.emplace_back(key, value.get<std::string>());
  }
  for (const auto& [key, value] : topic_tags) {
    if (FindTag(expected, key) == nullptr) expected.emplace_back(key, value);
  }
  std::sort(expected.begin(), expected.end());
  LSTMAD_FUZZ_CHECK(TagsOf(point) == expected, line);
}

void CheckValuePayload(std::string_view topic, const MqttSubscription& s, const Tags& topic_tags,
                       const std::vector<std::string>& lines) {
  LSTMAD_FUZZ_CHECK(lines.size() == 1, std::string(topic));
  const std::string& line = lines[0];
  ParsedLine point;
  ParseError error;
  LSTMAD_FUZZ_CHECK(ParseLine(line, &point, &error) == ParseResult::kPoint, line + ": " + error.message);
  LSTMAD_FUZZ_CHECK(point.measurement == s.measurement, line);
  LSTMAD_FUZZ_CHECK(point.field_count == 1 && !point.timestamp.has_value(), line);
  const std::string_view field = s.field.empty() ? topic.substr(topic.rfind('/') + 1) : std::string_view(s.field);
  LSTMAD_FUZZ_CHECK(point.fields[0].first == field, line);
  Tags expected = topic_tags;
  std::sort(expected.begin(), expected.end());
  LSTMAD_FUZZ_CHECK(TagsOf(point) == expected, line);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t choices = data[0];
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string topic_template(TakeLine(&input));
  const std::string_view topic = TakeLine(&input);
  const std::string_view payload = input;

  MqttSubscription s;
  if (const std::string error = lstmad::config::detail::ParseTopicTemplate(topic_template, &s);
      !error.empty()) {
    s = MqttSubscription();
    LSTMAD_FUZZ_CHECK(lstmad::config::detail::ParseTopicTemplate("{a}/{b}/#", &s).empty(), error);
  }
  LSTMAD_FUZZ_CHECK(
      s.level_tags.size() == static_cast<size_t>(std::count(s.filter.begin(), s.filter.end(), '/')) + 1,
      s.filter);
  s.format = (choices & 1) != 0 ? MqttSubscription::Format::kJson : MqttSubscription::Format::kLine;
  if ((choices & 8) != 0) s.measurement = "m";
  if ((choices & 16) != 0) {
    s.format = MqttSubscription::Format::kValue;
    s.measurement = "m";
    if ((choices & 32) != 0) s.field = "f";
  }
  const MqttConversion c = ConvertMqttMessage(s, topic, payload, kPrecisions[(choices >> 1) & 3]);

  if (s.format == MqttSubscription::Format::kValue && TopicMatches(s.filter, topic)) {
    // The topic's last level may fail to name the field: `topic` as well.
  } else {
    LSTMAD_FUZZ_CHECK((c.refusal == MqttRefusal::kTopic) == !TopicMatches(s.filter, topic), s.filter);
  }
  if (c.refusal != MqttRefusal::kNone || !c.error.empty()) {
    LSTMAD_FUZZ_CHECK(c.refusal != MqttRefusal::kNone && !c.error.empty(), c.error);
    LSTMAD_FUZZ_CHECK(c.lines.empty(), c.error);
    return 0;
  }
  LSTMAD_FUZZ_CHECK(!c.lines.empty(), payload);
  for (const std::string& line : c.lines) {
    LSTMAD_FUZZ_CHECK(!line.empty() && line.find('\n') == std::string::npos, line);
  }
  const Tags topic_tags = TopicTags(s, topic);
  if (s.format == MqttSubscription::Format::kLine) {
    CheckLinePayload(payload, topic_tags, c.lines);
  } else if (s.format == MqttSubscription::Format::kValue) {
    CheckValuePayload(topic, s, topic_tags, c.lines);
  } else {
    CheckJsonPayload(payload, s, topic_tags, c.lines);
  }
  return 0;
}
