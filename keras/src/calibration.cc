#include "lstmad/keras/calibration.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "lstmad/core/network.h"
#include "lstmad/core/reconstruction.h"
#include "lstmad/core/model_checks.h"
#include "lstmad/core/windows.h"

namespace lstmad::keras {

using core::Result;
using core::Status;

Result<CalibrationReport> Calibrate(const core::CsvTable& normal, const CalibrationOptions& options,
                                    core::Model* model) {
  const int steps = model->architecture.timesteps;
  if (normal.feature_names != model->feature_names) {
    return Status::Error("the calibration data's features differ from the model's");
  }
  if (normal.rows() < steps) {
    return Status::Error(std::to_string(normal.rows()) +
                         " rows of calibration data, fewer than the model's window of " +
                         std::to_string(steps));
  }
  model->scaler = core::Scaler::Fit(options.scaler, normal.values);
  Result<core::Network<float>> net = model->MakeNetwork();
  if (!net.ok()) return net.status();
  core::Matrix<float> series = normal.values.cast<float>();
  model->scaler.Transform(&series);
  const core::WindowSet<float> windows = core::MakeWindows(series, steps);
  std::vector<int> indices(static_cast<size_t>(windows.count));
  std::iota(indices.begin(), indices.end(), 0);
  const std::vector<double> all = core::WindowErrors(*net, windows, indices, model->error_options);
  Result<double> threshold = core::ComputeThreshold(options.threshold, all);
  if (!threshold.ok()) return threshold.status();
  // A relu model can overflow on data far from what it was trained on.
  if (!std::isfinite(*threshold)) {
    return Status::Error("the reconstruction errors on the calibration data are not finite "
                         "(wrong scaler, or data far outside the training range?)");
  }
  model->threshold = *threshold;
  model->threshold_spec = options.threshold.ToString();
  CalibrationReport report{windows.count, {}};
  report.warnings = core::CalibrationWarnings(
      {options.threshold, *threshold, all, core::MeanPredictorError(windows, indices, model->error_options.scored_features)});
  return report;
}

}  // namespace lstmad::keras
