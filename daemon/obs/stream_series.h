// StreamSeries: the per-stream series (lstmad_stream_reconstruction_error,
// lstmad_stream_anomalous, lstmad_stream_anomalies_total,
// lstmad_stream_anomaly_score), kept outside the prometheus-cpp registry so
// that a stream that goes away is unregistered in constant time.
// prometheus-cpp 1.0's Family::Remove searches its family linearly, so
// retiring n of N streams cost O(n N): a reload that reshaped a model with
// 20,000 scored streams held the event loop for 35 s.
//
// With a model's `export:` list, a stream also has per-feature series
// (lstmad_stream_feature_observed, _expected, _expected_lower,
// _expected_upper, lstmad_stream_feature_error_share), one per feature and
// kind, labelled like the stream's others plus `feature`; they come and go
// with the stream's.
//
// Exported as prometheus-cpp exports a family (docs/metrics.md pins it):
// each family's series in the order of a map of the same type and hasher
// prometheus::Family keeps, and no family at all while it has no series.
// Gauges and counters handed out stay valid until Remove(); thread-safe
// (one mutex for lookups, additions, removals and Collect()).
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/detail/utils.h>
#include <prometheus/gauge.h>
#include <prometheus/labels.h>
#include <prometheus/metric_family.h>

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace lstmad::daemon {

class StreamSeries : public prometheus::Collectable {
 public:
  // One feature's series; null for the kinds not exported.
  struct FeatureHandles {
    prometheus::Gauge* observed = nullptr;
    prometheus::Gauge* expected = nullptr;
    prometheus::Gauge* expected_lower = nullptr;  // with expected_upper: the band
    prometheus::Gauge* expected_upper = nullptr;
    prometheus::Gauge* error_share = nullptr;
  };
  // Which per-feature kinds a stream exports.
  struct FeatureKinds {
    bool observed = false, expected = false, band = false, error_share = false;
    bool any() const { return observed || expected || band || error_share; }
  };
  struct Handles {
    prometheus::Gauge* reconstruction_error = nullptr;
    prometheus::Gauge* anomalous = nullptr;
    prometheus::Counter* anomalies = nullptr;
    prometheus::Gauge* anomaly_score = nullptr;  // only when asked for
    std::vector<FeatureHandles> features;        // one per `feature_labels`, in order
  };

  // The stream's series, created at 0 on first use (as Family::Add: an
  // existing series is returned as it is). `feature_labels`: one label set
  // per feature (the stream's labels plus `feature`), used with `kinds`.
  Handles Add(const prometheus::Labels& labels, bool anomaly_score,
              const std::vector<prometheus::Labels>& feature_labels, FeatureKinds kinds);
  Handles Add(const prometheus::Labels& labels, bool anomaly_score) {
    return Add(labels, anomaly_score, {}, FeatureKinds{});
  }
  // Unregisters and frees the stream's series, its per-feature ones too;
  // no-op for those it has not.
  void Remove(const prometheus::Labels& labels);

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  // One family's series, as prometheus::Family<T> keeps them.
  template <typename T>
  struct Series {
    const char* name;
    const char* help;
    prometheus::MetricType type;
    std::unordered_map<prometheus::Labels, std::unique_ptr<T>, prometheus::detail::LabelHasher> metrics;

    T* Add(const prometheus::Labels& labels);
    void Collect(std::vector<prometheus::MetricFamily>* out) const;
  };

  mutable std::mutex mutex_;
  // A stream's labels -> its features' label sets, for Remove().
  std::unordered_map<prometheus::Labels, std::vector<prometheus::Labels>, prometheus::detail::LabelHasher>
      feature_labels_;
  Series<prometheus::Gauge> error_{"lstmad_stream_reconstruction_error",
                                   "Reconstruction error of the stream's latest window (scaled units).",
                                   prometheus::MetricType::Gauge,
                                   {}};
  Series<prometheus::Gauge> anomalous_{"lstmad_stream_anomalous",
                                       "1 while the stream's alert is firing, else 0.",
                                       prometheus::MetricType::Gauge,
                                       {}};
  Series<prometheus::Gauge> score_{"lstmad_stream_anomaly_score",
                                   "Anomaly score of the stream's latest window in [0, 1]: at or above "
                                   "0.5 when a new excursion starts there (docs/detection.md).",
                                   prometheus::MetricType::Gauge,
                                   {}};
  Series<prometheus::Counter> anomalies_{"lstmad_stream_anomalies_total",
                                         "Times the stream's alert fired.",
                                         prometheus::MetricType::Counter,
                                         {}};
  Series<prometheus::Gauge> observed_{"lstmad_stream_feature_observed",
                                      "The feature's value at the end of the stream's latest scored window "
                                      "(the feature's own units).",
                                      prometheus::MetricType::Gauge,
                                      {}};
  Series<prometheus::Gauge> expected_{"lstmad_stream_feature_expected",
                                      "The model's reconstruction of that value (the feature's own units).",
                                      prometheus::MetricType::Gauge,
                                      {}};
  Series<prometheus::Gauge> lower_{"lstmad_stream_feature_expected_lower",
                                   "Lower edge of the expected band: expected minus k times the stream's "
                                   "recent residual spread (docs/prometheus.md).",
                                   prometheus::MetricType::Gauge,
                                   {}};
  Series<prometheus::Gauge> upper_{"lstmad_stream_feature_expected_upper",
                                   "Upper edge of the expected band: expected plus k times the stream's "
                                   "recent residual spread (docs/prometheus.md).",
                                   prometheus::MetricType::Gauge,
                                   {}};
  Series<prometheus::Gauge> share_{"lstmad_stream_feature_error_share",
                                   "The feature's share of the latest window's reconstruction error, in "
                                   "[0, 1].",
                                   prometheus::MetricType::Gauge,
                                   {}};
};

}  // namespace lstmad::daemon
