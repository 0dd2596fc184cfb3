// Detect's novelty range (tools/lib/detection_run.h) holds every value of the
// series, the rows before the first window's newest included, as the
// daemon's range holds the samples of a stream's first window. Worked by hand
// with one feature and a lookback of 3.
#include <gtest/gtest.h>

#include <vector>

#include "detection_run.h"

namespace lstmad::tools {
namespace {

constexpr int kCalibration = 12;  // windows; SPOT's calibration (kept in every mode) needs 10
constexpr int kCalibrateBefore = kCalibration + 2;  // the row after the last calibration window's

// Rows 0 and 1 (0 and 10) come before window 0's newest row; windows 0 to 11
// calibrate (newest values 5, 6, 5, 6, ...); windows 12 and 13 are judged.
// All errors are equal, so the likelihood never alarms: only novelty can.
SeriesRun RunWithExtremesFirst(double judged_12, double judged_13) {
  SeriesRun run;
  run.lookback = 3;
  run.errors.assign(kCalibration + 2, 1.0);
  run.observed.resize(1, kCalibration + 2);
  for (int w = 0; w < kCalibration; ++w) run.observed(0, w) = 5 + w % 2;
  run.observed(0, kCalibration) = judged_12;
  run.observed(0, kCalibration + 1) = judged_13;
  run.reconstruction = run.observed;
  run.per_feature.setConstant(1, kCalibration + 2, 1.0);
  run.leading.resize(1, 2);
  run.leading << 0, 10;
  return run;
}

// The judged windows' alarms.
std::vector<bool> NoveltyAlarms(const SeriesRun& run) {
  return {run.detections[kCalibration].alarm, run.detections[kCalibration + 1].alarm};
}

TEST(DetectNoveltyTest, TheFirstRowsWidenTheRange) {
  core::DetectorOptions options;  // the likelihood, novelty margin 0.05
  // The range is [0, 10] from the first rows, so novel means beyond
  // [-0.5, 10.5]: 9.9 and 10.4 are not; 10.6 is (after 9.9, which widens
  // nothing). Without the first rows the range would be [5, 6], and 9.9
  // would be novel.
  SeriesRun run = RunWithExtremesFirst(9.9, 10.4);
  const core::Status status = Detect(options, 2.0, kCalibrateBefore, &run);
  ASSERT_TRUE(status.ok()) << status.message();
  ASSERT_EQ(run.calibration_windows, kCalibration);
  EXPECT_EQ(NoveltyAlarms(run), (std::vector<bool>{false, false}));

  SeriesRun beyond = RunWithExtremesFirst(9.9, 10.6);
  ASSERT_TRUE(Detect(options, 2.0, kCalibrateBefore, &beyond).ok());
  EXPECT_EQ(NoveltyAlarms(beyond), (std::vector<bool>{false, true}));
  EXPECT_EQ(beyond.detections[kCalibration + 1].tail, 0.0);
}

TEST(DetectNoveltyTest, WithoutTheFirstRowsTheCalibrationRangeJudges) {
  core::DetectorOptions options;
  SeriesRun run = RunWithExtremesFirst(9.9, 10.4);
  run.leading.resize(1, 0);  // a run made without them: [5, 6] is all the range knows
  // 9.9 is beyond 6 + 0.05 = 6.05; it widens the range to [5, 9.9], and
  // 10.4 is beyond 9.9 + 0.05 * 4.9 = 10.145.
  ASSERT_TRUE(Detect(options, 2.0, kCalibrateBefore, &run).ok());
  EXPECT_EQ(NoveltyAlarms(run), (std::vector<bool>{true, true}));
}

}  // namespace
}  // namespace lstmad::tools
