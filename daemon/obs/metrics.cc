#include "obs/metrics.h"
#include "obs/stream_labels.h"

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <exception>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "obs/stream_series.h"

namespace lstmad::daemon {
namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;
using prometheus::Labels;
using Buckets = Histogram::BucketBoundaries;

// In enum order: Rejected() indexes by the enum's value.
constexpr std::array<RejectReason, 9> kRejectReasons = {
    RejectReason::kParseError, RejectReason::kUnknownMeasurement, RejectReason::kMissingField,
    RejectReason::kNonFinite,  RejectReason::kTooManyStreams,     RejectReason::kLineTooLong,
    RejectReason::kFormatControl, RejectReason::kOutOfRange, RejectReason::kOutOfOrder,
};
static_assert([] {
  for (size_t i = 0; i < kRejectReasons.size(); ++i) {
    if (static_cast<size_t>(kRejectReasons[i]) != i) return false;
  }
  return true;
}());

// 1, 2.5, 5 per decade, written as literals so the `le` labels read cleanly.
constexpr std::array<double, 28> kLogBuckets = {
    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025,
    0.05, 0.1,    0.25, 0.5,  1,      2.5,  5,    10,     25,   50,   100,    250,  500,  1000,
};

// Around the threshold, denser near it, so histogram_quantile() is sharpest
// where the fire/no-fire decision is made.
constexpr std::array<double, 14> kThresholdFactors = {0.05, 0.1,  0.25, 0.5, 0.75, 0.9, 1,
                                                      1.1,  1.25, 1.5,  2,   5,    10,  100};

Buckets LogBuckets(double lo, double hi) {
  Buckets buckets;
  for (double b : kLogBuckets) {
    if (b >= lo * (1 - 1e-9) && b <= hi * (1 + 1e-9)) buckets.push_back(b);
  }
  return buckets;
}

Buckets ErrorBuckets(double threshold) {
  Buckets buckets;
  for (double f : kThresholdFactors) buckets.push_back(threshold * f);
  // A zero, negative, huge or denormal threshold gives buckets that are not
  // finite and strictly increasing: fall back to the fixed set.
  const bool usable =
      threshold > 0 &&
      std::all_of(buckets.begin(), buckets.end(), [](double b) { return std::isfinite(b); }) &&
      std::adjacent_find(buckets.begin(), buckets.end(), std::greater_equal<>()) == buckets.end();
  return usable ? buckets : Buckets(kLogBuckets.begin(), kLogBuckets.end());
}

Buckets BatchBuckets() {
  Buckets buckets;
  for (int b = 1; b <= 1024; b *= 2) buckets.push_back(b);
  return buckets;
}

// lstmad_reconstruction_error is kept outside the registry. Its buckets follow
// the threshold, so a reload that moves the threshold must replace the
// histogram; but the daemon registers the new model set while scorer threads
// still observe into the old one's handles, and prometheus::Family::Remove
// would free the histogram under them. Here a replaced histogram is retired:
// no longer exported, but alive until the Metrics goes.
class ErrorHistograms : public prometheus::Collectable {
 public:
  static constexpr const char* kName = "lstmad_reconstruction_error";
  static constexpr const char* kHelp =
      "Reconstruction error of scored windows (scaled units); buckets are placed around the "
      "model's threshold.";

  Histogram* Get(const std::string& model, const Buckets& buckets) {
    std::lock_guard<std::mutex> lock(mutex_);
    Entry& entry = live_[model];
    if (entry.histogram != nullptr && entry.buckets == buckets) return entry.histogram.get();
    if (entry.histogram != nullptr) retired_.push_back(std::move(entry.histogram));
    entry.buckets = buckets;
    entry.histogram = std::make_unique<Histogram>(buckets);
    return entry.histogram.get();
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    prometheus::MetricFamily family{kName, kHelp, prometheus::MetricType::Histogram, {}};
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [model, entry] : live_) {
      prometheus::ClientMetric metric = entry.histogram->Collect();
      metric.label.push_back({"model", model});
      family.metric.push_back(std::move(metric));
    }
    return {std::move(family)};
  }

 private:
  struct Entry {
    Buckets buckets;
    std::unique_ptr<Histogram> histogram;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Entry> live_;
  std::vector<std::unique_ptr<Histogram>> retired_;
};

// What /metrics serves: the registry plus the error histograms and the
// per-stream series, by name.
class Exposition : public prometheus::Collectable {
 public:
  Exposition(std::shared_ptr<prometheus::Registry> registry, std::shared_ptr<ErrorHistograms> errors,
             std::shared_ptr<StreamSeries> streams)
      : registry_(std::move(registry)), errors_(std::move(errors)), streams_(std::move(streams)) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> families = registry_->Collect();
    for (auto& family : errors_->Collect()) families.push_back(std::move(family));
    for (auto& family : streams_->Collect()) families.push_back(std::move(family));
    std::stable_sort(families.begin(), families.end(),
                     [](const auto& a, const auto& b) { return a.name < b.name; });
    return families;
  }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<ErrorHistograms> errors_;
  std::shared_ptr<StreamSeries> streams_;
};

template <typename Builder>
auto& Register(Builder builder, const char* name, const char* help,
               prometheus::Registry& registry) {
  return builder.Name(name).Help(help).Register(registry);
}

}  // namespace

const char* RejectReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kParseError: return "parse_error";
    case RejectReason::kUnknownMeasurement: return "unknown_measurement";
    case RejectReason::kMissingField: return "missing_field";
    case RejectReason::kNonFinite: return "non_finite";
    case RejectReason::kTooManyStreams: return "too_many_streams";
    case RejectReason::kLineTooLong: return "line_too_long";
    case RejectReason::kFormatControl: return "format_control";
    case RejectReason::kOutOfRange: return "out_of_range";
    case RejectReason::kOutOfOrder: return "out_of_order";
  }
  return "unknown";
}

struct Metrics::Impl {
  explicit Impl(const std::string& version);

  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::shared_ptr<ErrorHistograms> errors = std::make_shared<ErrorHistograms>();
  std::shared_ptr<StreamSeries> stream_series = std::make_shared<StreamSeries>();
  std::shared_ptr<Exposition> exposition = std::make_shared<Exposition>(registry, errors, stream_series);

  Family<Counter>& samples_received;
  Family<Counter>& rejected;
  Family<Counter>& windows_scored;
  Family<Counter>& windows_nonfinite;
  Family<Gauge>& threshold;
  Family<Gauge>& model_info;
  Family<Histogram>& inference_duration;
  Family<Histogram>& sample_to_score;
  Family<Histogram>& batch_size;
  Family<Gauge>& streams;
  Family<Gauge>& stream_models;
  Family<Counter>& vectors_dropped;
  Family<Counter>& values_carried_forward;
  Family<Counter>& window_restarts;
  Family<Counter>& guard_overrides;
  Family<Counter>& changes_accepted;
  Family<Gauge>& connections;
  Family<Gauge>& build_info;
  Family<Counter>& config_reloads;
  Family<Counter>& event_write_failures;
  Family<Counter>& alert_deliveries;
  Family<Counter>& windows_dropped;
  Family<Counter>& connection_pauses;
  Family<Counter>& streams_expired;
  Family<Counter>& connections_closed;
  Family<Counter>& metrics_connections_closed;
  Family<Counter>& snapshot_failures;
  Family<Gauge>& snapshot_last_success;

  std::array<Counter*, kRejectReasons.size()> rejected_by_reason{};
  // lstmad_samples_rejected_total by reason and measurement (Rejected()),
  // under `mutex`; `rejected_measurements` holds the distinct names counted.
  std::set<std::string> rejected_measurements;
  std::map<std::pair<size_t, std::string>, Counter*> rejected_by_measurement;
  Counter* reload_success = nullptr;
  Counter* reload_failure = nullptr;
  Counter* event_write_failures_total = nullptr;
  std::array<Counter*, 3> alert_delivery_results{};  // success, failure, dropped
  Counter* windows_dropped_total = nullptr;
  Counter* connection_pauses_total = nullptr;
  Counter* streams_expired_total = nullptr;
  std::array<Counter*, 5> connections_closed_by_reason{};
  std::array<Counter*, 2> metrics_connections_closed_by_reason{};  // too_many_connections, tls_handshake
  Gauge* connections_now = nullptr;

  mutable std::mutex mutex;
  std::map<std::string, Labels> info_labels;     // by model: the current lstmad_model_info series
};

Metrics::Impl::Impl(const std::string& version)
    : samples_received(Register(prometheus::BuildCounter(), "lstmad_samples_received_total",
                                "Samples (line-protocol lines) accepted for a model.", *registry)),
      rejected(Register(prometheus::BuildCounter(), "lstmad_samples_rejected_total",
                        "Samples rejected, by reason.", *registry)),
      windows_scored(Register(prometheus::BuildCounter(), "lstmad_windows_scored_total",
                              "Windows run through the model and scored.", *registry)),
      windows_nonfinite(Register(prometheus::BuildCounter(), "lstmad_windows_nonfinite_total",
                                 "Scored windows whose reconstruction error was not finite (a value far "
                                 "beyond the training data): anomalous, and kept out of the detector and "
                                 "of lstmad_reconstruction_error.",
                                 *registry)),
      threshold(Register(prometheus::BuildGauge(), "lstmad_model_threshold",
                         "Reconstruction-error threshold in use for the model (scaled units).",
                         *registry)),
      model_info(Register(prometheus::BuildGauge(), "lstmad_model_info",
                          "Static facts about a loaded model; always 1.", *registry)),
      inference_duration(Register(prometheus::BuildHistogram(), "lstmad_inference_duration_seconds",
                                  "Wall time of one batched forward pass.", *registry)),
      sample_to_score(Register(prometheus::BuildHistogram(), "lstmad_sample_to_score_seconds",
                               "Time from a window's last sample arriving to its score.",
                               *registry)),
      batch_size(Register(prometheus::BuildHistogram(), "lstmad_inference_batch_size",
                          "Windows per forward pass.", *registry)),
      streams(Register(prometheus::BuildGauge(), "lstmad_streams",
                       "Streams (measurement plus tag set) currently tracked.", *registry)),
      stream_models(Register(prometheus::BuildGauge(), "lstmad_streams_own_model",
                             "Streams scored by a model fine-tuned for them alone (retrain.scope: stream).",
                             *registry)),
      vectors_dropped(Register(prometheus::BuildCounter(), "lstmad_vectors_dropped_total",
                               "Feature vectors assembled from separate lines and given up, by reason "
                               "(docs/wire-protocol.md).",
                               *registry)),
      values_carried_forward(Register(prometheus::BuildCounter(), "lstmad_values_carried_forward_total",
                                      "Missing fields of assembled vectors filled with the field's last value.",
                                      *registry)),
      window_restarts(Register(prometheus::BuildCounter(), "lstmad_window_restarts_total",
                               "Stream windows restarted instead of spanning a gap, by reason.", *registry)),
      guard_overrides(Register(prometheus::BuildCounter(), "lstmad_guard_overrides_total",
                               "Windows on which the model's guards decided instead of the model, by "
                               "verdict (docs/detection.md).",
                               *registry)),
      changes_accepted(Register(prometheus::BuildCounter(), "lstmad_changes_accepted_total",
                                "Firing alerts whose lasting change the detector took as the new normal "
                                "(detector.likelihood_accept_after); each resolves with reason change_accepted.",
                                *registry)),
      connections(Register(prometheus::BuildGauge(), "lstmad_connections",
                           "Open ingestion connections.", *registry)),
      build_info(Register(prometheus::BuildGauge(), "lstmad_build_info",
                          "Build facts about the running lstmad; always 1.", *registry)),
      config_reloads(Register(prometheus::BuildCounter(), "lstmad_config_reloads_total",
                              "Configuration reloads, by result.", *registry)),
      event_write_failures(Register(prometheus::BuildCounter(), "lstmad_event_write_failures_total",
                                    "Alert events that could not be written to the events file.",
                                    *registry)),
      alert_deliveries(Register(prometheus::BuildCounter(), "lstmad_alert_deliveries_total",
                                "Alert notifications pushed to Alertmanager, by result "
                                "(success, failure: a request that failed and will be retried, "
                                "dropped: given up because the queue was full).",
                                *registry)),
      windows_dropped(Register(prometheus::BuildCounter(), "lstmad_windows_dropped_total",
                               "Windows dropped unscored because the scoring queue was full "
                               "(scoring.overflow: drop_oldest).",
                               *registry)),
      connection_pauses(Register(prometheus::BuildCounter(), "lstmad_connection_pauses_total",
                                 "Times an ingest connection stopped being read until scoring had room "
                                 "(scoring.overflow: block).",
                                 *registry)),
      streams_expired(Register(prometheus::BuildCounter(), "lstmad_streams_expired_total",
                               "Streams dropped after limits.stream_expiry_s without a sample.", *registry)),
      connections_closed(Register(prometheus::BuildCounter(), "lstmad_connections_closed_total",
                                  "Ingest connections closed or refused by lstmad, by reason.",
                                  *registry)),
      metrics_connections_closed(Register(prometheus::BuildCounter(), "lstmad_metrics_connections_closed_total",
                                          "Connections to the metrics endpoint refused by lstmad, by reason.",
                                          *registry)),
      snapshot_failures(Register(prometheus::BuildCounter(), "lstmad_snapshot_failures_total",
                                 "Snapshots of the streams' state (state.path) that could not be written.",
                                 *registry)),
      snapshot_last_success(Register(prometheus::BuildGauge(), "lstmad_snapshot_last_success_timestamp_seconds",
                                     "Unix time of the last snapshot written to state.path (0: none yet).",
                                     *registry)) {
  // Pre-created so every series exists at 0 from the first scrape; rate() and
  // absent() then behave without special cases.
  for (size_t i = 0; i < kRejectReasons.size(); ++i) {
    rejected_by_reason[i] = &rejected.Add({{"reason", RejectReasonName(kRejectReasons[i])}});
  }
  reload_success = &config_reloads.Add({{"result", "success"}});
  reload_failure = &config_reloads.Add({{"result", "failure"}});
  event_write_failures_total = &event_write_failures.Add({});
  alert_delivery_results = {&alert_deliveries.Add({{"result", "success"}}),
                            &alert_deliveries.Add({{"result", "failure"}}),
                            &alert_deliveries.Add({{"result", "dropped"}})};
  connections_now = &connections.Add({});
  windows_dropped_total = &windows_dropped.Add({});
  connection_pauses_total = &connection_pauses.Add({});
  streams_expired_total = &streams_expired.Add({});
  int i = 0;
  for (const char* reason : {"idle_timeout", "line_too_long", "not_allowed", "too_many_connections", "tls_handshake"}) {
    connections_closed_by_reason[static_cast<size_t>(i++)] = &connections_closed.Add({{"reason", reason}});
  }
  metrics_connections_closed_by_reason = {&metrics_connections_closed.Add({{"reason", "too_many_connections"}}),
                                          &metrics_connections_closed.Add({{"reason", "tls_handshake"}})};
  build_info.Add({{"version", version}}).Set(1);
}

Metrics::Metrics(const std::string& version) : impl_(std::make_unique<Impl>(version)) {}

Metrics::~Metrics() = default;

ModelMetrics Metrics::ForModel(const ModelInfo& info, double threshold) {
  // The model's measurement's rejection series exist at 0 from the start, as
  // the ones by reason alone do, so increase() sees their first rejection
  // (LstmadStreamLimitReached). Stray measurements appear when first refused.
  for (RejectReason reason : kRejectReasons) Rejected(reason, info.measurement);
  std::lock_guard<std::mutex> lock(impl_->mutex);
  Impl& m = *impl_;
  const Labels model{{"model", info.name}};
  ModelMetrics out;
  // Family::Add returns the existing series for known labels, so a reload
  // gets the same handles (and counters keep counting).
  out.samples_received = &m.samples_received.Add(model);
  out.windows_scored = &m.windows_scored.Add(model);
  out.windows_nonfinite = &m.windows_nonfinite.Add(model);
  out.reconstruction_error_bounds = ErrorBuckets(threshold);
  out.sample_to_score_bounds = LogBuckets(1e-4, 10);
  out.reconstruction_error = m.errors->Get(info.name, out.reconstruction_error_bounds);
  out.threshold = &m.threshold.Add(model);
  out.threshold->Set(threshold);
  out.inference_duration = &m.inference_duration.Add(model, LogBuckets(1e-5, 1));
  out.sample_to_score = &m.sample_to_score.Add(model, out.sample_to_score_bounds);
  out.batch_size = &m.batch_size.Add(model, BatchBuckets());
  out.streams = &m.streams.Add(model);
  out.stream_models = &m.stream_models.Add(model);
  out.vectors_dropped_incomplete = &m.vectors_dropped.Add({{"model", info.name}, {"reason", "incomplete"}});
  out.values_carried_forward = &m.values_carried_forward.Add(model);
  out.window_restarts_gap = &m.window_restarts.Add({{"model", info.name}, {"reason", "gap"}});
  out.changes_accepted = &m.changes_accepted.Add(model);
  if (info.guards) {
    out.guard_normal = &m.guard_overrides.Add({{"model", info.name}, {"verdict", "normal"}});
    out.guard_anomalous = &m.guard_overrides.Add({{"model", info.name}, {"verdict", "anomalous"}});
  }

  const Labels info_labels{{"model", info.name},
                           {"measurement", info.measurement},
                           {"path", info.path},
                           {"features", info.features},
                           {"lookback", std::to_string(info.lookback)},
                           {"architecture", info.architecture}};
  auto previous = m.info_labels.find(info.name);
  if (previous != m.info_labels.end() && previous->second != info_labels) {
    // Nobody else holds the info gauge, so removing it is safe.
    m.model_info.Remove(&m.model_info.Add(previous->second));
  }
  m.model_info.Add(info_labels).Set(1);
  m.info_labels[info.name] = info_labels;
  return out;
}

namespace {

// model, stream, and the stream's tags as labels too, so rules and routes
// can select on them (obs/stream_labels.h).
Labels SeriesLabels(const std::string& model, const std::string& stream) {
  Labels labels;
  for (auto& [name, value] : StreamLabels({{"model", model}, {"stream", stream}}, stream)) {
    labels.emplace(std::move(name), std::move(value));
  }
  return labels;
}

// The labels of a stream's series of one feature: `feature` is one of
// lstmad's own labels there, so a tag of that name is exported_feature.
Labels FeatureLabels(const std::string& model, const std::string& stream, const std::string& feature) {
  Labels labels;
  for (auto& [name, value] :
       StreamLabels({{"model", model}, {"stream", stream}, {"feature", feature}}, stream)) {
    labels.emplace(std::move(name), std::move(value));
  }
  return labels;
}

}  // namespace

StreamMetrics Metrics::ForStream(const std::string& model, const std::string& stream, bool anomaly_score,
                                 const StreamExport& exports) {
  const StreamSeries::FeatureKinds kinds{exports.observed, exports.expected, exports.band,
                                         exports.error_share};
  std::vector<Labels> feature_labels;
  if (kinds.any() && exports.features != nullptr) {
    feature_labels.reserve(exports.features->size());
    for (const std::string& feature : *exports.features) {
      feature_labels.push_back(FeatureLabels(model, stream, feature));
    }
  }
  const StreamSeries::Handles h =
      impl_->stream_series->Add(SeriesLabels(model, stream), anomaly_score, feature_labels, kinds);
  StreamMetrics out{h.reconstruction_error, h.anomalous, h.anomalies, h.anomaly_score, {}};
  out.features.reserve(h.features.size());
  for (const StreamSeries::FeatureHandles& f : h.features) {
    out.features.push_back({f.observed, f.expected, f.expected_lower, f.expected_upper, f.error_share});
  }
  return out;
}

void Metrics::RemoveStream(const std::string& model, const std::string& stream, StreamMetrics* handles) {
  impl_->stream_series->Remove(SeriesLabels(model, stream));
  *handles = StreamMetrics{};
}

prometheus::Counter& Metrics::Rejected(RejectReason reason, std::string_view measurement) {
  const size_t i = static_cast<size_t>(reason);
  if (measurement.empty()) return *impl_->rejected_by_reason[i];
  std::lock_guard<std::mutex> lock(impl_->mutex);
  auto& names = impl_->rejected_measurements;
  std::string name(measurement);
  if (names.find(name) == names.end()) {
    if (names.size() < kMaxRejectedMeasurements) {
      names.insert(name);
    } else {
      name = "(other)";
    }
  }
  Counter*& counter = impl_->rejected_by_measurement[{i, name}];
  if (counter == nullptr) {
    counter = &impl_->rejected.Add({{"reason", RejectReasonName(reason)}, {"measurement", name}});
  }
  return *counter;
}

prometheus::Gauge& Metrics::connections() { return *impl_->connections_now; }

prometheus::Counter& Metrics::ConfigReload(bool success) {
  return success ? *impl_->reload_success : *impl_->reload_failure;
}

prometheus::Counter& Metrics::EventWriteFailures() { return *impl_->event_write_failures_total; }

// Family::Add returns the existing series when called again, so these stay
// cheap and create the series on first use only.
prometheus::Counter& Metrics::SnapshotFailures() { return impl_->snapshot_failures.Add({}); }
prometheus::Gauge& Metrics::SnapshotLastSuccess() { return impl_->snapshot_last_success.Add({}); }

prometheus::Counter& Metrics::WindowsDropped() { return *impl_->windows_dropped_total; }
prometheus::Counter& Metrics::ConnectionPauses() { return *impl_->connection_pauses_total; }
prometheus::Counter& Metrics::StreamsExpired() { return *impl_->streams_expired_total; }

prometheus::Counter& Metrics::ConnectionClosed(CloseReason reason) {
  return *impl_->connections_closed_by_reason[static_cast<size_t>(reason)];
}

prometheus::Counter& Metrics::MetricsConnectionClosed(MetricsCloseReason reason) {
  return *impl_->metrics_connections_closed_by_reason[static_cast<size_t>(reason)];
}

prometheus::Counter& Metrics::AlertDelivery(DeliveryResult result) {
  return *impl_->alert_delivery_results[static_cast<size_t>(result)];
}

std::shared_ptr<prometheus::Registry> Metrics::registry() const { return impl_->registry; }

std::vector<prometheus::MetricFamily> Metrics::StreamSeriesFamilies() const {
  return impl_->stream_series->Collect();
}

std::string Metrics::Scrape() const {
  return prometheus::TextSerializer().Serialize(impl_->exposition->Collect());
}

void HistogramBatch::Start(const std::vector<double>* bounds) {
  bounds_ = bounds;
  counts_.assign(bounds->size() + 1, 0.0);
  sum_ = 0;
  any_ = false;
}

void HistogramBatch::Add(double value) {
  // Prometheus buckets are upper-inclusive ("le"): the first bound >= value.
  const auto bucket = std::lower_bound(bounds_->begin(), bounds_->end(), value) - bounds_->begin();
  counts_[static_cast<size_t>(bucket)] += 1;
  sum_ += value;
  any_ = true;
}

void HistogramBatch::Flush(prometheus::Histogram* histogram) {
  if (any_) histogram->ObserveMultiple(counts_, sum_);
  std::fill(counts_.begin(), counts_.end(), 0.0);
  sum_ = 0;
  any_ = false;
}

}  // namespace lstmad::daemon
