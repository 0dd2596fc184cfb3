// Shared by the retraining tests: a small LSTM autoencoder trained once on
// "pattern A" (a sine and a cosine of period 20) and series that drift from it.
#pragma once

#include <cmath>

#include "lstmad/core/architecture.h"
#include "lstmad/core/initializers.h"
#include "lstmad/core/model.h"
#include "lstmad/core/threshold.h"
#include "lstmad/core/trainer.h"
#include "lstmad/core/windows.h"

namespace lstmad::daemon::retrain_test {

inline constexpr int kRetrainLookback = 8;

// [2 x n] samples from `start` on: pattern A with the first feature moved by
// `offset` and both scaled by `gain`.
inline core::Matrix<double> Series(int n, double offset, double gain, int start) {
  core::Matrix<double> s(2, n);
  for (int i = 0; i < n; ++i) {
    const double a = 2 * M_PI * (start + i) / 20.0;
    s(0, i) = gain * std::sin(a) + offset;
    s(1, i) = gain * 0.5 * std::cos(a);
  }
  return s;
}

inline core::WindowSet<float> RawWindows(const core::Matrix<double>& series) {
  return core::MakeWindows(core::Matrix<float>(series.cast<float>()), kRetrainLookback);
}

// Trained once per test binary, deterministically (seed 3).
inline const core::Model& PatternA() {
  static const core::Model model = [] {
    core::Model m;
    core::AutoencoderSpec spec;
    spec.timesteps = kRetrainLookback;
    spec.features = 2;
    spec.encoder_units = {12};
    spec.decoder_units = {12};
    spec.activation = core::Activation::kTanh;
    m.architecture = *core::BuildAutoencoder(spec);
    m.feature_names = {"a", "b"};
    const core::Matrix<double> series = Series(600, 0, 1, 0);
    m.scaler = core::Scaler::Fit(core::ScalerKind::kStandard, series);
    core::Matrix<float> scaled = series.cast<float>();
    m.scaler.Transform(&scaled);
    const core::WindowSet<float> windows = core::MakeWindows(scaled, kRetrainLookback);
    core::Rng rng(3);
    core::Network<float> net =
        *core::Network<float>::Create(m.architecture, core::InitializeWeights<float>(m.architecture, &rng));
    core::TrainOptions options;
    options.epochs = 40;
    options.learning_rate = 0.01;
    options.validation_split = 0;
    (void)*core::Train(&net, windows, options, &rng);
    std::vector<int> all(static_cast<size_t>(windows.count));
    for (int k = 0; k < windows.count; ++k) all[static_cast<size_t>(k)] = k;
    m.threshold_spec = "p99";
    m.threshold = *core::ComputeThreshold(*core::ThresholdSpec::Parse("p99"),
                                          core::WindowErrors(net, windows, all, m.error_options));
    m.weights = net.weights();
    m.metadata = {{"batch_size", "32"}, {"learning_rate", "0.01"}};
    return m;
  }();
  return model;
}

}  // namespace lstmad::daemon::retrain_test
