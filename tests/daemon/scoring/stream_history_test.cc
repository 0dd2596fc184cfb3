// The web console's per-stream history (scoring/stream_history.h): a fixed
// ring of the last N windows, a bounded alert record, a registry that
// forgets a stream when its state goes, and the scorer's recording of each
// scored window (observed, reconstructed, per-feature error, verdict).
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "lstmad/core/initializers.h"
#include "scoring/scorer.h"
#include "scoring/stream_history.h"

namespace lstmad::daemon {
namespace {

HistoryPoint Point(int64_t end_ns, double error) { return HistoryPoint{end_ns, error, 1.0, error > 1.0}; }

TEST(StreamHistoryTest, KeepsTheLastCapacityWindowsOldestFirst) {
  HistoryRegistry registry(3);
  auto history = registry.Create("pump", "pump,id=1", 2, 2);
  for (int i = 1; i <= 5; ++i) {
    const float observed[] = {static_cast<float>(i), static_cast<float>(10 * i)};
    const float reconstructed[] = {static_cast<float>(-i), static_cast<float>(-10 * i)};
    const float errors[] = {0.5f * static_cast<float>(i), 0.25f};
    history->Record(Point(i, i), observed, reconstructed, errors);
  }
  const HistoryCopy copy = history->Copy();
  ASSERT_EQ(copy.points.size(), 3u);
  EXPECT_EQ(copy.windows, 5u);
  EXPECT_EQ(copy.points[0].end_ns, 3);
  EXPECT_EQ(copy.points[2].end_ns, 5);
  EXPECT_EQ(copy.observed, (std::vector<float>{3, 30, 4, 40, 5, 50}));
  EXPECT_EQ(copy.reconstructed, (std::vector<float>{-3, -30, -4, -40, -5, -50}));
  EXPECT_EQ(copy.feature_error, (std::vector<float>{1.5f, 0.25f, 2, 0.25f, 2.5f, 0.25f}));
  EXPECT_EQ(history->Latest().point.end_ns, 5);
  EXPECT_EQ(history->Latest().windows, 5u);
  const auto last2 = history->LastPoints(2);
  ASSERT_EQ(last2.size(), 2u);
  EXPECT_EQ(last2[0].end_ns, 4);
  EXPECT_EQ(last2[1].end_ns, 5);
  EXPECT_EQ(history->LastPoints(10).size(), 3u);
}

TEST(StreamHistoryTest, AnEmptyHistoryCopiesNothing) {
  HistoryRegistry registry(4);
  auto history = registry.Create("pump", "k", 1, 1);
  EXPECT_TRUE(history->Copy().points.empty());
  EXPECT_EQ(history->Latest().windows, 0u);
  EXPECT_TRUE(history->LastPoints(3).empty());
}

TEST(StreamHistoryTest, AlertRecordIsBoundedAndTracksFiring) {
  HistoryRegistry registry(2);
  auto history = registry.Create("pump", "k", 1, 1);
  for (size_t i = 0; i < StreamHistory::kMaxAlerts + 5; ++i) {
    AlertEvent event;
    event.kind = i % 2 == 0 ? "fired" : "resolved";
    event.time_ns = static_cast<int64_t>(i);
    history->RecordAlert(event);
  }
  // 25 events, 0-based: the last (24) fired.
  const HistoryCopy copy = history->Copy();
  ASSERT_EQ(copy.alerts.size(), StreamHistory::kMaxAlerts);
  EXPECT_EQ(copy.alerts.front().time_ns, 5);
  EXPECT_EQ(copy.alerts.back().time_ns, 24);
  EXPECT_TRUE(copy.firing);
  EXPECT_EQ(history->Latest().fired_ns, 24);
  ASSERT_TRUE(history->ActiveAlert().has_value());
  AlertEvent resolved;
  resolved.kind = "resolved";
  history->RecordAlert(resolved);
  EXPECT_FALSE(history->Latest().firing);
  EXPECT_FALSE(history->ActiveAlert().has_value());
}

TEST(StreamHistoryTest, RegistryForgetsAHistoryWhenItsOwnerDropsIt) {
  HistoryRegistry registry(2);
  auto a = registry.Create("pump", "a", 1, 1);
  auto b = registry.Create("pump", "b", 1, 1);
  EXPECT_EQ(registry.List().size(), 2u);
  a.reset();
  const auto listed = registry.List();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0]->key(), "b");
  EXPECT_EQ(registry.size(), 1u);
}

TEST(StreamHistoryTest, BytesPerStreamFollowTheRing) {
  // 120 windows of 4 features, all scored: a point plus 3 floats per feature each.
  EXPECT_EQ(HistoryBytesPerStream(120, 4, 4) - HistoryBytesPerStream(0, 4, 4),
            120 * (sizeof(HistoryPoint) + 12 * sizeof(float)));
}

// The scorer records each scored window of a stream: its newest sample, the
// reconstruction in raw units, the error and the verdict; retiring the
// stream removes its history.
TEST(StreamHistoryTest, ScorerRecordsEveryWindowAndRetireForgetsIt) {
  constexpr int kTimesteps = 3;
  core::AutoencoderSpec spec;
  spec.timesteps = kTimesteps;
  spec.features = 2;
  spec.encoder_units = {4};
  spec.decoder_units = {4};
  core::Model model;
  model.architecture = *core::BuildAutoencoder(spec);
  model.feature_names = {"a", "b"};
  model.scaler = core::Scaler::Identity(2);
  model.threshold = 0;  // every window above: the alert fires on the first
  model.weights = core::InitializeWeights<float>(model.architecture, 7);
  auto network = model.MakeNetwork();
  ASSERT_TRUE(network.ok());
  config::ModelSettings settings;
  settings.name = settings.measurement = "pump";
  settings.alert = {1, 1};
  settings.detector.anomaly_score = false;
  settings.detector.options.threshold = core::ThresholdMode::kFixed;
  Metrics metrics{"test"};
  auto runtime = std::make_shared<ModelRuntime>(
      ModelRuntime{settings, std::move(model), std::move(network).value(), 0.0, {}, 1});
  RegisterMetrics(runtime.get(), &metrics);

  HistoryRegistry registry(8);
  config::ScoringSettings scoring;
  scoring.max_wait_ms = 0;
  Scorer scorer(scoring, &metrics);
  scorer.SetHistory(&registry);
  auto states = std::make_shared<StreamStates>();
  StreamScoringState* stream = states->GetOrCreate(0, "pump,id=1");
  stream->metrics = metrics.ForStream("pump", "pump,id=1", false);
  for (int w = 0; w < 3; ++w) {
    WindowJob job;
    job.model = runtime;
    job.states = states;
    job.stream = stream;
    job.window = {0.1f, 0.2f, 0.3f, 0.4f, static_cast<float>(w), 7.0f};
    job.end_ns = 100 + w;
    job.arrived = std::chrono::steady_clock::now();
    scorer.Submit(std::move(job));
    scorer.Drain();
  }
  ASSERT_EQ(registry.List().size(), 1u);
  const HistoryCopy copy = registry.List()[0]->Copy();
  EXPECT_EQ(copy.model, "pump");
  EXPECT_EQ(copy.key, "pump,id=1");
  ASSERT_EQ(copy.points.size(), 3u);
  EXPECT_EQ(copy.points[2].end_ns, 102);
  EXPECT_TRUE(copy.points[2].above);
  EXPECT_EQ(copy.points[2].threshold, 0.0);
  EXPECT_GT(copy.points[2].error, 0.0);
  // Newest sample of the last window, raw units.
  EXPECT_EQ(copy.observed[4], 2.0f);
  EXPECT_EQ(copy.observed[5], 7.0f);
  // Per-feature errors average to the window's error (MSE over features).
  const double mean = (copy.feature_error[4] + copy.feature_error[5]) / 2.0;
  EXPECT_NEAR(mean, copy.points[2].error, 1e-5 * std::max(1.0, copy.points[2].error));
  EXPECT_TRUE(std::isfinite(copy.reconstructed[4]));
  // The first window fired the alert (for: 1).
  ASSERT_EQ(copy.alerts.size(), 1u);
  EXPECT_EQ(copy.alerts[0].kind, "fired");
  EXPECT_TRUE(copy.firing);

  DroppedStreams dropped;
  dropped.model = "pump";
  dropped.reason = "stream_expired";
  dropped.streams = 1;
  dropped.states = states;
  scorer.Retire(dropped);
  EXPECT_TRUE(registry.List().empty());
}

}  // namespace
}  // namespace lstmad::daemon
