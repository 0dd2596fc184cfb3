// The streams of one model (a stream is a measurement plus its sorted tag
// set), stored so that an idle stream costs its window plus a few dozen bytes:
// 100,000 sensors that report now and then must not cost a heap object each.
//
// Every stream has a number; its key, ring of the last T samples (values and
// timestamps) and ring position live in flat chunked arrays indexed by that
// number, found through an open-addressing hash index of 4-byte slots. What
// scoring keeps per stream (alert state, metric handles, detector) is not
// here: it lives in scoring's StreamStates, indexed by the same number.
//
// Threads: the network thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ingest/snapshot.h"

namespace lstmad::daemon {

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
  // The current window oldest-first into `out`, step-major: step t's F
  // values at out + t * stride (stride >= F; 0 means F, i.e. [T*F] packed).
  void CopyWindow(uint32_t id, float* out, int stride = 0) const;
  // The stream's newest sample: false when it has none (new, or just
  // restarted); else its time into `*time_ns` and, given `values`, a pointer
  // to its F values (valid until the next Append).
  bool Newest(uint32_t id, int64_t* time_ns, const float** values = nullptr) const;
  // The stream's sampling interval as its recent samples show it: the lower
  // median of the intervals between its last (at most kIntervalSamples)
  // samples; 0 with fewer than 3 samples.
  static constexpr int kIntervalSamples = 9;
  int64_t MedianIntervalNs(uint32_t id) const;
  // Forgets the stream's samples: the next Append starts a new window (a
  // gap too long to join both sides; docs/wire-protocol.md).
  void Restart(uint32_t id) { meta_.record(id)->written = 0; }
  // The time of step t of the current window (0: the oldest).
  int64_t step_time_ns(uint32_t id, int t) const;
  int64_t window_start_ns(uint32_t id) const;
  int64_t window_end_ns(uint32_t id) const;

  // When the stream last had a sample, on the caller's monotonic clock (ns;
  // 0 for a stream inserted and never touched): what an expiry sweep reads.
  void Touch(uint32_t id, int64_t now_ns) { meta_.record(id)->last_active_ns = now_ns; }
  int64_t last_active_ns(uint32_t id) const { return meta_.record(id)->last_active_ns; }

  // The stream's window and sample count in a snapshot (the alert and
  // detector fields are scoring's, left empty) and back. Load needs the
  // same shape.
  StreamSnapshot Save(uint32_t id, const std::string& model) const;
  void Load(uint32_t id, const StreamSnapshot& snapshot);

 private:
  struct Meta {
    uint32_t key_offset;
    // Samples written while the ring fills (< T); once full it stays in
    // [T, 2T) and the oldest sample's slot is written - T.
    uint32_t written;
    // Samples appended after the ring was full (`written` counts only up
    // to T), so snapshots carry the stream's total.
    uint64_t after_full;
    int64_t last_active_ns;  // Touch(): what limits.stream_expiry_s measures
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
};

}  // namespace lstmad::daemon
