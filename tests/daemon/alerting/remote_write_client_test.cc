// RemoteWriteClient against a fake receiver (its PostFn): what it sends
// (the series as /metrics has them, labels sorted with __name__, one sample
// per series at the sampling time, as a WriteRequest the decoder reads
// back), and what it does with the answers: 5xx, 429 and no answer retried
// with the same samples, other 4xx dropped, both counted; a full queue drops
// its oldest samples, counted.
#include "alerting/remote_write_client.h"

#include <gtest/gtest.h>
#include <prometheus/metric_family.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <deque>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <prometheus/gauge.h>

#include "obs/metrics.h"

namespace lstmad::daemon {
namespace {

using namespace std::chrono_literals;

// Two series: a gauge and a counter with labels given out of order.
std::vector<prometheus::MetricFamily> Families(double value) {
  prometheus::MetricFamily gauge{
      "lstmad_stream_reconstruction_error", "h", prometheus::MetricType::Gauge, {}};
  prometheus::ClientMetric g;
  g.label = {{"stream", "pump,site=n"}, {"model", "pump"}, {"site", "n"}};
  g.gauge.value = value;
  gauge.metric.push_back(g);
  prometheus::MetricFamily counter{"lstmad_stream_anomalies_total", "h", prometheus::MetricType::Counter, {}};
  prometheus::ClientMetric c;
  c.label = {{"model", "pump"}};
  c.counter.value = 2;
  counter.metric.push_back(c);
  return {gauge, counter};
}

// Answers with the statuses queued (then 200) and keeps what it was sent.
class FakeReceiver {
 public:
  core::Result<int> Post(const std::string& body) {
    std::lock_guard lock(mutex_);
    remote::Decoded d = remote::DecodeWriteRequest(body, 1 << 20);
    EXPECT_EQ(d.error, remote::DecodeError::kNone) << d.message;
    bodies_.push_back(std::move(d.series));
    if (answers_.empty()) return 200;
    const int status = answers_.front();
    answers_.pop_front();
    if (status == 0) return core::Status::Error("connection refused");
    return status;
  }
  void Answer(std::vector<int> statuses) {
    std::lock_guard lock(mutex_);
    answers_.assign(statuses.begin(), statuses.end());
  }
  std::vector<std::vector<remote::Series>> bodies() {
    std::lock_guard lock(mutex_);
    return bodies_;
  }

 private:
  std::mutex mutex_;
  std::deque<int> answers_;
  std::vector<std::vector<remote::Series>> bodies_;
};

config::RemoteWriteOutSettings Settings() {
  config::RemoteWriteOutSettings s;
  s.url = "http://127.0.0.1:1/api/v1/write";
  s.interval_s = 3600;  // samples only when flushed
  return s;
}

double Counter(const Metrics& metrics, const std::string& series) {
  const std::string scrape = metrics.Scrape();
  // At a line's start: not the HELP or TYPE line of an unlabelled series.
  const size_t at = scrape.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(scrape.substr(at + series.size() + 2));
}

class RemoteWriteClientTest : public ::testing::Test {
 protected:
  std::unique_ptr<RemoteWriteClient> Client(config::RemoteWriteOutSettings s) {
    return std::make_unique<RemoteWriteClient>(
        s, &metrics_, [this] { return Families(value_); },
        [this](const std::string& body) { return receiver_.Post(body); },
        [] { return int64_t{1700000000123}; });
  }
  Metrics metrics_{"test"};
  FakeReceiver receiver_;
  double value_ = 0.25;
};

TEST_F(RemoteWriteClientTest, SendsEachSeriesWithSortedLabelsAtTheSamplingTime) {
  auto client = Client(Settings());
  client->Flush(10s);
  const auto bodies = receiver_.bodies();
  ASSERT_EQ(bodies.size(), 1u);
  ASSERT_EQ(bodies[0].size(), 2u);
  const remote::Series& gauge = bodies[0][0];
  EXPECT_EQ(gauge.labels, (std::vector<remote::Label>{{"__name__", "lstmad_stream_reconstruction_error"},
                                                      {"model", "pump"},
                                                      {"site", "n"},
                                                      {"stream", "pump,site=n"}}));
  EXPECT_EQ(gauge.samples, (std::vector<remote::Sample>{{0.25, 1700000000123}}));
  EXPECT_EQ(bodies[0][1].samples, (std::vector<remote::Sample>{{2.0, 1700000000123}}));
  EXPECT_EQ(Counter(metrics_, "lstmad_remote_write_out_samples_total{outcome=\"sent\"}"), 2);
  EXPECT_EQ(Counter(metrics_, "lstmad_remote_write_out_requests_total{result=\"success\"}"), 1);
  EXPECT_EQ(Counter(metrics_, "lstmad_remote_write_out_queue_samples"), 0);
}

TEST_F(RemoteWriteClientTest, RetriesServerErrorsAndNoAnswerWithTheSameSamples) {
  receiver_.Answer({503, 429, 0});
  auto client = Client(Settings());
  client->Flush(20s);  // backoff 0.5 s, 1 s, 2 s
  const auto bodies = receiver_.bodies();
  ASSERT_EQ(bodies.size(), 4u);
  for (const auto& body : bodies) EXPECT_EQ(body, bodies[0]);
  EXPECT_EQ(Counter(metrics_, "lstmad_remote_write_out_requests_total{result=\"retried\"}"), 3);
  EXPECT_EQ(Counter(metrics_, "lstmad_remote_write_out_samples_total{outcome=\"sent\"}"), 2);
  EXPECT_EQ(Counter(metrics_, "lstmad_remote_write_out_samples_total{outcome=\"rejected\"}"), 0);
}

TEST_F(RemoteWriteClientTest, DropsWhatTheReceiverRefusesAndGoesOn) {
  receiver_.Answer({400});
  config::RemoteWriteOutSettings s = Settings();
  s.max_samples_per_send = 1;
  auto client = Client(s);
  client->Flush(10s);
  const auto bodies = receiver_.bodies();
  ASSERT_EQ(bodies.size(), 2u);  // the first sample refused, the second sent
  EXPECT_EQ(bodies[0][0].labels[0].value, "lstmad_stream_reconstruction_error");
  EXPECT_EQ(bodies[1][0].labels[0].value, "lstmad_stream_anomalies_total");
  EXPECT_EQ(Counter(metrics_, "lstmad_remote_write_out_samples_total{outcome=\"rejected\"}"), 1);
  EXPECT_EQ(Counter(metrics_, "lstmad_remote_write_out_samples_total{outcome=\"sent\"}"), 1);
  EXPECT_EQ(Counter(metrics_, "lstmad_remote_write_out_requests_total{result=\"rejected\"}"), 1);
}

TEST_F(RemoteWriteClientTest, AFullQueueDropsItsOldestSamples) {
  receiver_.Answer({503, 503, 503, 503});
  config::RemoteWriteOutSettings s = Settings();
  s.max_queue_samples = 3;
  auto client = Client(s);
  client->Flush(200ms);  // sampled: [g1 c1]; the first try fails, the next is 0.5 s later
  value_ = 0.5;
  client->Flush(200ms);  // [g1 c1 g2 c2]: one too many, g1 goes
  value_ = 0.75;
  client->Flush(200ms);  // [c1 g2 c2 g3 c3]: c1 and g2 go
  EXPECT_EQ(client->queued(), 3u);
  EXPECT_EQ(Counter(metrics_, "lstmad_remote_write_out_samples_total{outcome=\"dropped\"}"), 3);
  EXPECT_EQ(Counter(metrics_, "lstmad_remote_write_out_queue_samples"), 3);
  receiver_.Answer({});
  value_ = 1.0;
  client->Flush(20s);  // [c2 g3 c3 g4 c4]: c2 and g3 go; the rest is sent at the next try
  EXPECT_EQ(client->queued(), 0u);
  EXPECT_EQ(Counter(metrics_, "lstmad_remote_write_out_samples_total{outcome=\"dropped\"}"), 5);
  const auto bodies = receiver_.bodies();
  ASSERT_FALSE(bodies.empty());
  const std::vector<remote::Series>& last = bodies.back();
  ASSERT_EQ(last.size(), 3u);
  EXPECT_EQ(last[0].samples[0].value, 2.0);  // c3
  EXPECT_EQ(last[1].samples[0].value, 1.0);  // g4
  EXPECT_EQ(last[2].samples[0].value, 2.0);  // c4
  EXPECT_EQ(Counter(metrics_, "lstmad_remote_write_out_samples_total{outcome=\"sent\"}"), 3);
}

// One HTTP request on a loopback port, answered 204: what the client puts
// on the wire.
class OneRequestServer {
 public:
  OneRequestServer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(listen(fd_, 1), 0);
    // accept() and recv() give up after 20 s: a client that never comes fails the test, not hangs it.
    timeval timeout{20, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~OneRequestServer() {
    thread_.join();
    close(fd_);
  }
  int port() const { return port_; }
  // Waits for the request; "" when none came.
  std::string request() {
    thread_.join();
    thread_ = std::thread([] {});
    return request_;
  }

 private:
  void Serve() {
    const int c = accept(fd_, nullptr, nullptr);
    if (c < 0) return;
    timeval timeout{20, 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    char buf[4096];
    while (true) {
      const size_t head = request_.find("\r\n\r\n");
      if (head != std::string::npos) {
        const size_t at = request_.find("Content-Length: ");
        const size_t length = at == std::string::npos ? 0 : std::stoul(request_.substr(at + 16));
        if (request_.size() >= head + 4 + length) break;
      }
      const ssize_t n = recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      request_.append(buf, static_cast<size_t>(n));
    }
    const std::string answer = "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n";
    send(c, answer.data(), answer.size(), 0);
    close(c);
  }

  int fd_ = -1;
  int port_ = 0;
  std::string request_;
  std::thread thread_;
};

TEST(RemoteWriteClientHttpTest, PostsRemoteWriteOneZeroWithTheTokenFromItsFile) {
  OneRequestServer server;
  const std::string token = ::testing::TempDir() + "remote_write_token";
  std::ofstream(token) << "s3cret-token\n";
  config::RemoteWriteOutSettings s = Settings();
  s.url = "http://127.0.0.1:" + std::to_string(server.port()) + "/api/v1/write";
  s.bearer_token_file = token;
  Metrics metrics("test");
  metrics.ForStream("pump", "pump,site=n", false).reconstruction_error->Set(0.5);
  RemoteWriteClient client(s, &metrics, TlsTransport{});
  client.Flush(std::chrono::seconds(10));
  const std::string request = server.request();
  EXPECT_EQ(request.rfind("POST /api/v1/write HTTP/1.1\r\n", 0), 0u) << request;
  for (const char* header :
       {"\r\nAuthorization: Bearer s3cret-token\r\n", "\r\nContent-Encoding: snappy\r\n",
        "\r\nContent-Type: application/x-protobuf\r\n", "\r\nX-Prometheus-Remote-Write-Version: 0.1.0\r\n"}) {
    EXPECT_NE(request.find(header), std::string::npos) << header << " in\n" << request;
  }
  const size_t head = request.find("\r\n\r\n");
  ASSERT_NE(head, std::string::npos);
  const remote::Decoded body = remote::DecodeWriteRequest(request.substr(head + 4), 1 << 20);
  ASSERT_EQ(body.error, remote::DecodeError::kNone) << body.message;
  // The stream's four series (anomaly_score off: three) as /metrics has them.
  ASSERT_EQ(body.series.size(), 3u);
  bool found = false;
  for (const remote::Series& series : body.series) {
    if (series.labels[0].value == "lstmad_stream_reconstruction_error") {
      found = true;
      EXPECT_EQ(series.samples[0].value, 0.5);
      EXPECT_EQ(series.labels, (std::vector<remote::Label>{{"__name__", "lstmad_stream_reconstruction_error"},
                                                           {"model", "pump"},
                                                           {"site", "n"},
                                                           {"stream", "pump,site=n"}}));
    }
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(Counter(metrics, "lstmad_remote_write_out_samples_total{outcome=\"sent\"}"), 3);
  std::remove(token.c_str());
}

}  // namespace
}  // namespace lstmad::daemon
