// `lstmad replay`'s lines: tags parsed, timestamps converted to the daemon's
// precision, names escaped as line protocol requires, values that read back
// as the same double.
#include "replay.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "csv_table.h"

namespace lstmad::tools {
namespace {

using testing::Table;

TEST(ReplayTest, ParsesTagsInOrderAndRefusesHalfItems) {
  core::Result<Tags> tags = ParseTags("site=north,pump=p1");
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ(*tags, (Tags{{"site", "north"}, {"pump", "p1"}}));
  EXPECT_TRUE(ParseTags("")->empty());
  EXPECT_EQ(ParseTags("site=north,pump").status().message(), "--tags: expected key=value, got \"pump\"");
  EXPECT_EQ(ParseTags("=x").status().message(), "--tags: expected key=value, got \"=x\"");
  EXPECT_EQ(ParseTags("k=").status().message(), "--tags: expected key=value, got \"k=\"");
}

TEST(ReplayTest, TimestampsInTheDaemonsPrecision) {
  const core::CsvTable t = Table("timestamp,x\n2024-05-01T12:00:00.25Z,1\n1714564800.5,2\n");
  EXPECT_EQ(*RowTimestamp(t, 0, 1), 1714564800250000000);  // ns
  EXPECT_EQ(*RowTimestamp(t, 0, 1000000), 1714564800250);   // ms
  EXPECT_EQ(*RowTimestamp(t, 1, 1000000000), 1714564801);   // s: 0.5 rounds up
  EXPECT_EQ(*RowTimestamp(t, 1, 1000), 1714564800500000);    // us
  EXPECT_FALSE(RowTimestamp(Table("x\n1\n"), 0, 1)->has_value());  // no timestamp column
  // Past what an int64 of nanoseconds holds (year 2262).
  const core::CsvTable far = Table("timestamp,x\n9999999999.5,1\n");
  EXPECT_EQ(RowTimestamp(far, 0, 1).status().message(),
            "data row 1: timestamp \"9999999999.5\" is not a UTC time lstmad can send (ISO 8601 with Z or no "
            "zone, or epoch seconds, within the precision's range)");
  EXPECT_EQ(*RowTimestamp(far, 0, 1000), 9999999999500000);
  // Before the epoch, exactly: -1.25 s is -1250000000 ns.
  EXPECT_EQ(*RowTimestamp(Table("timestamp,x\n-1.25,1\n"), 0, 1), -1250000000);
  EXPECT_EQ(*RowTimestamp(Table("timestamp,x\n1969-12-31T23:59:59.5Z,1\n"), 0, 1000000), -500);
  EXPECT_EQ(PrecisionUnitNs("ms").value(), 1000000);
  EXPECT_EQ(PrecisionUnitNs("h").status().message(), "--precision must be ns, us, ms or s, got \"h\"");
}

TEST(ReplayTest, LinesEscapeNamesAndKeepValuesExact) {
  const core::CsvTable t = Table("timestamp,flow rate,a=b,c\n1,0.1,-2.5e-300,3\n");
  const std::string line = LineOf("pump room,1", {{"site name", "n=1,2"}}, t, 0, 42);
  EXPECT_EQ(line,
            "pump\\ room\\,1,site\\ name=n\\=1\\,2 flow\\ rate=0.10000000000000001,a\\=b=-2.5e-300,c=3 42\n");
  EXPECT_EQ(LineOf("m", {}, t, 0, std::nullopt), "m flow\\ rate=0.10000000000000001,a\\=b=-2.5e-300,c=3\n");
}

}  // namespace
}  // namespace lstmad::tools
