// Ingestor: turns line-protocol lines into samples of streams and complete
// windows for the Scorer. Every line is either counted as received (per
// model) or rejected (per reason, logged with the peer and a snippet,
// rate-limited). Network thread only; not thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ingest/line_sink.h"
#include "obs/logging.h"
#include "lstmad/config/settings.h"
#include "ingest/line_protocol.h"
#include "obs/metrics.h"
#include "scoring/model_runtime.h"
#include "ingest/sample_checks.h"
#include "scoring/scorer.h"
#include "scoring/stream_state.h"
#include "ingest/stream_snapshots.h"
#include "ingest/stream_table.h"

namespace lstmad::daemon {

class Ingestor : public LineSink {
 public:
  Ingestor(const config::Settings& settings, std::shared_ptr<const ModelSet> models, Scorer* scorer,
           Metrics* metrics);

  // Without `stalled`, a full scoring queue (overflow: block) blocks the
  // caller (a cluster partition's thread). With it (the network thread), the
  // window is held in `stalled->retry` instead (LineSink).
  void HandleLine(std::string_view line, const std::string& peer, Stalled* stalled = nullptr) override;
  void LineTooLong(const std::string& peer) override;

  // Switches to new settings and models. Streams of a model that keeps its
  // name, lookback and feature count keep their buffered samples and alert
  // state; the others start afresh, and are returned (one entry per model
  // that lost streams, reason "model_reshaped" or "model_removed") for the
  // caller to retire (Scorer::Retire) once the scorer is drained: queued
  // windows may still be scoring them.
  std::vector<DroppedStreams> Reload(const config::Settings& settings,
                                     std::shared_ptr<const ModelSet> models);

  // Streams without a sample since `cutoff_ns` (the clock HandleLine
  // touches them with: steady_clock, ns): how many, so that the caller only
  // drains the scorer when there is something to expire.
  size_t CountIdle(int64_t cutoff_ns) const;
  // Drops those streams and returns them (reason "stream_expired") for
  // Scorer::Retire. Call with the scorer drained.
  std::vector<DroppedStreams> Expire(int64_t cutoff_ns);

  // Every stream's window and alert state (call with the scorer drained).
  std::vector<StreamSnapshot> Save() const;
  // Recreates the streams of models that still exist with the same lookback
  // and features; returns how many were restored. `firing`, if given,
  // receives the fired events of the restored streams whose alert fires (to
  // re-announce to Alertmanager, which forgets alerts nobody re-sends).
  size_t Restore(const std::vector<StreamSnapshot>& streams, std::vector<AlertEvent>* firing = nullptr);
  // Drops the streams `forget(model, key)` selects (their windows and alert
  // states); returns how many. Call with the scorer drained.
  size_t Forget(const std::function<bool(std::string_view model, std::string_view key)>& forget);

  size_t stream_count() const { return stream_count_; }
  uint64_t samples_received() const { return received_; }
  uint64_t samples_rejected() const { return rejected_; }

 private:
  void Reject(RejectReason reason, std::string_view line, const std::string& peer,
              std::string_view detail, std::string_view measurement = {});
  int ShardOf(uint64_t hash) const;
  // One model's streams: ingest's table (keys, windows) and scoring's
  // state of the same streams, by the same numbers.
  struct ModelStreams {
    std::shared_ptr<StreamTable> table;
    std::shared_ptr<StreamStates> states;
  };
  // The streams of `model`, created on first use.
  ModelStreams& StreamsOf(const ModelRuntime& model);
  // A stream's scoring state, with its metric series (created on first use).
  StreamScoringState* ScoredOf(ModelStreams* streams, uint32_t id, const ModelRuntime& model);
  // Puts a snapshot's detector state back, if it fits the model's detector settings.
  void RestoreDetector(StreamScoringState* state, const ModelRuntime& model, const std::string& detector_state);
  // Rebuilds each model's table without the streams `drop(model, id)`
  // selects; per model that lost some, `dropped` (null: discarded) gets the
  // old StreamStates: the dropped streams' states where they were, the kept
  // ones' moved out and retired. Returns how many.
  size_t Drop(
      const std::function<bool(const std::string& model, const StreamTable& table, uint32_t id)>& drop,
      std::vector<DroppedStreams>* dropped);

  config::Settings settings_;
  std::shared_ptr<const ModelSet> models_;
  Scorer* scorer_;
  Metrics* metrics_;
  std::unordered_map<std::string, ModelStreams> streams_;  // by model name
  size_t stream_count_ = 0;
  uint64_t received_ = 0, rejected_ = 0;
  RateLimiter reject_log_limiter_{5};
  // Reused per line so steady-state ingestion does not allocate.
  ParsedLine parsed_;
  ParseError parse_error_;
  std::string key_;
  std::vector<float> sample_;
};

}  // namespace lstmad::daemon
