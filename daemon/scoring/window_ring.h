// WindowRing: a model's most recent normal windows for retraining, in their
// raw units ([T*F] floats each, oldest step first, as WindowJob holds them).
// Its storage, capacity x T x F floats, is allocated once in the constructor;
// Append copies into it and overwrites the oldest windows when full, so the
// scoring workers never allocate here. Thread-safe: one mutex, taken once
// per Append (a batch) and once per Snapshot.
#pragma once

#include <cstdint>
#include <mutex>
#include <vector>

#include "lstmad/core/windows.h"

namespace lstmad::daemon {

class WindowRing {
 public:
  WindowRing(int timesteps, int features, int capacity);

  int timesteps() const { return timesteps_; }
  int features() const { return features_; }
  int capacity() const { return capacity_; }

  // Copies `count` windows of T*F floats each.
  void Append(const float* const* windows, int count);
  // Windows held now (<= capacity).
  int size() const;
  // Everything held, oldest first, as a WindowSet in the network's layout
  // (window n is columns n*T .. n*T+T-1); the copy is the caller's.
  core::WindowSet<float> Snapshot() const;
  void Clear();

 private:
  const int timesteps_, features_, capacity_;
  const size_t stride_;  // floats per window
  mutable std::mutex mutex_;
  std::vector<float> data_;
  int next_ = 0;  // slot the next window goes to
  int count_ = 0;
};

}  // namespace lstmad::daemon
