// Ingestor + Scorer without sockets: lines become streams and scored windows;
// Forget drops exactly the selected streams and keeps the others' windows,
// scored state and metric series; Save/Restore round-trips every stream; a
// window refused by a full queue (overflow: block) waits with its sender and
// is scored once there is room.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "ingest/ingestor.h"
#include "daemon/support/tiny_model.h"
#include "scoring/scorer.h"

namespace lstmad::daemon {
namespace {

using testing::kLookback;
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
