// Prometheus remote_write series to model features (models[i].remote_write):
// RemoteWriteMapping says which models' features a series feeds and which
// stream of each model it belongs to; FeatureVectorBuffer collects the
// features of one stream's timestamp, which remote_write may deliver in
// different requests, into complete vectors. Both are plain data structures
// of the io thread: not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lstmad/config/settings.h"
#include "lstmad/core/status.h"
#include "remote/write_request.h"

namespace lstmad::daemon {

// What one model reads from remote_write.
struct RemoteWriteModel {
  std::string measurement;             // the model's measurement: the streams' line-protocol name
  std::vector<std::string> features;   // the model's feature names, in order
  config::ModelRemoteWrite selection;  // models[i].remote_write
};

// One model feature a series feeds.
struct SeriesTarget {
  uint32_t model = 0;    // index into the mapping's models
  uint32_t feature = 0;  // index into that model's features
  // The stream in line-protocol form: measurement, then the stream's labels
  // as tags sorted by name ("node,instance=a:9100,job=node"), escaped as
  // ParseLine reads it back. Labels with empty values are absent (as in
  // Prometheus).
  std::string stream;
};

class RemoteWriteMapping {
 public:
  RemoteWriteMapping() = default;
  // Checks that each model's selection names exactly its features (every
  // feature mapped, no unknown name); the error names the model and feature.
  static core::Result<RemoteWriteMapping> Build(std::vector<std::string> model_names,
                                                std::vector<RemoteWriteModel> models);

  bool empty() const { return models_.empty(); }
  const std::vector<RemoteWriteModel>& models() const { return models_; }

  // Replaces `*out` with the features that the series `labels` feeds (one
  // series may feed several models, or several features of one). False
  // (and no targets) when a label name is not a Prometheus label name
  // ([a-zA-Z_][a-zA-Z0-9_]*): such a series names no stream.
  bool Match(const std::vector<remote::Label>& labels, std::vector<SeriesTarget>* out) const;

  // The line-protocol line of a complete vector: `stream`, the features as
  // float fields named as the model names them, the timestamp in `unit_ns`
  // nanoseconds per unit (ingest.precision; ms timestamps are floored).
  std::string FormatLine(const SeriesTarget& stream, const std::vector<double>& values, int64_t timestamp_ms,
                         int64_t unit_ns) const;

 private:
  struct Candidate {
    uint32_t model, feature;
    uint32_t selector;  // index into the model's selection.features
  };
  std::vector<RemoteWriteModel> models_;
  std::unordered_map<std::string, std::vector<Candidate>> by_metric_;
};

// Why samples are dropped; each a reason label of
// lstmad_remote_write_samples_total{outcome="dropped"}.
enum class SampleDrop {
  kUnselected,      // no model's selector matches the series
  kNan,             // a NaN value
  kStale,           // Prometheus' stale marker (the series ended)
  kNonFinite,       // +Inf or -Inf
  kIncomplete,      // its vector still lacked a feature when the bounds gave it up
  kOld,             // not after the stream's last complete vector (late, or sent again)
  kDuplicate,       // a second value for the same stream, feature and timestamp
  kTooManyStreams,  // a new stream beyond limits.max_streams
  kBadLabels,       // a label name that is not a Prometheus label name
};
inline constexpr size_t kSampleDropReasons = 9;
std::string_view SampleDropName(SampleDrop reason);

// Per stream, the feature vectors of up to `max_pending` timestamps that are
// still missing a feature. A vector is handed out when its last feature
// arrives; vectors leave in timestamp order, so an older incomplete one is
// given up when a newer one completes. An incomplete vector is also given
// up when more than `max_pending` are pending (the oldest goes), and when
// the stream's newest sample time is more than `max_delay_ms` after it.
// Streams idle (wall time) for `idle_ms` are forgotten by Sweep.
class FeatureVectorBuffer {
 public:
  struct Limits {
    size_t max_pending = 8;
    int64_t max_delay_ms = 60'000;
    size_t max_streams = 10000;
  };
  struct Ready {
    uint32_t model = 0;
    std::string stream;
    int64_t timestamp_ms = 0;
    std::vector<double> values;
  };
  struct Outcome {
    std::vector<Ready> ready;                   // complete vectors, in the order they completed
    uint64_t dropped[kSampleDropReasons] = {};  // samples, by SampleDrop
    uint64_t accepted = 0;                      // samples of the vectors in `ready`
    void Drop(SampleDrop reason, uint64_t samples = 1) { dropped[static_cast<size_t>(reason)] += samples; }
  };

  explicit FeatureVectorBuffer(Limits limits) : limits_(limits) {}
  void set_limits(Limits limits) { limits_ = limits; }

  // One feature's value for `target` (of a model with `features` features)
  // at `timestamp_ms`; `now_ms` is the wall clock, for Sweep.
  void Add(const SeriesTarget& target, uint32_t features, int64_t timestamp_ms, double value, int64_t now_ms,
           Outcome* out);
  // Forgets streams that got no sample since `cutoff_ms` (wall clock); their
  // pending samples count as incomplete.
  void Sweep(int64_t cutoff_ms, Outcome* out);
  // Forgets every stream (a reload renumbers the models); their pending
  // samples count as incomplete.
  void Clear(Outcome* out);

  size_t streams() const { return streams_.size(); }
  uint64_t pending_samples() const { return pending_samples_; }

 private:
  struct Pending {
    int64_t timestamp_ms;
    std::vector<double> values;
    std::vector<bool> present;
    uint32_t count = 0;
  };
  struct Stream {
    uint32_t model = 0;
    int64_t last_emitted_ms = INT64_MIN;  // the newest vector handed out
    int64_t newest_ms = INT64_MIN;        // the newest sample time seen
    int64_t seen_ms = 0;                  // wall clock of the last sample
    std::vector<Pending> pending;         // by timestamp, oldest first
  };
  void GiveUp(Stream* stream, size_t count, Outcome* out);  // the oldest `count` pending vectors

  Limits limits_;
  // Key: the model index, '\n' (never in a stream key), the stream.
  std::unordered_map<std::string, Stream> streams_;
  uint64_t pending_samples_ = 0;
  std::string key_;  // reused
};

}  // namespace lstmad::daemon
