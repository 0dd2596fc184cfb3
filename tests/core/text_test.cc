// Tests of core/text.h: UTF-8 validation, RFC 3339 formatting, Quote.
#include "lstmad/core/text.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <gtest/gtest.h>

namespace lstmad::core {
namespace {

TEST(Utf8Test, AcceptsAsciiAndWellFormedSequencesOfEveryLength) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii\n"));
  EXPECT_TRUE(IsValidUtf8("\xC2\xB0"));          // U+00B0, 2 bytes
  EXPECT_TRUE(IsValidUtf8("\xE2\x9C\x93"));      // U+2713, 3 bytes
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80"));  // U+1F600, 4 bytes
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF, the last code point
  EXPECT_TRUE(IsValidUtf8(std::string("a\0b", 3)));
}

TEST(Utf8Test, RefusesMalformedSequences) {
  EXPECT_FALSE(IsValidUtf8("\x80"));              // lone continuation byte
  EXPECT_FALSE(IsValidUtf8("\xC2"));              // truncated
  EXPECT_FALSE(IsValidUtf8("\xE2\x9C"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong "/"
  EXPECT_FALSE(IsValidUtf8("\xC1\xBF"));          // overlong
  EXPECT_FALSE(IsValidUtf8("\xE0\x9F\xBF"));      // overlong 3-byte
  EXPECT_FALSE(IsValidUtf8("\xF0\x8F\xBF\xBF"));  // overlong 4-byte
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // U+D800, a surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(IsValidUtf8("\xF5\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xFF"));
  EXPECT_FALSE(IsValidUtf8("ok\xC2x"));           // continuation replaced by ASCII
}

TEST(Utf8Test, SequenceLengthIsZeroForInvalidAndCountsBytesOtherwise) {
  const std::string s = "a\xC2\xB0\xE2\x9C\x93\xF0\x9F\x98\x80\x80";
  EXPECT_EQ(Utf8SequenceLength(s, 0), 1u);
  EXPECT_EQ(Utf8SequenceLength(s, 1), 2u);
  EXPECT_EQ(Utf8SequenceLength(s, 3), 3u);
  EXPECT_EQ(Utf8SequenceLength(s, 6), 4u);
  EXPECT_EQ(Utf8SequenceLength(s, 10), 0u);
  EXPECT_EQ(Utf8SequenceLength(s, 2), 0u);  // middle of a sequence
}

// Expected values computed by hand: 2000-02-29 is day 30*365 + 7 (leap days
// of 1972..1996) + 31 + 28 = 11016 after the epoch, 11016 * 86400 = 951782400;
// 1968-02-29 is 307 (rest of 1968) + 365 (1969) = 672 days before it,
// 672 * 86400 = 58060800.
TEST(Rfc3339Test, FormatsNanosecondsSinceTheEpochInUtc) {
  EXPECT_EQ(FormatRfc3339Nanos(0), "1970-01-01T00:00:00.000000000Z");
  EXPECT_EQ(FormatRfc3339Nanos(1), "1970-01-01T00:00:00.000000001Z");
  EXPECT_EQ(FormatRfc3339Nanos(1'714'564'800'000'000'001), "2024-05-01T12:00:00.000000001Z");
  EXPECT_EQ(FormatRfc3339Nanos(951'782'400'000'000'000), "2000-02-29T00:00:00.000000000Z");
  EXPECT_EQ(FormatRfc3339Nanos(951'868'799'999'999'999), "2000-02-29T23:59:59.999999999Z");
}

TEST(Rfc3339Test, TimesBefore1970CountForwardFromTheirEarlierSecond) {
  EXPECT_EQ(FormatRfc3339Nanos(-1), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(FormatRfc3339Nanos(-1'000'000'000), "1969-12-31T23:59:59.000000000Z");
  EXPECT_EQ(FormatRfc3339Nanos(-1'000'000'001), "1969-12-31T23:59:58.999999999Z");
  EXPECT_EQ(FormatRfc3339Nanos(-86'400'000'000'000), "1969-12-31T00:00:00.000000000Z");
  EXPECT_EQ(FormatRfc3339Nanos(-86'400'000'000'001), "1969-12-30T23:59:59.999999999Z");
  EXPECT_EQ(FormatRfc3339Nanos(-58'060'800'000'000'000), "1968-02-29T00:00:00.000000000Z");
  EXPECT_EQ(FormatRfc3339Nanos(-58'060'800'000'000'001), "1968-02-28T23:59:59.999999999Z");
}

TEST(Rfc3339Test, FormatsTheWholeInt64Range) {
  EXPECT_EQ(FormatRfc3339Nanos(std::numeric_limits<int64_t>::max()),
            "2262-04-11T23:47:16.854775807Z");
  EXPECT_EQ(FormatRfc3339Nanos(std::numeric_limits<int64_t>::min()),
            "1677-09-21T00:12:43.145224192Z");
}

TEST(Rfc3339Test, FormatsSecondsWithoutAFraction) {
  EXPECT_EQ(FormatRfc3339Seconds(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339Seconds(951'782'400 + 3661), "2000-02-29T01:01:01Z");
  EXPECT_EQ(FormatRfc3339Seconds(-1), "1969-12-31T23:59:59Z");
  EXPECT_EQ(FormatRfc3339Seconds(-58'060'800), "1968-02-29T00:00:00Z");
  EXPECT_EQ(FormatRfc3339Seconds(253'402'300'799), "9999-12-31T23:59:59Z");
}

TEST(QuoteTest, WrapsPlainTextInDoubleQuotes) {
  EXPECT_EQ(Quote(""), "\"\"");
  EXPECT_EQ(Quote("temperature"), "\"temperature\"");
  EXPECT_EQ(Quote("temp=\xC2\xB0" "C \xE2\x9C\x93"), "\"temp=\xC2\xB0" "C \xE2\x9C\x93\"");
}

TEST(QuoteTest, EscapesQuotesBackslashesAndControlBytes) {
  EXPECT_EQ(Quote("say \"hi\"\\"), R"("say \"hi\"\\")");
  EXPECT_EQ(Quote("a\nb\rc\td"), R"("a\nb\rc\td")");
  EXPECT_EQ(Quote(std::string("\0\x01\x1B[2J\x7F", 7)), R"("\x00\x01\x1B[2J\x7F")");
  // U+009B is the C1 CSI: terminals act on it, so it is escaped too.
  EXPECT_EQ(Quote("\xC2\x9B" "1m"), R"("\xC2\x9B1m")");
}

TEST(QuoteTest, EscapesEachByteOfInvalidUtf8) {
  EXPECT_EQ(Quote("\xFF\xFE"), R"("\xFF\xFE")");
  EXPECT_EQ(Quote("ok\xC2x"), R"("ok\xC2x")");
  EXPECT_EQ(Quote("\xED\xA0\x80"), R"("\xED\xA0\x80")");
}

TEST(QuoteTest, CutsLongValuesAtACharacterBoundary) {
  EXPECT_EQ(Quote(std::string(64, 'z')), "\"" + std::string(64, 'z') + "\"");
  EXPECT_EQ(Quote(std::string(65, 'z')), "\"" + std::string(64, 'z') + "\"...");
  EXPECT_EQ(Quote("abcdef", 3), "\"abc\"...");
  // "é" would end at byte 4, past the limit of 3: it is left out whole.
  EXPECT_EQ(Quote("ab\xC3\xA9z", 3), "\"ab\"...");
  EXPECT_EQ(Quote("ab\xC3\xA9z", 4), "\"ab\xC3\xA9\"...");
  // The limit counts input bytes, not the longer escaped spelling.
  EXPECT_EQ(Quote("\n\n\n\n", 2), "\"\\n\\n\"...");
}

TEST(RedactUrlCredentialsTest, ReplacesUserInformationOnly) {
  EXPECT_EQ(RedactUrlCredentials("http://user:s3cret@am:9093/prefix"), "http://REDACTED@am:9093/prefix");
  EXPECT_EQ(RedactUrlCredentials("https://token@am:9093"), "https://REDACTED@am:9093");
  // A password with an '@' in it: the user information ends at the last one.
  EXPECT_EQ(RedactUrlCredentials("http://u:p@ss@[::1]:9093?q=a@b"), "http://REDACTED@[::1]:9093?q=a@b");
  // An '@' after the authority is not user information.
  EXPECT_EQ(RedactUrlCredentials("http://am:9093/path@x"), "http://am:9093/path@x");
  EXPECT_EQ(RedactUrlCredentials("http://am:9093#frag@x"), "http://am:9093#frag@x");
  EXPECT_EQ(RedactUrlCredentials("not a url u:p@host"), "not a url u:p@host");
  EXPECT_EQ(RedactUrlCredentials(""), "");
  EXPECT_TRUE(UrlHasCredentials("http://:p@am:9093"));
  EXPECT_FALSE(UrlHasCredentials("http://am:9093/@"));
}

TEST(FormatSignificantTest, SixSignificantDigitsInPrintfGStyle) {
  EXPECT_EQ(FormatSignificant(0.0005), "0.0005");
  EXPECT_EQ(FormatSignificant(1234567.0), "1.23457e+06");
  EXPECT_EQ(FormatSignificant(0.1234564), "0.123456");
  EXPECT_EQ(FormatSignificant(42), "42");
  EXPECT_EQ(FormatSignificant(-2.5e-7), "-2.5e-07");
  EXPECT_EQ(FormatSignificant(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(FormatSignificant(std::nan("")), "nan");
}

TEST(TextTest, Base64EncodeMatchesRfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode("lstmad:secret"), "bHN0bWFkOnNlY3JldA==");
  EXPECT_EQ(Base64Encode(std::string("\xff\x00\x80", 3)), "/wCA");
}

}  // namespace
}  // namespace lstmad::core
