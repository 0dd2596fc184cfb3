// The HTTP endpoint's routing: /metrics, /healthz, /readyz, errors.
#include <gtest/gtest.h>

#include "http_server.h"

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
