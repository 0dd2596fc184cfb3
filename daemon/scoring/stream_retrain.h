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
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "lstmad/core/architecture.h"
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

// What `scope: stream` retraining holds for one stream of `model`, at most:
// its buffer of max_windows windows (floats) and, once a fine-tune passed,
// its own model. The model's part is an estimate, 8 bytes per parameter: its
// weights and the network built from them, measured at 8.2 bytes per
// parameter over 1,000 streams (docs/retraining.md).
struct StreamRetrainFootprint {
  int64_t window_bytes = 0;
  int64_t model_bytes = 0;
  int64_t total() const { return window_bytes + model_bytes; }
};
inline StreamRetrainFootprint StreamRetrainBytes(const ModelRuntime& model) {
  StreamRetrainFootprint f;
  f.window_bytes = int64_t{model.settings.retrain.max_windows} * model.lookback() * model.inputs() *
                   static_cast<int64_t>(sizeof(float));
  f.model_bytes = 8 * core::TotalParamCount(model.model.architecture);
  return f;
}

}  // namespace lstmad::daemon
