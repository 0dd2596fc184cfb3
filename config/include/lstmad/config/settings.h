// Settings: the daemon's configuration as one immutable, validated struct,
// read from YAML by LoadSettings(). Every field documents its default, and
// config/lstmad.example.yaml shows every key with its default.
//
// Errors name the file, line and key path, e.g.
//   "/etc/lstmad/lstmad.yaml:12: models[1].path: no such file: /x.lstmad".
// Unknown keys are errors, so typos are never silently ignored.
// Value type; no thread affinity.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lstmad/core/alert_state.h"
#include "lstmad/core/anomaly_score.h"
#include "lstmad/core/guards.h"
#include "lstmad/core/status.h"

namespace lstmad::config {

struct Endpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: pick a free port (the daemon logs the one it got)
  std::string ToString() const;  // "host:port", IPv6 hosts in brackets
  bool operator==(const Endpoint&) const = default;
};

// Unit of line-protocol timestamps (Telegraf socket_listener's `precision`).
enum class TimestampPrecision { kNanoseconds, kMicroseconds, kMilliseconds, kSeconds };

// TLS on a listener; with `client_ca` set, clients must present a
// certificate signed by it (mutual TLS). Files are re-read on SIGHUP.
struct TlsSettings {
  std::string cert;       // PEM certificate chain
  std::string key;        // PEM private key
  std::string client_ca;  // PEM CA bundle for client certificates; empty: no client auth
  bool enabled() const { return !cert.empty(); }
};

// ingest.http: the InfluxDB write API (POST /write, /api/v2/write) on a
// listener of its own (docs/ingest-http.md).
struct HttpIngestSettings {
  std::optional<Endpoint> listen;  // ingest.http.listen: absent: no HTTP ingest
  TlsSettings tls;                 // ingest.http.tls: { cert, key, client_ca }; absent: plain HTTP
  // ingest.http.tokens: accepted credentials (Authorization: Token T, a basic
  // auth or `p` password T); empty: no credentials asked.
  std::vector<std::string> tokens;
  int max_body_bytes = 32 << 20;  // ingest.http.max_body_bytes: a request body, also once gunzipped (413 beyond)
  int max_connections_per_peer = 16;       // ingest.http.max_connections_per_peer (of 64 in all)
  int max_requests_per_connection = 1000;  // ingest.http.max_requests_per_connection: keep-alive bound
  double idle_timeout_s = 30;              // ingest.http.idle_timeout: for the next request on a kept-alive connection
};

// ingest.graphite: Graphite plaintext ("path value timestamp") on a TCP
// listener of its own (docs/ingest-graphite.md).
struct GraphiteSettings {
  std::optional<Endpoint> listen;  // ingest.graphite.listen: absent: no Graphite listener
  // ingest.graphite.templates: "[filter ]template[ tag=value,...]" mapping a
  // dotted path to measurement, tags and field; checked when the daemon starts.
  std::vector<std::string> templates;
  std::string separator = ".";  // ingest.graphite.separator: joins several measurement (or field*) parts
};

struct IngestSettings {
  Endpoint listen{"127.0.0.1", 7878};  // ingest.listen: TCP, InfluxDB line protocol
  TimestampPrecision precision = TimestampPrecision::kNanoseconds;  // ingest.precision: ns|us|ms|s
  double idle_timeout_s = 300;  // ingest.idle_timeout: close a connection silent this long (0: never)
  std::vector<std::string> allow;  // ingest.allow: client networks (CIDR) allowed; empty: any
  TlsSettings tls;  // ingest.tls: { cert, key, client_ca }; absent: plain TCP
  // ingest.handshake_timeout: a TLS handshake not finished this long after
  // the connection was accepted closes it (a half-open handshake would
  // otherwise hold a connection slot for idle_timeout).
  double handshake_timeout_s = 10;
  HttpIngestSettings http;  // ingest.http
  GraphiteSettings graphite;  // ingest.graphite: { listen, templates, separator }
};

struct MetricsSettings {
  Endpoint listen{"127.0.0.1", 9108};  // metrics.listen: Prometheus text exposition at /metrics
  // metrics.basic_auth_users: { name: bcrypt hash } as Prometheus' web config;
  // when set, /metrics needs HTTP basic auth (/healthz and /readyz do not).
  std::vector<std::pair<std::string, std::string>> basic_auth_users;
  TlsSettings tls;  // metrics.tls: { cert, key, client_ca } as ingest.tls; absent: plain HTTP
  // metrics.max_connections_per_peer: connections one client address may hold
  // open on the metrics port (of 64 in all); more are closed at once, so one
  // peer cannot lock the probes out.
  int max_connections_per_peer = 8;
  // metrics.max_auth_failures_per_minute: failed basic-auth attempts one
  // client address may make in a minute; beyond, /metrics answers 429 at
  // once, without checking the password.
  int max_auth_failures_per_minute = 10;
};

// Defaults from core::AlertRule, which `lstmad score` also uses, so the
// offline alert column and the daemon agree unless configured apart.
struct AlertSettings {
  int fire_after = core::AlertRule{}.fire_after;    // alert.for: consecutive windows above the threshold to fire (>= 1)
  int clear_after = core::AlertRule{}.clear_after;  // alert.clear: consecutive windows below it to resolve (>= 1)
};

// Per-stream detection beyond the fixed threshold (core/anomaly_score.h): an
// anomaly score per window and the anomaly likelihood (the default), SPOT's
// or DSPOT's adaptive threshold deciding the alerts once calibrated. Each scored stream then holds a detector:
// about (calibration_windows + 2 max_peaks) x 8 bytes at most.
struct DetectorSettings {
  bool anomaly_score = true;  // detector.anomaly_score: export lstmad_stream_anomaly_score
  core::DetectorOptions options = Defaults();  // the other detector.* keys

  static core::DetectorOptions Defaults() {
    core::DetectorOptions o;
    o.threshold = core::ThresholdMode::kLikelihood;  // detector.threshold: fixed|spot|dspot|likelihood|spot_and_likelihood
    o.spot.risk = 1e-4;                         // detector.risk: q
    o.spot.initial_level = 0.98;                // detector.level: SPOT's t, a quantile
    o.spot.max_peaks = 200;                     // detector.max_peaks: K
    o.dspot_depth = 10;                         // detector.dspot_depth
    o.smoothing_span = 1;                       // detector.smoothing: EWMA span (1: off)
    o.refractory = 0;                           // detector.refractory: 0 = the lookback
    o.calibration_windows = 500;                // detector.calibration_windows
    o.score = core::ScoreMode::kOnset;          // detector.score: onset|level
    // detector.likelihood_window, likelihood_history, likelihood_risk, likelihood_risk_per,
    // likelihood_settle, likelihood_settle_weight, likelihood_clear_risk, likelihood_accept_after,
    // novelty_margin: core's defaults (10, 8600, 1e-4, 0 = per window, -1 = the lookback, 10,
    // 1e-2, -1 = a tenth of the history, 0.05)
    return o;
  }
  // Whether streams need a detector at all.
  bool enabled() const { return anomaly_score || options.threshold != core::ThresholdMode::kFixed; }
};

// models[i].retrain.scope: what one fine-tune learns from and replaces.
enum class RetrainScope {
  kModel,   // the model's windows from all its streams; one model for all
  kStream,  // each stream's own windows; each stream gets its own model
};

// Background fine-tuning of a served model on recent normal windows (see
// docs/retraining.md). Absent (`enabled()` false): the model never changes.
struct RetrainSettings {
  double every_s = 0;      // models[i].retrain.every: how often to try, e.g. 24h (required, 1s..30d)
  int min_windows = 0;     // models[i].retrain.min_windows: normal windows needed to try (required, >= 10)
  int max_windows = 0;     // models[i].retrain.max_windows: windows kept, newest; default 4 * min_windows
  int epochs = 5;          // models[i].retrain.epochs: fine-tuning epochs (1..1000)
  double holdout = 0.2;    // models[i].retrain.holdout: newest fraction held back to validate (0.05..0.5)
  RetrainScope scope = RetrainScope::kModel;  // models[i].retrain.scope: model | stream
  bool enabled() const { return every_s > 0; }
};

// models[i].remote_write: which Prometheus remote_write series feed the
// model (docs/prometheus.md, "remote_write in"). A selector is a metric name
// with optional label matchers, as in PromQL: `name{label="v",other!="w"}`.
struct LabelMatcher {
  std::string name;
  std::string value;
  bool equal = true;  // `=` (true) or `!=` (false); a missing label matches as ""
  bool operator==(const LabelMatcher&) const = default;
};
struct SeriesSelector {
  std::string metric;                  // __name__, required
  std::vector<LabelMatcher> matchers;  // in file order
  std::string text;                    // as written, for messages
  bool operator==(const SeriesSelector&) const = default;
};
struct ModelRemoteWrite {
  // models[i].remote_write.features: feature name -> selector, in file order;
  // the names are checked against the model's features when it is loaded.
  std::vector<std::pair<std::string, SeriesSelector>> features;
  // models[i].remote_write.stream_labels: the labels whose values name a
  // stream (and become its tags); empty: every label but __name__ and those
  // the feature's selector fixes with `=`.
  std::vector<std::string> stream_labels;
  bool enabled() const { return !features.empty(); }
};

// models[i].export: the per-feature series a model's streams export
// (docs/prometheus.md, "Expected values"); all off by default, so a model
// that does not ask pays nothing for them on the scoring path.
struct ExportSettings {
  bool observed = false;     // lstmad_stream_feature_observed
  bool expected = false;     // lstmad_stream_feature_expected
  bool band = false;         // lstmad_stream_feature_expected_lower / _upper
  bool error_share = false;  // lstmad_stream_feature_error_share
  // models[i].export_band_sigmas: the band's half-width in units of the
  // stream's recent per-feature residual spread (0 <= k <= 100).
  double band_sigmas = 3;
  bool any() const { return observed || expected || band || error_share; }
};

// models[i].assembly: building a stream's feature vector from lines that
// each carry some of its fields (docs/wire-protocol.md, "Samples in pieces").
// Absent: off, and a line without every feature is refused (missing_field).
struct AssemblySettings {
  bool enabled = false;
  double tolerance_s = 0;  // assembly.tolerance: pieces this close in time belong to one vector
  double wait_s = 5;       // assembly.wait: how long an incomplete vector waits for its missing fields
  int carry_forward = 3;   // assembly.carry_forward: steps a missing field may take its last value (0: never)
  int max_pending = 8;     // assembly.max_pending: incomplete vectors held per stream at most
};

struct ModelSettings {
  std::string name;         // models[i].name: [a-zA-Z_][a-zA-Z0-9_-]*, unique; a metric label
  std::string path;         // models[i].path: model file; relative paths are relative to the config file
  std::string measurement;  // models[i].measurement: lines of this measurement go to this model (unique)
  std::optional<double> threshold;  // models[i].threshold: overrides the model's stored threshold
  AlertSettings alert;              // models[i].alert: { for: 3, clear: 3 }
  DetectorSettings detector;        // models[i].detector: { ... } (see DetectorSettings)
  // Keras files (.h5, .keras) served directly (path points at one):
  std::vector<std::string> features;  // models[i].features: input feature names, in order (required)
  std::string calibrate;              // models[i].calibrate: normal-data CSV fitting scaler and threshold
  std::string scaler = "none";        // models[i].scaler: what the Keras model was trained on: none|standard|minmax
  std::string keras_output;           // models[i].keras_output: output layer of a multi-output model
  RetrainSettings retrain;            // models[i].retrain: { every, min_windows, ... }; absent: off
  // models[i].guards: feature name -> { direction, min_deviation, valid_range }, in file order;
  // empty: none. The names are checked against the model's features when it is loaded.
  core::NamedGuards guards;
  ModelRemoteWrite remote_write;    // models[i].remote_write: { features, stream_labels }; absent: none
  ExportSettings exports;  // models[i].export: [observed, expected, band, error_share]; empty: none
  AssemblySettings assembly;  // models[i].assembly: { tolerance, wait, carry_forward, max_pending }
  // models[i].max_gap_intervals: a sample later than this many of the
  // stream's sampling intervals (the median of its recent ones) after the
  // one before restarts its window; 0: never (the default, as `lstmad score`).
  double max_gap_intervals = 0;
  int line = 0;                     // where the entry is in the file, for later error messages
};

struct LimitSettings {
  int max_streams = 10000;      // limits.max_streams: over all models; new streams beyond are rejected
  int max_line_bytes = 65536;   // limits.max_line_bytes: a longer line closes its connection
  int max_connections = 1024;   // limits.max_connections: further connections are refused
  int max_connections_per_peer = 64;  // limits.max_connections_per_peer: the same, per client address
  // limits.stream_expiry_s: a stream that has had no sample for this long is
  // dropped (its alert resolved, its series removed); 0: never. A day: far
  // beyond any sensor's reporting interval, short enough that junk tag sets
  // do not hold max_streams for ever.
  double stream_expiry_s = 86400;
};

enum class OverflowPolicy {
  kBlock,       // stop reading from clients until scoring catches up (TCP slows the senders)
  kDropOldest,  // drop the oldest queued window (counted) and keep reading
};

struct ScoringSettings {
  int max_batch = 256;        // scoring.max_batch: windows per forward pass at most
  double max_wait_ms = 0.25;  // scoring.max_wait_ms: how long a window waits for its batch to fill
  int workers = 1;            // scoring.workers: inference threads
  int queue_windows = 4096;   // scoring.queue_windows: windows queued per worker at most
  OverflowPolicy overflow = OverflowPolicy::kBlock;  // scoring.overflow: block|drop_oldest
};

struct EventsSettings {
  std::string path;  // events.path: JSON lines of alert transitions; empty: off
};

// Streams' windows and alert states saved across restarts.
struct StateSettings {
  std::string path;          // state.path: directory for the snapshot file; empty: off
  double interval_s = 30;    // state.interval: periodic snapshot, e.g. 30s, 5m (also on SIGTERM)
};

// Direct alert delivery to Alertmanager's v2 API (POST /api/v2/alerts).
struct AlertmanagerSettings {
  std::vector<std::string> urls;    // alertmanager.urls: ["http[s]://host:port[/prefix]", ...]; empty: off
  double timeout_s = 5;             // alertmanager.timeout_s: per request (0 < t <= 60)
  double resend_interval_s = 60;    // alertmanager.resend_interval_s: firing alerts are re-sent this often
  std::string username, password;   // alertmanager.basic_auth: { username, password }; optional
  std::string bearer_token;         // alertmanager.bearer_token: optional (not with basic_auth)
  std::string severity = "warning"; // alertmanager.severity: the severity label
  int max_pending = 10000;          // alertmanager.max_pending: queued notifications; beyond, oldest dropped
  // alertmanager.tls: { ca, cert, key } for https:// URLs; PEM files. `ca`
  // verifies Alertmanager's certificate (empty: the system's CAs); `cert`
  // and `key` together are lstmad's client certificate (optional).
  std::string tls_ca, tls_cert, tls_key;
  bool enabled() const { return !urls.empty(); }
  bool https() const {
    for (const std::string& url : urls) {
      if (url.rfind("https://", 0) == 0) return true;
    }
    return false;
  }
};

// Cluster mode (docs/cluster.md): several instances share the partitions of
// a NATS JetStream stream. Absent: single-node mode, TCP only, no NATS.
// What the TCP listener does with its samples in cluster mode.
enum class TcpIngest {
  kForward,  // publish them to <subject_prefix>.in.<measurement>.<token> (partitioned, checkpointed)
  kLocal,    // score them here, outside the partitions (single-node behaviour)
};

// One topic filter of `mqtt.subscriptions`: `topic` is an MQTT filter whose
// levels may name tags ("plant/{site}/pump/{pump}" subscribes to
// "plant/+/pump/+" and tags each sample with the two levels' values).
struct MqttSubscription {
  std::string topic;         // as configured, with {tag} levels
  std::string filter;        // what is subscribed: {tag} levels as '+'
  std::vector<std::string> level_tags;  // per topic level: the tag it names, or ""
  // Payload: line protocol (one or more lines), JSON, or a bare value (one
  // number or boolean: a sensor publishing a reading per topic).
  enum class Format { kLine, kJson, kValue };
  Format format = Format::kLine;
  std::string measurement;   // JSON payloads without "measurement" take this one; required for value
  std::string field;         // value: the field's name; "" takes the topic's last level
  bool operator==(const MqttSubscription&) const = default;
};

struct MqttSettings {
  Endpoint broker{"127.0.0.1", 1883};  // mqtt.broker: host:port
  std::string client_id;       // mqtt.client_id; required with clean_session: false
  bool clean_session = true;   // mqtt.clean_session: false keeps the session (QoS 1 messages) across disconnects
  int qos = 1;                 // mqtt.qos: 0 or 1
  std::string username;        // mqtt.username
  std::string password_file;   // mqtt.password_file: its first line is the password
  std::string tls_ca, tls_cert, tls_key;  // mqtt.tls: { ca, cert, key }; absent: plain MQTT
  double keepalive_s = 30;     // mqtt.keepalive
  double reconnect_min_s = 1;  // mqtt.reconnect_min: first delay after a lost connection
  double reconnect_max_s = 30; // mqtt.reconnect_max: the delay doubles up to this
  int max_pending = 10000;     // mqtt.max_pending: messages received but not yet ingested; beyond, reading pauses
  std::vector<MqttSubscription> subscriptions;  // mqtt.subscriptions; at least one
  bool operator==(const MqttSettings&) const = default;
};

struct NatsSettings {
  std::vector<std::string> servers;   // nats.servers: ["nats://host:4222", ...]; required
  std::string credentials;            // nats.credentials: .creds file (user JWT + NKey seed); empty: none
  std::string tls_ca, tls_cert, tls_key;  // nats.tls: { ca, cert, key }; PEM files; absent: no TLS
  std::string stream = "LSTMAD";      // nats.stream: JetStream stream (created if missing); prefixes the KV buckets
  std::string subject_prefix = "lstmad";   // nats.subject_prefix: producers publish to PREFIX.in.<measurement>.<token>
  std::string consumer_prefix = "lstmad";  // nats.consumer_prefix: partition n's durable consumer is PREFIX_p<n>
  int partitions = 8;                 // nats.partitions: P of the server's partition(P,1,2) mapping (1..1024)
  // nats.streams: N JetStream streams (1..partitions); partition n is in
  // stream STREAM_<n mod N>, each its own Raft group. 1: the one stream STREAM.
  int streams = 1;
  int replicas = 1;                   // nats.replicas: of the stream and the KV buckets (1..5)
  double max_age_s = 86400;           // nats.max_age: how long the stream keeps samples (0: no limit)
  double lease_ttl_s = 10;            // nats.lease_ttl: a dead instance's partitions move after about this
  double checkpoint_interval_s = 1;   // nats.checkpoint_interval: per partition, state saved then samples acked
  int fetch_batch = 256;              // nats.fetch_batch: messages per pull request
  int max_ack_pending = 20000;        // nats.max_ack_pending: unacknowledged samples per partition at most
  std::string instance_id;            // nats.instance_id: [A-Za-z0-9_-]+; empty: hostname-pid
  TcpIngest tcp_ingest = TcpIngest::kForward;  // nats.tcp_ingest: forward|local
  int forward_queue = 100000;         // nats.forward_queue: lines waiting to be published at most (1..10^7)
  double forward_timeout_s = 5;       // nats.forward_timeout: a line's publish is retried this long
  int batch_max_samples = 100;        // nats.batch_max_samples: lines per forwarded message (1: one per message)
  double batch_max_delay_s = 0.005;   // nats.batch_max_delay: how long a forwarded batch waits to fill
  double startup_timeout_s = 60;      // nats.startup_timeout: NATS waited for at start (0: one attempt)
};

// The Prometheus remote_write receiver (POST /api/v1/write on the metrics
// listener), served when a model has models[i].remote_write.
struct RemoteWriteSettings {
  int max_body_bytes = 8 << 20;           // remote_write.max_body_bytes: compressed request body; more: 413
  int max_uncompressed_bytes = 64 << 20;  // remote_write.max_uncompressed_bytes: decompressed; more: 413
  int max_series_per_request = 20000;     // remote_write.max_series_per_request: more: 413
  // remote_write.max_pending_timestamps: incomplete feature vectors held per
  // stream, waiting for their other features; beyond, the oldest is dropped.
  int max_pending_timestamps = 8;
  // remote_write.max_delay: an incomplete vector this much older (sample
  // time) than the stream's newest sample is dropped.
  double max_delay_s = 60;
};

enum class LogFormat { kText, kJson };

// The web console on the metrics listener (docs/console.md).
struct ConsoleSettings {
  bool enabled = true;  // console.enabled: serve /console and /api/v1/ on the metrics listener
  int history = 120;    // console.history: windows kept in memory per stream for it (1..10000)
};

struct LogSettings {
  std::string level = "info";        // log.level: trace|debug|info|warn|error|critical|off
  LogFormat format = LogFormat::kText;  // log.format: text|json
};

// Write-back of the per-stream series (docs/prometheus.md, "Write-back") to
// a Prometheus remote_write receiver (Prometheus with
// --web.enable-remote-write-receiver, VictoriaMetrics, ...). Absent: off.
struct RemoteWriteOutSettings {
  std::string url;                   // remote_write_out.url: http[s]://HOST:PORT/PATH (required)
  double interval_s = 15;            // remote_write_out.interval: series sampled and queued this often (1s..1h)
  double timeout_s = 10;             // remote_write_out.timeout_s: per request (0 < t <= 60)
  int max_queue_samples = 100000;    // remote_write_out.max_queue_samples: queued at most; beyond, the oldest dropped
  int max_samples_per_send = 2000;   // remote_write_out.max_samples_per_send: samples per request at most
  std::string username, password;    // remote_write_out.basic_auth: { username, password }; optional
  std::string bearer_token_file;     // remote_write_out.bearer_token_file: read at each request; optional
  std::string tls_ca, tls_cert, tls_key;  // remote_write_out.tls: { ca, cert, key } for https:// (PEM files)
  bool enabled() const { return !url.empty(); }
  bool operator==(const RemoteWriteOutSettings&) const = default;
};

struct Settings {
  IngestSettings ingest;
  MetricsSettings metrics;
  std::vector<ModelSettings> models;  // at least one
  LimitSettings limits;
  ScoringSettings scoring;
  EventsSettings events;
  AlertmanagerSettings alertmanager;
  StateSettings state;
  LogSettings log;
  ConsoleSettings console;
  std::optional<NatsSettings> nats;  // nats: cluster mode when present
  RemoteWriteSettings remote_write;  // remote_write: limits of the receiver
  RemoteWriteOutSettings remote_write_out;  // remote_write_out: write-back; off when absent
  std::optional<MqttSettings> mqtt;  // mqtt: subscribe to a broker when present (docs/ingest-mqtt.md)
  std::string source;  // the file it came from
};

// Parses `yaml` (named `source` in errors); relative model paths are resolved
// against `base_dir`. Checks that each model file exists (not its contents:
// the daemon loads models).
core::Result<Settings> ParseSettings(std::string_view yaml, const std::string& source,
                                     const std::string& base_dir);
core::Result<Settings> LoadSettings(const std::string& path);

std::string_view PrecisionName(TimestampPrecision p);

}  // namespace lstmad::config
