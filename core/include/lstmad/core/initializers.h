// Keras' default initialisers, deterministic for a seed:
// glorot_uniform kernels, orthogonal recurrent kernels, zero biases with the
// LSTM forget-gate bias set to 1 (unit_forget_bias).
#pragma once

#include <cstdint>
#include <random>

#include "lstmad/core/architecture.h"
#include "lstmad/core/tensor.h"

namespace lstmad::core {

// A small deterministic generator: the same seed gives the same numbers on
// every platform (the standard distributions are implementation-defined, so
// the conversions from bits are ours).
class Rng {
 public:
  // The seed goes through SplitMix64 first, so nearby seeds (1, 2, 3...) and
  // the streams derived from one seed start far apart.
  explicit Rng(uint64_t seed) : engine_(SplitMix64(seed)) {}
  static uint64_t SplitMix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
  }
  double Uniform();                      // [0, 1)
  double Uniform(double lo, double hi);  // [lo, hi)
  double Normal();                       // standard normal (Box-Muller)
  uint64_t Below(uint64_t n);            // [0, n), unbiased
  template <typename T>
  void Shuffle(T* first, T* last) {  // Fisher-Yates
    for (auto n = last - first; n > 1; --n) std::swap(first[n - 1], first[Below(uint64_t(n))]);
  }

 private:
  std::mt19937_64 engine_;
};

// Draws from `rng`, so one generator can serve a whole training run (as
// Keras' global seed serves both initialisation and shuffling).
template <typename S>
Weights<S> InitializeWeights(const Architecture& arch, Rng* rng);
template <typename S>
Weights<S> InitializeWeights(const Architecture& arch, uint64_t seed) {
  Rng rng(seed);
  return InitializeWeights<S>(arch, &rng);
}

}  // namespace lstmad::core
