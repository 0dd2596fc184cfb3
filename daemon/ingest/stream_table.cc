#include "ingest/stream_table.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <functional>

namespace lstmad::daemon {
namespace {

constexpr uint32_t kKeyBlockBits = 16;
constexpr size_t kKeyBlockBytes = size_t{1} << kKeyBlockBits;
constexpr size_t kKeyLengthBytes = 2;
constexpr size_t kMaxKeyBlocks = size_t{1} << (32 - kKeyBlockBits);

}  // namespace

StreamTable::StreamTable(int lookback, int features)
    : lookback_(lookback),
      features_(features),
      values_(static_cast<size_t>(lookback) * static_cast<size_t>(features)),
      times_(static_cast<size_t>(lookback)) {
  Rehash(1024);
}

uint64_t StreamTable::Hash(std::string_view key) { return std::hash<std::string_view>{}(key); }

std::string_view StreamTable::key(uint32_t id) const {
  const uint32_t offset = meta_.record(id)->key_offset;
  const char* at = key_blocks_[offset >> kKeyBlockBits].get() + (offset & (kKeyBlockBytes - 1));
  uint16_t length = 0;
  std::memcpy(&length, at, kKeyLengthBytes);
  return {at + kKeyLengthBytes, length};
}

uint32_t StreamTable::Find(std::string_view key, uint64_t hash) const {
  const size_t mask = index_.size() - 1;
  for (size_t slot = hash & mask;; slot = (slot + 1) & mask) {
    const uint32_t id = index_[slot];
    if (id == kNone) return kNone;
    if (this->key(id) == key) return id;
  }
}

void StreamTable::Rehash(size_t slots) {
  std::vector<uint32_t> index(slots, kNone);
  const size_t mask = slots - 1;
  for (uint32_t id = 0; id < size_; ++id) {
    size_t slot = Hash(key(id)) & mask;
    while (index[slot] != kNone) slot = (slot + 1) & mask;
    index[slot] = id;
  }
  index_ = std::move(index);
}

uint32_t StreamTable::Insert(std::string_view key, uint64_t hash) {
  if (key.size() > kMaxKeyBytes || size_ == kNone - 1) return kNone;
  const size_t need = kKeyLengthBytes + key.size();
  if (key_blocks_.empty() || key_used_ + need > kKeyBlockBytes) {
    if (key_blocks_.size() == kMaxKeyBlocks) return kNone;
    key_blocks_.push_back(std::make_unique_for_overwrite<char[]>(kKeyBlockBytes));
    key_used_ = 0;
  }
  // Linear probing stays short below 80% load.
  if ((size_ + 1) * 5 > index_.size() * 4) Rehash(index_.size() * 2);
  const uint32_t id = size_++;
  meta_.Reserve(id);
  values_.Reserve(id);
  times_.Reserve(id);
  const auto offset = static_cast<uint32_t>(((key_blocks_.size() - 1) << kKeyBlockBits) | key_used_);
  char* at = key_blocks_.back().get() + key_used_;
  const auto length = static_cast<uint16_t>(key.size());
  std::memcpy(at, &length, kKeyLengthBytes);
  if (!key.empty()) std::memcpy(at + kKeyLengthBytes, key.data(), key.size());
  key_used_ += static_cast<uint32_t>(need);
  *meta_.record(id) = Meta{offset, 0, 0, 0};
  const size_t mask = index_.size() - 1;
  size_t slot = hash & mask;
  while (index_[slot] != kNone) slot = (slot + 1) & mask;
  index_[slot] = id;
  return id;
}

uint32_t StreamTable::head(const Meta& m) const {
  return full(m) ? m.written - static_cast<uint32_t>(lookback_) : 0;
}

bool StreamTable::Append(uint32_t id, const float* sample, int64_t time_ns) {
  Meta& m = *meta_.record(id);
  const auto t = static_cast<uint32_t>(lookback_);
  // The slot of the next sample: the free one while filling, else the oldest.
  const uint32_t slot = full(m) ? m.written - t : m.written;
  if (full(m)) ++m.after_full;
  std::copy(sample, sample + features_, values_.record(id) + static_cast<size_t>(slot) * static_cast<size_t>(features_));
  times_.record(id)[slot] = time_ns;
  ++m.written;
  if (m.written == 2 * t) m.written = t;  // wrapped: the oldest is slot 0 again
  return full(m);
}

void StreamTable::CopyWindow(uint32_t id, float* out, int stride) const {
  const Meta& m = *meta_.record(id);
  const float* ring = values_.record(id);
  if (stride != 0 && stride != features_) {
    // Room left after each step's values (a model's time inputs).
    const auto f = static_cast<size_t>(features_);
    const uint32_t h = head(m), t_count = static_cast<uint32_t>(lookback_);
    for (uint32_t t = 0; t < t_count; ++t) {
      const float* sample = ring + static_cast<size_t>((h + t) % t_count) * f;
      std::copy(sample, sample + f, out + static_cast<size_t>(t) * static_cast<size_t>(stride));
    }
    return;
  }
  const size_t split = static_cast<size_t>(head(m)) * static_cast<size_t>(features_);
  const size_t total = static_cast<size_t>(lookback_) * static_cast<size_t>(features_);
  out = std::copy(ring + split, ring + total, out);
  std::copy(ring, ring + split, out);
}

bool StreamTable::Newest(uint32_t id, int64_t* time_ns, const float** values) const {
  const Meta& m = *meta_.record(id);
  if (m.written == 0) return false;
  // While filling the newest is at written - 1; once full, written is in
  // [T, 2T) and the slot written last is (written - 1) mod T.
  const uint32_t slot = (m.written - 1) % static_cast<uint32_t>(lookback_);
  *time_ns = times_.record(id)[slot];
  if (values != nullptr) *values = values_.record(id) + static_cast<size_t>(slot) * static_cast<size_t>(features_);
  return true;
}

int64_t StreamTable::MedianIntervalNs(uint32_t id) const {
  const Meta& m = *meta_.record(id);
  const auto t = static_cast<uint32_t>(lookback_);
  const uint32_t held = std::min(full(m) ? t : m.written, static_cast<uint32_t>(kIntervalSamples));
  if (held < 3) return 0;
  std::array<int64_t, kIntervalSamples - 1> gaps{};
  const int64_t* times = times_.record(id);
  // Slots of the newest `held` samples, newest first: (written - 1 - k) mod T.
  const uint32_t newest = m.written - 1 + t;  // + T keeps the subtraction below non-negative
  for (uint32_t k = 0; k + 1 < held; ++k) {
    gaps[k] = times[(newest - k) % t] - times[(newest - k - 1) % t];
  }
  const size_t n = held - 1, middle = (n - 1) / 2;
  std::nth_element(gaps.begin(), gaps.begin() + static_cast<ptrdiff_t>(middle), gaps.begin() + static_cast<ptrdiff_t>(n));
  return gaps[middle];
}

int64_t StreamTable::step_time_ns(uint32_t id, int t) const {
  const uint32_t h = head(*meta_.record(id));
  return times_.record(id)[(h + static_cast<uint32_t>(t)) % static_cast<uint32_t>(lookback_)];
}

int64_t StreamTable::window_start_ns(uint32_t id) const { return times_.record(id)[head(*meta_.record(id))]; }

int64_t StreamTable::window_end_ns(uint32_t id) const {
  const uint32_t h = head(*meta_.record(id));
  return times_.record(id)[(h + static_cast<uint32_t>(lookback_) - 1) % static_cast<uint32_t>(lookback_)];
}

StreamSnapshot StreamTable::Save(uint32_t id, const std::string& model) const {
  const Meta& m = *meta_.record(id);
  StreamSnapshot s;
  s.model = model;
  s.key = std::string(key(id));
  s.lookback = lookback_;
  s.features = features_;
  s.samples = full(m) ? lookback_ + static_cast<int64_t>(m.after_full) : static_cast<int64_t>(m.written);
  const size_t total = static_cast<size_t>(lookback_) * static_cast<size_t>(features_);
  s.values.assign(total, 0.0f);
  s.times_ns.assign(static_cast<size_t>(lookback_), 0);
  if (full(m)) {
    CopyWindow(id, s.values.data());
    for (int t = 0; t < lookback_; ++t) {
      s.times_ns[static_cast<size_t>(t)] = times_.record(id)[(head(m) + static_cast<uint32_t>(t)) % static_cast<uint32_t>(lookback_)];
    }
  } else {
    // Still filling: slots 0..written-1 hold the samples, oldest first.
    std::copy(values_.record(id), values_.record(id) + static_cast<size_t>(m.written) * static_cast<size_t>(features_),
              s.values.begin());
    std::copy(times_.record(id), times_.record(id) + m.written, s.times_ns.begin());
  }
  return s;
}

void StreamTable::Load(uint32_t id, const StreamSnapshot& s) {
  Meta& m = *meta_.record(id);
  std::copy(s.values.begin(), s.values.end(), values_.record(id));
  std::copy(s.times_ns.begin(), s.times_ns.end(), times_.record(id));
  // A full window is stored oldest first, so the oldest sample is at slot 0.
  m.written = static_cast<uint32_t>(std::clamp<int64_t>(s.samples, 0, lookback_));
  m.after_full = s.samples > lookback_ ? static_cast<uint64_t>(s.samples - lookback_) : 0;
}

}  // namespace lstmad::daemon
