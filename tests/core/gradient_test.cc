// Backpropagation through time checked against central finite differences in
// double precision, for every parameter tensor of every layer kind.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "lstmad/core/initializers.h"
#include "lstmad/core/trainer.h"

namespace lstmad::core {
namespace {

LayerSpec Lstm(int units, Activation act, bool sequences, Activation rec = Activation::kSigmoid) {
  LayerSpec l;
  l.kind = LayerKind::kLstm;
  l.name = "lstm_" + std::to_string(units);
  l.units = units;
  l.activation = act;
  l.recurrent_activation = rec;
  l.return_sequences = sequences;
  return l;
}

LayerSpec Repeat(int n) {
  LayerSpec l;
  l.kind = LayerKind::kRepeatVector;
  l.name = "repeat_vector";
  l.repeat = n;
  return l;
}

LayerSpec Dense(int units, Activation act = Activation::kLinear) {
  LayerSpec l;
  l.kind = LayerKind::kDense;
  l.name = "dense_" + std::to_string(units);
  l.units = units;
  l.activation = act;
  return l;
}

// Random weights of a moderate scale, so that gates are neither saturated
// nor linear and relu units are mostly away from their kink.
Weights<double> RandomWeights(const Architecture& arch, uint64_t seed) {
  Rng rng(seed);
  Weights<double> w = InitializeWeights<double>(arch, seed);
  for (auto& layer : w.layers)
    for (auto& t : layer)
      for (Eigen::Index k = 0; k < t.size(); ++k) t.data()[k] = rng.Uniform(-0.6, 0.6);
  return w;
}

Matrix<double> RandomInput(const Architecture& arch, int batch, uint64_t seed) {
  Rng rng(seed);
  Matrix<double> x(arch.features, arch.timesteps * batch);
  for (Eigen::Index k = 0; k < x.size(); ++k) x.data()[k] = rng.Uniform(-1.5, 1.5);
  return x;
}

// Loss as a function of the weights, for the finite differences. The loss
// compares the output with the input, so the output must be input-shaped.
double Loss(const Architecture& arch, const Weights<double>& w, const Matrix<double>& x, int batch) {
  Network<double> net = Network<double>::Create(arch, w).value();
  Weights<double> unused;
  return LossAndGradients(net, x, batch, &unused);
}

void ExpectGradientsMatch(const Architecture& arch, uint64_t seed) {
  constexpr int kBatch = 3;
  // A fourth-order central difference: with step h its truncation error is
  // O(h^4), so h can be large enough (1e-4) that rounding in the loss does
  // not swamp the small gradients, yet small enough not to cross relu kinks.
  constexpr double kStep = 1e-4;
  const Weights<double> w = RandomWeights(arch, seed);
  const Matrix<double> x = RandomInput(arch, kBatch, seed + 100);
  Network<double> net = Network<double>::Create(arch, w).value();
  Weights<double> grads;
  LossAndGradients(net, x, kBatch, &grads);
  double worst = 0;
  for (size_t i = 0; i < w.layers.size(); ++i) {
    for (size_t k = 0; k < w.layers[i].size(); ++k) {
      const std::vector<TensorShape> shapes = LayerTensorShapes(arch, i);
      for (Eigen::Index e = 0; e < w.layers[i][k].size(); ++e) {
        auto loss_at = [&](double delta) {
          Weights<double> moved = w;
          moved.layers[i][k].data()[e] += delta;
          return Loss(arch, moved, x, kBatch);
        };
        const double numeric = (8 * (loss_at(kStep) - loss_at(-kStep)) -
                                (loss_at(2 * kStep) - loss_at(-2 * kStep))) /
                               (12 * kStep);
        const double analytic = grads.layers[i][k].data()[e];
        const double scale = std::max(std::abs(numeric), std::abs(analytic));
        const double error = scale > 1e-6 ? std::abs(numeric - analytic) / scale
                                          : std::abs(numeric - analytic) * 1e6;
        worst = std::max(worst, error);
        ASSERT_LT(error, 1e-5) << "layer " << i << " (" << arch.layers[i].name << ") tensor "
                               << shapes[k].name << " element " << e << ": analytic " << analytic
                               << ", numeric " << numeric;
      }
    }
  }
  ::testing::Test::RecordProperty("worst_relative_error", std::to_string(worst));
}

Architecture Autoencoder(Activation act, Activation rec = Activation::kSigmoid) {
  Architecture arch;
  arch.timesteps = 4;
  arch.features = 2;
  arch.layers = {Lstm(5, act, true, rec), Lstm(3, act, false, rec), Repeat(4),
                 Lstm(3, act, true, rec), Lstm(4, act, true, rec), Dense(2)};
  arch.layers[5].time_distributed = true;
  return arch;
}

TEST(GradientTest, TanhAutoencoderMatchesFiniteDifferences) {
  ExpectGradientsMatch(Autoencoder(Activation::kTanh), 11);
}

TEST(GradientTest, ReluAutoencoderMatchesFiniteDifferences) {
  ExpectGradientsMatch(Autoencoder(Activation::kRelu), 12);
}

TEST(GradientTest, HardSigmoidRecurrentActivationMatches) {
  ExpectGradientsMatch(Autoencoder(Activation::kTanh, Activation::kHardSigmoid), 13);
}

TEST(GradientTest, RepeatVectorFeedingDenseMatches) {
  // RepeatVector materialised (not followed by an LSTM), Dense with a
  // non-linear activation, an LSTM reading backwards, no bias.
  Architecture arch;
  arch.timesteps = 3;
  arch.features = 2;
  arch.layers = {Lstm(4, Activation::kTanh, false), Repeat(3), Dense(3, Activation::kTanh),
                 Lstm(3, Activation::kRelu, true), Dense(2)};
  arch.layers[3].go_backwards = true;
  arch.layers[3].use_bias = false;
  ExpectGradientsMatch(arch, 14);
}

TEST(GradientTest, SigmoidAndLinearActivationsMatch) {
  Architecture arch;
  arch.timesteps = 3;
  arch.features = 3;
  arch.layers = {Lstm(4, Activation::kSigmoid, true), Lstm(3, Activation::kLinear, true),
                 Dense(3, Activation::kSigmoid)};
  ExpectGradientsMatch(arch, 15);
}

}  // namespace
}  // namespace lstmad::core
