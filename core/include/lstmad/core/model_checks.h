// What an operator should hear about a freshly trained or calibrated model
// before serving it: reconstructions that blew up, a calibration set too
// small for the threshold asked, a threshold absurd for the data's scale.
// `lstmad train`, `evaluate-stream` and `import-keras --calibrate` print these
// as warnings; they do not refuse the model (the numbers may be what the user
// wants). Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "lstmad/core/threshold.h"
#include "lstmad/core/windows.h"

namespace lstmad::core {

// The mean squared error, in the windows' (scaled) units, over windows
// `indices`, of predicting each feature's mean over all of `windows` (the
// data the model learnt from): the error of a model that learnt nothing but
// the level, the yardstick the checks compare errors with. Only the first
// `scored_features` rows count (0: all), as in ErrorOptions: time inputs are
// not the series'.
double MeanPredictorError(const WindowSet<float>& windows, const std::vector<int>& indices,
                          int scored_features = 0);

struct CalibrationFacts {
  ThresholdSpec spec;          // the threshold asked for
  double threshold = 0;        // the threshold it gave
  std::vector<double> errors;  // the calibration windows' errors (scaled units)
  double baseline_error = 0;   // MeanPredictorError of the same windows
};

// One sentence per problem, naming the numbers; empty when all is well.
std::vector<std::string> CalibrationWarnings(const CalibrationFacts& facts);

// One sentence per feature of `series` [features x samples] that is constant
// (scaler.h's ConstantFeatures), naming it (`names`: the features' names).
std::vector<std::string> ConstantFeatureWarnings(const Matrix<double>& series,
                                                 const std::vector<std::string>& names);

}  // namespace lstmad::core
