// The `nats:` section (cluster mode): what it parses to, and its errors.
#include <string>

#include <gtest/gtest.h>

#include "config/test_files.h"
#include "lstmad/config/settings.h"

namespace lstmad::config {
namespace {

using testing::kModels;
using testing::TempDir;

class NatsSettingsTest : public ::testing::Test {
 protected:
  NatsSettingsTest() { dir_.Write("pump.lstmad", ""); }
  core::Result<Settings> Parse(const std::string& nats) const {
    return ParseSettings(std::string(kModels) + nats, "lstmad.yaml", dir_.path());
  }
  std::string ErrorOf(const std::string& nats) const {
    const auto s = Parse(nats);
    return s.ok() ? "(parsed without error)" : s.status().message();
  }
  TempDir dir_;
};

TEST_F(NatsSettingsTest, AbsentMeansSingleNode) {
  const auto s = Parse("");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_FALSE(s->nats.has_value());
}

TEST_F(NatsSettingsTest, ServersAloneTakeDefaults) {
  const auto s = Parse("nats: { servers: [nats://10.0.0.1:4222] }\n");
  ASSERT_TRUE(s.ok()) << s.status().message();
  ASSERT_TRUE(s->nats.has_value());
  const NatsSettings& n = *s->nats;
  EXPECT_EQ(n.servers, std::vector<std::string>{"nats://10.0.0.1:4222"});
  EXPECT_EQ(n.stream, "LSTMAD");
  EXPECT_EQ(n.subject_prefix, "lstmad");
  EXPECT_EQ(n.consumer_prefix, "lstmad");
  EXPECT_EQ(n.partitions, 8);
  EXPECT_EQ(n.replicas, 1);
  EXPECT_EQ(n.max_age_s, 86400);
  EXPECT_EQ(n.lease_ttl_s, 10);
  EXPECT_EQ(n.checkpoint_interval_s, 1);
  EXPECT_EQ(n.fetch_batch, 256);
  EXPECT_EQ(n.max_ack_pending, 20000);
  EXPECT_EQ(n.instance_id, "");
  EXPECT_EQ(n.credentials, "");
  EXPECT_EQ(n.tcp_ingest, TcpIngest::kForward);
  EXPECT_EQ(n.forward_queue, 100000);
  EXPECT_EQ(n.forward_timeout_s, 5);
  EXPECT_EQ(n.startup_timeout_s, 60);
  EXPECT_EQ(n.streams, 1);
  EXPECT_EQ(n.batch_max_samples, 100);
  EXPECT_DOUBLE_EQ(n.batch_max_delay_s, 0.005);
}

TEST_F(NatsSettingsTest, ReadsEveryKey) {
  const auto s = Parse(R"(nats:
  servers: [nats://a:4222, tls://b:4223]
  credentials: creds/lstmad.creds
  tls: { ca: ca.pem, cert: c.pem, key: k.pem }
  stream: PUMPS
  subject_prefix: acme.lstmad
  consumer_prefix: acme
  partitions: 32
  replicas: 3
  max_age: 1h
  lease_ttl: 6s
  checkpoint_interval: 250ms
  fetch_batch: 100
  max_ack_pending: 1000
  instance_id: node-1
  tcp_ingest: local
  forward_queue: 500
  forward_timeout: 1500ms
  startup_timeout: 90s
  streams: 4
  batch_max_samples: 250
  batch_max_delay: 20ms
)");
  ASSERT_TRUE(s.ok()) << s.status().message();
  const NatsSettings& n = *s->nats;
  EXPECT_EQ(n.servers.size(), 2u);
  EXPECT_EQ(n.credentials, dir_.path() + "/creds/lstmad.creds");
  EXPECT_EQ(n.tls_ca, dir_.path() + "/ca.pem");
  EXPECT_EQ(n.tls_cert, dir_.path() + "/c.pem");
  EXPECT_EQ(n.tls_key, dir_.path() + "/k.pem");
  EXPECT_EQ(n.stream, "PUMPS");
  EXPECT_EQ(n.subject_prefix, "acme.lstmad");
  EXPECT_EQ(n.consumer_prefix, "acme");
  EXPECT_EQ(n.partitions, 32);
  EXPECT_EQ(n.replicas, 3);
  EXPECT_EQ(n.max_age_s, 3600);
  EXPECT_EQ(n.lease_ttl_s, 6);
  EXPECT_DOUBLE_EQ(n.checkpoint_interval_s, 0.25);
  EXPECT_EQ(n.fetch_batch, 100);
  EXPECT_EQ(n.max_ack_pending, 1000);
  EXPECT_EQ(n.instance_id, "node-1");
  EXPECT_EQ(n.tcp_ingest, TcpIngest::kLocal);
  EXPECT_EQ(n.forward_queue, 500);
  EXPECT_DOUBLE_EQ(n.forward_timeout_s, 1.5);
  EXPECT_EQ(n.startup_timeout_s, 90);
  EXPECT_EQ(n.streams, 4);
  EXPECT_EQ(n.batch_max_samples, 250);
  EXPECT_DOUBLE_EQ(n.batch_max_delay_s, 0.02);
}

TEST_F(NatsSettingsTest, StartupTimeoutZeroMeansOneAttempt) {
  const auto s = Parse("nats: { servers: [nats://a:1], startup_timeout: 0 }\n");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->nats->startup_timeout_s, 0);
}

TEST_F(NatsSettingsTest, ErrorsNameTheKeyAndLine) {
  EXPECT_EQ(ErrorOf("nats: {}\n"), "lstmad.yaml:3: nats: servers: at least one server URL is required");
  EXPECT_EQ(ErrorOf("nats: { servers: [http://a:1] }\n"),
            "lstmad.yaml:3: nats.servers[0]: expected nats://HOST:PORT or tls://HOST:PORT, got \"http://a:1\"");
  EXPECT_EQ(ErrorOf("nats: { servers: [nats://a:1], stream: a.b }\n"),
            "lstmad.yaml:3: nats.stream: expected [A-Za-z0-9_-]+, got \"a.b\"");
  EXPECT_EQ(ErrorOf("nats: { servers: [nats://a:1], subject_prefix: \"a.*\" }\n"),
            "lstmad.yaml:3: nats.subject_prefix: expected dot-separated tokens of [A-Za-z0-9_-], got \"a.*\"");
  EXPECT_EQ(ErrorOf("nats: { servers: [nats://a:1], partitions: 0 }\n").rfind("lstmad.yaml:3: nats.partitions: ", 0),
            0u);
  EXPECT_EQ(ErrorOf("nats: { servers: [nats://a:1], lease_ttl: 2s, checkpoint_interval: 1500ms }\n"),
            "lstmad.yaml:3: nats: checkpoint_interval must be at most half of lease_ttl");
  EXPECT_EQ(ErrorOf("nats: { servers: [nats://a:1], fetch_batch: 10, max_ack_pending: 5 }\n"),
            "lstmad.yaml:3: nats: fetch_batch must not exceed max_ack_pending");
  EXPECT_EQ(ErrorOf("nats: { servers: [nats://a:1], partitions: 4, streams: 5 }\n"),
            "lstmad.yaml:3: nats: streams must not exceed partitions");
  EXPECT_EQ(ErrorOf("nats: { servers: [nats://a:1], batch_max_samples: 0 }\n")
                .rfind("lstmad.yaml:3: nats.batch_max_samples: ", 0),
            0u);
  EXPECT_EQ(ErrorOf("nats: { servers: [nats://a:1], batch_max_delay: 2s }\n")
                .rfind("lstmad.yaml:3: nats.batch_max_delay: ", 0),
            0u);
  EXPECT_EQ(ErrorOf("nats: { servers: [nats://a:1], tls: { cert: c.pem } }\n"),
            "lstmad.yaml:3: nats.tls: a client certificate needs both cert and key");
  EXPECT_EQ(ErrorOf("nats: { servers: [nats://a:1], bogus: 1 }\n").rfind("lstmad.yaml:3: nats.bogus: ", 0), 0u);
  EXPECT_EQ(ErrorOf("nats: { servers: [nats://a:1], instance_id: \"a b\" }\n"),
            "lstmad.yaml:3: nats.instance_id: expected [A-Za-z0-9_-]+, got \"a b\"");
  EXPECT_EQ(ErrorOf("nats: { servers: [nats://a:1], tcp_ingest: remote }\n"),
            "lstmad.yaml:3: nats.tcp_ingest: expected one of forward, local; got \"remote\"");
  EXPECT_EQ(ErrorOf("nats: { servers: [nats://a:1], forward_queue: 0 }\n").rfind("lstmad.yaml:3: nats.forward_queue: ", 0),
            0u);
  EXPECT_EQ(ErrorOf("nats: { servers: [nats://a:1], forward_timeout: 10ms }\n").rfind("lstmad.yaml:3: nats.forward_timeout: ", 0),
            0u);
  EXPECT_EQ(ErrorOf("nats: { servers: [nats://a:1], startup_timeout: 2h }\n"),
            "lstmad.yaml:3: nats.startup_timeout: expected a duration like 30s, 5m or 1h from 0s to 3600s, "
            "got \"2h\"");
  EXPECT_EQ(ErrorOf("nats: { servers: [nats://a:1], startup_timeout: -1s }\n"),
            "lstmad.yaml:3: nats.startup_timeout: expected a duration like 30s, 5m or 1h from 0s to 3600s, "
            "got \"-1s\"");
}

}  // namespace
}  // namespace lstmad::config
