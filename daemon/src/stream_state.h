// The state of one stream (a measurement plus its sorted tag set).
//
// The ring buffer of the last T samples belongs to the network thread, which
// appends samples and cuts windows from it. The alert state and metric
// handles belong to the scoring worker that owns the stream (streams are
// sharded over workers by key), which sees the stream's windows in order.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lstmad/daemon/alerts.h"
#include "lstmad/daemon/metrics.h"
#include "snapshot.h"

namespace lstmad::daemon {

class StreamState {
 public:
  StreamState(std::string key, int lookback, int features, int shard)
      : key_(std::move(key)),
        lookback_(lookback),
        features_(features),
        shard_(shard),
        values_(static_cast<size_t>(lookback) * static_cast<size_t>(features)),
        times_ns_(static_cast<size_t>(lookback)) {}

  const std::string& key() const { return key_; }
  int shard() const { return shard_; }
  int lookback() const { return lookback_; }
  int features() const { return features_; }

  // --- network thread ---
  // Appends one sample (raw, unscaled values). Returns true when the buffer
  // now holds a complete window ending at this sample.
  bool Append(const float* sample, int64_t time_ns);
  // Copies the current window oldest-first into `out` [T*F], step-major.
  void CopyWindow(float* out) const;
  int64_t window_start_ns() const;
  int64_t window_end_ns() const;
  int64_t samples() const { return samples_; }
  // Keeps the buffered samples when the model is reloaded with the same shape.
  bool SameShape(int lookback, int features) const { return lookback == lookback_ && features == features_; }

  // Snapshot and restore (network thread, with the scorer drained so the
  // alert state is quiescent).
  StreamSnapshot Save(const std::string& model) const;
  void Load(const StreamSnapshot& snapshot);  // shapes must match

  // --- scoring worker ---
  AlertState alert;
  StreamMetrics metrics;
  bool metrics_ready = false;

 private:
  std::string key_;
  int lookback_, features_, shard_;
  std::vector<float> values_;     // ring of T samples, F values each
  std::vector<int64_t> times_ns_;
  int head_ = 0;                  // slot of the next sample
  int64_t samples_ = 0;
};

}  // namespace lstmad::daemon
