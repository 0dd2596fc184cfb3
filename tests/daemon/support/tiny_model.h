// Test support for the daemon's unit tests. A small untrained pump model (T = 3, features a and b, threshold 1e9 so
// that nothing alerts) for the daemon's unit tests that are about samples,
// streams and windows, not scores (ingest, cluster). Registers its metrics in the given registry.
// Thread-safety: the ModelSet is immutable once built.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "lstmad/core/initializers.h"
#include "lstmad/core/model_file.h"
#include "scoring/model_runtime.h"

namespace lstmad::daemon::testing {

inline constexpr int kLookback = 3;

// A set of one model serving measurement `name`, its metrics registered.
// `base`: the model's other settings (assembly, max_gap_intervals, ...).
inline std::shared_ptr<const ModelSet> OneModelSet(core::Model model, const std::string& name, Metrics* metrics,
                                                   const config::ModelSettings& base = {}) {
  auto network = model.MakeNetwork();
  EXPECT_TRUE(network.ok()) << network.status().message();
  config::ModelSettings settings = base;
  settings.name = name;
  settings.measurement = name;
  const double threshold = model.threshold;
  auto runtime = std::make_shared<ModelRuntime>(
      ModelRuntime{settings, std::move(model), std::move(network).value(), threshold, {}, 1});
  runtime->fingerprint = core::ModelFingerprint(runtime->model);  // as LoadModelRuntime does
  RegisterMetrics(runtime.get(), metrics);
  auto set = std::make_shared<ModelSet>();
  set->models.push_back(runtime);
  return set;
}

// `threshold` 0 makes every window anomalous (alerts fire after alert.for
// windows); `lookback` another shape for reload tests.
inline std::shared_ptr<const ModelSet> TinyModelSet(Metrics* metrics, double threshold = 1e9,
                                                    int lookback = kLookback,
                                                    const config::ModelSettings& base = {}) {
  core::AutoencoderSpec spec;
  spec.timesteps = lookback;
  spec.features = 2;
  spec.encoder_units = {4};
  spec.decoder_units = {4};
  auto arch = core::BuildAutoencoder(spec);
  EXPECT_TRUE(arch.ok());
  core::Model model;
  model.architecture = *arch;
  model.feature_names = {"a", "b"};
  model.scaler = core::Scaler::Identity(2);
  model.threshold = threshold;  // 1e9 by default: no alerts, these tests are about samples
  model.weights = core::InitializeWeights<float>(*arch, 7);
  return OneModelSet(std::move(model), "pump", metrics, base);
}

// Polls until `done` holds, for at most 20 s (workers run on their own threads).
template <typename F>
bool Eventually(F done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace lstmad::daemon::testing
