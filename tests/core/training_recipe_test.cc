// The training recipe (TrainAutoencoder, FineTuneAutoencoder, PlanTraining):
// what the returned model holds is recomputed here by hand from that model
// (scaler statistics, the validation windows' errors and their percentile),
// so the recipe is checked against arithmetic it did not do itself.
#include "lstmad/core/training_recipe.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <numeric>
#include <string>
#include <vector>

#include "lstmad/core/reconstruction.h"
#include "lstmad/core/windows.h"

namespace lstmad::core {
namespace {

// Two features: a sine and a slower triangle wave, 80 samples.
Matrix<double> Series(int samples = 80) {
  Matrix<double> series(2, samples);
  for (int i = 0; i < samples; ++i) {
    series(0, i) = 10.0 + 3.0 * std::sin(0.4 * i);
    series(1, i) = static_cast<double>(i % 9) * 0.5 - 1.0;
  }
  return series;
}

const std::vector<std::string> kNames = {"temperature", "pressure"};

TrainingRecipe SmallRecipe() {
  TrainingRecipe r;
  r.spec.timesteps = 5;
  r.spec.encoder_units = {4};
  r.spec.decoder_units = {4};
  r.spec.activation = Activation::kTanh;
  r.options.epochs = 4;
  r.options.batch_size = 8;
  r.options.validation_split = 0.25;
  r.seed = 7;
  return r;
}

// NumPy's default percentile, written out: rank p/100 * (n - 1) between the
// two neighbouring order statistics.
double HandPercentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const double rank = p / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (rank - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

// The scaled windows of `series` under `model`'s scaler, as scoring sees them.
WindowSet<float> ScaledWindows(const Model& model, const Matrix<double>& series) {
  Matrix<float> scaled = series.cast<float>();
  model.scaler.Transform(&scaled);
  return MakeWindows(scaled, model.architecture.timesteps);
}

std::vector<int> Range(int first, int end) {
  std::vector<int> out(static_cast<size_t>(end - first));
  std::iota(out.begin(), out.end(), first);
  return out;
}

TEST(TrainingRecipeTest, ThresholdIsThePercentileOfTheValidationWindowsErrors) {
  const Matrix<double> series = Series();
  const Result<TrainedModel> trained = TrainAutoencoder(series, kNames, SmallRecipe());
  ASSERT_TRUE(trained.ok()) << trained.status().message();
  // 80 - 5 + 1 = 76 windows; int(76 * 0.75) = 57 train, 19 validation.
  EXPECT_EQ(trained->windows, 76);
  EXPECT_EQ(trained->calibration_windows, 19);
  EXPECT_EQ(trained->training.validation_windows, Range(57, 76));
  const Model& model = trained->model;
  EXPECT_EQ(model.threshold_spec, "p99.5");
  Network<float> net = *model.MakeNetwork();
  const std::vector<double> errors =
      WindowErrors(net, ScaledWindows(model, series), Range(57, 76), model.error_options);
  EXPECT_DOUBLE_EQ(model.threshold, HandPercentile(errors, 99.5));
  EXPECT_EQ(model.metadata.at("threshold_windows"), "validation");
  EXPECT_EQ(model.metadata.at("validation_windows"), "19");
  EXPECT_EQ(model.metadata.at("windows"), "76");
}

TEST(TrainingRecipeTest, WithoutValidationTheThresholdComesFromTheTrainingWindows) {
  TrainingRecipe recipe = SmallRecipe();
  recipe.options.validation_split = 0;
  recipe.threshold = *ThresholdSpec::Parse("mean+2std");
  recipe.error_options.last_step_only = true;
  const Matrix<double> series = Series();
  const Result<TrainedModel> trained = TrainAutoencoder(series, kNames, recipe);
  ASSERT_TRUE(trained.ok()) << trained.status().message();
  const Model& model = trained->model;
  EXPECT_TRUE(model.error_options.last_step_only);
  EXPECT_EQ(trained->calibration_windows, 76);
  const std::vector<double> errors = WindowErrors(
      *model.MakeNetwork(), ScaledWindows(model, series), Range(0, 76), model.error_options);
  double mean = 0, var = 0;
  for (double e : errors) mean += e;
  mean /= static_cast<double>(errors.size());
  for (double e : errors) var += (e - mean) * (e - mean);
  var /= static_cast<double>(errors.size());
  EXPECT_NEAR(model.threshold, mean + 2 * std::sqrt(var), 1e-12 * std::max(1.0, mean));
  EXPECT_EQ(model.metadata.at("threshold_windows"), "training");
  EXPECT_EQ(model.metadata.at("val_loss"), "none");
}

TEST(TrainingRecipeTest, ScalerSeesOnlyTheTrainingWindowsSamples) {
  // The tail jumps by 1000: a scaler that saw it would have a huge mean.
  Matrix<double> series = Series();
  series.rightCols(19).array() += 1000.0;
  TrainingRecipe recipe = SmallRecipe();
  recipe.options.epochs = 1;
  const Result<TrainedModel> trained = TrainAutoencoder(series, kNames, recipe);
  ASSERT_TRUE(trained.ok()) << trained.status().message();
  // 57 training windows of 5 cover samples 0..60: 61 samples.
  const Scaler& scaler = trained->model.scaler;
  ASSERT_EQ(scaler.offset.size(), 2u);
  for (int f = 0; f < 2; ++f) {
    double mean = 0;
    for (int i = 0; i < 61; ++i) mean += series(f, i);
    mean /= 61;
    double var = 0;
    for (int i = 0; i < 61; ++i) var += (series(f, i) - mean) * (series(f, i) - mean);
    EXPECT_NEAR(scaler.offset[static_cast<size_t>(f)], mean, 1e-12);
    EXPECT_NEAR(scaler.scale[static_cast<size_t>(f)], std::sqrt(var / 61), 1e-12);
  }
}

TEST(TrainingRecipeTest, EarlyStoppingKeepsTheBestEpochsWeights) {
  TrainingRecipe recipe = SmallRecipe();
  recipe.options.epochs = 60;
  recipe.options.learning_rate = 0.05;  // large steps: val_loss soon stops improving
  recipe.options.patience = 2;
  const Matrix<double> series = Series();
  const Result<TrainedModel> trained = TrainAutoencoder(series, kNames, recipe);
  ASSERT_TRUE(trained.ok()) << trained.status().message();
  const TrainResult& t = trained->training;
  ASSERT_TRUE(t.stopped_early);
  ASSERT_LT(t.history.size(), 60u);
  // The run stops after `patience` epochs without a better val_loss.
  EXPECT_EQ(t.best_epoch, static_cast<int>(t.history.size()) - 2);
  const auto best = std::min_element(
      t.history.begin(), t.history.end(),
      [](const EpochReport& a, const EpochReport& b) { return a.val_loss < b.val_loss; });
  EXPECT_EQ(best->epoch, t.best_epoch);
  // The model's weights are the best epoch's: their validation MSE is that epoch's val_loss.
  const Model& model = trained->model;
  const std::vector<double> errors = WindowErrors(
      *model.MakeNetwork(), ScaledWindows(model, series), Range(57, 76), model.error_options);
  const double mse = std::accumulate(errors.begin(), errors.end(), 0.0) / 19.0;
  EXPECT_NEAR(mse, best->val_loss, 1e-5 * best->val_loss);
  EXPECT_NE(mse, t.history.back().val_loss);
  EXPECT_EQ(model.metadata.at("stopped_early"), "true");
  EXPECT_EQ(model.metadata.at("best_epoch"), std::to_string(t.best_epoch));
  EXPECT_EQ(model.metadata.at("epochs"), std::to_string(t.history.size()));
}

TEST(TrainingRecipeTest, TheCallbackSeesEveryEpoch) {
  std::vector<EpochReport> seen;
  const Result<TrainedModel> trained = TrainAutoencoder(
      Series(), kNames, SmallRecipe(), [&](const EpochReport& r) { seen.push_back(r); });
  ASSERT_TRUE(trained.ok()) << trained.status().message();
  ASSERT_EQ(seen.size(), 4u);
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].epoch, static_cast<int>(i) + 1);
    EXPECT_EQ(seen[i].epochs, 4);
    EXPECT_EQ(seen[i].loss, trained->training.history[i].loss);
    EXPECT_EQ(seen[i].val_loss, trained->training.history[i].val_loss);
  }
}

TEST(TrainingRecipeTest, ASeedDeterminesTheRun) {
  const Result<TrainedModel> a = TrainAutoencoder(Series(), kNames, SmallRecipe());
  const Result<TrainedModel> b = TrainAutoencoder(Series(), kNames, SmallRecipe());
  TrainingRecipe other = SmallRecipe();
  other.seed = 8;
  const Result<TrainedModel> c = TrainAutoencoder(Series(), kNames, other);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->model.weights.layers[0][0], b->model.weights.layers[0][0]);
  EXPECT_EQ(a->model.threshold, b->model.threshold);
  EXPECT_NE(a->model.weights.layers[0][0], c->model.weights.layers[0][0]);
}

TEST(TrainingRecipeTest, MetadataRecordsTheRecipe) {
  TrainingRecipe recipe = SmallRecipe();
  recipe.options.learning_rate = 0.0012345678;
  const Result<TrainedModel> trained = TrainAutoencoder(Series(), kNames, recipe);
  ASSERT_TRUE(trained.ok()) << trained.status().message();
  const auto& meta = trained->model.metadata;
  EXPECT_EQ(meta.at("learning_rate"), "0.0012345678");  // exact: the retrainer reads it back
  recipe.options.learning_rate = 0.0005;
  EXPECT_EQ(TrainAutoencoder(Series(), kNames, recipe)->model.metadata.at("learning_rate"), "0.0005");
  EXPECT_EQ(meta.at("batch_size"), "8");
  EXPECT_EQ(meta.at("seed"), "7");
  EXPECT_EQ(meta.at("stopped_early"), "false");
  char loss[32];
  std::snprintf(loss, sizeof loss, "%.6g", trained->training.history.back().loss);
  EXPECT_EQ(meta.at("loss"), loss);
  EXPECT_EQ(trained->model.feature_names, kNames);
  EXPECT_EQ(meta.size(), 11u);
}

TEST(TrainingRecipeTest, ErrorsNameTheBadInput) {
  auto message = [](const Matrix<double>& series, const std::vector<std::string>& names,
                    const TrainingRecipe& recipe) {
    const Result<TrainedModel> r = TrainAutoencoder(series, names, recipe);
    return r.ok() ? std::string("ok") : r.status().message();
  };
  TrainingRecipe recipe = SmallRecipe();
  EXPECT_EQ(message(Series(4), kNames, recipe), "4 samples, fewer than the lookback 5");
  EXPECT_EQ(message(Series(), {"temperature"}, recipe),
            "1 feature names for a series of 2 features");
  Matrix<double> holed = Series();
  holed(1, 33) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(message(holed, kNames, recipe), "sample 33 of feature \"pressure\" is not finite");
  recipe.options.validation_split = 0.9;
  EXPECT_EQ(message(Series(5), kNames, recipe),
            "5 samples hold no training windows of length 5 after a validation split of 0.9");
  recipe.options.validation_split = 1.5;
  EXPECT_EQ(message(Series(), kNames, recipe), "validation split 1.5 is not in [0, 1)");
  recipe = SmallRecipe();
  recipe.spec.timesteps = 0;
  EXPECT_EQ(message(Series(), kNames, recipe), "lookback 0 is not positive");
  recipe = SmallRecipe();
  recipe.spec.encoder_units = {4, 0};
  EXPECT_NE(message(Series(), kNames, recipe), "ok");
  recipe = SmallRecipe();
  recipe.options.cancelled = [] { return true; };
  EXPECT_EQ(message(Series(), kNames, recipe), "training cancelled in epoch 1");
}

// Samples an hour apart from 2024-01-01 00:00 UTC.
std::vector<double> Hourly(int samples) {
  std::vector<double> seconds(static_cast<size_t>(samples));
  for (int i = 0; i < samples; ++i) seconds[static_cast<size_t>(i)] = 1704067200.0 + 3600.0 * i;
  return seconds;
}

TEST(TrainingRecipeTest, TimeFeaturesAreInputsThatTheErrorDoesNotCount) {
  TrainingRecipe recipe = SmallRecipe();
  recipe.time_features = TimeFeatures::Parse("daily,weekly").value();
  const Matrix<double> series = Series();
  const std::vector<double> seconds = Hourly(80);
  const Result<TrainedModel> trained = TrainAutoencoder(series, kNames, recipe, {}, seconds);
  ASSERT_TRUE(trained.ok()) << trained.status().message();
  const Model& model = trained->model;
  EXPECT_EQ(model.architecture.features, 6);  // 2 features + 2 cycles x (sin, cos)
  EXPECT_EQ(model.feature_names, kNames);
  EXPECT_EQ(model.scaler.offset.size(), 2u);
  EXPECT_EQ(model.time_features.ToString(), "daily,weekly");
  EXPECT_EQ(model.error_options.scored_features, 2);
  // The inputs by hand: the scaled features, then the time rows unscaled.
  Matrix<float> inputs(6, 80);
  inputs.topRows(2) = series.cast<float>();
  model.scaler.Transform(&inputs);
  for (int i = 0; i < 80; ++i) {
    const double angle_day =
        2 * std::numbers::pi * std::fmod(seconds[static_cast<size_t>(i)], 86400.0) / 86400.0;
    const double angle_week =
        2 * std::numbers::pi * std::fmod(seconds[static_cast<size_t>(i)], 604800.0) / 604800.0;
    inputs(2, i) = static_cast<float>(std::sin(angle_day));
    inputs(3, i) = static_cast<float>(std::cos(angle_day));
    inputs(4, i) = static_cast<float>(std::sin(angle_week));
    inputs(5, i) = static_cast<float>(std::cos(angle_week));
  }
  const WindowSet<float> windows = MakeWindows(inputs, 5);
  Network<float> net = *model.MakeNetwork();
  // Each validation window's error over the two series features only.
  std::vector<double> errors;
  Network<float>::Workspace workspace;
  Matrix<float> in, out;
  for (int w = 57; w < 76; ++w) {
    GatherBatch(windows, &w, 1, &in);
    net.Forward(in, 1, &workspace, &out);
    errors.push_back((in.topRows(2) - out.topRows(2)).cwiseAbs2().mean());
  }
  EXPECT_NEAR(model.threshold, HandPercentile(errors, 99.5), 1e-6 * model.threshold);
}

TEST(TrainingRecipeTest, TimeFeaturesNeedATimePerSample) {
  TrainingRecipe recipe = SmallRecipe();
  recipe.time_features = TimeFeatures::Parse("daily").value();
  const Result<TrainedModel> none = TrainAutoencoder(Series(), kNames, recipe);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().message(),
            "time features (daily) need one time per sample: 0 times for 80 samples");
  std::vector<double> seconds = Hourly(80);
  seconds[12] = std::numeric_limits<double>::infinity();
  const Result<TrainedModel> inf = TrainAutoencoder(Series(), kNames, recipe, {}, seconds);
  ASSERT_FALSE(inf.ok());
  EXPECT_EQ(inf.status().message(), "the time of sample 12 is not finite");
  const Result<TrainingPlan> plan = PlanTraining(recipe, 2, 80);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->architecture.features, 4);
}

TEST(TrainingRecipeTest, PlanMatchesWhatTrainingDoes) {
  const Result<TrainingPlan> plan = PlanTraining(SmallRecipe(), 2, 80);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  EXPECT_EQ(plan->windows, 76);
  EXPECT_EQ(plan->train_windows, 57);
  EXPECT_EQ(plan->scaler_samples, 61);
  EXPECT_EQ(plan->architecture.features, 2);
  EXPECT_EQ(plan->architecture.timesteps, 5);
}

// A model trained on the series, and its raw windows, for the warm start.
struct Started {
  Model model;
  WindowSet<float> raw;
};

Started StartedModel() {
  TrainingRecipe recipe = SmallRecipe();
  recipe.options.epochs = 2;
  Started s{TrainAutoencoder(Series(), kNames, recipe)->model,
            MakeWindows<float>(Series().cast<float>(), 5)};
  return s;
}

TEST(TrainingRecipeTest, FineTuningKeepsTheScalerAndRecalibratesTheThreshold) {
  const Started s = StartedModel();
  FineTuneRecipe recipe;
  recipe.options.epochs = 2;
  recipe.options.batch_size = 8;
  recipe.options.validation_split = 0;
  const Result<TrainedModel> tuned = FineTuneAutoencoder(s.model, s.raw, recipe);
  ASSERT_TRUE(tuned.ok()) << tuned.status().message();
  const Model& model = tuned->model;
  EXPECT_EQ(model.scaler.offset, s.model.scaler.offset);
  EXPECT_EQ(model.scaler.scale, s.model.scaler.scale);
  EXPECT_EQ(model.metadata, s.model.metadata);
  EXPECT_NE(model.weights.layers[0][0], s.model.weights.layers[0][0]);
  ASSERT_TRUE(tuned->threshold_calibrated);
  EXPECT_EQ(tuned->calibration_windows, 76);
  const std::vector<double> errors = WindowErrors(
      *model.MakeNetwork(), ScaledWindows(model, Series()), Range(0, 76), model.error_options);
  EXPECT_DOUBLE_EQ(model.threshold, HandPercentile(errors, 99.5));
}

TEST(TrainingRecipeTest, FineTuningKeepsAThresholdWhoseSpecItCannotRecompute) {
  Started s = StartedModel();
  s.model.threshold_spec = "imported";
  s.model.threshold = 0.125;
  FineTuneRecipe recipe;
  recipe.options.epochs = 1;
  const Result<TrainedModel> tuned = FineTuneAutoencoder(s.model, s.raw, recipe);
  ASSERT_TRUE(tuned.ok()) << tuned.status().message();
  EXPECT_FALSE(tuned->threshold_calibrated);
  EXPECT_EQ(tuned->model.threshold, 0.125);
  EXPECT_EQ(tuned->calibration_windows, 0);
}

TEST(TrainingRecipeTest, FineTuningAModelWithTimeFeaturesTrainsOnItsWholeInputs) {
  // What the daemon's retrainer and evaluate's relearning hand over: raw
  // windows of the features followed by the time inputs.
  TrainingRecipe start = SmallRecipe();
  start.time_features = TimeFeatures::Parse("daily").value();
  const std::vector<double> seconds = Hourly(80);
  const Result<TrainedModel> trained = TrainAutoencoder(Series(), kNames, start, {}, seconds);
  ASSERT_TRUE(trained.ok()) << trained.status().message();
  const Matrix<float> raw_series =
      AppendTimeInputs<float>(Series().cast<float>(), start.time_features, seconds);
  FineTuneRecipe recipe;
  recipe.options.epochs = 2;
  recipe.options.batch_size = 8;
  recipe.options.validation_split = 0;
  const Result<TrainedModel> tuned = FineTuneAutoencoder(trained->model, MakeWindows(raw_series, 5), recipe);
  ASSERT_TRUE(tuned.ok()) << tuned.status().message();
  const Model& model = tuned->model;
  EXPECT_EQ(model.time_features, start.time_features);
  EXPECT_EQ(model.error_options.scored_features, 2);
  EXPECT_EQ(model.scaler.offset, trained->model.scaler.offset);
  // The threshold from the features' errors, the time rows left unscaled.
  Matrix<float> scaled = raw_series;
  model.scaler.Transform(&scaled);
  EXPECT_EQ(Matrix<float>(scaled.bottomRows(2)), Matrix<float>(raw_series.bottomRows(2)));
  const std::vector<double> errors =
      WindowErrors(*model.MakeNetwork(), MakeWindows(scaled, 5), Range(0, 76), model.error_options);
  EXPECT_DOUBLE_EQ(model.threshold, HandPercentile(errors, 99.5));
  // Windows without the time inputs do not fit the model.
  EXPECT_FALSE(FineTuneAutoencoder(model, ScaledWindows(model, Series()), recipe).ok());
}

TEST(TrainingRecipeTest, FineTuningRefusesWindowsOfAnotherShape) {
  const Started s = StartedModel();
  const Result<TrainedModel> tuned =
      FineTuneAutoencoder(s.model, MakeWindows<float>(Series().cast<float>(), 6), FineTuneRecipe());
  ASSERT_FALSE(tuned.ok());
  EXPECT_EQ(tuned.status().message(), "windows of 6 x 2 for a model of 5 x 2");
}

}  // namespace
}  // namespace lstmad::core
