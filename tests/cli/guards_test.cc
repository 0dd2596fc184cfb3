// --guards (tools/lib/guard_flags.h) and the detection run with guards
// (Detect, AlertVerdicts): windows built by hand whose guard verdicts were
// worked out from the rule in docs/detection.md.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "detection_run.h"
#include "guard_flags.h"

namespace lstmad::tools {
namespace {

const std::vector<std::string> kFeatures = {"temperature", "pressure"};

// Parses `args` as a command with --guards and returns ParseGuardFlag's error.
std::string ParseGuards(const std::vector<std::string>& args, std::vector<core::FeatureGuard>* guards) {
  ArgParser p("test", "");
  AddGuardFlag(&p);
  std::string error;
  EXPECT_TRUE(p.Parse(args, &error)) << error;
  return ParseGuardFlag(p, kFeatures, guards);
}

TEST(GuardFlagTest, AbsentMeansNoGuards) {
  std::vector<core::FeatureGuard> guards(1);
  EXPECT_EQ(ParseGuards({}, &guards), "");
  EXPECT_TRUE(guards.empty());
}

TEST(GuardFlagTest, GivesOneGuardPerFeatureInTheModelsOrder) {
  std::vector<core::FeatureGuard> guards;
  ASSERT_EQ(ParseGuards({"--guards", "pressure:direction=below;temperature:min_deviation=2,valid_range=-20..120"},
                        &guards),
            "");
  ASSERT_EQ(guards.size(), 2u);
  EXPECT_EQ(guards[0].direction, core::Direction::kBoth);
  EXPECT_EQ(guards[0].min_deviation, 2.0);
  ASSERT_TRUE(guards[0].valid_range.has_value());
  EXPECT_EQ(guards[0].valid_range->first, -20.0);
  EXPECT_EQ(guards[0].valid_range->second, 120.0);
  EXPECT_EQ(guards[1].direction, core::Direction::kBelow);
  EXPECT_FALSE(guards[1].valid_range.has_value());
}

TEST(GuardFlagTest, AnUnknownFeatureIsNamed) {
  std::vector<core::FeatureGuard> guards;
  EXPECT_EQ(ParseGuards({"--guards=humidity:direction=above"}, &guards),
            "--guards: no feature \"humidity\" (the model's features: temperature, pressure)");
  EXPECT_EQ(ParseGuards({"--guards", "temperature:direction=sideways"}, &guards),
            "--guards: guard for \"temperature\": direction: expected above, below or both; got \"sideways\"");
}

// Two features, lookback 2, fixed threshold 1. temperature must be above its
// expected value, pressure too and within [0, 10].
//   w0: error 0.1 (normal); temperature 20 > 19 passes           -> kNone
//   w1: error 5 (alarm);    both below their expected values    -> kNormal (vetoed)
//   w2: error 5 (alarm);    temperature 21 > 20 passes           -> kNone
//   w3: error 0.1 (normal); pressure 12 outside [0, 10]          -> kAnomalous (forced)
SeriesRun GuardedRun() {
  SeriesRun run;
  run.lookback = 2;
  run.errors = {0.1, 5, 5, 0.1};
  run.observed.resize(2, 4);
  run.reconstruction.resize(2, 4);
  run.observed << 20, 18, 21, 20,  //
      5, 4, 5, 12;
  run.reconstruction << 19, 20, 20, 20,  //
      5, 5, 5, 5;
  return run;
}

std::vector<core::FeatureGuard> Guards() {
  std::vector<core::FeatureGuard> guards(2);
  guards[0].direction = core::Direction::kAbove;
  guards[1].direction = core::Direction::kAbove;
  guards[1].valid_range = std::pair{0.0, 10.0};
  return guards;
}

core::DetectorOptions FixedOptions() {
  core::DetectorOptions options;
  options.threshold = core::ThresholdMode::kFixed;
  return options;
}

std::vector<uint8_t> GuardAlarms(const SeriesRun& run) {
  std::vector<uint8_t> alarms;
  for (const core::Detection& d : run.detections) alarms.push_back(d.alarm ? 1 : 0);
  return alarms;
}

TEST(DetectWithGuardsTest, VetoesByDirectionAndForcesOutOfRange) {
  SeriesRun run = GuardedRun();
  const std::vector<core::FeatureGuard> guards = Guards();
  ASSERT_TRUE(Detect(FixedOptions(), 1.0, 0, &run, guards).ok());
  EXPECT_EQ(run.overrides, (std::vector<core::Override>{core::Override::kNone, core::Override::kNormal,
                                                        core::Override::kNone, core::Override::kAnomalous}));
  EXPECT_EQ(GuardAlarms(run), (std::vector<uint8_t>{0, 0, 1, 1}));
  // The onset gate sees the overridden alarms: the excursion starts at w2.
  EXPECT_FALSE(run.detections[1].onset);
  EXPECT_TRUE(run.detections[2].onset);
  EXPECT_EQ(AlertVerdicts(run, core::ThresholdMode::kFixed, 1.0), (std::vector<uint8_t>{0, 0, 1, 1}));
  EXPECT_EQ(AlertVerdicts(run, core::ThresholdMode::kSpot, 1.0), (std::vector<uint8_t>{0, 0, 1, 1}));
}

TEST(DetectWithGuardsTest, WithoutGuardsTheModelDecides) {
  SeriesRun run = GuardedRun();
  ASSERT_TRUE(Detect(FixedOptions(), 1.0, 0, &run).ok());
  EXPECT_EQ(run.overrides, std::vector<core::Override>(4, core::Override::kNone));
  EXPECT_EQ(GuardAlarms(run), (std::vector<uint8_t>{0, 1, 1, 0}));
  EXPECT_TRUE(run.detections[1].onset);
  EXPECT_EQ(AlertVerdicts(run, core::ThresholdMode::kFixed, 1.0), (std::vector<uint8_t>{0, 1, 1, 0}));
}

TEST(DetectWithGuardsTest, OverridesApplyToCalibrationWindowsFixedVerdicts) {
  // 40 quiet windows first, then the four above as w40..w43. Windows ending
  // before row 43 (w0..w41) calibrate the detector and get no detection;
  // their alert verdict is the fixed threshold's, overridden: w41's error 5
  // is above 1 but vetoed.
  SeriesRun run = GuardedRun();
  const SeriesRun tail = GuardedRun();
  run.errors.clear();
  for (int i = 0; i < 40; ++i) run.errors.push_back(0.01 * (i % 7));
  run.errors.insert(run.errors.end(), tail.errors.begin(), tail.errors.end());
  run.observed.resize(2, 44);
  run.reconstruction.resize(2, 44);
  run.observed.leftCols(40).setConstant(5);  // equal to the expected values: fails "above"
  run.reconstruction.leftCols(40).setConstant(5);
  run.observed.rightCols(4) = tail.observed;
  run.reconstruction.rightCols(4) = tail.reconstruction;
  const std::vector<core::FeatureGuard> guards = Guards();
  const core::Status s = Detect(FixedOptions(), 1.0, 43, &run, guards);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(run.calibration_windows, 42);
  EXPECT_EQ(run.overrides[0], core::Override::kNormal);
  EXPECT_EQ(run.overrides[41], core::Override::kNormal);
  for (core::ThresholdMode mode : {core::ThresholdMode::kFixed, core::ThresholdMode::kSpot}) {
    const std::vector<uint8_t> verdicts = AlertVerdicts(run, mode, 1.0);
    EXPECT_EQ(std::vector<uint8_t>(verdicts.end() - 4, verdicts.end()), (std::vector<uint8_t>{0, 0, 1, 1}));
  }
}

TEST(DetectWithGuardsTest, RefusesGuardsForAnotherFeatureCount) {
  SeriesRun run = GuardedRun();
  const std::vector<core::FeatureGuard> three(3);
  const core::Status s = Detect(FixedOptions(), 1.0, 0, &run, three);
  EXPECT_EQ(s.message(), "3 guards for a run of 2 observed features");
}

}  // namespace
}  // namespace lstmad::tools
