#include "lstmad/core/error_likelihood.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "lstmad/core/anomaly_score.h"

namespace lstmad::core {
namespace {

TEST(NormalTailTest, KnownQuantilesAndInverse) {
  EXPECT_DOUBLE_EQ(NormalTail(0), 0.5);
  EXPECT_NEAR(NormalTail(1.6448536269514722), 0.05, 1e-15);
  EXPECT_NEAR(NormalTail(5), 2.866515718791939e-07, 1e-20);
  EXPECT_NEAR(NormalTailInverse(0.05), 1.6448536269514722, 1e-12);
  EXPECT_NEAR(NormalTailInverse(1e-4), 3.719016485455709, 1e-12);
}

TEST(NormalTailTest, LogScaledLevelIsNumentasScale) {
  EXPECT_DOUBLE_EQ(LogScaledLevel(1.0), 0.0);
  EXPECT_DOUBLE_EQ(LogScaledLevel(1e-5), 0.5);
  EXPECT_NEAR(LogScaledLevel(0.5), 0.0301029995663981, 1e-15);
  EXPECT_DOUBLE_EQ(LogScaledLevel(1e-12), 1.0);  // clamped
  EXPECT_DOUBLE_EQ(LogScaledLevel(0.0), 1.0);
}

LikelihoodOptions Tiny() {
  LikelihoodOptions o;
  o.short_window = 2;
  o.history = 4;
  o.block = 2;  // 3 blocks: 2 complete + the one filling
  o.risk = 1e-12;  // nothing below alarms, so every a_t enters unclipped
  return o;
}

// Every number below is computed by hand from the definition in the header.
TEST(ErrorLikelihoodTest, HandComputedSequence) {
  ErrorLikelihood lik(Tiny());
  ErrorLikelihood::Step s = lik.Observe(1.0);  // empty history: no judgement
  EXPECT_EQ(s.tail, 1.0);
  EXPECT_EQ(s.average, 1.0);
  ErrorLikelihood one(Tiny());
  one.Learn(1.0);
  s = one.Observe(3.0);  // a = 2; history {1}: one value, stdev floored at 1e-3 * 1
  EXPECT_EQ(s.average, 2.0);
  EXPECT_EQ(s.mean, 1.0);
  EXPECT_DOUBLE_EQ(s.stdev, 1e-3);
  EXPECT_NEAR(s.tail, 0.0, 1e-300);
  lik = ErrorLikelihood(Tiny());
  lik.Learn(1.0);
  lik.Learn(3.0);  // a = 2
  s = lik.Observe(5.0);  // a = (3 + 5) / 2 = 4; history {1, 2}: mean 1.5, stdev 0.5, z = 5
  EXPECT_EQ(s.average, 4.0);
  EXPECT_DOUBLE_EQ(s.mean, 1.5);
  EXPECT_DOUBLE_EQ(s.stdev, 0.5);
  EXPECT_NEAR(s.tail, 2.866515718791939e-07, 1e-20);
  s = lik.Observe(1.0);  // a = 3; history {1, 2, 4}: mean 7/3, variance 14/9
  EXPECT_EQ(s.average, 3.0);
  EXPECT_DOUBLE_EQ(s.mean, 7.0 / 3.0);
  EXPECT_NEAR(s.stdev, std::sqrt(14.0 / 9.0), 1e-15);
  EXPECT_NEAR(s.tail, NormalTail((3.0 - 7.0 / 3.0) / std::sqrt(14.0 / 9.0)), 1e-15);
  s = lik.Observe(0.0);  // a = 0.5, below the mean 2.5 of {1, 2, 4, 3}: tail 1
  EXPECT_EQ(s.average, 0.5);
  EXPECT_DOUBLE_EQ(s.mean, 2.5);
  EXPECT_EQ(s.tail, 1.0);
  EXPECT_EQ(lik.history_count(), 5);  // {1, 2} {4, 3} {0.5}
  lik.Observe(0.0);                   // a = 0: {1, 2} {4, 3} {0.5, 0}
  EXPECT_EQ(lik.history_count(), 6);
  s = lik.Observe(10.0);  // judged against all six; then {1, 2} leaves as {5} starts
  EXPECT_EQ(s.average, 5.0);
  EXPECT_DOUBLE_EQ(s.mean, 10.5 / 6.0);
  EXPECT_EQ(lik.history_count(), 5);  // {4, 3} {0.5, 0} {5}
  s = lik.Observe(10.0);              // a = 10 against {4, 3, 0.5, 0, 5}
  EXPECT_DOUBLE_EQ(s.mean, 12.5 / 5.0);
}

TEST(ErrorLikelihoodTest, AnAlarmEntersTheHistoryClippedAtTheAlarmLevel) {
  LikelihoodOptions o = Tiny();
  o.risk = 1e-3;  // Q^-1(1e-3) = 3.090232306167813
  ErrorLikelihood lik(o);
  lik.Learn(1.0);
  lik.Learn(3.0);  // history {1, 2}: mean 1.5, stdev 0.5
  ErrorLikelihood::Step s = lik.Observe(5.0);  // a = 4, z = 5: an alarm
  EXPECT_LT(s.tail, 1e-3);
  const double clipped = 1.5 + 3.090232306167813 * 0.5;
  s = lik.Observe(5.0);  // a = 5 judged against {1, 2, clipped}, not {1, 2, 4}
  EXPECT_NEAR(s.mean, (3.0 + clipped) / 3.0, 1e-12);
}

TEST(ErrorLikelihoodTest, AnUnclippedObservationEntersTheHistoryAsItIs) {
  LikelihoodOptions o = Tiny();
  o.risk = 1e-3;
  ErrorLikelihood lik(o);
  lik.Learn(1.0);
  lik.Learn(3.0);  // history {1, 2}
  ErrorLikelihood::Step s = lik.Observe(5.0, /*clip=*/false);  // a = 4, z = 5: judged as before
  EXPECT_EQ(s.average, 4.0);
  EXPECT_DOUBLE_EQ(s.mean, 1.5);
  EXPECT_DOUBLE_EQ(s.stdev, 0.5);
  EXPECT_NEAR(s.tail, NormalTail(5.0), 1e-20);
  s = lik.Observe(5.0);  // a = 5 judged against {1, 2, 4}: mean 7/3, variance 14/9
  EXPECT_NEAR(s.mean, 7.0 / 3.0, 1e-12);
  EXPECT_NEAR(s.stdev, std::sqrt(14.0) / 3.0, 1e-12);
  EXPECT_NEAR(s.tail, NormalTail((5.0 - 7.0 / 3.0) / (std::sqrt(14.0) / 3.0)), 1e-15);
}

// A weight of w enters a_t w times, one window at a time, and the error
// joins the short window once.
TEST(ErrorLikelihoodTest, AWeightedObservationCountsAsThatManyWindows) {
  LikelihoodOptions o = Tiny();  // history 4 in blocks of 2 (3 blocks kept)
  ErrorLikelihood lik(o);
  lik.Learn(1.0);                                  // blocks {1}
  lik.Observe(3.0, /*clip=*/false, /*weight=*/3);  // a = (1 + 3) / 2 = 2: blocks {1, 2} {2, 2}
  EXPECT_EQ(lik.history_count(), 4);
  ErrorLikelihood::Step s = lik.Observe(3.0);  // a = (3 + 3) / 2 = 3 against {1, 2, 2, 2}
  EXPECT_EQ(s.average, 3.0);
  EXPECT_DOUBLE_EQ(s.mean, 7.0 / 4.0);
  EXPECT_NEAR(s.stdev, std::sqrt(3.0) / 4.0, 1e-12);  // variance (0.5625 + 3 * 0.0625) / 4 = 3 / 16
  // Blocks {1, 2} {2, 2} {3}. A weight that fills more than the current
  // block starts a new one, dropping the oldest whole: a = (3 + 5) / 2 = 4
  // three times gives {2, 2} {3, 4} {4, 4}.
  lik.Observe(5.0, /*clip=*/false, /*weight=*/3);
  EXPECT_EQ(lik.history_count(), 6);
  s = lik.Observe(4.0);  // a = 4.5 against {2, 2, 3, 4, 4, 4}; then {3, 4} {4, 4} {4.5}
  EXPECT_DOUBLE_EQ(s.average, 4.5);
  EXPECT_DOUBLE_EQ(s.mean, 19.0 / 6.0);
  EXPECT_EQ(lik.history_count(), 5);
  // The state still reads back (whole counts within a block).
  std::string bytes;
  lik.AppendState(&bytes);
  ErrorLikelihood copy(o);
  std::string_view in(bytes);
  EXPECT_TRUE(copy.ReadState(&in).ok());
  EXPECT_EQ(copy.history_count(), lik.history_count());
}

TEST(ErrorLikelihoodTest, NonFiniteErrorsAreAlarmingAndStayOut) {
  ErrorLikelihood lik(Tiny());
  lik.Learn(1.0);
  lik.Learn(1.0);
  EXPECT_EQ(lik.Observe(std::numeric_limits<double>::quiet_NaN()).tail, 0.0);
  EXPECT_EQ(lik.Observe(std::numeric_limits<double>::infinity()).tail, 0.0);
  EXPECT_EQ(lik.history_count(), 2);
  const ErrorLikelihood::Step s = lik.Observe(1.0);  // the short window still holds 1, 1
  EXPECT_EQ(s.average, 1.0);
  EXPECT_EQ(s.tail, 1.0);
}

TEST(ErrorLikelihoodTest, ValidateNamesTheBadSetting) {
  LikelihoodOptions o;
  EXPECT_TRUE(o.Validate().ok());
  o.history = 2050;  // not a multiple of the block
  EXPECT_NE(o.Validate().message().find("multiple of its block"), std::string::npos);
  o = LikelihoodOptions{};
  o.short_window = 0;
  EXPECT_NE(o.Validate().message().find("short window"), std::string::npos);
  o = LikelihoodOptions{};
  o.risk = 0.5;
  EXPECT_NE(o.Validate().message().find("risk"), std::string::npos);
}

TEST(ErrorLikelihoodTest, StateRoundTripContinuesIdentically) {
  LikelihoodOptions o;
  o.short_window = 3;
  o.history = 200;
  o.block = 20;
  ErrorLikelihood a(o);
  std::mt19937_64 rng(7);
  std::exponential_distribution<double> dist(1.0);
  for (int i = 0; i < 237; ++i) a.Observe(dist(rng));
  std::string bytes;
  a.AppendState(&bytes);
  ErrorLikelihood b(o);
  std::string_view in(bytes);
  ASSERT_TRUE(b.ReadState(&in).ok());
  EXPECT_TRUE(in.empty());
  EXPECT_EQ(b.history_count(), a.history_count());
  for (int i = 0; i < 300; ++i) {
    const double e = dist(rng);
    const ErrorLikelihood::Step x = a.Observe(e), y = b.Observe(e);
    ASSERT_EQ(x.average, y.average) << i;
    ASSERT_EQ(x.mean, y.mean) << i;
    ASSERT_EQ(x.tail, y.tail) << i;
  }
  // Damaged: a truncation, or a block holding more than a block, is refused
  // and the object left as it was.
  ErrorLikelihood c(o);
  std::string_view truncated(bytes.data(), bytes.size() - 3);
  EXPECT_NE(c.ReadState(&truncated).message().find("truncated"), std::string::npos);
  std::string bad = bytes;
  const double too_many = 21;  // the newest block's count: the last (count, mean, M2)
  bad.replace(bad.size() - 24, 8, reinterpret_cast<const char*>(&too_many), 8);
  std::string_view damaged(bad);
  EXPECT_NE(c.ReadState(&damaged).message().find("inconsistent likelihood block"), std::string::npos);
  EXPECT_EQ(c.history_count(), 0);
}

DetectorOptions LikelihoodDetector() {
  DetectorOptions o;
  o.threshold = ThresholdMode::kLikelihood;
  return o;
}

std::vector<double> Noise(int n, double level, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> dist(level, 0.1 * level);
  std::vector<double> v(static_cast<size_t>(n));
  for (double& x : v) x = std::abs(dist(rng));
  return v;
}

TEST(StreamDetectorLikelihoodTest, StepInErrorsGivesOneOnsetAndNormalScoresNearZero) {
  StreamDetector detector(LikelihoodDetector(), /*fixed_threshold=*/100, /*lookback=*/10);
  ASSERT_TRUE(detector.Calibrate(Noise(500, 1.0, 1)).ok());
  EXPECT_TRUE(detector.calibrated());
  double max_normal = 0;
  int alarms = 0;
  for (double e : Noise(3000, 1.0, 2)) {
    const Detection d = detector.Observe(e);
    max_normal = std::max(max_normal, d.score);
    alarms += d.alarm;
  }
  EXPECT_LE(alarms, 3);  // risk 1e-4 on 3000 windows, the short mean correlated
  EXPECT_LT(max_normal, 0.5);
  std::vector<int> onsets;
  for (int i = 0; i < 40; ++i) {
    const Detection d = detector.Observe(3.0);  // the error level triples and stays
    if (d.onset) onsets.push_back(i);
    if (i >= 2) {
      EXPECT_TRUE(d.alarm) << i;
    }
  }
  ASSERT_EQ(onsets.size(), 1u);
  EXPECT_LE(onsets[0], 1);  // the short mean of 5 crosses z = 3.7 within two windows
}

TEST(StreamDetectorLikelihoodTest, TypicalNormalScoreIsNearZero) {
  StreamDetector detector(LikelihoodDetector(), 100, 10);
  ASSERT_TRUE(detector.Calibrate(Noise(500, 1.0, 3)).ok());
  std::vector<double> scores;
  for (double e : Noise(1001, 1.0, 4)) scores.push_back(detector.Observe(e).score);
  std::nth_element(scores.begin(), scores.begin() + 500, scores.end());
  EXPECT_LT(scores[500], 0.03);  // the median: 0.49 x LogScaledLevel(~0.5) = 0.015
}

TEST(StreamDetectorLikelihoodTest, OverrideDecidesBeforeTheOnsetGate) {
  StreamDetector detector(LikelihoodDetector(), 100, 3);
  ASSERT_TRUE(detector.Calibrate(Noise(200, 1.0, 5)).ok());
  Detection d = detector.Observe(1.0, Override::kAnomalous);
  EXPECT_TRUE(d.alarm);
  EXPECT_TRUE(d.onset);
  d = detector.Observe(50.0, Override::kNormal);  // the model would alarm; the guard says normal
  EXPECT_FALSE(d.alarm);
  EXPECT_FALSE(d.onset);
}

TEST(StreamDetectorLikelihoodTest, SelfCalibratesAfterCalibrationWindows) {
  DetectorOptions o = LikelihoodDetector();
  o.calibration_windows = 100;
  StreamDetector detector(o, /*fixed_threshold=*/2.5, 10);
  const std::vector<double> noise = Noise(100, 1.0, 6);
  for (size_t i = 0; i < noise.size(); ++i) {
    EXPECT_FALSE(detector.calibrated());
    const Detection d = detector.Observe(noise[i]);
    EXPECT_EQ(d.threshold, 2.5);  // the fixed threshold decides until calibrated
  }
  EXPECT_TRUE(detector.calibrated());
  EXPECT_EQ(detector.likelihood().history_count(), 100);
}

TEST(StreamDetectorLikelihoodTest, SavedStateContinuesIdentically) {
  DetectorOptions o = LikelihoodDetector();
  o.calibration_windows = 50;
  StreamDetector a(o, 2.5, 10);
  const std::vector<double> errors = Noise(400, 1.0, 8);
  for (int i = 0; i < 180; ++i) a.Observe(errors[static_cast<size_t>(i)]);
  StreamDetector b(o, 2.5, 10);
  ASSERT_TRUE(b.RestoreState(a.SaveState()).ok());
  EXPECT_TRUE(b.calibrated());
  for (int i = 180; i < 400; ++i) {
    const Detection x = a.Observe(errors[static_cast<size_t>(i)]);
    const Detection y = b.Observe(errors[static_cast<size_t>(i)]);
    ASSERT_EQ(x.score, y.score) << i;
    ASSERT_EQ(x.alarm, y.alarm) << i;
  }
  DetectorOptions other = o;
  other.likelihood.short_window = 4;
  StreamDetector c(other, 2.5, 10);
  EXPECT_NE(c.RestoreState(a.SaveState()).message().find("other detector settings"), std::string::npos);
  other = o;
  other.settle = 4;
  StreamDetector e(other, 2.5, 10);
  EXPECT_NE(e.RestoreState(a.SaveState()).message().find("other detector settings"), std::string::npos);
  other = o;
  other.settle_weight = 3;
  StreamDetector g(other, 2.5, 10);
  EXPECT_NE(g.RestoreState(a.SaveState()).message().find("other detector settings"), std::string::npos);
  other = o;
  other.likelihood.clear_risk = 0;  // the default is 1e-2
  StreamDetector f(other, 2.5, 10);
  EXPECT_NE(f.RestoreState(a.SaveState()).message().find("other detector settings"), std::string::npos);
}

// Settling: the first T windows after calibration (T = the lookback, 3 here)
// are judged but cannot alarm and enter the history unclipped, each as 10
// windows (the default settling weight).
TEST(StreamDetectorLikelihoodTest, SettlesForTheLookbackAfterCalibration) {
  const std::vector<double> calibration(200, 1.0);  // stdev floored at 1e-3
  StreamDetector detector(LikelihoodDetector(), /*fixed_threshold=*/100, /*lookback=*/3);
  EXPECT_EQ(detector.settle(), 3);
  ASSERT_TRUE(detector.Calibrate(calibration).ok());
  for (int i = 0; i < 3; ++i) {
    const Detection d = detector.Observe(1.5);
    EXPECT_FALSE(d.alarm) << i;
    EXPECT_FALSE(d.onset) << i;
    // Judged: far above the history (the first against 200 ones, 1e-80),
    // below the risk of 1e-4 each time, yet no alarm.
    EXPECT_LT(d.tail, i == 0 ? 1e-80 : 1e-9) << i;
    EXPECT_DOUBLE_EQ(d.score, kQuietScoreCeiling * LogScaledLevel(d.tail)) << i;  // no onset
  }
  // The history is 200 ones and the three short means 1.05, 1.1, 1.15 (short
  // window 10), unclipped, 10 times each: mean (200 + 10.5 + 11 + 11.5) / 230,
  // variance 0.31087 / 230 (sigma 0.03676); the fourth short mean, 1.2, is
  // still far out (z 5.09): it alarms and starts an excursion.
  const ErrorLikelihood::Step expected = [] {
    ErrorLikelihood lik(LikelihoodDetector().likelihood);
    for (int i = 0; i < 200; ++i) lik.Learn(1.0);
    for (int i = 0; i < 3; ++i) lik.Observe(1.5, /*clip=*/false, /*weight=*/10);
    EXPECT_EQ(lik.history_count(), 230);
    return lik.Observe(1.5);
  }();
  EXPECT_NEAR(expected.mean, 233.0 / 230.0, 1e-12);
  EXPECT_NEAR(expected.stdev, 0.036764, 1e-5);
  EXPECT_LT(expected.tail, 1e-4);
  EXPECT_NEAR(expected.average, 1.2, 1e-12);
  const Detection d = detector.Observe(1.5);
  EXPECT_TRUE(d.alarm);
  EXPECT_TRUE(d.onset);
  EXPECT_EQ(d.threshold, expected.mean + expected.stdev * NormalTailInverse(1e-4));

  // A settling weight of 1: each settling window counts once (mean 203.3 /
  // 203), the fourth short mean is judged against that history.
  DetectorOptions once = LikelihoodDetector();
  once.settle_weight = 1;
  StreamDetector unweighted(once, 100, 3);
  ASSERT_TRUE(unweighted.Calibrate(calibration).ok());
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(unweighted.Observe(1.5).alarm) << i;
  const ErrorLikelihood::Step once_expected = [] {
    ErrorLikelihood lik(LikelihoodDetector().likelihood);
    for (int i = 0; i < 200; ++i) lik.Learn(1.0);
    for (int i = 0; i < 3; ++i) lik.Observe(1.5, /*clip=*/false);
    return lik.Observe(1.5);
  }();
  EXPECT_NEAR(once_expected.mean, 203.3 / 203.0, 1e-12);
  EXPECT_EQ(unweighted.Observe(1.5).threshold,
            once_expected.mean + once_expected.stdev * NormalTailInverse(1e-4));

  // settle = 0: the first window after calibration alarms.
  DetectorOptions none = LikelihoodDetector();
  none.settle = 0;
  StreamDetector at_once(none, 100, 3);
  EXPECT_EQ(at_once.settle(), 0);
  ASSERT_TRUE(at_once.Calibrate(calibration).ok());
  EXPECT_TRUE(at_once.Observe(1.5).onset);

  // Self-calibration: the settling starts after the calibration windows.
  DetectorOptions self = LikelihoodDetector();
  self.calibration_windows = 200;
  self.settle = 2;
  StreamDetector warm(self, /*fixed_threshold=*/1.2, 3);
  for (int i = 0; i < 200; ++i) warm.Observe(1.0);
  ASSERT_TRUE(warm.calibrated());
  EXPECT_FALSE(warm.Observe(1.5).alarm);
  EXPECT_FALSE(warm.Observe(1.5).alarm);
  EXPECT_TRUE(warm.Observe(1.5).alarm);

  // Only the likelihood settles: SPOT alarms at once.
  DetectorOptions spot;
  spot.threshold = ThresholdMode::kSpot;
  EXPECT_EQ(StreamDetector(spot, 100, 3).settle(), 0);
}

// Hysteresis: the history is 100 x 0.9 and 100 x 1.1 (mean 1, stdev 0.1),
// the short window 1, risk 1e-4 (z 3.719), clear risk 1e-2 (z 2.326).
TEST(StreamDetectorLikelihoodTest, AnAlarmGoesOnWhileTheTailStaysBelowTheClearRisk) {
  std::vector<double> calibration;
  for (int i = 0; i < 100; ++i) calibration.insert(calibration.end(), {0.9, 1.1});
  auto run = [&](double clear_risk) {
    DetectorOptions o = LikelihoodDetector();
    o.likelihood.short_window = 1;
    o.likelihood.clear_risk = clear_risk;
    o.settle = 0;
    StreamDetector detector(o, /*fixed_threshold=*/100, /*lookback=*/3);
    EXPECT_TRUE(detector.Calibrate(calibration).ok());
    std::vector<bool> alarms;
    // 1.5: z = 5, an alarm; it enters clipped at 1.3719 (mean 1.00185, stdev
    // 0.10313 after it). 1.3: z = 2.891, tail 0.0019: between the two risks
    // (it enters unclipped: clipping follows the risk). 1.28: z = 2.636, tail
    // 0.0042, again between. 1.15: z = 1.364, tail 0.086: above both, the
    // alarm ends. 1.3 again: z = 2.761, tail 0.0029, between, but no alarm
    // to go on.
    std::vector<bool> held;
    for (double e : {1.5, 1.3, 1.28, 1.15, 1.3}) {
      const Detection d = detector.Observe(e);
      alarms.push_back(d.alarm);
      held.push_back(d.held);
    }
    return std::make_pair(alarms, held);
  };
  EXPECT_EQ(run(1e-2).first, (std::vector<bool>{true, true, true, false, false}));
  // The second and third alarm only by hysteresis: held (they keep an alert
  // firing but start none, AlertState).
  EXPECT_EQ(run(1e-2).second, (std::vector<bool>{false, true, true, false, false}));
  EXPECT_EQ(run(0).first, (std::vector<bool>{true, false, false, false, false}));  // none: risk alone
  EXPECT_EQ(run(0).second, (std::vector<bool>(5, false)));
  LikelihoodOptions bad;
  bad.clear_risk = 1e-5;  // below the risk: refused
  EXPECT_FALSE(bad.Validate().ok());
  bad.clear_risk = 0.5;
  EXPECT_FALSE(bad.Validate().ok());
  EXPECT_EQ(LikelihoodOptions{}.clear_risk, 1e-2);  // the default: hysteresis on
  EXPECT_TRUE(LikelihoodOptions{}.Validate().ok());
}

// A lasting change: a stream whose errors were all 1.0 steps to 2.0 for good
// (short window 1, no settling). Each alarm enters the history clipped at the
// alarm level and sigma is floored at 1e-3 of the mean, so the level creeps
// up a little per window: the step alarms for 369 windows. With
// accept_after = 5 the sixth alarming window on enters unclipped and 10 times
// (the settling weight), and the alarm ends once the step's share of the
// history puts 2.0 within the clear risk's z (2.326): after 9 windows.
TEST(StreamDetectorLikelihoodTest, ALastingChangeBecomesTheNewNormal) {
  // Each window's alarm, and the windows that entered the history as the new normal.
  struct Run {
    std::vector<bool> alarms;
    std::vector<int> accepted;
  };
  auto detect = [](int accept_after, int windows) {
    DetectorOptions o = LikelihoodDetector();
    o.likelihood.short_window = 1;
    o.settle = 0;
    o.accept_after = accept_after;
    StreamDetector detector(o, /*fixed_threshold=*/100, /*lookback=*/3);
    EXPECT_TRUE(detector.Calibrate(std::vector<double>(200, 1.0)).ok());
    Run out;
    for (int i = 0; i < windows; ++i) {
      const Detection d = detector.Observe(2.0);
      out.alarms.push_back(d.alarm);
      if (d.accepted) out.accepted.push_back(i);
    }
    return out;
  };
  // The same by hand, on the likelihood alone: the first alarm at its risk
  // (1e-4), the next ones at the clear risk (hysteresis); clipping is the
  // likelihood's own (at its risk), except for accepted windows.
  auto by_hand = [](int accept_after) {
    LikelihoodOptions o;
    o.short_window = 1;
    ErrorLikelihood lik(o);
    for (int i = 0; i < 200; ++i) lik.Learn(1.0);
    std::vector<bool> out;
    for (bool alarm = true; alarm;) {
      const int run = static_cast<int>(out.size());
      const bool accepted = accept_after > 0 && run >= accept_after;
      const ErrorLikelihood::Step step = lik.Observe(2.0, /*clip=*/!accepted, accepted ? 10 : 1);
      alarm = step.tail < (run == 0 ? 1e-4 : 1e-2);
      out.push_back(alarm);
    }
    return out;
  };
  const std::vector<bool> clipped = by_hand(0);
  ASSERT_EQ(clipped.size(), 370u);  // 369 alarms, then none
  const Run never = detect(0, 370);
  EXPECT_EQ(never.alarms, clipped);
  EXPECT_TRUE(never.accepted.empty());
  const std::vector<bool> accepted = by_hand(5);
  ASSERT_EQ(accepted.size(), 10u);  // 5 clipped, 4 accepted alarms, then none (p = 50 / 255)
  const Run run = detect(5, 400);
  const std::vector<bool>& detected = run.alarms;
  EXPECT_EQ(std::vector<bool>(detected.begin(), detected.begin() + 10), accepted);
  // Then 2.0 is normal: no further alarm.
  EXPECT_EQ(std::count(detected.begin() + 10, detected.end(), true), 0);
  // Accepted: the 5 windows after the 5th alarm in a row (the 4 alarms and
  // the window that ends the run, learnt the same way); none when never (above).
  EXPECT_EQ(run.accepted, (std::vector<int>{5, 6, 7, 8, 9}));

  // The default: a tenth of the history (8600 windows); SPOT accepts nothing.
  EXPECT_EQ(StreamDetector(LikelihoodDetector(), 100, 3).accept_after(), 860);
  DetectorOptions shorter = LikelihoodDetector();
  shorter.likelihood.history = 2000;
  EXPECT_EQ(StreamDetector(shorter, 100, 3).accept_after(), 200);
  DetectorOptions spot;
  spot.threshold = ThresholdMode::kSpot;
  EXPECT_EQ(StreamDetector(spot, 100, 3).accept_after(), 0);
  DetectorOptions bad = LikelihoodDetector();
  bad.accept_after = -2;
  EXPECT_FALSE(bad.Validate().ok());
}

// A window held by hysteresis that is also novel, or that a guard judges,
// alarms on its own account: not held.
TEST(StreamDetectorLikelihoodTest, NovelValuesAndGuardsAreNeverHeld) {
  std::vector<double> calibration;
  for (int i = 0; i < 100; ++i) calibration.insert(calibration.end(), {0.9, 1.1});
  auto run = [&](Override last_override, double last_value) {
    DetectorOptions o = LikelihoodDetector();
    o.likelihood.short_window = 1;
    o.settle = 0;
    StreamDetector detector(o, /*fixed_threshold=*/100, /*lookback=*/3);
    EXPECT_TRUE(detector.Calibrate(calibration).ok());
    for (double v : {0.0, 1.0}) detector.LearnValues(std::vector<double>{v});
    const std::vector<double> inside{0.5};
    EXPECT_TRUE(detector.Observe(1.5, Override::kNone, inside).alarm);  // z = 5
    // 1.3: between the risks, as above.
    return detector.Observe(1.3, last_override, std::vector<double>{last_value});
  };
  const Detection held = run(Override::kNone, 0.5);
  EXPECT_TRUE(held.alarm);
  EXPECT_TRUE(held.held);
  const Detection novel = run(Override::kNone, 2.0);  // beyond [0, 1] by 100% of it
  EXPECT_TRUE(novel.alarm);
  EXPECT_FALSE(novel.held);
  const Detection guarded = run(Override::kAnomalous, 0.5);
  EXPECT_TRUE(guarded.alarm);
  EXPECT_FALSE(guarded.held);
  const Detection cleared = run(Override::kNormal, 0.5);
  EXPECT_FALSE(cleared.alarm);
  EXPECT_FALSE(cleared.held);
}

TEST(StreamDetectorTest, ANewFixedThresholdDecidesFromTheNextWindow) {
  DetectorOptions o;
  o.threshold = ThresholdMode::kFixed;
  StreamDetector detector(o, /*fixed_threshold=*/2.0, 10);
  ASSERT_TRUE(detector.Calibrate(Noise(100, 1.0, 10)).ok());
  EXPECT_TRUE(detector.Observe(3.0).alarm);
  detector.set_fixed_threshold(4.0);  // a retrained model's
  EXPECT_EQ(detector.fixed_threshold(), 4.0);
  const Detection d = detector.Observe(3.0);
  EXPECT_FALSE(d.alarm);
  EXPECT_EQ(d.threshold, 4.0);
}

TEST(StreamDetectorLikelihoodTest, SpotAndLikelihoodNeedsBoth) {
  DetectorOptions o;
  o.threshold = ThresholdMode::kSpotAndLikelihood;
  o.settle = 0;  // judged from the first window (settling would veto it)
  StreamDetector detector(o, 100, 10);
  ASSERT_TRUE(detector.Calibrate(Noise(1000, 1.0, 9)).ok());
  EXPECT_TRUE(detector.spot().calibrated());
  // A huge error: both agree.
  EXPECT_TRUE(detector.Observe(100.0).alarm);
  EXPECT_EQ(ParseThresholdMode("spot_and_likelihood"), ThresholdMode::kSpotAndLikelihood);
  EXPECT_EQ(ParseThresholdMode("likelihood"), ThresholdMode::kLikelihood);
}

}  // namespace
}  // namespace lstmad::core
