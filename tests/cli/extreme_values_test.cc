// `lstmad score` / `evaluate` on a CSV holding a value the model cannot score
// (issue 18: 1e20 in a temperature column): every window holding it gets an
// infinite error, an anomaly that enters no detector state, so a later
// excursion is detected as on the clean series; the daemon refuses such a
// sample instead (`out_of_range`).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "detection_run.h"
#include "lstmad/core/architecture.h"
#include "lstmad/core/initializers.h"
#include "lstmad/core/scaler.h"

namespace lstmad::tools {
namespace {

constexpr int kLookback = 3;

// An untrained model of two features with the identity scaler.
core::Model TinyModel() {
  core::AutoencoderSpec spec;
  spec.timesteps = kLookback;
  spec.features = 2;
  spec.encoder_units = {4};
  spec.decoder_units = {4};
  core::Model model;
  model.architecture = *core::BuildAutoencoder(spec);
  model.feature_names = {"a", "b"};
  model.scaler = core::Scaler::Identity(2);
  model.threshold = 1.0;
  model.weights = core::InitializeWeights<float>(model.architecture, 7);
  return model;
}

core::CsvTable Table(int rows) {
  core::CsvTable table;
  table.feature_names = {"a", "b"};
  table.values.resize(2, rows);
  for (int i = 0; i < rows; ++i) {
    table.values(0, i) = 0.1 * std::sin(i / 3.0);
    table.values(1, i) = 0.1 * std::cos(i / 3.0);
  }
  return table;
}

TEST(ExtremeValuesTest, WindowsHoldingAValueBeyondTheScaleScoreInfinite) {
  const core::Model model = TinyModel();
  const core::Network<float> net = *model.MakeNetwork();
  core::CsvTable table = Table(12);
  const SeriesRun clean = RunModel(model, net, table);
  table.values(0, 5) = 1e20;                       // far beyond 1e15 scale units: windows 3, 4, 5 hold it
  table.values(1, 8) = core::kMaxScaledMagnitude;  // at the bound: scored as it is
  const SeriesRun dirty = RunModel(model, net, table);
  ASSERT_EQ(dirty.errors.size(), 10u);
  for (int w = 0; w < 10; ++w) {
    const auto i = static_cast<size_t>(w);
    if (w >= 3 && w <= 5) {
      EXPECT_EQ(dirty.errors[i], HUGE_VAL) << w;
    } else if (w >= 6 && w <= 8) {
      EXPECT_TRUE(std::isfinite(dirty.errors[i])) << w;
      EXPECT_GT(dirty.errors[i], 1e20) << w;  // (1e15)^2 / 6 values
    } else {
      EXPECT_EQ(dirty.errors[i], clean.errors[i]) << w;
    }
  }
}

TEST(ExtremeValuesTest, AnInfiniteWindowLeavesTheDetectorAsOnTheCleanSeries) {
  core::DetectorOptions options;
  options.threshold = core::ThresholdMode::kSpot;
  options.spot.risk = 1e-3;
  options.smoothing_span = 3;
  std::mt19937_64 rng(11);
  std::exponential_distribution<double> exponential(10.0);
  SeriesRun attacked, reference;
  attacked.lookback = kLookback;
  for (int w = 0; w < 400; ++w) attacked.errors.push_back(exponential(rng));
  attacked.errors[380] = 5.0;  // the excursion
  // The reference is the same series without windows 250 and 251, which
  // overflow in the attacked one.
  reference = attacked;
  reference.errors.erase(reference.errors.begin() + 250, reference.errors.begin() + 252);
  attacked.errors[250] = attacked.errors[251] = HUGE_VAL;
  ASSERT_TRUE(Detect(options, 1.0, 200 + kLookback - 1, &attacked, {}).ok());  // calibrates on 200 windows
  ASSERT_TRUE(Detect(options, 1.0, 200 + kLookback - 1, &reference, {}).ok());
  EXPECT_TRUE(attacked.detections[250].alarm);
  EXPECT_TRUE(attacked.detections[251].alarm);
  EXPECT_TRUE(attacked.detections[380].alarm);
  for (size_t w = 200; w < 400; ++w) {
    if (w == 250 || w == 251) continue;
    // The EWMA, SPOT's tail and the verdicts never saw the two windows.
    const core::Detection& a = attacked.detections[w];
    const core::Detection& r = reference.detections[w < 250 ? w : w - 2];
    ASSERT_EQ(a.smoothed, r.smoothed) << w;
    ASSERT_EQ(a.threshold, r.threshold) << w;
    ASSERT_EQ(a.alarm, r.alarm) << w;
  }
}

}  // namespace
}  // namespace lstmad::tools
