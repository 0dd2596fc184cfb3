// Model: everything lstmad needs to score windows of a sensor stream, the
// unit that a model file stores. A value type; no thread affinity. Build a
// Network<float> from it with MakeNetwork() once, then score from any thread
// with per-thread workspaces.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "lstmad/core/architecture.h"
#include "lstmad/core/network.h"
#include "lstmad/core/reconstruction.h"
#include "lstmad/core/scaler.h"
#include "lstmad/core/status.h"
#include "lstmad/core/tensor.h"
#include "lstmad/core/time_features.h"

namespace lstmad::core {

struct Model {
  Architecture architecture;
  // One per series feature, in order. The network's inputs are these
  // features followed by time_features.inputs() time inputs, so
  // architecture.features = feature_names.size() + time_features.inputs().
  std::vector<std::string> feature_names;
  Scaler scaler;                           // one entry per series feature; time inputs are not scaled
  TimeFeatures time_features;              // none by default
  double threshold = 0.0;                  // on the per-window error, scaled units
  std::string threshold_spec;              // how it was computed, e.g. "p99.5"
  // error_options.scored_features is feature_names.size() with time
  // features and 0 without (checked by Validate).
  ErrorOptions error_options;
  // Free-form provenance: trained_at, epochs, final loss, data file, seed...
  std::map<std::string, std::string> metadata;
  Weights<float> weights;

  // Checks names, time features, scaler and weights against the architecture.
  Status Validate() const;
  // The number of series features: what a sample carries, what the errors count.
  int series_features() const { return static_cast<int>(feature_names.size()); }
  // Sets the time features and the error options' scored_features to match.
  void SetTimeFeatures(TimeFeatures time);
  Result<Network<float>> MakeNetwork() const;
};

// The current time in UTC as ISO 8601 ("2026-11-27T07:40:00Z"), for the
// metadata's provenance stamps (trained_at, imported_at, retrained_at);
// the clock read over FormatRfc3339Seconds (core/text.h).
std::string UtcNowIso8601();

}  // namespace lstmad::core
