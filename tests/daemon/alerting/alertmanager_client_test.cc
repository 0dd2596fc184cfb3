// The pieces of alert delivery that need no Alertmanager: URL parsing, basic
// auth encoding and the v2 alert JSON (the real server is in
// tests/integration/test_alertmanager.py).
#include <gtest/gtest.h>

#include "alerting/alertmanager_client.h"
#include "alerting/http_client.h"

namespace lstmad::daemon {
namespace {

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
  EXPECT_FALSE(ParseHttpUrl("https://am:9093").ok());
  EXPECT_FALSE(ParseHttpUrl("http://am").ok());
}

TEST(HttpClientTest, Base64MatchesRfc4648Vectors) {
  EXPECT_EQ(Base64(""), "");
  EXPECT_EQ(Base64("f"), "Zg==");
  EXPECT_EQ(Base64("fo"), "Zm8=");
  EXPECT_EQ(Base64("foo"), "Zm9v");
  EXPECT_EQ(Base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64("lstmad:secret"), "bHN0bWFkOnNlY3JldA==");
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
                       "\"stream\":\"pump,site=\\\"a\\\"\",\"severity\":\"warning\"}"),
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
}

}  // namespace
}  // namespace lstmad::daemon
