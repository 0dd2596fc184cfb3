#include "lstmad/keras/calibration.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "lstmad/core/network.h"
#include "lstmad/core/reconstruction.h"
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
  // Batches as the daemon scores them; the errors do not depend on the batch.
  constexpr int kBatch = 256;
  std::vector<int> indices(static_cast<size_t>(windows.count));
  std::iota(indices.begin(), indices.end(), 0);
  core::Network<float>::Workspace workspace;
  core::Matrix<float> input, output;
  core::Vector<float> errors;
  std::vector<double> all;
  for (int first = 0; first < windows.count; first += kBatch) {
    const int batch = std::min(kBatch, windows.count - first);
    core::GatherBatch(windows, indices.data() + first, batch, &input);
    net->Forward(input, batch, &workspace, &output);
    core::ReconstructionErrors(input, output, steps, batch, model->error_options, &errors,
                               static_cast<core::Matrix<float>*>(nullptr));
    for (int b = 0; b < batch; ++b) all.push_back(errors[b]);
  }
  Result<double> threshold = core::ComputeThreshold(options.threshold, all);
  if (!threshold.ok()) return threshold.status();
  // A relu model can overflow on data far from what it was trained on.
  if (!std::isfinite(*threshold)) {
    return Status::Error("the reconstruction errors on the calibration data are not finite "
                         "(wrong scaler, or data far outside the training range?)");
  }
  model->threshold = *threshold;
  model->threshold_spec = options.threshold.ToString();
  return CalibrationReport{windows.count};
}

}  // namespace lstmad::keras
