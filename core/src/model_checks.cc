#include "lstmad/core/model_checks.h"

#include <algorithm>
#include <cmath>

#include "lstmad/core/scaler.h"
#include "lstmad/core/text.h"

namespace lstmad::core {

double MeanPredictorError(const WindowSet<float>& windows, const std::vector<int>& indices,
                          int scored_features) {
  const int features = scored_features > 0 ? std::min(scored_features, windows.features) : windows.features;
  if (indices.empty() || features == 0) return 0;
  const auto t = static_cast<Eigen::Index>(windows.timesteps);
  double total = 0;
  for (Eigen::Index f = 0; f < features; ++f) {
    const double mean = windows.data.row(f).cast<double>().mean();
    double sum2 = 0, n = 0;
    for (int w : indices) {
      for (Eigen::Index s = 0; s < t; ++s) {
        const double d = windows.data(f, static_cast<Eigen::Index>(w) * t + s) - mean;
        sum2 += d * d;
        n += 1;
      }
    }
    total += sum2 / n;
  }
  return total / static_cast<double>(features);
}

std::vector<std::string> ConstantFeatureWarnings(const Matrix<double>& series,
                                                 const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (int f : ConstantFeatures(series)) {
    const auto i = static_cast<size_t>(f);
    out.push_back("feature " + Quote(i < names.size() ? names[i] : std::to_string(f)) +
                  " is constant in the training data (" + FormatSignificant(series(f, 0)) +
                  "): the model cannot learn how it varies, and any change in it adds to the error in its "
                  "own units (it is not scaled)");
  }
  return out;
}

std::vector<std::string> CalibrationWarnings(const CalibrationFacts& facts) {
  std::vector<std::string> out;
  const auto n = facts.errors.size();
  if (n == 0) return out;
  if (std::any_of(facts.errors.begin(), facts.errors.end(), [](double e) { return !std::isfinite(e); })) {
    out.push_back("some calibration windows' reconstruction errors are not finite: the model's output "
                  "blew up");
    return out;
  }
  std::vector<double> sorted = facts.errors;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[(n - 1) / 2];
  // A model that reconstructs its own normal windows worse than a constant
  // (each feature's mean) has learnt nothing: its verdicts mean nothing.
  if (facts.baseline_error > 0 && median > facts.baseline_error) {
    out.push_back("the model reconstructs normal windows worse than a constant would (median error " +
                  FormatSignificant(median) + " against " + FormatSignificant(facts.baseline_error) +
                  " for each feature's mean): it has not learnt the data; try a smaller model, "
                  "fewer epochs with early stopping, or more data");
  }
  if (facts.spec.kind == ThresholdSpec::Kind::kPercentile && facts.spec.value < 100) {
    // The p-th percentile of n values needs about 1 / (1 - p/100) of them
    // to have one value above it at all.
    const double needed = std::ceil(1.0 / (1.0 - facts.spec.value / 100.0));
    if (static_cast<double>(n) < needed) {
      out.push_back("the threshold " + facts.spec.ToString() + " is computed from " + std::to_string(n) +
                    " windows; it needs at least " + FormatSignificant(needed) +
                    " to be more than their maximum: use more data, a larger validation split, or a "
                    "lower percentile");
    }
  }
  if (facts.spec.kind != ThresholdSpec::Kind::kFixed && facts.threshold == kMinComputedThreshold &&
      sorted.back() < kMinComputedThreshold) {
    out.push_back("the calibration windows are reconstructed almost exactly (largest error " +
                  FormatSignificant(sorted.back()) + "): the threshold is raised to " +
                  FormatSignificant(kMinComputedThreshold) + ", the least lstmad computes");
  }
  if (!(facts.threshold > 0)) {
    out.push_back("the threshold is " + FormatSignificant(facts.threshold) +
                  ": every window will count as anomalous");
  } else if (facts.baseline_error > 0 && facts.threshold > 10 * facts.baseline_error) {
    out.push_back("the threshold " + FormatSignificant(facts.threshold) + " is more than 10 times the error of "
                  "predicting each feature's mean (" + FormatSignificant(facts.baseline_error) +
                  "): hardly any window can exceed it");
  }
  return out;
}

}  // namespace lstmad::core
