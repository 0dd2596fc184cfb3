// Time features: the parsed sets and the sin/cos inputs, checked against
// values worked out by hand (the phase of a known date on each cycle).
#include "lstmad/core/time_features.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <numbers>
#include <vector>

namespace lstmad::core {
namespace {

constexpr double kDay = 86400.0;
constexpr double kWeek = 604800.0;
// 2024-01-01 00:00:00 UTC, a Monday: 19723 days after Thursday 1970-01-01,
// 2817 weeks and 4 days, so 4/7 of the way round the weekly cycle.
constexpr double kMonday20240101 = 1704067200.0;

TimeFeatures ParsedFeatures(std::string_view list) {
  Result<TimeFeatures> parsed = TimeFeatures::Parse(list);
  EXPECT_TRUE(parsed.ok()) << parsed.status().message();
  return parsed.ok() ? *parsed : TimeFeatures{};
}

std::array<float, 4> Inputs(const TimeFeatures& time, double seconds) {
  std::array<float, 4> out{9, 9, 9, 9};  // 9: not written
  time.Compute(seconds, out);
  return out;
}

TEST(TimeFeaturesTest, ParsesListsIntoTheCanonicalOrder) {
  EXPECT_EQ(ParsedFeatures("daily").cycles, std::vector<TimeCycle>{TimeCycle::kDaily});
  const std::vector<TimeCycle> both = {TimeCycle::kDaily, TimeCycle::kWeekly};
  EXPECT_EQ(ParsedFeatures("daily,weekly").cycles, both);
  EXPECT_EQ(ParsedFeatures("weekly,daily").cycles, both);
  EXPECT_TRUE(ParsedFeatures("").empty());
  EXPECT_TRUE(ParsedFeatures("none").empty());
  EXPECT_EQ(ParsedFeatures("weekly,daily").ToString(), "daily,weekly");
  EXPECT_EQ(ParsedFeatures("weekly").ToString(), "weekly");
  EXPECT_EQ(TimeFeatures{}.ToString(), "none");
  EXPECT_EQ(ParsedFeatures("daily,weekly").inputs(), 4);
  EXPECT_EQ(ParsedFeatures("weekly").inputs(), 2);
  EXPECT_EQ(TimeFeatures{}.inputs(), 0);
}

TEST(TimeFeaturesTest, RefusesUnknownAndRepeatedCyclesNamingThem) {
  Result<TimeFeatures> unknown = TimeFeatures::Parse("daily,hourly");
  ASSERT_FALSE(unknown.ok());
  EXPECT_TRUE(unknown.status().IsInvalid());
  EXPECT_EQ(unknown.status().message(), "unknown time feature \"hourly\" (known: daily, weekly)");
  Result<TimeFeatures> twice = TimeFeatures::Parse("weekly,daily,weekly");
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.status().message(), "time feature \"weekly\" appears twice");
  EXPECT_FALSE(TimeFeatures::Parse("daily,").ok());
  EXPECT_FALSE(TimeFeatures::Parse("Daily").ok());
  EXPECT_FALSE(TimeFeatures::Parse(" daily").ok());
}

TEST(TimeFeaturesTest, PeriodsAreADayAndAWeek) {
  EXPECT_EQ(CyclePeriodSeconds(TimeCycle::kDaily), 86400.0);
  EXPECT_EQ(CyclePeriodSeconds(TimeCycle::kWeekly), 604800.0);
}

TEST(TimeFeaturesTest, TheEpochIsPhaseZeroOfEveryCycle) {
  const std::array<float, 4> v = Inputs(ParsedFeatures("daily,weekly"), 0.0);
  EXPECT_EQ(v, (std::array<float, 4>{0, 1, 0, 1}));
}

TEST(TimeFeaturesTest, AQuarterAndAHalfPeriodAreAQuarterAndAHalfTurn) {
  const TimeFeatures daily = ParsedFeatures("daily");
  std::array<float, 4> v = Inputs(daily, kDay / 4);  // 06:00: sin 1, cos 0
  EXPECT_FLOAT_EQ(v[0], 1.0f);
  EXPECT_NEAR(v[1], 0.0f, 1e-7);
  EXPECT_EQ(v[2], 9.0f);        // only inputs() values are written
  v = Inputs(daily, kDay / 2);  // 12:00: sin 0, cos -1
  EXPECT_NEAR(v[0], 0.0f, 1e-7);
  EXPECT_FLOAT_EQ(v[1], -1.0f);
  v = Inputs(daily, -kDay / 4);  // 18:00 the day before the epoch
  EXPECT_FLOAT_EQ(v[0], -1.0f);
  EXPECT_NEAR(v[1], 0.0f, 1e-7);
  const TimeFeatures weekly = ParsedFeatures("weekly");
  v = Inputs(weekly, kWeek / 4);
  EXPECT_FLOAT_EQ(v[0], 1.0f);
  EXPECT_NEAR(v[1], 0.0f, 1e-7);
  v = Inputs(weekly, kWeek / 2);
  EXPECT_NEAR(v[0], 0.0f, 1e-7);
  EXPECT_FLOAT_EQ(v[1], -1.0f);
}

TEST(TimeFeaturesTest, AKnownDateHasItsWeekdayPhaseAfterFiftyFourYears) {
  const TimeFeatures both = ParsedFeatures("weekly,daily");
  // Monday 00:00: midnight on the daily cycle; 4/7 turn on the weekly one:
  // sin(8 pi / 7) = -sin(pi / 7) = -0.4338837391, cos = -cos(pi / 7) = -0.9009688679.
  std::array<float, 4> v = Inputs(both, kMonday20240101);
  EXPECT_NEAR(v[0], 0.0f, 1e-6);
  EXPECT_FLOAT_EQ(v[1], 1.0f);
  EXPECT_FLOAT_EQ(v[2], -0.4338837391f);
  EXPECT_FLOAT_EQ(v[3], -0.9009688679f);
  // Monday 18:00: 3/4 turn of the day; (4 + 0.75)/7 of the week.
  v = Inputs(both, kMonday20240101 + 18 * 3600);
  EXPECT_FLOAT_EQ(v[0], -1.0f);
  EXPECT_NEAR(v[1], 0.0f, 1e-6);
  EXPECT_FLOAT_EQ(v[2], static_cast<float>(std::sin(2 * std::numbers::pi * 4.75 / 7)));
  EXPECT_FLOAT_EQ(v[3], static_cast<float>(std::cos(2 * std::numbers::pi * 4.75 / 7)));
  // The same weekday a week later gives the same inputs.
  EXPECT_EQ(Inputs(both, kMonday20240101 + 3 * kWeek), Inputs(both, kMonday20240101));
}

TEST(TimeFeaturesTest, AppendTimeInputsAddsRowsAfterTheSeries) {
  const TimeFeatures daily = ParsedFeatures("daily");
  Matrix<double> series(2, 3);
  series << 1, 2, 3, 4, 5, 6;
  const std::vector<double> seconds = {0, kDay / 2, kDay / 4};
  const Matrix<double> out = AppendTimeInputs<double>(series, daily, seconds);
  ASSERT_EQ(out.rows(), 4);
  ASSERT_EQ(out.cols(), 3);
  EXPECT_EQ(Matrix<double>(out.topRows(2)), series);
  EXPECT_EQ(out(2, 0), 0.0);
  EXPECT_EQ(out(3, 0), 1.0);
  EXPECT_NEAR(out(2, 1), 0.0, 1e-7);
  EXPECT_EQ(out(3, 1), -1.0);
  EXPECT_EQ(out(2, 2), 1.0);
  // Computed in float, as the daemon computes them.
  EXPECT_EQ(out(3, 2), static_cast<double>(static_cast<float>(std::cos(std::numbers::pi / 2))));
}

}  // namespace
}  // namespace lstmad::core
