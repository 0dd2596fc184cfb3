// One retraining attempt, as a pure function: fine-tune a copy of a model on
// recent normal windows, recalibrate its threshold, and decide on windows
// held back from training whether it may replace the running model. The
// daemon's Retrainer (daemon/scoring/retrainer.h) schedules it on a clock;
// `lstmad evaluate-stream` replays it every N windows, so both learn the
// same way. No threads, clocks or I/O beyond a steady-clock duration.
#pragma once

#include <cstdint>
#include <functional>

#include "lstmad/core/model.h"
#include "lstmad/core/status.h"
#include "lstmad/core/windows.h"

namespace lstmad::core {

struct RetrainOptions {
  int epochs = 5;
  double holdout = 0.2;  // newest fraction of the windows, never trained on
  int batch_size = 32;
  double learning_rate = 0.001;
  uint64_t seed = 1;                // shuffling; the run is a function of it
  std::function<bool()> cancelled;  // polled before every mini-batch
};

// The options with the batch size and learning rate the model was trained
// with (its metadata), else the trainer's defaults; epochs and holdout are the
// caller's.
RetrainOptions RetrainOptionsForModel(const Model& model);

struct RetrainOutcome {
  // Swap: the candidate's mean holdout error is <= the running model's.
  bool swap = false;
  Model candidate;  // weights, threshold and metadata after fine-tuning
  int train_windows = 0, holdout_windows = 0;
  double old_error = 0, new_error = 0;          // mean per-window error on the holdout (scaled units)
  double old_threshold = 0, new_threshold = 0;  // the models' stored thresholds
  bool threshold_recalibrated = false;          // false: the spec is not one ComputeThreshold knows; kept
  double seconds = 0;
};

// `raw` holds the collected windows in their original units, oldest first
// (the model's scaler, not refitted, is applied here). Errors: too few
// windows for both parts, a network the trainer refuses, divergence, or
// cancellation.
Result<RetrainOutcome> RetrainModel(const Model& current, WindowSet<float> raw,
                                    const RetrainOptions& options);

}  // namespace lstmad::core
