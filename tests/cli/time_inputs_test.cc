// The CLI's time inputs: a CSV's timestamps as seconds, the errors that name
// the file, and the model's input series (features, then time rows).
#include "time_inputs.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "csv_table.h"
#include "lstmad/core/csv.h"

namespace lstmad::tools {
namespace {

using testing::Table;

core::TimeFeatures Daily() { return core::TimeFeatures::Parse("daily").value(); }

// A model of 1 feature with a daily cycle; only the fields these functions read.
core::Model DailyModel() {
  core::Model m;
  m.feature_names = {"load"};
  m.SetTimeFeatures(Daily());
  return m;
}

TEST(TimeInputsTest, ParsesEachRowsTimestamp) {
  const core::CsvTable table =
      Table("timestamp,load\n2015-09-01 06:00:00,1\n2015-09-01T12:00:00Z,2\n1441108800,3\n");
  const core::Result<std::vector<double>> seconds = RowSeconds(table, "data.csv", Daily());
  ASSERT_TRUE(seconds.ok()) << seconds.status().message();
  EXPECT_EQ(*seconds, (std::vector<double>{1441087200, 1441108800, 1441108800}));
}

TEST(TimeInputsTest, ErrorsNameTheFileAndTheTimeFeatures) {
  const core::Result<std::vector<double>> none = RowSeconds(Table("load\n1\n2\n"), "data.csv", Daily());
  ASSERT_FALSE(none.ok());
  EXPECT_TRUE(none.status().IsInvalid());
  EXPECT_EQ(none.status().message(),
            "data.csv: no timestamp column; the time features (daily) need one (a first column "
            "named timestamp)");
  const core::Result<std::vector<double>> bad =
      RowSeconds(Table("timestamp,load\n2015-09-01 06:00:00,1\n2015-09-01,2\n"), "data.csv", Daily());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "data.csv: data row 2: timestamp \"2015-09-01\" is not \"YYYY-MM-DD HH:MM:SS\" (UTC) or "
            "epoch seconds, which the time features (daily) need");
}

TEST(TimeInputsTest, CheckPassesModelsWithoutTimeFeaturesWhateverTheData) {
  core::Model plain;
  plain.feature_names = {"load"};
  EXPECT_TRUE(CheckTimeInputs(plain, Table("load\n1\n"), "data.csv").ok());
  EXPECT_FALSE(CheckTimeInputs(DailyModel(), Table("load\n1\n"), "data.csv").ok());
  EXPECT_TRUE(CheckTimeInputs(DailyModel(), Table("timestamp,load\n0,1\n"), "data.csv").ok());
}

TEST(TimeInputsTest, InputSeriesIsTheValuesThenTheTimeRows) {
  const core::CsvTable table = Table("timestamp,load\n0,1.5\n21600,2.5\n43200,-3\n");
  const core::Matrix<float> series = ModelInputSeries(DailyModel(), table);
  ASSERT_EQ(series.rows(), 3);
  ASSERT_EQ(series.cols(), 3);
  EXPECT_EQ(series(0, 0), 1.5f);
  EXPECT_EQ(series(0, 2), -3.0f);
  // 00:00, 06:00, 12:00: a quarter turn apart.
  EXPECT_EQ(series(1, 0), 0.0f);
  EXPECT_EQ(series(2, 0), 1.0f);
  EXPECT_EQ(series(1, 1), 1.0f);
  EXPECT_EQ(series(2, 1), static_cast<float>(std::cos(std::numbers::pi / 2)));
  EXPECT_EQ(series(2, 2), -1.0f);
  core::Model plain;
  plain.feature_names = {"load"};
  EXPECT_EQ(ModelInputSeries(plain, table).rows(), 1);
}

}  // namespace
}  // namespace lstmad::tools
