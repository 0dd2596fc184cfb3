// StreamDetector::SaveState / RestoreState: a detector restored at any point
// of a stream (warming up, calibrated, SPOT or DSPOT, after peaks wrapped the
// ring) goes on exactly as the original would; state from other settings or
// damaged bytes is refused and leaves the detector untouched.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <span>
#include <vector>

#include "lstmad/core/anomaly_score.h"

namespace lstmad::core {
namespace {

std::vector<double> Errors(int n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::exponential_distribution<double> tail(20.0);
  std::vector<double> errors;
  for (int i = 0; i < n; ++i) errors.push_back(0.02 + tail(rng) + (i % 97 == 50 ? 1.0 : 0.0));
  return errors;
}

// Two features' newest values for window i, with new extremes now and then,
// so the novelty range and its gate have state to carry.
std::span<const double> Values(int i) {
  static thread_local double values[2];
  values[0] = std::sin(i * 0.1) * (1 + i / 150);
  values[1] = i % 131 == 0 ? 10.0 * i : 1.0;
  return values;
}

DetectorOptions SmallStateOptions(ThresholdMode mode) {
  DetectorOptions o;
  o.threshold = mode;
  o.spot.max_peaks = 25;  // small, so the peaks' ring wraps
  o.dspot_depth = 5;
  o.smoothing_span = 3;
  o.calibration_windows = 60;
  return o;
}

void ExpectSame(const Detection& a, const Detection& b, int i) {
  EXPECT_EQ(a.smoothed, b.smoothed) << i;
  EXPECT_EQ(a.threshold, b.threshold) << i;
  EXPECT_EQ(a.level, b.level) << i;
  EXPECT_EQ(a.alarm, b.alarm) << i;
  EXPECT_EQ(a.onset, b.onset) << i;
  EXPECT_EQ(a.score, b.score) << i;
}

TEST(DetectorStateTest, RestoredDetectorContinuesExactly) {
  const std::vector<double> errors = Errors(600, 3);
  for (ThresholdMode mode :
       {ThresholdMode::kFixed, ThresholdMode::kSpot, ThresholdMode::kDspot, ThresholdMode::kLikelihood}) {
    for (int cut : {0, 1, 30, 59, 60, 61, 65, 70, 71, 200, 599}) {  // 60..69: the likelihood settles
      StreamDetector original(SmallStateOptions(mode), 0.3, 10);
      for (int i = 0; i < cut; ++i) original.Observe(errors[static_cast<size_t>(i)], Override::kNone, Values(i));
      StreamDetector restored(SmallStateOptions(mode), 0.3, 10);
      ASSERT_TRUE(restored.RestoreState(original.SaveState()).ok()) << cut;
      EXPECT_EQ(restored.calibrated(), original.calibrated());
      EXPECT_EQ(restored.novelty().bounds(), original.novelty().bounds());
      for (int i = cut; i < 600; ++i) {
        const auto e = errors[static_cast<size_t>(i)];
        ExpectSame(original.Observe(e, Override::kNone, Values(i)), restored.Observe(e, Override::kNone, Values(i)), i);
      }
      EXPECT_EQ(restored.SaveState(), original.SaveState());
    }
  }
}

TEST(DetectorStateTest, RefusesOtherSettingsAndDamagedBytes) {
  const std::vector<double> errors = Errors(300, 4);
  StreamDetector original(SmallStateOptions(ThresholdMode::kSpot), 0.3, 10);
  for (size_t i = 0; i < errors.size(); ++i) original.Observe(errors[i], Override::kNone, Values(static_cast<int>(i)));
  const std::string state = original.SaveState();

  StreamDetector fresh(SmallStateOptions(ThresholdMode::kSpot), 0.3, 10);
  const std::string before = fresh.SaveState();
  for (size_t n = 0; n < state.size(); ++n) {
    EXPECT_FALSE(fresh.RestoreState(state.substr(0, n)).ok()) << n;
  }
  EXPECT_FALSE(fresh.RestoreState(state + "x").ok());
  EXPECT_EQ(fresh.SaveState(), before);  // refusals change nothing

  for (auto change : {+[](DetectorOptions* o) { o->spot.risk = 1e-3; },
                      +[](DetectorOptions* o) { o->spot.max_peaks = 26; },
                      +[](DetectorOptions* o) { o->threshold = ThresholdMode::kDspot; },
                      +[](DetectorOptions* o) { o->smoothing_span = 1; },
                      +[](DetectorOptions* o) { o->calibration_windows = 61; },
                      +[](DetectorOptions* o) { o->novelty_margin = 0.1; }}) {
    DetectorOptions other = SmallStateOptions(ThresholdMode::kSpot);
    change(&other);
    StreamDetector d(other, 0.3, 10);
    const Status s = d.RestoreState(state);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("other detector settings"), std::string::npos) << s.message();
  }
  StreamDetector other_lookback(SmallStateOptions(ThresholdMode::kSpot), 0.3, 11);  // refractory follows T
  EXPECT_FALSE(other_lookback.RestoreState(state).ok());

  DetectorOptions per_time = SmallStateOptions(ThresholdMode::kSpot);
  per_time.likelihood_risk_per = 300;
  StreamDetector other_period(per_time, 0.3, 10);
  EXPECT_FALSE(other_period.RestoreState(state).ok());
}

// The sampling interval of window i, in seconds: one a second, with a gap
// (a window spanning it) now and then.
double Step(int i) { return i % 17 == 3 ? 40.0 : 1.0; }

TEST(DetectorStateTest, ARiskPerPeriodTravelsWithTheStateWarmingUpOrCalibrated) {
  const std::vector<double> errors = Errors(300, 5);
  DetectorOptions options = SmallStateOptions(ThresholdMode::kLikelihood);
  options.likelihood_risk_per = 300;
  for (int cut : {0, 1, 30, 59, 60, 61, 200}) {
    StreamDetector original(options, 0.3, 10);
    for (int i = 0; i < cut; ++i)
      original.Observe(errors[static_cast<size_t>(i)], Override::kNone, Values(i), Step(i));
    StreamDetector restored(options, 0.3, 10);
    ASSERT_TRUE(restored.RestoreState(original.SaveState()).ok()) << cut;
    EXPECT_EQ(restored.likelihood_risk(), original.likelihood_risk()) << cut;
    for (int i = cut; i < 300; ++i) {
      const auto e = errors[static_cast<size_t>(i)];
      ExpectSame(original.Observe(e, Override::kNone, Values(i), Step(i)),
                 restored.Observe(e, Override::kNone, Values(i), Step(i)), i);
    }
    // The median step of the 60 calibration windows: 1 s, so 1e-4 per 300 s.
    EXPECT_DOUBLE_EQ(restored.likelihood_risk(), 1e-4 / 300) << cut;
    EXPECT_EQ(restored.SaveState(), original.SaveState());
  }
}

// A state saved before the risk period (version 5) is that of a risk per
// window: read as such. Made from a version-6 state by leaving its new
// fields out; the version-6 state from a version-7 one by leaving out the
// alarm run (the last 8 bytes).
TEST(DetectorStateTest, ReadsAStateSavedBeforeTheRiskPeriodAsPerWindow) {
  const std::vector<double> errors = Errors(200, 6);
  const DetectorOptions options = SmallStateOptions(ThresholdMode::kLikelihood);
  StreamDetector original(options, 0.3, 10);
  for (int i = 0; i < 200; ++i)
    original.Observe(errors[static_cast<size_t>(i)], Override::kNone, Values(i), 1.0);
  const std::string v7 = original.SaveState();
  ASSERT_EQ(v7.substr(v7.size() - 8), std::string(8, '\0'));  // no alarm run under way
  std::string v6 = v7.substr(0, v7.size() - 8);
  v6[8] = 6;
  StreamDetector from_v6(options, 0.3, 10);
  ASSERT_TRUE(from_v6.RestoreState(v6).ok()) << from_v6.RestoreState(v6).message();
  EXPECT_EQ(from_v6.SaveState(), v7);
  // magic 8, version 4, then the options up to the novelty margin: 85 bytes.
  constexpr size_t kRiskPeriod = 8 + 4 + 85;
  // After the risk period: calibrated 1, settled 8, warm-up count 8, EWMA 9,
  // gates 16, the (empty) warm-up values 4; then the risk 8 and the steps 4.
  constexpr size_t kRiskInForce = kRiskPeriod + 8 + 1 + 8 + 8 + 9 + 16 + 4;
  ASSERT_GT(v6.size(), kRiskInForce + 12);
  std::string v5 = v6.substr(0, kRiskPeriod) + v6.substr(kRiskPeriod + 8, kRiskInForce - kRiskPeriod - 8) +
                   v6.substr(kRiskInForce + 12);
  v5[8] = 5;
  StreamDetector restored(options, 0.3, 10);
  ASSERT_TRUE(restored.RestoreState(v5).ok()) << restored.RestoreState(v5).message();
  EXPECT_EQ(restored.likelihood_risk(), options.likelihood.risk);
  EXPECT_EQ(restored.SaveState(), v7);

  DetectorOptions per_time = options;  // a state of version 5 has no risk period
  per_time.likelihood_risk_per = 300;
  StreamDetector other(per_time, 0.3, 10);
  EXPECT_FALSE(other.RestoreState(v5).ok());
}

// An alarm run under way travels with the state: restored mid-run, the
// detector accepts the change at the same window as one never stopped.
TEST(DetectorStateTest, AnAlarmRunUnderWayIsRestored) {
  DetectorOptions o;
  o.threshold = ThresholdMode::kLikelihood;
  o.likelihood.short_window = 1;
  o.settle = 0;
  o.accept_after = 5;
  StreamDetector original(o, 100, 3);
  ASSERT_TRUE(original.Calibrate(std::vector<double>(200, 1.0)).ok());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(original.Observe(2.0).alarm);
  const std::string saved = original.SaveState();
  StreamDetector restored(o, 100, 3);
  ASSERT_TRUE(restored.RestoreState(saved).ok());
  for (int i = 3; i < 20; ++i) ExpectSame(original.Observe(2.0), restored.Observe(2.0), i);
  // Restored under a shorter accept_after, the run is cut to it; a negative
  // run is damage.
  DetectorOptions shorter = o;
  shorter.accept_after = 2;
  StreamDetector cut(shorter, 100, 3);
  ASSERT_TRUE(cut.RestoreState(saved).ok());
  const std::string cut_state = cut.SaveState();
  EXPECT_EQ(cut_state.substr(cut_state.size() - 8), std::string("\x02\0\0\0\0\0\0\0", 8));
  std::string negative = saved;
  negative.replace(negative.size() - 8, 8, std::string(8, '\xff'));
  StreamDetector damaged(o, 100, 3);
  EXPECT_NE(damaged.RestoreState(negative).message().find("alarm run"), std::string::npos);
}

}  // namespace
}  // namespace lstmad::core
