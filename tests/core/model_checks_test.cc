#include "lstmad/core/model_checks.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

namespace lstmad::core {
namespace {

bool Mentions(const std::vector<std::string>& warnings, const std::string& text) {
  for (const std::string& w : warnings) {
    if (w.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST(MeanPredictorErrorTest, IsTheSquaredDistanceToTheMeanOfAllWindows) {
  Matrix<float> series(2, 3);
  series << 0, 2, 4,  // feature a: windows (0, 2), (2, 4): samples 0 2 2 4, mean 2
      1, 1, 1;        // feature b: constant
  const WindowSet<float> windows = MakeWindows(series, 2);
  EXPECT_DOUBLE_EQ(MeanPredictorError(windows, {0, 1}), 1.0);  // a: (4 + 0 + 0 + 4) / 4 = 2; b: 0
  EXPECT_DOUBLE_EQ(MeanPredictorError(windows, {1}), 1.0);     // a: samples 2, 4 against 2: (0 + 4) / 2
  EXPECT_EQ(MeanPredictorError(windows, {}), 0.0);
  EXPECT_DOUBLE_EQ(MeanPredictorError(windows, {0, 1}, 1), 2.0);  // feature a only
}

CalibrationFacts Healthy() {
  CalibrationFacts f;
  f.spec = *ThresholdSpec::Parse("p99");
  for (int i = 0; i < 200; ++i) f.errors.push_back(0.01 * (1 + i % 10));
  f.threshold = 0.1;
  f.baseline_error = 1.0;
  return f;
}

TEST(CalibrationWarningsTest, NoneForAHealthyModel) { EXPECT_TRUE(CalibrationWarnings(Healthy()).empty()); }

TEST(CalibrationWarningsTest, NonFiniteErrorsAreABlowUp) {
  CalibrationFacts f = Healthy();
  f.errors[3] = std::numeric_limits<double>::infinity();
  const std::vector<std::string> w = CalibrationWarnings(f);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_TRUE(Mentions(w, "blew up"));
}

TEST(CalibrationWarningsTest, WorseThanAConstant) {
  CalibrationFacts f = Healthy();
  f.baseline_error = 0.02;  // median error 0.05 (sorted: 20 each of 0.01 .. 0.1; the 100th value)
  f.threshold = 0.1;
  EXPECT_TRUE(Mentions(CalibrationWarnings(f), "worse than a constant would (median error 0.05 against 0.02"));
}

TEST(CalibrationWarningsTest, TooFewWindowsForThePercentile) {
  CalibrationFacts f = Healthy();
  f.spec = *ThresholdSpec::Parse("p99.5");  // needs 200
  f.errors.resize(199);
  EXPECT_TRUE(Mentions(CalibrationWarnings(f), "computed from 199 windows; it needs at least 200"));
  f.errors.resize(200, 0.01);
  EXPECT_TRUE(CalibrationWarnings(f).empty());
}

TEST(CalibrationWarningsTest, AbsurdThresholds) {
  CalibrationFacts f = Healthy();
  f.threshold = 0;
  EXPECT_TRUE(Mentions(CalibrationWarnings(f), "every window will count as anomalous"));
  f.threshold = 10.5;  // baseline 1
  EXPECT_TRUE(Mentions(CalibrationWarnings(f), "more than 10 times the error of predicting"));
}

TEST(ConstantFeatureWarningsTest, NamesEachConstantFeature) {
  Matrix<double> series(3, 4);
  series << 20.1, 20.1, 20.1, 20.1,  //
      1, 2, 3, 4,                    //
      -7, -7, -7, -7;
  const std::vector<std::string> w = ConstantFeatureWarnings(series, {"setpoint", "flow", "mode"});
  ASSERT_EQ(w.size(), 2u);
  EXPECT_TRUE(Mentions(w, "feature \"setpoint\" is constant in the training data (20.1)"));
  EXPECT_TRUE(Mentions(w, "feature \"mode\" is constant in the training data (-7)"));
}

TEST(CalibrationWarningsTest, SaysWhenTheThresholdIsRaisedToTheFloor) {
  CalibrationFacts f = Healthy();
  // Every window reconstructed exactly: the threshold is the floor, and says so.
  f.errors.assign(200, 0.0);
  f.threshold = kMinComputedThreshold;
  EXPECT_TRUE(Mentions(CalibrationWarnings(f), "the threshold is raised to 1e-06"));
  f.errors.assign(200, 2e-6);  // above the floor: the threshold is the data's
  f.threshold = 2e-6;
  EXPECT_FALSE(Mentions(CalibrationWarnings(f), "raised"));
}

}  // namespace
}  // namespace lstmad::core
