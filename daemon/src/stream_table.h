// The streams of one model (a stream is a measurement plus its sorted tag
// set), stored so that an idle stream costs its window plus a few dozen bytes:
// 100,000 sensors that report now and then must not cost a heap object each.
//
// Every stream has a number; its key, ring of the last T samples (values and
// timestamps) and ring position live in flat chunked arrays indexed by that
// number, found through an open-addressing hash index of 4-byte slots. A
// stream gets a heap object (ScoredStream: its key as a string, alert state,
// metric handles, anomaly-score detector) only when its first window is cut,
// because from then on it has per-stream Prometheus series anyway.
//
// Threads: the table itself (keys, rings, index) belongs to the network
// thread. A ScoredStream belongs to the scoring worker its stream is sharded
// to, which sees the stream's windows in order; its address never changes and
// jobs keep the table alive (shared_ptr), so a reload can drop a table while
// its windows are still being scored.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lstmad/core/anomaly_score.h"
#include "lstmad/daemon/alerts.h"
#include "lstmad/daemon/metrics.h"
#include "snapshot.h"

namespace lstmad::daemon {

// What a stream needs once it is scored. Scoring worker only, except where
// noted (created, restored and saved by the network thread with the scorer
// drained or before its first window is submitted).
struct ScoredStream {
  std::string key;
  AlertState alert;
  StreamMetrics metrics;
  std::optional<core::StreamDetector> detector;  // when the model has one (config detector:)
  uint64_t detector_generation = 0;  // the ModelRuntime::generation it was made for
  // Network thread: samples appended after the ring was full (the table's
  // records count only up to T), so snapshots carry the stream's total.
  int64_t samples_after_full = 0;
  // While the alert fires: the event that fired it (scoring worker), saved
  // in snapshots and checkpoints so that it is re-announced after a restart
  // or handover.
  std::shared_ptr<const AlertEvent> fired;
};

// Fixed-size records in chunks that are allocated once and never moved, so
// growing the table copies nothing and leaves no freed copies behind.
template <typename T>
class ChunkedArray {
 public:
  explicit ChunkedArray(size_t record_size) : record_size_(record_size) {}
  T* record(uint32_t index) {
    return chunks_[index >> kChunkBits].get() + (index & kChunkMask) * record_size_;
  }
  const T* record(uint32_t index) const {
    return chunks_[index >> kChunkBits].get() + (index & kChunkMask) * record_size_;
  }
  // Makes room for record `index` (records are added in order).
  void Reserve(uint32_t index) {
    if ((index >> kChunkBits) >= chunks_.size()) {
      // Not value-initialised: a chunk's pages are touched only as records fill them.
      chunks_.push_back(std::make_unique_for_overwrite<T[]>((kChunkMask + 1) * record_size_));
    }
  }

 private:
  static constexpr uint32_t kChunkBits = 12;
  static constexpr uint32_t kChunkMask = (1u << kChunkBits) - 1;
  size_t record_size_;
  std::vector<std::unique_ptr<T[]>> chunks_;
};

class StreamTable {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;
  // Longest stream key; a longer one is refused (the caller says why).
  static constexpr size_t kMaxKeyBytes = 65000;

  StreamTable(int lookback, int features);

  int lookback() const { return lookback_; }
  int features() const { return features_; }
  bool SameShape(int lookback, int features) const { return lookback == lookback_ && features == features_; }
  uint32_t size() const { return size_; }

  static uint64_t Hash(std::string_view key);
  // The stream's number, or kNone. `hash` is Hash(key).
  uint32_t Find(std::string_view key, uint64_t hash) const;
  // Adds a stream that Find() did not find; kNone when the key is longer than
  // kMaxKeyBytes or the table cannot grow (4 GiB of keys).
  uint32_t Insert(std::string_view key, uint64_t hash);
  std::string_view key(uint32_t id) const;

  // Appends one sample (raw values). Returns true when the ring now holds a
  // complete window ending at this sample.
  bool Append(uint32_t id, const float* sample, int64_t time_ns);
  // The current window oldest-first into `out` [T*F], step-major.
  void CopyWindow(uint32_t id, float* out) const;
  int64_t window_start_ns(uint32_t id) const;
  int64_t window_end_ns(uint32_t id) const;

  // The stream's scored state, created on first use (network thread).
  ScoredStream* Scored(uint32_t id);
  ScoredStream* FindScored(uint32_t id) const;

  // Snapshots (network thread, scorer drained).
  StreamSnapshot Save(uint32_t id, const std::string& model) const;
  void Load(uint32_t id, const StreamSnapshot& snapshot);  // shapes must match

 private:
  struct Meta {
    uint32_t key_offset;
    // Samples written while the ring fills (< T); once full it stays in
    // [T, 2T) and the oldest sample's slot is written - T.
    uint32_t written;
    uint32_t scored;  // index + 1 into scored_, 0 when none yet
  };
  uint32_t head(const Meta& m) const;  // the slot of the oldest sample (full ring)
  bool full(const Meta& m) const { return m.written >= static_cast<uint32_t>(lookback_); }
  void Rehash(size_t slots);

  int lookback_, features_;
  uint32_t size_ = 0;
  ChunkedArray<Meta> meta_{1};
  ChunkedArray<float> values_;
  ChunkedArray<int64_t> times_;
  // Keys, each as a u16 length and its bytes, in 64 KiB blocks that never
  // move; a key's offset is block << 16 | position.
  std::vector<std::unique_ptr<char[]>> key_blocks_;
  uint32_t key_used_ = 0;  // bytes used in the last block
  std::vector<uint32_t> index_;  // stream numbers by hash, kNone when free; size a power of 2
  std::vector<std::unique_ptr<ScoredStream>> scored_;
};

}  // namespace lstmad::daemon
