#include "alerting/alerts.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

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

// --- A tiny JSON reader, to read the events back -----------------------------

struct Json {
  enum Type { kNull, kNumber, kString, kArray, kObject } type = kNull;
  double number = 0;
  std::string string;
  std::vector<Json> array;
  std::vector<std::pair<std::string, Json>> object;  // in document order

  const Json& operator[](std::string_view key) const {
    for (const auto& [k, v] : object) {
      if (k == key) return v;
    }
    static const Json kMissing;
    ADD_FAILURE() << "no key " << key;
    return kMissing;
  }
};

// Strict enough for what AlertEventJson writes; fails the test on anything else.
class JsonReader {
 public:
  explicit JsonReader(std::string_view text) : s_(text) {}

  bool Parse(Json* out) {
    if (!Value(out)) return false;
    Space();
    return i_ == s_.size();
  }

 private:
  void Space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t')) ++i_;
  }
  bool Eat(char c) {
    Space();
    if (i_ < s_.size() && s_[i_] == c) return ++i_, true;
    return false;
  }

  bool Value(Json* out) {
    Space();
    if (i_ >= s_.size()) return false;
    if (s_.substr(i_, 4) == "null") return i_ += 4, out->type = Json::kNull, true;
    if (s_[i_] == '"') return out->type = Json::kString, String(&out->string);
    if (Eat('[')) {
      out->type = Json::kArray;
      if (Eat(']')) return true;
      do {
        out->array.emplace_back();
        if (!Value(&out->array.back())) return false;
      } while (Eat(','));
      return Eat(']');
    }
    if (Eat('{')) {
      out->type = Json::kObject;
      if (Eat('}')) return true;
      do {
        std::string key;
        Space();
        if (!String(&key) || !Eat(':')) return false;
        out->object.emplace_back(key, Json{});
        if (!Value(&out->object.back().second)) return false;
      } while (Eat(','));
      return Eat('}');
    }
    return Number(out);
  }

  bool Number(Json* out) {
    const size_t start = i_;
    while (i_ < s_.size() && std::string_view("+-0123456789.eE").find(s_[i_]) != s_.npos) ++i_;
    if (i_ == start) return false;
    const std::string text(s_.substr(start, i_ - start));
    size_t used = 0;
    out->type = Json::kNumber;
    out->number = std::stod(text, &used);
    return used == text.size();
  }

  bool String(std::string* out) {
    if (s_[i_++] != '"') return false;
    while (i_ < s_.size()) {
      const auto c = static_cast<unsigned char>(s_[i_++]);
      if (c == '"') return true;
      if (c < 0x20) return false;  // raw control characters are not allowed
      if (c != '\\') {
        *out += static_cast<char>(c);
        continue;
      }
      if (i_ >= s_.size()) return false;
      const char e = s_[i_++];
      if (e == 'u') {
        if (i_ + 4 > s_.size()) return false;
        AppendUtf8(std::stoul(std::string(s_.substr(i_, 4)), nullptr, 16), out);
        i_ += 4;
      } else if (e == '"' || e == '\\' || e == '/') {
        *out += e;
      } else {
        return false;  // AlertEventJson writes no other escapes
      }
    }
    return false;
  }

  static void AppendUtf8(unsigned long cp, std::string* out) {
    if (cp < 0x80) {
      *out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      *out += static_cast<char>(0xC0 | (cp >> 6));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      *out += static_cast<char>(0xE0 | (cp >> 12));
      *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      *out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string_view s_;
  size_t i_ = 0;
};

Json ParseJson(const std::string& text) {
  Json json;
  EXPECT_TRUE(JsonReader(text).Parse(&json)) << "not valid JSON: " << text;
  return json;
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
  const Json json = ParseJson(AlertEventJson(SampleEvent()));
  ASSERT_EQ(json.type, Json::kObject);
  std::vector<std::string> keys;
  for (const auto& [k, v] : json.object) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"kind", "time", "model", "stream", "error", "threshold",
                                            "window_start", "window_end", "top_features"}));
  EXPECT_EQ(json["top_features"].array.size(), 2u);
  EXPECT_EQ(json["top_features"].array[1]["feature"].string, "usage_system");
}

TEST(AlertEventJsonTest, EmptyTopFeaturesIsAnEmptyArray) {
  AlertEvent e = SampleEvent();
  e.top_features.clear();
  const std::string text = AlertEventJson(e);
  EXPECT_NE(text.find(R"("top_features":[]})"), std::string::npos) << text;
  EXPECT_EQ(ParseJson(text)["top_features"].type, Json::kArray);
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
  const Json json = ParseJson(text);
  EXPECT_NEAR(json["error"].number, 1.0 / 3.0, 1e-9);
}

TEST(AlertEventJsonTest, NonFiniteNumbersAreNull) {
  AlertEvent e = SampleEvent();
  e.error = std::numeric_limits<double>::quiet_NaN();
  e.threshold = std::numeric_limits<double>::infinity();
  e.top_features = {{"f", -std::numeric_limits<double>::infinity()}};
  const std::string text = AlertEventJson(e);
  EXPECT_NE(text.find(R"("error":null,"threshold":null,)"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("share":null})"), std::string::npos) << text;
  EXPECT_EQ(ParseJson(text)["error"].type, Json::kNull);
}

TEST(AlertEventJsonTest, TimesAreRfc3339UtcWithNanoseconds) {
  AlertEvent e = SampleEvent();
  e.time_ns = 0;
  e.window_start_ns = -1;                // floors into the previous second
  e.window_end_ns = 951782400000000999;  // a leap day
  const Json json = ParseJson(AlertEventJson(e));
  EXPECT_EQ(json["time"].string, "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(json["window_start"].string, "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(json["window_end"].string, "2000-02-29T00:00:00.000000999Z");
}

TEST(AlertEventJsonTest, EscapesQuotesBackslashesAndControlCharacters) {
  AlertEvent e = SampleEvent();
  e.stream = "cpu,host=\"a\\b\"\n\t\r\x01\x1f\x7f";
  e.model = std::string("m\0x", 3);
  const std::string text = AlertEventJson(e);
  EXPECT_NE(text.find(R"("stream":"cpu,host=\"a\\b\"\u000a\u0009\u000d\u0001\u001f)"
                      "\x7f\""),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"("model":"m\u0000x")"), std::string::npos) << text;
  const Json json = ParseJson(text);
  EXPECT_EQ(json["stream"].string, e.stream);
  EXPECT_EQ(json["model"].string, e.model);
}

TEST(AlertEventJsonTest, PassesValidUtf8Through) {
  AlertEvent e = SampleEvent();
  e.stream = "temp,room=caf\u00e9,site=\u6771\u4eac,mood=\U0001F600";
  e.top_features = {{"\u00b0C", 1}};
  const std::string text = AlertEventJson(e);
  EXPECT_NE(text.find("\"stream\":\"" + e.stream + "\""), std::string::npos) << text;
  EXPECT_NE(text.find("\"feature\":\"\u00b0C\""), std::string::npos) << text;
  EXPECT_EQ(ParseJson(text)["stream"].string, e.stream);
}

TEST(AlertEventJsonTest, ReplacesInvalidUtf8WithReplacementCharacter) {
  struct Case {
    std::string input, expected;
  };
  // Octal escapes, since a hex escape would swallow the letter after it.
  const std::vector<Case> cases = {
      {"a\377b", R"("a\ufffdb")"},                            // never valid
      {"\303", R"("\ufffd")"},                                // truncated at the end
      {"\346\227x", R"("\ufffd\ufffdx")"},                    // truncated in the middle
      {"\300\257", R"("\ufffd\ufffd")"},                      // overlong '/'
      {"\355\240\200", R"("\ufffd\ufffd\ufffd")"},            // UTF-16 surrogate
      {"\364\220\200\200", R"("\ufffd\ufffd\ufffd\ufffd")"},  // past U+10FFFF
      {"\200", R"("\ufffd")"},                                // lone continuation byte
  };
  for (const Case& c : cases) {
    AlertEvent e = SampleEvent();
    e.stream = c.input;
    const std::string text = AlertEventJson(e);
    EXPECT_NE(text.find("\"stream\":" + c.expected + ","), std::string::npos) << text;
    ParseJson(text);
  }
}

}  // namespace
}  // namespace lstmad::daemon
