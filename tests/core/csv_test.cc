#include "lstmad/core/csv.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace lstmad::core {
namespace {

using Names = std::vector<std::string>;

CsvTable Parse(std::string_view text, const Names& features = {}) {
  Result<CsvTable> result = ParseCsv(text, "data.csv", features);
  EXPECT_TRUE(result.ok()) << result.status().message();
  return result.ok() ? std::move(result).value() : CsvTable{};
}

std::string ErrorOf(std::string_view text, const Names& features = {}) {
  Result<CsvTable> result = ParseCsv(text, "data.csv", features);
  EXPECT_FALSE(result.ok()) << "parsed without error: " << text;
  return result.ok() ? std::string() : result.status().message();
}

// --- Happy paths -------------------------------------------------------------

TEST(ParseCsvTest, ReadsAllColumnsAsFeaturesWithoutTimestamp) {
  CsvTable t = Parse("a,b\n1,2\n3,4\n");
  EXPECT_EQ(t.feature_names, (Names{"a", "b"}));
  EXPECT_TRUE(t.timestamps.empty());
  ASSERT_EQ(t.rows(), 2);
  ASSERT_EQ(t.values.rows(), 2);
  EXPECT_EQ(t.values(0, 0), 1.0);
  EXPECT_EQ(t.values(1, 0), 2.0);
  EXPECT_EQ(t.values(0, 1), 3.0);
  EXPECT_EQ(t.values(1, 1), 4.0);
}

TEST(ParseCsvTest, KeepsTimestampsAsWrittenAndExcludesThemFromFeatures) {
  CsvTable t = Parse(
      "timestamp,value\n"
      "2014-02-14 14:30:00,1.5\n"
      "2014-02-14T14:35:00Z,2\n"
      "2014-02-14T14:40:00.123+01:00,3\n"
      "1392388200.25,4\n");
  EXPECT_EQ(t.feature_names, (Names{"value"}));
  EXPECT_EQ(t.timestamps, (Names{"2014-02-14 14:30:00", "2014-02-14T14:35:00Z",
                                 "2014-02-14T14:40:00.123+01:00", "1392388200.25"}));
  ASSERT_EQ(t.rows(), 4);
  EXPECT_EQ(t.values(0, 0), 1.5);
  EXPECT_EQ(t.values(0, 3), 4.0);
}

TEST(ParseCsvTest, TrimsSpacesAroundTimestamps) {
  CsvTable t = Parse("timestamp,x\n  2014-02-14 14:30:00 ,1\n");
  EXPECT_EQ(t.timestamps, (Names{"2014-02-14 14:30:00"}));
}

TEST(ParseCsvTest, AcceptsCrlfLineEnds) {
  CsvTable t = Parse("timestamp,a,b\r\n1,2,3\r\n4,5,6\r\n");
  EXPECT_EQ(t.feature_names, (Names{"a", "b"}));
  EXPECT_EQ(t.timestamps, (Names{"1", "4"}));
  ASSERT_EQ(t.rows(), 2);
  EXPECT_EQ(t.values(1, 1), 6.0);
}

TEST(ParseCsvTest, AcceptsMissingTrailingNewline) {
  EXPECT_EQ(Parse("a\n1\n2").rows(), 2);
  EXPECT_EQ(Parse("a\r\n1\r\n2").rows(), 2);
}

TEST(ParseCsvTest, IgnoresBlankLinesAnywhere) {
  CsvTable t = Parse("\n  \na,b\n\n1,2\n \t \r\n3,4\n\n\r\n   \n");
  ASSERT_EQ(t.rows(), 2);
  EXPECT_EQ(t.values.cols(), 2);
  EXPECT_EQ(t.values(1, 1), 4.0);
}

TEST(ParseCsvTest, SkipsUtf8ByteOrderMark) {
  CsvTable t = Parse("\xEF\xBB\xBFtimestamp,x\n1,2\n");
  EXPECT_EQ(t.feature_names, (Names{"x"}));
  EXPECT_EQ(t.timestamps, (Names{"1"}));
}

TEST(ParseCsvTest, StripsSpacesAndDoubleQuotesFromHeaderNames) {
  CsvTable t = Parse("\"timestamp\", \"a\" ,  b\t, \" c \"\n1,2,3,4\n");
  EXPECT_EQ(t.feature_names, (Names{"a", "b", "c"}));
  EXPECT_EQ(t.timestamps, (Names{"1"}));
}

TEST(ParseCsvTest, SelectsRequestedFeaturesInRequestedOrder) {
  CsvTable t = Parse("timestamp,a,b,c\n1,10,20,30\n2,11,21,31\n", {"c", "a"});
  EXPECT_EQ(t.feature_names, (Names{"c", "a"}));
  ASSERT_EQ(t.values.rows(), 2);
  EXPECT_EQ(t.values(0, 0), 30.0);
  EXPECT_EQ(t.values(1, 0), 10.0);
  EXPECT_EQ(t.values(0, 1), 31.0);
  EXPECT_EQ(t.values(1, 1), 11.0);
}

TEST(ParseCsvTest, DoesNotValidateColumnsThatAreNotSelected) {
  CsvTable t = Parse("a,label\n1,normal\n2,\n", {"a"});
  EXPECT_EQ(t.rows(), 2);
}

TEST(ParseCsvTest, ParsesSignsScientificNotationAndSurroundingSpaces) {
  CsvTable t = Parse(
      "a,b,c,d,e,f,g\n"
      "-1.5, +2 ,1e3,-2.5E-2,\t.5\t,5.,+1.25e+2\n");
  ASSERT_EQ(t.rows(), 1);
  const double expected[] = {-1.5, 2.0, 1000.0, -0.025, 0.5, 5.0, 125.0};
  for (int i = 0; i < 7; ++i) EXPECT_EQ(t.values(i, 0), expected[i]) << "column " << i;
}

TEST(ParseCsvTest, ParsesExtremeFiniteValues) {
  CsvTable t = Parse("a,b,c,d\n1.7976931348623157e308,-4.9e-324,1e-400,-1e-400\n");
  EXPECT_EQ(t.values(0, 0), std::numeric_limits<double>::max());
  EXPECT_EQ(t.values(1, 0), -std::numeric_limits<double>::denorm_min());
  // Below the smallest subnormal a value rounds to zero, keeping its sign.
  EXPECT_EQ(t.values(2, 0), 0.0);
  EXPECT_FALSE(std::signbit(t.values(2, 0)));
  EXPECT_EQ(t.values(3, 0), 0.0);
  EXPECT_TRUE(std::signbit(t.values(3, 0)));
}

// Numbers printed by printf with round-trip precision must come back bit
// for bit: the reference here is the C library's formatter, not our code.
TEST(ParseCsvTest, RoundTripsRandomDoublesPrintedByPrintf) {
  std::mt19937_64 rng(20240214);
  const int kRows = 300;
  const int kCols = 4;
  std::vector<double> written;
  std::string text = "timestamp,a,b,c,d\r\n";
  for (int r = 0; r < kRows; ++r) {
    text += std::to_string(1392388200 + r);
    for (int c = 0; c < kCols; ++c) {
      double v;
      do {
        std::uint64_t bits = rng();
        std::memcpy(&v, &bits, sizeof v);
      } while (!std::isfinite(v));
      written.push_back(v);
      char buf[64];
      const char* format = (rng() % 2 == 0) ? ",%.17g" : ", %+.17e ";
      std::snprintf(buf, sizeof buf, format, v);
      text += buf;
    }
    text += (r % 2 == 0) ? "\r\n" : "\n";
  }
  CsvTable t = Parse(text);
  ASSERT_EQ(t.rows(), kRows);
  for (int r = 0; r < kRows; ++r) {
    for (int c = 0; c < kCols; ++c) {
      ASSERT_EQ(t.values(c, r), written[static_cast<std::size_t>(r * kCols + c)])
          << "row " << r << " column " << c;
    }
  }
}

TEST(ParseCsvTest, ParsesAHundredThousandRows) {
  const int kRows = 100'000;
  std::string text = "timestamp,x1,x2,x3\n";
  text.reserve(static_cast<std::size_t>(kRows) * 32);
  for (int r = 0; r < kRows; ++r) {
    text += std::to_string(1'400'000'000 + 300 * r) + "," + std::to_string(r) + ",-" +
            std::to_string(r) + ".5,1e-3\n";
  }
  CsvTable t = Parse(text);
  ASSERT_EQ(t.rows(), kRows);
  ASSERT_EQ(t.timestamps.size(), static_cast<std::size_t>(kRows));
  EXPECT_EQ(t.timestamps.back(), std::to_string(1'400'000'000 + 300 * (kRows - 1)));
  EXPECT_EQ(t.values(0, kRows - 1), kRows - 1.0);
  EXPECT_EQ(t.values(1, kRows - 1), -(kRows - 1.0) - 0.5);
  EXPECT_EQ(t.values(2, 12345), 1e-3);
}

TEST(ParseCsvTest, AcceptsIso8601AndEpochTimestamps) {
  const char* valid[] = {
      "2014-02-14 14:30:00",
      "2014-02-14T14:30:00Z",
      "2014-02-14T14:30:00.123+01:00",
      "2014-02-14",
      "2014-02-14T14:30",
      "2014-02-14T14:30Z",
      "2014-02-14T14:30:00-0500",
      "2014-02-14T14:30:00+05",
      "2014-02-14t14:30:00z",
      "2016-02-29 00:00:00",
      "2000-02-29",
      "2015-06-30T23:59:60Z",
      "1392388200",
      "1392388200.123456",
      "-86400",
      "0",
  };
  for (const char* stamp : valid) {
    Result<CsvTable> r = ParseCsv(std::string("timestamp,x\n") + stamp + ",1\n", "data.csv");
    EXPECT_TRUE(r.ok()) << stamp << ": " << r.status().message();
  }
}

TEST(ParseCsvTest, RejectsMalformedTimestampsNamingLineAndColumn) {
  const char* invalid[] = {
      "2014-13-01",
      "2014-00-10",
      "2014-02-30",
      "2015-02-29",
      "1900-02-29",
      "2014-2-14",
      "12-02-2014",
      "2014-02-14T",
      "2014-02-14 14",
      "2014-02-14 24:00:00",
      "2014-02-14 14:60",
      "2014-02-14T14:30:61",
      "2014-02-14T14:30:00.",
      "2014-02-14T14:30:00+1",
      "2014-02-14T14:30:00+24:00",
      "2014-02-14T14:30:00+05:",
      "2014-02-14T14:30:00Zjunk",
      "2014-02-14_14:30:00",
      "14:30:00",
      "1392388200.",
      ".5",
      "1e9",
      "+1392388200",
      "abc",
  };
  for (const char* stamp : invalid) {
    std::string message = ErrorOf(std::string("timestamp,x\n\n") + stamp + ",1\n");
    EXPECT_EQ(message, std::string("data.csv:3:1 (column \"timestamp\"): not a timestamp "
                                   "(ISO 8601 or epoch seconds): \"") +
                           stamp + "\"");
  }
}

// --- Errors in the file as a whole -------------------------------------------

TEST(ParseCsvTest, RejectsEmptyFile) {
  EXPECT_EQ(ErrorOf(""), "data.csv: empty file: no header row");
  EXPECT_EQ(ErrorOf("\n \r\n\t\n"), "data.csv: empty file: no header row");
  EXPECT_EQ(ErrorOf("\xEF\xBB\xBF"), "data.csv: empty file: no header row");
}

TEST(ParseCsvTest, RejectsHeaderWithoutDataRows) {
  EXPECT_EQ(ErrorOf("a,b"), "data.csv:1: no data rows after the header");
  EXPECT_EQ(ErrorOf("a,b\r\n"), "data.csv:1: no data rows after the header");
  EXPECT_EQ(ErrorOf("\na,b\n\n  \n"), "data.csv:2: no data rows after the header");
}

TEST(ParseCsvTest, RejectsEmptyHeaderNames) {
  EXPECT_EQ(ErrorOf("a,,b\n1,2,3\n"), "data.csv:1:2: empty column name in header");
  EXPECT_EQ(ErrorOf("a,b,\n1,2,3\n"), "data.csv:1:3: empty column name in header");
  EXPECT_EQ(ErrorOf("a,\"  \"\n1,2\n"), "data.csv:1:2: empty column name in header");
}

TEST(ParseCsvTest, RejectsUnbalancedQuotesInHeader) {
  EXPECT_EQ(ErrorOf("a,\"b\n1,2\n"),
            "data.csv:1:2: unbalanced double quote in header name \"\\\"b\"");
}

TEST(ParseCsvTest, RejectsDuplicateHeaderNames) {
  EXPECT_EQ(ErrorOf("a,b,a\n1,2,3\n"),
            "data.csv:1:3 (column \"a\"): duplicate column name, first used by column 1");
  // Quotes and spaces are stripped before names are compared.
  EXPECT_EQ(ErrorOf("a, \"b\",b \n1,2,3\n"),
            "data.csv:1:3 (column \"b\"): duplicate column name, first used by column 2");
}

TEST(ParseCsvTest, RejectsTimestampColumnThatIsNotFirst) {
  EXPECT_EQ(ErrorOf("x,timestamp\n1,2\n"),
            "data.csv:1:2 (column \"timestamp\"): a timestamp column must be the first column");
}

TEST(ParseCsvTest, RejectsHeaderWithoutFeatureColumns) {
  EXPECT_EQ(ErrorOf("timestamp\n2014-02-14\n"),
            "data.csv:1: no feature columns: the header has only a timestamp column");
}

TEST(ParseCsvTest, RejectsRequestedFeatureMissingFromHeader) {
  EXPECT_EQ(ErrorOf("timestamp,a,b\n1,2,3\n", {"a", "z"}),
            "data.csv:1: requested feature \"z\" is not a column of the header; available "
            "feature columns: \"a\", \"b\"");
  EXPECT_EQ(ErrorOf("timestamp\n1\n", {"a"}),
            "data.csv:1: requested feature \"a\" is not a column of the header; available "
            "feature columns: none");
}

TEST(ParseCsvTest, ShortensLongListsOfAvailableColumns) {
  std::string header = "c0";
  std::string row = "0";
  for (int i = 1; i < 30; ++i) {
    header += ",c" + std::to_string(i);
    row += ",0";
  }
  std::string message = ErrorOf(header + "\n" + row + "\n", {"zz"});
  EXPECT_NE(message.find("\"c19\", ... (10 more)"), std::string::npos) << message;
  EXPECT_EQ(message.find("\"c20\""), std::string::npos) << message;
}

TEST(ParseCsvTest, RejectsTimestampRequestedAsFeature) {
  const std::string expected =
      "data.csv:1: \"timestamp\" cannot be selected as a feature: it names the time column, "
      "which is not numeric";
  EXPECT_EQ(ErrorOf("timestamp,a\n1,2\n", {"a", "timestamp"}), expected);
  EXPECT_EQ(ErrorOf("a\n1\n", {"timestamp"}), expected);
}

TEST(ParseCsvTest, RejectsFeatureRequestedTwice) {
  EXPECT_EQ(ErrorOf("a,b\n1,2\n", {"a", "b", "a"}), "data.csv:1: feature \"a\" is requested twice");
}

// --- Errors in data rows ------------------------------------------------------

TEST(ParseCsvTest, RejectsRaggedRowsWithExpectedAndActualCounts) {
  EXPECT_EQ(ErrorOf("a,b,c\n1,2,3\n1,2\n"),
            "data.csv:3: ragged row: expected 3 fields as in the header, got 2");
  EXPECT_EQ(ErrorOf("a,b,c\n1,2,3,4,5\n"),
            "data.csv:2: ragged row: expected 3 fields as in the header, got 5");
  EXPECT_EQ(ErrorOf("a,b,c\n1,2,3,\n"),
            "data.csv:2: ragged row: expected 3 fields as in the header, got 4");
}

TEST(ParseCsvTest, ReportsRaggedRowBeforeTheCellsItShifted) {
  EXPECT_EQ(ErrorOf("a,b,c\n1,abc\n"),
            "data.csv:2: ragged row: expected 3 fields as in the header, got 2");
  EXPECT_EQ(ErrorOf("a,b\n1,,3\n"),
            "data.csv:2: ragged row: expected 2 fields as in the header, got 3");
}

TEST(ParseCsvTest, RejectsNonNumericCellNamingLineColumnAndName) {
  EXPECT_EQ(ErrorOf("x1,x2,x3\n1,2,3\n4,5,6\n7,8,9\n1,2,abc\n"),
            "data.csv:5:3 (column \"x3\"): not a number: \"abc\"");
}

TEST(ParseCsvTest, RejectsMalformedNumbers) {
  const char* bad[] = {"+-1", "-+1", "++1", "--1",  "+",     "-",   ".",     "1.5abc", "0x10",
                       "1e",  "1e+", "1 2", "1..2", "\"1\"", "one", "1_000", "e5"};
  for (const char* cell : bad) {
    std::string message = ErrorOf(std::string("a,b\n1, ") + cell + " \n");
    std::string quoted =
        std::string(cell) == "\"1\"" ? "\"\\\"1\\\"\"" : '"' + std::string(cell) + '"';
    EXPECT_EQ(message, "data.csv:2:2 (column \"b\"): not a number: " + quoted) << cell;
  }
}

TEST(ParseCsvTest, RejectsEmptyCells) {
  const std::string empty = "empty cell (a gap: fill it from the row before, or drop its row: lstmad's --fill forward|drop)";
  EXPECT_EQ(ErrorOf("a,b\n1,\n"), "data.csv:2:2 (column \"b\"): " + empty);
  EXPECT_EQ(ErrorOf("a,b\n  ,1\n"), "data.csv:2:1 (column \"a\"): " + empty);
  EXPECT_EQ(ErrorOf("timestamp,a\n ,1\n"), "data.csv:2:1 (column \"timestamp\"): empty timestamp");
}

TEST(ParseCsvTest, FillsEmptyCellsForwardWhenAsked) {
  Result<CsvTable> t = ParseCsv("timestamp,a,b\n1,1,2\n2,,4\n3,5,\n4,,\n", "data.csv", {}, EmptyCells::kForward);
  ASSERT_TRUE(t.ok()) << t.status().message();
  ASSERT_EQ(t->rows(), 4);
  const double a[] = {1, 1, 5, 5}, b[] = {2, 4, 4, 4};
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(t->values(0, r), a[r]) << r;
    EXPECT_EQ(t->values(1, r), b[r]) << r;
  }
  EXPECT_EQ(t->timestamps, (Names{"1", "2", "3", "4"}));
  Result<CsvTable> first = ParseCsv("a,b\n,2\n", "data.csv", {}, EmptyCells::kForward);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().message(),
            "data.csv:2:1 (column \"a\"): empty cell in the first data row: no value before it to fill forward");
  // Not a gap: still refused.
  Result<CsvTable> text = ParseCsv("a\n1\nx\n", "data.csv", {}, EmptyCells::kForward);
  EXPECT_EQ(text.status().message(), "data.csv:3:1 (column \"a\"): not a number: \"x\"");
}

TEST(ParseCsvTest, DropsRowsWithEmptyCellsWhenAsked) {
  Result<CsvTable> t = ParseCsv("timestamp,a,b\n1,1,2\n2,,4\n3,5,6\n4,7,\n", "data.csv", {}, EmptyCells::kDrop);
  ASSERT_TRUE(t.ok()) << t.status().message();
  ASSERT_EQ(t->rows(), 2);
  EXPECT_EQ(t->timestamps, (Names{"1", "3"}));
  EXPECT_EQ(t->values(0, 1), 5.0);
  EXPECT_EQ(t->values(1, 1), 6.0);
  // A gap in a column that is not selected drops nothing.
  Result<CsvTable> unselected = ParseCsv("a,b\n1,\n2,3\n", "data.csv", {"a"}, EmptyCells::kDrop);
  ASSERT_TRUE(unselected.ok());
  EXPECT_EQ(unselected->rows(), 2);
  // A dropped row must still be well formed.
  Result<CsvTable> ragged = ParseCsv("a,b\n1,2\n,2,3\n", "data.csv", {}, EmptyCells::kDrop);
  EXPECT_EQ(ragged.status().message(), "data.csv:3: ragged row: expected 2 fields as in the header, got 3");
  Result<CsvTable> none = ParseCsv("a,b\n1,\n,2\n", "data.csv", {}, EmptyCells::kDrop);
  EXPECT_EQ(none.status().message(),
            "data.csv:1: no data rows after the header (every row had an empty cell, and was dropped)");
}

TEST(ParseCsvTest, DetectsSemicolonAndTabSeparators) {
  CsvTable semi = Parse("timestamp;a;b\n2024-01-01;1.5;2\n2024-01-02;3;-4e1\n");
  EXPECT_EQ(semi.feature_names, (Names{"a", "b"}));
  EXPECT_EQ(semi.timestamps, (Names{"2024-01-01", "2024-01-02"}));
  EXPECT_EQ(semi.values(0, 0), 1.5);
  EXPECT_EQ(semi.values(1, 1), -40.0);
  CsvTable tab = Parse("a\tb\n1\t2\n");
  EXPECT_EQ(tab.feature_names, (Names{"a", "b"}));
  EXPECT_EQ(tab.values(1, 0), 2.0);
  // A comma in the header makes it the separator, whatever else is there.
  EXPECT_EQ(Parse("a;x,b\n1,2\n").feature_names, (Names{"a;x", "b"}));
  EXPECT_EQ(ErrorOf("a;b\n1;2;3\n"), "data.csv:2: ragged row: expected 2 fields as in the header, got 3");
  // A spreadsheet's decimal comma gets a hint.
  EXPECT_EQ(ErrorOf("a;b\n1,5;2\n"),
            "data.csv:2:1 (column \"a\"): not a number: \"1,5\" (a decimal comma? numbers take a decimal point: "
            "1.5, not 1,5)");
}

TEST(ParseCsvTest, RejectsNonFiniteValuesWithDistinctMessages) {
  EXPECT_EQ(ErrorOf("a\n1\nnan\n"),
            "data.csv:3:1 (column \"a\"): not a finite number (NaN): \"nan\"");
  EXPECT_EQ(ErrorOf("a\n-NaN\n"),
            "data.csv:2:1 (column \"a\"): not a finite number (NaN): \"-NaN\"");
  EXPECT_EQ(ErrorOf("a\ninf\n"),
            "data.csv:2:1 (column \"a\"): not a finite number (infinity): \"inf\"");
  EXPECT_EQ(ErrorOf("a\n-Infinity\n"),
            "data.csv:2:1 (column \"a\"): not a finite number (infinity): \"-Infinity\"");
  EXPECT_EQ(ErrorOf("a\n+inf\n"),
            "data.csv:2:1 (column \"a\"): not a finite number (infinity): \"+inf\"");
  EXPECT_EQ(ErrorOf("a\n1e999\n"),
            "data.csv:2:1 (column \"a\"): number out of range for a double: \"1e999\"");
  EXPECT_EQ(ErrorOf("a\n-1.8e308\n"),
            "data.csv:2:1 (column \"a\"): number out of range for a double: \"-1.8e308\"");
  EXPECT_EQ(ErrorOf("a\n0.001e99999999999999999999\n"),
            "data.csv:2:1 (column \"a\"): number out of range for a double: "
            "\"0.001e99999999999999999999\"");
}

TEST(ParseCsvTest, CountsBlankLinesCrlfAndBomInLineNumbers) {
  EXPECT_EQ(ErrorOf("\xEF\xBB\xBF\r\na,b\r\n\r\n1,2\r\n   \r\n3,x\r\n"),
            "data.csv:6:2 (column \"b\"): not a number: \"x\"");
}

TEST(ParseCsvTest, EscapesAndShortensEchoedCells) {
  EXPECT_EQ(ErrorOf(std::string("a\n1\x01\x7F\"\\\n")),
            "data.csv:2:1 (column \"a\"): not a number: \"1\\x01\\x7F\\\"\\\\\"");
  std::string message = ErrorOf("a\n" + std::string(1000, 'z') + "\n");
  EXPECT_EQ(message,
            "data.csv:2:1 (column \"a\"): not a number: \"" + std::string(40, 'z') + "\"...");
  // A cut never splits a UTF-8 sequence: 39 ASCII bytes, then a 2-byte "é".
  message = ErrorOf("a\n" + std::string(39, 'z') + "\xC3\xA9zzz\n");
  EXPECT_EQ(message,
            "data.csv:2:1 (column \"a\"): not a number: \"" + std::string(39, 'z') + "\"...");
}

TEST(ParseCsvTest, UsesTheSourceNameInMessages) {
  Result<CsvTable> r = ParseCsv("a\nx\n", "/var/lib/lstmad/in.csv");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "/var/lib/lstmad/in.csv:2:1 (column \"a\"): not a number: \"x\"");
}

// --- Robustness ----------------------------------------------------------------

// What any successful parse must satisfy, whatever the input.
void ExpectConsistent(const Result<CsvTable>& r) {
  if (!r.ok()) {
    EXPECT_EQ(r.status().message().rfind("data.csv", 0), 0u) << r.status().message();
    return;
  }
  const CsvTable& t = *r;
  EXPECT_GT(t.rows(), 0);
  EXPECT_EQ(t.values.rows(), static_cast<Eigen::Index>(t.feature_names.size()));
  EXPECT_GT(t.values.rows(), 0);
  if (!t.timestamps.empty()) {
    EXPECT_EQ(t.timestamps.size(), static_cast<std::size_t>(t.rows()));
  }
  EXPECT_TRUE(t.values.allFinite());
}

const char kSample[] =
    "\xEF\xBB\xBFtimestamp, a ,\"b\",c\r\n"
    "2014-02-14 14:30:00,1.5,-2,3e2\r\n"
    "\r\n"
    "2014-02-14T14:35:00.5+01:00, +4 ,5.25,-6E-1\r\n"
    "1392388200.5,7,8,9\r\n";

// A file cut at any byte either parses or fails with a message; cut at a
// line end it parses and holds exactly the rows before the cut.
TEST(ParseCsvTest, HandlesTheInputCutAtEveryByte) {
  std::string_view sample = kSample;
  for (std::size_t n = 0; n <= sample.size(); ++n) {
    Result<CsvTable> r = ParseCsv(sample.substr(0, n), "data.csv");
    ExpectConsistent(r);
    if (n > sample.find('\n') + 1 && sample[n - 1] == '\n') {
      EXPECT_TRUE(r.ok()) << "cut at " << n << ": " << r.status().message();
    }
  }
  EXPECT_EQ(Parse(sample.substr(0, sample.find("\r\n\r\n") + 2)).rows(), 1);
  EXPECT_EQ(Parse(sample).rows(), 3);
}

TEST(ParseCsvTest, SurvivesRandomlyMutatedInputs) {
  const std::string seeds[] = {
      kSample,
      "a,b\n1,2\n3,4\n",
      "timestamp,x\n1,1e-400\n2,-0\n",
  };
  const std::string alphabet =
      std::string("0123456789+-.eE,\r\n \t\"xnaif:TZ\xEF\xBB\xBF\xFF") + '\0';
  std::mt19937 rng(7);
  auto pick = [&rng](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
  };
  int parsed = 0;
  for (int iteration = 0; iteration < 5000; ++iteration) {
    std::string text = seeds[pick(std::size(seeds))];
    int mutations = 1 + static_cast<int>(pick(4));
    for (int m = 0; m < mutations && !text.empty(); ++m) {
      std::size_t at = pick(text.size());
      char c = alphabet[pick(alphabet.size())];
      switch (pick(4)) {
        case 0:
          text[at] = c;
          break;
        case 1:
          text.insert(at, 1, c);
          break;
        case 2:
          text.erase(at, 1);
          break;
        case 3:
          text.insert(at, text.substr(at, pick(8)));
          break;
      }
    }
    Names features;
    if (pick(3) == 0) features = {"b", "a"};
    Result<CsvTable> r = ParseCsv(text, "data.csv", features);
    ExpectConsistent(r);
    parsed += r.ok() ? 1 : 0;
  }
  // Both outcomes must be exercised for the invariants above to mean much.
  EXPECT_GT(parsed, 200);
  EXPECT_LT(parsed, 4800);
}

}  // namespace
}  // namespace lstmad::core
