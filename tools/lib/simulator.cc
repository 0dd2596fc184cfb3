#include "simulator.h"

#include <cmath>
#include <cstdio>
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

std::string LineProtocol(const std::string& measurement, int stream, const std::array<double, 4>& v,
                         int64_t time_ns) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%s,pump=p%04d %s=%.6g,%s=%.6g,%s=%.6g,%s=%.6g %lld\n",
                measurement.c_str(), stream, kSimulatedFeatures[0], v[0], kSimulatedFeatures[1], v[1],
                kSimulatedFeatures[2], v[2], kSimulatedFeatures[3], v[3],
                static_cast<long long>(time_ns));
  return buf;
}

std::string CsvHeader() {
  return std::string(kSimulatedFeatures[0]) + "," + kSimulatedFeatures[1] + "," +
         kSimulatedFeatures[2] + "," + kSimulatedFeatures[3] + "\n";
}

std::string CsvRow(const std::array<double, 4>& v) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%.6g,%.6g,%.6g,%.6g\n", v[0], v[1], v[2], v[3]);
  return buf;
}

SimulatedPump::SimulatedPump(int index, uint64_t seed)
    : rng_(seed * uint64_t{1000003} + static_cast<uint64_t>(index)),
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
