// What valid configurations parse to: the example file, defaults, path
// resolution, endpoints. Errors are in settings_errors_test.cc.
#include "lstmad/config/settings.h"

#include <string>

#include <gtest/gtest.h>

#include "config/test_files.h"

namespace lstmad::config {
namespace {

using testing::ExamplePath;
using testing::ReadFile;
using testing::TempDir;

constexpr char kMinimal[] = R"(models:
  - name: pump
    path: pump.lstmad
    measurement: pump
)";

void ExpectDefaultsBesideModels(const Settings& s) {
  const Settings defaults;
  EXPECT_EQ(s.ingest.listen.host, defaults.ingest.listen.host);
  EXPECT_EQ(s.ingest.listen.port, defaults.ingest.listen.port);
  EXPECT_EQ(s.ingest.precision, defaults.ingest.precision);
  EXPECT_EQ(s.metrics.listen.host, defaults.metrics.listen.host);
  EXPECT_EQ(s.metrics.listen.port, defaults.metrics.listen.port);
  EXPECT_EQ(s.limits.max_streams, defaults.limits.max_streams);
  EXPECT_EQ(s.limits.max_line_bytes, defaults.limits.max_line_bytes);
  EXPECT_EQ(s.limits.max_connections, defaults.limits.max_connections);
  EXPECT_EQ(s.limits.max_connections_per_peer, defaults.limits.max_connections_per_peer);
  EXPECT_EQ(s.ingest.handshake_timeout_s, defaults.ingest.handshake_timeout_s);
  EXPECT_EQ(s.metrics.max_connections_per_peer, defaults.metrics.max_connections_per_peer);
  EXPECT_EQ(s.metrics.max_auth_failures_per_minute, defaults.metrics.max_auth_failures_per_minute);
  EXPECT_EQ(s.limits.stream_expiry_s, defaults.limits.stream_expiry_s);
  EXPECT_EQ(s.scoring.max_batch, defaults.scoring.max_batch);
  EXPECT_EQ(s.scoring.max_wait_ms, defaults.scoring.max_wait_ms);
  EXPECT_EQ(s.scoring.workers, defaults.scoring.workers);
  EXPECT_EQ(s.events.path, defaults.events.path);
  EXPECT_EQ(s.log.level, defaults.log.level);
  EXPECT_EQ(s.log.format, defaults.log.format);
  EXPECT_EQ(s.console.enabled, defaults.console.enabled);
  EXPECT_EQ(s.console.history, defaults.console.history);
  EXPECT_EQ(s.alertmanager.urls, defaults.alertmanager.urls);
  EXPECT_EQ(s.alertmanager.timeout_s, defaults.alertmanager.timeout_s);
  EXPECT_EQ(s.alertmanager.resend_interval_s, defaults.alertmanager.resend_interval_s);
  EXPECT_EQ(s.alertmanager.severity, defaults.alertmanager.severity);
  EXPECT_EQ(s.alertmanager.max_pending, defaults.alertmanager.max_pending);
}

void ExpectDefaultModel(const ModelSettings& m, const std::string& path) {
  const ModelSettings defaults;
  EXPECT_EQ(m.name, "pump");
  EXPECT_EQ(m.path, path);
  EXPECT_EQ(m.measurement, "pump");
  EXPECT_EQ(m.threshold, defaults.threshold);
  EXPECT_EQ(m.alert.fire_after, defaults.alert.fire_after);
  EXPECT_EQ(m.alert.clear_after, defaults.alert.clear_after);
}

TEST(SettingsTest, DefaultsAreTheDocumentedOnes) {
  const Settings s;
  EXPECT_EQ(s.ingest.listen.ToString(), "127.0.0.1:7878");
  EXPECT_EQ(PrecisionName(s.ingest.precision), "ns");
  EXPECT_EQ(s.metrics.listen.ToString(), "127.0.0.1:9108");
  EXPECT_EQ(s.limits.max_streams, 10000);
  EXPECT_EQ(s.limits.max_line_bytes, 65536);
  EXPECT_EQ(s.limits.max_connections, 1024);
  EXPECT_EQ(s.limits.max_connections_per_peer, 64);
  EXPECT_EQ(s.ingest.handshake_timeout_s, 10);
  EXPECT_EQ(s.metrics.max_connections_per_peer, 8);
  EXPECT_EQ(s.metrics.max_auth_failures_per_minute, 10);
  EXPECT_EQ(s.limits.stream_expiry_s, 86400.0);
  EXPECT_EQ(s.scoring.max_batch, 256);
  EXPECT_EQ(s.scoring.max_wait_ms, 0.25);
  EXPECT_EQ(s.scoring.workers, 1);
  EXPECT_EQ(s.events.path, "");
  EXPECT_EQ(s.log.level, "info");
  EXPECT_EQ(s.log.format, LogFormat::kText);
  EXPECT_EQ(ModelSettings().alert.fire_after, 3);
  EXPECT_EQ(ModelSettings().alert.clear_after, 3);
  const DetectorSettings d;
  EXPECT_TRUE(d.anomaly_score);
  EXPECT_EQ(d.options.threshold, core::ThresholdMode::kLikelihood);
  EXPECT_EQ(d.options.spot.risk, 1e-4);
  EXPECT_EQ(d.options.spot.initial_level, 0.98);
  EXPECT_EQ(d.options.spot.max_peaks, 200);
  EXPECT_EQ(d.options.dspot_depth, 10);
  EXPECT_EQ(d.options.smoothing_span, 1);
  EXPECT_EQ(d.options.refractory, 0);
  EXPECT_EQ(d.options.calibration_windows, 500);
  EXPECT_EQ(d.options.score, core::ScoreMode::kOnset);
  EXPECT_EQ(d.options.novelty_margin, 0.05);
  EXPECT_EQ(d.options.settle, -1);
  EXPECT_EQ(d.options.settle_weight, 10);
  EXPECT_EQ(d.options.accept_after, -1);        // a tenth of the history
  EXPECT_EQ(d.options.likelihood_risk_per, 0);  // a risk per window
}

// The example's model path is relative (models/pump.lstmad), so a copy of it
// loads next to a stand-in model file.
TEST(SettingsTest, ExampleFileLoadsAsTheDefaults) {
  const TempDir dir;
  const std::string model = dir.Write("models/pump.lstmad", "stand-in");
  const std::string config = dir.Write("lstmad.yaml", ReadFile(ExamplePath()));
  const core::Result<Settings> s = LoadSettings(config);
  ASSERT_TRUE(s.ok()) << s.status().message();
  ExpectDefaultsBesideModels(*s);
  ASSERT_EQ(s->models.size(), 1u);
  ExpectDefaultModel(s->models[0], model);
  EXPECT_EQ(s->source, config);
}

TEST(SettingsTest, ExampleFileDocumentsEveryKey) {
  const std::string example = ReadFile(ExamplePath());
  for (const char* key : {"ingest:",
                          "listen:",
                          "precision:",
                          "metrics:",
                          "models:",
                          "name:",
                          "path:",
                          "measurement:",
                          "threshold:",
                          "alert:",
                          "for:",
                          "clear:",
                          "limits:",
                          "max_streams:",
                          "max_line_bytes:",
                          "max_connections:",
                          "max_connections_per_peer:",
                          "stream_expiry_s:",
                          "handshake_timeout:",
                          "max_auth_failures_per_minute:",
                          "scoring:",
                          "max_batch:",
                          "max_wait_ms:",
                          "workers:",
                          "events:",
                          "log:",
                          "level:",
                          "format:",
                          "alertmanager:",
                          "urls:",
                          "timeout_s:",
                          "resend_interval_s:",
                          "basic_auth:",
                          "bearer_token:",
                          "severity:",
                          "max_pending:",
                          "state:",
                          "interval:",
                          "idle_timeout:",
                          "allow:",
                          "queue_windows:",
                          "overflow:",
                          "tls:",
                          "basic_auth_users:",
                          "detector:",
                          "anomaly_score:",
                          "risk:",
                          "max_peaks:",
                          "dspot_depth:",
                          "smoothing:",
                          "refractory:",
                          "calibration_windows:",
                          "score:",
                          "console:",
                          "enabled:",
                          "history:",
                          "novelty_margin:",
                          "likelihood_risk_per:"}) {
    EXPECT_NE(example.find(key), std::string::npos) << key;
  }
}

TEST(SettingsTest, MinimalConfigTakesDefaultsForEverythingElse) {
  const TempDir dir;
  const std::string model = dir.Write("pump.lstmad", "");
  const core::Result<Settings> s = ParseSettings(kMinimal, "lstmad.yaml", dir.path());
  ASSERT_TRUE(s.ok()) << s.status().message();
  ExpectDefaultsBesideModels(*s);
  ASSERT_EQ(s->models.size(), 1u);
  ExpectDefaultModel(s->models[0], model);
  EXPECT_EQ(s->models[0].line, 2);
  EXPECT_EQ(s->source, "lstmad.yaml");
}

TEST(SettingsTest, EmptySectionsTakeDefaults) {
  const TempDir dir;
  dir.Write("pump.lstmad", "");
  const core::Result<Settings> s = ParseSettings(
      std::string("ingest:\nmetrics: {}\nlimits:\nscoring:\nevents:\nlog:\n") + kMinimal,
      "lstmad.yaml", dir.path());
  ASSERT_TRUE(s.ok()) << s.status().message();
  ExpectDefaultsBesideModels(*s);
}

TEST(SettingsTest, ReadsEveryKey) {
  const TempDir dir;
  const std::string pump = dir.Write("pump.lstmad", "");
  const std::string fan = dir.Write("fan.lstmad", "");
  const core::Result<Settings> s = ParseSettings(R"(
ingest: { listen: "0.0.0.0:0", precision: ms }
metrics: { listen: 10.1.2.3:65535 }
models:
  - name: pump
    path: pump.lstmad
    measurement: pump_metrics
    threshold: 0.8
    alert: { for: 5, clear: 7 }
    detector:
      anomaly_score: false
      threshold: dspot
      risk: 0.001
      level: 0.95
      max_peaks: 50
      dspot_depth: 4
      smoothing: 3
      refractory: 9
      calibration_windows: 100
      score: level
      novelty_margin: 0.25
      likelihood_settle_weight: 4
      likelihood_accept_after: 250
      likelihood_risk_per: 5m
  - { name: Fan_2-b, path: fan.lstmad, measurement: fan, threshold: 1e-3, detector: { novelty_margin: off } }
limits: { max_streams: 1, max_line_bytes: 2, max_connections: +3, stream_expiry_s: 0.5 }
scoring: { max_batch: 64, max_wait_ms: 0.5, workers: 64 }
events: { path: /var/lib/lstmad/events.jsonl }
log: { level: debug, format: json }
)",
                                                 "lstmad.yaml", dir.path());
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->ingest.listen.host, "0.0.0.0");
  EXPECT_EQ(s->ingest.listen.port, 0);
  EXPECT_EQ(s->ingest.precision, TimestampPrecision::kMilliseconds);
  EXPECT_EQ(s->metrics.listen.ToString(), "10.1.2.3:65535");
  ASSERT_EQ(s->models.size(), 2u);
  EXPECT_EQ(s->models[0].name, "pump");
  EXPECT_EQ(s->models[0].path, pump);
  EXPECT_EQ(s->models[0].measurement, "pump_metrics");
  EXPECT_EQ(s->models[0].threshold, 0.8);
  EXPECT_EQ(s->models[0].alert.fire_after, 5);
  EXPECT_EQ(s->models[0].alert.clear_after, 7);
  EXPECT_EQ(s->models[0].line, 5);
  const DetectorSettings& d = s->models[0].detector;
  EXPECT_FALSE(d.anomaly_score);
  EXPECT_EQ(d.options.threshold, core::ThresholdMode::kDspot);
  EXPECT_EQ(d.options.spot.risk, 0.001);
  EXPECT_EQ(d.options.spot.initial_level, 0.95);
  EXPECT_EQ(d.options.spot.max_peaks, 50);
  EXPECT_EQ(d.options.dspot_depth, 4);
  EXPECT_EQ(d.options.smoothing_span, 3);
  EXPECT_EQ(d.options.refractory, 9);
  EXPECT_EQ(d.options.calibration_windows, 100);
  EXPECT_EQ(d.options.score, core::ScoreMode::kLevel);
  EXPECT_EQ(d.options.novelty_margin, 0.25);
  EXPECT_EQ(d.options.settle_weight, 4);
  EXPECT_EQ(d.options.accept_after, 250);
  EXPECT_EQ(d.options.likelihood_risk_per, 300);
  EXPECT_EQ(s->models[1].detector.options.novelty_margin, core::kNoveltyOff);
  EXPECT_TRUE(d.enabled());  // dspot decides alerts even without the exported score
  EXPECT_EQ(s->models[1].name, "Fan_2-b");
  EXPECT_EQ(s->models[1].path, fan);
  EXPECT_EQ(s->models[1].threshold, 1e-3);
  EXPECT_EQ(s->models[1].alert.fire_after, 3);
  EXPECT_EQ(s->models[1].line, 25);
  EXPECT_EQ(s->limits.max_streams, 1);
  EXPECT_EQ(s->limits.max_line_bytes, 2);
  EXPECT_EQ(s->limits.max_connections, 3);
  EXPECT_EQ(s->limits.stream_expiry_s, 0.5);
  EXPECT_EQ(s->scoring.max_batch, 64);
  EXPECT_EQ(s->scoring.max_wait_ms, 0.5);
  EXPECT_EQ(s->scoring.workers, 64);
  EXPECT_EQ(s->events.path, "/var/lib/lstmad/events.jsonl");
  EXPECT_EQ(s->log.level, "debug");
  EXPECT_EQ(s->log.format, LogFormat::kJson);
}

TEST(SettingsTest, ReadsTheHttpWriteApisKeys) {
  const TempDir dir;
  dir.Write("pump.lstmad", "");
  const core::Result<Settings> off = ParseSettings("models: [{ name: p, path: pump.lstmad, measurement: p }]\n",
                                                   "lstmad.yaml", dir.path());
  ASSERT_TRUE(off.ok()) << off.status().message();
  EXPECT_FALSE(off->ingest.http.listen.has_value());
  const core::Result<Settings> s = ParseSettings(R"(
ingest:
  http: { listen: "127.0.0.1:8086", tokens: [a, b], max_body_bytes: 4096, max_connections_per_peer: 3,
          max_requests_per_connection: 7, idle_timeout: 2s }
models: [{ name: p, path: pump.lstmad, measurement: p }]
)", "lstmad.yaml", dir.path());
  ASSERT_TRUE(s.ok()) << s.status().message();
  const config::HttpIngestSettings& http = s->ingest.http;
  ASSERT_TRUE(http.listen.has_value());
  EXPECT_EQ(http.listen->host, "127.0.0.1");
  EXPECT_EQ(http.listen->port, 8086);
  EXPECT_EQ(http.tokens, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(http.max_body_bytes, 4096);
  EXPECT_EQ(http.max_connections_per_peer, 3);
  EXPECT_EQ(http.max_requests_per_connection, 7);
  EXPECT_EQ(http.idle_timeout_s, 2.0);
}

TEST(SettingsTest, ReadsEveryEnumValue) {
  const TempDir dir;
  dir.Write("pump.lstmad", "");
  const std::pair<const char*, TimestampPrecision> precisions[] = {
      {"ns", TimestampPrecision::kNanoseconds},
      {"us", TimestampPrecision::kMicroseconds},
      {"ms", TimestampPrecision::kMilliseconds},
      {"s", TimestampPrecision::kSeconds}};
  for (const auto& [name, precision] : precisions) {
    const auto s = ParseSettings(std::string(kMinimal) + "ingest: { precision: " + name + " }\n",
                                 "lstmad.yaml", dir.path());
    ASSERT_TRUE(s.ok()) << s.status().message();
    EXPECT_EQ(s->ingest.precision, precision);
    EXPECT_EQ(PrecisionName(precision), name);
  }
  for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    const auto s = ParseSettings(std::string(kMinimal) + "log: { level: " + level + " }\n",
                                 "lstmad.yaml", dir.path());
    ASSERT_TRUE(s.ok()) << s.status().message();
    EXPECT_EQ(s->log.level, level);
  }
}

TEST(SettingsTest, ReadsTheConsoleSection) {
  const TempDir dir;
  dir.Write("pump.lstmad", "");
  auto s = ParseSettings(kMinimal, "lstmad.yaml", dir.path());
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE(s->console.enabled);
  EXPECT_EQ(s->console.history, 120);
  s = ParseSettings(std::string(kMinimal) + "console: { enabled: false, history: 10000 }\n", "lstmad.yaml",
                    dir.path());
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_FALSE(s->console.enabled);
  EXPECT_EQ(s->console.history, 10000);
  s = ParseSettings(std::string(kMinimal) + "console: { history: 0 }\n", "lstmad.yaml", dir.path());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("console.history"), std::string::npos) << s.status().message();
  s = ParseSettings(std::string(kMinimal) + "console: { enabled: yes }\n", "lstmad.yaml", dir.path());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("expected one of true, false"), std::string::npos) << s.status().message();
}

TEST(SettingsTest, ResolvesRelativePathsAgainstBaseDir) {
  const TempDir dir;
  const std::string nested = dir.Write("models/a/pump.lstmad", "");
  const std::string beside = dir.Write("fan.lstmad", "");
  const auto s = ParseSettings(R"(models:
  - { name: pump, path: models/a/pump.lstmad, measurement: pump }
  - { name: fan, path: ./models/../fan.lstmad, measurement: fan }
  - { name: abs, path: )" + nested + R"(, measurement: abs }
events: { path: state/events.jsonl }
)",
                               "lstmad.yaml", dir.path() + "/");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->models[0].path, nested);
  EXPECT_EQ(s->models[1].path, beside);
  EXPECT_EQ(s->models[2].path, nested);
  // The daemon creates the events file, so its folder need not exist yet.
  EXPECT_EQ(s->events.path, dir.path() + "/state/events.jsonl");
}

TEST(SettingsTest, LoadResolvesAgainstTheConfigFileNotTheWorkingDirectory) {
  const TempDir dir;
  const std::string model = dir.Write("etc/pump.lstmad", "");
  const std::string config = dir.Write("etc/lstmad.yaml", kMinimal);
  const auto s = LoadSettings(config);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->models[0].path, model);
  EXPECT_EQ(s->source, config);
}

TEST(SettingsTest, LoadNamesThePathInErrors) {
  const TempDir dir;
  const std::string missing = dir.path() + "/nope.yaml";
  auto s = LoadSettings(missing);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), missing + ": cannot open: No such file or directory");

  s = LoadSettings(dir.path());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(), dir.path() + ": not a regular file (a directory)");

  const std::string config = dir.Write("lstmad.yaml", "log:\n  level: loud\n");
  s = LoadSettings(config);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message(),
            config + ":2: log.level: expected one of trace, debug, info, warn, error, critical, "
                     "off; got \"loud\"");
}

TEST(SettingsTest, ReadsTheAlertmanagerSection) {
  const TempDir dir;
  dir.Write("pump.lstmad", "stand-in");
  const std::string yaml = std::string(kMinimal) +
                           "alertmanager:\n  urls: [\"http://127.0.0.1:9093\", \"http://am:9093/prefix\"]\n"
                           "  timeout_s: 2.5\n  resend_interval_s: 30\n"
                           "  basic_auth: { username: u, password: p }\n  severity: critical\n"
                           "  max_pending: 50\n";
  const core::Result<Settings> s = ParseSettings(yaml, "lstmad.yaml", dir.path());
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE(s->alertmanager.enabled());
  EXPECT_EQ(s->alertmanager.urls,
            (std::vector<std::string>{"http://127.0.0.1:9093", "http://am:9093/prefix"}));
  EXPECT_EQ(s->alertmanager.timeout_s, 2.5);
  EXPECT_EQ(s->alertmanager.resend_interval_s, 30);
  EXPECT_EQ(s->alertmanager.username, "u");
  EXPECT_EQ(s->alertmanager.password, "p");
  EXPECT_EQ(s->alertmanager.severity, "critical");
  EXPECT_EQ(s->alertmanager.max_pending, 50);
}

TEST(SettingsTest, ReadsAlertmanagerHttpsAndItsTls) {
  const TempDir dir;
  dir.Write("pump.lstmad", "stand-in");
  dir.Write("ca.pem", "ca");
  dir.Write("client.pem", "cert");
  dir.Write("client.key", "key");
  const std::string yaml = std::string(kMinimal) +
                           "alertmanager:\n  urls: [\"https://am:9093\", \"http://127.0.0.1:9093\"]\n"
                           "  tls: { ca: ca.pem, cert: client.pem, key: client.key }\n";
  const core::Result<Settings> s = ParseSettings(yaml, "lstmad.yaml", dir.path());
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE(s->alertmanager.https());
  EXPECT_EQ(s->alertmanager.tls_ca, dir.path() + "/ca.pem");
  EXPECT_EQ(s->alertmanager.tls_cert, dir.path() + "/client.pem");
  EXPECT_EQ(s->alertmanager.tls_key, dir.path() + "/client.key");
  const core::Result<Settings> half = ParseSettings(
      std::string(kMinimal) + "alertmanager:\n  tls: { cert: client.pem }\n", "lstmad.yaml", dir.path());
  ASSERT_FALSE(half.ok());
  EXPECT_NE(half.status().message().find("alertmanager.tls: a client certificate needs both cert and key"),
            std::string::npos)
      << half.status().message();
}

TEST(SettingsTest, RefusesCredentialsInAlertmanagerUrlsWithoutRepeatingThem) {
  const TempDir dir;
  dir.Write("pump.lstmad", "stand-in");
  const std::string yaml =
      std::string(kMinimal) + "alertmanager:\n  urls: [\"http://alice:s3cret@am:9093\"]\n";
  const core::Result<Settings> s = ParseSettings(yaml, "lstmad.yaml", dir.path());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(
      s.status().message().find(
          "alertmanager.urls[0]: credentials in the URL are refused (they would be logged, never sent); use "
          "alertmanager.basic_auth or alertmanager.bearer_token, got \"http://REDACTED@am:9093\""),
      std::string::npos)
      << s.status().message();
  EXPECT_EQ(s.status().message().find("s3cret"), std::string::npos);
  // Another scheme with credentials: the other error, still redacted.
  const core::Result<Settings> ftp =
      ParseSettings(std::string(kMinimal) + "alertmanager:\n  urls: [\"ftp://u:s3cret@am:21\"]\n",
                    "lstmad.yaml", dir.path());
  ASSERT_FALSE(ftp.ok());
  EXPECT_EQ(ftp.status().message().find("s3cret"), std::string::npos) << ftp.status().message();
}

TEST(SettingsTest, ReadsTheStateSection) {
  const TempDir dir;
  dir.Write("pump.lstmad", "stand-in");
  for (const auto& [text, seconds] : {std::pair{"30s", 30.0}, {"5m", 300.0}, {"1h", 3600.0},
                                      {"1500ms", 1.5}, {"45", 45.0}}) {
    const std::string yaml = std::string(kMinimal) + "state: { path: snap, interval: " + text + " }\n";
    const core::Result<Settings> s = ParseSettings(yaml, "lstmad.yaml", dir.path());
    ASSERT_TRUE(s.ok()) << s.status().message();
    EXPECT_EQ(s->state.interval_s, seconds) << text;
    EXPECT_EQ(s->state.path, dir.path() + "/snap");
  }
}

TEST(SettingsTest, ReadsHardeningKeys) {
  const TempDir dir;
  dir.Write("pump.lstmad", "stand-in");
  const std::string yaml = std::string(kMinimal) +
                           "ingest: { idle_timeout: 2m, allow: [10.0.0.0/8, 127.0.0.1, \"fd00::/8\"] }\n"
                           "scoring: { queue_windows: 64, overflow: drop_oldest }\n";
  const core::Result<Settings> s = ParseSettings(yaml, "lstmad.yaml", dir.path());
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->ingest.idle_timeout_s, 120);
  EXPECT_EQ(s->ingest.allow, (std::vector<std::string>{"10.0.0.0/8", "127.0.0.1", "fd00::/8"}));
  EXPECT_EQ(s->scoring.queue_windows, 64);
  EXPECT_EQ(s->scoring.overflow, OverflowPolicy::kDropOldest);
}

TEST(SettingsTest, ReadsPerPeerLimits) {
  const TempDir dir;
  dir.Write("pump.lstmad", "stand-in");
  const std::string yaml = std::string(kMinimal) +
                           "ingest: { handshake_timeout: 3s }\n"
                           "metrics: { max_connections_per_peer: 64, max_auth_failures_per_minute: 1 }\n"
                           "limits: { max_connections_per_peer: 2 }\n";
  const core::Result<Settings> s = ParseSettings(yaml, "lstmad.yaml", dir.path());
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->ingest.handshake_timeout_s, 3);
  EXPECT_EQ(s->metrics.max_connections_per_peer, 64);
  EXPECT_EQ(s->metrics.max_auth_failures_per_minute, 1);
  EXPECT_EQ(s->limits.max_connections_per_peer, 2);
}

TEST(SettingsTest, ReadsTlsAndBasicAuth) {
  const TempDir dir;
  dir.Write("pump.lstmad", "stand-in");
  const std::string cert = dir.Write("s.pem", "x"), key = dir.Write("s.key", "x"), ca = dir.Write("ca.pem", "x");
  const std::string hash = "$2b$12$L7bTVYluUx0x7tvUuC.DgerKUwLr0lvtE1Sdm.xY6fduHY5bvGVU6";
  const std::string yaml = std::string(kMinimal) +
                           "ingest: { tls: { cert: s.pem, key: s.key, client_ca: ca.pem } }\n"
                           "metrics: { basic_auth_users: { prometheus: \"" + hash + "\" } }\n";
  const core::Result<Settings> s = ParseSettings(yaml, "lstmad.yaml", dir.path());
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE(s->ingest.tls.enabled());
  EXPECT_EQ(s->ingest.tls.cert, cert);
  EXPECT_EQ(s->ingest.tls.key, key);
  EXPECT_EQ(s->ingest.tls.client_ca, ca);
  ASSERT_EQ(s->metrics.basic_auth_users.size(), 1u);
  EXPECT_EQ(s->metrics.basic_auth_users[0].first, "prometheus");
  EXPECT_EQ(s->metrics.basic_auth_users[0].second, hash);
  const auto bad = ParseSettings(std::string(kMinimal) + "ingest: { tls: { cert: s.pem } }\n", "l.yaml", dir.path());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "l.yaml:5: ingest.tls: tls needs both cert and key");
}

TEST(SettingsTest, ReadsMetricsTlsWithTheIngestKeys) {
  const TempDir dir;
  dir.Write("pump.lstmad", "stand-in");
  const std::string cert = dir.Write("m.pem", "x"), key = dir.Write("m.key", "x"), ca = dir.Write("ca.pem", "x");
  const core::Result<Settings> s = ParseSettings(
      std::string(kMinimal) + "metrics: { tls: { cert: m.pem, key: m.key, client_ca: ca.pem } }\n", "lstmad.yaml",
      dir.path());
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_TRUE(s->metrics.tls.enabled());
  EXPECT_EQ(s->metrics.tls.cert, cert);
  EXPECT_EQ(s->metrics.tls.key, key);
  EXPECT_EQ(s->metrics.tls.client_ca, ca);
  EXPECT_FALSE(s->ingest.tls.enabled());
  const auto no_key = ParseSettings(std::string(kMinimal) + "metrics: { tls: { cert: m.pem } }\n", "l.yaml", dir.path());
  ASSERT_FALSE(no_key.ok());
  EXPECT_EQ(no_key.status().message(), "l.yaml:5: metrics.tls: tls needs both cert and key");
  const auto missing =
      ParseSettings(std::string(kMinimal) + "metrics: { tls: { cert: m.pem, key: gone.key } }\n", "l.yaml", dir.path());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("metrics.tls.key: no such file"), std::string::npos)
      << missing.status().message();
}

TEST(SettingsTest, ReadsIpv6Endpoints) {
  const TempDir dir;
  dir.Write("pump.lstmad", "");
  const auto s = ParseSettings(std::string(kMinimal) + R"(ingest: { listen: "[::1]:7878" }
metrics: { listen: "[::]:0" }
)",
                               "lstmad.yaml", dir.path());
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->ingest.listen.host, "::1");
  EXPECT_EQ(s->ingest.listen.port, 7878);
  EXPECT_EQ(s->ingest.listen.ToString(), "[::1]:7878");
  EXPECT_EQ(s->metrics.listen.host, "::");
  EXPECT_EQ(s->metrics.listen.port, 0);
  EXPECT_EQ(s->metrics.listen.ToString(), "[::]:0");
}

TEST(SettingsTest, EndpointToStringBracketsOnlyIpv6) {
  EXPECT_EQ((Endpoint{"localhost", 80}).ToString(), "localhost:80");
  EXPECT_EQ((Endpoint{"fe80::1%eth0", 1}).ToString(), "[fe80::1%eth0]:1");
  EXPECT_EQ(Endpoint().ToString(), "127.0.0.1:0");
}

}  // namespace
}  // namespace lstmad::config

namespace lstmad::config {
namespace {

TEST(SettingsTest, AssemblyGapsAndGraphiteParse) {
  const TempDir dir;
  dir.Write("pump.lstmad", "");
  const core::Result<Settings> s = ParseSettings(R"(ingest:
  graphite:
    listen: 127.0.0.1:2003
    separator: "_"
    templates: ["collectd.*.load.load.* measurement.host...field", "host.measurement*"]
models:
  - name: pump
    path: pump.lstmad
    measurement: pump
    assembly: { tolerance: 2s, wait: 10s, carry_forward: 0, max_pending: 4 }
    max_gap_intervals: 5
  - name: fan
    path: pump.lstmad
    measurement: fan
    assembly: {}
)", "lstmad.yaml", dir.path());
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_TRUE(s->ingest.graphite.listen.has_value());
  EXPECT_EQ(s->ingest.graphite.listen->port, 2003);
  EXPECT_EQ(s->ingest.graphite.separator, "_");
  EXPECT_EQ(s->ingest.graphite.templates,
            (std::vector<std::string>{"collectd.*.load.load.* measurement.host...field", "host.measurement*"}));
  const AssemblySettings& a = s->models[0].assembly;
  EXPECT_TRUE(a.enabled);
  EXPECT_EQ(a.tolerance_s, 2);
  EXPECT_EQ(a.wait_s, 10);
  EXPECT_EQ(a.carry_forward, 0);
  EXPECT_EQ(a.max_pending, 4);
  EXPECT_EQ(s->models[0].max_gap_intervals, 5);
  // An empty map turns assembly on with the documented defaults.
  const AssemblySettings& d = s->models[1].assembly;
  EXPECT_TRUE(d.enabled);
  EXPECT_EQ(d.tolerance_s, 0);
  EXPECT_EQ(d.wait_s, 5);
  EXPECT_EQ(d.carry_forward, 3);
  EXPECT_EQ(d.max_pending, 8);
  EXPECT_EQ(s->models[1].max_gap_intervals, 0);
}

TEST(SettingsTest, WithoutTheKeysAssemblyGapsAndGraphiteAreOff) {
  const TempDir dir;
  dir.Write("pump.lstmad", "");
  const core::Result<Settings> s = ParseSettings(kMinimal, "lstmad.yaml", dir.path());
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_FALSE(s->models[0].assembly.enabled);
  EXPECT_EQ(s->models[0].max_gap_intervals, 0);
  EXPECT_FALSE(s->ingest.graphite.listen.has_value());
  EXPECT_TRUE(s->ingest.graphite.templates.empty());
}

}  // namespace
}  // namespace lstmad::config
