// The importer's JSON reader, on raw bytes: what Keras and Python's json
// module write, and input cut at every byte.
#include "json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

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
  EXPECT_NE(v.status().message().find("nested deeper than 128"), std::string::npos);
  const std::string ok = std::string(kMaxDepth - 1, '[') + std::string(kMaxDepth - 1, ']');
  EXPECT_TRUE(Parse(ok).ok());
}

// Every proper prefix of a document is refused (nothing is read past the
// end), except the prefixes that are themselves complete numbers.
TEST(JsonTest, EveryTruncationIsRefused) {
  const std::string doc =
      R"({"class_name": "Functional", "config": {"layers": [{"name": "lstm", "inbound_nodes": )"
      R"([[["input_1", 0, 0, {}]]], "x": [1.5e-3, -2, true, false, null, "\u00e9"]}]}})";
  ASSERT_TRUE(Parse(doc).ok());
  for (size_t n = 0; n < doc.size(); ++n) {
    EXPECT_FALSE(Parse(doc.substr(0, n)).ok()) << "prefix of " << n << " bytes";
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
