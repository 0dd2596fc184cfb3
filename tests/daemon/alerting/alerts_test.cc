#include "alerting/alerts.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace lstmad::daemon {
namespace {

// --- Reading the events back, with a parser we did not write ---------------

// Keys in document order; fails the test on text that is not JSON.
nlohmann::ordered_json ParseJson(const std::string& text) {
  try {
    return nlohmann::ordered_json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    ADD_FAILURE() << "not valid JSON (" << e.what() << "): " << text;
    return nullptr;
  }
}

AlertEvent SampleEvent() {
  AlertEvent e;
  e.kind = "fired";
  e.time_ns = 1714564800123456789;  // 2024-05-01T12:00:00.123456789Z
  e.model = "cpu";
  e.stream = "cpu,host=a";
  e.error = 0.123456789012;
  e.threshold = 0.1;
  e.window_start_ns = 1714564770000000000;
  e.window_end_ns = 1714564799000000001;
  e.top_features = {{"usage_user", 0.75}, {"usage_system", 0.25}};
  return e;
}

// --- AlertEventJson ----------------------------------------------------------

TEST(AlertEventJsonTest, WritesTheExactDocument) {
  EXPECT_EQ(AlertEventJson(SampleEvent()),
            R"({"kind":"fired","time":"2024-05-01T12:00:00.123456789Z","model":"cpu",)"
            R"("stream":"cpu,host=a","error":0.123456789,"threshold":0.1,)"
            R"("window_start":"2024-05-01T11:59:30.000000000Z",)"
            R"("window_end":"2024-05-01T11:59:59.000000001Z",)"
            R"("top_features":[{"feature":"usage_user","share":0.75},)"
            R"({"feature":"usage_system","share":0.25}]})");
}

// A stream that went away is resolved without a window: error null, the
// reason last.
TEST(AlertEventJsonTest, AResolutionWithAReasonEndsWithIt) {
  AlertEvent e = SampleEvent();
  e.kind = "resolved";
  e.error = std::numeric_limits<double>::quiet_NaN();
  e.reason = "model_reshaped";
  EXPECT_EQ(AlertEventJson(e), R"({"kind":"resolved","time":"2024-05-01T12:00:00.123456789Z","model":"cpu",)"
                               R"("stream":"cpu,host=a","error":null,"threshold":0.1,)"
                               R"("window_start":"2024-05-01T11:59:30.000000000Z",)"
                               R"("window_end":"2024-05-01T11:59:59.000000001Z",)"
                               R"("top_features":[{"feature":"usage_user","share":0.75},)"
                               R"({"feature":"usage_system","share":0.25}],"reason":"model_reshaped"})");
}

TEST(AlertEventJsonTest, KeysComeInTheDocumentedOrder) {
  const nlohmann::ordered_json json = ParseJson(AlertEventJson(SampleEvent()));
  ASSERT_TRUE(json.is_object());
  std::vector<std::string> keys;
  for (const auto& [k, v] : json.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"kind", "time", "model", "stream", "error", "threshold",
                                            "window_start", "window_end", "top_features"}));
  EXPECT_EQ(json["top_features"].size(), 2u);
  EXPECT_EQ(json["top_features"][1]["feature"], "usage_system");
  for (const auto& item : json["top_features"]) {
    std::vector<std::string> item_keys;
    for (const auto& [k, v] : item.items()) item_keys.push_back(k);
    EXPECT_EQ(item_keys, (std::vector<std::string>{"feature", "share"}));
  }
}

TEST(AlertEventJsonTest, EmptyTopFeaturesIsAnEmptyArray) {
  AlertEvent e = SampleEvent();
  e.top_features.clear();
  const std::string text = AlertEventJson(e);
  EXPECT_NE(text.find(R"("top_features":[]})"), std::string::npos) << text;
  EXPECT_TRUE(ParseJson(text)["top_features"].is_array());
}

TEST(AlertEventJsonTest, NumbersKeepNineSignificantDigits) {
  AlertEvent e = SampleEvent();
  e.error = 1.0 / 3.0;
  e.threshold = 12345678901.0;
  e.top_features = {{"f", 1e-12}};
  const std::string text = AlertEventJson(e);
  EXPECT_NE(text.find(R"("error":0.333333333,)"), std::string::npos) << text;
  // nlohmann's spelling of 1.23456789e+10: the same nine digits.
  EXPECT_NE(text.find(R"("threshold":12345678900.0,)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("share":1e-12})"), std::string::npos) << text;
  const nlohmann::ordered_json json = ParseJson(text);
  EXPECT_EQ(json["error"].get<double>(), 0.333333333);
  EXPECT_EQ(json["threshold"].get<double>(), 12345678900.0);
}

// Each number reads back as exactly the double its %.9g spelling names
// (the rounding the events file has always had), carries included.
TEST(AlertEventJsonTest, NumbersAreRoundedToNineDigitsBeforeWriting) {
  const std::vector<std::pair<double, std::string>> cases = {
      {0.123456789012, "0.123456789"},  {2.0 / 3.0, "0.666666667"},   {0.99999999999, "1.0"},
      {-1234.56789012, "-1234.56789"},  {3.0, "3.0"},                 {0.0, "0.0"},
      {1.5e-7, "1.5e-07"},              {123456789.4, "123456789.0"}, {6.02214076e23, "6.02214076e+23"},
  };
  for (const auto& [value, spelled] : cases) {
    AlertEvent e = SampleEvent();
    e.error = value;
    const std::string text = AlertEventJson(e);
    EXPECT_NE(text.find("\"error\":" + spelled + ","), std::string::npos) << value << ": " << text;
    char nine[32];
    std::snprintf(nine, sizeof nine, "%.9g", value);
    EXPECT_EQ(ParseJson(text)["error"].get<double>(), std::strtod(nine, nullptr)) << value;
  }
}

TEST(AlertEventJsonTest, NonFiniteNumbersAreNull) {
  AlertEvent e = SampleEvent();
  e.error = std::numeric_limits<double>::quiet_NaN();
  e.threshold = std::numeric_limits<double>::infinity();
  e.top_features = {{"f", -std::numeric_limits<double>::infinity()},
                    {"g", -std::numeric_limits<double>::quiet_NaN()}};
  const std::string text = AlertEventJson(e);
  EXPECT_NE(text.find(R"("error":null,"threshold":null,)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"([{"feature":"f","share":null},{"feature":"g","share":null}])"), std::string::npos)
      << text;
  const nlohmann::ordered_json json = ParseJson(text);
  EXPECT_TRUE(json["error"].is_null());
  EXPECT_TRUE(json["threshold"].is_null());
  EXPECT_TRUE(json["top_features"][1]["share"].is_null());
}

TEST(AlertEventJsonTest, TimesAreRfc3339UtcWithNanoseconds) {
  AlertEvent e = SampleEvent();
  e.time_ns = 0;
  e.window_start_ns = -1;                // floors into the previous second
  e.window_end_ns = 951782400000000999;  // a leap day
  const nlohmann::ordered_json json = ParseJson(AlertEventJson(e));
  EXPECT_EQ(json["time"], "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(json["window_start"], "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(json["window_end"], "2000-02-29T00:00:00.000000999Z");
}

// \n \t \r as short escapes (the daemon's one JSON string writer,
// nlohmann's, spells them so; before it they were \u000a \u0009 \u000d).
TEST(AlertEventJsonTest, EscapesQuotesBackslashesAndControlCharacters) {
  AlertEvent e = SampleEvent();
  e.stream = "cpu,host=\"a\\b\"\n\t\r\x01\x1f\x7f";
  e.model = std::string("m\0x", 3);
  const std::string text = AlertEventJson(e);
  EXPECT_NE(text.find(R"("stream":"cpu,host=\"a\\b\"\n\t\r\u0001\u001f)"
                      "\x7f\""),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"("model":"m\u0000x")"), std::string::npos) << text;
  const nlohmann::ordered_json json = ParseJson(text);
  EXPECT_EQ(json["stream"], e.stream);
  EXPECT_EQ(json["model"], e.model);
}

TEST(AlertEventJsonTest, PassesValidUtf8Through) {
  AlertEvent e = SampleEvent();
  e.stream = "temp,room=caf\u00e9,site=\u6771\u4eac,mood=\U0001F600";
  e.top_features = {{"\u00b0C", 1}};
  const std::string text = AlertEventJson(e);
  EXPECT_NE(text.find("\"stream\":\"" + e.stream + "\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"feature\":\"\u00b0C\""), std::string::npos) << text;
  EXPECT_EQ(ParseJson(text)["stream"], e.stream);
}

// Each maximal ill-formed subsequence becomes one U+FFFD, written as UTF-8.
TEST(AlertEventJsonTest, ReplacesInvalidUtf8WithReplacementCharacter) {
  struct Case {
    std::string input, expected;
  };
  // Octal escapes, since a hex escape would swallow the letter after it.
  const std::string r = "\357\277\275";  // U+FFFD
  const std::vector<Case> cases = {
      {"a\377b", "a" + r + "b"},               // never valid
      {"\303", r},                             // truncated at the end
      {"\346\227x", r + "x"},                  // truncated in the middle: one subpart
      {"\300\257", r + r},                     // overlong '/'
      {"\355\240\200", r + r + r},             // UTF-16 surrogate
      {"\364\220\200\200", r + r + r + r},     // past U+10FFFF
      {"\200", r},                             // lone continuation byte
  };
  for (const Case& c : cases) {
    AlertEvent e = SampleEvent();
    e.stream = c.input;
    e.top_features = {{c.input, 1}};
    const std::string text = AlertEventJson(e);
    EXPECT_NE(text.find("\"stream\":\"" + c.expected + "\","), std::string::npos) << text;
    EXPECT_NE(text.find("\"feature\":\"" + c.expected + "\","), std::string::npos) << text;
    EXPECT_EQ(ParseJson(text)["stream"], c.expected);
  }
}

}  // namespace
}  // namespace lstmad::daemon
