// Ingestor: turns line-protocol lines (and points of other inputs, through
// HandlePoint) into samples of streams and complete windows for the Scorer.
// Every line is either counted as received (per model) or rejected (per
// reason, logged with the peer and a snippet, rate-limited). A sample older
// than its stream's newest is refused (out_of_order); models with
// `assembly` build vectors from lines carrying some of their features
// (FeatureAssembler); models with `max_gap_intervals` restart a window
// across a gap (docs/wire-protocol.md). Network thread only; not thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ingest/feature_assembler.h"
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

class Ingestor : public LineSink, private AssemblySink {
 public:
  Ingestor(const config::Settings& settings, std::shared_ptr<const ModelSet> models, Scorer* scorer,
           Metrics* metrics);

  // Without `stalled`, a full scoring queue (overflow: block) blocks the
  // caller (a cluster partition's thread). With it (the network thread), the
  // window is held in `stalled->retry` instead (LineSink).
  void HandleLine(std::string_view line, const std::string& peer, Stalled* stalled = nullptr) override;
  void LineTooLong(const std::string& peer) override;
  // A point of another input (Graphite, and later MQTT or remote_write)
  // mapped to line-protocol form: measurement, tags, fields. `time_ns`: its
  // time in ns since the epoch (nullopt: now). `line` and `peer` are for
  // the logs of a refusal. Same checks, assembly and windows as HandleLine.
  void HandlePoint(const ParsedLine& point, std::optional<int64_t> time_ns, std::string_view line,
                   const std::string& peer, Stalled* stalled = nullptr);
  // Completes (by carry-forward) or drops the assembled vectors whose
  // models[].assembly.wait ran out by `now_ns` (steady_clock, ns); their
  // windows are submitted, waiting for room. Returns the vectors still pending.
  size_t ExpireAssembly(int64_t now_ns);

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
  // A point of `model` at `time_ns` (HandleLine's and HandlePoint's common part).
  void Accept(const std::shared_ptr<const ModelRuntime>& model, const ParsedLine& point, int64_t time_ns,
              std::string_view line, const std::string& peer, Stalled* stalled);
  // AssemblySink, for the model and streams in `emit_`.
  const float* Last(uint32_t stream) override;
  void Emit(uint32_t stream, int64_t time_ns, std::span<const float> values, int carried) override;
  void Dropped(uint32_t stream, int64_t time_ns, int missing) override;
  // Hands the windows in `emit_.jobs` to the scorer, in order (see HandleLine for `stalled`).
  void SubmitJobs(Stalled* stalled);
  int ShardOf(uint64_t hash) const;
  // One model's streams: ingest's table (keys, windows) and scoring's
  // state of the same streams, by the same numbers.
  struct ModelStreams {
    std::shared_ptr<StreamTable> table;
    std::shared_ptr<StreamStates> states;
    std::unique_ptr<FeatureAssembler> assembler;  // models[].assembly only
  };
  // What Emit() works on: set before the assembler or Accept emits.
  struct EmitContext {
    const std::shared_ptr<const ModelRuntime>* model = nullptr;
    ModelStreams* streams = nullptr;
    std::chrono::steady_clock::time_point arrived;
    // StreamTable::Hash of stream `hashed`'s key, known to Accept; other
    // streams' (from ExpireAssembly) are hashed again.
    uint32_t hashed = StreamTable::kNone;
    uint64_t hash = 0;
    std::vector<WindowJob> jobs;  // windows completed, in order
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
  std::vector<FeaturePiece> pieces_;
  EmitContext emit_;
  RateLimiter drop_log_limiter_{5};
};

}  // namespace lstmad::daemon
