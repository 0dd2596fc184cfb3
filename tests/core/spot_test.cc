// SPOT, DSPOT and the GPD fit on synthetic data whose tails are known in
// closed form: exponential (gamma = 0), Pareto (gamma = 1/alpha) and a
// bounded tail (gamma = -1/2).
#include "lstmad/core/spot.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/support/random_samples.h"
#include "lstmad/core/gpd.h"
#include "lstmad/core/threshold.h"

namespace lstmad::core {
namespace {

using testing::Exponential;

// Pareto with x_m = 1 and tail index alpha: P(X > x) = x^-alpha.
std::vector<double> Pareto(int n, double alpha, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> v(static_cast<size_t>(n));
  for (double& x : v) x = std::pow(1.0 - u(rng), -1.0 / alpha);
  return v;
}

// Excesses over the 98% quantile.
std::vector<double> Excesses(const std::vector<double>& v) {
  const double t = Percentile(v, 98.0);
  std::vector<double> y;
  for (double x : v) {
    if (x > t) y.push_back(x - t);
  }
  return y;
}

TEST(GpdTest, ExponentialExcessesFitGammaZeroAndUnitScale) {
  // Memorylessness: excesses of Exp(1) over any t are Exp(1).
  const GpdParams p = FitGpd(Excesses(Exponential(100000, 1)));
  EXPECT_NEAR(p.gamma, 0.0, 0.08);
  EXPECT_NEAR(p.sigma, 1.0, 0.1);
}

TEST(GpdTest, ParetoExcessesFitGammaOneOverAlpha) {
  // Over t, Pareto(alpha) excesses are GPD(gamma = 1/alpha, sigma = t/alpha).
  const std::vector<double> v = Pareto(100000, 2.0, 2);
  const double t = Percentile(v, 98.0);
  const GpdParams p = FitGpd(Excesses(v));
  EXPECT_NEAR(p.gamma, 0.5, 0.1);
  EXPECT_NEAR(p.sigma / (t / 2.0), 1.0, 0.15);
}

TEST(GpdTest, BoundedTailFitsNegativeGamma) {
  // X = 1 - sqrt(U): P(X > x) = (1 - x)^2, gamma = -1/2.
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> v(100000);
  for (double& x : v) x = 1.0 - std::sqrt(u(rng));
  const GpdParams p = FitGpd(Excesses(v));
  EXPECT_NEAR(p.gamma, -0.5, 0.1);
  EXPECT_GT(p.log_likelihood, -1e300);
}

// SPOT refits after every new peak, starting from the previous fit: that
// search stays local (a full one costs about 8 times as much) and finds what
// the full search finds, whatever the tail's type and the excesses' scale.
TEST(GpdTest, WarmStartStaysLocalAndAgreesWithTheFullSearch) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> bounded(20000);
  for (double& x : bounded) x = 1.0 - std::sqrt(u(rng));  // gamma = -1/2
  const std::vector<std::pair<const char*, std::vector<double>>> tails = {
      {"bounded", Excesses(bounded)}, {"pareto", Excesses(Pareto(20000, 2.0, 2))},
      {"exponential", Excesses(Exponential(20000, 1))}};
  for (const auto& [name, excesses] : tails) {
    for (double scale : {1e-3, 1.0, 1e3}) {
      std::vector<double> y(excesses.begin(), excesses.begin() + 200);
      for (double& v : y) v *= scale;
      const GpdParams previous = FitGpd(std::span<const double>(y.data(), 199));
      bool full = true;
      const GpdParams warm = FitGpd(GpdSample{y}, &previous, &full);
      const GpdParams reference = FitGpd(GpdSample{y});
      EXPECT_FALSE(full) << name << " x" << scale << ": gamma before " << previous.gamma;
      EXPECT_NEAR(warm.gamma, reference.gamma, 1e-4) << name << " x" << scale;
      EXPECT_NEAR(warm.sigma / reference.sigma, 1.0, 1e-4) << name << " x" << scale;
      EXPECT_NEAR(warm.log_likelihood, reference.log_likelihood, 1e-6 * std::abs(reference.log_likelihood))
          << name << " x" << scale;
      // From an exponential fit (gamma 0) the search is the full one.
      const GpdParams exponential{0.0, previous.sigma, 0.0};
      const GpdParams from_zero = FitGpd(GpdSample{y}, &exponential, &full);
      EXPECT_TRUE(full) << name << " x" << scale;
      EXPECT_NEAR(from_zero.gamma, reference.gamma, 1e-4) << name << " x" << scale << " from gamma 0";
      EXPECT_NEAR(from_zero.sigma / reference.sigma, 1.0, 1e-4) << name << " x" << scale << " from gamma 0";
    }
  }
}

TEST(GpdTest, SurvivalAndInverseSurvivalAreInverse) {
  for (double gamma : {-0.4, 0.0, 0.3}) {
    const GpdParams p{gamma, 2.0, 0};
    for (double prob : {0.5, 1e-2, 1e-5}) {
      EXPECT_NEAR(GpdSurvival(p, GpdInverseSurvival(p, prob)), prob, prob * 1e-9);
    }
  }
  EXPECT_EQ(GpdSurvival(GpdParams{-0.5, 1.0, 0}, 2.5), 0.0);  // past the endpoint 2
}

TEST(GpdTest, FallsBackToExponentialOnTooFewOrEqualPeaks) {
  const std::vector<double> few = {1.0, 2.0, 3.0};
  GpdParams p = FitGpd(few);
  EXPECT_EQ(p.gamma, 0.0);
  EXPECT_DOUBLE_EQ(p.sigma, 2.0);
  p = FitGpd(std::vector<double>(50, 0.5));
  EXPECT_EQ(p.gamma, 0.0);
  EXPECT_DOUBLE_EQ(p.sigma, 0.5);
}

TEST(SpotTest, ExponentialQuantileMatchesAnalytic) {
  // P(X > z) = q  =>  z = -ln q.
  for (double q : {1e-3, 1e-4}) {
    Spot spot(SpotOptions{.risk = q});
    ASSERT_TRUE(spot.Calibrate(Exponential(100000, 4)).ok());
    EXPECT_NEAR(spot.threshold() / -std::log(q), 1.0, 0.1) << "q = " << q;
    EXPECT_NEAR(spot.initial_threshold(), -std::log(0.02), 0.1);
  }
}

TEST(SpotTest, ParetoQuantileMatchesAnalytic) {
  // P(X > z) = z^-2 = q  =>  z = q^-1/2.
  Spot spot(SpotOptions{.risk = 1e-4});
  ASSERT_TRUE(spot.Calibrate(Pareto(100000, 2.0, 5)).ok());
  EXPECT_NEAR(spot.threshold() / 100.0, 1.0, 0.25);
  EXPECT_NEAR(spot.gpd().gamma, 0.5, 0.1);
}

TEST(SpotTest, TailProbabilityMatchesAnalyticAboveAndBelowT) {
  Spot spot(SpotOptions{.risk = 1e-3});
  ASSERT_TRUE(spot.Calibrate(Exponential(100000, 6)).ok());
  for (double x : {0.5, 2.0, 5.0, 7.0}) {
    EXPECT_NEAR(std::log(spot.TailProbability(x)), -x, 0.15) << "x = " << x;
  }
  EXPECT_NEAR(spot.TailProbability(spot.threshold()), 1e-3, 2e-4);
}

TEST(SpotTest, FalseAlarmRateOnFreshSamplesIsNearRisk) {
  const double q = 2e-3;
  Spot spot(SpotOptions{.risk = q, .max_peaks = 500});
  ASSERT_TRUE(spot.Calibrate(Exponential(50000, 7)).ok());
  const std::vector<double> fresh = Exponential(100000, 8);
  int alarms = 0, peaks = 0;
  for (double x : fresh) {
    const Spot::Step step = spot.Observe(x);
    alarms += step.verdict == Spot::Verdict::kAlarm;
    peaks += step.verdict == Spot::Verdict::kPeak;
  }
  const double rate = static_cast<double>(alarms) / static_cast<double>(fresh.size());
  EXPECT_GT(rate, 0.6 * q);
  EXPECT_LT(rate, 1.5 * q);
  EXPECT_NEAR(static_cast<double>(peaks) / static_cast<double>(fresh.size()), 0.02, 0.004);
  // Bounded memory: at most K peaks, and n covers only their horizon.
  EXPECT_EQ(spot.peaks(), 500);
  EXPECT_LT(spot.observations(), 100000);
  EXPECT_NEAR(static_cast<double>(spot.peaks()) / static_cast<double>(spot.observations()), 0.02,
              0.004);
}

TEST(SpotTest, AlarmsDoNotUpdateTheModel) {
  Spot spot(SpotOptions{.risk = 1e-3});
  ASSERT_TRUE(spot.Calibrate(Exponential(20000, 9)).ok());
  const double z = spot.threshold();
  const int64_t n = spot.observations();
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(spot.Observe(1000.0).verdict, Spot::Verdict::kAlarm);
  }
  EXPECT_EQ(spot.threshold(), z);
  EXPECT_EQ(spot.observations(), n);
  EXPECT_EQ(spot.Observe(std::nan("")).verdict, Spot::Verdict::kAlarm);
}

TEST(SpotTest, DspotFollowsADriftThatSpotFlags) {
  // Exp(1) noise on a rising level. SPOT, calibrated on the start, takes the
  // rise for a heavier tail and still alarms far more than q; DSPOT judges x
  // minus the recent mean and stays near q.
  const int n = 20000, calibration = 4000;
  std::vector<double> v = Exponential(n, 10);
  for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] += 0.001 * i;
  const std::span<const double> first(v.data(), calibration);
  Spot spot(SpotOptions{.risk = 1e-3, .max_peaks = 200});
  Spot dspot(SpotOptions{.risk = 1e-3, .max_peaks = 200, .depth = 50});
  ASSERT_TRUE(spot.Calibrate(first).ok());
  ASSERT_TRUE(dspot.Calibrate(first).ok());
  int spot_alarms = 0, dspot_alarms = 0;
  for (int i = calibration; i < n; ++i) {
    spot_alarms += spot.Observe(v[static_cast<size_t>(i)]).verdict == Spot::Verdict::kAlarm;
    dspot_alarms += dspot.Observe(v[static_cast<size_t>(i)]).verdict == Spot::Verdict::kAlarm;
  }
  EXPECT_GT(spot_alarms, 100);  // 16 expected at q = 1e-3
  EXPECT_LT(dspot_alarms, 48);
  // z_q of (Exp(1) - 1) plus the recent mean, ~0.001 n + 1.
  EXPECT_NEAR(dspot.threshold() - 0.001 * n, -std::log(1e-3), 1.0);
}

TEST(SpotTest, RejectsBadOptionsAndTooLittleCalibration) {
  EXPECT_FALSE((SpotOptions{.risk = 0.05}).Validate().ok());  // above 1 - 0.98
  EXPECT_FALSE((SpotOptions{.risk = 0}).Validate().ok());
  EXPECT_FALSE((SpotOptions{.initial_level = 1.0}).Validate().ok());
  EXPECT_FALSE((SpotOptions{.max_peaks = 0}).Validate().ok());
  EXPECT_TRUE(SpotOptions{}.Validate().ok());
  Spot spot(SpotOptions{.depth = 5});
  EXPECT_FALSE(spot.Calibrate(std::vector<double>(14, 1.0)).ok());
  EXPECT_FALSE(spot.Calibrate(std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
                                                  15, std::nan("")})
                   .ok());
  EXPECT_TRUE(spot.Calibrate(std::vector<double>(15, 1.0)).ok());
}

}  // namespace
}  // namespace lstmad::core
