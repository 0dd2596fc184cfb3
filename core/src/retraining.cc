#include "lstmad/core/retraining.h"

#include <chrono>
#include <cstdlib>
#include <cmath>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "lstmad/core/reconstruction.h"
#include "lstmad/core/text.h"
#include "lstmad/core/trainer.h"
#include "lstmad/core/training_recipe.h"

namespace lstmad::core {
namespace {

double Mean(const std::vector<double>& values) {
  return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

std::vector<int> Range(int first, int end) {
  std::vector<int> out(static_cast<size_t>(end - first));
  std::iota(out.begin(), out.end(), first);
  return out;
}

template <typename T>
T MetadataNumber(const Model& model, const char* key, T fallback) {
  auto it = model.metadata.find(key);
  if (it == model.metadata.end()) return fallback;
  char* end = nullptr;
  const double v = std::strtod(it->second.c_str(), &end);
  if (end == it->second.c_str() || *end != '\0' || !std::isfinite(v) || v <= 0) return fallback;
  return static_cast<T>(v);
}

}  // namespace

RetrainOptions RetrainOptionsForModel(const Model& model) {
  RetrainOptions o;
  o.batch_size = MetadataNumber<int>(model, "batch_size", TrainOptions().batch_size);
  o.learning_rate = MetadataNumber<double>(model, "learning_rate", TrainOptions().learning_rate);
  return o;
}

Result<RetrainOutcome> RetrainModel(const Model& current, WindowSet<float> raw,
                                          const RetrainOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  RetrainOutcome out;
  // The newest windows are held back: they are the closest to what the model
  // will see next, and keeping them out of training makes the comparison fair.
  out.holdout_windows = static_cast<int>(std::lround(raw.count * options.holdout));
  out.train_windows = raw.count - out.holdout_windows;
  if (out.holdout_windows < 1 || out.train_windows < 1) {
    return Status::Error("too few windows to hold some back: " + std::to_string(raw.count));
  }
  // The recipe keeps the model's scaler (refitting it would change what
  // every weight means) and recomputes the threshold on the training windows.
  WindowSet<float> training;  // original units
  training.timesteps = raw.timesteps;
  training.features = raw.features;
  training.count = out.train_windows;
  training.data = raw.data.leftCols(static_cast<Eigen::Index>(out.train_windows) * raw.timesteps);
  FineTuneRecipe recipe;
  recipe.options.epochs = options.epochs;
  recipe.options.batch_size = options.batch_size;
  recipe.options.learning_rate = options.learning_rate;
  recipe.options.validation_split = 0;  // the holdout below is ours; training sees only the training part
  recipe.options.patience = 0;
  recipe.options.cancelled = options.cancelled;
  recipe.seed = options.seed;
  Result<TrainedModel> tuned = FineTuneAutoencoder(current, std::move(training), recipe);
  if (!tuned.ok()) return tuned.status();

  current.scaler.Transform(&raw.data);  // the holdout comparison is in scaled units
  Result<Network<float>> running = current.MakeNetwork();
  if (!running.ok()) return running.status();
  Result<Network<float>> candidate = tuned->model.MakeNetwork();
  if (!candidate.ok()) return candidate.status();
  const std::vector<int> holdout = Range(out.train_windows, raw.count);
  out.old_error = Mean(WindowErrors(*running, raw, holdout, current.error_options));
  out.new_error = Mean(WindowErrors(*candidate, raw, holdout, current.error_options));
  if (!std::isfinite(out.new_error))
    return Status::Error("the candidate's holdout error is not finite");
  // Equal counts as not worse; a NaN old error (cannot happen for a model
  // that scores) would refuse.
  out.swap = out.new_error <= out.old_error;

  out.candidate = std::move(tuned->model);
  out.old_threshold = current.threshold;
  out.new_threshold = out.candidate.threshold;
  out.threshold_recalibrated = tuned->threshold_calibrated;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::map<std::string, std::string>& meta = out.candidate.metadata;
  meta["retrained_windows"] = std::to_string(out.train_windows);
  meta["retrained_holdout_windows"] = std::to_string(out.holdout_windows);
  meta["retrained_epochs"] = std::to_string(options.epochs);
  meta["retrained_holdout_error"] = FormatSignificant(out.new_error);
  meta["retrained_previous_holdout_error"] = FormatSignificant(out.old_error);
  meta["retrained_loss"] = FormatSignificant(tuned->training.history.back().loss);
  return out;
}

}  // namespace lstmad::core
