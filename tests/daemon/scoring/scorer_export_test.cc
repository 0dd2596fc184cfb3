// The scorer's per-feature series (models[].export): the observed value is
// the window's newest sample, the expected value the network's reconstruction
// of it in the feature's own units (recomputed here with the network and
// scaler directly, not through the scorer), the band the stream's residual
// spread before the window times k, and the error share each feature's part
// of the window's error; the series go away with the stream.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "daemon/support/tiny_model.h"
#include "lstmad/core/initializers.h"
#include "lstmad/core/reconstruction.h"
#include "scoring/scorer.h"

namespace lstmad::daemon {
namespace {

using testing::kLookback;

constexpr int kFeatures = 2;

std::shared_ptr<const ModelRuntime> ExportingModel(Metrics* metrics, config::ExportSettings exports) {
  core::AutoencoderSpec spec;
  spec.timesteps = kLookback;
  spec.features = kFeatures;
  spec.encoder_units = {4};
  spec.decoder_units = {4};
  core::Model model;
  model.architecture = *core::BuildAutoencoder(spec);
  model.feature_names = {"flow", "pressure"};
  // A scaler that is not the identity, so that unscaling shows.
  model.scaler.kind = core::ScalerKind::kStandard;
  model.scaler.offset = {10.0, -4.0};
  model.scaler.scale = {2.0, 0.5};
  model.threshold = 1e9;
  model.weights = core::InitializeWeights<float>(model.architecture, 11);
  auto network = model.MakeNetwork();
  EXPECT_TRUE(network.ok());
  config::ModelSettings settings;
  settings.name = settings.measurement = "pump";
  settings.detector.anomaly_score = false;
  settings.detector.options.threshold = core::ThresholdMode::kFixed;
  settings.exports = exports;
  auto runtime = std::make_shared<ModelRuntime>(
      ModelRuntime{settings, std::move(model), std::move(network).value(), 1e9, {}, 1});
  RegisterMetrics(runtime.get(), metrics);
  return runtime;
}

// What the network makes of one window, computed without the scorer: the
// newest step's reconstruction in raw units, and the per-feature errors.
struct Reference {
  std::vector<double> expected;
  std::vector<double> per_feature;
};

Reference Reconstruct(const ModelRuntime& model, const std::vector<float>& window) {
  core::Matrix<float> input(kFeatures, kLookback);
  for (int t = 0; t < kLookback; ++t) {
    for (int f = 0; f < kFeatures; ++f) input(f, t) = window[static_cast<size_t>(t * kFeatures + f)];
  }
  model.model.scaler.Transform(&input);
  core::Network<float>::Workspace workspace;
  core::Matrix<float> output;
  model.network.Forward(input, 1, &workspace, &output);
  core::Vector<float> errors;
  core::Matrix<float> per_feature;
  core::ReconstructionErrors(input, output, kLookback, 1, model.model.error_options, &errors, &per_feature);
  core::Matrix<float> newest = output.col(kLookback - 1);
  model.model.scaler.Inverse(&newest);
  Reference r;
  for (int f = 0; f < kFeatures; ++f) {
    r.expected.push_back(newest(f, 0));
    r.per_feature.push_back(per_feature(f, 0));
  }
  return r;
}

class ScorerExportTest : public ::testing::Test {
 protected:
  void Start(config::ExportSettings exports) {
    model_ = ExportingModel(&metrics_, exports);
    settings_.workers = 1;
    settings_.max_wait_ms = 0;
    scorer_ = std::make_unique<Scorer>(settings_, &metrics_);
  }
  ~ScorerExportTest() override { scorer_.reset(); }

  StreamScoringState* Stream(uint32_t id, const std::string& key) {
    StreamScoringState* s = states_->GetOrCreate(id, key);
    if (s->metrics.reconstruction_error == nullptr) {
      const config::ExportSettings& e = model_->settings.exports;
      s->metrics = metrics_.ForStream(
          "pump", key, false,
          StreamExport{&model_->model.feature_names, e.observed, e.expected, e.band, e.error_share});
    }
    return s;
  }

  void Score(StreamScoringState* stream, const std::vector<float>& window) {
    WindowJob job;
    job.model = model_;
    job.states = states_;
    job.stream = stream;
    job.window = window;
    job.arrived = std::chrono::steady_clock::now();
    scorer_->Submit(std::move(job));
    scorer_->Drain();
  }

  // The value of the one series named `name` with feature="`feature`".
  double Value(const std::string& name, const std::string& feature) const {
    const std::string prefix =
        name + "{feature=\"" + feature + "\",model=\"pump\",pump=\"p1\",stream=\"pump,pump=p1\"} ";
    const std::string scrape = metrics_.Scrape();
    const size_t at = scrape.find(prefix);
    EXPECT_NE(at, std::string::npos) << prefix << "\n" << scrape;
    if (at == std::string::npos) return std::nan("");
    return std::stod(scrape.substr(at + prefix.size()));
  }

  config::ScoringSettings settings_;
  Metrics metrics_{"test"};
  std::shared_ptr<const ModelRuntime> model_;
  std::shared_ptr<StreamStates> states_ = std::make_shared<StreamStates>();
  std::unique_ptr<Scorer> scorer_;
};

std::vector<float> Window(float base) {
  std::vector<float> w;
  for (int t = 0; t < kLookback; ++t) {
    w.push_back(base + static_cast<float>(t));           // flow
    w.push_back(-3.0f - 0.25f * static_cast<float>(t));  // pressure
  }
  return w;
}

// Prometheus' text format prints doubles with full precision, so the values
// read back equal the doubles set.
TEST_F(ScorerExportTest, ObservedExpectedBandAndShareFollowTheirDefinitions) {
  config::ExportSettings exports;
  exports.observed = exports.expected = exports.band = exports.error_share = true;
  exports.band_sigmas = 2.5;
  Start(exports);
  StreamScoringState* s = Stream(0, "pump,pump=p1");
  const std::vector<std::vector<float>> windows = {Window(9.0f), Window(12.0f), Window(7.5f)};
  std::vector<double> mean_square(kFeatures, 0.0);
  for (size_t w = 0; w < windows.size(); ++w) {
    Score(s, windows[w]);
    const Reference ref = Reconstruct(*model_, windows[w]);
    const double total = ref.per_feature[0] + ref.per_feature[1];
    for (int f = 0; f < kFeatures; ++f) {
      const auto i = static_cast<size_t>(f);
      const std::string name = model_->model.feature_names[i];
      const double observed = windows[w][static_cast<size_t>((kLookback - 1) * kFeatures + f)];
      SCOPED_TRACE("window " + std::to_string(w) + " feature " + name);
      EXPECT_EQ(Value("lstmad_stream_feature_observed", name), observed);
      EXPECT_NEAR(Value("lstmad_stream_feature_expected", name), ref.expected[i], 1e-5);
      // The band of window w is the spread of windows before it: none for the first.
      const double half = 2.5 * std::sqrt(mean_square[i]);
      EXPECT_NEAR(Value("lstmad_stream_feature_expected_lower", name), ref.expected[i] - half, 1e-4);
      EXPECT_NEAR(Value("lstmad_stream_feature_expected_upper", name), ref.expected[i] + half, 1e-4);
      EXPECT_NEAR(Value("lstmad_stream_feature_error_share", name), ref.per_feature[i] / total, 1e-6);
      const double r = observed - ref.expected[i];
      mean_square[i] = w == 0 ? r * r : mean_square[i] + (r * r - mean_square[i]) / 64;
    }
  }
  EXPECT_NEAR(Value("lstmad_stream_feature_error_share", "flow") +
                  Value("lstmad_stream_feature_error_share", "pressure"),
              1.0, 1e-12);
}

TEST_F(ScorerExportTest, OnlyTheListedKindsAreExportedAndTheyGoWithTheStream) {
  config::ExportSettings exports;
  exports.expected = true;
  Start(exports);
  StreamScoringState* s = Stream(0, "pump,pump=p1");
  Score(s, Window(9.0f));
  const std::string scrape = metrics_.Scrape();
  EXPECT_NE(scrape.find("lstmad_stream_feature_expected{feature=\"flow\""), std::string::npos);
  EXPECT_NE(scrape.find("lstmad_stream_feature_expected{feature=\"pressure\""), std::string::npos);
  EXPECT_EQ(scrape.find("lstmad_stream_feature_observed"), std::string::npos);
  EXPECT_EQ(scrape.find("lstmad_stream_feature_expected_lower"), std::string::npos);
  EXPECT_EQ(scrape.find("lstmad_stream_feature_error_share"), std::string::npos);

  DroppedStreams dropped;
  dropped.model = "pump";
  dropped.reason = "stream_expired";
  dropped.streams = 1;
  dropped.states = states_;
  scorer_->Retire(dropped);
  EXPECT_EQ(metrics_.Scrape().find("lstmad_stream_feature"), std::string::npos);
}

TEST_F(ScorerExportTest, WithoutExportNoStreamHasFeatureSeries) {
  Start(config::ExportSettings{});
  Score(Stream(0, "pump,pump=p1"), Window(9.0f));
  EXPECT_EQ(metrics_.Scrape().find("lstmad_stream_feature"), std::string::npos);
  EXPECT_TRUE(states_->Find(0)->residual_mean_square.empty());
}

}  // namespace
}  // namespace lstmad::daemon
