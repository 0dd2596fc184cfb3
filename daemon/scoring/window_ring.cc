#include "scoring/window_ring.h"

#include <algorithm>
#include <cstring>

namespace lstmad::daemon {

WindowRing::WindowRing(int timesteps, int features, int capacity)
    : timesteps_(timesteps),
      features_(features),
      capacity_(std::max(capacity, 1)),
      stride_(static_cast<size_t>(timesteps) * static_cast<size_t>(features)),
      data_(stride_ * static_cast<size_t>(capacity_)) {}

void WindowRing::Append(const float* const* windows, int count) {
  std::lock_guard lock(mutex_);
  for (int i = 0; i < count; ++i) {
    std::memcpy(data_.data() + stride_ * static_cast<size_t>(next_), windows[i], stride_ * sizeof(float));
    next_ = (next_ + 1) % capacity_;
    count_ = std::min(count_ + 1, capacity_);
  }
}

int WindowRing::size() const {
  std::lock_guard lock(mutex_);
  return count_;
}

core::WindowSet<float> WindowRing::Snapshot() const {
  core::WindowSet<float> out;
  out.timesteps = timesteps_;
  out.features = features_;
  std::lock_guard lock(mutex_);
  out.count = count_;
  out.data.resize(features_, static_cast<Eigen::Index>(count_) * timesteps_);
  // A slot of T*F floats, step-major, is exactly one window's F x T block of
  // the column-major WindowSet, so the ring copies over in (at most) two runs.
  const int oldest = count_ < capacity_ ? 0 : next_;
  const size_t first_run = static_cast<size_t>(std::min(count_, capacity_ - oldest));
  float* dst = out.data.data();
  // std::copy_n, not memcpy: with nothing to copy the pointers may be null.
  std::copy_n(data_.data() + stride_ * static_cast<size_t>(oldest), first_run * stride_, dst);
  std::copy_n(data_.data(), (static_cast<size_t>(count_) - first_run) * stride_, dst + first_run * stride_);
  out.last_sample.clear();
  return out;
}

void WindowRing::Clear() {
  std::lock_guard lock(mutex_);
  next_ = 0;
  count_ = 0;
}

}  // namespace lstmad::daemon
