#include "lstmad/core/activation.h"

#include <array>
#include <utility>

namespace lstmad::core {
namespace {

constexpr std::array<std::pair<Activation, std::string_view>, 6> kNames = {{
    {Activation::kTanh, "tanh"},
    {Activation::kRelu, "relu"},
    {Activation::kSigmoid, "sigmoid"},
    {Activation::kLinear, "linear"},
    {Activation::kHardSigmoid, "hard_sigmoid"},
    {Activation::kHardSigmoidK3, "hard_sigmoid_k3"},
}};

}  // namespace

std::string_view ActivationName(Activation a) {
  for (const auto& [value, name] : kNames) {
    if (value == a) return name;
  }
  return "unknown";
}

std::optional<Activation> ParseActivation(std::string_view name) {
  for (const auto& [value, known] : kNames) {
    if (known == name) return value;
  }
  return std::nullopt;
}

}  // namespace lstmad::core
