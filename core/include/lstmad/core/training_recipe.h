// The training recipe, written once: fit the scaler on the training windows'
// samples, build the autoencoder, initialise it, train it (validation split,
// early stopping with the best epoch's weights), and fit the anomaly threshold
// on the validation windows' errors. `lstmad train`, `lstmad evaluate-stream`
// and the daemon's retrainer (FineTuneAutoencoder: a warm start from a model)
// all train through here, so a model means the same thing whoever made it.
//
// Pure functions of their arguments: the seed drives initialisation and
// shuffling, so a run is reproducible byte for byte. Single-threaded; no
// shared state, so concurrent calls on different inputs are safe. The only
// clock read is a steady-clock duration reported in TrainedModel::seconds.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "lstmad/core/architecture.h"
#include "lstmad/core/model.h"
#include "lstmad/core/reconstruction.h"
#include "lstmad/core/scaler.h"
#include "lstmad/core/status.h"
#include "lstmad/core/tensor.h"
#include "lstmad/core/threshold.h"
#include "lstmad/core/time_features.h"
#include "lstmad/core/trainer.h"
#include "lstmad/core/windows.h"

namespace lstmad::core {

struct TrainingRecipe {
  // Timesteps, units and activations; `features` is taken from the series.
  AutoencoderSpec spec;
  // Epochs, batch size, learning rate, validation split, patience and the
  // cancellation poll, as Train takes them.
  TrainOptions options;
  ScalerKind scaler = ScalerKind::kStandard;
  ThresholdSpec threshold;  // fitted on the validation windows (training windows without any)
  ErrorOptions error_options;  // scored_features is set from time_features
  // Inputs for daily/weekly cycles after the series' features; they need the
  // samples' times (TrainAutoencoder's `seconds`).
  TimeFeatures time_features;
  uint64_t seed = 1;  // one generator for initialisation and shuffling
};

// What a recipe implies for a series of `samples` samples, before any training.
struct TrainingPlan {
  Architecture architecture;
  int windows = 0;         // every complete sliding window: samples - T + 1
  int train_windows = 0;   // the first ones; the rest are validation windows
  int scaler_samples = 0;  // the samples the training windows cover: the scaler's data
};

// Checks the recipe against the data's shape: errors name the bad input (too
// few samples for the lookback, no training windows left by the split, an
// architecture BuildAutoencoder refuses). Callers that tell bad input from a
// failed run check here first.
Result<TrainingPlan> PlanTraining(const TrainingRecipe& recipe, int features, int samples);

struct TrainedModel {
  // Architecture, weights, scaler, feature names, threshold and its spec,
  // error options, and the training metadata: windows, validation_windows,
  // epochs, best_epoch, stopped_early, loss, val_loss, batch_size,
  // learning_rate, seed, threshold_windows ("validation" or "training").
  // Callers add their provenance (trained_at, data source...).
  Model model;
  TrainResult training;              // per-epoch history, best epoch, the window split
  int windows = 0;                   // windows trained and validated on
  int calibration_windows = 0;       // windows the threshold was computed from
  bool threshold_calibrated = true;  // FineTuneAutoencoder: false when the spec was kept as is
  double seconds = 0;                // wall time of the whole recipe
  std::vector<std::string> warnings; // CalibrationWarnings (model_checks.h) of the threshold's windows
};

// Trains a fresh autoencoder on `series` [features x samples] in original
// units, one name per feature row. `on_epoch` sees every epoch's report as it
// ends. With recipe.time_features, `seconds` holds each sample's time
// (seconds since the epoch, UTC) and the network also sees the time inputs
// (core/time_features.h); otherwise it is ignored. Errors: the plan's
// (above), a non-finite sample or time, a name or time count that does not
// match (naming them), divergence, cancellation, or a threshold that cannot
// be computed.
Result<TrainedModel> TrainAutoencoder(const Matrix<double>& series,
                                      const std::vector<std::string>& feature_names,
                                      const TrainingRecipe& recipe, const EpochCallback& on_epoch = {},
                                      std::span<const double> seconds = {});

struct FineTuneRecipe {
  TrainOptions options;  // as in TrainingRecipe (a retrainer holds out its own windows: split 0)
  uint64_t seed = 1;     // shuffling only: the weights come from the model
};

// Warm start: continues training `start` on `windows` (original units, the
// model's shape: time inputs, if the model has any, included as
// AppendTimeInputs builds them). The scaler stays the model's (refitting it would change
// what every weight means), and so do the architecture, error options and
// metadata. The threshold is recomputed with the model's threshold_spec on the
// validation windows (training windows without any) when the spec parses;
// otherwise the model's threshold is kept and threshold_calibrated is false.
Result<TrainedModel> FineTuneAutoencoder(const Model& start, WindowSet<float> windows,
                                         const FineTuneRecipe& recipe,
                                         const EpochCallback& on_epoch = {});

}  // namespace lstmad::core
