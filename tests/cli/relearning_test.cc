// RunAndDetect: with relearning off it is RunModel + Detect exactly; with it
// on, fine-tunes happen every `every` scored windows once `min_windows`
// normal windows are kept, never after the last chunk, and the windows
// before the first swap are scored by the starting model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "detection_run.h"
#include "lstmad/core/initializers.h"
#include "lstmad/core/threshold.h"

namespace lstmad::tools {
namespace {

constexpr int kRelearnLookback = 5;

core::Model RelearnModel() {
  core::AutoencoderSpec spec;
  spec.timesteps = kRelearnLookback;
  spec.features = 1;
  spec.encoder_units = {4};
  spec.decoder_units = {4};
  spec.activation = core::Activation::kTanh;
  core::Model model;
  model.architecture = *core::BuildAutoencoder(spec);
  model.feature_names = {"x"};
  model.scaler = core::Scaler::Identity(1);
  model.threshold = 1e9;  // nothing alarms under the fixed threshold: every window is normal
  model.weights = core::InitializeWeights<float>(model.architecture, 3);
  return model;
}

core::CsvTable Sine(int rows) {
  core::CsvTable table;
  table.feature_names = {"x"};
  table.values.resize(1, rows);
  for (int i = 0; i < rows; ++i) table.values(0, i) = std::sin(0.3 * i);
  return table;
}

core::DetectorOptions Fixed() {
  core::DetectorOptions o;
  o.threshold = core::ThresholdMode::kFixed;
  return o;
}

// A fine-tune every 50 windows once 20 are kept, one quick epoch each.
Relearning EveryFifty() {
  Relearning relearning;
  relearning.every = 50;
  relearning.min_windows = 20;
  relearning.max_windows = 100;
  relearning.options.epochs = 1;
  relearning.options.batch_size = 16;
  return relearning;
}

TEST(RunAndDetectTest, WithoutRelearningItIsRunModelAndDetect) {
  const core::Model model = RelearnModel();
  const core::CsvTable table = Sine(300);
  core::DetectorOptions options;  // the likelihood, calibrated on the first 100 rows' windows
  SeriesRun expected = RunModel(model, *model.MakeNetwork(), table);
  ASSERT_TRUE(Detect(options, model.threshold, 100, &expected).ok());
  SeriesRun run;
  RelearnStats stats;
  ASSERT_TRUE(RunAndDetect(model, table, options, 100, Relearning{}, {}, &run, &stats).ok());
  EXPECT_EQ(stats.attempts, 0);
  ASSERT_EQ(run.windows(), expected.windows());
  EXPECT_EQ(run.calibration_windows, expected.calibration_windows);
  for (int w = 0; w < run.windows(); ++w) {
    const auto i = static_cast<size_t>(w);
    ASSERT_EQ(run.errors[i], expected.errors[i]) << w;
    ASSERT_EQ(run.detections[i].score, expected.detections[i].score) << w;
    ASSERT_EQ(run.detections[i].alarm, expected.detections[i].alarm) << w;
  }
}

TEST(RunAndDetectTest, FineTunesEveryNWindowsButNotAfterTheLast) {
  const core::Model model = RelearnModel();
  const core::CsvTable table = Sine(300);  // 296 windows, none calibrating
  const Relearning relearning = EveryFifty();  // chunks end at 49, 99, ..., 249 and 295: five attempts
  SeriesRun run;
  RelearnStats stats;
  ASSERT_TRUE(RunAndDetect(model, table, Fixed(), 0, relearning, {}, &run, &stats).ok());
  EXPECT_EQ(stats.attempts, 5);
  EXPECT_EQ(stats.failures, 0);
  EXPECT_GE(stats.swaps, 1);  // an untrained model fine-tuned on a sine gets better on it
  const SeriesRun fixed = RunModel(model, *model.MakeNetwork(), table);
  for (int w = 0; w < 50; ++w) {  // before the first attempt: the starting model
    ASSERT_EQ(run.errors[static_cast<size_t>(w)], fixed.errors[static_cast<size_t>(w)]) << w;
  }
  double before = 0, after = 0;  // the last chunk, scored by a fine-tuned model
  for (int w = 250; w < run.windows(); ++w) {
    before += fixed.errors[static_cast<size_t>(w)];
    after += run.errors[static_cast<size_t>(w)];
  }
  EXPECT_LT(after, before);
}

TEST(RunAndDetectTest, EachWindowKeepsTheThresholdOfTheModelThatScoredIt) {
  core::Model model = RelearnModel();
  model.threshold_spec = "p99";  // a fine-tune recomputes it
  SeriesRun run;
  RelearnStats stats;
  ASSERT_TRUE(RunAndDetect(model, Sine(300), Fixed(), 0, EveryFifty(), {}, &run, &stats).ok());
  ASSERT_GE(stats.swaps, 1);
  ASSERT_EQ(run.model_thresholds.size(), static_cast<size_t>(run.windows()));
  for (int w = 0; w < 50; ++w) EXPECT_EQ(run.model_thresholds[static_cast<size_t>(w)], 1e9) << w;
  // A fine-tuned model's threshold is recomputed on its own errors: far
  // below the starting model's 1e9, and what the alert judges by.
  const double last = run.model_thresholds.back();
  EXPECT_LT(last, 1e9);
  const std::vector<uint8_t> verdicts = AlertVerdicts(run, core::ThresholdMode::kFixed, model.threshold);
  for (int w = 0; w < run.windows(); ++w) {
    const auto i = static_cast<size_t>(w);
    ASSERT_EQ(verdicts[i], core::ExceedsThreshold(run.errors[i], run.model_thresholds[i]) ? 1 : 0) << w;
  }
  // Judged by the starting 1e9 throughout, none would be above.
  EXPECT_GT(std::count(verdicts.begin(), verdicts.end(), 1), 0);
}

TEST(RunAndDetectTest, WithoutASwapNoThresholdsAreKept) {
  const core::Model model = RelearnModel();
  SeriesRun run;
  RelearnStats stats;
  ASSERT_TRUE(RunAndDetect(model, Sine(300), Fixed(), 0, Relearning{}, {}, &run, &stats).ok());
  EXPECT_TRUE(run.model_thresholds.empty());
}

TEST(RunAndDetectTest, TooFewNormalWindowsMeanNoAttempt) {
  const core::Model model = RelearnModel();
  Relearning relearning;
  relearning.every = 50;
  relearning.min_windows = 1000;  // never reached: the ring holds at most 1000 of 296
  relearning.max_windows = 1000;
  SeriesRun run;
  RelearnStats stats;
  ASSERT_TRUE(RunAndDetect(model, Sine(300), Fixed(), 0, relearning, {}, &run, &stats).ok());
  EXPECT_EQ(stats.attempts, 0);
}

}  // namespace
}  // namespace lstmad::tools
