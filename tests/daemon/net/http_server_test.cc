// The HTTP endpoint's routing: /metrics, /healthz, /readyz, errors.
#include <gtest/gtest.h>

#include "daemon/net/support/http_texts.h"
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

TEST(HttpResponseTest, AnswersHttp10And11OnlyAndRefusesOtherVersions) {
  EXPECT_EQ(HttpResponse("GET /healthz HTTP/1.0\r\n\r\n", true, kScrape).rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(HttpResponse("GET /healthz HTTP/1.1\r\n\r\n", true, kScrape).rfind("HTTP/1.1 200", 0), 0u);
  for (const char* version : {"HTTP/2.0", "HTTP/0.9", "HTTP/1.2", "HTTP/9.9"}) {
    const std::string r = HttpResponse(std::string("GET /healthz ") + version + "\r\n\r\n", true, kScrape);
    EXPECT_EQ(r.rfind("HTTP/1.1 505 HTTP Version Not Supported\r\n", 0), 0u) << version << ": " << r;
  }
  for (const char* line :
       {"GET /healthz FOO", "GET /healthz HTTP/1.1x", "GET /healthz http/1.1", "GET /healthz HTTP/11",
        "GET /healthz HTTP/1.", "GET /healthz  HTTP/1.1", "GET  /healthz HTTP/1.1", " GET /healthz HTTP/1.1",
        "GET /healthz HTTP/1.1 x", "GET /healthz"}) {
    const std::string r = HttpResponse(std::string(line) + "\r\n\r\n", true, kScrape);
    EXPECT_EQ(r.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << line << ": " << r;
  }
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

using testing::kHash;

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

std::string AuthHeader(std::string_view user_password) {
  // Encoded here by hand (RFC 4648), not with the decoder under test.
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out = "Basic ";
  for (size_t i = 0; i < user_password.size(); i += 3) {
    uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(user_password[i])) << 16;
    if (i + 1 < user_password.size())
      n |= static_cast<uint32_t>(static_cast<unsigned char>(user_password[i + 1])) << 8;
    if (i + 2 < user_password.size())
      n |= static_cast<uint32_t>(static_cast<unsigned char>(user_password[i + 2]));
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < user_password.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < user_password.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

TEST(Base64DecodeTest, AcceptsOnlyTheCanonicalPaddedEncoding) {
  EXPECT_EQ(Base64Decode(""), "");
  EXPECT_EQ(Base64Decode("YQ=="), "a");
  EXPECT_EQ(Base64Decode("YWI="), "ab");
  EXPECT_EQ(Base64Decode("YWJj"), "abc");
  EXPECT_EQ(Base64Decode("AA=="), std::string(1, '\0'));
  EXPECT_EQ(Base64Decode("YQ"), std::nullopt);        // no padding
  EXPECT_EQ(Base64Decode("YQ==YWJj"), std::nullopt);  // junk after the padding (issue 18)
  EXPECT_EQ(Base64Decode("YQ==\n"), std::nullopt);
  EXPECT_EQ(Base64Decode("YQ=a"), std::nullopt);
  EXPECT_EQ(Base64Decode("Y==="), std::nullopt);
  EXPECT_EQ(Base64Decode("YR=="), std::nullopt);  // padding bits not zero: "YQ==" is the one "a"
  EXPECT_EQ(Base64Decode("YWJ=="), std::nullopt);
  EXPECT_EQ(Base64Decode("YW Jj"), std::nullopt);
  EXPECT_EQ(Base64Decode("YW-j"), std::nullopt);  // the URL alphabet is not basic auth's
}

TEST(BasicAuthTest, RefusesANulAndJunkAfterTheRightPassword) {
  BasicAuth auth(std::vector<std::pair<std::string, std::string>>{{"prometheus", kHash}});
  using namespace std::string_literals;
  EXPECT_TRUE(auth.Check(AuthHeader("prometheus:secret")));
  // crypt() stops at a NUL: "secret\0junk" used to pass (issue 18).
  EXPECT_FALSE(auth.Check(AuthHeader("prometheus:secret\0junk"s)));
  EXPECT_FALSE(auth.Check(AuthHeader("prometheus:secret\0"s)));
  EXPECT_FALSE(auth.Check(AuthHeader("prometheus:secret\n")));
  EXPECT_FALSE(auth.Check(AuthHeader("prometheus:secret") + "AAAA"));
  EXPECT_FALSE(auth.Check(AuthHeader("prometheus:secret") + "=="));
  EXPECT_FALSE(auth.Check("Basic cHJvbWV0aGV1czpzZWNyZXQ=junk"));
  EXPECT_FALSE(auth.Check("Bearer cHJvbWV0aGV1czpzZWNyZXQ="));
  EXPECT_FALSE(auth.Check(AuthHeader("prometheus")));  // no colon
  EXPECT_TRUE(auth.Check(AuthHeader("prometheus:secret")));
}

TEST(BasicAuthTest, AnUnknownNameCostsTheSamePasswordCheckAsAKnownOne) {
  BasicAuth auth(std::vector<std::pair<std::string, std::string>>{{"prometheus", kHash}});
  BasicAuth::PendingCheck known, unknown;
  ASSERT_EQ(auth.Prepare(AuthHeader("prometheus:guess"), &known), BasicAuth::Verdict::kVerify);
  ASSERT_EQ(auth.Prepare(AuthHeader("nobody:guess"), &unknown), BasicAuth::Verdict::kVerify);
  EXPECT_EQ(known.user, 0);
  EXPECT_EQ(unknown.user, -1);
  // The same bcrypt (same hash, so same cost and salt) runs for both.
  EXPECT_EQ(unknown.hash, kHash);
  EXPECT_EQ(known.hash, kHash);
  EXPECT_FALSE(BasicAuth::Verify(known));
  EXPECT_FALSE(BasicAuth::Verify(unknown));
  // An unknown name with the known user's password is still refused.
  ASSERT_EQ(auth.Prepare(AuthHeader("nobody:secret"), &unknown), BasicAuth::Verdict::kVerify);
  EXPECT_FALSE(BasicAuth::Verify(unknown));
  // Accepted credentials are remembered: no check the next time.
  BasicAuth::PendingCheck right;
  ASSERT_EQ(auth.Prepare(AuthHeader("prometheus:secret"), &right), BasicAuth::Verdict::kVerify);
  ASSERT_TRUE(BasicAuth::Verify(right));
  auth.Remember(right);
  BasicAuth::PendingCheck again;
  EXPECT_EQ(auth.Prepare(AuthHeader("prometheus:secret"), &again), BasicAuth::Verdict::kAccepted);
  EXPECT_EQ(auth.Prepare(AuthHeader("prometheus:secret\n"), &again), BasicAuth::Verdict::kRejected);
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
