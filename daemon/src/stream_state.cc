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

StreamSnapshot StreamState::Save(const std::string& model) const {
  StreamSnapshot s{model, key_, lookback_, features_, samples_, alert.firing(), alert.run(), {}, {}};
  s.values.resize(values_.size());
  s.times_ns.resize(times_ns_.size());
  if (samples_ >= lookback_) {
    CopyWindow(s.values.data());
    for (int t = 0; t < lookback_; ++t) {
      s.times_ns[static_cast<size_t>(t)] = times_ns_[static_cast<size_t>((head_ + t) % lookback_)];
    }
  } else {
    // Not yet full: slots 0..samples-1 hold the samples, oldest first.
    s.values = values_;
    s.times_ns = times_ns_;
  }
  return s;
}

void StreamState::Load(const StreamSnapshot& s) {
  values_ = s.values;
  times_ns_ = s.times_ns;
  samples_ = s.samples;
  head_ = samples_ >= lookback_ ? 0 : static_cast<int>(samples_);
  alert.Restore(s.firing, s.alert_run);
}

}  // namespace lstmad::daemon
