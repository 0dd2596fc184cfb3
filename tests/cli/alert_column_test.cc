// `lstmad score`'s alert column: which windows count as above the threshold
// for alerting (the daemon's choice between the detector's alarm and the
// fixed threshold) and the alert state after each window, checked against
// sequences worked out by hand.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "detection_run.h"

namespace lstmad::tools {
namespace {

TEST(AlertColumnTest, FollowsForAndClearWindowByWindow) {
  // for=2: fires on the second consecutive window above; clear=2: resolves on
  // the second consecutive window not above. A lone window on the other side
  // breaks either run (windows 2, 6 and 9 start runs of one).
  const std::vector<uint8_t> verdicts = {1, 0, 1, 1, 1, 0, 1, 0, 0, 1, 1, 0, 0};
  const std::vector<uint8_t> expected = {0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0};
  EXPECT_EQ(AlertColumn(verdicts, core::AlertRule{2, 2}), expected);
}

TEST(AlertColumnTest, DefaultRuleNeedsThreeWindowsEachWay) {
  const std::vector<uint8_t> verdicts = {1, 1, 0, 1, 1, 1, 0, 0, 1, 0, 0, 0};
  const std::vector<uint8_t> expected = {0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0};
  EXPECT_EQ(AlertColumn(verdicts, core::AlertRule{}), expected);
}

TEST(AlertColumnTest, CountsAlertsWhoseChangeWasAccepted) {
  // Two alerts (for=2, clear=2). The first sees accepted windows at 4 and 5
  // (counted once, when first marked); the second none. An accepted window
  // while quiet (0) marks nothing. The column is the same with or without.
  const std::vector<uint8_t> verdicts = {1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0};
  const std::vector<uint8_t> accepted = {1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0};
  const std::vector<uint8_t> expected = {0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0};
  int count = -1;
  EXPECT_EQ(AlertColumn(verdicts, core::AlertRule{2, 2}, {}, accepted, &count), expected);
  EXPECT_EQ(count, 1);
  EXPECT_EQ(AlertColumn(verdicts, core::AlertRule{2, 2}), expected);
  // The accepted windows of a SeriesRun, where the detector judged.
  SeriesRun run;
  run.lookback = 3;
  run.errors = {1, 1, 1};
  run.calibration_windows = 1;
  run.detections.resize(3);
  run.detections[0].accepted = true;  // calibrated explicitly: not the detector's verdict
  run.detections[2].accepted = true;
  EXPECT_EQ(AcceptedVerdicts(run, core::ThresholdMode::kLikelihood), (std::vector<uint8_t>{0, 0, 1}));
  EXPECT_EQ(AcceptedVerdicts(run, core::ThresholdMode::kFixed), (std::vector<uint8_t>{0, 0, 0}));
}

TEST(AlertColumnTest, EmptySeriesGivesEmptyColumn) {
  EXPECT_TRUE(AlertColumn({}, core::AlertRule{2, 2}).empty());
}

// Four windows whose fixed-threshold verdicts (threshold 1) and detector
// alarms disagree on every window but the last.
SeriesRun DisagreeingRun() {
  SeriesRun run;
  run.lookback = 3;
  run.errors = {0.5, 2.0, std::numeric_limits<double>::quiet_NaN(), 1.5};
  run.detections.resize(4);
  run.detections[0].alarm = true;
  run.detections[1].alarm = false;
  run.detections[2].alarm = true;
  run.detections[3].alarm = true;
  return run;
}

TEST(AlertVerdictsTest, FixedModeComparesErrorWithThreshold) {
  // NaN (a reconstruction that overflowed) is above any threshold, as in the
  // daemon (core::ExceedsThreshold): it used to count as normal.
  EXPECT_EQ(AlertVerdicts(DisagreeingRun(), core::ThresholdMode::kFixed, 1.0),
            (std::vector<uint8_t>{0, 1, 1, 1}));
}

TEST(AlertVerdictsTest, SpotAndDspotUseTheDetectorsAlarm) {
  const std::vector<uint8_t> alarms = {1, 0, 1, 1};
  EXPECT_EQ(AlertVerdicts(DisagreeingRun(), core::ThresholdMode::kSpot, 1.0), alarms);
  EXPECT_EQ(AlertVerdicts(DisagreeingRun(), core::ThresholdMode::kDspot, 1.0), alarms);
}

TEST(AlertVerdictsTest, ExplicitCalibrationWindowsUseTheFixedThreshold) {
  SeriesRun run = DisagreeingRun();
  run.calibration_windows = 2;  // windows 0 and 1 have no detection
  EXPECT_EQ(AlertVerdicts(run, core::ThresholdMode::kSpot, 1.0), (std::vector<uint8_t>{0, 1, 1, 1}));
}

TEST(AlertVerdictsTest, ThresholdOverrideChangesFixedVerdicts) {
  EXPECT_EQ(AlertVerdicts(DisagreeingRun(), core::ThresholdMode::kFixed, 1.6),
            (std::vector<uint8_t>{0, 1, 1, 0}));
}

// Held windows (above only by the detector's hysteresis) keep a firing
// alert firing but do not start one, as in the daemon.
TEST(AlertColumnTest, HeldWindowsKeepButDoNotStartAnAlert) {
  const std::vector<uint8_t> verdicts = {1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1};
  const std::vector<uint8_t> held = {0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1};
  const std::vector<uint8_t> expected = {0, 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0};
  EXPECT_EQ(AlertColumn(verdicts, core::AlertRule{}, held), expected);
  // Without the held flags every window above counts.
  const std::vector<uint8_t> plain = {0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1};
  EXPECT_EQ(AlertColumn(verdicts, core::AlertRule{}), plain);
}

TEST(RowsOfWindowsTest, EachWindowsValueLandsOnItsLastRow) {
  SeriesRun run;
  run.lookback = 3;                   // window k ends at row k + 2
  run.errors = {0.1, 0.2, 0.3, 0.4};  // 4 windows of a 6-row series
  run.calibration_windows = 2;        // calibrating windows are mapped too
  EXPECT_EQ(RowsOfWindows(run, 6, {1, 0, 1, 1}), (std::vector<uint8_t>{0, 0, 1, 0, 1, 1}));
}

TEST(HeldVerdictsTest, OnlyDetectedWindowsOfAnAdaptiveModeAreHeld) {
  SeriesRun run = DisagreeingRun();
  run.detections[0].held = true;
  run.detections[3].held = true;
  EXPECT_EQ(HeldVerdicts(run, core::ThresholdMode::kLikelihood), (std::vector<uint8_t>{1, 0, 0, 1}));
  EXPECT_EQ(HeldVerdicts(run, core::ThresholdMode::kFixed), (std::vector<uint8_t>{0, 0, 0, 0}));
  run.calibration_windows = 2;  // windows 0 and 1 have no detection
  EXPECT_EQ(HeldVerdicts(run, core::ThresholdMode::kLikelihood), (std::vector<uint8_t>{0, 0, 0, 1}));
}

}  // namespace
}  // namespace lstmad::tools
