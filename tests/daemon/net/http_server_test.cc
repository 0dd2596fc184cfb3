// The HTTP endpoint's routing: /metrics, /healthz, /readyz, errors.
#include <gtest/gtest.h>

#include "net/http_server.h"

namespace lstmad::daemon {
namespace {

const HttpServer::ScrapeFn kScrape = [] { return std::string("lstmad_up 1\n"); };

TEST(HttpResponseTest, ServesMetricsWithTheExpositionContentType) {
  const std::string r = HttpResponse("GET /metrics HTTP/1.1", true, kScrape);
  EXPECT_EQ(r.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << r;
  EXPECT_NE(r.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(r.find("Content-Length: 12\r\n"), std::string::npos);
  EXPECT_EQ(r.substr(r.size() - 12), "lstmad_up 1\n");
}

TEST(HttpResponseTest, ReadinessFollowsTheFlagAndHealthAlwaysAnswers) {
  EXPECT_EQ(HttpResponse("GET /readyz HTTP/1.1", true, kScrape).rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(HttpResponse("GET /readyz HTTP/1.1", false, kScrape).rfind("HTTP/1.1 503", 0), 0u);
  EXPECT_EQ(HttpResponse("GET /healthz HTTP/1.1", false, kScrape).rfind("HTTP/1.1 200", 0), 0u);
}

TEST(HttpResponseTest, RejectsOtherPathsMethodsAndGarbage) {
  EXPECT_EQ(HttpResponse("GET /other HTTP/1.1", true, kScrape).rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(HttpResponse("POST /metrics HTTP/1.1", true, kScrape).rfind("HTTP/1.1 405", 0), 0u);
  EXPECT_EQ(HttpResponse("garbage", true, kScrape).rfind("HTTP/1.1 400", 0), 0u);
  const std::string head = HttpResponse("HEAD /metrics HTTP/1.1", true, kScrape);
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");  // no body
  EXPECT_NE(HttpResponse("GET /metrics?x=1 HTTP/1.1", true, kScrape).find("lstmad_up"), std::string::npos);
}

}  // namespace
}  // namespace lstmad::daemon

namespace lstmad::daemon {
namespace {

// bcrypt of "secret" (cost 12), as htpasswd -nB writes it.
constexpr char kHash[] = "$2b$12$L7bTVYluUx0x7tvUuC.DgerKUwLr0lvtE1Sdm.xY6fduHY5bvGVU6";

TEST(BasicAuthTest, MetricsNeedTheRightCredentialsHealthDoesNot) {
  BasicAuth auth(std::vector<std::pair<std::string, std::string>>{{"prometheus", kHash}});
  const std::string good = "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " +
                           std::string("cHJvbWV0aGV1czpzZWNyZXQ=") + "\r\n\r\n";  // prometheus:secret
  const std::string bad = "GET /metrics HTTP/1.1\r\nauthorization: Basic cHJvbWV0aGV1czp4\r\n\r\n";
  EXPECT_EQ(HttpResponse(good, true, kScrape, &auth).rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(HttpResponse(bad, true, kScrape, &auth).rfind("HTTP/1.1 401", 0), 0u);
  const std::string none = HttpResponse("GET /metrics HTTP/1.1\r\n\r\n", true, kScrape, &auth);
  EXPECT_EQ(none.rfind("HTTP/1.1 401", 0), 0u);
  EXPECT_NE(none.find("WWW-Authenticate: Basic realm=\"lstmad\""), std::string::npos);
  EXPECT_EQ(HttpResponse("GET /healthz HTTP/1.1\r\n\r\n", true, kScrape, &auth).rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(Base64Decode("cHJvbWV0aGV1czpzZWNyZXQ="), "prometheus:secret");
}

}  // namespace
}  // namespace lstmad::daemon

namespace lstmad::daemon {
namespace {

// The daemon destroys its HttpServer before its io_context, whose destructor
// then destroys the handlers still waiting, and with them their connections
// (a client that connected and sent nothing; under metrics.tls, one that
// never answers the close_notify). Those connections must not touch the
// server then (an ASan heap-use-after-free in CI's ASan+UBSan unit tests
// before the fix; the integration test's daemon aborted at exit).
TEST(HttpServerTest, ConnectionsOutliveTheServerWithTheIoContext) {
  asio::io_context io;
  auto server = std::make_unique<HttpServer>(io, kScrape);
  ASSERT_TRUE(server->Listen(config::Endpoint{"127.0.0.1", 0}).ok());
  asio::ip::tcp::socket client(io);
  client.connect({asio::ip::make_address("127.0.0.1"), server->port()});
  // Accept it and start its read (a few handler runs, bounded in time).
  for (int i = 0; i < 100 && io.run_one_for(std::chrono::milliseconds(20)) > 0;) ++i;
  server.reset();
  // ~io_context here destroys the pending read handler and the connection.
}

}  // namespace
}  // namespace lstmad::daemon
