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

StreamSeries::Handles StreamSeries::Add(const prometheus::Labels& labels, bool anomaly_score,
                                        const std::vector<prometheus::Labels>& feature_labels,
                                        FeatureKinds kinds) {
  std::lock_guard lock(mutex_);
  Handles h{error_.Add(labels), anomalous_.Add(labels), anomalies_.Add(labels),
            anomaly_score ? score_.Add(labels) : nullptr, {}};
  if (!kinds.any() || feature_labels.empty()) return h;
  h.features.reserve(feature_labels.size());
  for (const prometheus::Labels& f : feature_labels) {
    FeatureHandles fh;
    if (kinds.observed) fh.observed = observed_.Add(f);
    if (kinds.expected) fh.expected = expected_.Add(f);
    if (kinds.band) {
      fh.expected_lower = lower_.Add(f);
      fh.expected_upper = upper_.Add(f);
    }
    if (kinds.error_share) fh.error_share = share_.Add(f);
    h.features.push_back(fh);
  }
  feature_labels_[labels] = feature_labels;
  return h;
}

void StreamSeries::Remove(const prometheus::Labels& labels) {
  std::lock_guard lock(mutex_);
  error_.metrics.erase(labels);
  anomalous_.metrics.erase(labels);
  anomalies_.metrics.erase(labels);
  score_.metrics.erase(labels);
  const auto features = feature_labels_.find(labels);
  if (features == feature_labels_.end()) return;
  for (const prometheus::Labels& f : features->second) {
    observed_.metrics.erase(f);
    expected_.metrics.erase(f);
    lower_.metrics.erase(f);
    upper_.metrics.erase(f);
    share_.metrics.erase(f);
  }
  feature_labels_.erase(features);
}

std::vector<prometheus::MetricFamily> StreamSeries::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  std::lock_guard lock(mutex_);
  error_.Collect(&out);
  anomalous_.Collect(&out);
  score_.Collect(&out);
  anomalies_.Collect(&out);
  observed_.Collect(&out);
  expected_.Collect(&out);
  lower_.Collect(&out);
  upper_.Collect(&out);
  share_.Collect(&out);
  return out;
}

}  // namespace lstmad::daemon
