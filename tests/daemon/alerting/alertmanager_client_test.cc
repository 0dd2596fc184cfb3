// The pieces of alert delivery that need no Alertmanager: URL parsing, basic
// auth encoding and the v2 alert JSON (the real server is in
// tests/integration/test_alertmanager.py).
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "alerting/alertmanager_client.h"
#include "alerting/http_client.h"
#include "daemon/support/log_writers.h"
#include "obs/logging.h"
#include "obs/metrics.h"

namespace lstmad::daemon {
namespace {

using testing::LogCapture;

TEST(HttpClientTest, ParsesHttpUrls) {
  auto u = ParseHttpUrl("http://am.example:9093/prefix/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "am.example");
  EXPECT_EQ(u->port, "9093");
  EXPECT_EQ(u->path, "/prefix");
  u = ParseHttpUrl("http://[::1]:9093");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->path, "");
  EXPECT_FALSE(u->https);
  u = ParseHttpUrl("https://am:9443/x");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(u->https);
  EXPECT_EQ(u->host, "am");
  EXPECT_EQ(u->port, "9443");
  EXPECT_EQ(u->path, "/x");
  EXPECT_FALSE(ParseHttpUrl("ftp://am:21").ok());
  EXPECT_FALSE(ParseHttpUrl("http://am").ok());
}

TEST(HttpClientTest, HttpsGoesThroughTheTlsTransportOrFails) {
  const auto u = ParseHttpUrl("https://am:9443/prefix");
  ASSERT_TRUE(u.ok());
  const auto none = HttpPost(*u, "/api/v2/alerts", "[]", "", std::chrono::milliseconds(100));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().message(),
            "https://am:9443/prefix/api/v2/alerts: https needs a TLS client (alertmanager.tls)");
  std::string host, port, request;
  const TlsTransport fake = [&](const std::string& h, const std::string& p, const std::string& r,
                                std::chrono::milliseconds) -> core::Result<std::string> {
    host = h;
    port = p;
    request = r;
    return std::string("HTTP/1.1 202 Accepted\r\n");
  };
  const auto status = HttpPost(*u, "/api/v2/alerts", "[]", "Bearer t", std::chrono::milliseconds(100), fake);
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_EQ(*status, 202);
  EXPECT_EQ(host, "am");
  EXPECT_EQ(port, "9443");
  EXPECT_EQ(
      request,
      "POST /prefix/api/v2/alerts HTTP/1.1\r\nHost: am:9443\r\nContent-Type: application/json\r\n"
      "Content-Length: 2\r\nConnection: close\r\nUser-Agent: lstmad\r\nAuthorization: Bearer t\r\n\r\n[]");
}

TEST(HttpClientTest, RefusesCredentialsInTheUrlWithoutRepeatingThem) {
  const auto u = ParseHttpUrl("http://alice:s3cret@am:9093/prefix");
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.status().message(), "http://REDACTED@am:9093/prefix: credentials in the URL are not supported");
}

// A URL with credentials that reached the client anyway (configuration
// refuses it) is logged redacted on every failed try.
TEST(AlertmanagerClientTest, FailedDeliveryLogsTheUrlWithoutItsPassword) {
  LogCapture log;
  Metrics metrics("test");
  config::AlertmanagerSettings settings;
  settings.urls = {"http://alice:s3cret@127.0.0.1:9"};
  settings.timeout_s = 1;
  AlertmanagerClient client(settings, &metrics);
  AlertEvent e;
  e.kind = "fired";
  e.time_ns = 1700000000123456789;
  e.model = "pump";
  e.stream = "pump,site=a";
  client.Notify(e);
  // The failure log is rate-limited to one a second across the process: wait
  // for it rather than assume the first try is logged.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (log.Text().find("will retry") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const std::string text = log.Text();
  EXPECT_NE(text.find("url=http://REDACTED@127.0.0.1:9"), std::string::npos) << text;
  EXPECT_NE(text.find("http://REDACTED@127.0.0.1:9: credentials in the URL are not supported"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("s3cret"), std::string::npos) << text;
  EXPECT_EQ(text.find("alice"), std::string::npos) << text;
}

TEST(AlertmanagerJsonTest, FiringAndResolvedAlerts) {
  AlertEvent e;
  e.kind = "fired";
  e.time_ns = 1700000000123456789;
  e.model = "pump";
  e.stream = "pump,site=\"a\"";
  e.error = 0.5;
  e.threshold = 0.1;
  e.top_features = {{"flow", 0.75}, {"temperature", 0.25}};
  const std::string fired = AlertmanagerAlertJson(e, "warning", e.time_ns);
  EXPECT_NE(fired.find("\"labels\":{\"alertname\":\"LstmadStreamAnomalous\",\"model\":\"pump\","
                       "\"stream\":\"pump,site=\\\"a\\\"\",\"severity\":\"warning\",\"site\":\"\\\"a\\\"\"}"),
            std::string::npos)
      << fired;
  EXPECT_NE(fired.find("\"startsAt\":\"2023-11-14T22:13:20.123456789Z\""), std::string::npos) << fired;
  EXPECT_EQ(fired.find("endsAt"), std::string::npos);
  EXPECT_NE(fired.find("\"top_features\":\"flow 75%, temperature 25%\""), std::string::npos) << fired;
  e.kind = "resolved";
  e.time_ns += 60000000000;
  const std::string resolved = AlertmanagerAlertJson(e, "warning", 1700000000123456789);
  EXPECT_NE(resolved.find("\"startsAt\":\"2023-11-14T22:13:20.123456789Z\""), std::string::npos);
  EXPECT_NE(resolved.find("\"endsAt\":\"2023-11-14T22:14:20.123456789Z\""), std::string::npos) << resolved;
  EXPECT_EQ(resolved.find("resolved_reason"), std::string::npos) << resolved;
  // A change accepted as the new normal says so, as a stream that went away does.
  e.reason = kChangeAccepted;
  const nlohmann::json accepted =
      nlohmann::json::parse(AlertmanagerAlertJson(e, "warning", 1700000000123456789));
  EXPECT_EQ(accepted["annotations"]["resolved_reason"], "change_accepted");
  EXPECT_EQ(accepted["endsAt"], "2023-11-14T22:14:20.123456789Z");
}

AlertEvent PumpEvent() {
  AlertEvent e;
  e.kind = "fired";
  e.time_ns = 1700000000123456789;
  e.model = "pump";
  e.stream = "pump,site=a";
  e.error = 0.5;
  e.threshold = 0.1;
  e.top_features = {{"flow", 1.0}};
  return e;
}

// The old formatter took the remainder of a negative time as is and wrote
// "1970-01-01T00:00:00.-00000001Z" for -1 ns.
TEST(AlertmanagerJsonTest, TimesBefore1970CountForwardFromTheirSecond) {
  AlertEvent e = PumpEvent();
  e.kind = "resolved";
  e.time_ns = -1;
  const nlohmann::json alert = nlohmann::json::parse(AlertmanagerAlertJson(e, "warning", -1500000001));
  EXPECT_EQ(alert["startsAt"], "1969-12-31T23:59:58.499999999Z");
  EXPECT_EQ(alert["endsAt"], "1969-12-31T23:59:59.999999999Z");
}

// The old writer passed invalid UTF-8 through into the body, which
// Alertmanager then rejected as invalid JSON.
TEST(AlertmanagerJsonTest, InvalidUtf8InNamesBecomesReplacementCharacters) {
  AlertEvent e = PumpEvent();
  e.model = "p\377";
  e.stream = "pump,site=\303";
  e.top_features = {{"fl\346\227ow", 1.0}};
  const nlohmann::json alert = nlohmann::json::parse(AlertmanagerAlertJson(e, "warning", e.time_ns));
  EXPECT_EQ(alert["labels"]["model"], "p\uFFFD");
  EXPECT_EQ(alert["labels"]["stream"], "pump,site=\uFFFD");
  EXPECT_EQ(alert["annotations"]["top_features"], "fl\uFFFDow 100%");
  EXPECT_EQ(alert["annotations"]["summary"], "Stream pump,site=\uFFFD of model p\uFFFD is anomalous");
}

TEST(AlertmanagerJsonTest, BodyParsesForAnyBytesInTheNames) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<size_t> length(0, 16);
  const auto random_bytes = [&] {
    std::string s(length(rng), '\0');
    for (char& c : s) c = static_cast<char>(byte(rng));
    return s;
  };
  for (int round = 0; round < 2000; ++round) {
    AlertEvent e = PumpEvent();
    e.model = random_bytes();
    e.stream = random_bytes();
    e.top_features = {{random_bytes(), 0.5}, {random_bytes(), 0.5}};
    const std::string body = AlertmanagerAlertJson(e, random_bytes(), e.time_ns);
    ASSERT_TRUE(nlohmann::json::accept(body)) << ::testing::PrintToString(body);
    const nlohmann::json alert = nlohmann::json::parse(body);
    EXPECT_EQ(alert["labels"]["alertname"], "LstmadStreamAnomalous");
  }
}

TEST(AlertmanagerJsonTest, KeysComeInAlertmanagersOrder) {
  const nlohmann::ordered_json alert = nlohmann::ordered_json::parse(AlertmanagerAlertJson(
      [] {
        AlertEvent e = PumpEvent();
        e.kind = "resolved";
        return e;
      }(),
      "critical", 1));
  std::vector<std::string> keys;
  for (const auto& [k, v] : alert.items()) keys.push_back(k);
  // A tag named like one of the alert's own labels is exported_, as on /metrics.
  AlertEvent clash = PumpEvent();
  clash.stream = "pump,alertname=x,severity=low";
  EXPECT_EQ(nlohmann::ordered_json::parse(AlertmanagerAlertJson(clash, "warning", 1))["labels"].dump(),
            R"({"alertname":"LstmadStreamAnomalous","model":"pump","stream":"pump,alertname=x,severity=low",)"
            R"("severity":"warning","exported_alertname":"x","exported_severity":"low"})");
  EXPECT_EQ(keys, (std::vector<std::string>{"labels", "annotations", "startsAt", "endsAt"}));
  EXPECT_EQ(alert["labels"].dump(),
            R"({"alertname":"LstmadStreamAnomalous","model":"pump","stream":"pump,site=a","severity":"critical","site":"a"})");
  EXPECT_EQ(alert["annotations"]["description"],
            "Reconstruction error 0.5 above the threshold 0.1; top features: flow 100%");
}

}  // namespace
}  // namespace lstmad::daemon
