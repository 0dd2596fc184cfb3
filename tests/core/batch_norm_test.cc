// BatchNormalization, the inference-only layer imported from Keras: its
// forward pass against the formula, its parameter counts, the model file, and
// training's refusal.
#include <gtest/gtest.h>

#include <cmath>

#include "lstmad/core/architecture.h"
#include "lstmad/core/initializers.h"
#include "lstmad/core/model_file.h"
#include "lstmad/core/network.h"
#include "lstmad/core/trainer.h"
#include "lstmad/core/windows.h"

namespace lstmad::core {
namespace {

LayerSpec Layer(LayerKind kind, const char* name, int units = 0) {
  LayerSpec l;
  l.kind = kind;
  l.name = name;
  l.units = units;
  return l;
}

// LSTM(3, seq) -> BN -> LSTM(2) -> BN -> RepeatVector(T) -> BN -> Dense(F),
// T = 4, F = 2: BN on a sequence, on a vector and after a RepeatVector.
Architecture BnArchitecture() {
  Architecture a;
  a.timesteps = 4;
  a.features = 2;
  LayerSpec l0 = Layer(LayerKind::kLstm, "lstm", 3);
  l0.return_sequences = true;
  LayerSpec rv = Layer(LayerKind::kRepeatVector, "repeat_vector");
  rv.repeat = 4;
  LayerSpec bn2 = Layer(LayerKind::kBatchNorm, "bn_2");
  bn2.epsilon = 0.01;
  a.layers = {l0, Layer(LayerKind::kBatchNorm, "bn"), Layer(LayerKind::kLstm, "lstm_1", 2),
              Layer(LayerKind::kBatchNorm, "bn_1"), rv, bn2, Layer(LayerKind::kDense, "dense", 2)};
  return a;
}

Weights<double> BnWeights(const Architecture& a) {
  Weights<double> w = InitializeWeights<double>(a, 5);
  Rng rng(9);
  for (size_t i = 0; i < a.layers.size(); ++i) {
    if (a.layers[i].kind != LayerKind::kBatchNorm) continue;
    for (size_t k = 0; k < 4; ++k) {
      for (Eigen::Index c = 0; c < w.layers[i][k].cols(); ++c) {
        w.layers[i][k](0, c) = k == 3 ? rng.Uniform(0.2, 2.0) : rng.Uniform(-1.0, 1.0);
      }
    }
  }
  return w;
}

TEST(BatchNormTest, ShapesAndParameterCountsFollowKeras) {
  const Architecture a = BnArchitecture();
  ASSERT_TRUE(ValidateArchitecture(a, true).ok());
  const std::vector<LayerShape> shapes = LayerOutputShapes(a);
  EXPECT_EQ(shapes[1].steps, 4);
  EXPECT_EQ(shapes[1].width, 3);
  EXPECT_EQ(shapes[3].steps, 0);
  EXPECT_EQ(LayerParamCount(a, 1), 12);  // gamma, beta, moving mean and variance of 3
  EXPECT_EQ(LayerParamCount(a, 3), 8);
  EXPECT_EQ(NonTrainableParamCount(a), 6 + 4 + 4);
  const std::vector<TensorShape> t = LayerTensorShapes(a, 5);
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[3].name, "moving_variance");
  EXPECT_EQ(t[3].cols, 2);
}

// Forward up to each BN layer against y = gamma (x - mean) / sqrt(var + eps) + beta.
TEST(BatchNormTest, ForwardMatchesTheFormula) {
  const Architecture full = BnArchitecture();
  const Weights<double> w = BnWeights(full);
  Rng rng(3);
  const int batch = 3;
  Matrix<double> input(2, 4 * batch);
  for (Eigen::Index i = 0; i < input.size(); ++i) input(i) = rng.Uniform(-1, 1);
  for (size_t bn : {1u, 3u, 5u}) {
    Architecture upto = full, before = full;
    upto.layers.resize(bn + 1);
    before.layers.resize(bn);
    Weights<double> wu = w, wb = w;
    wu.layers.resize(bn + 1);
    wb.layers.resize(bn);
    auto with = Network<double>::Create(upto, wu);
    auto without = Network<double>::Create(before, wb);
    ASSERT_TRUE(with.ok()) << with.status().message();
    ASSERT_TRUE(without.ok()) << without.status().message();
    Network<double>::Workspace ws;
    Matrix<double> x, y;
    without->Forward(input, batch, &ws, &x);
    with->Forward(input, batch, &ws, &y);
    ASSERT_EQ(x.rows(), y.rows());
    ASSERT_EQ(x.cols(), y.cols());
    const auto& p = w.layers[bn];
    const double eps = full.layers[bn].epsilon;
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
      for (Eigen::Index c = 0; c < x.cols(); ++c) {
        const double want =
            p[0](0, r) * (x(r, c) - p[2](0, r)) / std::sqrt(p[3](0, r) + eps) + p[1](0, r);
        EXPECT_NEAR(y(r, c), want, 1e-12) << "layer " << bn;
      }
    }
  }
  // ForwardTraced (used by training and gradient checks) agrees with Forward.
  auto net = Network<double>::Create(full, w);
  ASSERT_TRUE(net.ok());
  Network<double>::Workspace ws;
  Network<double>::Trace trace;
  Matrix<double> a, b;
  net->Forward(input, batch, &ws, &a);
  net->ForwardTraced(input, batch, &trace, &b);
  EXPECT_LT((a - b).cwiseAbs().maxCoeff(), 1e-12);
}

TEST(BatchNormTest, RefusesANonPositiveVarianceAndABadEpsilon) {
  Architecture a = BnArchitecture();
  Weights<double> w = BnWeights(a);
  w.layers[1][3](0, 0) = -0.5;
  auto net = Network<double>::Create(a, w);
  ASSERT_FALSE(net.ok());
  EXPECT_EQ(net.status().message(), "layer 1 (bn): moving_variance + epsilon must be > 0");
  a.layers[1].epsilon = NAN;
  EXPECT_FALSE(ValidateArchitecture(a, true).ok());
}

TEST(BatchNormTest, TrainingRefusesTheNetwork) {
  const Architecture a = BnArchitecture();
  auto net = Network<float>::Create(a, BnWeights(a).Cast<float>());
  ASSERT_TRUE(net.ok());
  Matrix<float> series = Matrix<float>::Random(2, 20);
  const WindowSet<float> windows = MakeWindows(series, 4);
  Rng rng(1);
  TrainOptions options;
  options.epochs = 1;
  auto trained = Train(&*net, windows, options, &rng);
  ASSERT_FALSE(trained.ok());
  EXPECT_EQ(trained.status().message(),
            "layer 1 (bn): BatchNormalization is inference-only in lstmad; a network holding "
            "one cannot be trained");
}

TEST(BatchNormTest, ModelFileRoundTripKeepsEpsilon) {
  Model m;
  m.architecture = BnArchitecture();
  m.weights = BnWeights(m.architecture).Cast<float>();
  m.feature_names = {"a", "b"};
  m.scaler = Scaler::Identity(2);
  m.threshold_spec = "none";
  const std::string bytes = SerializeModel(m);
  EXPECT_NE(bytes.find("layer.5.kind=batch_normalization\n"), std::string::npos);
  EXPECT_NE(bytes.find("layer.5.epsilon=0.01\n"), std::string::npos);
  EXPECT_EQ(bytes.find("layer.0.epsilon"), std::string::npos);  // only BN layers carry it
  auto back = ParseModel(bytes, "m.lsm");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->architecture.layers[5].epsilon, 0.01);
  EXPECT_EQ(back->architecture.layers[1].epsilon, 1e-3);
  EXPECT_EQ(back->weights.layers[5][3], m.weights.layers[5][3]);
}

}  // namespace
}  // namespace lstmad::core
