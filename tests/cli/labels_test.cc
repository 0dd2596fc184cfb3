// Ground truth: a 0/1 label column and NAB's windows file turned into
// per-row labels, checked against labels worked out by hand.
#include "labels.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace lstmad::tools {
namespace {

std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

const std::vector<std::string> kMinutes = {"2015-09-01 00:00:00", "2015-09-01 00:01:00",
                                           "2015-09-01 00:02:00", "2015-09-01 00:03:00",
                                           "2015-09-01 00:04:00", "2015-09-01 00:05:00"};

TEST(LabelsTest, ParsesTimestampsAsUtcEpochSeconds) {
  EXPECT_EQ(ParseTimestamp("1970-01-01 00:00:00"), 0.0);
  EXPECT_EQ(ParseTimestamp("2015-09-01T00:01:00Z"), 1441065660.0);
  EXPECT_EQ(ParseTimestamp("2000-02-29 12:00:00.25"), 951825600.25);
  EXPECT_EQ(ParseTimestamp("1441065660"), 1441065660.0);
  EXPECT_FALSE(ParseTimestamp("2015-09-01"));
  EXPECT_FALSE(ParseTimestamp("2015-09-01 00:01:00+02"));
}

TEST(LabelsTest, LabelColumnIsZeroOrOnePerRow) {
  const std::string csv = WriteTemp("labels_column.csv",
                                    "timestamp,value,label\n"
                                    "1,10.5,0\n2,11,1\n3,12,0\n4,13,2\n5,14,0\n");
  const core::Result<std::vector<uint8_t>> labels = LoadLabelColumn(csv, "label");
  ASSERT_TRUE(labels.ok()) << labels.status().message();
  EXPECT_EQ(*labels, (std::vector<uint8_t>{0, 1, 0, 1, 0}));
}

TEST(LabelsTest, MissingLabelColumnNamesIt) {
  const std::string csv = WriteTemp("labels_missing.csv", "timestamp,value\n1,2\n");
  const core::Result<std::vector<uint8_t>> labels = LoadLabelColumn(csv, "label");
  ASSERT_FALSE(labels.ok());
  EXPECT_NE(labels.status().message().find("label"), std::string::npos)
      << labels.status().message();
}

TEST(LabelsTest, NabWindowsMarkTheRowsInsideThemInclusive) {
  const std::string windows =
      WriteTemp("windows.json",
                "{\n  \"artificialWithAnomaly/other.csv\": [],\n"
                "  \"realKnownCause/machine.csv\": [\n"
                "    [\"2015-09-01 00:01:00.000000\", \"2015-09-01 00:02:00.000000\"],\n"
                "    [\"2015-09-01 00:05:00.000000\", \"2015-09-01 00:09:00.000000\"]\n  ]\n}\n");
  const core::Result<std::vector<uint8_t>> labels =
      LoadNabWindowLabels(windows, "data/realKnownCause/machine.csv", kMinutes);
  ASSERT_TRUE(labels.ok()) << labels.status().message();
  EXPECT_EQ(*labels, (std::vector<uint8_t>{0, 1, 1, 0, 0, 1}));
  const core::Result<std::vector<uint8_t>> none =
      LoadNabWindowLabels(windows, "/nab/artificialWithAnomaly/other.csv", kMinutes);
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_EQ(*none, std::vector<uint8_t>(6, 0));
}

TEST(LabelsTest, NabWindowsKeyMustMatchAWholePathSuffix) {
  const std::string windows =
      WriteTemp("windows_suffix.json", "{\"realKnownCause/machine.csv\": []}");
  const core::Result<std::vector<uint8_t>> labels =
      LoadNabWindowLabels(windows, "data/notrealKnownCause/machine.csv", kMinutes);
  ASSERT_FALSE(labels.ok());
  EXPECT_EQ(labels.status().message(), windows +
                                           ": no entry for data/notrealKnownCause/machine.csv "
                                           "(keys are paths like realKnownCause/nyc_taxi.csv)");
}

TEST(LabelsTest, MalformedWindowsFileIsAnErrorNamingIt) {
  const std::string windows = WriteTemp("windows_bad.json", "{\"a.csv\": [[\"x\" \"y\"]]}");
  const core::Result<std::vector<uint8_t>> labels = LoadNabWindowLabels(windows, "a.csv", kMinutes);
  ASSERT_FALSE(labels.ok());
  // The file and what it should be; the position wording is the JSON reader's.
  EXPECT_EQ(labels.status().message().rfind(windows + ": not a NAB windows file", 0), 0u)
      << labels.status().message();
}

TEST(LabelsTest, BadRowTimestampNamesTheRow) {
  const std::string windows = WriteTemp("windows_rows.json", "{\"a.csv\": []}");
  std::vector<std::string> stamps = kMinutes;
  stamps[3] = "yesterday";
  const core::Result<std::vector<uint8_t>> labels = LoadNabWindowLabels(windows, "a.csv", stamps);
  ASSERT_FALSE(labels.ok());
  EXPECT_EQ(labels.status().message(), "a.csv: row 5: bad timestamp \"yesterday\"");
}

}  // namespace
}  // namespace lstmad::tools
