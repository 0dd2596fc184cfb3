// FeatureAssembler: builds the feature vectors of one model's streams from
// pieces that each carry some of a vector's features (one line per field,
// one MQTT topic per sensor, one Graphite path per value). The policy, as
// docs/wire-protocol.md ("Samples in pieces") states it for users:
//
//  - Pieces of a stream whose times are at most `tolerance` apart belong to
//    one vector; it takes the time of its first piece. A later piece for a
//    feature the vector has already overwrites it.
//  - A vector with every feature is emitted at once. A piece that completes
//    a vector with a stream that has nothing pending is emitted without
//    being stored (whole lines pass straight through).
//  - An incomplete vector waits until `wait` after its first piece arrived,
//    until a newer vector of its stream completes, or until the stream has
//    `max_pending` incomplete vectors and a piece for yet another arrives,
//    whichever comes first. Then each missing feature takes its value from
//    the stream's newest emitted vector, if the feature has been carried so
//    in fewer than `carry_forward` consecutive vectors; otherwise the vector
//    is dropped (AssemblySink::Dropped).
//  - Vectors leave in time order: resolving one resolves the older ones first.
//
// Input, from any source (line protocol, Graphite, and later MQTT or
// Prometheus remote_write): a PartialSample names the stream by its number
// in the model's StreamTable (the caller finds or creates the stream first,
// so limits.max_streams bounds the streams with pending pieces too), the
// time in ns, and (feature index, value) pieces. Refusing pieces older than
// the stream's newest vector is the caller's (it knows the stream's table).
//
// Memory: per stream with pending pieces, at most max_pending vectors of F
// floats and F flags, plus F carry counters while any is non-zero; nothing
// for streams that only ever send whole vectors.
//
// Threads: the network thread only; not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <unordered_map>
#include <vector>

#include "lstmad/config/settings.h"

namespace lstmad::daemon {

struct FeaturePiece {
  int feature = 0;  // index in the model's features, [0, F)
  float value = 0;
};

struct PartialSample {
  uint32_t stream = 0;   // the stream's number in its model's StreamTable
  int64_t time_ns = 0;   // the sample's time (ns since the epoch)
  std::span<const FeaturePiece> pieces;  // distinct features
};

// Where assembled vectors go (the Ingestor).
class AssemblySink {
 public:
  virtual ~AssemblySink() = default;
  // The stream's newest emitted vector (F values), or null when it has none:
  // what carry-forward copies from.
  virtual const float* Last(uint32_t stream) = 0;
  // A complete vector of the stream; `carried` of its values came from Last().
  virtual void Emit(uint32_t stream, int64_t time_ns, std::span<const float> values, int carried) = 0;
  // A vector given up: `missing` is the first feature it lacked.
  virtual void Dropped(uint32_t stream, int64_t time_ns, int missing) = 0;
};

class FeatureAssembler {
 public:
  FeatureAssembler(int features, const config::AssemblySettings& settings);

  int features() const { return features_; }
  // New bounds (a reload); pending vectors stay and keep their first arrival.
  void set_settings(const config::AssemblySettings& settings);

  // Adds pieces; `now_ns` is the caller's monotonic clock (what `wait`
  // counts on). Emits (or drops) what becomes ready, through `sink`.
  void Add(const PartialSample& sample, int64_t now_ns, AssemblySink* sink);
  // Resolves the vectors whose wait ran out by `now_ns`.
  void Expire(int64_t now_ns, AssemblySink* sink);
  // Whether the stream holds pending pieces or carry counts (a whole vector
  // for a stream that does not can skip the assembler).
  bool Holds(uint32_t stream) const { return streams_.count(stream) != 0; }
  // The streams were renumbered (StreamTable rebuilt): `renumber(old)` is
  // the new number, or UINT32_MAX for a stream that went away (its pending
  // pieces are discarded).
  void Renumber(const std::function<uint32_t(uint32_t)>& renumber);
  size_t pending_vectors() const { return pending_vectors_; }

 private:
  struct Pending {
    int64_t time_ns;
    int64_t deadline_ns;       // first piece's arrival + wait
    std::vector<float> values;  // [F]
    std::vector<uint8_t> have;  // [F]: 1 where a piece arrived
    int count = 0;              // features present
  };
  struct StreamState {
    std::vector<Pending> pending;  // incomplete, oldest first, all after the stream's newest vector
    std::vector<int> carried;      // [F]: consecutive vectors in which the feature was carried
  };
  // Emits pending[0..upto] (completing each by carry-forward or dropping it).
  void ResolveThrough(uint32_t stream, StreamState* state, size_t upto, AssemblySink* sink);
  void Resolve(uint32_t stream, StreamState* state, Pending* vector, AssemblySink* sink);
  void Complete(uint32_t stream, StreamState* state, const Pending& vector, AssemblySink* sink);
  // Resolves through the newest pending vector whose wait ran out by `now_ns`.
  void ExpireStream(uint32_t stream, StreamState* state, int64_t now_ns, AssemblySink* sink);
  static bool Idle(const StreamState& state);

  int features_;
  config::AssemblySettings settings_;
  int64_t tolerance_ns_ = 0, wait_ns_ = 0;
  std::unordered_map<uint32_t, StreamState> streams_;
  size_t pending_vectors_ = 0;
  std::vector<float> scratch_;  // [F]: a vector being completed
};

}  // namespace lstmad::daemon
