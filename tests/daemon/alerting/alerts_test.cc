#include "alerting/alerts.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace lstmad::daemon {
namespace {

// --- AlertState --------------------------------------------------------------

// `windows`: one char per window, '1' above the threshold, '0' not.
// `expected`: one char per window, '.' no transition, 'F' fired, 'R' resolved.
struct AlertCase {
  const char* name;
  int fire_after;
  int clear_after;
  std::string_view windows;
  std::string_view expected;
};

const AlertCase kAlertCases[] = {
    {"QuietBelowThreshold", 3, 3, "00000", "....."},
    {"FiresExactlyAtFor", 3, 3, "111", "..F"},
    {"StaysFiringWhileAbove", 3, 3, "111111", "..F..."},
    {"InterruptionResetsTheFiringRun", 3, 3, "1101101110", "........F."},
    {"ResolvesExactlyAtClear", 3, 3, "111000", "..F..R"},
    {"InterruptionResetsTheClearingRun", 3, 3, "1110010001000", "..F.....R...."},
    {"FiresAgainAfterResolving", 2, 2, "11001100", ".F.R.F.R"},
    {"ForOneClearOneFollowsEveryWindow", 1, 1, "1010011", "FRFR.F."},
    {"ForOneClearThree", 1, 3, "10001", "F..RF"},
    {"ForTwoClearOne", 2, 1, "1101", ".FR."},
    {"ForBelowOneActsAsOne", 0, 0, "10", "FR"},
};

class AlertStateTest : public ::testing::TestWithParam<AlertCase> {};

TEST_P(AlertStateTest, TransitionsMatchTable) {
  const AlertCase& c = GetParam();
  ASSERT_EQ(c.windows.size(), c.expected.size());
  const config::AlertSettings settings{c.fire_after, c.clear_after};
  AlertState state;
  std::string got;
  bool firing = false;
  for (char w : c.windows) {
    switch (state.Observe(w == '1', settings)) {
      case AlertState::Transition::kNone: got += '.'; break;
      case AlertState::Transition::kFired:
        got += 'F';
        firing = true;
        break;
      case AlertState::Transition::kResolved:
        got += 'R';
        firing = false;
        break;
    }
    EXPECT_EQ(state.firing(), firing) << "after window " << got.size();
  }
  EXPECT_EQ(got, c.expected) << "windows " << c.windows;
}

INSTANTIATE_TEST_SUITE_P(Table, AlertStateTest, ::testing::ValuesIn(kAlertCases),
                         [](const auto& test) { return std::string(test.param.name); });

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

TEST(AlertEventJsonTest, KeysComeInTheDocumentedOrder) {
  const nlohmann::ordered_json json = ParseJson(AlertEventJson(SampleEvent()));
  ASSERT_TRUE(json.is_object());
  std::vector<std::string> keys;
  for (const auto& [k, v] : json.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"kind", "time", "model", "stream", "error", "threshold",
                                            "window_start", "window_end", "top_features"}));
  EXPECT_EQ(json["top_features"].size(), 2u);
  EXPECT_EQ(json["top_features"][1]["feature"], "usage_system");
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
  EXPECT_NE(text.find(R"("threshold":1.23456789e+10,)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("share":1e-12})"), std::string::npos) << text;
  const nlohmann::ordered_json json = ParseJson(text);
  EXPECT_NEAR(json["error"].get<double>(), 1.0 / 3.0, 1e-9);
}

TEST(AlertEventJsonTest, NonFiniteNumbersAreNull) {
  AlertEvent e = SampleEvent();
  e.error = std::numeric_limits<double>::quiet_NaN();
  e.threshold = std::numeric_limits<double>::infinity();
  e.top_features = {{"f", -std::numeric_limits<double>::infinity()}};
  const std::string text = AlertEventJson(e);
  EXPECT_NE(text.find(R"("error":null,"threshold":null,)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("share":null})"), std::string::npos) << text;
  EXPECT_TRUE(ParseJson(text)["error"].is_null());
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
