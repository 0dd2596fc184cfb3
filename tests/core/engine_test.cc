// Unit tests of the engine's building blocks: windows, scaler, thresholds,
// reconstruction errors, initialisers, network validation and batching.
#include <gtest/gtest.h>

#include <cmath>

#include "lstmad/core/architecture.h"
#include "lstmad/core/initializers.h"
#include "lstmad/core/network.h"
#include "lstmad/core/reconstruction.h"
#include "lstmad/core/scaler.h"
#include "lstmad/core/threshold.h"
#include "lstmad/core/windows.h"

namespace lstmad::core {
namespace {

Matrix<float> Series(int features, int samples) {
  Matrix<float> s(features, samples);
  for (int f = 0; f < features; ++f)
    for (int i = 0; i < samples; ++i) s(f, i) = float(f * 100 + i);
  return s;
}

TEST(WindowsTest, YieldsEveryCompleteWindow) {
  const WindowSet<float> w = MakeWindows(Series(2, 9), 3);
  ASSERT_EQ(w.count, 7);  // the tutorial's temporalize yields 5
  EXPECT_EQ(w.last_sample.front(), 2);
  EXPECT_EQ(w.last_sample.back(), 8);
  EXPECT_EQ(w.data(1, 3 * 6 + 2), 108.0f);  // window 6, step 2, feature 1
}

TEST(WindowsTest, HonoursStrideAndShortSeries) {
  EXPECT_EQ(MakeWindows(Series(1, 10), 3, 2).count, 4);  // ends at 2, 4, 6, 8
  EXPECT_EQ(MakeWindows(Series(1, 2), 3).count, 0);
}

TEST(WindowsTest, GatherBatchUsesTimeMajorLayout) {
  const WindowSet<float> w = MakeWindows(Series(1, 6), 3);
  const int idx[] = {3, 0};
  Matrix<float> batch;
  GatherBatch(w, idx, 2, &batch);
  ASSERT_EQ(batch.cols(), 6);
  // column t*B + b is step t of the b-th chosen window
  EXPECT_EQ(batch(0, 0), 3.0f);
  EXPECT_EQ(batch(0, 1), 0.0f);
  EXPECT_EQ(batch(0, 4), 5.0f);
  EXPECT_EQ(batch(0, 5), 2.0f);
}

TEST(ScalerTest, StandardUsesPopulationStdAndInverts) {
  Matrix<double> x(2, 4);
  x << 1, 2, 3, 4, 5, 5, 5, 5;
  const Scaler s = Scaler::Fit(ScalerKind::kStandard, x);
  EXPECT_DOUBLE_EQ(s.offset[0], 2.5);
  EXPECT_DOUBLE_EQ(s.scale[0], std::sqrt(1.25));
  EXPECT_DOUBLE_EQ(s.scale[1], 1.0);  // constant feature: no division by zero
  Matrix<double> y = x;
  s.Transform(&y);
  EXPECT_NEAR(y.row(0).mean(), 0.0, 1e-15);
  EXPECT_EQ(y(1, 2), 0.0);
  s.Inverse(&y);
  EXPECT_TRUE(y.isApprox(x, 1e-15));
}

TEST(ScalerTest, MinMaxMapsTrainingRangeToUnitInterval) {
  Matrix<double> x(1, 3);
  x << -2, 0, 6;
  const Scaler s = Scaler::Fit(ScalerKind::kMinMax, x);
  Matrix<float> y = x.cast<float>();
  s.Transform(&y);
  EXPECT_FLOAT_EQ(y(0, 0), 0.0f);
  EXPECT_FLOAT_EQ(y(0, 1), 0.25f);
  EXPECT_FLOAT_EQ(y(0, 2), 1.0f);
}

// A constant column's standard deviation in double is rounding noise (about
// 1e-15 for 20.1), not 0: dividing by it made a change of 0.001 an error of 1e19.
TEST(ScalerTest, AConstantColumnKeepsItsOwnUnits) {
  Matrix<double> x(3, 600);
  for (Eigen::Index i = 0; i < x.cols(); ++i) {
    x(0, i) = 20.1;
    x(1, i) = static_cast<double>(i % 7);
    x(2, i) = i % 2 == 0 ? 1.0 : 1.0 + 1e-12;  // differs, but not as a float
  }
  EXPECT_EQ(ConstantFeatures(x), (std::vector<int>{0, 2}));
  for (ScalerKind kind : {ScalerKind::kStandard, ScalerKind::kMinMax}) {
    const Scaler s = Scaler::Fit(kind, x);
    EXPECT_EQ(s.scale[0], 1.0);
    EXPECT_EQ(s.scale[2], 1.0);
    EXPECT_NE(s.scale[1], 1.0);
    Matrix<float> y(3, 2);
    y << 20.1f, 20.2f, 3, 3, 1, 1;
    s.Transform(&y);
    EXPECT_NEAR(y(0, 0), 0.0f, 2e-6f);  // float(20.1) against the offset 20.1
    EXPECT_NEAR(y(0, 1), 0.1f, 2e-6f);
    EXPECT_NEAR(s.Scaled(0, 20.2), 0.1, 1e-9);
  }
  Matrix<double> empty(1, 0);
  EXPECT_TRUE(ConstantFeatures(empty).empty());
}

TEST(ThresholdTest, ACalibratedThresholdIsNeverBelowTheFloor) {
  const std::vector<double> zeros(100, 0.0);
  EXPECT_EQ(*ComputeThreshold(*ThresholdSpec::Parse("p99.5"), zeros), kMinComputedThreshold);
  EXPECT_EQ(*ComputeThreshold(*ThresholdSpec::Parse("mean+4std"), zeros), kMinComputedThreshold);
  EXPECT_EQ(*ComputeThreshold(*ThresholdSpec::Parse("0"), zeros), 0.0);  // fixed: as given
  EXPECT_EQ(*ComputeThreshold(*ThresholdSpec::Parse("p50"), {1e-7, 2e-6, 3e-6}), 2e-6);
  EXPECT_TRUE(std::isnan(*ComputeThreshold(*ThresholdSpec::Parse("mean+4std"), {1.0, std::nan("")})));
}

TEST(ThresholdTest, ANaNErrorExceedsAnyThreshold) {
  EXPECT_TRUE(ExceedsThreshold(std::nan(""), 1.0));
  EXPECT_TRUE(ExceedsThreshold(HUGE_VAL, 1.0));
  EXPECT_TRUE(ExceedsThreshold(1.5, 1.0));
  EXPECT_FALSE(ExceedsThreshold(1.0, 1.0));
  EXPECT_FALSE(ExceedsThreshold(0.5, 1.0));
}

TEST(ThresholdTest, ParsesTheThreeSpellings) {
  EXPECT_EQ(ThresholdSpec::Parse("p99.9")->kind, ThresholdSpec::Kind::kPercentile);
  EXPECT_DOUBLE_EQ(ThresholdSpec::Parse("p99.9")->value, 99.9);
  EXPECT_EQ(ThresholdSpec::Parse("mean+4std")->kind, ThresholdSpec::Kind::kMeanPlusStd);
  EXPECT_DOUBLE_EQ(ThresholdSpec::Parse("mean+2.5std")->value, 2.5);
  EXPECT_EQ(ThresholdSpec::Parse("0.25")->kind, ThresholdSpec::Kind::kFixed);
  for (const char* bad : {"p101", "p", "mean+std", "mean+-1std", "-1", "abc", "nan", ""}) {
    EXPECT_FALSE(ThresholdSpec::Parse(bad).ok()) << bad;
  }
  EXPECT_EQ(ThresholdSpec::Parse("p99.5")->ToString(), "p99.5");
  EXPECT_EQ(ThresholdSpec::Parse("mean+4std")->ToString(), "mean+4std");
}

TEST(ThresholdTest, PercentileInterpolatesLikeNumpy) {
  // numpy.percentile([1, 2, 3, 4, 10], 99.5) == 9.88; (.., 50) == 3
  const std::vector<double> v = {10, 1, 3, 2, 4};
  EXPECT_NEAR(Percentile(v, 99.5), 9.88, 1e-12);
  EXPECT_DOUBLE_EQ(Percentile(v, 50), 3);
  EXPECT_DOUBLE_EQ(Percentile(v, 0), 1);
  EXPECT_DOUBLE_EQ(Percentile(v, 100), 10);
  // mean 4, population std sqrt(10)
  const auto spec = ThresholdSpec::Parse("mean+2std").value();
  EXPECT_NEAR(ComputeThreshold(spec, v).value(), 4 + 2 * std::sqrt(10.0), 1e-12);
  EXPECT_FALSE(ComputeThreshold(ThresholdSpec::Parse("p99").value(), {}).ok());
}

TEST(ReconstructionTest, PerWindowIsMeanOfPerFeature) {
  // 2 features, 2 steps, 2 windows; layout column t*B + b.
  Matrix<float> in = Matrix<float>::Zero(2, 4), out(2, 4);
  out << 1, 0, 3, 0,  //
      1, 2, 1, 0;
  Vector<float> per_window;
  Matrix<float> per_feature;
  ReconstructionErrors(in, out, 2, 2, ErrorOptions{}, &per_window, &per_feature);
  EXPECT_FLOAT_EQ(per_feature(0, 0), (1 + 9) / 2.0f);
  EXPECT_FLOAT_EQ(per_feature(1, 1), (4 + 0) / 2.0f);
  EXPECT_FLOAT_EQ(per_window(0), (5 + 1) / 2.0f);
  ReconstructionErrors(in, out, 2, 2, ErrorOptions{true}, &per_window, &per_feature);
  EXPECT_FLOAT_EQ(per_feature(0, 0), 9.0f);  // last step only
  EXPECT_FLOAT_EQ(per_window(1), 0.0f);
}

TEST(ReconstructionTest, ScoredFeaturesLeaveTheRowsAfterThemOut) {
  // 3 rows (2 features and a time input), 2 steps, 1 window.
  Matrix<float> in = Matrix<float>::Zero(3, 2), out(3, 2);
  out << 1, 3,  //
      2, 0,     //
      100, 100;
  Vector<float> per_window;
  Matrix<float> per_feature;
  ErrorOptions options;
  options.scored_features = 2;
  ReconstructionErrors(in, out, 2, 1, options, &per_window, &per_feature);
  ASSERT_EQ(per_feature.rows(), 2);
  EXPECT_FLOAT_EQ(per_feature(0, 0), (1 + 9) / 2.0f);
  EXPECT_FLOAT_EQ(per_feature(1, 0), (4 + 0) / 2.0f);
  EXPECT_FLOAT_EQ(per_window(0), (5 + 2) / 2.0f);
  options.last_step_only = true;
  ReconstructionErrors(in, out, 2, 1, options, &per_window, &per_feature);
  EXPECT_FLOAT_EQ(per_window(0), 9 / 2.0f);
  options = ErrorOptions{};  // every row
  ReconstructionErrors(in, out, 2, 1, options, &per_window, &per_feature);
  EXPECT_EQ(per_feature.rows(), 3);
  EXPECT_FLOAT_EQ(per_window(0), (5 + 2 + 10000) / 3.0f);
}

TEST(ScalerTest, LeavesTheRowsAfterItsFeaturesAlone) {
  Scaler scaler;
  scaler.kind = ScalerKind::kStandard;
  scaler.offset = {10};
  scaler.scale = {2};
  Matrix<float> x(2, 2);
  x << 12, 14,  //
      0.5f, -1;
  scaler.Transform(&x);
  EXPECT_EQ(x(0, 0), 1.0f);
  EXPECT_EQ(x(0, 1), 2.0f);
  EXPECT_EQ(x(1, 0), 0.5f);
  EXPECT_EQ(x(1, 1), -1.0f);
  scaler.Inverse(&x);
  EXPECT_EQ(x(0, 1), 14.0f);
  EXPECT_EQ(x(1, 1), -1.0f);
}

TEST(ArchitectureTest, SeedModelHasKerasParameterCounts) {
  AutoencoderSpec spec;
  spec.timesteps = 3;
  spec.features = 2;
  const Architecture arch = BuildAutoencoder(spec).value();
  const std::vector<int64_t> expected = {67072, 49408, 0, 33024, 98816, 258};
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(LayerParamCount(arch, i), expected[i]);
  EXPECT_EQ(TotalParamCount(arch), 248578);
}

TEST(ArchitectureTest, RejectsChainsThatDoNotFit) {
  Architecture arch;
  arch.timesteps = 3;
  arch.features = 2;
  LayerSpec repeat;
  repeat.kind = LayerKind::kRepeatVector;
  repeat.name = "rv";
  repeat.repeat = 3;
  arch.layers = {repeat};
  const Status s = ValidateArchitecture(arch, false);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("layer 0 (rv)"), std::string::npos) << s.message();
}

TEST(InitializersTest, FollowKerasDefaults) {
  AutoencoderSpec spec;
  spec.timesteps = 5;
  spec.features = 3;
  spec.encoder_units = {16};
  spec.decoder_units = {8};
  const Architecture arch = BuildAutoencoder(spec).value();
  const Weights<double> w = InitializeWeights<double>(arch, 7);
  const Matrix<double>& kernel = w.layers[0][0];  // [3 x 64]
  EXPECT_LE(kernel.cwiseAbs().maxCoeff(), std::sqrt(6.0 / (3 + 64)));
  EXPECT_GT(kernel.cwiseAbs().maxCoeff(), 0.8 * std::sqrt(6.0 / (3 + 64)));
  const Matrix<double>& recurrent = w.layers[0][1];  // [16 x 64], orthonormal rows
  EXPECT_TRUE((recurrent * recurrent.transpose()).isIdentity(1e-12));
  const Matrix<double>& bias = w.layers[0][2];
  EXPECT_EQ(bias.middleCols(16, 16).minCoeff(), 1.0);  // unit_forget_bias
  EXPECT_EQ(bias.leftCols(16).cwiseAbs().maxCoeff(), 0.0);
  EXPECT_EQ(bias.rightCols(32).cwiseAbs().maxCoeff(), 0.0);
  // Deterministic for a seed, different across seeds.
  EXPECT_EQ(InitializeWeights<double>(arch, 7).layers[3][0], w.layers[3][0]);
  EXPECT_NE(InitializeWeights<double>(arch, 8).layers[3][0], w.layers[3][0]);
}

TEST(NetworkTest, CreateRejectsBadWeightsByName) {
  AutoencoderSpec spec;
  spec.timesteps = 2;
  spec.features = 1;
  spec.encoder_units = {2};
  spec.decoder_units = {2};
  const Architecture arch = BuildAutoencoder(spec).value();
  Weights<float> w = InitializeWeights<float>(arch, 1);
  w.layers[2][1](0, 1) = NAN;
  auto bad = Network<float>::Create(arch, w);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("lstm_1"), std::string::npos) << bad.status().message();
  w = InitializeWeights<float>(arch, 1);
  w.layers[0][0].resize(2, 8);
  bad = Network<float>::Create(arch, w);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("kernel has shape [2, 8], expected [1, 8]"),
            std::string::npos)
      << bad.status().message();
}

TEST(NetworkTest, BatchedForwardEqualsOneWindowAtATime) {
  AutoencoderSpec spec;
  spec.timesteps = 6;
  spec.features = 3;
  spec.encoder_units = {12, 5};
  spec.decoder_units = {5, 12};
  spec.activation = Activation::kTanh;
  const Architecture arch = BuildAutoencoder(spec).value();
  const Network<float> net = Network<float>::Create(arch, InitializeWeights<float>(arch, 3)).value();
  Rng rng(5);
  Matrix<float> series(3, 40);
  for (Eigen::Index k = 0; k < series.size(); ++k) series.data()[k] = float(rng.Normal());
  const WindowSet<float> windows = MakeWindows(series, 6);
  std::vector<int> all(static_cast<size_t>(windows.count));
  for (int k = 0; k < windows.count; ++k) all[static_cast<size_t>(k)] = k;
  Matrix<float> input, batched, single_in, single_out;
  Network<float>::Workspace ws;
  GatherBatch(windows, all.data(), windows.count, &input);
  net.Forward(input, windows.count, &ws, &batched);
  for (int k = 0; k < windows.count; ++k) {
    GatherBatch(windows, &k, 1, &single_in);
    net.Forward(single_in, 1, &ws, &single_out);
    for (int t = 0; t < 6; ++t) {
      EXPECT_LT((batched.col(t * windows.count + k) - single_out.col(t)).cwiseAbs().maxCoeff(), 1e-6f);
    }
  }
}

}  // namespace
}  // namespace lstmad::core
