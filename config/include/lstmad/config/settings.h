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
    // detector.likelihood_window, likelihood_history, likelihood_risk, likelihood_settle,
    // likelihood_clear_risk: core's defaults (5, 2000, 1e-4, -1 = the lookback, 0 = none)
    return o;
  }
  // Whether streams need a detector at all.
  bool enabled() const { return anomaly_score || options.threshold != core::ThresholdMode::kFixed; }
};

// Background fine-tuning of a served model on recent normal windows (see
// docs/retraining.md). Absent (`enabled()` false): the model never changes.
struct RetrainSettings {
  double every_s = 0;      // models[i].retrain.every: how often to try, e.g. 24h (required, 1s..30d)
  int min_windows = 0;     // models[i].retrain.min_windows: normal windows needed to try (required, >= 10)
  int max_windows = 0;     // models[i].retrain.max_windows: windows kept, newest; default 4 * min_windows
  int epochs = 5;          // models[i].retrain.epochs: fine-tuning epochs (1..1000)
  double holdout = 0.2;    // models[i].retrain.holdout: newest fraction held back to validate (0.05..0.5)
  bool enabled() const { return every_s > 0; }
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

struct NatsSettings {
  std::vector<std::string> servers;   // nats.servers: ["nats://host:4222", ...]; required
  std::string credentials;            // nats.credentials: .creds file (user JWT + NKey seed); empty: none
  std::string tls_ca, tls_cert, tls_key;  // nats.tls: { ca, cert, key }; PEM files; absent: no TLS
  std::string stream = "LSTMAD";      // nats.stream: JetStream stream (created if missing); prefixes the KV buckets
  std::string subject_prefix = "lstmad";   // nats.subject_prefix: producers publish to PREFIX.in.<measurement>.<token>
  std::string consumer_prefix = "lstmad";  // nats.consumer_prefix: partition n's durable consumer is PREFIX_p<n>
  int partitions = 8;                 // nats.partitions: P of the server's partition(P,1,2) mapping (1..1024)
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
  double startup_timeout_s = 60;      // nats.startup_timeout: NATS waited for at start (0: one attempt)
};

enum class LogFormat { kText, kJson };

struct LogSettings {
  std::string level = "info";        // log.level: trace|debug|info|warn|error|critical|off
  LogFormat format = LogFormat::kText;  // log.format: text|json
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
  std::optional<NatsSettings> nats;  // nats: cluster mode when present
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
