// Metrics: every Prometheus metric lstmad exports (names and labels are a
// contract for dashboards and alert rules; see docs/metrics.md), registered
// in one prometheus-cpp registry; net/http_server.h serves Scrape() at /metrics.
//
// Handles returned by ForModel()/ForStream() stay valid for the Metrics'
// lifetime (a stream's until RemoveStream()); prometheus-cpp's counters, gauges and histograms are
// thread-safe, and so are the lookups here (they take an internal mutex; callers cache the handles so the hot
// path does not look them up).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "lstmad/core/status.h"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
struct MetricFamily;
template <typename T>
class Family;
}  // namespace prometheus

namespace lstmad::daemon {

// Reasons a sample is rejected: the `reason` label of lstmad_samples_rejected_total.
enum class RejectReason {
  kParseError,
  kUnknownMeasurement,
  kMissingField,
  kNonFinite,
  kTooManyStreams,
  kLineTooLong,
  kFormatControl,  // a Unicode bidi or format control in a name (line_protocol.h)
  kOutOfRange,
  kOutOfOrder,  // older than the stream's newest sample (docs/wire-protocol.md)
};
const char* RejectReasonName(RejectReason reason);

struct ModelMetrics {
  prometheus::Counter* samples_received = nullptr;   // lstmad_samples_received_total{model}
  prometheus::Counter* windows_scored = nullptr;     // lstmad_windows_scored_total{model}
  // lstmad_windows_nonfinite_total{model}: scored windows whose error was not finite.
  prometheus::Counter* windows_nonfinite = nullptr;
  prometheus::Histogram* reconstruction_error = nullptr;  // lstmad_reconstruction_error{model}
  prometheus::Gauge* threshold = nullptr;            // lstmad_model_threshold{model}
  prometheus::Histogram* inference_duration = nullptr;    // lstmad_inference_duration_seconds{model}
  prometheus::Histogram* sample_to_score = nullptr;       // lstmad_sample_to_score_seconds{model}
  prometheus::Histogram* batch_size = nullptr;            // lstmad_inference_batch_size{model}
  prometheus::Gauge* streams = nullptr;              // lstmad_streams{model}
  // lstmad_streams_own_model{model}: streams scored by a model fine-tuned for
  // them alone (retrain.scope: stream; OwnModel keeps it).
  prometheus::Gauge* stream_models = nullptr;
  // lstmad_vectors_dropped_total{model,reason="incomplete"}: assembled
  // vectors given up (a field missing beyond models[].assembly's bounds).
  prometheus::Counter* vectors_dropped_incomplete = nullptr;
  // lstmad_values_carried_forward_total{model}: missing fields filled with their last value.
  prometheus::Counter* values_carried_forward = nullptr;
  // lstmad_window_restarts_total{model,reason="gap"}: windows restarted by models[].max_gap_intervals.
  prometheus::Counter* window_restarts_gap = nullptr;
  // lstmad_guard_overrides_total{model,verdict}: only for models with guards (null otherwise).
  prometheus::Counter* guard_normal = nullptr;
  prometheus::Counter* guard_anomalous = nullptr;
  // lstmad_changes_accepted_total{model}: firing alerts whose lasting change
  // the detector took as the new normal (detector.likelihood_accept_after).
  prometheus::Counter* changes_accepted = nullptr;
  // The two per-window histograms' bucket bounds, for HistogramBatch.
  std::vector<double> reconstruction_error_bounds, sample_to_score_bounds;
};

// Observations gathered over one batch and handed to their histogram in one
// locked call: prometheus-cpp takes the histogram's mutex per Observe(), which
// scoring workers sharing a model's histograms would otherwise contend on for
// every window. Not thread-safe; one per worker.
class HistogramBatch {
 public:
  void Start(const std::vector<double>* bounds);
  void Add(double value);
  void Flush(prometheus::Histogram* histogram);  // and starts empty again

 private:
  const std::vector<double>* bounds_ = nullptr;
  std::vector<double> counts_;  // per bucket, +Inf last
  double sum_ = 0;
  bool any_ = false;
};

// One feature's exported series (models[].export); null: that kind is not exported.
struct StreamFeatureMetrics {
  prometheus::Gauge* observed = nullptr;        // lstmad_stream_feature_observed{model,stream,feature}
  prometheus::Gauge* expected = nullptr;        // lstmad_stream_feature_expected{...}
  prometheus::Gauge* expected_lower = nullptr;  // lstmad_stream_feature_expected_lower{...} (band)
  prometheus::Gauge* expected_upper = nullptr;  // lstmad_stream_feature_expected_upper{...} (band)
  prometheus::Gauge* error_share = nullptr;     // lstmad_stream_feature_error_share{...}
};

struct StreamMetrics {
  prometheus::Gauge* reconstruction_error = nullptr;  // lstmad_stream_reconstruction_error{model,stream}
  prometheus::Gauge* anomalous = nullptr;             // lstmad_stream_anomalous{model,stream}
  prometheus::Counter* anomalies = nullptr;           // lstmad_stream_anomalies_total{model,stream}
  prometheus::Gauge* anomaly_score = nullptr;         // lstmad_stream_anomaly_score{model,stream}, if exported
  std::vector<StreamFeatureMetrics> features;         // per model feature, in order; empty: none exported
};

// What per-feature series a stream exports (a model's `export:` list) and
// the features' names, in the model's order.
struct StreamExport {
  const std::vector<std::string>* features = nullptr;  // null or empty: none
  bool observed = false, expected = false, band = false, error_share = false;
};

// Static facts about a model for lstmad_model_info{model,...} = 1.
struct ModelInfo {
  std::string name, measurement, path, features, architecture;  // architecture e.g. "T=30 F=8 enc=128,64 dec=64,128 relu"
  int lookback = 0;
  bool guards = false;  // models[].guards: export lstmad_guard_overrides_total for it
};

class Metrics {
 public:
  explicit Metrics(const std::string& version);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Registers (or updates, on reload) a model's metrics; the error histogram's
  // buckets are placed around `threshold`.
  ModelMetrics ForModel(const ModelInfo& info, double threshold);
  // `exports`: the per-feature series too (labelled with the stream's
  // labels plus `feature`; a tag named `feature` becomes `exported_feature`).
  StreamMetrics ForStream(const std::string& model, const std::string& stream, bool anomaly_score,
                          const StreamExport& exports = {});
  // Unregisters the stream's series (it went away; constant time) and nulls
  // `handles`. No thread may use them any more: they are freed here.
  void RemoveStream(const std::string& model, const std::string& stream, StreamMetrics* handles);

  // lstmad_samples_rejected_total{reason[,measurement]}: `measurement` as the
  // line named it ("" when it did not parse that far: no label). The first
  // kMaxRejectedMeasurements distinct names get their own series, the rest
  // share measurement="(other)", so a sender of random names cannot grow the
  // exposition. Thread-safe.
  static constexpr size_t kMaxRejectedMeasurements = 100;
  prometheus::Counter& Rejected(RejectReason reason, std::string_view measurement = {});
  prometheus::Gauge& connections();                    // lstmad_connections
  prometheus::Counter& ConfigReload(bool success);     // lstmad_config_reloads_total{result}
  prometheus::Counter& EventWriteFailures();           // lstmad_event_write_failures_total
  prometheus::Counter& WindowsDropped();               // lstmad_windows_dropped_total
  prometheus::Counter& ConnectionPauses();             // lstmad_connection_pauses_total
  prometheus::Counter& StreamsExpired();               // lstmad_streams_expired_total
  enum class CloseReason { kIdleTimeout, kLineTooLong, kNotAllowed, kTooManyConnections, kTlsHandshake };
  prometheus::Counter& ConnectionClosed(CloseReason reason);  // lstmad_connections_closed_total{reason}
  // The metrics endpoint's own refusals (its listener is not an ingest one).
  enum class MetricsCloseReason { kTooManyConnections, kTlsHandshake };
  prometheus::Counter& MetricsConnectionClosed(MetricsCloseReason reason);  // lstmad_metrics_connections_closed_total{reason}
  // Snapshots of the state directory (state.path). The series exist only once
  // the daemon asks for them, so a daemon without state.path exports neither.
  prometheus::Counter& SnapshotFailures();   // lstmad_snapshot_failures_total
  prometheus::Gauge& SnapshotLastSuccess();  // lstmad_snapshot_last_success_timestamp_seconds
  enum class DeliveryResult { kSuccess, kFailure, kDropped };
  prometheus::Counter& AlertDelivery(DeliveryResult result);  // lstmad_alert_deliveries_total{result}

  std::shared_ptr<prometheus::Registry> registry() const;
  // The per-stream series as /metrics has them now (for remote_write_out).
  std::vector<prometheus::MetricFamily> StreamSeriesFamilies() const;
  std::string Scrape() const;  // the text exposition, as /metrics serves it (for tests)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lstmad::daemon
