// ValueNovelty: Numenta's "spatial anomaly" rule, checked on hand-computed
// ranges; and StreamDetector's use of it (alarm, tail 0, its own onset gate,
// not in fixed mode, guards override it, learnt during calibration).
#include "lstmad/core/value_novelty.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "lstmad/core/anomaly_score.h"

namespace lstmad::core {
namespace {

bool Observe(ValueNovelty* n, std::vector<double> values) { return n->Observe(values); }
void Learn(ValueNovelty* n, std::vector<double> values) { n->Learn(values); }

TEST(ValueNoveltyTest, ValuesBeyondTheWidenedRangeAreNovelOnceThenLearnt) {
  ValueNovelty n(0.05);
  Learn(&n, {0});
  Learn(&n, {10});  // [0, 10]: 5% of the range is 0.5
  EXPECT_FALSE(Observe(&n, {10.5}));   // at hi + 0.5: inside (bounds inclusive)
  EXPECT_EQ(n.bounds(), (std::vector<double>{0, 10.5}));  // but learnt
  EXPECT_TRUE(Observe(&n, {11.1}));    // hi + 5% of 10.5 = 11.025
  EXPECT_EQ(n.bounds(), (std::vector<double>{0, 11.1}));
  EXPECT_FALSE(Observe(&n, {11.1}));   // the same level again: seen
  EXPECT_FALSE(Observe(&n, {-0.555}));  // lo - 5% of 11.1 = -0.555
  EXPECT_TRUE(Observe(&n, {-2}));      // lo - 5% of 11.655 = -1.13...
  EXPECT_EQ(n.bounds(), (std::vector<double>{-2, 11.1}));
  EXPECT_FALSE(Observe(&n, {5}));
}

TEST(ValueNoveltyTest, ZeroMarginFlagsEveryNewExtreme) {
  ValueNovelty n(0);
  Learn(&n, {1});
  Learn(&n, {2});
  EXPECT_FALSE(Observe(&n, {2}));
  EXPECT_TRUE(Observe(&n, {2.0000001}));
  EXPECT_TRUE(Observe(&n, {0.5}));
  EXPECT_FALSE(Observe(&n, {1.5}));
}

TEST(ValueNoveltyTest, ARangeWithoutWidthJudgesNothing) {
  ValueNovelty n(0.05);
  EXPECT_FALSE(Observe(&n, {5}));  // nothing learnt: starts the range
  Learn(&n, {5});
  EXPECT_FALSE(Observe(&n, {100}));  // [5, 5]: no scale to judge by; learnt
  EXPECT_EQ(n.bounds(), (std::vector<double>{5, 100}));
  EXPECT_FALSE(Observe(&n, {104.75}));  // 100 + 5% of 95
  EXPECT_TRUE(Observe(&n, {110}));
}

TEST(ValueNoveltyTest, AnyFeatureMakesTheWindowNovelAndNonFiniteValuesAreSkipped) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  ValueNovelty n(0.05);
  Learn(&n, {0, 100});
  Learn(&n, {1, 200});  // [0, 1] and [100, 200]
  EXPECT_FALSE(Observe(&n, {1.05, 205}));
  EXPECT_TRUE(Observe(&n, {0.5, 300}));  // the second feature only
  EXPECT_FALSE(Observe(&n, {nan, 250}));
  EXPECT_FALSE(Observe(&n, {HUGE_VAL, 250}));
  EXPECT_EQ(n.bounds(), (std::vector<double>{0, 1.05, 100, 300}));
  EXPECT_FALSE(Observe(&n, {50}));  // another length: neither judged nor learnt
  EXPECT_EQ(n.bounds(), (std::vector<double>{0, 1.05, 100, 300}));
  // A feature that has only seen NaN so far starts at its first number.
  ValueNovelty late(0.05);
  Learn(&late, {nan, 1});
  Learn(&late, {3, 2});
  EXPECT_EQ(late.bounds(), (std::vector<double>{3, 3, 1, 2}));
}

TEST(ValueNoveltyTest, StateRoundTripsAndDamageIsRefused) {
  ValueNovelty n(0.05);
  Learn(&n, {0, 100});
  Learn(&n, {1, 200});
  std::string bytes;
  n.AppendState(&bytes);
  ValueNovelty restored(0.05);
  std::string_view in = bytes;
  ASSERT_TRUE(restored.ReadState(&in).ok());
  EXPECT_TRUE(in.empty());
  EXPECT_EQ(restored.bounds(), n.bounds());

  ValueNovelty inverted(0.05);
  Learn(&inverted, {3});
  Learn(&inverted, {1});
  std::string bad;
  inverted.AppendState(&bad);
  // Swap lo and hi: lo > hi is refused.
  std::string swapped = bad.substr(0, 4) + bad.substr(12, 8) + bad.substr(4, 8);
  std::string_view swapped_in = swapped;
  ValueNovelty target(0.05);
  EXPECT_FALSE(target.ReadState(&swapped_in).ok());
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    std::string_view truncated = std::string_view(bytes).substr(0, cut);
    EXPECT_FALSE(target.ReadState(&truncated).ok()) << cut;
  }
  EXPECT_TRUE(target.bounds().empty());  // refusals change nothing
}

DetectorOptions Likelihood() {
  DetectorOptions o;
  o.threshold = ThresholdMode::kLikelihood;
  o.settle = 0;
  return o;
}

// Calibrates `d` on 200 constant errors whose windows' newest values sweep
// [0, 10].
void CalibrateOnRange(StreamDetector* d) {
  std::vector<double> errors(200, 1.0);
  for (int i = 0; i < 200; ++i) {
    errors[static_cast<size_t>(i)] += 0.01 * (i % 7);
    const double value = 10.0 * i / 199.0;
    d->LearnValues(std::span<const double>(&value, 1));
  }
  ASSERT_TRUE(d->Calibrate(errors).ok());
}

Detection ObserveValue(StreamDetector* d, double value, Override override = Override::kNone) {
  return d->Observe(1.02, override, std::span<const double>(&value, 1));
}

TEST(StreamDetectorNoveltyTest, ANovelValueAlarmsWithTailZeroAndItsOwnOnset) {
  StreamDetector d(Likelihood(), 100.0, 5);
  CalibrateOnRange(&d);
  EXPECT_FALSE(ObserveValue(&d, 10.4).alarm);  // within 5% of [0, 10]
  const Detection novel = ObserveValue(&d, 12);
  EXPECT_TRUE(novel.alarm);
  EXPECT_TRUE(novel.onset);
  EXPECT_EQ(novel.tail, 0.0);
  EXPECT_EQ(novel.score, 1.0);
  EXPECT_FALSE(ObserveValue(&d, 12).alarm);  // seen now
  // A second novel value within the refractory period (5) alarms without an
  // onset; one after 5 quiet windows starts a new one.
  const Detection again = ObserveValue(&d, 13);
  EXPECT_TRUE(again.alarm);
  EXPECT_FALSE(again.onset);
  EXPECT_NEAR(again.score, kQuietScoreCeiling, 1e-12);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(ObserveValue(&d, 5).alarm);
  EXPECT_TRUE(ObserveValue(&d, 20).onset);
}

TEST(StreamDetectorNoveltyTest, ANovelValueInsideTheModelsExcursionIsItsOwnOnset) {
  StreamDetector d(Likelihood(), 100.0, 5);
  CalibrateOnRange(&d);
  const double inside = 5;
  const Detection first = d.Observe(50.0, Override::kNone, std::span<const double>(&inside, 1));
  ASSERT_TRUE(first.alarm);  // the model's excursion starts: its onset
  ASSERT_TRUE(first.onset);
  const Detection going_on = d.Observe(50.0, Override::kNone, std::span<const double>(&inside, 1));
  ASSERT_TRUE(going_on.alarm);
  EXPECT_FALSE(going_on.onset);
  const double beyond = 30;
  const Detection novel = d.Observe(50.0, Override::kNone, std::span<const double>(&beyond, 1));
  EXPECT_TRUE(novel.alarm);
  EXPECT_TRUE(novel.onset);  // news inside the excursion
}

TEST(StreamDetectorNoveltyTest, NotBeforeCalibrationNotInFixedModeNotWhenOffAndGuardsWin) {
  {
    DetectorOptions o = Likelihood();
    o.calibration_windows = 100;  // self-calibrating: the warm-up only learns
    StreamDetector d(o, 100.0, 5);
    for (int i = 0; i < 100; ++i) EXPECT_FALSE(ObserveValue(&d, i % 2 == 0 ? 0.0 : 10.0 + i).alarm) << i;
    ASSERT_TRUE(d.calibrated());
    EXPECT_FALSE(ObserveValue(&d, 113).alarm);  // [0, 109]: 109 + 5.45
    EXPECT_TRUE(ObserveValue(&d, 119).alarm);  // [0, 113]: 113 + 5.65
  }
  {
    DetectorOptions o = Likelihood();
    o.threshold = ThresholdMode::kFixed;
    StreamDetector d(o, 100.0, 5);
    CalibrateOnRange(&d);
    EXPECT_FALSE(ObserveValue(&d, 1000).alarm);  // fixed: the model's threshold only
  }
  {
    DetectorOptions o = Likelihood();
    o.novelty_margin = kNoveltyOff;
    StreamDetector d(o, 100.0, 5);
    CalibrateOnRange(&d);
    EXPECT_FALSE(ObserveValue(&d, 1000).alarm);
  }
  StreamDetector d(Likelihood(), 100.0, 5);
  CalibrateOnRange(&d);
  const Detection vetoed = ObserveValue(&d, 1000, Override::kNormal);
  EXPECT_FALSE(vetoed.alarm);
  EXPECT_FALSE(vetoed.onset);
  EXPECT_GT(vetoed.tail, 0.0);  // the model's own
  EXPECT_FALSE(ObserveValue(&d, 1000).alarm);  // learnt all the same
}

TEST(StreamDetectorNoveltyTest, MarginIsValidated) {
  DetectorOptions o = Likelihood();
  for (double bad : {-0.5, std::nan(""), HUGE_VAL}) {
    o.novelty_margin = bad;
    EXPECT_FALSE(o.Validate().ok()) << bad;
  }
  for (double good : {0.0, 0.05, 3.0, kNoveltyOff}) {
    o.novelty_margin = good;
    EXPECT_TRUE(o.Validate().ok()) << good;
  }
}

}  // namespace
}  // namespace lstmad::core
