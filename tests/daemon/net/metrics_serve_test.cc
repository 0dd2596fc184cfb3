// The Prometheus exposition over the daemon's HTTP server (net/), the only
// thing that serves /metrics: what a scraper gets, and how a listener that
// cannot start says so.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <prometheus/counter.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "net/http_server.h"
#include "obs/metrics.h"
#include "support/promtool.h"

namespace lstmad::daemon {
namespace {

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

ModelInfo CpuInfo() {
  ModelInfo info;
  info.name = "cpu";
  info.measurement = "cpu";
  info.path = "/models/cpu.lstmad";
  info.features = "usage";
  info.architecture = "T=4 F=1";
  info.lookback = 4;
  return info;
}

using lstmad::testing::HavePromtool;
using lstmad::testing::PromtoolProblems;

std::string HttpGet(uint16_t port, const std::string& target) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "socket failed";
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "connect failed";
  }
  const std::string request =
      "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return "send failed";
  }
  std::string response;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof buffer, 0)) > 0;) {
    response.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return response;
}

// An HttpServer serving `metrics` on an io thread of its own, as the daemon does.
class ServedMetrics {
 public:
  explicit ServedMetrics(Metrics* metrics)
      : server_(io_, [metrics] { return metrics->Scrape(); }, metrics) {}
  ~ServedMetrics() {
    if (thread_.joinable()) {
      asio::post(io_, [this] { server_.Stop(); });
      work_.reset();
      thread_.join();
    }
  }
  core::Status Listen(uint16_t port) {
    core::Status status = server_.Listen(config::Endpoint{"127.0.0.1", port});
    if (status.ok() && !thread_.joinable()) {
      server_.set_ready(true);
      thread_ = std::thread([this] { io_.run(); });
    }
    return status;
  }
  uint16_t port() const { return server_.port(); }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{
      io_.get_executor()};  // reset() lets run() return
  HttpServer server_;
  std::thread thread_;
};

TEST(MetricsServeTest, ServesTheExpositionOverHttp) {
  Metrics metrics("1.2.3");
  metrics.ForModel(CpuInfo(), 0.5).samples_received->Increment(9);
  ServedMetrics served(&metrics);
  const core::Status status = served.Listen(0);
  ASSERT_TRUE(status.ok()) << status.message();
  ASSERT_NE(served.port(), 0);

  const std::string response = HttpGet(served.port(), "/metrics");
  EXPECT_EQ(response.rfind("HTTP/1.1 200", 0), 0u) << response.substr(0, 200);
  const size_t body = response.find("\r\n\r\n");
  ASSERT_NE(body, std::string::npos) << response;
  EXPECT_TRUE(Contains(response, "lstmad_build_info{version=\"1.2.3\"} 1\n"));
  EXPECT_TRUE(Contains(response, "lstmad_samples_received_total{model=\"cpu\"} 9\n"));
  EXPECT_TRUE(Contains(response, "# TYPE lstmad_reconstruction_error histogram\n"));
  // Exactly the registry's exposition: nothing of the server's own.
  EXPECT_EQ(response.substr(body + 4), metrics.Scrape());
  if (HavePromtool()) {
    EXPECT_EQ(PromtoolProblems(response.substr(body + 4)), "");
  }
}

TEST(MetricsServeTest, SecondServeIsAnError) {
  Metrics metrics("dev");
  ServedMetrics served(&metrics);
  ASSERT_TRUE(served.Listen(0).ok());
  const core::Status again = served.Listen(0);
  EXPECT_FALSE(again.ok());
  EXPECT_TRUE(Contains(again.message(), "metrics.listen")) << again.message();
}

TEST(MetricsServeTest, BusyPortIsAnErrorNamingTheAddress) {
  Metrics metrics("dev");
  ServedMetrics first(&metrics);
  ASSERT_TRUE(first.Listen(0).ok());
  ServedMetrics second(&metrics);
  const core::Status status = second.Listen(first.port());
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(Contains(status.message(), "127.0.0.1:" + std::to_string(first.port())))
      << status.message();
}

}  // namespace
}  // namespace lstmad::daemon
