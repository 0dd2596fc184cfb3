#include "stream_state.h"

#include <algorithm>

namespace lstmad::daemon {

bool StreamState::Append(const float* sample, int64_t time_ns) {
  std::copy(sample, sample + features_, values_.begin() + static_cast<ptrdiff_t>(head_) * features_);
  times_ns_[static_cast<size_t>(head_)] = time_ns;
  head_ = (head_ + 1) % lookback_;
  ++samples_;
  return samples_ >= lookback_;
}

void StreamState::CopyWindow(float* out) const {
  // The oldest sample sits at head_ once the ring is full.
  const auto split = static_cast<ptrdiff_t>(head_) * features_;
  out = std::copy(values_.begin() + split, values_.end(), out);
  std::copy(values_.begin(), values_.begin() + split, out);
}

int64_t StreamState::window_start_ns() const { return times_ns_[static_cast<size_t>(head_)]; }

int64_t StreamState::window_end_ns() const {
  return times_ns_[static_cast<size_t>((head_ + lookback_ - 1) % lookback_)];
}

}  // namespace lstmad::daemon
