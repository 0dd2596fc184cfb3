// Reconstruction error of windows: how far the model's output is from its
// input, per window and per feature, in scaled units.
#pragma once

#include <vector>

#include "lstmad/core/network.h"
#include "lstmad/core/tensor.h"
#include "lstmad/core/windows.h"

namespace lstmad::core {

struct ErrorOptions {
  // Score only the last timestep of each window (the newest sample) instead of
  // the mean over the whole window.
  bool last_step_only = false;
  // Count only the first N input rows: the series' features of a model with
  // time features (core/time_features.h), whose time inputs are known exactly
  // and would only dilute the error. 0: every row. Not stored in the model
  // file: a model derives it from its time features (Model::Validate checks).
  int scored_features = 0;
};

// `input` and `output` are batches in the network layout [F x T*B].
// `per_window` becomes [B] (MSE over steps and the scored features, the
// first options.scored_features rows or all F); `per_feature`, when not null,
// becomes [scored x B] (MSE over steps, per feature). Mean of per_feature
// over features equals per_window.
template <typename S>
void ReconstructionErrors(const Matrix<S>& input, const Matrix<S>& output, int timesteps, int batch,
                          const ErrorOptions& options, Vector<S>* per_window,
                          Matrix<S>* per_feature);

// The per-window errors of windows `indices` of `windows` (scaled units),
// scored in batches of 256 as the daemon scores them; the errors do not
// depend on the batching.
std::vector<double> WindowErrors(const Network<float>& net, const WindowSet<float>& windows,
                                 const std::vector<int>& indices, const ErrorOptions& options);

}  // namespace lstmad::core
