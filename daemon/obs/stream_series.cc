#include "obs/stream_series.h"

#include <utility>

namespace lstmad::daemon {

template <typename T>
T* StreamSeries::Series<T>::Add(const prometheus::Labels& labels) {
  auto [it, inserted] = metrics.try_emplace(labels);
  if (inserted) it->second = std::make_unique<T>();
  return it->second.get();
}

// As prometheus::Family<T>::Collect: nothing while empty; each series with
// its labels in the map's (name) order.
template <typename T>
void StreamSeries::Series<T>::Collect(std::vector<prometheus::MetricFamily>* out) const {
  if (metrics.empty()) return;
  prometheus::MetricFamily family{name, help, type, {}};
  family.metric.reserve(metrics.size());
  for (const auto& [labels, metric] : metrics) {
    prometheus::ClientMetric collected = metric->Collect();
    for (const auto& [label, value] : labels) collected.label.push_back({label, value});
    family.metric.push_back(std::move(collected));
  }
  out->push_back(std::move(family));
}

StreamSeries::Handles StreamSeries::Add(const prometheus::Labels& labels, bool anomaly_score) {
  std::lock_guard lock(mutex_);
  return Handles{error_.Add(labels), anomalous_.Add(labels), anomalies_.Add(labels),
                 anomaly_score ? score_.Add(labels) : nullptr};
}

void StreamSeries::Remove(const prometheus::Labels& labels) {
  std::lock_guard lock(mutex_);
  error_.metrics.erase(labels);
  anomalous_.metrics.erase(labels);
  anomalies_.metrics.erase(labels);
  score_.metrics.erase(labels);
}

std::vector<prometheus::MetricFamily> StreamSeries::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  std::lock_guard lock(mutex_);
  error_.Collect(&out);
  anomalous_.Collect(&out);
  score_.Collect(&out);
  anomalies_.Collect(&out);
  return out;
}

}  // namespace lstmad::daemon
