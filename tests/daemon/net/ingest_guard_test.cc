// The ingest listener's per-peer connection cap (issue 18): one client
// address holds at most limits.max_connections_per_peer connections, so it
// cannot take every slot from the other senders. A second peer is simulated
// by binding the client to 127.0.0.2 (any 127/8 address is local on Linux).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <prometheus/counter.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "daemon/net/support/loopback_client.h"
#include "net/ingest_server.h"

namespace lstmad::daemon {
namespace {

// Records each line it is given with the address of the peer that sent it.
class LineFromPeerSink : public LineSink {
 public:
  void HandleLine(std::string_view line, const std::string& peer, Stalled*) override {
    std::lock_guard<std::mutex> lock(mutex_);
    lines_.push_back(std::string(line) + " from " + peer.substr(0, peer.find(':')));
  }
  void LineTooLong(const std::string&) override {}
  std::vector<std::string> lines() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return lines_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
};

// Whether the server closes `fd` within `ms` milliseconds.
bool ClosedWithin(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, ms) != 1) return false;
  char c;
  return ::recv(fd, &c, 1, 0) <= 0;
}

TEST(IngestGuardTest, OnePeerHoldsAtMostItsShareOfTheConnections) {
  asio::io_context io;
  Metrics metrics("dev");
  LineFromPeerSink sink;
  config::LimitSettings limits;
  limits.max_connections = 16;
  limits.max_connections_per_peer = 3;
  IngestServer server(io, &sink, &metrics, limits, config::IngestSettings{});
  ASSERT_TRUE(server.set_ingest(config::IngestSettings{}).ok());
  ASSERT_TRUE(server.Listen(config::Endpoint{"127.0.0.1", 0}).ok());
  asio::executor_work_guard<asio::io_context::executor_type> work{
      io.get_executor()};  // reset() lets run() return
  std::thread thread([&] { io.run(); });

  std::vector<int> mine;
  for (int i = 0; i < 5; ++i) mine.push_back(testing::ConnectFrom(server.port(), "127.0.0.1"));
  int closed = 0;
  for (const int fd : mine) closed += ClosedWithin(fd, 300) ? 1 : 0;
  EXPECT_EQ(closed, 2);
  EXPECT_EQ(metrics.ConnectionClosed(Metrics::CloseReason::kTooManyConnections).Value(), 2);

  const int other = testing::ConnectFrom(server.port(), "127.0.0.2");
  ASSERT_GE(other, 0);
  const std::string line = "pump,pump=a temperature=1\n";
  ASSERT_EQ(::send(other, line.data(), line.size(), MSG_NOSIGNAL), static_cast<ssize_t>(line.size()));
  for (int i = 0; i < 200 && sink.lines().empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(sink.lines(), std::vector<std::string>{"pump,pump=a temperature=1 from 127.0.0.2"});

  // A slot freed by the peer is its own again.
  for (const int fd : mine) ::close(fd);
  for (int i = 0; i < 200; ++i) {
    std::promise<size_t> open;
    asio::post(io, [&] { open.set_value(server.connections()); });
    if (open.get_future().get() == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const int again = testing::ConnectFrom(server.port(), "127.0.0.1");
  EXPECT_FALSE(ClosedWithin(again, 300));
  EXPECT_EQ(metrics.ConnectionClosed(Metrics::CloseReason::kTooManyConnections).Value(), 2);

  ::close(again);
  ::close(other);
  asio::post(io, [&] {
    server.StopAccepting();
    server.CloseAll();
  });
  work.reset();
  thread.join();
}

}  // namespace
}  // namespace lstmad::daemon
