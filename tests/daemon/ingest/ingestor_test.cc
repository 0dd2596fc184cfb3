// Ingestor + Scorer without sockets: lines become streams and scored windows;
// Forget drops exactly the selected streams and keeps the others' windows,
// scored state and metric series; Save/Restore round-trips every stream; a
// window refused by a full queue (overflow: block) waits with its sender and
// is scored once there is room. Streams dropped by a reload that reshapes
// their model, or by expiry, come back for Scorer::Retire, which resolves
// their firing alerts (with the reason) and removes their series. A model with time features gets each
// sample's time inputs in its windows, and an error over its features only.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <numbers>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "daemon/support/recording_sink.h"
#include "daemon/support/tiny_model.h"
#include "ingest/ingestor.h"
#include "lstmad/core/model_file.h"
#include "scoring/scorer.h"

namespace lstmad::daemon {
namespace {

using testing::kLookback;
using testing::RecordingSink;
using testing::TinyModelSet;

class IngestorTest : public ::testing::Test {
 protected:
  IngestorTest() {
    settings_.scoring.workers = 2;
    settings_.scoring.max_wait_ms = 0;
    scorer_ = std::make_unique<Scorer>(settings_.scoring, &metrics_);
    ingestor_ = std::make_unique<Ingestor>(settings_, TinyModelSet(&metrics_), scorer_.get(), &metrics_);
  }

  void Send(const std::string& stream, int samples, int first = 0) {
    for (int i = first; i < first + samples; ++i) {
      ingestor_->HandleLine("pump,id=" + stream + " a=" + std::to_string(i) + ",b=1 " + std::to_string(1000 + i),
                            "test");
    }
    scorer_->Drain();
  }

  config::Settings settings_;
  Metrics metrics_{"test"};
  std::unique_ptr<Scorer> scorer_;
  std::unique_ptr<Ingestor> ingestor_;
};

TEST_F(IngestorTest, ForgetDropsOnlyTheSelectedStreams) {
  for (int s = 0; s < 20; ++s) Send(std::to_string(s), s % 2 == 0 ? kLookback : 1);
  ASSERT_EQ(ingestor_->stream_count(), 20u);
  EXPECT_EQ(scorer_->windows_scored(), 10u);  // the even streams have full windows
  const size_t forgotten = ingestor_->Forget([](std::string_view model, std::string_view key) {
    return model == "pump" && (key == "pump,id=4" || key == "pump,id=5" || key == "pump,id=12");
  });
  EXPECT_EQ(forgotten, 3u);
  EXPECT_EQ(ingestor_->stream_count(), 17u);
  EXPECT_NE(metrics_.Scrape().find("lstmad_streams{model=\"pump\"} 17"), std::string::npos);
  // A kept full stream scores its next sample at once; a forgotten one starts over.
  const uint64_t before = scorer_->windows_scored();
  Send("6", 1, kLookback);
  EXPECT_EQ(scorer_->windows_scored(), before + 1);
  Send("4", 1, kLookback);
  EXPECT_EQ(scorer_->windows_scored(), before + 1);
  EXPECT_EQ(ingestor_->stream_count(), 18u);
  // A kept partial stream keeps its one sample: two more complete its window.
  Send("7", 2, 1);
  EXPECT_EQ(scorer_->windows_scored(), before + 2);
}

// Records the alert transitions scoring hands out.
// An ingestor whose model flags every window (threshold 0): alert.for is 3,
// so a stream's alert fires on its third window.
class AlertingIngestorTest : public IngestorTest {
 protected:
  AlertingIngestorTest() {
    ingestor_ = std::make_unique<Ingestor>(settings_, TinyModelSet(&metrics_, 0.0), scorer_.get(), &metrics_);
    scorer_->SetAlertSink(&sink_);
  }
  RecordingSink sink_;
};

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

TEST_F(AlertingIngestorTest, AReshapingReloadHandsBackItsStreamsAndRetireResolvesTheirAlerts) {
  Send("firing", kLookback + 2);  // three windows: fired
  Send("quiet", kLookback);       // one window: scored, not firing
  Send("partial", 1);             // never scored
  ASSERT_EQ(sink_.events().size(), 1u);
  ASSERT_EQ(sink_.events()[0].kind, "fired");
  const AlertEvent fired = sink_.events()[0];
  ASSERT_NE(metrics_.Scrape().find("lstmad_stream_anomalous{id=\"firing\",model=\"pump\",stream=\"pump,id=firing\"} 1"),
            std::string::npos);

  Metrics next_metrics("next");  // the reloaded model's own registry, as a reload re-registers
  const std::vector<DroppedStreams> dropped =
      ingestor_->Reload(settings_, TinyModelSet(&next_metrics, 0.0, kLookback + 1));
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].model, "pump");
  EXPECT_STREQ(dropped[0].reason, "model_reshaped");
  EXPECT_EQ(dropped[0].streams, 3u);
  EXPECT_EQ(ingestor_->stream_count(), 0u);
  scorer_->Drain();
  EXPECT_EQ(scorer_->Retire(dropped[0]), 1u);

  const std::vector<AlertEvent> events = sink_.events();
  ASSERT_EQ(events.size(), 2u);
  const AlertEvent& resolved = events[1];
  EXPECT_EQ(resolved.kind, "resolved");
  EXPECT_EQ(resolved.reason, "model_reshaped");
  EXPECT_EQ(resolved.model, "pump");
  EXPECT_EQ(resolved.stream, "pump,id=firing");
  EXPECT_TRUE(std::isnan(resolved.error));
  EXPECT_EQ(resolved.threshold, fired.threshold);
  EXPECT_EQ(resolved.window_end_ns, fired.window_end_ns);
  EXPECT_GE(resolved.time_ns, fired.time_ns);
  // Every per-stream series of the dropped streams is gone.
  const std::string scrape = metrics_.Scrape();
  EXPECT_EQ(scrape.find("stream=\"pump,id="), std::string::npos) << scrape;
  // Retiring again finds nothing left to resolve or remove.
  EXPECT_EQ(scorer_->Retire(dropped[0]), 0u);
  EXPECT_EQ(sink_.events().size(), 2u);
}

TEST_F(AlertingIngestorTest, AReloadThatKeepsTheShapeDropsNothing) {
  Send("firing", kLookback + 2);
  Metrics next_metrics("next");
  EXPECT_TRUE(ingestor_->Reload(settings_, TinyModelSet(&next_metrics, 0.0)).empty());
  EXPECT_EQ(ingestor_->stream_count(), 1u);
}

TEST_F(AlertingIngestorTest, ExpireDropsOnlyStreamsIdleSinceTheCutoffAndRetireResolvesThem) {
  Send("old", kLookback + 2);  // fired
  Send("old-quiet", 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const int64_t cutoff = SteadyNowNs();
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  Send("new", kLookback + 2);  // fired too, after the cutoff
  ASSERT_EQ(sink_.events().size(), 2u);
  EXPECT_EQ(ingestor_->CountIdle(cutoff), 2u);
  EXPECT_EQ(ingestor_->CountIdle(0), 0u);

  const std::vector<DroppedStreams> dropped = ingestor_->Expire(cutoff);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_STREQ(dropped[0].reason, "stream_expired");
  EXPECT_EQ(dropped[0].streams, 2u);
  EXPECT_EQ(ingestor_->stream_count(), 1u);
  EXPECT_EQ(ingestor_->CountIdle(cutoff), 0u);
  EXPECT_EQ(scorer_->Retire(dropped[0]), 1u);
  const std::vector<AlertEvent> events = sink_.events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].kind, "resolved");
  EXPECT_EQ(events[2].stream, "pump,id=old");
  EXPECT_EQ(events[2].reason, "stream_expired");
  const std::string scrape = metrics_.Scrape();
  EXPECT_EQ(scrape.find("stream=\"pump,id=old"), std::string::npos) << scrape;
  EXPECT_NE(scrape.find("lstmad_stream_anomalous{id=\"new\",model=\"pump\",stream=\"pump,id=new\"} 1"),
            std::string::npos);
  EXPECT_NE(scrape.find("lstmad_streams{model=\"pump\"} 1"), std::string::npos);
  // The kept stream keeps its window and its firing alert: one more anomalous
  // window changes nothing, and no second "fired" follows.
  const uint64_t before = scorer_->windows_scored();
  Send("new", 1, kLookback + 2);
  EXPECT_EQ(scorer_->windows_scored(), before + 1);
  EXPECT_EQ(sink_.events().size(), 3u);
  // An expired stream that comes back starts afresh (a new window to fill).
  Send("old", kLookback - 1, 100);
  EXPECT_EQ(scorer_->windows_scored(), before + 1);
}

TEST_F(IngestorTest, SaveAndRestoreKeepEveryStream) {
  for (int s = 0; s < 50; ++s) Send(std::to_string(s), 1 + s % 4);
  const std::vector<StreamSnapshot> saved = ingestor_->Save();
  ASSERT_EQ(saved.size(), 50u);
  Metrics metrics("test");
  Scorer scorer(settings_.scoring, &metrics);
  Ingestor restored(settings_, TinyModelSet(&metrics), &scorer, &metrics);
  EXPECT_EQ(restored.Restore(saved), 50u);
  EXPECT_EQ(restored.Restore(saved), 0u);  // already there: not duplicated
  const std::vector<StreamSnapshot> again = restored.Save();
  ASSERT_EQ(again.size(), saved.size());
  for (size_t i = 0; i < saved.size(); ++i) {
    EXPECT_EQ(again[i].key, saved[i].key);
    EXPECT_EQ(again[i].samples, saved[i].samples);
    EXPECT_EQ(again[i].values, saved[i].values);
    EXPECT_EQ(again[i].times_ns, saved[i].times_ns);
  }
}

// A stream's detector learned its model's errors: restored under a model
// with other weights (a new file at the model's path, or the configured model
// after a retrained one), it would judge the new errors against the old
// ones. It calibrates afresh instead, as at a reload; the window and the
// samples are restored all the same.
TEST_F(IngestorTest, ADetectorIsRestoredOnlyUnderTheModelWhoseErrorsItLearned) {
  for (int s = 0; s < 10; ++s) Send(std::to_string(s), kLookback + s);
  const std::vector<StreamSnapshot> saved = ingestor_->Save();
  ASSERT_EQ(saved.size(), 10u);
  const core::Model loaded = TinyModelSet(&metrics_)->models[0]->model;
  for (const StreamSnapshot& s : saved) {
    EXPECT_FALSE(s.detector_state.empty()) << s.key;
    EXPECT_EQ(s.model_fingerprint, std::optional<uint32_t>(core::ModelFingerprint(loaded))) << s.key;
  }
  core::Model other = loaded;
  other.weights.layers[0][0](0, 0) += 0.5f;
  auto restore = [&](const std::vector<StreamSnapshot>& snapshot, std::shared_ptr<const ModelSet> models) {
    Metrics metrics("test");
    Scorer scorer(settings_.scoring, &metrics);
    Ingestor restored(settings_, std::move(models), &scorer, &metrics);
    EXPECT_EQ(restored.Restore(snapshot), snapshot.size());
    return restored.Save();  // nothing scored since: what Restore put back
  };
  Metrics same_metrics("test"), other_metrics("test"), older_metrics("test");
  const std::vector<StreamSnapshot> same = restore(saved, TinyModelSet(&same_metrics));
  const std::vector<StreamSnapshot> changed =
      restore(saved, testing::OneModelSet(other, "pump", &other_metrics));
  std::vector<StreamSnapshot> older = saved;  // a version-4 snapshot says no model
  for (StreamSnapshot& s : older) s.model_fingerprint.reset();
  const std::vector<StreamSnapshot> unknown =
      restore(older, testing::OneModelSet(other, "pump", &older_metrics));
  ASSERT_EQ(same.size(), saved.size());
  ASSERT_EQ(changed.size(), saved.size());
  ASSERT_EQ(unknown.size(), saved.size());
  for (size_t i = 0; i < saved.size(); ++i) {
    EXPECT_EQ(same[i].detector_state, saved[i].detector_state) << saved[i].key;
    EXPECT_TRUE(changed[i].detector_state.empty()) << saved[i].key;
    EXPECT_EQ(changed[i].values, saved[i].values) << saved[i].key;
    EXPECT_EQ(changed[i].samples, saved[i].samples) << saved[i].key;
    EXPECT_FALSE(changed[i].model_fingerprint.has_value())
        << saved[i].key;  // no detector until its next window
    EXPECT_EQ(unknown[i].detector_state, saved[i].detector_state) << saved[i].key;  // as before version 5
  }
}

// A reload builds every model anew. Where the new model gives the errors a
// stream's detector judged, under the same detector settings (a reload that
// changed something else: a threshold, a guard, another model), the detector
// carries on; other weights or other detector settings calibrate it afresh.
TEST(IngestorReloadTest, AReloadKeepsADetectorOnlyForTheSameModelAndDetectorSettings) {
  config::Settings settings;
  settings.scoring.workers = 1;
  settings.scoring.max_wait_ms = 0;
  config::ModelSettings base;
  base.detector.options.calibration_windows = 5;
  // A reloaded copy of `set`'s model, changed by `change`: a new runtime, as
  // LoadModelRuntime builds one.
  auto reloaded = [](const ModelSet& set, const std::function<void(ModelRuntime*)>& change) {
    auto runtime = std::make_shared<ModelRuntime>(*set.models[0]);
    runtime->generation = NextModelGeneration();
    runtime->detector_generation = runtime->generation;
    change(runtime.get());
    runtime->network = runtime->model.MakeNetwork().value();
    runtime->fingerprint = core::ModelFingerprint(runtime->model);
    auto next = std::make_shared<ModelSet>();
    next->models.push_back(runtime);
    return std::shared_ptr<const ModelSet>(next);
  };
  struct Case {
    const char* what;
    std::function<void(ModelRuntime*)> change;
    bool kept;
  };
  const Case cases[] = {
      {"the same model", [](ModelRuntime*) {}, true},
      {"another threshold", [](ModelRuntime* r) { r->threshold = 2e9; }, true},
      {"other weights", [](ModelRuntime* r) { r->model.weights.layers[0][0](0, 0) += 0.5f; }, false},
      {"other detector settings",
       [](ModelRuntime* r) { r->settings.detector.options.likelihood.risk = 1e-3; }, false},
  };
  for (const Case& c : cases) {
    Metrics metrics("test");
    Scorer scorer(settings.scoring, &metrics);
    const std::shared_ptr<const ModelSet> loaded = TinyModelSet(&metrics, 1e9, kLookback, base);
    Ingestor ingestor(settings, loaded, &scorer, &metrics);
    auto send = [&](int first, int samples) {
      for (int i = first; i < first + samples; ++i) {
        ingestor.HandleLine("pump,id=x a=" + std::to_string(i % 7) + ",b=1 " + std::to_string(1000 + i),
                            "test");
      }
      scorer.Drain();
    };
    send(0, kLookback + 9);  // 10 windows: calibrated on the first 5
    const std::shared_ptr<const ModelSet> next = reloaded(*loaded, c.change);
    EXPECT_TRUE(ingestor.Reload(settings, next).empty()) << c.what;
    send(kLookback + 9, 1);  // the first window under the reloaded model
    const std::vector<StreamSnapshot> saved = ingestor.Save();
    ASSERT_EQ(saved.size(), 1u) << c.what;
    const ModelRuntime& now = *next->models[0];
    core::StreamDetector detector(now.settings.detector.options, now.threshold, kLookback);
    ASSERT_TRUE(detector.RestoreState(saved[0].detector_state).ok()) << c.what;
    EXPECT_EQ(detector.calibrated(), c.kept) << c.what;  // afresh: 1 window of the 5 it calibrates on
    EXPECT_EQ(saved[0].model_fingerprint, std::optional<uint32_t>(now.fingerprint)) << c.what;
  }
}

// Holds the worker inside its first scored group until released, so that
// the queue behind it fills.
class GateObserver : public ScoreObserver {
 public:
  void OnScored(const ModelRuntime&, const WindowJob* const*, const float*, const uint8_t*, int) override {
    std::unique_lock lock(mu_);
    entered_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
  }
  void WaitEntered() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return entered_; });
  }
  void Open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool entered_ = false, open_ = false;
};

TEST(IngestorStallTest, AFullQueueStallsTheWindowUntilThereIsRoom) {
  config::Settings settings;
  settings.scoring.workers = 1;
  settings.scoring.max_batch = 1;
  settings.scoring.max_wait_ms = 0;
  settings.scoring.queue_windows = 2;
  settings.scoring.overflow = config::OverflowPolicy::kBlock;
  Metrics metrics("test");
  GateObserver gate;
  Scorer scorer(settings.scoring, &metrics);
  scorer.SetObserver(&gate);
  Ingestor ingestor(settings, TinyModelSet(&metrics), &scorer, &metrics);
  std::atomic<int> room_calls{0};
  LineSink::Stalled stalled;
  stalled.on_room = [&] { ++room_calls; };
  auto send = [&](int i) {
    ingestor.HandleLine("pump,id=x a=" + std::to_string(i) + ",b=1 " + std::to_string(1000 + i), "test", &stalled);
  };
  for (int i = 0; i < kLookback; ++i) send(i);  // window 1: taken by the worker, held at the gate
  gate.WaitEntered();
  send(kLookback);      // window 2: queued
  send(kLookback + 1);  // window 3: queued; the queue is full
  EXPECT_FALSE(stalled.stalled());
  send(kLookback + 2);  // window 4: no room
  ASSERT_TRUE(stalled.stalled());
  EXPECT_FALSE(stalled.retry(false));  // still no room: asks again
  EXPECT_EQ(room_calls.load(), 0);
  EXPECT_NE(metrics.Scrape().find("lstmad_connection_pauses_total 1"), std::string::npos);
  gate.Open();  // the worker takes window 2: room, and on_room is called
  for (int spin = 0; spin < 5000 && room_calls.load() == 0; ++spin) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_GE(room_calls.load(), 1);
  EXPECT_TRUE(stalled.retry(false));
  stalled.retry = nullptr;
  scorer.Drain();
  EXPECT_EQ(scorer.windows_scored(), 4u);  // nothing lost
  scorer.SetObserver(nullptr);
}

// A window that waited in a paused connection while a reload dropped its
// stream is scored when the connection goes on, but touches neither the
// stream's removed series nor its alert (it would have been the third
// anomalous window in a row: a "fired" for a stream that is gone).
TEST(IngestorStallTest, AHeldWindowOfAStreamThatWentAwayTouchesNothing) {
  config::Settings settings;
  settings.scoring.workers = 1;
  settings.scoring.max_batch = 1;
  settings.scoring.max_wait_ms = 0;
  settings.scoring.queue_windows = 1;
  settings.scoring.overflow = config::OverflowPolicy::kBlock;
  Metrics metrics("test");
  GateObserver gate;
  Scorer scorer(settings.scoring, &metrics);
  scorer.SetObserver(&gate);
  RecordingSink sink;
  scorer.SetAlertSink(&sink);
  Ingestor ingestor(settings, TinyModelSet(&metrics, 0.0), &scorer, &metrics);
  LineSink::Stalled stalled;
  stalled.on_room = [] {};
  auto send = [&](int i) {
    ingestor.HandleLine("pump,id=x a=" + std::to_string(i) + ",b=1 " + std::to_string(1000 + i), "test",
                        &stalled);
  };
  for (int i = 0; i < kLookback; ++i) send(i);  // window 1: held at the gate
  gate.WaitEntered();
  send(kLookback);      // window 2: queued; the queue is full
  send(kLookback + 1);  // window 3: no room, held by the connection
  ASSERT_TRUE(stalled.stalled());
  gate.Open();
  scorer.Drain();
  ASSERT_EQ(scorer.windows_scored(), 2u);
  ASSERT_TRUE(sink.events().empty());  // two anomalous windows: not fired yet

  const std::vector<DroppedStreams> dropped =
      ingestor.Reload(settings, TinyModelSet(&metrics, 0.0, kLookback + 1));
  ASSERT_EQ(dropped.size(), 1u);
  scorer.Drain();
  EXPECT_EQ(scorer.Retire(dropped[0]), 0u);
  EXPECT_EQ(metrics.Scrape().find("stream=\"pump,id=x\""), std::string::npos);

  EXPECT_TRUE(stalled.retry(true));
  stalled.retry = nullptr;
  scorer.Drain();
  EXPECT_EQ(scorer.windows_scored(), 3u);
  EXPECT_TRUE(sink.events().empty());
  EXPECT_EQ(metrics.Scrape().find("stream=\"pump,id=x\""), std::string::npos);
  scorer.SetObserver(nullptr);
}

TEST(IngestorStallTest, DropOldestNeverStalls) {
  config::Settings settings;
  settings.scoring.workers = 1;
  settings.scoring.max_batch = 1;
  settings.scoring.max_wait_ms = 0;
  settings.scoring.queue_windows = 1;
  settings.scoring.overflow = config::OverflowPolicy::kDropOldest;
  Metrics metrics("test");
  GateObserver gate;
  Scorer scorer(settings.scoring, &metrics);
  scorer.SetObserver(&gate);
  Ingestor ingestor(settings, TinyModelSet(&metrics), &scorer, &metrics);
  LineSink::Stalled stalled;
  stalled.on_room = [] {};
  for (int i = 0; i < kLookback; ++i) {
    ingestor.HandleLine("pump,id=x a=" + std::to_string(i) + ",b=1 " + std::to_string(1000 + i), "test", &stalled);
  }
  gate.WaitEntered();
  for (int i = kLookback; i < kLookback + 5; ++i) {
    ingestor.HandleLine("pump,id=x a=" + std::to_string(i) + ",b=1 " + std::to_string(1000 + i), "test", &stalled);
    EXPECT_FALSE(stalled.stalled());
  }
  gate.Open();
  scorer.Drain();
  EXPECT_NE(metrics.Scrape().find("lstmad_windows_dropped_total 4"), std::string::npos);
  EXPECT_EQ(scorer.windows_scored(), 2u);  // the first and the newest
  scorer.SetObserver(nullptr);
}

}  // namespace
}  // namespace lstmad::daemon

namespace lstmad::daemon {
namespace {

// Records every scored window and its error.
class RecordingObserver : public ScoreObserver {
 public:
  void OnScored(const ModelRuntime&, const WindowJob* const* jobs, const float* scored_errors, const uint8_t*,
                int count) override {
    std::lock_guard lock(mu);
    for (int b = 0; b < count; ++b) {
      windows.push_back(jobs[b]->window);
      errors.push_back(scored_errors[b]);
    }
  }
  std::mutex mu;
  std::vector<std::vector<float>> windows;
  std::vector<float> errors;
};

// A model of one feature and a daily cycle: 3 network inputs per step.
std::shared_ptr<const ModelSet> DailyModelSet(Metrics* metrics) {
  core::AutoencoderSpec spec;
  spec.timesteps = kLookback;
  spec.features = 3;
  spec.encoder_units = {4};
  spec.decoder_units = {4};
  core::Model model;
  model.architecture = core::BuildAutoencoder(spec).value();
  model.feature_names = {"a"};
  model.scaler.kind = core::ScalerKind::kStandard;
  model.scaler.offset = {10};
  model.scaler.scale = {4};
  model.SetTimeFeatures(core::TimeFeatures::Parse("daily").value());
  model.threshold = 1e9;
  model.weights = core::InitializeWeights<float>(model.architecture, 7);
  return testing::OneModelSet(std::move(model), "load", metrics);
}

TEST(IngestorTimeFeaturesTest, WindowsCarryEachSamplesTimeInputsAndTheErrorCountsTheFeatureOnly) {
  config::Settings settings;
  settings.scoring.workers = 1;
  settings.scoring.max_wait_ms = 0;
  Metrics metrics("test");
  RecordingObserver observer;
  Scorer scorer(settings.scoring, &metrics);
  scorer.SetObserver(&observer);
  const std::shared_ptr<const ModelSet> models = DailyModelSet(&metrics);
  Ingestor ingestor(settings, models, &scorer, &metrics);
  // 06:00, 12:00, 18:00, 00:00 (+ 0.5 s) on 2024-01-01 UTC, in ns.
  constexpr int64_t kDay0 = 1704067200;
  const int64_t times_ns[] = {(kDay0 + 21600) * 1'000'000'000, (kDay0 + 43200) * 1'000'000'000,
                              (kDay0 + 64800) * 1'000'000'000, (kDay0 + 86400) * 1'000'000'000 + 500'000'000};
  for (int i = 0; i < 4; ++i) {
    ingestor.HandleLine("load,site=x a=" + std::to_string(10 + i) + " " + std::to_string(times_ns[i]),
                        "test");
  }
  scorer.Drain();
  scorer.SetObserver(nullptr);
  ASSERT_EQ(observer.windows.size(), 2u);
  // Per step: the raw value, then sin and cos of the time of day.
  const float quarter = static_cast<float>(std::cos(std::numbers::pi / 2));
  const float half_second = static_cast<float>(2 * std::numbers::pi * 0.5 / 86400);
  const float sin_noon = static_cast<float>(std::sin(std::numbers::pi));
  const float cos_evening = static_cast<float>(std::cos(3 * std::numbers::pi / 2));
  const std::vector<float> first = {10, 1, quarter, 11, sin_noon, -1, 12, -1, cos_evening};
  EXPECT_EQ(observer.windows[0], first);
  const std::vector<float>& second = observer.windows[1];
  ASSERT_EQ(second.size(), 9u);
  EXPECT_EQ(second[6], 13);
  EXPECT_FLOAT_EQ(second[7], half_second);  // sin of half a second past midnight
  EXPECT_EQ(second[8], 1.0f);
  // The error by hand: the network on the scaled feature and raw time rows,
  // the squared differences of the feature row only.
  const ModelRuntime& runtime = *models->models[0];
  core::Matrix<float> input(3, kLookback);
  for (int t = 0; t < kLookback; ++t) {
    input.col(t) = Eigen::Map<const core::Vector<float>>(first.data() + 3 * t, 3);
  }
  input.row(0).array() = (input.row(0).array() - 10.0f) / 4.0f;
  core::Network<float>::Workspace workspace;
  core::Matrix<float> output;
  runtime.network.Forward(input, 1, &workspace, &output);
  const float want = (input.row(0) - output.row(0)).cwiseAbs2().mean();
  EXPECT_FLOAT_EQ(observer.errors[0], want);
  EXPECT_NE(observer.errors[0], (input - output).cwiseAbs2().mean());
}

}  // namespace
}  // namespace lstmad::daemon
