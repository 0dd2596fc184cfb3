// Scorer: batched scoring of windows on worker threads, off the network thread.
//
// Windows are sharded over workers by stream, so each stream's windows are
// scored in order by one worker (which owns that stream's alert state). A
// worker waits at most `max_wait_ms` for its batch to fill to `max_batch`,
// runs the model's batched forward pass, and then updates metrics and alert
// states, handing each alert transition to the AlertSink.
//
// When a worker's queue is full, Submit() blocks (a cluster partition's own
// thread), while TrySubmit() (the network thread) hands the window back and
// calls back when there is room: the connection stops being read meanwhile,
// so TCP slows that sender instead of lstmad buffering without bound, and the
// network thread goes on serving other connections and /metrics.
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "alerting/alert_sink.h"
#include "lstmad/config/settings.h"
#include "obs/metrics.h"
#include "scoring/model_runtime.h"
#include "scoring/stream_history.h"
#include "scoring/stream_state.h"

namespace lstmad::daemon {

struct WindowJob {
  std::shared_ptr<const ModelRuntime> model;
  std::shared_ptr<StreamStates> states;  // keeps `stream` alive across a reload
  StreamScoringState* stream = nullptr;  // owned by the worker of `shard`
  int shard = 0;
  // [T*I] the network's inputs in raw units, oldest step first: per step the
  // sample's F values, then the model's time inputs of the sample's time
  // (I = ModelRuntime::inputs(); I = F without time features).
  std::vector<float> window;
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  std::chrono::steady_clock::time_point arrived;  // when the completing sample arrived
};

// Bits of the verdict on one scored window (ScoreObserver::OnScored).
// Above the threshold for the stream's alert (the fixed threshold, or the
// stream's detector's verdict).
inline constexpr uint8_t kVerdictAnomalous = 1;
// The stream's alert firing once this window was counted. Per window, not the
// stream's state when the group ends: how many windows a group holds follows
// the workers' timing, and what a window was must not.
inline constexpr uint8_t kVerdictAlertFiring = 2;

// Told about every group of windows of one model a worker has scored, after
// their alert states were updated; `errors[b]` is window b's error and
// `verdicts[b]` its kVerdict* bits. Runs on the scoring path, so it must be
// quick and must not block for long.
class ScoreObserver {
 public:
  virtual ~ScoreObserver() = default;
  virtual void OnScored(const ModelRuntime& model, const WindowJob* const* jobs, const float* errors,
                        const uint8_t* verdicts, int count) = 0;
};

class Scorer {
 public:
  Scorer(const config::ScoringSettings& settings, Metrics* metrics);
  ~Scorer();
  Scorer(const Scorer&) = delete;
  Scorer& operator=(const Scorer&) = delete;

  int shards() const { return static_cast<int>(shards_.size()); }
  void Submit(WindowJob job);
  // With `overflow: block` and the job's worker queue full: leaves `*job` as
  // it is, returns false, and calls `on_room` once, from a worker thread,
  // when that queue has room (so it must only post work elsewhere). Otherwise
  // as Submit (drop_oldest never refuses). A scorer being destroyed drops
  // pending callbacks uncalled.
  bool TrySubmit(WindowJob* job, const std::function<void()>& on_room);
  // Returns once every window submitted before the call has been scored.
  void Drain();
  // Alert transitions go here (not owned; must outlive the Scorer). Null: none.
  void SetAlertSink(AlertSink* sink) { alert_sink_ = sink; }
  // Where streams' histories for the web console are registered (not owned;
  // must outlive every stream state). Null (the default): none are kept.
  void SetHistory(HistoryRegistry* registry) { history_ = registry; }
  // Not owned; must outlive the Scorer. Null: none.
  void SetObserver(ScoreObserver* observer) { observer_ = observer; }
  uint64_t windows_scored() const { return scored_.load(); }
  // Streams that went away: resolves each firing alert (a "resolved" event
  // with `dropped.reason` and the firing event's window, to the AlertSink)
  // and unregisters each stream's series. Call with the scorer drained and
  // no queued job pointing into `dropped.states` (the caller's thread then
  // owns them). Returns how many alerts it resolved.
  size_t Retire(const DroppedStreams& dropped);

 private:
  struct Shard;
  void WorkerLoop(Shard* shard);
  // Queues `job` under `lock` (of shard->mutex), dropping the oldest if full.
  void Enqueue(Shard* shard, std::unique_lock<std::mutex> lock, WindowJob job);
  void ScoreBatch(Shard* shard, std::vector<WindowJob>* jobs);
  void ScoreModelGroup(Shard* shard, WindowJob* const* jobs, int count);
  // The verdict of the detector of `job`'s stream on `error` under the
  // guards' `override`, with the window's `newest` values for its novelty
  // range (empty: novelty off). The detector is made on first use, its
  // novelty range taught the window's earlier samples.
  static core::Detection Detect(const ModelRuntime& model, const WindowJob& job, double error,
                                core::Override override, std::span<const double> newest);
  // Window `job`'s newest observed values (features only, not time inputs),
  // copied into the shard's buffer.
  static std::span<const double> NewestValues(const ModelRuntime& model, Shard* shard, const WindowJob& job);
  // The model's guards' verdict on window `b` of the group, whose newest
  // values are `observed` (kNone without guards), counted in
  // lstmad_guard_overrides_total.
  static core::Override GuardVerdict(const ModelRuntime& model, Shard* shard, std::span<const double> observed,
                                     int b);
  // Window `b` of the group into its stream's console history.
  static void RecordHistory(HistoryRegistry* registry, const ModelRuntime& model, Shard* shard,
                            const WindowJob& job, int b, double threshold, bool above);
  // Sets window `b`'s per-feature series (models[].export) and updates the
  // stream's residual spread.
  static void ExportFeatures(const ModelRuntime& model, Shard* shard, const WindowJob& job, int b);
  void RecordAlert(const WindowJob& job, core::AlertState::Transition transition, double error,
                   double threshold, const float* per_feature);

  config::ScoringSettings settings_;
  Metrics* metrics_;
  size_t queue_capacity_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::atomic<AlertSink*> alert_sink_{nullptr};
  std::atomic<uint64_t> scored_{0};
  std::atomic<ScoreObserver*> observer_{nullptr};
  std::atomic<HistoryRegistry*> history_{nullptr};
};

}  // namespace lstmad::daemon
