// Fitting an imported model's scaler and anomaly threshold on a series of
// normal data, the way `lstmad train` does at the end of training: the
// scaler is fitted on the series' samples, every complete window is run
// through the model, and the threshold is computed from the windows' errors.
//
// A Keras model expects inputs scaled the way its training data was: pass the
// scaler kind it was trained with (kNone if it saw raw values). The fitted
// scaler equals Keras' only when `normal` is the training data (see
// docs/keras-import.md). Stateless functions; callable from any thread.
#pragma once

#include <string>
#include <vector>

#include "lstmad/core/csv.h"
#include "lstmad/core/model.h"
#include "lstmad/core/scaler.h"
#include "lstmad/core/status.h"
#include "lstmad/core/threshold.h"

namespace lstmad::keras {

struct CalibrationOptions {
  core::ScalerKind scaler = core::ScalerKind::kNone;
  core::ThresholdSpec threshold;  // p99.5 by default, as `lstmad train`
};

struct CalibrationReport {
  int windows = 0;  // windows whose errors set the threshold
  std::vector<std::string> warnings;  // core::CalibrationWarnings of those windows
};

// `normal` must hold the model's features in the model's order (CsvTable
// loaded with model->feature_names) and at least `timesteps` rows. Sets
// model->scaler, threshold and threshold_spec; the error options are used as
// they are.
core::Result<CalibrationReport> Calibrate(const core::CsvTable& normal,
                                          const CalibrationOptions& options, core::Model* model);

}  // namespace lstmad::keras
