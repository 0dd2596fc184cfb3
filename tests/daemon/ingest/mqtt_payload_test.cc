// MQTT messages into line-protocol lines (daemon/ingest/mqtt_payload.h):
// topic filters matched as MQTT 3.1.1 section 4.7 says; line payloads split
// and tagged with the topic's levels; JSON payloads written as exact lines,
// read back by the project's line-protocol parser; every malformed JSON
// payload refused with its reason and what is wrong. The expected lines are
// worked out by hand.
#include "ingest/mqtt_payload.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "ingest/line_protocol.h"

namespace lstmad::daemon {
namespace {

using config::MqttSubscription;
using config::TimestampPrecision;
using Lines = std::vector<std::string>;
using Tags = std::vector<std::pair<std::string, std::string>>;

// What config::detail::ParseTopicTemplate makes of "plant/{site}/pump/{pump}".
MqttSubscription PlantPumps(MqttSubscription::Format format = MqttSubscription::Format::kLine,
                            std::string measurement = "") {
  MqttSubscription s;
  s.topic = "plant/{site}/pump/{pump}";
  s.filter = "plant/+/pump/+";
  s.level_tags = {"", "site", "", "pump"};
  s.format = format;
  s.measurement = std::move(measurement);
  return s;
}

MqttSubscription JsonPumps(std::string measurement = "") {
  return PlantPumps(MqttSubscription::Format::kJson, std::move(measurement));
}

constexpr char kTopic[] = "plant/north/pump/p1";

Lines Converted(const MqttSubscription& s, std::string_view topic, std::string_view payload,
                TimestampPrecision precision = TimestampPrecision::kNanoseconds) {
  const MqttConversion c = ConvertMqttMessage(s, topic, payload, precision);
  EXPECT_EQ(c.refusal, MqttRefusal::kNone) << payload;
  EXPECT_EQ(c.error, "") << payload;
  return c.lines;
}

// The refusal's reason label and message, as "reason: message".
std::string RefusalOf(const MqttSubscription& s, std::string_view payload, std::string_view topic = kTopic,
                      TimestampPrecision precision = TimestampPrecision::kNanoseconds) {
  const MqttConversion c = ConvertMqttMessage(s, topic, payload, precision);
  if (c.refusal == MqttRefusal::kNone) return "(accepted)";
  EXPECT_TRUE(c.lines.empty()) << payload;
  return std::string(MqttRefusalLabel(c.refusal)) + ": " + c.error;
}

ParsedLine Parsed(std::string_view line) {
  ParsedLine out;
  ParseError error;
  EXPECT_EQ(ParseLine(line, &out, &error), ParseResult::kPoint) << line << ": " << error.message;
  return out;
}

Tags TagsOf(const ParsedLine& p) {
  return Tags(p.tags.begin(), p.tags.begin() + static_cast<std::ptrdiff_t>(p.tag_count));
}

// ---- TopicMatches ----

TEST(MqttTopicMatchesTest, ExactLevels) {
  EXPECT_TRUE(TopicMatches("plant/north/pump", "plant/north/pump"));
  EXPECT_FALSE(TopicMatches("plant/north/pump", "plant/south/pump"));
  EXPECT_FALSE(TopicMatches("plant/north/pump", "plant/north/pumps"));
  EXPECT_FALSE(TopicMatches("plant/north/pump", "Plant/north/pump"));  // case matters
}

TEST(MqttTopicMatchesTest, LongerOrShorterTopicsDoNotMatch) {
  EXPECT_FALSE(TopicMatches("plant/north", "plant/north/pump"));
  EXPECT_FALSE(TopicMatches("plant/north/pump", "plant/north"));
  EXPECT_FALSE(TopicMatches("plant/+", "plant/north/pump"));
  EXPECT_FALSE(TopicMatches("plant/+/+", "plant/north"));
  EXPECT_FALSE(TopicMatches("plant/north", "plant/north/"));  // a trailing '/' is one more (empty) level
}

TEST(MqttTopicMatchesTest, PlusIsExactlyOneLevel) {
  EXPECT_TRUE(TopicMatches("plant/+/pump/+", kTopic));
  EXPECT_TRUE(TopicMatches("+", "plant"));
  EXPECT_TRUE(TopicMatches("+/+", "plant/north"));
  EXPECT_FALSE(TopicMatches("plant/+/pump", "plant/north/east/pump"));  // not across levels
  EXPECT_FALSE(TopicMatches("+", "plant/north"));
}

TEST(MqttTopicMatchesTest, HashIsTheRestIncludingTheParentLevel) {
  EXPECT_TRUE(TopicMatches("#", "plant"));
  EXPECT_TRUE(TopicMatches("#", "plant/north/pump/p1"));
  EXPECT_TRUE(TopicMatches("plant/#", "plant/north/pump/p1"));
  EXPECT_TRUE(TopicMatches("plant/#", "plant"));  // "sport/#" matches "sport" (4.7.1.2)
  EXPECT_TRUE(TopicMatches("plant/#", "plant/"));
  EXPECT_TRUE(TopicMatches("plant/+/#", "plant/north"));
  EXPECT_FALSE(TopicMatches("plant/#", "plants"));
  EXPECT_FALSE(TopicMatches("plant/#", "factory/plant"));
  EXPECT_FALSE(TopicMatches("plant/north/#", "plant"));
}

TEST(MqttTopicMatchesTest, EmptyLevelsAreLevels) {
  EXPECT_TRUE(TopicMatches("a//b", "a//b"));
  EXPECT_TRUE(TopicMatches("a/+/b", "a//b"));  // '+' matches an empty level
  EXPECT_FALSE(TopicMatches("a/b", "a//b"));
  EXPECT_TRUE(TopicMatches("+/a", "/a"));  // a leading '/' makes an empty first level
  EXPECT_FALSE(TopicMatches("a", "/a"));
  EXPECT_TRUE(TopicMatches("/+", "/a"));
  EXPECT_TRUE(TopicMatches("a/+", "a/"));
}

TEST(MqttTopicMatchesTest, WildcardsAtTheFirstLevelDoNotMatchDollarTopics) {
  // MQTT 3.1.1 4.7.2: "$SYS/..." is the broker's; '#' or '+' first does not match it.
  EXPECT_FALSE(TopicMatches("#", "$SYS/broker/uptime"));
  EXPECT_FALSE(TopicMatches("+/broker/uptime", "$SYS/broker/uptime"));
  EXPECT_FALSE(TopicMatches("+", "$SYS"));
  EXPECT_TRUE(TopicMatches("$SYS/#", "$SYS/broker/uptime"));
  EXPECT_TRUE(TopicMatches("$SYS/broker/+", "$SYS/broker/uptime"));
  EXPECT_TRUE(TopicMatches("$SYS/broker/uptime", "$SYS/broker/uptime"));
  // Only the first level is special.
  EXPECT_TRUE(TopicMatches("plant/+", "plant/$x"));
  EXPECT_TRUE(TopicMatches("plant/#", "plant/$x/y"));
}

TEST(MqttConvertTest, TopicThatDoesNotMatchIsRefused) {
  EXPECT_EQ(RefusalOf(PlantPumps(), "pump t=1", "plant/north/fan/f1"),
            "topic: topic does not match plant/+/pump/+");
  EXPECT_EQ(RefusalOf(JsonPumps("pump"), "{\"fields\": {\"t\": 1}}", "plant/north/pump"),
            "topic: topic does not match plant/+/pump/+");
}

// ---- line-protocol payloads ----

TEST(MqttLinePayloadTest, EveryLineGetsTheTopicTagsAfterItsOwn) {
  EXPECT_EQ(
      Converted(PlantPumps(), kTopic, "pump temp=61.2 1733390000\npump,line=a temp=62,flow=3i 1733390001\n"),
      (Lines{"pump,site=north,pump=p1 temp=61.2 1733390000",
             "pump,line=a,site=north,pump=p1 temp=62,flow=3i 1733390001"}));
}

TEST(MqttLinePayloadTest, CrLfBlankLinesAndNoFinalNewline) {
  EXPECT_EQ(Converted(PlantPumps(), kTopic, "\r\n\npump t=1\r\n\r\n  \t\r\npump t=2"),
            (Lines{"pump,site=north,pump=p1 t=1", "pump,site=north,pump=p1 t=2"}));
}

TEST(MqttLinePayloadTest, TopicValuesAreEscaped) {
  const Lines lines = Converted(PlantPumps(), "plant/north hall,b=c/pump/p 1", "pump t=1");
  EXPECT_EQ(lines, Lines{"pump,site=north\\ hall\\,b\\=c,pump=p\\ 1 t=1"});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(TagsOf(Parsed(lines[0])), (Tags{{"pump", "p 1"}, {"site", "north hall,b=c"}}));
}

TEST(MqttLinePayloadTest, BackslashesInTopicValuesReadBackAsThemselves) {
  // A backslash is literal in a tag value unless it comes before a special,
  // a backslash or the end of the value: those are doubled.
  const Lines lines = Converted(PlantPumps(), "plant/a\\/pump/b\\\\c\\d", "pump t=1");
  EXPECT_EQ(lines, Lines{"pump,site=a\\\\,pump=b\\\\\\c\\d t=1"});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(TagsOf(Parsed(lines[0])), (Tags{{"pump", "b\\\\c\\d"}, {"site", "a\\"}}));
}

TEST(MqttLinePayloadTest, TagTheLineCarriesWinsOverTheTopics) {
  EXPECT_EQ(Converted(PlantPumps(), kTopic, "pump,site=south temp=1"),
            Lines{"pump,site=south,pump=p1 temp=1"});
  EXPECT_EQ(Converted(PlantPumps(), kTopic, "pump,pump=p9,site=south temp=1"),
            Lines{"pump,pump=p9,site=south temp=1"});
}

TEST(MqttLinePayloadTest, EmptyTopicLevelAddsNoTag) {
  // Line protocol has no empty tag values: "site=" would make the line invalid.
  EXPECT_EQ(Converted(PlantPumps(), "plant//pump/p1", "pump t=1"), Lines{"pump,pump=p1 t=1"});
  EXPECT_EQ(Converted(PlantPumps(), "plant//pump/", "pump t=1"), Lines{"pump t=1"});
}

TEST(MqttLinePayloadTest, IndentedLineIsTaggedAfterItsMeasurement) {
  // ParseLine skips blanks at the start of a line; the tags go after the
  // measurement, not in front of the indentation.
  const Lines lines = Converted(PlantPumps(), kTopic, "  \tpump t=1");
  EXPECT_EQ(lines, Lines{"  \tpump,site=north,pump=p1 t=1"});
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(Parsed(lines[0]).measurement, "pump");
}

TEST(MqttLinePayloadTest, EscapedSpacesInTheSeriesAreNotItsEnd) {
  EXPECT_EQ(Converted(PlantPumps(), kTopic, "my\\ pump,k=a\\ b t=\"x y\" 5"),
            Lines{"my\\ pump,k=a\\ b,site=north,pump=p1 t=\"x y\" 5"});
}

TEST(MqttLinePayloadTest, LinesThatDoNotParsePassThroughUnchanged) {
  // The ingestor refuses them with the parser's message and counts them.
  EXPECT_EQ(Converted(PlantPumps(), kTopic, "pump temp=\n# a comment\npump t=1\nno fields"),
            (Lines{"pump temp=", "# a comment", "pump,site=north,pump=p1 t=1", "no fields"}));
}

TEST(MqttLinePayloadTest, SubscriptionWithoutTagLevelsLeavesLinesAlone) {
  MqttSubscription s;
  s.topic = s.filter = "sensors/#";
  s.level_tags = {"", ""};
  EXPECT_EQ(Converted(s, "sensors/a/b/c", "cpu,host=a usage=0.5 1\r\n"), Lines{"cpu,host=a usage=0.5 1"});
}

TEST(MqttLinePayloadTest, TagLevelsBeforeAHashAreRead) {
  MqttSubscription s;
  s.topic = "site/{site}/#";
  s.filter = "site/+/#";
  s.level_tags = {"", "site", ""};
  EXPECT_EQ(Converted(s, "site/eu/x/y/z", "m f=1"), Lines{"m,site=eu f=1"});
  EXPECT_EQ(Converted(s, "site/eu", "m f=1"), Lines{"m,site=eu f=1"});
}

TEST(MqttLinePayloadTest, PayloadWithoutLinesIsRefusedAsEmpty) {
  for (const char* payload : {"", "\n", "\r\n\r\n", " \t \n  "}) {
    EXPECT_EQ(RefusalOf(PlantPumps(), payload), "empty: the payload holds no line") << payload;
  }
}

// ---- JSON payloads ----

TEST(MqttJsonPayloadTest, TheDocumentedExample) {
  const Lines lines = Converted(JsonPumps(), kTopic,
                                R"({"measurement": "pump", "ts": 1733390000.25, "tags": {"line": "a"},
                                    "fields": {"temperature": 61.2, "flow": 118}})");
  // Fields and payload tags come in key order (nlohmann's objects are sorted
  // maps), then the topic's tags in level order.
  EXPECT_EQ(lines, Lines{"pump,line=a,site=north,pump=p1 flow=118,temperature=61.2 1733390000250000000"});
}

TEST(MqttJsonPayloadTest, MeasurementFromThePayloadOrTheSubscription) {
  EXPECT_EQ(Converted(JsonPumps("pump"), kTopic, R"({"fields": {"t": 1}})"),
            Lines{"pump,site=north,pump=p1 t=1"});
  EXPECT_EQ(Converted(JsonPumps("pump"), kTopic, R"({"measurement": "fan", "fields": {"t": 1}})"),
            Lines{"fan,site=north,pump=p1 t=1"});
  EXPECT_EQ(Converted(JsonPumps(), kTopic, R"({"measurement": "fan", "fields": {"t": 1}})"),
            Lines{"fan,site=north,pump=p1 t=1"});
}

TEST(MqttJsonPayloadTest, TimestampSecondsWithFractionInEveryPrecision) {
  const MqttSubscription s = JsonPumps("m");
  const auto at = [&](const char* ts, TimestampPrecision p) {
    const Lines lines =
        Converted(s, "plant/a/pump/b", std::string(R"({"fields": {"v": 1}, "ts": )") + ts + "}", p);
    return lines.size() == 1 ? lines[0].substr(lines[0].rfind(' ') + 1)
                             : "(" + std::to_string(lines.size()) + ")";
  };
  using P = TimestampPrecision;
  // .25 and .5 are exact doubles: every digit is exact, nanoseconds included
  // (scaling 1733390000.25 by 1e9 as one double would give ...249999872).
  EXPECT_EQ(at("1733390000.25", P::kSeconds), "1733390000");
  EXPECT_EQ(at("1733390000.25", P::kMilliseconds), "1733390000250");
  EXPECT_EQ(at("1733390000.25", P::kMicroseconds), "1733390000250000");
  EXPECT_EQ(at("1733390000.25", P::kNanoseconds), "1733390000250000000");
  EXPECT_EQ(at("1733390000.5", P::kSeconds), "1733390001");  // halves round away from zero
  EXPECT_EQ(at("1733390000.5", P::kNanoseconds), "1733390000500000000");
  // .123 is not a double: the nearest, 1733390000.1229999065399169921875,
  // rounds to the right millisecond and microsecond; nanoseconds show the
  // double's 0.24 microsecond spacing at this magnitude.
  EXPECT_EQ(at("1733390000.123", P::kMilliseconds), "1733390000123");
  EXPECT_EQ(at("1733390000.123", P::kMicroseconds), "1733390000123000");
  EXPECT_EQ(at("1733390000.123", P::kNanoseconds), "1733390000122999907");
  EXPECT_EQ(at("1733390000", P::kNanoseconds), "1733390000000000000");
  EXPECT_EQ(at("0", P::kNanoseconds), "0");
  EXPECT_EQ(at("-0.0", P::kNanoseconds), "0");
  EXPECT_EQ(at("1.5e9", P::kSeconds), "1500000000");
  // Up to (2^63 - 1) / units - 1 whole seconds: one more second must still fit.
  EXPECT_EQ(at("9223372035.5", P::kNanoseconds), "9223372035500000000");
  EXPECT_EQ(at("9223372036854774", P::kMilliseconds), "9223372036854774000");
}

TEST(MqttJsonPayloadTest, TagsMergeWithTheTopicsAndThePayloadWins) {
  EXPECT_EQ(
      Converted(JsonPumps("pump"), kTopic, R"({"tags": {"site": "south", "a": "1"}, "fields": {"t": 1}})"),
      Lines{"pump,a=1,site=south,pump=p1 t=1"});
  EXPECT_EQ(Converted(JsonPumps("pump"), "plant//pump/p1", R"({"fields": {"t": 1}})"),
            Lines{"pump,pump=p1 t=1"});
}

TEST(MqttJsonPayloadTest, BooleansIntegersAndFloats) {
  EXPECT_EQ(Converted(JsonPumps("m"), kTopic,
                      R"({"fields": {"on": true, "off": false, "n": -3, "big": 12345678901234567890,
                                     "small": 1e-300, "neg": -0.0, "e": 2.5E3}})"),
            Lines{"m,site=north,pump=p1 big=12345678901234567168,e=2500,n=-3,neg=-0,off=false,on=true,"
                  "small=1e-300"});  // each number in its shortest form that reads back exactly
}

TEST(MqttJsonPayloadTest, NamesAreEscaped) {
  const Lines lines = Converted(JsonPumps(), "plant/x=y/pump/p1",
                                R"({"measurement": "my pump,a=b", "tags": {"k ey": "v,al=ue\\"},
                                    "fields": {"f=1 x": 2}})");
  EXPECT_EQ(lines, Lines{"my\\ pump\\,a=b,k\\ ey=v\\,al\\=ue\\\\,site=x\\=y,pump=p1 f\\=1\\ x=2"});
  ASSERT_EQ(lines.size(), 1u);
  const ParsedLine p = Parsed(lines[0]);
  EXPECT_EQ(p.measurement, "my pump,a=b");
  EXPECT_EQ(TagsOf(p), (Tags{{"k ey", "v,al=ue\\"}, {"pump", "p1"}, {"site", "x=y"}}));
  ASSERT_EQ(p.field_count, 1u);
  EXPECT_EQ(p.fields[0].first, "f=1 x");
}

TEST(MqttJsonPayloadTest, LinesReadBackAsThePayloadSays) {
  struct Case {
    const char* topic;
    const char* payload;
    TimestampPrecision precision;
    const char* measurement;
    Tags tags;  // sorted, as ParseLine gives them
    std::vector<std::pair<std::string, double>> fields;
    std::optional<int64_t> timestamp;
  };
  const std::vector<Case> cases = {
      {kTopic,
       R"({"measurement": "pump", "ts": 1733390000.25, "tags": {"line": "a"},
                  "fields": {"temperature": 61.2, "flow": 118}})",
       TimestampPrecision::kNanoseconds,
       "pump",
       {{"line", "a"}, {"pump", "p1"}, {"site", "north"}},
       {{"flow", 118}, {"temperature", 61.2}},
       1733390000250000000},
      {"plant/é ü/pump/7",
       R"({"measurement": "ü", "ts": 2, "fields": {"x": -1.5e-7, "y": true}})",
       TimestampPrecision::kMilliseconds,
       "ü",
       {{"pump", "7"}, {"site", "é ü"}},
       {{"x", -1.5e-7}, {"y", 1}},
       2000},
      {"plant/a/pump/b",
       R"({"measurement": "m", "tags": {"pump": "own"}, "fields": {"v": 0.1}})",
       TimestampPrecision::kSeconds,
       "m",
       {{"pump", "own"}, {"site", "a"}},
       {{"v", 0.1}},
       std::nullopt},
  };
  for (const Case& c : cases) {
    const Lines lines = Converted(JsonPumps(), c.topic, c.payload, c.precision);
    ASSERT_EQ(lines.size(), 1u) << c.payload;
    const ParsedLine p = Parsed(lines[0]);
    EXPECT_EQ(p.measurement, c.measurement) << lines[0];
    EXPECT_EQ(TagsOf(p), c.tags) << lines[0];
    ASSERT_EQ(p.field_count, c.fields.size()) << lines[0];
    for (size_t i = 0; i < c.fields.size(); ++i) {
      EXPECT_EQ(p.fields[i].first, c.fields[i].first) << lines[0];
      EXPECT_EQ(p.fields[i].second.number, c.fields[i].second)
          << lines[0];  // shortest form reads back exactly
    }
    EXPECT_EQ(p.timestamp, c.timestamp) << lines[0];
  }
}

TEST(MqttJsonPayloadTest, RefusalsSayWhyAndWhichReason) {
  const MqttSubscription s = JsonPumps();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"pump t=1", "not_json: the payload is not JSON"},
      {R"({"fields": {"t": 1})", "not_json: the payload is not JSON"},
      {R"({"measurement": "m", "fields": {"t": 1}} x)", "not_json: the payload is not JSON"},
      // nlohmann refuses numbers beyond a double as a parse error (number overflow).
      {R"({"measurement": "m", "fields": {"t": 1e999}})", "not_json: the payload is not JSON"},
      {R"({"measurement": "m", "fields": {"t": 1}, "ts": -1e999})", "not_json: the payload is not JSON"},
      {"[1]", "json_shape: the payload is not a JSON object"},
      {"\"pump\"", "json_shape: the payload is not a JSON object"},
      {"null", "json_shape: the payload is not a JSON object"},
      {R"({"measurement": "m", "fields": {"t": 1}, "time": 5})",
       "json_shape: unknown key \"time\" (expected measurement, ts, tags, fields)"},
      {R"({"measurement": 5, "fields": {"t": 1}})", "json_shape: \"measurement\" is not a string"},
      {R"({"measurement": null, "fields": {"t": 1}})", "json_shape: \"measurement\" is not a string"},
      {R"({"measurement": "", "fields": {"t": 1}})", "json_shape: \"measurement\" is empty"},
      {R"({"fields": {"t": 1}})",
       "json_shape: no measurement: the payload names none and the subscription neither"},
      {"{}", "json_shape: no measurement: the payload names none and the subscription neither"},
      {R"({"measurement": "m"})", "json_shape: \"fields\" is missing or not a non-empty object"},
      {R"({"measurement": "m", "fields": {}})",
       "json_shape: \"fields\" is missing or not a non-empty object"},
      {R"({"measurement": "m", "fields": [1]})",
       "json_shape: \"fields\" is missing or not a non-empty object"},
      {R"({"measurement": "m", "fields": 1})", "json_shape: \"fields\" is missing or not a non-empty object"},
      {R"({"measurement": "m", "fields": {"t": "1"}})",
       "json_shape: field \"t\" is not a number or a boolean"},
      {R"({"measurement": "m", "fields": {"t": null}})",
       "json_shape: field \"t\" is not a number or a boolean"},
      {R"({"measurement": "m", "fields": {"t": [1]}})",
       "json_shape: field \"t\" is not a number or a boolean"},
      {R"({"measurement": "m", "fields": {"t": {"v": 1}}})",
       "json_shape: field \"t\" is not a number or a boolean"},
      {R"({"measurement": "m", "fields": {"": 1}})", "json_shape: a field key is empty"},
      {R"({"measurement": "m", "tags": ["a"], "fields": {"t": 1}})", "json_shape: \"tags\" is not an object"},
      {R"({"measurement": "m", "tags": {"a": 1}, "fields": {"t": 1}})",
       "json_shape: tag \"a\" is not a string"},
      {R"({"measurement": "m", "tags": {"a": null}, "fields": {"t": 1}})",
       "json_shape: tag \"a\" is not a string"},
      {R"({"measurement": "m", "tags": {"a": ""}, "fields": {"t": 1}})",
       "json_shape: the value of tag \"a\" is empty"},
      {R"({"measurement": "m", "tags": {"": "x"}, "fields": {"t": 1}})", "json_shape: a tag key is empty"},
      {R"({"measurement": "m", "fields": {"t": 1}, "ts": "1733390000"})",
       "json_shape: \"ts\" is not a number (Unix seconds)"},
      {R"({"measurement": "m", "fields": {"t": 1}, "ts": true})",
       "json_shape: \"ts\" is not a number (Unix seconds)"},
      {R"({"measurement": "m", "fields": {"t": 1}, "ts": -1})",
       "json_shape: \"ts\" is out of range (Unix seconds)"},
      {R"({"measurement": "m", "fields": {"t": 1}, "ts": -0.25})",
       "json_shape: \"ts\" is out of range (Unix seconds)"},
      {R"({"measurement": "m", "fields": {"t": 1}, "ts": 9223372036})",
       "json_shape: \"ts\" is out of range (Unix seconds)"},
      {R"({"measurement": "m", "fields": {"t": 1}, "ts": 1e300})",
       "json_shape: \"ts\" is out of range (Unix seconds)"},
      {R"({"measurement": "m", "fields": {"t": 1}, "ts": 18446744073709551615})",
       "json_shape: \"ts\" is out of range (Unix seconds)"},
  };
  for (const auto& [payload, refusal] : cases) EXPECT_EQ(RefusalOf(s, payload), refusal) << payload;
}

TEST(MqttJsonPayloadTest, TimestampRangeDependsOnThePrecision) {
  const MqttSubscription s = JsonPumps("m");
  const std::string big = R"({"fields": {"t": 1}, "ts": 9223372036854776})";
  EXPECT_EQ(RefusalOf(s, big, kTopic, TimestampPrecision::kMilliseconds),
            "json_shape: \"ts\" is out of range (Unix seconds)");
  EXPECT_EQ(Converted(s, kTopic, big, TimestampPrecision::kSeconds),
            Lines{"m,site=north,pump=p1 t=1 9223372036854776"});
}

TEST(MqttJsonPayloadTest, NamesTheParserWouldRefuseOrMisreadAreRefused) {
  const MqttSubscription s = JsonPumps();
  const std::vector<std::pair<std::string, std::string>> cases = {
      // A line starting with '#' is a comment: the sample would vanish.
      {R"({"measurement": "#pump", "fields": {"t": 1}})",
       "json_shape: the measurement \"#pump\" starts with '#'"},
      // ParseLine would skip the tab and read "pump".
      {R"({"measurement": "\tpump", "fields": {"t": 1}})",
       "json_shape: the measurement \"\\tpump\" holds a control character"},
      {R"({"measurement": "m", "tags": {"a\nb": "x"}, "fields": {"t": 1}})",
       "json_shape: a tag key \"a\\nb\" holds a control character"},
      {R"({"measurement": "m", "tags": {"a": "x\u007f"}, "fields": {"t": 1}})",
       "json_shape: the value of tag \"a\" \"x\\x7F\" holds a control character"},
      {R"({"measurement": "m", "fields": {"t\r": 1}})",
       "json_shape: a field key \"t\\r\" holds a control character"},
      // U+202E (right-to-left override): refused by the parser, in its words.
      {R"({"measurement": "m\u202e", "fields": {"t": 1}})",
       "json_shape: the payload makes an invalid line: Unicode format control U+202E in measurement"},
  };
  for (const auto& [payload, refusal] : cases) EXPECT_EQ(RefusalOf(s, payload), refusal) << payload;
  // The topic's levels go through the same final check.
  EXPECT_EQ(RefusalOf(JsonPumps("m"), R"({"fields": {"t": 1}})", "plant/a\tb/pump/p1"),
            "json_shape: the payload makes an invalid line: invalid character \"\\t\" in tag value");
}

TEST(MqttJsonPayloadTest, EmptyPayloadIsRefusedAsEmpty) {
  // What a broker delivers when a retained message is cleared.
  for (const char* payload : {"", " \r\n\t"}) {
    EXPECT_EQ(RefusalOf(JsonPumps("m"), payload), "empty: the payload is empty") << payload;
  }
}

TEST(MqttJsonPayloadTest, EveryStrictPrefixIsRefusedWithAReason) {
  // An MQTT message arrives whole, so there is no chunking to test; instead,
  // a payload cut anywhere is refused, never crashes and never makes a line.
  const std::string payload =
      R"({"measurement":"pump","ts":1733390000.25,"tags":{"line":"a b"},"fields":{"t":61.2,"on":true,"n":-3e2}})";
  ASSERT_EQ(Converted(JsonPumps(), kTopic, payload).size(), 1u);
  for (size_t n = 0; n < payload.size(); ++n) {
    const MqttConversion c = ConvertMqttMessage(JsonPumps(), kTopic, std::string_view(payload).substr(0, n),
                                                TimestampPrecision::kSeconds);
    EXPECT_EQ(c.refusal, n == 0 ? MqttRefusal::kEmpty : MqttRefusal::kNotJson) << n;
    EXPECT_FALSE(c.error.empty()) << n;
    EXPECT_TRUE(c.lines.empty()) << n;
  }
}

TEST(MqttRefusalLabelTest, EveryReasonHasItsLabel) {
  EXPECT_STREQ(MqttRefusalLabel(MqttRefusal::kNone), "none");
  EXPECT_STREQ(MqttRefusalLabel(MqttRefusal::kTopic), "topic");
  EXPECT_STREQ(MqttRefusalLabel(MqttRefusal::kNotJson), "not_json");
  EXPECT_STREQ(MqttRefusalLabel(MqttRefusal::kJsonShape), "json_shape");
  EXPECT_STREQ(MqttRefusalLabel(MqttRefusal::kEmpty), "empty");
  EXPECT_STREQ(MqttRefusalLabel(MqttRefusal::kTooLarge), "too_large");
  EXPECT_STREQ(MqttRefusalLabel(MqttRefusal::kNotValue), "not_value");
}

// format: value on "plant/{site}/pump/{pump}/+": the field is the topic's
// last level unless the subscription names one.
MqttSubscription ValuePumps(std::string field = "") {
  MqttSubscription s;
  s.topic = "plant/{site}/pump/{pump}/+";
  s.filter = "plant/+/pump/+/+";
  s.level_tags = {"", "site", "", "pump", ""};
  s.format = MqttSubscription::Format::kValue;
  s.measurement = "pump";
  s.field = std::move(field);
  return s;
}

TEST(MqttValuePayloadTest, ANumberBecomesOneFieldNamedByTheLastLevelWithoutATimestamp) {
  const MqttSubscription s = ValuePumps();
  EXPECT_EQ(Converted(s, "plant/north/pump/p1/temperature", "61.25"),
            Lines{"pump,site=north,pump=p1 temperature=61.25"});
  EXPECT_EQ(Converted(s, "plant/north/pump/p1/flow", " -1e3\r\n"), Lines{"pump,site=north,pump=p1 flow=-1000"});
  EXPECT_EQ(Converted(s, "plant/north/pump/p1/running", "true"), Lines{"pump,site=north,pump=p1 running=true"});
  EXPECT_EQ(Converted(s, "plant/n s/pump/p=1/a,b", "7"), Lines{"pump,site=n\\ s,pump=p\\=1 a\\,b=7"});
  EXPECT_EQ(Converted(ValuePumps("level"), "plant/north/pump/p1/anything", "3"),
            Lines{"pump,site=north,pump=p1 level=3"});
}

TEST(MqttValuePayloadTest, ReadsBackAsOnePointWithTheTopicsTags) {
  const Lines lines = Converted(ValuePumps(), "plant/north/pump/p1/pressure", "4.125");
  ASSERT_EQ(lines.size(), 1u);
  ParsedLine parsed;
  ParseError error;
  ASSERT_EQ(ParseLine(lines[0], &parsed, &error), ParseResult::kPoint) << error.message;
  EXPECT_EQ(parsed.measurement, "pump");
  ASSERT_EQ(parsed.field_count, 1u);
  EXPECT_EQ(parsed.fields[0].first, "pressure");
  EXPECT_EQ(parsed.fields[0].second.kind, FieldValue::Kind::kFloat);
  EXPECT_EQ(parsed.fields[0].second.number, 4.125);
  EXPECT_FALSE(parsed.timestamp.has_value());
}

TEST(MqttValuePayloadTest, WhatIsNotOneValueIsRefused) {
  const MqttSubscription s = ValuePumps();
  constexpr char kAt[] = "plant/north/pump/p1/temperature";
  EXPECT_EQ(RefusalOf(s, "", kAt), "empty: the payload is empty");
  EXPECT_EQ(RefusalOf(s, " \r\n", kAt), "empty: the payload is empty");
  EXPECT_EQ(RefusalOf(s, "hot", kAt), "not_value: the payload \"hot\" is not a number or a boolean");
  EXPECT_EQ(RefusalOf(s, "1 2", kAt), "not_value: the payload \"1 2\" is not a number or a boolean");
  EXPECT_EQ(RefusalOf(s, "{\"v\": 1}", kAt), "not_value: the payload \"{\\\"v\\\": 1}\" is not a number or a boolean");
  EXPECT_EQ(RefusalOf(s, "nan", kAt), "not_value: the value \"nan\" is not finite");
  EXPECT_EQ(RefusalOf(s, "1e999", kAt), "not_value: the payload \"1e999\" is not a number or a boolean");
  EXPECT_EQ(RefusalOf(s, "5", "plant/north/pump/p1/"),
            "topic: the field name (the topic's last level) is empty");
}

}  // namespace
}  // namespace lstmad::daemon
