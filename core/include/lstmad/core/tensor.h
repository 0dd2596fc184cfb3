// Matrix aliases and the parameter container shared by the engine.
//
// Weights hold each layer's tensors in Keras' layout and order (see
// architecture.h): weights.layers[i][k] is tensor k of layer i, indexed
// (row, col) exactly as Keras indexes it. Value types; no thread affinity.
#pragma once

#include <vector>

#include <Eigen/Core>

namespace lstmad::core {

template <typename S>
using Matrix = Eigen::Matrix<S, Eigen::Dynamic, Eigen::Dynamic>;
template <typename S>
using Vector = Eigen::Matrix<S, Eigen::Dynamic, 1>;

template <typename S>
struct Weights {
  std::vector<std::vector<Matrix<S>>> layers;

  // A zero-filled container with the same shapes.
  Weights ZerosLike() const {
    Weights out;
    for (const auto& layer : layers) {
      out.layers.emplace_back();
      for (const auto& t : layer) out.layers.back().push_back(Matrix<S>::Zero(t.rows(), t.cols()));
    }
    return out;
  }
  void SetZero() {
    for (auto& layer : layers)
      for (auto& t : layer) t.setZero();
  }
  template <typename T>
  Weights<T> Cast() const {
    Weights<T> out;
    for (const auto& layer : layers) {
      out.layers.emplace_back();
      for (const auto& t : layer) out.layers.back().push_back(t.template cast<T>());
    }
    return out;
  }
};

}  // namespace lstmad::core
