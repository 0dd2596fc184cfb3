// Every way a configuration can be wrong, and the exact message it gets:
// "FILE:LINE: KEY.PATH: what" (syntax errors: "FILE:LINE:COLUMN: what").
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/test_files.h"
#include "lstmad/config/settings.h"

namespace lstmad::config {
namespace {

using testing::ExamplePath;
using testing::kModels;  // lines 1-2; the cases below start on line 3
using testing::ReadFile;
using testing::TempDir;

struct Case {
  std::string yaml;
  std::string error;  // the whole message
};

class SettingsErrorTest : public ::testing::Test {
 protected:
  SettingsErrorTest() {
    dir_.Write("pump.lstmad", "");
    dir_.Write("fan.lstmad", "");
  }

  std::string ErrorOf(const std::string& yaml) const {
    const core::Result<Settings> s = ParseSettings(yaml, "lstmad.yaml", dir_.path());
    return s.ok() ? "(parsed without error)" : s.status().message();
  }

  void ExpectErrors(const std::vector<Case>& cases) const {
    for (const Case& c : cases) EXPECT_EQ(ErrorOf(c.yaml), c.error) << c.yaml;
  }

  TempDir dir_;
};

TEST_F(SettingsErrorTest, AlertmanagerSectionIsChecked) {
  const std::string m = kModels;
  ExpectErrors({
      {m + "alertmanager: { urls: [\"https://am\"] }\n",
       "lstmad.yaml:3: alertmanager.urls[0]: expected http[s]://HOST:PORT[/PATH] with an explicit "
       "port, got \"https://am\""},
      {m + "alertmanager: { urls: [am:9093] }\n",
       "lstmad.yaml:3: alertmanager.urls[0]: expected http[s]://HOST:PORT[/PATH], got \"am:9093\""},
      {m + "alertmanager: { urls: [\"http://am\"] }\n",
       "lstmad.yaml:3: alertmanager.urls[0]: expected http[s]://HOST:PORT[/PATH] with an explicit "
       "port, got \"http://am\""},
      {m + "alertmanager: { timeout_s: 0 }\n",
       "lstmad.yaml:3: alertmanager.timeout_s: must be from 0.001 to 60, got 0"},
      {m + "alertmanager:\n  basic_auth: { username: a, password: b }\n  bearer_token: t\n",
       "lstmad.yaml:3: alertmanager: use basic_auth or bearer_token, not both"},
  });
}

TEST_F(SettingsErrorTest, StateIntervalIsADuration) {
  const std::string m = kModels;
  ExpectErrors({
      {m + "state: { interval: soon }\n",
       "lstmad.yaml:3: state.interval: expected a duration like 30s, 5m or 1h from 1s to 86400s, "
       "got \"soon\""},
      {m + "state: { interval: 0.5s }\n",
       "lstmad.yaml:3: state.interval: expected a duration like 30s, 5m or 1h from 1s to 86400s, "
       "got \"0.5s\""},
  });
}

TEST_F(SettingsErrorTest, AllowListEntriesAreNetworks) {
  const std::string m = kModels;
  ExpectErrors({
      {m + "ingest: { allow: [10.0.0.0/33] }\n",
       "lstmad.yaml:3: ingest.allow[0]: expected a network like 10.0.0.0/8 or fd00::/8, got "
       "\"10.0.0.0/33\""},
      {m + "ingest: { allow: [example.com] }\n",
       "lstmad.yaml:3: ingest.allow[0]: expected a network like 10.0.0.0/8 or fd00::/8, got "
       "\"example.com\""},
  });
}

TEST_F(SettingsErrorTest, DetectorSectionIsChecked) {
  const std::string head = "models:\n  - name: pump\n    path: pump.lstmad\n    measurement: pump\n";
  ExpectErrors({
      {head + "    detector: { threshold: adaptive }\n",
       "lstmad.yaml:5: models[0].detector.threshold: expected one of fixed, spot, dspot, likelihood, "
       "spot_and_likelihood; got \"adaptive\""},
      {head + "    detector: { risk: 0.7 }\n",
       "lstmad.yaml:5: models[0].detector.risk: must be from 1e-12 to 0.5, got 0.7"},
      // Each key in range, but q must lie below 1 - level (z_q above t).
      {head + "    detector:\n      level: 0.9\n      risk: 0.2\n",
       "lstmad.yaml:5: models[0].detector: SPOT risk q must be in (0, 1 - initial level) = (0, 0.100000), "
       "got 0.200000"},
      {head + "    detector: { novelty_margin: -0.1 }\n",
       "lstmad.yaml:5: models[0].detector.novelty_margin: expected a number from 0 to 10 (a fraction of each "
       "feature's range) or off, got \"-0.1\""},
      {head + "    detector: { novelty_margin: none }\n",
       "lstmad.yaml:5: models[0].detector.novelty_margin: expected a number from 0 to 10 (a fraction of each "
       "feature's range) or off, got \"none\""},
      {head + "    detector: { likelihood_risk_per: 45d }\n",
       "lstmad.yaml:5: models[0].detector.likelihood_risk_per: expected a duration like 30s, 5m or 1h from "
       "0s to "
       "2592000s, got \"45d\""},
      {head + "    detector: { likelihood_settle_weight: 0 }\n",
       "lstmad.yaml:5: models[0].detector.likelihood_settle_weight: must be from 1 to 10000, got 0"},
      {head + "    detector: { likelihood_accept_after: -2 }\n",
       "lstmad.yaml:5: models[0].detector.likelihood_accept_after: must be from -1 to 16777216, got -2"},
      {head + "    detector: { threshold: dspot, dspot_depth: 50, calibration_windows: 40 }\n",
       "lstmad.yaml:5: models[0].detector: calibration windows must be at least 60"},
      {head + "    assembly: { max_pending: 0 }\n",
       "lstmad.yaml:5: models[0].assembly.max_pending: must be from 1 to 1024, got 0"},
      {head + "    max_gap_intervals: -1\n",
       "lstmad.yaml:5: models[0].max_gap_intervals: must be from 0 to 1e+06, got -1"},
      {head + "    detector: { max_peaks: 0 }\n",
       "lstmad.yaml:5: models[0].detector.max_peaks: must be from 1 to 100000, got 0"},
  });
}

TEST_F(SettingsErrorTest, UnknownKeysAtEveryLevel) {
  const std::string m = kModels;
  ExpectErrors({
      {m + "ingset: {}\n",
       "lstmad.yaml:3: ingset: unknown key, did you mean \"ingest\"? (expected one of: ingest, metrics, models, limits, "
       "scoring, events, alertmanager, state, log, nats, console, remote_write, remote_write_out, mqtt)"},
      {m + "ingest:\n  listen: 127.0.0.1:1\n  lisen: 127.0.0.1:2\n",
       "lstmad.yaml:5: ingest.lisen: unknown key, did you mean \"listen\"? (expected one of: listen, precision, "
       "idle_timeout, allow, tls, handshake_timeout, http, graphite)"},
      {m + "ingest:\n  graphite: { listen: 127.0.0.1:2003, template: [] }\n",
       "lstmad.yaml:4: ingest.graphite.template: unknown key, did you mean \"templates\"? (expected one of: listen, "
       "templates, separator)"},
      {m + "metrics: { port: 9108 }\n",
       "lstmad.yaml:3: metrics.port: unknown key (expected one of: listen, basic_auth_users, tls, "
       "max_connections_per_peer, max_auth_failures_per_minute)"},
      {"models:\n  - name: pump\n    path: pump.lstmad\n    measurement: pump\n    treshold: 1\n",
       "lstmad.yaml:5: models[0].treshold: unknown key, did you mean \"threshold\"? (expected one of: name, path, measurement, "
       "threshold, alert, features, calibrate, scaler, keras_output, detector, retrain, guards, remote_write, "
       "export, export_band_sigmas, assembly, max_gap_intervals)"},
      {"models:\n  - name: pump\n    path: pump.lstmad\n    measurement: pump\n"
       "    alert:\n      for: 2\n      fire: 2\n",
       "lstmad.yaml:7: models[0].alert.fire: unknown key (expected one of: for, clear)"},
      {m + "limits: { max_stream: 1 }\n",
       "lstmad.yaml:3: limits.max_stream: unknown key, did you mean \"max_streams\"? (expected one of: max_streams, "
       "max_line_bytes, max_connections, max_connections_per_peer, stream_expiry_s)"},
      {m + "scoring:\n  worker: 2\n",
       "lstmad.yaml:4: scoring.worker: unknown key, did you mean \"workers\"? (expected one of: max_batch, max_wait_ms, "
       "workers, queue_windows, overflow)"},
      {m + "events: { file: x }\n",
       "lstmad.yaml:3: events.file: unknown key (expected one of: path)"},
      {m + "log: { lvl: info }\n",
       "lstmad.yaml:3: log.lvl: unknown key (expected one of: level, format)"},
  });
}

TEST_F(SettingsErrorTest, DuplicateAndNonScalarKeys) {
  const std::string m = kModels;
  ExpectErrors({
      {m + "log:\n  level: info\n  level: debug\n",
       "lstmad.yaml:5: log.level: duplicate key (first at line 4)"},
      {m + "log: {}\nlog: {}\n", "lstmad.yaml:4: log: duplicate key (first at line 3)"},
      {m + "? [a, b]\n: 1\n", "lstmad.yaml:3: keys must be names, got a list"},
  });
}

TEST_F(SettingsErrorTest, WrongTypes) {
  const std::string m = kModels;
  ExpectErrors({
      {"[1, 2]\n", "lstmad.yaml:1: expected a map, got a list"},
      {"just text\n", "lstmad.yaml:1: expected a map, got \"just text\""},
      {m + "ingest: [1, 2]\n", "lstmad.yaml:3: ingest: expected a map, got a list"},
      {m + "ingest: on\n", "lstmad.yaml:3: ingest: expected a map, got \"on\""},
      {m + "ingest:\n  listen: 7878\n",
       "lstmad.yaml:4: ingest.listen: expected HOST:PORT, got \"7878\""},
      {m + "ingest:\n  listen: { host: x }\n",
       "lstmad.yaml:4: ingest.listen: expected HOST:PORT (quote IPv6 endpoints: \"[::1]:7878\"), "
       "got a map"},
      {m + "limits:\n  max_streams: many\n",
       "lstmad.yaml:4: limits.max_streams: expected an integer, got \"many\""},
      {m + "limits:\n  max_streams: \"10\"\n",
       "lstmad.yaml:4: limits.max_streams: expected an integer, got the string \"10\" (write "
       "numbers without quotes)"},
      {m + "limits:\n  max_streams:\n",
       "lstmad.yaml:4: limits.max_streams: expected an integer, got nothing"},
      {m + "limits: { max_line_bytes: [1] }\n",
       "lstmad.yaml:3: limits.max_line_bytes: expected an integer, got a list"},
      {m + "scoring: { max_batch: 1.5 }\n",
       "lstmad.yaml:3: scoring.max_batch: expected an integer, got \"1.5\""},
      {m + "scoring: { max_batch: 0x10 }\n",
       "lstmad.yaml:3: scoring.max_batch: expected an integer, got \"0x10\""},
      {m + "scoring: { max_wait_ms: soon }\n",
       "lstmad.yaml:3: scoring.max_wait_ms: expected a finite number, got \"soon\""},
      {m + "events: { path: [a] }\n", "lstmad.yaml:3: events.path: expected a string, got a list"},
      {m + "log: { level: [info] }\n", "lstmad.yaml:3: log.level: expected a string, got a list"},
      // A value's errors point at its key's line.
      {"models:\n  name: pump\n", "lstmad.yaml:1: models: expected a list, got a map"},
      {"models: pump\n", "lstmad.yaml:1: models: expected a list, got \"pump\""},
      {"models:\n  - pump\n", "lstmad.yaml:2: models[0]: expected a map, got \"pump\""},
      {"models:\n  - { name: [pump], path: pump.lstmad, measurement: pump }\n",
       "lstmad.yaml:2: models[0].name: expected a string, got a list"},
      {"models:\n  - { name: pump, path: pump.lstmad, measurement: pump, threshold: high }\n",
       "lstmad.yaml:2: models[0].threshold: expected a finite number, got \"high\""},
      {"models:\n  - { name: pump, path: pump.lstmad, measurement: pump, threshold: .nan }\n",
       "lstmad.yaml:2: models[0].threshold: expected a finite number, got \".nan\""},
      {"models:\n  - { name: pump, path: pump.lstmad, measurement: pump, alert: 3 }\n",
       "lstmad.yaml:2: models[0].alert: expected a map, got \"3\""},
  });
}

TEST_F(SettingsErrorTest, BadEnums) {
  const std::string m = kModels;
  ExpectErrors({
      {m + "ingest: { precision: sec }\n",
       "lstmad.yaml:3: ingest.precision: expected one of ns, us, ms, s; got \"sec\""},
      {m + "ingest: { precision: NS }\n",
       "lstmad.yaml:3: ingest.precision: expected one of ns, us, ms, s; got \"NS\""},
      {m + "log: { level: verbose }\n",
       "lstmad.yaml:3: log.level: expected one of trace, debug, info, warn, error, critical, off; "
       "got \"verbose\""},
      {m + "log: { format: xml }\n",
       "lstmad.yaml:3: log.format: expected one of text, json; got \"xml\""},
  });
}

TEST_F(SettingsErrorTest, OutOfRangeNumbers) {
  const std::string m = kModels;
  const std::string a = "models:\n  - { name: pump, path: pump.lstmad, measurement: pump, alert: ";
  ExpectErrors({
      {m + "limits: { max_streams: 0 }\n", "lstmad.yaml:3: limits.max_streams: must be >= 1, got 0"},
      {m + "limits: { max_line_bytes: -5 }\n",
       "lstmad.yaml:3: limits.max_line_bytes: must be >= 1, got -5"},
      {m + "limits: { max_connections: 0 }\n",
       "lstmad.yaml:3: limits.max_connections: must be >= 1, got 0"},
      {m + "limits: { max_connections_per_peer: 0 }\n",
       "lstmad.yaml:3: limits.max_connections_per_peer: must be >= 1, got 0"},
      {m + "metrics: { max_connections_per_peer: 65 }\n",
       "lstmad.yaml:3: metrics.max_connections_per_peer: must be from 1 to 64, got 65"},
      {m + "metrics: { max_connections_per_peer: 0 }\n",
       "lstmad.yaml:3: metrics.max_connections_per_peer: must be from 1 to 64, got 0"},
      {m + "metrics: { max_auth_failures_per_minute: 0 }\n",
       "lstmad.yaml:3: metrics.max_auth_failures_per_minute: must be >= 1, got 0"},
      {m + "ingest: { http: { max_connections_per_peer: 65 } }\n",
       "lstmad.yaml:3: ingest.http.max_connections_per_peer: must be from 1 to 64, got 65"},
      {m + "ingest: { http: { tokens: [\"\"] } }\n",
       "lstmad.yaml:3: ingest.http.tokens[0]: an empty token would accept anyone"},
      {m + "ingest: { handshake_timeout: 0s }\n",
       "lstmad.yaml:3: ingest.handshake_timeout: expected a duration like 30s, 5m or 1h from 1s to 300s, "
       "got \"0s\""},
      {m + "ingest: { handshake_timeout: 301s }\n",
       "lstmad.yaml:3: ingest.handshake_timeout: expected a duration like 30s, 5m or 1h from 1s to 300s, "
       "got \"301s\""},
      {m + "limits: { stream_expiry_s: -1 }\n",
       "lstmad.yaml:3: limits.stream_expiry_s: must be from 0 to 315360000, got -1"},
      {m + "limits: { stream_expiry_s: .nan }\n",
       "lstmad.yaml:3: limits.stream_expiry_s: expected a finite number, got \".nan\""},
      {m + "limits: { max_streams: 99999999999 }\n",
       "lstmad.yaml:3: limits.max_streams: must be >= 1, got 99999999999"},
      {m + "scoring: { max_batch: 0 }\n", "lstmad.yaml:3: scoring.max_batch: must be >= 1, got 0"},
      {m + "scoring: { max_wait_ms: -0.5 }\n",
       "lstmad.yaml:3: scoring.max_wait_ms: must be from 0 to 10000, got -0.5"},
      {m + "scoring: { max_wait_ms: 10000.5 }\n",
       "lstmad.yaml:3: scoring.max_wait_ms: must be from 0 to 10000, got 10000.5"},
      {m + "scoring: { workers: 0 }\n", "lstmad.yaml:3: scoring.workers: must be from 1 to 64, got 0"},
      {m + "scoring: { workers: 65 }\n",
       "lstmad.yaml:3: scoring.workers: must be from 1 to 64, got 65"},
      {a + "{ for: 0 } }\n", "lstmad.yaml:2: models[0].alert.for: must be >= 1, got 0"},
      {a + "{ clear: -1 } }\n", "lstmad.yaml:2: models[0].alert.clear: must be >= 1, got -1"},
      {"models:\n  - { name: pump, path: pump.lstmad, measurement: pump, threshold: -0.1 }\n",
       "lstmad.yaml:2: models[0].threshold: must be >= 0, got -0.1"},
  });
}

TEST_F(SettingsErrorTest, BadEndpoints) {
  const std::string m = kModels;
  ExpectErrors({
      {m + "ingest: { listen: \"127.0.0.1:65536\" }\n",
       "lstmad.yaml:3: ingest.listen: port must be a number from 0 to 65535, got \"65536\""},
      {m + "metrics: { listen: \"127.0.0.1:-1\" }\n",
       "lstmad.yaml:3: metrics.listen: port must be a number from 0 to 65535, got \"-1\""},
      {m + "metrics: { listen: \"127.0.0.1:\" }\n",
       "lstmad.yaml:3: metrics.listen: port must be a number from 0 to 65535, got \"\""},
      {m + "metrics: { listen: \"127.0.0.1:http\" }\n",
       "lstmad.yaml:3: metrics.listen: port must be a number from 0 to 65535, got \"http\""},
      {m + "ingest: { listen: \":7878\" }\n",
       "lstmad.yaml:3: ingest.listen: empty host in \":7878\""},
      {m + "ingest: { listen: \"[]:7878\" }\n",
       "lstmad.yaml:3: ingest.listen: empty host in \"[]:7878\""},
      {m + "ingest: { listen: \"::1:7878\" }\n",
       "lstmad.yaml:3: ingest.listen: IPv6 hosts go in brackets, e.g. \"[::1]:7878\"; got "
       "\"::1:7878\""},
      {m + "ingest: { listen: \"[::1]7878\" }\n",
       "lstmad.yaml:3: ingest.listen: expected [IPV6-HOST]:PORT, got \"[::1]7878\""},
      {m + "ingest: { listen: \"my host:1\" }\n",
       "lstmad.yaml:3: ingest.listen: bad host in \"my host:1\""},
  });
}

TEST_F(SettingsErrorTest, ModelListProblems) {
  ExpectErrors({
      {"", "lstmad.yaml:1: models: required key is missing"},
      {"# nothing but a comment\n", "lstmad.yaml:1: models: required key is missing"},
      {"log: { level: info }\n", "lstmad.yaml:1: models: required key is missing"},
      {"models: []\n", "lstmad.yaml:1: models: must list at least one model"},
      {"models:\n", "lstmad.yaml:1: models: must list at least one model"},
      {"models:\n  - { name: pump, path: pump.lstmad, measurement: pump }\n"
       "  - { name: pump, path: fan.lstmad, measurement: fan }\n",
       "lstmad.yaml:3: models[1].name: duplicate model name \"pump\" (also models[0].name at line "
       "2)"},
      {"models:\n  - { name: pump, path: pump.lstmad, measurement: pump }\n"
       "  - name: fan\n    path: fan.lstmad\n    measurement: pump\n",
       "lstmad.yaml:5: models[1].measurement: duplicate measurement \"pump\" (also "
       "models[0].measurement at line 2)"},
  });
}

TEST_F(SettingsErrorTest, ModelEntryProblems) {
  ExpectErrors({
      {"models:\n  - { name: 1pump, path: pump.lstmad, measurement: pump }\n",
       "lstmad.yaml:2: models[0].name: invalid name \"1pump\" (expected [a-zA-Z_][a-zA-Z0-9_-]*)"},
      {"models:\n  - { name: pu mp, path: pump.lstmad, measurement: pump }\n",
       "lstmad.yaml:2: models[0].name: invalid name \"pu mp\" (expected [a-zA-Z_][a-zA-Z0-9_-]*)"},
      {"models:\n  - { name: pump.v2, path: pump.lstmad, measurement: pump }\n",
       "lstmad.yaml:2: models[0].name: invalid name \"pump.v2\" (expected "
       "[a-zA-Z_][a-zA-Z0-9_-]*)"},
      {"models:\n  - { name: \"\", path: pump.lstmad, measurement: pump }\n",
       "lstmad.yaml:2: models[0].name: invalid name \"\" (expected [a-zA-Z_][a-zA-Z0-9_-]*)"},
      {"models:\n  - { name: pump, path: pump.lstmad, measurement: \"\" }\n",
       "lstmad.yaml:2: models[0].measurement: must not be empty"},
      {"models:\n  - { name: pump, path: \"\", measurement: pump }\n",
       "lstmad.yaml:2: models[0].path: must not be empty"},
      {"models:\n  - { name: pump, path: pump.lstmad, measurement: pump }\n"
       "  - path: fan.lstmad\n    measurement: fan\n",
       "lstmad.yaml:3: models[1].name: required key is missing"},
      {"models:\n  - { name: pump, path: pump.lstmad, measurement: pump }\n"
       "  - name: fan\n    measurement: fan\n",
       "lstmad.yaml:3: models[1].path: required key is missing"},
      {"models:\n  - { name: pump, path: pump.lstmad }\n",
       "lstmad.yaml:2: models[0].measurement: required key is missing"},
      {"models:\n  - {}\n", "lstmad.yaml:2: models[0].name: required key is missing"},
  });
}

TEST_F(SettingsErrorTest, ModelFileMustExist) {
  dir_.Write("sub/inner.lstmad", "");
  ExpectErrors({
      {"models:\n  - { name: pump, path: pump.lstmad, measurement: pump }\n"
       "  - name: fan\n    path: /x.lstmad\n    measurement: fan\n",
       "lstmad.yaml:4: models[1].path: no such file: /x.lstmad"},
      {"models:\n  - { name: pump, path: nope.lstmad, measurement: pump }\n",
       "lstmad.yaml:2: models[0].path: no such file: " + dir_.path() + "/nope.lstmad"},
      {"models:\n  - { name: pump, path: pump.lstmad/x, measurement: pump }\n",
       "lstmad.yaml:2: models[0].path: no such file: " + dir_.path() + "/pump.lstmad/x"},
      {"models:\n  - { name: pump, path: sub, measurement: pump }\n",
       "lstmad.yaml:2: models[0].path: is a directory: " + dir_.path() + "/sub"},
  });
}

TEST_F(SettingsErrorTest, SyntaxErrorsCarryLineAndColumn) {
  const std::string m = kModels;
  ExpectErrors({
      {m + "ingest: [1\nlog: {}\n", "lstmad.yaml:4:4: end of sequence flow not found"
       " (hint: a [ or { is not closed, or a quote is not closed inside it)"},
      {m + "log: level: info\n", "lstmad.yaml:3:11: illegal map value"
       " (hint: a \"key: value\" where none can be: is this line indented deeper than the key above it, or is a value containing \": \" missing its quotes?)"},
      {m + "log:\n  level: info\n format: json\n", "lstmad.yaml:5:2: end of map not found"
       " (hint: check the indentation here and on the lines above: the keys of one map, and the - items of one list, start in the same column)"},
      {m + "log: { level: \"info }\n", "lstmad.yaml:4:1: end of map flow not found"
       " (hint: a [ or { is not closed, or a quote is not closed inside it)"},
      {m + "log: 'info' debug\n", "lstmad.yaml:3:13: end of map not found"
       " (hint: check the indentation here and on the lines above: the keys of one map, and the - items of one list, start in the same column)"},
      {m + "log:\n\tlevel: info\n", "lstmad.yaml:4:7: illegal map value"
       " (hint: line 4 indents with a tab; YAML indents with spaces only)"},
      {m + "log:\n  level: info\n\t format: json\n", "lstmad.yaml:5:1: illegal tab when looking for indentation"
       " (hint: line 5 indents with a tab; YAML indents with spaces only)"},
      {m + "ingest: *nowhere\n", "lstmad.yaml:3:9: the referenced anchor is not defined"},
      {m + "---\nlog: {}\n", "lstmad.yaml:3: expected one YAML document; a second one starts here"},
  });
}

// yaml-cpp throws on malformed input; ParseSettings must catch all of it.
// Every prefix of the example and random byte flips of it give a Status.
TEST_F(SettingsErrorTest, NoExceptionEscapesOnDamagedInput) {
  dir_.Write("models/pump.lstmad", "");
  const std::string example = ReadFile(ExamplePath());
  for (size_t n = 0; n <= example.size(); ++n) {
    const auto s = ParseSettings(example.substr(0, n), "lstmad.yaml", dir_.path());
    if (!s.ok()) {
      ASSERT_EQ(s.status().message().rfind("lstmad.yaml:", 0), 0u) << n;
    }
  }
  std::mt19937 rng(20240601);
  const std::string noise = "{}[]:,-?*&!|>'\"#%@` \n\t\\\x01\xff";
  for (int trial = 0; trial < 2000; ++trial) {
    std::string damaged = example;
    for (int k = 0; k < 3; ++k) {
      damaged[rng() % damaged.size()] = noise[rng() % noise.size()];
    }
    const auto s = ParseSettings(damaged, "lstmad.yaml", dir_.path());
    if (!s.ok()) {
      ASSERT_EQ(s.status().message().rfind("lstmad.yaml:", 0), 0u) << damaged;
    }
  }
}

}  // namespace
}  // namespace lstmad::config
