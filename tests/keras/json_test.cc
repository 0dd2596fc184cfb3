// The importer's JSON reader, on raw bytes: what Keras and Python's json
// module write, and input cut at every byte.
#include "json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <string_view>

namespace lstmad::keras::json {
namespace {

TEST(JsonTest, ParsesAKerasLayerConfig) {
  const auto v = Parse(R"( {"class_name": "LSTM", "config": {"units": 128, "dropout": 0.0,
      "use_bias": true, "kernel_regularizer": null, "batch_input_shape": [null, 30, 1]}} )");
  ASSERT_TRUE(v.ok()) << v.status().message();
  ASSERT_TRUE(v->is_object());
  EXPECT_EQ(v->Find("class_name")->string(), "LSTM");
  const Value* config = v->Find("config");
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->Find("units")->number(), 128);
  EXPECT_TRUE(config->Find("use_bias")->boolean());
  EXPECT_TRUE(config->Find("kernel_regularizer")->is_null());
  const Value* shape = config->Find("batch_input_shape");
  ASSERT_EQ(shape->array().size(), 3u);
  EXPECT_TRUE(shape->array()[0].is_null());
  EXPECT_EQ(shape->array()[2].number(), 1);
  EXPECT_EQ(config->Find("missing"), nullptr);
  EXPECT_EQ(shape->Find("units"), nullptr);  // not an object
}

TEST(JsonTest, AcceptsPythonsNonFiniteTokens) {
  const auto v = Parse("[NaN, Infinity, -Infinity, -0, 1e400, -1e400, 1e-400]");
  ASSERT_TRUE(v.ok()) << v.status().message();
  const auto& a = v->array();
  EXPECT_TRUE(std::isnan(a[0].number()));
  EXPECT_EQ(a[1].number(), INFINITY);
  EXPECT_EQ(a[2].number(), -INFINITY);
  EXPECT_EQ(a[3].number(), 0);
  EXPECT_EQ(a[4].number(), INFINITY);
  EXPECT_EQ(a[5].number(), -INFINITY);
  EXPECT_EQ(a[6].number(), 0);
}

TEST(JsonTest, ReadsNonFiniteTokensInsideArraysAndObjects) {
  const auto v = Parse(R"({"a": NaN, "b": [0.0, Infinity, {"c": -Infinity}, 0.000], "NaN": 3,)"
                       R"( "d": [1e400,-1e400], "e": -0.5})");
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_TRUE(std::isnan(v->Find("a")->number()));
  const auto& b = v->Find("b")->array();
  ASSERT_EQ(b.size(), 4u);
  EXPECT_EQ(b[0].number(), 0);
  EXPECT_EQ(b[1].number(), INFINITY);
  EXPECT_EQ(b[2].Find("c")->number(), -INFINITY);
  EXPECT_EQ(b[3].number(), 0);
  EXPECT_EQ(v->Find("NaN")->number(), 3);
  ASSERT_EQ(v->Find("d")->array().size(), 2u);
  EXPECT_EQ(v->Find("d")->array()[0].number(), INFINITY);
  EXPECT_EQ(v->Find("d")->array()[1].number(), -INFINITY);
  EXPECT_EQ(v->Find("e")->number(), -0.5);
}

TEST(JsonTest, LeavesNonFiniteWordsInsideStringsAlone) {
  const auto v = Parse(R"(["NaN", "x Infinity -Infinity", "\"NaN\\", NaN, "\\", -Infinity])");
  ASSERT_TRUE(v.ok()) << v.status().message();
  const auto& a = v->array();
  ASSERT_EQ(a.size(), 6u);
  EXPECT_EQ(a[0].string(), "NaN");
  EXPECT_EQ(a[1].string(), "x Infinity -Infinity");
  EXPECT_EQ(a[2].string(), "\"NaN\\");
  EXPECT_TRUE(std::isnan(a[3].number()));
  EXPECT_EQ(a[4].string(), "\\");
  EXPECT_EQ(a[5].number(), -INFINITY);
}

// Python reads a number too large for a double as +-inf and a too small one
// as +-0; what counts is the number's size, not the sign of its exponent.
TEST(JsonTest, ReadsOutOfRangeNumbersByTheirSize) {
  const std::string zeros(400, '0');
  const auto v = Parse("[1" + zeros + ", -1" + zeros + ", 0." + zeros + "1e5, 0." + zeros +
                       "1e300, 1000e306, 1e99999999999999999999999, 1e-99999999999999999999999]");
  ASSERT_TRUE(v.ok()) << v.status().message();
  const auto& a = v->array();
  ASSERT_EQ(a.size(), 7u);
  EXPECT_EQ(a[0].number(), INFINITY);
  EXPECT_EQ(a[1].number(), -INFINITY);
  EXPECT_EQ(a[2].number(), 0);
  EXPECT_DOUBLE_EQ(a[3].number(), 1e-101);
  EXPECT_EQ(a[4].number(), INFINITY);
  EXPECT_EQ(a[5].number(), INFINITY);
  EXPECT_EQ(a[6].number(), 0);
}

TEST(JsonTest, RefusesNonFiniteWordsThatDoNotStandAlone) {
  for (const char* text : {"-NaN", "NaNa", "NaN5", "5NaN", "[NaN5]", "[1NaN]", "Infinity.5",
                           "+Infinity", "--Infinity", "1-Infinity", "nan", "infinity", "[NaN",
                           "[Na", "[-Infin", "01e400", "1.e400", "-1e400x"}) {
    EXPECT_FALSE(Parse(text).ok()) << "accepted: " << text;
  }
}

TEST(JsonTest, DecodesEscapesAndSurrogatePairs) {
  const auto v = Parse(R"(["a\"b\\c\/d\n\t\u00e9\u20ac\ud83d\ude00"])");
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(v->array()[0].string(), "a\"b\\c/d\n\t\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
}

TEST(JsonTest, LastDuplicateKeyWinsAsInPython) {
  const auto v = Parse(R"({"n": 1, "n": 2})");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->Find("n")->number(), 2);
}

TEST(JsonTest, ErrorsNameLineAndColumn) {
  const auto v = Parse("{\n  \"a\": 1,\n  \"b\" 2\n}");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(),
            "JSON error at line 3, column 7: syntax error while parsing object separator - "
            "unexpected number literal; expected ':'");
}

// The non-finite tokens are read in place: positions after them stay right.
TEST(JsonTest, ErrorPositionsCountNonFiniteTokensAsWritten) {
  const auto v = Parse("[NaN, -Infinity,\n Infinity, 1e400 x]");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(),
            "JSON error at line 2, column 18: syntax error while parsing array - invalid literal; "
            "expected ']'");
}

TEST(JsonTest, TruncatedDocumentsNameTheEnd) {
  const auto v = Parse("{\"a\": [1,\n NaN");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(),
            "JSON error at line 2, column 5: syntax error while parsing array - unexpected end of "
            "input; expected ']'");
}

TEST(JsonTest, RefusesTrailingGarbage) {
  const auto v = Parse("{\"a\": 1} }");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(),
            "JSON error at line 1, column 10: syntax error while parsing value - unexpected '}'; "
            "expected end of input");
  for (const char* text :
       {"[] []", "NaN NaN", "1 -Infinity", "{} x", "\"a\" \"b\"", "[]]", "0 0"}) {
    EXPECT_FALSE(Parse(text).ok()) << "accepted: " << text;
  }
}

// nlohmann's rules, stricter than Python's: strings are UTF-8 and a
// surrogate escape comes in a pair. A UTF-8 byte order mark is skipped.
TEST(JsonTest, RefusesInvalidUtf8AndLoneSurrogates) {
  for (const char* text : {"[\"\xff\"]", "[\"\xc3\"]", "[\"\xed\xa0\x80\"]", R"(["\ud800"])",
                           R"(["\udc00"])", R"(["\ud800\u0041"])"}) {
    EXPECT_FALSE(Parse(text).ok()) << "accepted: " << text;
  }
  const auto v = Parse("\xEF\xBB\xBF[1]");
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(v->array()[0].number(), 1);
}

TEST(JsonTest, RefusesMalformedDocuments) {
  for (const char* text : {"", " ", "{", "[1,]", "{\"a\":1,}", "01", "1.", "1e", "-", "+1",
                           "tru", "nul", "\"abc", "\"\\x\"", "\"\\u12\"", "\"\\u12G4\"",
                           "\"a\x01\"", "[1 2]", "{\"a\" 1}", "{1: 2}", "1 2", "[] x",
                           "Inf", "-Infinit", ".5"}) {
    EXPECT_FALSE(Parse(text).ok()) << "accepted: " << text;
  }
}

TEST(JsonTest, RefusesDeepNestingWithoutRecursingFurther) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const auto v = Parse(deep);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message(), "JSON error at line 1, column 129: nested deeper than 128");
  // Unclosed, and objects: refused at the same place, before the end is seen.
  const auto open = Parse(std::string(100000, '['));
  ASSERT_FALSE(open.ok());
  EXPECT_EQ(open.status().message(), "JSON error at line 1, column 129: nested deeper than 128");
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"k\":";
  const auto o = Parse(objects);
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().message(),
            "JSON error at line 1, column " + std::to_string(5 * kMaxDepth + 1) +
                ": nested deeper than 128");
}

TEST(JsonTest, AcceptsExactlyMaxDepthOpenContainers) {
  const std::string ok = std::string(kMaxDepth, '[') + "NaN" + std::string(kMaxDepth, ']');
  const auto v = Parse(ok);
  ASSERT_TRUE(v.ok()) << v.status().message();
  const Value* inner = &*v;
  for (int i = 1; i < kMaxDepth; ++i) inner = &inner->array()[0];
  EXPECT_TRUE(std::isnan(inner->array()[0].number()));
  const std::string one_more = "[" + ok + "]";
  EXPECT_FALSE(Parse(one_more).ok());
  // A bracket inside a string is no nesting.
  EXPECT_TRUE(Parse(std::string(kMaxDepth, '[') + "\"" + std::string(500, '[') + "\"" +
                    std::string(kMaxDepth, ']')).ok());
}

// Every proper prefix of a document is refused (nothing is read past the
// end), except the prefixes that are themselves complete numbers.
TEST(JsonTest, EveryTruncationIsRefused) {
  const std::string doc =
      R"({"class_name": "Functional", "config": {"layers": [{"name": "lstm", "inbound_nodes": )"
      R"([[["input_1", 0, 0, {}]]], "x": [1.5e-3, -2, true, false, null, "\u00e9"]}]}})";
  const std::string non_finite = R"({"a": [NaN, -Infinity, Infinity, 1e400, "NaN"]})";
  for (const std::string& text : {doc, non_finite}) {
    ASSERT_TRUE(Parse(text).ok());
    for (size_t n = 0; n < text.size(); ++n) {
      EXPECT_FALSE(Parse(text.substr(0, n)).ok()) << "prefix of " << n << " bytes of " << text;
    }
  }
}

TEST(JsonTest, SurvivesEveryByteValueAtEveryPosition) {
  const std::string doc = R"({"a": [1, "b", null]})";
  for (size_t i = 0; i < doc.size(); ++i) {
    for (int b = 0; b < 256; ++b) {
      std::string mutated = doc;
      mutated[i] = static_cast<char>(b);
      (void)Parse(mutated);  // must not crash; either answer is fine
    }
  }
}

}  // namespace
}  // namespace lstmad::keras::json
