// A stream's own retraining (models[].retrain.scope: stream,
// docs/retraining.md): the stream's newest normal windows, and the model
// fine-tuned on them for this stream alone.
//
// Threads: the stream's scoring worker makes it at the stream's first scored
// window, appends the stream's normal windows to `ring` (which locks itself)
// and, at each window, takes the newest model offered (TakeOffered); the
// retraining thread fine-tunes from Latest() on a Snapshot of the ring and
// Offers the candidate that passed. `retired` is set with the scorer drained,
// when the stream goes away; the retraining thread then forgets it.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "scoring/model_runtime.h"
#include "scoring/window_ring.h"

namespace lstmad::daemon {

class StreamRetrain {
 public:
  StreamRetrain(std::string model, std::string stream, int timesteps, int inputs, int capacity)
      : model_name(std::move(model)), stream_key(std::move(stream)), ring(timesteps, inputs, capacity) {}

  const std::string model_name;
  const std::string stream_key;
  WindowRing ring;
  std::atomic<bool> retired{false};

  // Retraining thread: `runtime` now serves this stream, from its next window.
  void Offer(std::shared_ptr<const ModelRuntime> runtime) {
    std::lock_guard lock(mutex_);
    latest_ = std::move(runtime);
    offered_.store(true, std::memory_order_release);
  }
  // The newest model offered (null: none yet), what the next fine-tune starts from.
  std::shared_ptr<const ModelRuntime> Latest() const {
    std::lock_guard lock(mutex_);
    return latest_;
  }
  // Scoring worker: the model offered since its last call, or null. Costs one
  // atomic load per window while nothing is offered.
  std::shared_ptr<const ModelRuntime> TakeOffered() {
    if (!offered_.load(std::memory_order_acquire)) return nullptr;
    std::lock_guard lock(mutex_);
    offered_.store(false, std::memory_order_relaxed);
    return latest_;
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const ModelRuntime> latest_;
  std::atomic<bool> offered_{false};
};

}  // namespace lstmad::daemon
