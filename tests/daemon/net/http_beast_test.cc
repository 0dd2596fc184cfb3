// What the HTTP server does since it parses with Boost.Beast: chunked bodies
// (within the route's bound), `Expect: 100-continue`, keep-alive within its
// limits, and gzip bodies decoded with a bound on what they inflate to.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "daemon/net/support/http_texts.h"
#include "net/gzip.h"
#include "net/http_server.h"

namespace lstmad::daemon {
namespace {

using testing::Body;

// gzip by zlib itself (deflate with the gzip wrapper), not by the code under test.
std::string GzipOf(const std::string& data) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 9, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

class Client {
 public:
  explicit Client(uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    timeval timeout{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~Client() { ::close(fd_); }
  bool connected() const { return connected_; }
  void Send(const std::string& bytes) { ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL); }
  void NoDelay() {
    const int on = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  }
  // Reads until `n` bytes came or the peer closed or 5 s passed.
  std::string ReadAtLeast(size_t n) {
    std::string out;
    char buffer[4096];
    while (out.size() < n) {
      const ssize_t got = ::recv(fd_, buffer, sizeof buffer, 0);
      if (got <= 0) {
        closed_by_peer_ = got == 0;
        break;
      }
      out.append(buffer, static_cast<size_t>(got));
    }
    return out;
  }
  std::string ReadAll() { return ReadAtLeast(std::string::npos); }
  bool closed_by_peer() const { return closed_by_peer_; }

 private:
  int fd_;
  bool connected_ = false;
  bool closed_by_peer_ = false;
};

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class BeastServer : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.AddRoute({"/echo", {"POST"}, false, 64, [](const HttpRequest& r) {
                        return HttpReply{200, "text/plain",
                                         "[" + r.body + "] " + std::string(r.Header("content-encoding").value_or("-")),
                                         {}};
                      }});
    server_.AddRoute({"/big", {"POST"}, false, 4096, [](const HttpRequest& r) {
                        return HttpReply{200, "text/plain", std::to_string(r.body.size()), {}};
                      }});
    server_.set_keep_alive(3, std::chrono::milliseconds(300));
    ASSERT_TRUE(server_.Listen(config::Endpoint{"127.0.0.1", 0}).ok());
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    asio::post(io_, [this] { server_.Stop(); });
    work_.reset();
    thread_.join();
  }
  std::string Exchange(const std::string& bytes) {
    Client client(server_.port());
    client.Send(bytes);
    return client.ReadAll();
  }

  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_{
      io_.get_executor()};  // reset() lets run() return
  HttpServer server_{io_, [] { return std::string("lstmad_up 1\n"); }};
  std::thread thread_;
};

constexpr char kClose[] = "Connection: close\r\n";

TEST_F(BeastServer, ReadsChunkedBodiesWithinTheRoutesBound) {
  const std::string r = Exchange(std::string("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n") + kClose +
                                 "\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
  EXPECT_EQ(Body(r), "[hello world] -");
  // 70 bytes in chunks of 10 against a bound of 64.
  std::string chunks;
  for (int i = 0; i < 7; ++i) chunks += "a\r\n0123456789\r\n";
  const std::string big = Exchange("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + "0\r\n\r\n");
  EXPECT_EQ(big.rfind("HTTP/1.1 413 Content Too Large\r\n", 0), 0u) << big;
  const std::string broken = Exchange("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(broken.rfind("HTTP/1.1 400", 0), 0u) << broken;
}

// The line protocol's byte-split test, for HTTP: a chunked, gzip-encoded
// request cut in two at every byte, each part sent on its own (a pause
// between, TCP_NODELAY), gets the answer of the whole request.
TEST_F(BeastServer, ARequestSplitAtEveryByteGetsTheWholeRequestsAnswer) {
  const std::string gz = GzipOf("pump v=1\npump v=2\n");
  char size[8];
  std::snprintf(size, sizeof size, "%zx", gz.size());
  const std::string request = std::string("POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n") +
                              "Content-Encoding: gzip\r\n" + kClose + "\r\n" + size + "\r\n" + gz +
                              "\r\n0\r\n\r\n";
  const std::string whole = Exchange(request);
  ASSERT_EQ(whole.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << whole;
  ASSERT_EQ(Body(whole), "18");  // the route sees the inflated body (18 bytes)
  for (size_t cut = 1; cut < request.size(); ++cut) {
    Client client(server_.port());
    ASSERT_TRUE(client.connected());
    client.NoDelay();
    client.Send(request.substr(0, cut));
    std::this_thread::sleep_for(std::chrono::microseconds(300));
    client.Send(request.substr(cut));
    const std::string r = client.ReadAll();
    EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << "cut at " << cut << ": " << r;
    EXPECT_EQ(Body(r), "18") << "cut at " << cut;
  }
}

TEST_F(BeastServer, AnswersExpectContinueOnlyForAnAdmittedHead) {
  Client client(server_.port());
  ASSERT_TRUE(client.connected());
  client.Send(std::string("POST /echo HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n") + kClose + "\r\n");
  const std::string interim = client.ReadAtLeast(25);
  EXPECT_EQ(interim, "HTTP/1.1 100 Continue\r\n\r\n");
  client.Send("hello");
  const std::string r = client.ReadAll();
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
  EXPECT_EQ(Body(r), "[hello] -");
  // Too large: the final answer at once, no 100, and no body read.
  const std::string refused = Exchange("POST /echo HTTP/1.1\r\nContent-Length: 65\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(refused.rfind("HTTP/1.1 413", 0), 0u) << refused;
  EXPECT_EQ(refused.find("100 Continue"), std::string::npos) << refused;
}

TEST_F(BeastServer, KeepsConnectionsAliveUpToTheRequestLimit) {
  // Four requests at once on one connection: three answered (the third says
  // close), the fourth never read.
  std::string four;
  for (int i = 0; i < 4; ++i) four += "POST /echo HTTP/1.1\r\nContent-Length: 1\r\n\r\n" + std::to_string(i);
  Client client(server_.port());
  client.Send(four);
  const std::string r = client.ReadAll();
  EXPECT_TRUE(client.closed_by_peer());
  EXPECT_EQ(Count(r, "HTTP/1.1 200 OK\r\n"), 3u) << r;
  EXPECT_EQ(Count(r, "Connection: keep-alive\r\n"), 2u) << r;
  EXPECT_EQ(Count(r, "Connection: close\r\n"), 1u) << r;
  EXPECT_NE(r.find("[0] -"), std::string::npos);
  EXPECT_NE(r.find("[2] -"), std::string::npos);
  EXPECT_EQ(r.find("[3] -"), std::string::npos);
  // The client asks to close, or speaks HTTP/1.0 without keep-alive: one request.
  EXPECT_EQ(Count(Exchange(std::string("POST /echo HTTP/1.1\r\nContent-Length: 1\r\n") + kClose + "\r\na" +
                           "POST /echo HTTP/1.1\r\nContent-Length: 1\r\n\r\nb"),
                  "HTTP/1.1 200"),
            1u);
  EXPECT_EQ(Count(Exchange("POST /echo HTTP/1.0\r\nContent-Length: 1\r\n\r\naPOST /echo HTTP/1.0\r\nContent-Length: 1\r\n\r\nb"),
                  "HTTP/1.1 200"),
            1u);
}

TEST_F(BeastServer, ClosesAKeptAliveConnectionAfterTheIdleTimeout) {
  Client client(server_.port());
  client.Send("POST /echo HTTP/1.1\r\nContent-Length: 1\r\n\r\nx");
  // The answer, then the close the 300 ms idle timeout brings (well before
  // the client's own 5 s receive timeout).
  const std::string r = client.ReadAll();
  EXPECT_EQ(Count(r, "Connection: keep-alive\r\n"), 1u) << r;
  EXPECT_TRUE(client.closed_by_peer());
}

TEST_F(BeastServer, DecodesGzipBodies) {
  const std::string packed = GzipOf("hello gzip");
  const std::string r = Exchange("POST /echo HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: " +
                                 std::to_string(packed.size()) + "\r\n" + kClose + "\r\n" + packed);
  // The handler sees the decoded body and no Content-Encoding.
  EXPECT_EQ(Body(r), "[hello gzip] -") << r;
  const std::string identity =
      Exchange(std::string("POST /echo HTTP/1.1\r\nContent-Encoding: snappy\r\nContent-Length: 2\r\n") + kClose + "\r\nab");
  EXPECT_EQ(Body(identity), "[ab] snappy");  // other codings are the route's business
  const std::string corrupt =
      Exchange("POST /echo HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nabcd");
  EXPECT_EQ(corrupt.rfind("HTTP/1.1 400", 0), 0u) << corrupt;
}

TEST_F(BeastServer, RefusesAGzipBombWith413) {
  const std::string bomb = GzipOf(std::string(1 << 20, '\0'));  // 1 MiB of zeros in about 1 KiB
  ASSERT_LT(bomb.size(), 4096u);
  const std::string r = Exchange("POST /big HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: " +
                                 std::to_string(bomb.size()) + "\r\n\r\n" + bomb);
  EXPECT_EQ(r.rfind("HTTP/1.1 413 Content Too Large\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("Connection: close\r\n"), std::string::npos);
  // Exactly at the bound is fine.
  const std::string fits = GzipOf(std::string(4096, 'x'));
  EXPECT_EQ(Body(Exchange("POST /big HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: " +
                          std::to_string(fits.size()) + "\r\n" + kClose + "\r\n" + fits)),
            "4096");
}

TEST(GunzipTest, DecodesConcatenatedMembersAndRefusesTruncation) {
  std::string out, error;
  EXPECT_EQ(Gunzip(GzipOf("ab") + GzipOf("cd"), 100, &out), GunzipResult::kOk);
  EXPECT_EQ(out, "abcd");
  const std::string packed = GzipOf("hello");
  EXPECT_EQ(Gunzip(packed.substr(0, packed.size() - 3), 100, &out, &error), GunzipResult::kCorrupt);
  EXPECT_FALSE(error.empty());
  EXPECT_EQ(Gunzip(packed, 4, &out), GunzipResult::kTooLarge);
  EXPECT_EQ(Gunzip(packed, 5, &out), GunzipResult::kOk);
  EXPECT_EQ(Gunzip("", 5, &out), GunzipResult::kCorrupt);
}

}  // namespace
}  // namespace lstmad::daemon
