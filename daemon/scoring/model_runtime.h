// A model as the daemon runs it: the loaded model file, its network, the
// settings that route samples to it, its effective threshold and its metric
// handles. Immutable once built and shared (shared_ptr<const>) between the
// network thread and the scoring workers; a config reload builds new ones.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "lstmad/config/settings.h"
#include "lstmad/core/guards.h"
#include "lstmad/core/model.h"
#include "obs/metrics.h"

namespace lstmad::daemon {

struct ModelRuntime {
  config::ModelSettings settings;
  core::Model model;
  core::Network<float> network;
  double threshold = 0;  // the config's override, else the model's
  ModelMetrics metrics;
  // Distinct for every runtime built.
  uint64_t generation = 0;
  // One per feature, in the model's order (models[].guards resolved against
  // the model's feature names); empty: the model has no guards.
  std::vector<core::FeatureGuard> guards = {};
  // What a stream's detector is tied to: it restarts (calibrates afresh) when
  // its stream meets a runtime with another one. A loaded model (start,
  // reload) gets its generation; a retrained one keeps its predecessor's, so
  // learning never blinds the streams: their detectors carry on, the
  // likelihood's history and SPOT's tail adapting to the new model's errors
  // as they adapt to any change (`lstmad evaluate-stream --relearn-every`
  // replays the same).
  uint64_t detector_generation = 0;
  // core::ModelFingerprint(model): saved with each stream's detector state,
  // which a restart or a handover restores only under a model with the same
  // fingerprint. Another model's errors are on another scale, and the
  // detector calibrates afresh, as it does at a reload.
  uint32_t fingerprint = 0;

  int lookback() const { return model.architecture.timesteps; }
  // What a sample carries: the model's series features.
  int features() const { return model.series_features(); }
  // What the network takes per step: the features, then the time inputs
  // (core/time_features.h) a model with time features adds.
  int inputs() const { return model.architecture.features; }
  const std::string& name() const { return settings.name; }
};

// A fresh ModelRuntime::generation (thread-safe).
uint64_t NextModelGeneration();

// Loads settings.path and checks the model can serve; errors name the key
// path ("models[1].path") and the file.
core::Result<std::shared_ptr<ModelRuntime>> LoadModelRuntime(const config::ModelSettings& settings,
                                                            size_t index);
void RegisterMetrics(ModelRuntime* runtime, Metrics* metrics);

// Every model of a configuration, with the measurement -> model routing.
struct ModelSet {
  std::vector<std::shared_ptr<const ModelRuntime>> models;
  // The model that lines of `measurement` go to, or null.
  const std::shared_ptr<const ModelRuntime>* FindByMeasurement(std::string_view measurement) const;
};

// Loads every model; only when all load are their metrics registered (when
// `metrics` is not null: --check passes null), so a failed reload leaves the
// exported metrics untouched. LoadModelRuntimes then MakeModelSet.
core::Result<std::shared_ptr<const ModelSet>> LoadModelSet(const config::Settings& settings,
                                                           Metrics* metrics);
// The slow half of LoadModelSet (reading, parsing, calibrating every model):
// it touches no shared state, so a reload runs it off the io thread.
core::Result<std::vector<std::shared_ptr<ModelRuntime>>> LoadModelRuntimes(const config::Settings& settings);
// The other half: registers the models' metrics (unless `metrics` is null)
// and makes them a set.
std::shared_ptr<const ModelSet> MakeModelSet(std::vector<std::shared_ptr<ModelRuntime>> loaded,
                                             Metrics* metrics);

}  // namespace lstmad::daemon
