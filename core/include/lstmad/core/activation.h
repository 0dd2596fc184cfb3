// Element-wise activations with Keras semantics, and their derivatives.
//
// Stateless; safe from any thread. `hard_sigmoid` has two Keras definitions:
// Keras 2 uses clip(0.2 x + 0.5, 0, 1), Keras 3 uses relu6(x + 3) / 6; both
// are kept so a model imported from either version computes the same numbers.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <Eigen/Core>

namespace lstmad::core {

enum class Activation {
  kTanh,
  kRelu,
  kSigmoid,
  kLinear,
  kHardSigmoid,    // Keras 2: clip(0.2 x + 0.5, 0, 1)
  kHardSigmoidK3,  // Keras 3: clip(x / 6 + 0.5, 0, 1)
};

std::string_view ActivationName(Activation a);
// Accepts the Keras names (tanh, relu, sigmoid, linear, hard_sigmoid) plus
// `hard_sigmoid_k3`; returns nullopt for anything else.
std::optional<Activation> ParseActivation(std::string_view name);

// y = a(z), element-wise. `z` and `y` may alias.
template <typename Derived, typename OutDerived>
inline void ApplyActivation(Activation a, const Eigen::MatrixBase<Derived>& z,
                            const Eigen::MatrixBase<OutDerived>& y_const) {
  using S = typename Derived::Scalar;
  auto& y = const_cast<Eigen::MatrixBase<OutDerived>&>(y_const);
  switch (a) {
    case Activation::kTanh: y = z.array().tanh().matrix(); break;
    case Activation::kRelu: y = z.array().max(S(0)).matrix(); break;
    case Activation::kSigmoid:
      y = (S(1) / (S(1) + (-z.array()).exp())).matrix();
      break;
    case Activation::kLinear: y = z; break;
    case Activation::kHardSigmoid:
      y = (z.array() * S(0.2) + S(0.5)).max(S(0)).min(S(1)).matrix();
      break;
    case Activation::kHardSigmoidK3:
      y = (z.array() / S(6) + S(0.5)).max(S(0)).min(S(1)).matrix();
      break;
  }
}

// d = a'(z) given z and y = a(z) (whichever is cheaper is used).
template <typename ZDerived, typename YDerived, typename OutDerived>
inline void ActivationDerivative(Activation a, const Eigen::MatrixBase<ZDerived>& z,
                                 const Eigen::MatrixBase<YDerived>& y,
                                 const Eigen::MatrixBase<OutDerived>& d_const) {
  using S = typename ZDerived::Scalar;
  auto& d = const_cast<Eigen::MatrixBase<OutDerived>&>(d_const);
  switch (a) {
    case Activation::kTanh: d = (S(1) - y.array().square()).matrix(); break;
    case Activation::kRelu: d = (z.array() > S(0)).template cast<S>().matrix(); break;
    case Activation::kSigmoid: d = (y.array() * (S(1) - y.array())).matrix(); break;
    case Activation::kLinear: d.setOnes(); break;
    case Activation::kHardSigmoid:
      d = ((z.array() > S(-2.5)) && (z.array() < S(2.5))).template cast<S>().matrix() * S(0.2);
      break;
    case Activation::kHardSigmoidK3:
      d = ((z.array() > S(-3)) && (z.array() < S(3))).template cast<S>().matrix() / S(6);
      break;
  }
}

}  // namespace lstmad::core
