// The scoring side of a model's streams: for each stream that has had a
// window cut, its alert state, metric handles and anomaly-score detector.
//
// Indexed by the stream's number in ingest's table of the same model, but
// owned here, so that ingest (keys and sample rings, network thread) and
// scoring (this, scoring workers) each own their own state.
//
// Threads: an entry is created by the network thread before its stream's
// first window is submitted (or while restoring, with the scorer drained);
// from then on it belongs to the scoring worker its stream is sharded to,
// which sees the stream's windows in order. The network thread reads and
// writes entries again only with the scorer drained (snapshots, forgetting
// streams). Entries never move; jobs keep the StreamStates alive
// (shared_ptr), so a reload can drop it while its windows are being scored.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "alerting/alerts.h"
#include "lstmad/core/alert_state.h"
#include "lstmad/core/anomaly_score.h"
#include "obs/metrics.h"
#include "scoring/model_runtime.h"
#include "scoring/stream_history.h"
#include "scoring/stream_retrain.h"

namespace lstmad::daemon {

// A stream's own model (models[].retrain.scope: stream), counted in
// lstmad_streams_own_model{model} for exactly as long as some stream holds it:
// every way a stream lets its model go (a reload, expiry, a handover, the
// stream's state dropped or moved) passes through here, so the gauge cannot
// drift from what is held.
class OwnModel {
 public:
  OwnModel() = default;
  ~OwnModel() { reset(); }
  OwnModel(OwnModel&& other) noexcept : runtime_(std::move(other.runtime_)) {}
  OwnModel& operator=(OwnModel&& other) noexcept {
    if (this != &other) {
      reset();
      runtime_ = std::move(other.runtime_);
    }
    return *this;
  }
  OwnModel(const OwnModel&) = delete;
  OwnModel& operator=(const OwnModel&) = delete;

  // Holds `runtime` instead (null: none).
  void reset(std::shared_ptr<const ModelRuntime> runtime = nullptr) noexcept;
  const std::shared_ptr<const ModelRuntime>& get() const { return runtime_; }
  bool has_value() const { return runtime_ != nullptr; }

 private:
  std::shared_ptr<const ModelRuntime> runtime_;
};

struct StreamScoringState {
  std::string key;
  core::AlertState alert;
  StreamMetrics metrics;
  std::optional<core::StreamDetector> detector;  // when the model has one (config detector:)
  uint64_t detector_generation = 0;  // the ModelRuntime::detector_generation it was made for
  // The ModelRuntime::fingerprint of the model whose errors the detector
  // judged last (the stream's own model's, under retrain.scope stream): saved
  // with its state, and what decides whether it carries on under a newly
  // loaded model (Scorer::Detect, Ingestor::Restore).
  uint32_t detector_fingerprint = 0;
  // While the alert fires: the event that fired it (scoring worker), saved
  // in snapshots and checkpoints so that it is re-announced after a restart
  // or handover.
  std::shared_ptr<const AlertEvent> fired;
  // What the web console shows of the stream (made on its first scored
  // window when the scorer has a HistoryRegistry; null otherwise).
  std::shared_ptr<StreamHistory> history;
  // The stream went away (Scorer::Retire), or this entry's contents moved to
  // a rebuilt table: a window still held by a paused connection (it holds
  // the StreamStates alive, not in the scorer's queue, so a drain does not
  // wait for it) is then scored without touching this entry.
  bool retired = false;
  // models[].export band: per feature, the exponentially weighted mean square
  // of (observed - expected) at the windows' newest step, in the feature's
  // units (scoring worker; not saved in snapshots: it relearns in a few
  // dozen windows). Empty until the stream's first exported window.
  std::vector<double> residual_mean_square;
  // models[].retrain.scope stream: the stream's windows for its fine-tunes
  // (made at its first scored window), and the model fine-tuned for it that
  // now scores its windows (scoring worker; null: the model's own). Neither
  // is saved in snapshots or checkpoints: after a restart or a handover the
  // stream is scored by the configured model again.
  std::shared_ptr<StreamRetrain> retrain;
  OwnModel own_model;
};

class StreamStates {
 public:
  // The state of stream `id`, or null when it has none yet.
  StreamScoringState* Find(uint32_t id) const {
    return id < slot_.size() && slot_[id] != 0 ? states_[slot_[id] - 1].get() : nullptr;
  }
  // The state of stream `id`, created (with `key`) on first use.
  StreamScoringState* GetOrCreate(uint32_t id, std::string_view key) {
    if (StreamScoringState* s = Find(id)) return s;
    if (id >= slot_.size()) slot_.resize(static_cast<size_t>(id) + 1, 0);
    states_.push_back(std::make_unique<StreamScoringState>());
    states_.back()->key = std::string(key);
    slot_[id] = static_cast<uint32_t>(states_.size());
    return states_.back().get();
  }
  // Every entry, in creation order.
  template <typename Fn>
  void ForEach(Fn&& fn) {
    for (const auto& state : states_) fn(*state);
  }

 private:
  std::vector<uint32_t> slot_;  // by stream number: index + 1 into states_, 0 when none
  std::vector<std::unique_ptr<StreamScoringState>> states_;
};

// Streams that went away together (a reload that reshaped or removed their
// model, an expiry sweep): their scoring state, to be retired by
// Scorer::Retire once no worker can touch it any more. `streams` counts every
// dropped stream, scored or not; `states` holds those that had scoring state
// (beside retired entries, which Retire skips).
struct DroppedStreams {
  std::string model;
  // The resolved events' reason: "model_reshaped", "model_removed" or "stream_expired".
  const char* reason = "";
  size_t streams = 0;
  std::shared_ptr<StreamStates> states;
};

}  // namespace lstmad::daemon
