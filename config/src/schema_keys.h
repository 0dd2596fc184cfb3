// The keys each map of lstmad.yaml accepts: the single list that the section
// parsers (settings.cc, nats_settings.cc) check with Reader::ForEachField and
// that Schema() (schema.cc) exposes, so documentation tests compare against
// exactly what the reader enforces. Order is the order of "unknown key
// (expected one of: ...)" messages. Private to lstmad::config; constant data.
#pragma once

#include <string_view>

namespace lstmad::config::detail::keys {

inline constexpr std::string_view kRoot[] = {"ingest", "metrics",      "models", "limits", "scoring",
                                             "events", "alertmanager", "state",  "log",    "nats",
                                             "console", "remote_write", "remote_write_out", "mqtt"};

inline constexpr std::string_view kIngest[] = {"listen", "precision", "idle_timeout",
                                               "allow",  "tls",       "handshake_timeout", "http", "graphite"};
inline constexpr std::string_view kIngestHttp[] = {"listen",         "tls",
                                                   "tokens",         "max_body_bytes",
                                                   "max_connections_per_peer", "max_requests_per_connection",
                                                   "idle_timeout"};
inline constexpr std::string_view kGraphite[] = {"listen", "templates", "separator"};
// ingest.tls and metrics.tls.
inline constexpr std::string_view kTls[] = {"cert", "key", "client_ca"};
inline constexpr std::string_view kMetrics[] = {"listen", "basic_auth_users", "tls",
                                                "max_connections_per_peer", "max_auth_failures_per_minute"};

inline constexpr std::string_view kModel[] = {"name",         "path",     "measurement", "threshold",
                                              "alert",        "features", "calibrate",   "scaler",
                                              "keras_output", "detector", "retrain",
                                              "guards", "remote_write", "export", "export_band_sigmas",
                                              "assembly", "max_gap_intervals"};
inline constexpr std::string_view kModelRemoteWrite[] = {"features", "stream_labels"};
inline constexpr std::string_view kRemoteWrite[] = {"max_body_bytes", "max_uncompressed_bytes",
                                                    "max_series_per_request", "max_pending_timestamps",
                                                    "max_delay"};
inline constexpr std::string_view kAssembly[] = {"tolerance", "wait", "carry_forward", "max_pending"};
inline constexpr std::string_view kAlert[] = {"for", "clear"};
inline constexpr std::string_view kDetector[] = {"anomaly_score",
                                                 "threshold",
                                                 "risk",
                                                 "level",
                                                 "max_peaks",
                                                 "dspot_depth",
                                                 "smoothing",
                                                 "refractory",
                                                 "calibration_windows",
                                                 "score",
                                                 "likelihood_window",
                                                 "likelihood_history",
                                                 "likelihood_risk",
                                                 "likelihood_risk_per",
                                                 "likelihood_settle",
                                                 "likelihood_settle_weight",
                                                 "likelihood_clear_risk",
                                                 "likelihood_accept_after",
                                                 "novelty_margin"};
// models[].guards.<feature>: the guard of one feature (keyed by the user).
inline constexpr std::string_view kGuard[] = {"direction", "min_deviation", "valid_range"};
inline constexpr std::string_view kRetrain[] = {"every",  "min_windows", "max_windows",
                                                "epochs", "holdout",     "scope"};

inline constexpr std::string_view kLimits[] = {"max_streams", "max_line_bytes", "max_connections",
                                               "max_connections_per_peer", "stream_expiry_s"};
inline constexpr std::string_view kScoring[] = {"max_batch", "max_wait_ms", "workers", "queue_windows",
                                                "overflow"};
inline constexpr std::string_view kEvents[] = {"path"};
inline constexpr std::string_view kAlertmanager[] = {
    "urls", "timeout_s", "resend_interval_s", "basic_auth", "bearer_token", "severity", "max_pending", "tls"};
inline constexpr std::string_view kBasicAuth[] = {"username", "password"};
inline constexpr std::string_view kState[] = {"path", "interval"};
inline constexpr std::string_view kLog[] = {"level", "format"};
inline constexpr std::string_view kConsole[] = {"enabled", "history"};

inline constexpr std::string_view kNats[] = {
    "servers",         "credentials", "tls",        "stream",        "subject_prefix",      "consumer_prefix",
    "partitions",      "replicas",    "max_age",    "lease_ttl",     "checkpoint_interval", "fetch_batch",
    "max_ack_pending", "instance_id", "tcp_ingest", "forward_queue", "forward_timeout", "startup_timeout",
    "streams",         "batch_max_samples", "batch_max_delay"};
inline constexpr std::string_view kMqtt[] = {
    "broker",    "client_id",     "clean_session", "qos",         "username",    "password_file",
    "tls",       "keepalive",     "reconnect_min", "reconnect_max", "max_pending", "subscriptions"};
inline constexpr std::string_view kMqttSubscription[] = {"topic", "format", "measurement", "field"};
// nats.tls, mqtt.tls and alertmanager.tls: lstmad as a TLS client.
inline constexpr std::string_view kNatsTls[] = {"ca", "cert", "key"};
inline constexpr std::string_view kRemoteWriteOut[] = {"url", "interval", "timeout_s", "max_queue_samples",
                                                       "max_samples_per_send", "basic_auth", "bearer_token_file",
                                                       "tls"};

}  // namespace lstmad::config::detail::keys
