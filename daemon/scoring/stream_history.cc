#include "scoring/stream_history.h"

#include <algorithm>
#include <utility>

namespace lstmad::daemon {

StreamHistory::StreamHistory(HistoryRegistry* registry, std::string model, std::string key, int capacity,
                             int features, int scored)
    : registry_(registry),
      model_(std::move(model)),
      key_(std::move(key)),
      capacity_(std::max(capacity, 1)),
      features_(features),
      scored_(scored),
      points_(static_cast<size_t>(capacity_)),
      observed_(static_cast<size_t>(capacity_) * static_cast<size_t>(features)),
      reconstructed_(static_cast<size_t>(capacity_) * static_cast<size_t>(features)),
      feature_error_(static_cast<size_t>(capacity_) * static_cast<size_t>(scored)) {}

StreamHistory::~StreamHistory() {
  if (registry_ != nullptr) registry_->Unregister(this);
}

size_t StreamHistory::Slot(uint64_t age_back) const {
  return static_cast<size_t>((windows_ - 1 - age_back) % static_cast<uint64_t>(capacity_));
}

void StreamHistory::Record(const HistoryPoint& point, const float* observed, const float* reconstructed,
                           const float* feature_error) {
  const std::lock_guard lock(mutex_);
  ++windows_;
  const size_t slot = Slot(0);
  points_[slot] = point;
  const auto f = static_cast<size_t>(features_), s = static_cast<size_t>(scored_);
  std::copy_n(observed, f, observed_.begin() + static_cast<ptrdiff_t>(slot * f));
  std::copy_n(reconstructed, f, reconstructed_.begin() + static_cast<ptrdiff_t>(slot * f));
  std::copy_n(feature_error, s, feature_error_.begin() + static_cast<ptrdiff_t>(slot * s));
}

void StreamHistory::RecordAlert(const AlertEvent& event) {
  const std::lock_guard lock(mutex_);
  if (alerts_.size() == kMaxAlerts) alerts_.pop_front();
  alerts_.push_back(event);
  firing_ = event.kind == "fired";
  fired_ns_ = firing_ ? event.time_ns : 0;
}

HistoryCopy StreamHistory::Copy() const {
  HistoryCopy out;
  out.model = model_;
  out.key = key_;
  out.features = features_;
  out.scored = scored_;
  const auto f = static_cast<size_t>(features_), s = static_cast<size_t>(scored_);
  const std::lock_guard lock(mutex_);
  const auto n = static_cast<size_t>(std::min<uint64_t>(windows_, static_cast<uint64_t>(capacity_)));
  out.points.reserve(n);
  out.observed.reserve(n * f);
  out.reconstructed.reserve(n * f);
  out.feature_error.reserve(n * s);
  for (size_t i = n; i-- > 0;) {
    const size_t slot = Slot(i);
    out.points.push_back(points_[slot]);
    const auto at = [&](const std::vector<float>& v, size_t width) {
      return v.begin() + static_cast<ptrdiff_t>(slot * width);
    };
    out.observed.insert(out.observed.end(), at(observed_, f), at(observed_, f) + static_cast<ptrdiff_t>(f));
    out.reconstructed.insert(out.reconstructed.end(), at(reconstructed_, f),
                             at(reconstructed_, f) + static_cast<ptrdiff_t>(f));
    out.feature_error.insert(out.feature_error.end(), at(feature_error_, s),
                             at(feature_error_, s) + static_cast<ptrdiff_t>(s));
  }
  out.alerts = alerts_;
  out.firing = firing_;
  out.windows = windows_;
  return out;
}

HistoryLatest StreamHistory::Latest() const {
  const std::lock_guard lock(mutex_);
  HistoryLatest out;
  out.windows = windows_;
  if (windows_ > 0) out.point = points_[Slot(0)];
  out.firing = firing_;
  out.fired_ns = fired_ns_;
  return out;
}

std::optional<AlertEvent> StreamHistory::ActiveAlert() const {
  const std::lock_guard lock(mutex_);
  if (!firing_ || alerts_.empty()) return std::nullopt;
  return alerts_.back();
}

std::vector<HistoryPoint> StreamHistory::LastPoints(int n) const {
  const std::lock_guard lock(mutex_);
  const auto count = static_cast<size_t>(
      std::min<uint64_t>({windows_, static_cast<uint64_t>(capacity_), static_cast<uint64_t>(std::max(n, 0))}));
  std::vector<HistoryPoint> out;
  out.reserve(count);
  for (size_t i = count; i-- > 0;) out.push_back(points_[Slot(i)]);
  return out;
}

std::shared_ptr<StreamHistory> HistoryRegistry::Create(std::string_view model, std::string_view key,
                                                       int features, int scored) {
  auto history = std::make_shared<StreamHistory>(this, std::string(model), std::string(key), capacity_,
                                                 features, scored);
  const std::lock_guard lock(mutex_);
  live_.emplace(history.get(), history);
  return history;
}

std::vector<std::shared_ptr<const StreamHistory>> HistoryRegistry::List() const {
  std::vector<std::shared_ptr<const StreamHistory>> out;
  const std::lock_guard lock(mutex_);
  out.reserve(live_.size());
  for (const auto& [ptr, weak] : live_) {
    // Null while its destructor waits for this mutex to unregister it.
    if (auto history = weak.lock()) out.push_back(std::move(history));
  }
  return out;
}

size_t HistoryRegistry::size() const {
  const std::lock_guard lock(mutex_);
  return live_.size();
}

void HistoryRegistry::Unregister(const StreamHistory* history) {
  const std::lock_guard lock(mutex_);
  live_.erase(history);
}

size_t HistoryBytesPerStream(int capacity, int features, int scored) {
  return sizeof(StreamHistory) + static_cast<size_t>(capacity) * (sizeof(HistoryPoint) +
                                                                  sizeof(float) * static_cast<size_t>(2 * features + scored));
}

}  // namespace lstmad::daemon
