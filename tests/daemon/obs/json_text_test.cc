#include "obs/json_text.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "lstmad/core/text.h"
#include "obs/logging.h"

namespace lstmad::daemon {
namespace {

using namespace std::string_literals;

TEST(JsonStringTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(JsonString("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(JsonString("\n\t\r\b\f"), R"("\n\t\r\b\f")");
  EXPECT_EQ(JsonString("\x01\x1f"s + '\0'), R"("\u0001\u001f\u0000")");
  EXPECT_EQ(JsonString("\x7f/"), "\"\x7f/\"");  // DEL and '/' need no escape in JSON
  EXPECT_EQ(JsonString(""), R"("")");
}

TEST(JsonStringTest, PassesValidUtf8Through) {
  const std::string text = "caf\u00e9 \u6771\u4eac \U0001F600";
  EXPECT_EQ(JsonString(text), "\"" + text + "\"");
}

TEST(JsonStringTest, ReplacesEachMaximalIllFormedSubsequenceWithOneReplacementCharacter) {
  struct Case {
    std::string input, expected;
  };
  // Octal escapes, since a hex escape would swallow the letter after it.
  const std::string r = "\357\277\275";  // U+FFFD
  const std::vector<Case> cases = {
      {"a\377b", "a" + r + "b"},                   // never valid
      {"\303", r},                                 // truncated at the end
      {"\346\227x", r + "x"},                      // truncated in the middle: one subpart
      {"\300\257", r + r},                         // overlong '/'
      {"\355\240\200", r + r + r},                 // UTF-16 surrogate
      {"\364\220\200\200", r + r + r + r},         // past U+10FFFF
      {"\200", r},                                 // lone continuation byte
  };
  for (const Case& c : cases) {
    EXPECT_EQ(JsonString(c.input), "\"" + c.expected + "\"") << ::testing::PrintToString(c.input);
  }
}

TEST(JsonStringTest, AnyBytesMakeAJsonStringThatParses) {
  std::mt19937 rng(7);
  // Bytes that escape, lead and continuation bytes of valid sequences, and
  // bytes never valid: inputs come out both valid and not.
  const std::string alphabet = "a\"\\\n\001\177\303\251\346\227\245\360\237\230\200\377\355\240"s;
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1), length(0, 12);
  int valid = 0;
  for (int round = 0; round < 5000; ++round) {
    std::string input(length(rng), '\0');
    for (char& c : input) c = alphabet[pick(rng)];
    valid += core::IsValidUtf8(input) ? 1 : 0;
    const nlohmann::json parsed = nlohmann::json::parse(JsonString(input));  // throws if invalid
    ASSERT_TRUE(parsed.is_string());
    if (core::IsValidUtf8(input)) {
      EXPECT_EQ(parsed.get<std::string>(), input);
    } else {
      EXPECT_NE(parsed.get<std::string>().find("\357\277\275"), std::string::npos);
    }
  }
  EXPECT_GT(valid, 500);  // the valid branch above was exercised
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  EXPECT_TRUE(nlohmann::json::parse(JsonString(all)).is_string());
}

class CapturingWriter final : public LogWriter {
 public:
  void Write(LogLevel, std::string_view line) override { lines.emplace_back(line); }
  void Flush() override {}
  std::vector<std::string> lines;
};

TEST(JsonLogLineTest, IsAJsonObjectWhateverBytesTheFieldsHold) {
  CapturingWriter writer;
  SetLogWriter(&writer);
  SetLogFormat(config::LogFormat::kJson);
  Log(LogLevel::kWarn, "bad \"line\"\n", {Field("stream", "cpu,host=\377\n"), Field("n", int64_t{3})});
  SetLogFormat(config::LogFormat::kText);
  SetLogWriter(nullptr);
  ASSERT_EQ(writer.lines.size(), 1u);
  EXPECT_EQ(writer.lines[0], "\"msg\":\"bad \\\"line\\\"\\n\",\"stream\":\"cpu,host=\357\277\275\\n\",\"n\":3");
  const nlohmann::json parsed = nlohmann::json::parse("{" + writer.lines[0] + "}");
  EXPECT_EQ(parsed["msg"], "bad \"line\"\n");
  EXPECT_EQ(parsed["stream"], "cpu,host=\357\277\275\n");
  EXPECT_EQ(parsed["n"], 3);
}

TEST(TextLogLineTest, QuotesValuesWithSpacesAsJsonStrings) {
  CapturingWriter writer;
  SetLogWriter(&writer);
  Log(LogLevel::kInfo, "loaded", {Field("path", "a b\"c"), Field("model", "cpu")});
  SetLogWriter(nullptr);
  ASSERT_EQ(writer.lines.size(), 1u);
  EXPECT_EQ(writer.lines[0], R"(loaded path="a b\"c" model=cpu)");
}

}  // namespace
}  // namespace lstmad::daemon
