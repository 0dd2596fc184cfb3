// Guards (core/guards.h) against hand-computed cases of the rule in
// docs/detection.md, and the command line's text form.
#include "lstmad/core/guards.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace lstmad::core {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

FeatureGuard Guard(Direction direction, double min_deviation = 0) {
  FeatureGuard g;
  g.direction = direction;
  g.min_deviation = min_deviation;
  return g;
}

FeatureGuard Range(double lo, double hi) {
  FeatureGuard g;
  g.valid_range = std::pair{lo, hi};
  return g;
}

Override One(const FeatureGuard& g, double observed, double expected) {
  return GuardOverride(std::span(&g, 1), std::span(&observed, 1), std::span(&expected, 1));
}

Override Many(const std::vector<FeatureGuard>& g, const std::vector<double>& observed,
              const std::vector<double>& expected) {
  return GuardOverride(g, observed, expected);
}

TEST(GuardOverrideTest, DefaultGuardLeavesTheModelToDecide) {
  EXPECT_FALSE(FeatureGuard{}.vetoes());
  EXPECT_EQ(One(FeatureGuard{}, 5, 1), Override::kNone);
  EXPECT_EQ(One(FeatureGuard{}, 1, 5), Override::kNone);
  EXPECT_EQ(One(FeatureGuard{}, kNaN, 5), Override::kNone);
}

TEST(GuardOverrideTest, AboveCountsOnlyObservationsOverTheExpectedValue) {
  const FeatureGuard above = Guard(Direction::kAbove);
  EXPECT_TRUE(above.vetoes());
  EXPECT_EQ(One(above, 10.5, 10), Override::kNone);
  EXPECT_EQ(One(above, 9.5, 10), Override::kNormal);
  EXPECT_EQ(One(above, 10, 10), Override::kNormal);  // no deviation has no sign
}

TEST(GuardOverrideTest, BelowCountsOnlyObservationsUnderTheExpectedValue) {
  const FeatureGuard below = Guard(Direction::kBelow);
  EXPECT_EQ(One(below, 9.5, 10), Override::kNone);
  EXPECT_EQ(One(below, 10.5, 10), Override::kNormal);
  EXPECT_EQ(One(below, 10, 10), Override::kNormal);
}

TEST(GuardOverrideTest, BothWithMinimumDeviationCountsEitherSign) {
  const FeatureGuard both = Guard(Direction::kBoth, 2);
  EXPECT_TRUE(both.vetoes());
  EXPECT_EQ(One(both, 13, 10), Override::kNone);
  EXPECT_EQ(One(both, 7, 10), Override::kNone);
  EXPECT_EQ(One(both, 11, 10), Override::kNormal);
  EXPECT_EQ(One(both, 9, 10), Override::kNormal);
}

TEST(GuardOverrideTest, MinimumDeviationIsInclusive) {
  // 0.5, 0.25 and their sums are exact in binary, so the boundary is exact.
  const FeatureGuard g = Guard(Direction::kBoth, 0.5);
  EXPECT_EQ(One(g, 1.75, 1.25), Override::kNone);    // |d| = 0.5: counts
  EXPECT_EQ(One(g, 0.75, 1.25), Override::kNone);    // |d| = 0.5 below
  EXPECT_EQ(One(g, 1.625, 1.25), Override::kNormal);  // 0.375
  const FeatureGuard above = Guard(Direction::kAbove, 0.5);
  EXPECT_EQ(One(above, 1.75, 1.25), Override::kNone);
  EXPECT_EQ(One(above, 0.75, 1.25), Override::kNormal);  // far enough, wrong sign
}

TEST(GuardOverrideTest, ValidRangeIsInclusiveAndForcesAnAnomalyOutside) {
  const FeatureGuard g = Range(-20, 120);
  EXPECT_FALSE(g.vetoes());
  EXPECT_EQ(One(g, -20, 0), Override::kNone);
  EXPECT_EQ(One(g, 120, 0), Override::kNone);
  EXPECT_EQ(One(g, 50, 0), Override::kNone);
  EXPECT_EQ(One(g, 120.001, 0), Override::kAnomalous);
  EXPECT_EQ(One(g, -20.5, 0), Override::kAnomalous);
  EXPECT_EQ(One(g, std::numeric_limits<double>::infinity(), 0), Override::kAnomalous);
}

TEST(GuardOverrideTest, RangeWinsOverAVeto) {
  FeatureGuard g = Guard(Direction::kAbove, 5);
  g.valid_range = std::pair{0.0, 100.0};
  EXPECT_EQ(One(g, 101, 200), Override::kAnomalous);  // would be vetoed: below expected
  EXPECT_EQ(One(g, 99, 200), Override::kNormal);
  EXPECT_EQ(One(g, 99, 90), Override::kNone);
}

TEST(GuardOverrideTest, NaNObservationIsOutsideAnyRangeAndFailsEveryCheck) {
  EXPECT_EQ(One(Range(-1e300, 1e300), kNaN, 0), Override::kAnomalous);
  EXPECT_EQ(One(Guard(Direction::kAbove), kNaN, 0), Override::kNormal);
  EXPECT_EQ(One(Guard(Direction::kBelow), kNaN, 0), Override::kNormal);
  EXPECT_EQ(One(Guard(Direction::kBoth, 1), kNaN, 0), Override::kNormal);
}

TEST(GuardOverrideTest, OnePassingFeatureKeepsTheModelsVerdict) {
  const std::vector<FeatureGuard> g = {Guard(Direction::kAbove), Guard(Direction::kBelow, 1),
                                       Guard(Direction::kBoth, 3)};
  // Feature 0 fails (below), 1 fails (too small), 2 fails (2 < 3): vetoed.
  EXPECT_EQ(Many(g, {4, 9.5, 12}, {5, 10, 10}), Override::kNormal);
  // Feature 1 passes (9 is 1 below 10): the model decides.
  EXPECT_EQ(Many(g, {4, 9, 12}, {5, 10, 10}), Override::kNone);
  // Feature 2 alone passes (|13 - 10| = 3).
  EXPECT_EQ(Many(g, {4, 9.5, 13}, {5, 10, 10}), Override::kNone);
}

TEST(GuardOverrideTest, AFeatureWithoutAVetoingGuardAlwaysPasses) {
  const std::vector<FeatureGuard> g = {Guard(Direction::kAbove), Range(0, 10)};
  EXPECT_EQ(Many(g, {1, 5}, {2, 5}), Override::kNone);
  EXPECT_EQ(Many(g, {1, 11}, {2, 5}), Override::kAnomalous);
  const std::vector<FeatureGuard> none(3);
  EXPECT_EQ(Many(none, {1, 2, 3}, {3, 2, 1}), Override::kNone);
}

TEST(GuardOverrideTest, AnyFeatureOutOfRangeForcesAnAnomaly) {
  const std::vector<FeatureGuard> g = {Guard(Direction::kAbove, 1), Range(0, 1)};
  EXPECT_EQ(Many(g, {10, 2}, {0, 0.5}), Override::kAnomalous);
  EXPECT_EQ(Many(g, {0, 0.5}, {10, 0.5}), Override::kNone);  // feature 1 passes (no veto guard)
}

TEST(FeatureGuardTest, ValidateRefusesNegativeOrNonFiniteValues) {
  EXPECT_TRUE(FeatureGuard{}.Validate().ok());
  EXPECT_TRUE(Range(-1, 1).Validate().ok());
  EXPECT_EQ(Guard(Direction::kBoth, -1).Validate().message(), "min_deviation must be a finite number >= 0, got -1");
  EXPECT_FALSE(Guard(Direction::kBoth, kNaN).Validate().ok());
  EXPECT_EQ(Range(1, 1).Validate().message(), "valid_range must be two finite numbers lo < hi, got [1, 1]");
  EXPECT_FALSE(Range(0, std::numeric_limits<double>::infinity()).Validate().ok());
}

TEST(DirectionTest, NamesRoundTrip) {
  for (Direction d : {Direction::kBoth, Direction::kAbove, Direction::kBelow}) {
    EXPECT_EQ(ParseDirection(DirectionName(d)), d);
  }
  EXPECT_EQ(ParseDirection("Above"), std::nullopt);
}

TEST(ParseGuardSpecTest, ReadsEveryKeyOfSeveralFeatures) {
  const Result<NamedGuards> parsed =
      ParseGuardSpec("temperature:direction=above,min_deviation=2,valid_range=-20..120;pressure:direction=below");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  ASSERT_EQ(parsed->size(), 2u);
  const auto& [t_name, t] = (*parsed)[0];
  EXPECT_EQ(t_name, "temperature");
  EXPECT_EQ(t.direction, Direction::kAbove);
  EXPECT_EQ(t.min_deviation, 2.0);
  ASSERT_TRUE(t.valid_range.has_value());
  EXPECT_EQ(t.valid_range->first, -20.0);
  EXPECT_EQ(t.valid_range->second, 120.0);
  const auto& [p_name, p] = (*parsed)[1];
  EXPECT_EQ(p_name, "pressure");
  EXPECT_EQ(p.direction, Direction::kBelow);
  EXPECT_EQ(p.min_deviation, 0.0);
  EXPECT_FALSE(p.valid_range.has_value());
}

TEST(ParseGuardSpecTest, ReadsExponentsAndNegativeRanges) {
  const Result<NamedGuards> parsed = ParseGuardSpec("x:valid_range=-1e3..-2.5,min_deviation=1e-3");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ((*parsed)[0].second.valid_range->first, -1000.0);
  EXPECT_EQ((*parsed)[0].second.valid_range->second, -2.5);
  EXPECT_EQ((*parsed)[0].second.min_deviation, 1e-3);
}

TEST(ParseGuardSpecTest, NamesTheProblem) {
  const auto error = [](std::string_view spec) { return ParseGuardSpec(spec).status().message(); };
  EXPECT_EQ(error(""), "guard \"\": expected feature:key=value[,key=value...]");
  EXPECT_EQ(error("x"), "guard \"x\": expected feature:key=value[,key=value...]");
  EXPECT_EQ(error(":direction=above"), "guard \":direction=above\": expected feature:key=value[,key=value...]");
  EXPECT_EQ(error("x:"), "guard for \"x\": no keys");
  EXPECT_EQ(error("x:direction=up"), "guard for \"x\": direction: expected above, below or both; got \"up\"");
  EXPECT_EQ(error("x:min_deviation=-1"), "guard for \"x\": min_deviation: expected a number >= 0; got \"-1\"");
  EXPECT_EQ(error("x:min_deviation=nan"), "guard for \"x\": min_deviation: expected a number >= 0; got \"nan\"");
  EXPECT_EQ(error("x:min_deviation=2x"), "guard for \"x\": min_deviation: expected a number >= 0; got \"2x\"");
  EXPECT_EQ(error("x:valid_range=5"), "guard for \"x\": valid_range: expected lo..hi (two numbers); got \"5\"");
  EXPECT_EQ(error("x:valid_range=1..inf"),
            "guard for \"x\": valid_range: expected lo..hi (two numbers); got \"1..inf\"");
  EXPECT_EQ(error("x:valid_range=3..3"), "guard for \"x\": valid_range: lo must be below hi; got \"3..3\"");
  EXPECT_EQ(error("x:direction"), "guard for \"x\": \"direction\": expected key=value");
  EXPECT_EQ(error("x:limit=3"),
            "guard for \"x\": unknown key \"limit\" (expected one of: direction, min_deviation, valid_range)");
  EXPECT_EQ(error("x:direction=above,direction=below"), "guard for \"x\": direction given twice");
  EXPECT_EQ(error("x:direction=above;x:min_deviation=1"), "guard for \"x\": the feature is named twice");
  EXPECT_EQ(error("x:direction=above;"), "guard \"\": expected feature:key=value[,key=value...]");
}

TEST(ResolveGuardsTest, PutsGuardsInTheModelsFeatureOrder) {
  const Result<NamedGuards> named = ParseGuardSpec("b:direction=below;a:valid_range=0..1");
  ASSERT_TRUE(named.ok());
  const Result<std::vector<FeatureGuard>> guards = ResolveGuards(*named, {"a", "b", "c"});
  ASSERT_TRUE(guards.ok()) << guards.status().message();
  ASSERT_EQ(guards->size(), 3u);
  EXPECT_TRUE((*guards)[0].valid_range.has_value());
  EXPECT_EQ((*guards)[1].direction, Direction::kBelow);
  EXPECT_FALSE((*guards)[2].vetoes());
  EXPECT_FALSE((*guards)[2].valid_range.has_value());
}

TEST(ResolveGuardsTest, AnUnknownFeatureIsAnErrorNamingTheFeatures) {
  const Result<std::vector<FeatureGuard>> guards =
      ResolveGuards({{"pressur", Guard(Direction::kAbove)}}, {"temperature", "pressure"});
  EXPECT_EQ(guards.status().message(), "no feature \"pressur\" (the model's features: temperature, pressure)");
  EXPECT_TRUE(guards.status().IsInvalid());
}

TEST(ResolveGuardsTest, ValidatesEachGuard) {
  const Result<std::vector<FeatureGuard>> guards = ResolveGuards({{"a", Range(2, 1)}}, {"a"});
  EXPECT_EQ(guards.status().message(), "guard for \"a\": valid_range must be two finite numbers lo < hi, got [2, 1]");
}

}  // namespace
}  // namespace lstmad::core
