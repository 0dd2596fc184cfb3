#include "lstmad/core/training_recipe.h"
#include "lstmad/core/text.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "lstmad/core/initializers.h"
#include "lstmad/core/model_checks.h"
#include "lstmad/core/network.h"

namespace lstmad::core {
namespace {

// The retrainer reads the learning rate back from the metadata, so it is
// written exactly: the shortest text that parses to the same double, in
// printf's %g style (0.0005, not 5e-04), as users write it on the command line.
std::string ExactNumber(double v) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general);
  return ec == std::errc() ? std::string(buf, end) : FormatSignificant(v);
}

Status CheckSeries(const Matrix<double>& series, const std::vector<std::string>& names) {
  if (static_cast<size_t>(series.rows()) != names.size()) {
    return Status::Error(std::to_string(names.size()) + " feature names for a series of " +
                         std::to_string(series.rows()) + " features");
  }
  for (Eigen::Index f = 0; f < series.rows(); ++f) {
    for (Eigen::Index s = 0; s < series.cols(); ++s) {
      if (!std::isfinite(series(f, s))) {
        return Status::Error("sample " + std::to_string(s) + " of feature \"" +
                             names[static_cast<size_t>(f)] + "\" is not finite");
      }
    }
  }
  return Status::Ok();
}

Status CheckTimes(const TimeFeatures& time, const Matrix<double>& series, std::span<const double> seconds) {
  if (time.empty()) return Status::Ok();
  if (seconds.size() != static_cast<size_t>(series.cols())) {
    return Status::Error("time features (" + time.ToString() +
                         ") need one time per sample: " + std::to_string(seconds.size()) + " times for " +
                         std::to_string(series.cols()) + " samples");
  }
  for (size_t s = 0; s < seconds.size(); ++s) {
    if (!std::isfinite(seconds[s])) {
      return Status::Error("the time of sample " + std::to_string(s) + " is not finite");
    }
  }
  return Status::Ok();
}

// The threshold comes from windows the weights were not fitted on when there
// are any, as Keras users calibrate on validation data.
const std::vector<int>& CalibrationWindows(const TrainResult& trained) {
  return trained.validation_windows.empty() ? trained.training_windows : trained.validation_windows;
}

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

Result<TrainingPlan> PlanTraining(const TrainingRecipe& recipe, int features, int samples) {
  const int timesteps = recipe.spec.timesteps;
  if (timesteps < 1)
    return Status::Error("lookback " + std::to_string(timesteps) + " is not positive");
  if (samples < timesteps) {
    return Status::Error(std::to_string(samples) + " samples, fewer than the lookback " +
                         std::to_string(timesteps));
  }
  const double split = recipe.options.validation_split;
  if (!(split >= 0 && split < 1))
    return Status::Error("validation split " + FormatSignificant(split) + " is not in [0, 1)");
  TrainingPlan plan;
  plan.windows = samples - timesteps + 1;
  // Train rounds the split the same way; the scaler must see exactly the
  // samples of the windows Train will fit on, never the validation tail.
  plan.train_windows = static_cast<int>(plan.windows * (1.0 - recipe.options.validation_split));
  if (plan.train_windows < 1) {
    return Status::Error(std::to_string(samples) + " samples hold no training windows of length " +
                         std::to_string(timesteps) + " after a validation split of " +
                         FormatSignificant(recipe.options.validation_split));
  }
  plan.scaler_samples = plan.train_windows + timesteps - 1;
  AutoencoderSpec spec = recipe.spec;
  spec.features = features + recipe.time_features.inputs();
  Result<Architecture> arch = BuildAutoencoder(spec);
  if (!arch.ok()) return arch.status();
  plan.architecture = std::move(*arch);
  return plan;
}

Result<TrainedModel> TrainAutoencoder(const Matrix<double>& series,
                                      const std::vector<std::string>& feature_names,
                                      const TrainingRecipe& recipe, const EpochCallback& on_epoch,
                                      std::span<const double> seconds) {
  const auto start = std::chrono::steady_clock::now();
  LSTMAD_RETURN_IF_ERROR(CheckSeries(series, feature_names));
  LSTMAD_RETURN_IF_ERROR(CheckTimes(recipe.time_features, series, seconds));
  Result<TrainingPlan> plan =
      PlanTraining(recipe, static_cast<int>(series.rows()), static_cast<int>(series.cols()));
  if (!plan.ok()) return plan.status();

  TrainedModel out;
  Model& model = out.model;
  model.feature_names = feature_names;
  model.scaler = Scaler::Fit(recipe.scaler, series.leftCols(plan->scaler_samples));
  model.error_options = recipe.error_options;
  model.SetTimeFeatures(recipe.time_features);
  model.architecture = plan->architecture;
  // The time inputs follow the features; the scaler scales only the features.
  Matrix<float> scaled = recipe.time_features.empty()
                             ? Matrix<float>(series.cast<float>())
                             : AppendTimeInputs<float>(series.cast<float>(), recipe.time_features, seconds);
  model.scaler.Transform(&scaled);
  const WindowSet<float> windows = MakeWindows(scaled, recipe.spec.timesteps);
  // One generator for initialisation and shuffling: the run is a function of the seed.
  Rng rng(recipe.seed);
  Result<Network<float>> net = Network<float>::Create(
      model.architecture, InitializeWeights<float>(model.architecture, &rng));
  if (!net.ok()) return net.status();
  Result<TrainResult> trained = Train(&*net, windows, recipe.options, &rng, on_epoch);
  if (!trained.ok()) return trained.status();
  out.training = std::move(*trained);

  const std::vector<int>& calibration = CalibrationWindows(out.training);
  std::vector<double> errors = WindowErrors(*net, windows, calibration, model.error_options);
  Result<double> threshold = ComputeThreshold(recipe.threshold, errors);
  if (!threshold.ok()) return threshold.status();
  out.warnings = ConstantFeatureWarnings(series.leftCols(plan->scaler_samples), feature_names);
  for (std::string& w :
       CalibrationWarnings({recipe.threshold, *threshold, std::move(errors),
                            MeanPredictorError(windows, calibration, model.error_options.scored_features)})) {
    out.warnings.push_back(std::move(w));
  }
  model.threshold = *threshold;
  model.threshold_spec = recipe.threshold.ToString();
  model.weights = net->weights();
  out.windows = windows.count;
  out.calibration_windows = static_cast<int>(calibration.size());
  const EpochReport& last = out.training.history.back();
  model.metadata = {
      {"windows", std::to_string(windows.count)},
      {"validation_windows", std::to_string(out.training.validation_windows.size())},
      {"epochs", std::to_string(out.training.history.size())},
      {"best_epoch", std::to_string(out.training.best_epoch)},
      {"stopped_early", out.training.stopped_early ? "true" : "false"},
      {"loss", FormatSignificant(last.loss)},
      {"val_loss", last.val_loss >= 0 ? FormatSignificant(last.val_loss) : "none"},
      {"batch_size", std::to_string(recipe.options.batch_size)},
      {"learning_rate", ExactNumber(recipe.options.learning_rate)},
      {"seed", std::to_string(recipe.seed)},
      {"threshold_windows", out.training.validation_windows.empty() ? "training" : "validation"},
  };
  out.seconds = Seconds(start);
  return out;
}

Result<TrainedModel> FineTuneAutoencoder(const Model& start, WindowSet<float> windows,
                                         const FineTuneRecipe& recipe,
                                         const EpochCallback& on_epoch) {
  const auto started = std::chrono::steady_clock::now();
  const Architecture& arch = start.architecture;
  if (windows.timesteps != arch.timesteps || windows.features != arch.features) {
    return Status::Error("windows of " + std::to_string(windows.timesteps) + " x " +
                         std::to_string(windows.features) + " for a model of " +
                         std::to_string(arch.timesteps) + " x " + std::to_string(arch.features));
  }
  start.scaler.Transform(&windows.data);
  Result<Network<float>> net = start.MakeNetwork();
  if (!net.ok()) return net.status();
  Rng rng(recipe.seed);
  Result<TrainResult> trained = Train(&*net, windows, recipe.options, &rng, on_epoch);
  if (!trained.ok()) return trained.status();

  TrainedModel out;
  out.training = std::move(*trained);
  out.model = start;
  out.model.weights = net->weights();
  out.windows = windows.count;
  const std::vector<int>& calibration = CalibrationWindows(out.training);
  Result<ThresholdSpec> spec = ThresholdSpec::Parse(start.threshold_spec);
  out.threshold_calibrated = spec.ok();
  if (spec.ok()) {
    Result<double> threshold =
        ComputeThreshold(*spec, WindowErrors(*net, windows, calibration, start.error_options));
    if (!threshold.ok()) return threshold.status();
    out.model.threshold = *threshold;
    out.calibration_windows = static_cast<int>(calibration.size());
  }
  out.seconds = Seconds(started);
  return out;
}

}  // namespace lstmad::core
