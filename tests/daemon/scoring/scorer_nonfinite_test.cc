// The scorer on windows whose reconstruction error overflows (issue 18: one
// value far beyond training made a stream's detector NaN for good): such a
// window counts as anomalous, is counted in lstmad_windows_nonfinite_total,
// stays out of the error histogram and the stream's detector, and the next
// finite window is judged as on a stream that never saw it.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "daemon/support/tiny_model.h"
#include "lstmad/core/initializers.h"
#include "scoring/scorer.h"

namespace lstmad::daemon {
namespace {

using testing::kLookback;

// Records what the worker decided, per window, in scoring order.
class VerdictRecorder : public ScoreObserver {
 public:
  void OnScored(const ModelRuntime&, const WindowJob* const*, const float* scored_errors,
                const uint8_t* verdicts, int count) override {
    for (int b = 0; b < count; ++b) {
      errors.push_back(scored_errors[b]);
      anomalous.push_back(verdicts[b] & kVerdictAnomalous);
    }
  }
  std::vector<float> errors;
  std::vector<uint8_t> anomalous;
};

// The tiny untrained model of the ingest tests, with threshold 1 and
// `detector` deciding.
std::shared_ptr<const ModelRuntime> TinyModel(Metrics* metrics, bool detector) {
  core::AutoencoderSpec spec;
  spec.timesteps = kLookback;
  spec.features = 2;
  spec.encoder_units = {4};
  spec.decoder_units = {4};
  core::Model model;
  model.architecture = *core::BuildAutoencoder(spec);
  model.feature_names = {"a", "b"};
  model.scaler = core::Scaler::Identity(2);
  model.threshold = 1.0;
  model.weights = core::InitializeWeights<float>(model.architecture, 7);
  auto network = model.MakeNetwork();
  EXPECT_TRUE(network.ok());
  config::ModelSettings settings;
  settings.name = settings.measurement = "pump";
  settings.alert = {1, 1};
  if (!detector) {
    settings.detector.anomaly_score = false;
    settings.detector.options.threshold = core::ThresholdMode::kFixed;
  }
  auto runtime = std::make_shared<ModelRuntime>(
      ModelRuntime{settings, std::move(model), std::move(network).value(), 1.0, {}, 1});
  RegisterMetrics(runtime.get(), metrics);
  return runtime;
}

class ScorerNonFiniteTest : public ::testing::TestWithParam<bool> {
 protected:
  ScorerNonFiniteTest() : model_(TinyModel(&metrics_, GetParam())) {
    settings_.workers = 1;
    settings_.max_wait_ms = 0;
    scorer_ = std::make_unique<Scorer>(settings_, &metrics_);
    scorer_->SetObserver(&recorder_);
  }
  ~ScorerNonFiniteTest() override { scorer_.reset(); }

  StreamScoringState* Stream(uint32_t id, const std::string& key) {
    StreamScoringState* s = states_->GetOrCreate(id, key);
    if (s->metrics.reconstruction_error == nullptr) {
      s->metrics = metrics_.ForStream("pump", key, model_->settings.detector.anomaly_score);
    }
    return s;
  }

  // A window of small values, with `newest_a` as feature a's newest value.
  void Score(StreamScoringState* stream, float newest_a) {
    WindowJob job;
    job.model = model_;
    job.states = states_;
    job.stream = stream;
    job.window.assign(static_cast<size_t>(kLookback * 2), 0.1f);
    job.window[static_cast<size_t>((kLookback - 1) * 2)] = newest_a;
    job.arrived = std::chrono::steady_clock::now();
    scorer_->Submit(std::move(job));
    scorer_->Drain();
  }

  bool Exported(const std::string& series) const {
    return metrics_.Scrape().find(series + "\n") != std::string::npos;
  }

  config::ScoringSettings settings_;
  Metrics metrics_{"test"};
  std::shared_ptr<const ModelRuntime> model_;
  std::shared_ptr<StreamStates> states_ = std::make_shared<StreamStates>();
  VerdictRecorder recorder_;
  std::unique_ptr<Scorer> scorer_;
};

TEST_P(ScorerNonFiniteTest, AnOverflowedWindowIsAnAnomalyThatLeavesNoTrace) {
  StreamScoringState* clean = Stream(0, "pump,id=clean");
  StreamScoringState* attacked = Stream(1, "pump,id=attacked");
  Score(clean, 0.2f);
  Score(attacked, 0.2f);
  Score(attacked, 1e20f);  // (1e20 - reconstruction)^2 overflows float: error +inf
  Score(attacked, 3e19f);
  Score(clean, 0.3f);
  Score(attacked, 0.3f);
  ASSERT_EQ(recorder_.errors.size(), 6u);
  EXPECT_TRUE(std::isinf(recorder_.errors[2]));
  EXPECT_TRUE(std::isinf(recorder_.errors[3]));
  EXPECT_EQ(recorder_.anomalous, (std::vector<uint8_t>{0, 0, 1, 1, 0, 0}));
  // The finite windows after the attack score as on the clean stream.
  EXPECT_EQ(recorder_.errors[4], recorder_.errors[5]);

  EXPECT_TRUE(Exported("lstmad_windows_scored_total{model=\"pump\"} 6"));
  EXPECT_TRUE(Exported("lstmad_windows_nonfinite_total{model=\"pump\"} 2"));
  // The histogram saw only the four finite errors; its sum stays a number.
  EXPECT_TRUE(Exported("lstmad_reconstruction_error_count{model=\"pump\"} 4"));
  const std::string scrape = metrics_.Scrape();
  const size_t sum = scrape.find("lstmad_reconstruction_error_sum{model=\"pump\"} ");
  ASSERT_NE(sum, std::string::npos);
  const double value = std::stod(scrape.substr(sum + 46));
  EXPECT_TRUE(std::isfinite(value)) << value;
  // The alert (for: 1, clear: 1) fired on the attack and resolved after it.
  EXPECT_TRUE(Exported("lstmad_stream_anomalies_total{id=\"attacked\",model=\"pump\",stream=\"pump,id=attacked\"} 1"));
  EXPECT_TRUE(Exported("lstmad_stream_anomalous{id=\"attacked\",model=\"pump\",stream=\"pump,id=attacked\"} 0"));

  if (GetParam()) {
    ASSERT_TRUE(attacked->detector.has_value());
    // The detector learnt from the same two windows on both streams, and its
    // state (no NaN in it) restores.
    EXPECT_EQ(attacked->detector->likelihood().history_count(),
              clean->detector->likelihood().history_count());
    core::StreamDetector restored(model_->settings.detector.options, 1.0, kLookback);
    EXPECT_TRUE(restored.RestoreState(attacked->detector->SaveState()).ok());
  }
}

TEST_P(ScorerNonFiniteTest, TheStreamGaugeShowsAnOverflowAsInfinity) {
  StreamScoringState* s = Stream(0, "pump,id=x");
  Score(s, 1e20f);
  EXPECT_TRUE(Exported("lstmad_stream_reconstruction_error{id=\"x\",model=\"pump\",stream=\"pump,id=x\"} +Inf"));
  Score(s, 0.2f);
  EXPECT_FALSE(Exported("lstmad_stream_reconstruction_error{id=\"x\",model=\"pump\",stream=\"pump,id=x\"} +Inf"));
}

INSTANTIATE_TEST_SUITE_P(DetectorOrFixed, ScorerNonFiniteTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param) {
                           return param.param ? "Detector" : "FixedThreshold";
                         });

}  // namespace
}  // namespace lstmad::daemon
