#include "lstmad/core/initializers.h"

#include <cmath>
#include <numbers>

#include <Eigen/QR>

namespace lstmad::core {
namespace {

// glorot_uniform: U(-limit, limit), limit = sqrt(6 / (fan_in + fan_out)),
// with fan_in = rows and fan_out = cols for a 2-D kernel, as Keras computes.
Matrix<double> GlorotUniform(int rows, int cols, Rng* rng) {
  const double limit = std::sqrt(6.0 / (rows + cols));
  Matrix<double> m(rows, cols);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) m(r, c) = rng->Uniform(-limit, limit);
  return m;
}

// Keras' orthogonal: QR of a normal matrix of shape (max, min), columns'
// signs fixed by diag(R), transposed when the kernel is wider than tall.
Matrix<double> Orthogonal(int rows, int cols, Rng* rng) {
  const int tall = std::max(rows, cols), narrow = std::min(rows, cols);
  Matrix<double> a(tall, narrow);
  for (int r = 0; r < tall; ++r)
    for (int c = 0; c < narrow; ++c) a(r, c) = rng->Normal();
  Eigen::HouseholderQR<Matrix<double>> qr(a);
  Matrix<double> q = qr.householderQ() * Matrix<double>::Identity(tall, narrow);
  const Matrix<double> r = qr.matrixQR();
  for (int c = 0; c < narrow; ++c) {
    if (r(c, c) < 0) q.col(c) *= -1.0;
  }
  if (rows < cols) return q.transpose();
  return q;
}

}  // namespace

double Rng::Uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

double Rng::Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }

double Rng::Normal() {
  const double u1 = 1.0 - Uniform();  // (0, 1]: log is finite
  const double u2 = Uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

uint64_t Rng::Below(uint64_t n) {
  // Rejection keeps the result unbiased for any n.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x;
  do {
    x = engine_();
  } while (x >= limit);
  return x % n;
}

template <typename S>
Weights<S> InitializeWeights(const Architecture& arch, Rng* rng) {
  Weights<double> w;
  for (size_t i = 0; i < arch.layers.size(); ++i) {
    const LayerSpec& layer = arch.layers[i];
    w.layers.emplace_back();
    for (const TensorShape& t : LayerTensorShapes(arch, i)) {
      if (t.name == "kernel") {
        w.layers.back().push_back(GlorotUniform(t.rows, t.cols, rng));
      } else if (t.name == "recurrent_kernel") {
        w.layers.back().push_back(Orthogonal(t.rows, t.cols, rng));
      } else {
        // Biases, beta and moving_mean start at 0; gamma and moving_variance at 1.
        Matrix<double> bias = Matrix<double>::Zero(t.rows, t.cols);
        if (t.name == "gamma" || t.name == "moving_variance") bias.setOnes();
        // unit_forget_bias: the forget gate starts open.
        if (layer.kind == LayerKind::kLstm) bias.middleCols(layer.units, layer.units).setOnes();
        w.layers.back().push_back(bias);
      }
    }
  }
  return w.template Cast<S>();
}

template Weights<float> InitializeWeights<float>(const Architecture&, Rng*);
template Weights<double> InitializeWeights<double>(const Architecture&, Rng*);

}  // namespace lstmad::core
