#include "scoring/stream_state.h"

#include <prometheus/gauge.h>

namespace lstmad::daemon {

void OwnModel::reset(std::shared_ptr<const ModelRuntime> runtime) noexcept {
  if (runtime != nullptr && runtime->metrics.stream_models != nullptr)
    runtime->metrics.stream_models->Increment();
  if (runtime_ != nullptr && runtime_->metrics.stream_models != nullptr)
    runtime_->metrics.stream_models->Decrement();
  runtime_ = std::move(runtime);
}

}  // namespace lstmad::daemon
