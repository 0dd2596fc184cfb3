#include "lstmad/core/anomaly_score.h"

#include <gtest/gtest.h>

#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "core/support/random_samples.h"

namespace lstmad::core {
namespace {

using testing::Exponential;

TEST(EwmaTest, MatchesPandasSpanConvention) {
  Ewma ewma(3);  // alpha = 2 / (3 + 1) = 0.5
  EXPECT_EQ(ewma.alpha(), 0.5);
  EXPECT_EQ(ewma.Update(4.0), 4.0);  // the first value passes through
  EXPECT_EQ(ewma.Update(0.0), 2.0);
  EXPECT_EQ(ewma.Update(2.0), 2.0);
  Ewma off(1);
  EXPECT_EQ(off.Update(7.0), 7.0);
  EXPECT_EQ(off.Update(1.0), 1.0);
}

TEST(EwmaTest, NonFiniteValuesPassThroughWithoutEnteringTheAverage) {
  Ewma ewma(3);                                        // alpha 0.5
  EXPECT_TRUE(std::isnan(ewma.Update(std::nan(""))));  // before the first value: still not started
  EXPECT_FALSE(ewma.started());
  EXPECT_EQ(ewma.Update(4.0), 4.0);
  EXPECT_EQ(ewma.Update(HUGE_VAL), HUGE_VAL);
  EXPECT_TRUE(std::isnan(ewma.Update(std::nan(""))));
  EXPECT_EQ(ewma.value(), 4.0);
  EXPECT_EQ(ewma.Update(0.0), 2.0);  // as if the two had not come
}

TEST(OnsetGateTest, OneOnsetPerExcursionAndRefractoryGaps) {
  OnsetGate gate(3);
  std::vector<int> onsets;
  // Excursion at 2..9 with a 2-window dip (6, 7) inside; a new one at 13
  // after 3 quiet windows (10, 11, 12).
  const std::vector<int> alarms = {0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1};
  for (size_t i = 0; i < alarms.size(); ++i) {
    if (gate.Observe(alarms[i] != 0)) onsets.push_back(static_cast<int>(i));
  }
  EXPECT_EQ(onsets, (std::vector<int>{2, 13}));
}

DetectorOptions Options(ThresholdMode mode) {
  DetectorOptions o;
  o.threshold = mode;
  o.spot.risk = 1e-3;
  return o;
}

TEST(StreamDetectorTest, LongExcursionGivesOneSignalAtItsStart) {
  StreamDetector detector(Options(ThresholdMode::kSpot), 100.0, 10);
  ASSERT_TRUE(detector.Calibrate(Exponential(5000, 1)).ok());
  const std::vector<double> normal = Exponential(2000, 2);
  std::vector<double> stream(normal.begin(), normal.begin() + 1000);
  for (int i = 0; i < 300; ++i) stream.push_back(20.0 + i % 3);  // a long excursion
  stream.insert(stream.end(), normal.begin() + 1000, normal.end());
  std::vector<int> signals;
  int alarms = 0;
  for (size_t i = 0; i < stream.size(); ++i) {
    const Detection d = detector.Observe(stream[i]);
    ASSERT_GE(d.score, 0.0);
    ASSERT_LE(d.score, 1.0);
    EXPECT_EQ(d.onset, d.score > 0.5);
    alarms += d.alarm;
    if (d.score > 0.5) signals.push_back(static_cast<int>(i));
    if (i >= 1000 && i < 1300) {
      EXPECT_GT(d.level, 0.999);
    }
  }
  EXPECT_GE(alarms, 300);
  ASSERT_FALSE(signals.empty());
  EXPECT_EQ(signals.front(), 1000);
  // Besides the excursion, normal errors raise signals at about rate q.
  EXPECT_LE(signals.size(), 6u);
}

TEST(StreamDetectorTest, LevelModeStaysHighThroughTheExcursion) {
  DetectorOptions o = Options(ThresholdMode::kSpot);
  o.score = ScoreMode::kLevel;
  StreamDetector detector(o, 100.0, 10);
  ASSERT_TRUE(detector.Calibrate(Exponential(5000, 3)).ok());
  int high = 0;
  for (int i = 0; i < 50; ++i) high += detector.Observe(30.0).score > 0.99;
  EXPECT_EQ(high, 50);
}

TEST(StreamDetectorTest, FixedModeAlarmsOnTheModelThreshold) {
  StreamDetector detector(Options(ThresholdMode::kFixed), 2.0, 5);
  ASSERT_TRUE(detector.Calibrate(Exponential(5000, 4)).ok());
  EXPECT_FALSE(detector.Observe(1.9).alarm);
  const Detection d = detector.Observe(2.1);
  EXPECT_TRUE(d.alarm);
  EXPECT_TRUE(d.onset);
  EXPECT_EQ(d.threshold, 2.0);
  EXPECT_NEAR(d.level, 1.0 - std::exp(-2.1), 0.03);
}

TEST(StreamDetectorTest, SelfCalibratesAfterTheWarmup) {
  DetectorOptions o = Options(ThresholdMode::kSpot);
  o.calibration_windows = 500;
  StreamDetector detector(o, 3.0, 5);
  const std::vector<double> v = Exponential(1000, 5);
  for (int i = 0; i < 500; ++i) {
    const Detection d = detector.Observe(v[static_cast<size_t>(i)]);
    EXPECT_EQ(d.threshold, 3.0);  // the fixed threshold until calibrated
    EXPECT_EQ(d.alarm, v[static_cast<size_t>(i)] > 3.0);
  }
  EXPECT_TRUE(detector.calibrated());
  const Detection d = detector.Observe(1.0);
  EXPECT_GT(d.threshold, 4.0);  // SPOT's z_q at q = 1e-3, ~6.9
  EXPECT_NEAR(d.level, 1.0 - std::exp(-1.0), 0.06);
}

TEST(StreamDetectorTest, SelfCalibrationJudgesAsExplicitCalibrationOnTheSameWindows) {
  // The daemon and `score` calibrate themselves on a stream's first windows;
  // `evaluate` calibrates explicitly on the same windows. An early error far
  // above the few before it (the 4th, 20 against about 1) must enter the
  // likelihood's history as it is in both, or every later verdict differs.
  std::vector<double> v = Exponential(1200, 9);
  v[3] = 20.0;
  DetectorOptions o;
  o.threshold = ThresholdMode::kLikelihood;
  o.calibration_windows = 200;
  StreamDetector self(o, 3.0, 5);
  StreamDetector explicit_(o, 3.0, 5);
  ASSERT_TRUE(explicit_.Calibrate(std::span<const double>(v.data(), 200)).ok());
  for (size_t i = 0; i < 200; ++i) self.Observe(v[i]);
  ASSERT_TRUE(self.calibrated());
  int alarms = 0;
  for (size_t i = 200; i < v.size(); ++i) {
    const double e = v[i] + (i >= 1000 && i < 1010 ? 6.0 : 0.0);  // an excursion both must see
    const Detection a = self.Observe(e), b = explicit_.Observe(e);
    ASSERT_EQ(a.tail, b.tail) << i;
    ASSERT_EQ(a.alarm, b.alarm) << i;
    ASSERT_EQ(a.score, b.score) << i;
    alarms += a.alarm ? 1 : 0;
  }
  EXPECT_GT(alarms, 0);
}

TEST(StreamDetectorTest, SmoothingDelaysAndDampensASpike) {
  DetectorOptions o = Options(ThresholdMode::kSpot);
  o.smoothing_span = 9;  // alpha 0.2
  StreamDetector detector(o, 100.0, 5);
  ASSERT_TRUE(detector.Calibrate(std::vector<double>(200, 1.0)).ok());
  const Detection d = detector.Observe(6.0);
  EXPECT_DOUBLE_EQ(d.smoothed, 0.2 * 6.0 + 0.8 * 1.0);
  EXPECT_EQ(d.error, 6.0);
}

// The attack of issue 18: one value far beyond training overflows a window's
// error to +inf (or NaN); it used to make the EWMA NaN for good, so the stream
// never alarmed again (or, calibrated in fixed mode, never stopped).
TEST(StreamDetectorTest, ANonFiniteErrorIsAnAnomalyAndLeavesNoTrace) {
  const double kNaN = std::nan("");
  for (ThresholdMode mode : {ThresholdMode::kFixed, ThresholdMode::kSpot, ThresholdMode::kDspot,
                             ThresholdMode::kLikelihood, ThresholdMode::kSpotAndLikelihood}) {
    SCOPED_TRACE(std::string(ThresholdModeName(mode)));
    DetectorOptions o = Options(mode);
    o.smoothing_span = 5;
    o.calibration_windows = 200;  // self-calibrates: the warm-up must not count the bad windows
    StreamDetector clean(o, 3.0, 5), attacked(o, 3.0, 5);
    const std::vector<double> v = Exponential(1000, 8);
    for (size_t i = 0; i < v.size(); ++i) {
      if (i == 10 || i == 300) {  // one burst during the warm-up, one after calibration
        int k = 0;
        for (double bad : {HUGE_VAL, kNaN, HUGE_VAL, kNaN, HUGE_VAL}) {
          const Detection d = attacked.Observe(bad);
          EXPECT_TRUE(d.alarm);
          EXPECT_EQ(d.tail, 0.0);
          EXPECT_EQ(d.level, 1.0);
          // An onset scores 1; inside the excursion the burst started, the ceiling.
          EXPECT_EQ(d.score, d.onset ? 1.0 : kQuietScoreCeiling);
          if (k++ > 0) {
            EXPECT_FALSE(d.onset);
          }
          EXPECT_TRUE(std::isfinite(d.threshold));
        }
      }
      const Detection a = clean.Observe(v[i]), b = attacked.Observe(v[i]);
      ASSERT_EQ(a.smoothed, b.smoothed) << i;
      ASSERT_EQ(a.threshold, b.threshold) << i;
      ASSERT_EQ(a.tail, b.tail) << i;
      ASSERT_EQ(a.alarm, b.alarm) << i;
    }
    EXPECT_TRUE(attacked.calibrated());
    // Its state is all finite: a snapshot of it restores.
    StreamDetector restored(o, 3.0, 5);
    EXPECT_TRUE(restored.RestoreState(attacked.SaveState()).ok());
    // And a real excursion after the attack alarms as on the clean stream.
    const Detection a = clean.Observe(60.0), b = attacked.Observe(60.0);
    EXPECT_TRUE(b.alarm);
    EXPECT_EQ(a.smoothed, b.smoothed);
    EXPECT_EQ(a.alarm, b.alarm);
  }
}

TEST(StreamDetectorTest, CalibrationLeavesNonFiniteErrorsOut) {
  DetectorOptions o = Options(ThresholdMode::kSpot);
  o.smoothing_span = 3;
  std::vector<double> errors = Exponential(500, 9);
  StreamDetector clean(o, 3.0, 5), dirty(o, 3.0, 5);
  ASSERT_TRUE(clean.Calibrate(errors).ok());
  errors.insert(errors.begin() + 100, {HUGE_VAL, std::nan("")});
  ASSERT_TRUE(dirty.Calibrate(errors).ok());
  EXPECT_EQ(clean.spot().threshold(), dirty.spot().threshold());
  EXPECT_EQ(clean.Observe(1.5).smoothed, dirty.Observe(1.5).smoothed);
}

// The likelihood alone, a_t = the error (short window 1), no settling, no
// hysteresis, no novelty: its alarm is tail < the risk per window.
DetectorOptions PlainLikelihood(double risk_per) {
  DetectorOptions o;
  o.threshold = ThresholdMode::kLikelihood;
  o.likelihood.short_window = 1;
  o.likelihood.clear_risk = 0;
  o.settle = 0;
  o.novelty_margin = kNoveltyOff;
  o.likelihood_risk_per = risk_per;
  return o;
}

// Calibrated on errors 1 and 3 alternating (mean 2, sd 1), one window every
// `step` seconds (a few spanning a gap, and two unknown); then the verdict on
// error 2 + z.
Detection VerdictAt(double z, double risk_per, double step) {
  StreamDetector d(PlainLikelihood(risk_per), 100, 30);
  std::vector<double> calibration, steps;
  for (int i = 0; i < 200; ++i) {
    calibration.push_back(i % 2 == 0 ? 1.0 : 3.0);
    steps.push_back(i % 50 == 7 ? 1e5 : i % 100 == 9 ? 0 : step);
  }
  EXPECT_TRUE(d.Calibrate(calibration, steps).ok());
  return d.Observe(2 + z);
}

TEST(StreamDetectorTest, ARiskPerPeriodBecomesARiskPerWindowFromTheSamplingInterval) {
  // Per window (the default): 1e-4, z above 3.719.
  EXPECT_TRUE(VerdictAt(4.5, 0, 1).alarm);   // Q(4.5) = 3.4e-6
  EXPECT_FALSE(VerdictAt(3.5, 0, 1).alarm);  // Q(3.5) = 2.3e-4
  // 1e-4 per 5 minutes at one window a second: 1e-4 / 300 = 3.3e-7 per
  // window, z above 4.97.
  EXPECT_FALSE(VerdictAt(4.5, 300, 1).alarm);
  EXPECT_TRUE(VerdictAt(5.5, 300, 1).alarm);  // Q(5.5) = 1.9e-8
  // A window every 5 minutes: the same as per window.
  EXPECT_TRUE(VerdictAt(4.5, 300, 300).alarm);
  EXPECT_FALSE(VerdictAt(3.5, 300, 300).alarm);
  // Every hour: 12 times the risk, z above 3.03.
  EXPECT_TRUE(VerdictAt(3.5, 300, 3600).alarm);
  EXPECT_FALSE(VerdictAt(2.9, 300, 3600).alarm);  // Q(2.9) = 1.9e-3 > 1.2e-3

  StreamDetector d(PlainLikelihood(300), 100, 30);
  EXPECT_EQ(d.likelihood_risk(), 1e-4);  // until the interval is known
  d.SetSamplingInterval(0.1);
  EXPECT_DOUBLE_EQ(d.likelihood_risk(), 1e-4 * 0.1 / 300);
  d.SetSamplingInterval(1e9);  // far slower than the period: capped
  EXPECT_EQ(d.likelihood_risk(), kMaxRiskPerWindow);
  d.SetSamplingInterval(0);  // unknown: unchanged
  EXPECT_EQ(d.likelihood_risk(), kMaxRiskPerWindow);
  StreamDetector per_window(PlainLikelihood(0), 100, 30);
  per_window.SetSamplingInterval(0.1);  // no period: the risk stays per window
  EXPECT_EQ(per_window.likelihood_risk(), 1e-4);
}

TEST(StreamDetectorTest, ASelfCalibratingDetectorTakesTheMedianStepOfItsCalibrationWindows) {
  DetectorOptions o = PlainLikelihood(300);
  o.calibration_windows = 51;
  StreamDetector d(o, 100, 30);
  const std::vector<double> v = Exponential(60, 9);
  for (int i = 0; i < 51; ++i) {
    // 24 windows at 0.5 s, 20 at 2 s, 6 spanning a gap (600 s), one without
    // a step (unknown, left out): the lower median of the 50 is 2 s.
    const double step = i == 7 ? 0 : i < 25 ? 0.5 : i < 45 ? 2.0 : 600.0;
    EXPECT_EQ(d.likelihood_risk(), 1e-4) << i;  // per window until calibrated
    d.Observe(v[static_cast<size_t>(i)], Override::kNone, {}, step);
  }
  ASSERT_TRUE(d.calibrated());
  EXPECT_DOUBLE_EQ(d.likelihood_risk(), 1e-4 * 2.0 / 300);
  d.Observe(v[51], Override::kNone, {}, 0.001);  // calibrated: steps no longer count
  EXPECT_DOUBLE_EQ(d.likelihood_risk(), 1e-4 * 2.0 / 300);
}

TEST(DetectorOptionsTest, ValidatesAndParsesNames) {
  DetectorOptions o;
  EXPECT_TRUE(o.Validate().ok());
  o.likelihood_risk_per = -1;
  EXPECT_FALSE(o.Validate().ok());
  o.likelihood_risk_per = INFINITY;
  EXPECT_FALSE(o.Validate().ok());
  o.likelihood_risk_per = 300;
  EXPECT_TRUE(o.Validate().ok());
  o.smoothing_span = 0.5;
  EXPECT_FALSE(o.Validate().ok());
  o = DetectorOptions{};
  o.calibration_windows = 5;
  EXPECT_FALSE(o.Validate().ok());
  EXPECT_EQ(ParseThresholdMode("dspot"), ThresholdMode::kDspot);
  EXPECT_FALSE(ParseThresholdMode("pot").has_value());
  EXPECT_EQ(ParseScoreMode("level"), ScoreMode::kLevel);
  EXPECT_EQ(ThresholdModeName(ThresholdMode::kFixed), "fixed");
}

}  // namespace
}  // namespace lstmad::core
