// StreamHistory: what the web console (daemon/console, docs/console.md)
// shows of one stream: its last N scored windows (error, threshold in
// effect, and per feature the newest sample observed, its reconstruction
// and the feature's error) in a fixed ring, and its last alert transitions.
// HistoryRegistry: every live stream's history, for the console to list.
//
// Ownership: a stream's StreamScoringState owns its history (shared_ptr);
// the registry only watches (weak_ptr), so a history disappears from it when
// its stream's state goes away, whichever path drops it (retire, forget on a
// cluster handover, a reload that reshapes the model).
//
// Threads: Record/RecordAlert run on the scoring worker that owns the stream;
// Copy/Latest on any thread (the console's, the io thread). Each history has
// its own mutex, held only to copy a few floats, so a reader never stalls
// scoring for more than one copy of one stream. The ring is allocated when
// the history is made (the stream's first window) and never again.
// HistoryRegistry is thread-safe and must outlive every history it made.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "alerting/alerts.h"

namespace lstmad::daemon {

class HistoryRegistry;

// One scored window, as the console keeps it.
struct HistoryPoint {
  int64_t end_ns = 0;     // the window's last sample's timestamp
  double error = 0;       // the window's reconstruction error (scaled units; NaN/inf kept)
  double threshold = 0;   // the threshold in effect (the detector's when it has one)
  bool above = false;     // counted as anomalous for the stream's alert
};

// A consistent copy of one stream's history, oldest window first.
struct HistoryCopy {
  std::string model;
  std::string key;
  int features = 0;  // F: values per window in each of the three arrays below
  int scored = 0;    // features with an error (the model's scored features, <= F)
  std::vector<HistoryPoint> points;
  std::vector<float> observed;       // [points x F] newest sample of each window, raw units
  std::vector<float> reconstructed;  // [points x F] its reconstruction, raw units
  std::vector<float> feature_error;  // [points x scored] MSE per feature (scaled units)
  std::deque<AlertEvent> alerts;     // last transitions, oldest first (at most kMaxAlerts)
  bool firing = false;
  uint64_t windows = 0;  // windows recorded in all (may exceed points.size())
};

// The newest window only: what the overview sorts by.
struct HistoryLatest {
  HistoryPoint point;
  uint64_t windows = 0;  // 0: nothing scored yet (point is meaningless)
  bool firing = false;
  int64_t fired_ns = 0;  // when the active alert fired (firing only)
};

class StreamHistory {
 public:
  static constexpr size_t kMaxAlerts = 20;

  // Use HistoryRegistry::Create.
  StreamHistory(HistoryRegistry* registry, std::string model, std::string key, int capacity, int features,
                int scored);
  ~StreamHistory();
  StreamHistory(const StreamHistory&) = delete;
  StreamHistory& operator=(const StreamHistory&) = delete;

  const std::string& model() const { return model_; }
  const std::string& key() const { return key_; }
  int capacity() const { return capacity_; }

  // `observed` and `reconstructed`: F floats; `feature_error`: `scored` floats.
  void Record(const HistoryPoint& point, const float* observed, const float* reconstructed,
              const float* feature_error);
  void RecordAlert(const AlertEvent& event);
  HistoryCopy Copy() const;
  HistoryLatest Latest() const;
  // The event that fired the stream's alert while it fires; nullopt otherwise.
  std::optional<AlertEvent> ActiveAlert() const;
  // The last `n` points (n <= capacity), oldest first: the overview's sparkline.
  std::vector<HistoryPoint> LastPoints(int n) const;

 private:
  size_t Slot(uint64_t age_back) const;  // the ring slot of the window `age_back` before the newest

  HistoryRegistry* registry_;
  const std::string model_, key_;
  const int capacity_, features_, scored_;
  mutable std::mutex mutex_;
  uint64_t windows_ = 0;  // recorded in all; the newest is at slot (windows_ - 1) % capacity_
  std::vector<HistoryPoint> points_;
  std::vector<float> observed_, reconstructed_, feature_error_;
  std::deque<AlertEvent> alerts_;
  bool firing_ = false;
  int64_t fired_ns_ = 0;
};

class HistoryRegistry {
 public:
  // `capacity`: windows kept per stream (console.history).
  explicit HistoryRegistry(int capacity) : capacity_(capacity) {}
  HistoryRegistry(const HistoryRegistry&) = delete;
  HistoryRegistry& operator=(const HistoryRegistry&) = delete;

  int capacity() const { return capacity_; }
  // A new, registered history for a stream of `model` with `features`
  // values per sample, `scored` of which have errors.
  std::shared_ptr<StreamHistory> Create(std::string_view model, std::string_view key, int features,
                                        int scored);
  // Every live history, in no particular order.
  std::vector<std::shared_ptr<const StreamHistory>> List() const;
  size_t size() const;

 private:
  friend class StreamHistory;
  void Unregister(const StreamHistory* history);

  const int capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<const StreamHistory*, std::weak_ptr<const StreamHistory>> live_;
};

// Bytes one stream's history holds beyond its key: what docs/console.md states.
size_t HistoryBytesPerStream(int capacity, int features, int scored);

}  // namespace lstmad::daemon
