#include "simulator.h"

#include <cmath>
#include <numbers>

namespace lstmad::tools {

const char* FaultName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kSpike: return "spike";
    case FaultKind::kLevelShift: return "level_shift";
    case FaultKind::kFrozen: return "frozen";
  }
  return "?";
}

SimulatedPump::SimulatedPump(int index, uint64_t seed)
    : rng_(seed * 1000003ULL + static_cast<uint64_t>(index)),
      phase_(2 * std::numbers::pi * ((index * 7) % kSimulatedPeriod) / kSimulatedPeriod) {}

std::array<double, 4> SimulatedPump::Next() {
  std::normal_distribution<double> noise(0.0, 1.0);
  const double angle = 2 * std::numbers::pi * static_cast<double>(step_) / kSimulatedPeriod + phase_;
  const double load = std::sin(angle);
  // Pressure and flow follow the load; temperature lags it; vibration is a
  // harmonic of the rotation. Noise is small next to the cycle.
  std::array<double, 4> v = {
      60 + 8 * std::sin(angle - 0.6) + 0.3 * noise(rng_),
      4 + 1.2 * load + 0.05 * noise(rng_),
      0.5 + 0.2 * std::sin(2 * angle) + 0.02 * noise(rng_),
      120 + 25 * load + 1.0 * noise(rng_),
  };
  if (fault_left_ > 0) {
    double& x = v[static_cast<size_t>(fault_feature_)];
    const double scale = std::array<double, 4>{8, 1.2, 0.2, 25}[static_cast<size_t>(fault_feature_)];
    switch (fault_) {
      case FaultKind::kSpike: x += 6 * scale; break;
      case FaultKind::kLevelShift: x += 3 * scale; break;
      case FaultKind::kFrozen: x = last_[static_cast<size_t>(fault_feature_)]; break;
    }
    --fault_left_;
  }
  if (fault_left_ == 0 || fault_ != FaultKind::kFrozen) last_ = v;
  ++step_;
  return v;
}

void SimulatedPump::InjectFault(FaultKind kind, int feature, int samples) {
  fault_ = kind;
  fault_feature_ = feature;
  fault_left_ = kind == FaultKind::kSpike ? 1 : samples;
}

}  // namespace lstmad::tools
