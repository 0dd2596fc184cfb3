// The offline replay's likelihood risk per period of time
// (tools/lib/detection_run.h, --likelihood-risk-per): each window's step comes
// from the run (the CSV's timestamp column); the calibration windows' lower
// median fixes the risk per window, explicitly calibrated or self-calibrating
// as `score` is; without timestamps the flag is refused. Worked by hand: the
// likelihood alone (a_t = the error), calibrated on errors 1 and 3 (mean 2,
// sd 1), then judging 2 + 4.5: Q(4.5) = 3.4e-6 alarms at 1e-4 per window,
// not at 1e-4 per 300 s with a window a second (3.3e-7).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "detection_run.h"

namespace lstmad::tools {
namespace {

constexpr int kCalibrationWindows = 200;

core::DetectorOptions PlainLikelihood(double risk_per) {
  core::DetectorOptions o;
  o.threshold = core::ThresholdMode::kLikelihood;
  o.likelihood.short_window = 1;
  o.likelihood.clear_risk = 0;
  o.settle = 0;
  o.novelty_margin = core::kNoveltyOff;
  o.likelihood_risk_per = risk_per;
  return o;
}

// 200 calibration windows and one judged (error 6.5), with `steps` as the
// windows' sampling intervals (empty: no timestamps).
SeriesRun TimedRun(std::vector<double> steps) {
  SeriesRun run;
  run.lookback = 3;
  for (int w = 0; w < kCalibrationWindows; ++w) run.errors.push_back(w % 2 == 0 ? 1.0 : 3.0);
  run.errors.push_back(6.5);
  run.steps = std::move(steps);
  return run;
}

std::vector<double> Steps(double seconds) { return std::vector<double>(kCalibrationWindows + 1, seconds); }

bool JudgedAlarms(const core::DetectorOptions& options, SeriesRun run, int calibrate_before) {
  const core::Status status = Detect(options, 100, calibrate_before, &run);
  EXPECT_TRUE(status.ok()) << status.message();
  return run.detections.back().alarm;
}

TEST(RiskPerTimeTest, TheTimestampsTurnARiskPerPeriodIntoOnePerWindow) {
  const int explicit_calibration = kCalibrationWindows + 2;  // rows: windows 0..199 end before row 202
  EXPECT_TRUE(JudgedAlarms(PlainLikelihood(0), TimedRun(Steps(1)), explicit_calibration));
  EXPECT_FALSE(JudgedAlarms(PlainLikelihood(300), TimedRun(Steps(1)), explicit_calibration));
  // A window every 5 minutes: 1e-4 per window again.
  EXPECT_TRUE(JudgedAlarms(PlainLikelihood(300), TimedRun(Steps(300)), explicit_calibration));

  // Self-calibrating (score: --calibration sets the detector's windows),
  // from the steps the windows bring; the median ignores a few gaps. The
  // warm-up clips what alarms against its short history, so the history is
  // not mean 2, sd 1 here: the judged error is the first whose tail lies
  // between the two risks (with a margin).
  core::DetectorOptions per_window = PlainLikelihood(0);
  per_window.calibration_windows = kCalibrationWindows;
  core::DetectorOptions per_time = per_window;
  per_time.likelihood_risk_per = 300;
  std::vector<double> gaps = Steps(1);
  for (int w = 0; w < 20; ++w) gaps[static_cast<size_t>(w * 10)] = 3600;
  SeriesRun judged;
  for (double e = 2; e < 100; e += 0.05) {
    SeriesRun run = TimedRun(gaps);
    run.errors.back() = e;
    ASSERT_TRUE(Detect(per_window, 100, 0, &run).ok());
    const double tail = run.detections.back().tail;
    if (tail < 1e-4 / 2 && tail > 1e-4 / 300 * 2) {
      judged = run;
      break;
    }
  }
  ASSERT_FALSE(judged.errors.empty()) << "no error between the two risks";
  EXPECT_TRUE(JudgedAlarms(per_window, judged, 0));
  EXPECT_FALSE(JudgedAlarms(per_time, judged, 0));
}

TEST(RiskPerTimeTest, WithoutTimestampsARiskPerPeriodIsRefused) {
  SeriesRun run = TimedRun({});
  const core::Status status = Detect(PlainLikelihood(300), 100, kCalibrationWindows + 2, &run);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("--likelihood-risk-per needs the rows' times"), std::string::npos)
      << status.message();
  SeriesRun per_window = TimedRun({});
  EXPECT_TRUE(Detect(PlainLikelihood(0), 100, kCalibrationWindows + 2, &per_window).ok());
}

}  // namespace
}  // namespace lstmad::tools
