// Test support for core's unit tests: seeded random samples for the
// detectors' calibration and streams. Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace lstmad::core::testing {

// `n` draws from the exponential distribution with rate 1, seeded by `seed`.
inline std::vector<double> Exponential(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::exponential_distribution<double> dist(1.0);
  std::vector<double> v(static_cast<size_t>(n));
  for (double& x : v) x = dist(rng);
  return v;
}

}  // namespace lstmad::core::testing
