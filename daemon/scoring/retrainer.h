// Retrainer: background fine-tuning of the models whose settings have a
// `retrain` section (docs/retraining.md).
//
// With `scope: model` (the default) a model learns from all its streams and
// one candidate replaces it for all of them, through the io thread as
// described below. With `scope: stream` each stream collects its own windows
// (StreamRetrain, made at its first scored window) and is fine-tuned on its
// own schedule; a passing candidate serves that stream alone, handed to its
// scoring worker directly (no ModelSet changes, nothing is written).
//
// The scoring workers report every scored group (ScoreObserver); windows
// that were not anomalous (at or below the threshold the stream's alert
// uses, and the stream's alert not firing) are copied into the model's WindowRing. One background thread, at
// lowered priority, serves every model, so retraining uses at most one core:
// every `retrain.every` it fine-tunes a copy of the model on the collected
// windows (RetrainModel) and, when the candidate is not worse on the held-back
// newest windows, hands it to `install`, which must post it to the io thread;
// there the daemon swaps it into the ModelSet (ReplaceModel) and reports back
// with Installed(). Outcomes are counted in
// lstmad_model_retrains_total{model,result} and logged.
//
// Thread-safety: OnScored from any scoring worker; Configure, Installed and
// Stop from the io thread; Start once. Stop interrupts a running fine-tune at
// its next mini-batch and joins the thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "obs/metrics.h"
#include "scoring/model_runtime.h"
#include "scoring/retrain_cycle.h"
#include "scoring/scorer.h"
#include "scoring/stream_retrain.h"
#include "scoring/window_ring.h"

namespace lstmad::daemon {

// Values of the `result` label of lstmad_model_retrains_total.
enum class RetrainResult { kSwapped, kRejected, kSkipped, kFailed, kDiscarded };
const char* RetrainResultName(RetrainResult result);

// A candidate that passed validation, on its way to the io thread.
struct RetrainCandidate {
  std::shared_ptr<const ModelRuntime> replaces;  // the runtime it was trained from
  std::shared_ptr<const ModelRuntime> runtime;   // the new one (metric handles kept)
  RetrainOutcome outcome;                        // the numbers, for the log
};

// `set` with `replaces` swapped for `runtime`, the others (and their order)
// unchanged; null when `set` no longer holds `replaces` (a reload came between).
std::shared_ptr<const ModelSet> ReplaceModel(const ModelSet& set, const ModelRuntime* replaces,
                                             std::shared_ptr<const ModelRuntime> runtime);

class Retrainer : public ScoreObserver {
 public:
  using Clock = std::chrono::steady_clock;
  using InstallFn = std::function<void(RetrainCandidate)>;

  // `state_dir`: where swapped-in models are written (models/<name>.lstmad);
  // empty: nowhere. `metrics` must outlive the Retrainer; one Retrainer per
  // Metrics (it registers lstmad_model_retrains_total).
  Retrainer(Metrics* metrics, std::string state_dir, InstallFn install);
  ~Retrainer() override;
  Retrainer(const Retrainer&) = delete;
  Retrainer& operator=(const Retrainer&) = delete;

  // The models now served. A model keeps its collected windows when its name,
  // lookback, features and max_windows are unchanged; its first try is one
  // `every` after it first appears (or after its runtime was replaced by a
  // reload).
  void Configure(const ModelSet& models, Clock::time_point now = Clock::now());
  void Start();
  void Stop();

  void OnScored(const ModelRuntime& model, const WindowJob* const* jobs, const float* errors,
                const uint8_t* verdicts, int count) override;

  // io thread: the daemon's verdict on a candidate from `install`.
  void Installed(const RetrainCandidate& candidate, bool swapped);

  // Runs one try for `model` now, on the calling thread (tests; the thread
  // must not be started). Returns the result counted.
  RetrainResult RetrainNow(const std::string& model);
  // The same for one stream of a `scope: stream` model (kDiscarded when the
  // model does not track that stream: it has had no scored window yet, or
  // went away).
  RetrainResult RetrainStreamNow(const std::string& model, const std::string& stream);
  int collected(const std::string& model) const;
  int collected(const std::string& model, const std::string& stream) const;
  // The streams a `scope: stream` model's entry tracks, retired ones not yet
  // dropped included (tests: that bound).
  size_t tracked_streams(const std::string& model) const;

 private:
  // One stream of a `scope: stream` model: its windows and its schedule.
  struct StreamTry {
    std::shared_ptr<StreamRetrain> slot;
    Clock::time_point due;
    uint64_t tries = 0;
  };
  // What a fine-tune produced: the candidate when it passed, else the result,
  // counted and logged.
  struct TryResult {
    RetrainResult result = RetrainResult::kFailed;
    std::shared_ptr<ModelRuntime> runtime;
    RetrainOutcome outcome;
  };
  struct Entry {
    config::RetrainSettings settings;
    // The model as loaded (scope stream: what each stream starts from).
    std::shared_ptr<const ModelRuntime> current;
    std::shared_ptr<WindowRing> ring;  // scope model only
    std::vector<StreamTry> streams;    // scope stream only
    // streams.size() after retired streams were last dropped from it: a new
    // stream drops them again once the list has doubled, so streams that come
    // and go hold at most about as many retired buffers as live ones.
    size_t streams_kept = 0;
    Clock::time_point due;
    // The candidate posted to the io thread and not yet Installed(): no new
    // try starts meanwhile, since it would train from `current`, which the
    // candidate is about to replace, and be discarded.
    std::shared_ptr<const ModelRuntime> in_flight;
    uint64_t tries = 0;
    std::map<RetrainResult, prometheus::Counter*> counters;
  };

  void Loop();
  RetrainResult RunOne(const std::string& name);
  RetrainResult RunOneStream(const std::string& name, const std::shared_ptr<StreamRetrain>& slot);
  // Fine-tunes `from` on `ring`'s windows; `stream` names the stream in the
  // log (empty: the model's try).
  TryResult Try(const std::string& name, const std::string& stream, const config::RetrainSettings& settings,
                const ModelRuntime& from, const WindowRing& ring, uint64_t tries);
  // scope stream: copies the normal windows into their streams' own rings.
  void CollectPerStream(const ModelRuntime& model, const WindowJob* const* jobs, const uint8_t* verdicts,
                        int count);
  // A new StreamRetrain for `stream` under `model`'s entry; null when the
  // model has no `scope: stream` entry of this load (a reload is under way).
  std::shared_ptr<StreamRetrain> MakeStreamRetrain(const ModelRuntime& model, const std::string& stream);
  void Count(const std::string& name, RetrainResult result);
  void Persist(const std::string& name, const core::Model& model);

  prometheus::Family<prometheus::Counter>* retrains_;  // lstmad_model_retrains_total
  std::string state_dir_;
  InstallFn install_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::string, Entry> entries_;
  std::deque<std::pair<std::string, core::Model>> to_persist_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  // What the retraining thread sleeps until (max: until notified), so that a
  // new stream wakes it only when it falls due sooner.
  Clock::time_point sleeping_until_ = Clock::time_point::max();
};

// Where a swapped-in model is written: <state_dir>/models/<name>.lstmad.
std::string RetrainedModelPath(const std::string& state_dir, const std::string& name);
// Writes `model` there (creating models/), atomically: a reader, or a
// restart, sees the old model or the new one, and no .tmp file is left.
core::Status SaveRetrainedModel(const std::string& state_dir, const std::string& name, const core::Model& model);

}  // namespace lstmad::daemon
