// RetrainModel's decision: a model trained on pattern A, given windows of a
// drifted pattern B, fine-tunes into a better model on B's held-back windows
// (swap); fine-tuned on something unlike the held-back windows it gets worse
// there and is refused.
#include "scoring/retrain_cycle.h"

#include <gtest/gtest.h>

#include <cmath>

#include "lstmad/core/architecture.h"
#include "lstmad/core/initializers.h"
#include "lstmad/core/reconstruction.h"
#include "lstmad/core/threshold.h"
#include "lstmad/core/trainer.h"
#include "retrain_test_support.h"

namespace lstmad::daemon {
namespace {

using retrain_test::kRetrainLookback;
using retrain_test::PatternA;
using retrain_test::RawWindows;
using retrain_test::Series;

TEST(RetrainCycleTest, OptionsComeFromTheConfigAndTheModelsTraining) {
  config::RetrainSettings settings;
  settings.epochs = 7;
  settings.holdout = 0.3;
  core::Model model;
  model.metadata = {{"batch_size", "16"}, {"learning_rate", "0.004"}};
  RetrainOptions o = RetrainOptionsFor(settings, model);
  EXPECT_EQ(o.epochs, 7);
  EXPECT_EQ(o.holdout, 0.3);
  EXPECT_EQ(o.batch_size, 16);
  EXPECT_EQ(o.learning_rate, 0.004);
  model.metadata = {{"batch_size", "lots"}};  // unreadable or absent: the trainer's defaults
  o = RetrainOptionsFor(settings, model);
  EXPECT_EQ(o.batch_size, 32);
  EXPECT_EQ(o.learning_rate, 0.001);
}

TEST(RetrainCycleTest, DriftedWindowsGiveABetterModelThatIsSwapped) {
  const core::Model& a = PatternA();
  // Pattern B: the first feature shifted by one standard deviation and both louder.
  const core::WindowSet<float> drifted = RawWindows(Series(500, 0.7, 1.25, 1000));
  RetrainOptions options = RetrainOptionsFor(config::RetrainSettings{1, 100, 400, 8, 0.2}, a);
  const core::Result<RetrainOutcome> out = RetrainModel(a, drifted, options);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->holdout_windows, 99);  // round(493 * 0.2)
  EXPECT_EQ(out->train_windows, 394);
  EXPECT_TRUE(out->swap);
  EXPECT_LT(out->new_error, 0.5 * out->old_error) << out->old_error << " -> " << out->new_error;

  // The numbers are what the candidate and the running model really score on
  // the newest 99 windows.
  core::WindowSet<float> scaled = drifted;
  a.scaler.Transform(&scaled.data);
  std::vector<int> holdout, training;
  for (int k = 0; k < scaled.count; ++k) (k >= 394 ? holdout : training).push_back(k);
  const auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s / static_cast<double>(v.size());
  };
  const core::Network<float> old_net = *a.MakeNetwork(), new_net = *out->candidate.MakeNetwork();
  EXPECT_NEAR(out->old_error, mean(core::WindowErrors(old_net, scaled, holdout, a.error_options)), 1e-9);
  EXPECT_NEAR(out->new_error, mean(core::WindowErrors(new_net, scaled, holdout, a.error_options)), 1e-9);
  // The threshold is recalibrated with the model's own spec (p99) on the
  // candidate's errors of the training part.
  ASSERT_TRUE(out->threshold_recalibrated);
  EXPECT_EQ(out->old_threshold, a.threshold);
  EXPECT_NEAR(out->new_threshold,
              core::Percentile(core::WindowErrors(new_net, scaled, training, a.error_options), 99.0), 1e-9);
  EXPECT_EQ(out->candidate.threshold, out->new_threshold);
  EXPECT_EQ(out->candidate.threshold_spec, "p99");
  EXPECT_EQ(out->candidate.metadata.at("retrained_windows"), "394");
  // The scaler is the model's, not refitted on the drifted data.
  EXPECT_EQ(out->candidate.scaler.offset, a.scaler.offset);
}

TEST(RetrainCycleTest, ACandidateWorseOnTheHoldoutIsRefused) {
  const core::Model& a = PatternA();
  // Trained on a square wave far from A, validated on A itself: fine-tuning
  // (with a deliberately large learning rate) can only lose ground.
  core::Matrix<double> series = Series(600, 0, 1, 2000);
  for (int i = 0; i < 470; ++i) {  // the held-back newest 119 windows (from 474 on) are pure A
    series(0, i) = (i / 5) % 2 == 0 ? 3.0 : -3.0;
    series(1, i) = 2.0;
  }
  const core::WindowSet<float> windows = RawWindows(series);
  RetrainOptions options = RetrainOptionsFor(config::RetrainSettings{1, 100, 1000, 5, 0.2}, a);
  options.learning_rate = 0.02;
  const core::Result<RetrainOutcome> out = RetrainModel(a, windows, options);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_FALSE(out->swap);
  EXPECT_GT(out->new_error, 10 * out->old_error) << out->old_error << " -> " << out->new_error;
}

TEST(RetrainCycleTest, EqualErrorsCountAsNotWorse) {
  // A learning rate too small to move any float weight leaves the candidate
  // identical to the running model: equal errors, and equal is not worse.
  const core::Model& a = PatternA();
  RetrainOptions options = RetrainOptionsFor(config::RetrainSettings{1, 100, 1000, 1, 0.2}, a);
  options.learning_rate = 1e-30;  // steps too small to change a float weight
  const core::Result<RetrainOutcome> out = RetrainModel(a, RawWindows(Series(300, 0, 1, 0)), options);
  ASSERT_TRUE(out.ok()) << out.status().message();
  EXPECT_EQ(out->new_error, out->old_error);
  EXPECT_TRUE(out->swap);
}

TEST(RetrainCycleTest, CancellationAndTooFewWindowsAreErrors) {
  const core::Model& a = PatternA();
  RetrainOptions options = RetrainOptionsFor(config::RetrainSettings{1, 100, 1000, 3, 0.2}, a);
  options.cancelled = [] { return true; };
  core::Result<RetrainOutcome> out = RetrainModel(a, RawWindows(Series(300, 0, 1, 0)), options);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message(), "training cancelled in epoch 1");
  options.cancelled = nullptr;
  out =
      RetrainModel(a, RawWindows(Series(kRetrainLookback + 1, 0, 1, 0)), options);  // 2 windows: 0 held back
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message(), "too few windows to hold some back: 2");
}

}  // namespace
}  // namespace lstmad::daemon
