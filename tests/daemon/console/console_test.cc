// The web console (daemon/console): query parsing, filtering, sorting and
// paging of streams, the JSON endpoints' exact bodies, the HTML pages'
// links and content, hostile queries, and 10,000 streams.
#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "console/console.h"
#include "console/console_query.h"
#include "console/console_svg.h"

namespace lstmad::daemon {
namespace {

using Params = std::multimap<std::string, std::string>;

QueryParams Of(const Params& params) {
  QueryParams q;
  q.get = [params](std::string_view name) -> std::optional<std::string> {
    auto it = params.find(std::string(name));
    if (it == params.end()) return std::nullopt;
    return it->second;
  };
  q.all = [params](std::string_view name) {
    std::vector<std::string> out;
    auto [lo, hi] = params.equal_range(std::string(name));
    for (auto it = lo; it != hi; ++it) out.push_back(it->second);
    return out;
  };
  return q;
}

// Decodes %XX only (what the tests send).
std::optional<std::string> Decode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size() || !std::isxdigit(static_cast<unsigned char>(text[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      return std::nullopt;
    }
    out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
    i += 2;
  }
  return out;
}

class ConsoleTest : public ::testing::Test {
 protected:
  ConsoleTest() : registry_(8) {}

  // A stream of `model` whose newest window has `error` (threshold 1); its
  // feature b carries most of the error.
  void Add(const std::string& model, const std::string& key, double error, int windows = 1) {
    auto history = registry_.Create(model, key, 2, 2);
    for (int i = 0; i < windows; ++i) {
      const float observed[] = {1.5f, 2.5f}, reconstructed[] = {1.0f, 0.5f};
      const float errors[] = {0.25f, 0.75f};
      history->Record(HistoryPoint{1000 + i, error, 1.0, error > 1.0}, observed, reconstructed, errors);
    }
    held_.push_back(std::move(history));
  }

  ConsoleReply Get(const std::string& path, const Params& params = {}) {
    ConsoleSources sources;
    sources.histories = &registry_;
    Console console(std::move(sources));
    ConsoleRequest request;
    request.path = path;
    request.params = Of(params);
    request.decode = Decode;
    return console.Handle(request);
  }

  HistoryRegistry registry_;
  std::vector<std::shared_ptr<StreamHistory>> held_;  // the stream states' part
};

TEST(ConsoleQueryTest, ParsesDefaultsAndEveryParameter) {
  ParsedQuery p = ParseListQuery(Of({}));
  EXPECT_EQ(p.error, "");
  EXPECT_EQ(p.query.sort, SortKey::kScore);
  EXPECT_TRUE(p.query.descending);
  EXPECT_EQ(p.query.page, 1);
  EXPECT_EQ(p.query.per_page, kDefaultPerPage);
  p = ParseListQuery(Of({{"sort", "stream"}, {"page", "3"}, {"per_page", "500"}, {"model", "pump"},
                         {"label", "id=p1"}, {"label", "site=a=b"}, {"firing", "true"}}));
  EXPECT_EQ(p.error, "");
  EXPECT_EQ(p.query.sort, SortKey::kStream);
  EXPECT_FALSE(p.query.descending);
  EXPECT_EQ(p.query.page, 3);
  EXPECT_EQ(p.query.per_page, 500);
  EXPECT_EQ(p.query.model, "pump");
  ASSERT_EQ(p.query.labels.size(), 2u);
  EXPECT_EQ(p.query.labels[1], (std::pair<std::string, std::string>{"site", "a=b"}));
  EXPECT_TRUE(p.query.firing_only);
}

TEST(ConsoleQueryTest, RefusesBadValuesNamingTheParameter) {
  EXPECT_EQ(ParseListQuery(Of({{"page", "0"}})).error, "page: expected an integer from 1; got \"0\"");
  EXPECT_EQ(ParseListQuery(Of({{"page", "-1"}})).error, "page: expected an integer from 1; got \"-1\"");
  EXPECT_EQ(ParseListQuery(Of({{"page", "2x"}})).error, "page: expected an integer from 1; got \"2x\"");
  EXPECT_EQ(ParseListQuery(Of({{"page", "99999999999999999999999"}})).error,
            "page: expected an integer from 1; got \"99999999999999999999999\"");
  EXPECT_EQ(ParseListQuery(Of({{"per_page", "501"}})).error,
            "per_page: expected an integer from 1 to 500; got \"501\"");
  EXPECT_EQ(ParseListQuery(Of({{"sort", "size"}})).error,
            "sort: expected one of score, error, stream, model, windows; got \"size\"");
  EXPECT_EQ(ParseListQuery(Of({{"order", "up"}})).error, "order: expected asc or desc; got \"up\"");
  EXPECT_EQ(ParseListQuery(Of({{"label", "=x"}})).error, "label: expected name=value; got \"=x\"");
  EXPECT_EQ(ParseListQuery(Of({{"firing", "yes"}})).error, "firing: expected true or false; got \"yes\"");
  // A long value is quoted in part only.
  EXPECT_EQ(ParseListQuery(Of({{"page", std::string(8000, '9')}})).error.size(),
            std::string("page: expected an integer from 1; got \"").size() + 64 + 3 + 1);
  Params many;
  for (int i = 0; i < 17; ++i) many.emplace("label", "a=" + std::to_string(i));
  EXPECT_EQ(ParseListQuery(Of(many)).error, "label: at most 16 filters");
}

TEST(ConsoleQueryTest, KeyTagsUndoLineProtocolEscapes) {
  EXPECT_EQ(KeyMeasurement("pump,id=p1"), "pump");
  EXPECT_EQ(KeyMeasurement("my\\ pump"), "my pump");
  const auto tags = KeyTags("pump,id=p\\,1,site=x\\ y\\=z");
  ASSERT_EQ(tags.size(), 2u);
  EXPECT_EQ(tags[0], (std::pair<std::string, std::string>{"id", "p,1"}));
  EXPECT_EQ(tags[1], (std::pair<std::string, std::string>{"site", "x y=z"}));
  EXPECT_TRUE(KeyTags("pump").empty());
}

TEST(ConsoleQueryTest, EncodesIdsAndEscapesHtml) {
  EXPECT_EQ(PercentEncode("pump,id=p 1/ä~"), "pump%2Cid%3Dp%201%2F%C3%A4~");
  EXPECT_EQ(HtmlEscape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  EXPECT_EQ(HtmlEscape("ok\xff"), "ok\xEF\xBF\xBD");
}

TEST_F(ConsoleTest, SortsByScoreThenPagesWithATotalOrder) {
  Add("pump", "pump,id=a", 0.5);
  Add("pump", "pump,id=b", 3.0);
  Add("fan", "fan,id=c", 0.5);
  Add("pump", "pump,id=d", std::nan(""));
  size_t total = 0;
  std::vector<StreamRow> rows;
  for (auto& h : registry_.List()) rows.push_back(MakeRow(h));
  ListQuery q;
  auto page = SelectRows(rows, q, &total);
  EXPECT_EQ(total, 4u);
  ASSERT_EQ(page.size(), 4u);
  // NaN error: score +inf, first; equal scores by model, then key.
  EXPECT_EQ(page[0].key, "pump,id=d");
  EXPECT_EQ(page[1].key, "pump,id=b");
  EXPECT_EQ(page[2].key, "pump,id=a");  // descending: the tie-break order reverses too
  EXPECT_EQ(page[3].key, "fan,id=c");
  q.per_page = 3;
  q.page = 2;
  page = SelectRows(rows, q, &total);
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].key, "fan,id=c");
  q.page = 3;
  EXPECT_TRUE(SelectRows(rows, q, &total).empty());
  EXPECT_EQ(total, 4u);
  q = ListQuery{};
  q.sort = SortKey::kStream;
  q.descending = false;
  page = SelectRows(rows, q, &total);
  EXPECT_EQ(page[0].key, "fan,id=c");
  EXPECT_EQ(page[3].key, "pump,id=d");
  q.labels = {{"id", "b"}};
  page = SelectRows(rows, q, &total);
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].key, "pump,id=b");
  q.labels.clear();
  q.model = "fan";
  EXPECT_EQ(SelectRows(rows, q, &total).size(), 1u);
  q.model.clear();
  q.page = INT64_MAX;
  EXPECT_TRUE(SelectRows(rows, q, &total).empty());
}

TEST_F(ConsoleTest, StreamsJsonIsExact) {
  Add("pump", "pump,id=a", 0.5);
  Add("pump", "pump,id=b \"x\"", 2.0, 3);
  const ConsoleReply reply = Get("/api/v1/streams", {{"per_page", "1"}});
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.content_type, "application/json");
  EXPECT_EQ(reply.body,
            "{\"total\":2,\"page\":1,\"per_page\":1,\"sort\":\"score\",\"order\":\"desc\",\"streams\":["
            "{\"id\":\"pump,id=b \\\"x\\\"\",\"model\":\"pump\",\"score\":2,\"error\":2,\"threshold\":1,"
            "\"above\":true,\"firing\":false,\"windows\":3,\"last_window_end\":\"1970-01-01T00:00:00.000001002Z\","
            "\"href\":\"/api/v1/streams/pump%2Cid%3Db%20%22x%22?model=pump\"}]}");
}

TEST_F(ConsoleTest, StreamJsonHasWindowsSharesAndAlerts) {
  Add("pump", "pump,id=a", 0.5);
  AlertEvent fired;
  fired.kind = "fired";
  fired.time_ns = 5;
  fired.model = "pump";
  fired.stream = "pump,id=a";
  fired.error = 2;
  fired.threshold = 1;
  fired.top_features = {{"b", 0.75}};
  held_[0]->RecordAlert(fired);
  const ConsoleReply reply = Get("/api/v1/streams/pump%2Cid%3Da");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body,
            "{\"id\":\"pump,id=a\",\"model\":\"pump\",\"score\":0.5,\"firing\":true,\"windows_total\":1,"
            "\"features\":[],\"shares\":[{\"feature\":\"feature 1\",\"share\":0.75},"
            "{\"feature\":\"feature 0\",\"share\":0.25}],\"windows\":[{\"end\":\"1970-01-01T00:00:00.000001000Z\","
            "\"error\":0.5,\"threshold\":1,\"above\":false,\"observed\":[1.5,2.5],\"reconstructed\":[1,0.5],"
            "\"feature_error\":[0.25,0.75]}],\"alerts\":[{\"kind\":\"fired\",\"time\":"
            "\"1970-01-01T00:00:00.000000005Z\",\"model\":\"pump\",\"stream\":\"pump,id=a\",\"error\":2,"
            "\"threshold\":1,\"window_start\":\"\",\"window_end\":\"\",\"top_features\":[{\"feature\":\"b\","
            "\"share\":0.75}]}]}");
  const ConsoleReply alerts = Get("/api/v1/alerts");
  EXPECT_EQ(alerts.body.rfind("{\"total\":1,\"page\":1,\"per_page\":50,\"alerts\":[{\"kind\":\"fired\",\"time\"", 0), 0u)
      << alerts.body;
}

TEST_F(ConsoleTest, UnknownIdsAndBadQueriesGetJsonErrors) {
  Add("pump", "pump,id=a", 0.5);
  ConsoleReply reply = Get("/api/v1/streams/nope");
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(reply.body, "{\"error\":\"no such stream\"}");
  reply = Get("/api/v1/streams/pump%2Cid%3Da", {{"model", "fan"}});
  EXPECT_EQ(reply.status, 404);
  reply = Get("/api/v1/streams/%zz");
  EXPECT_EQ(reply.status, 400);
  reply = Get("/api/v1/streams", {{"page", "0"}});
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.body, "{\"error\":\"page: expected an integer from 1; got \\\"0\\\"\"}");
  reply = Get("/api/v1/other");
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(reply.body, "{\"error\":\"no such endpoint\"}");
  reply = Get("/console", {{"per_page", "0"}});
  EXPECT_EQ(reply.status, 400);
  reply = Get("/console/stream", {{"id", "<script>"}});
  EXPECT_EQ(reply.status, 404);
  EXPECT_NE(reply.body.find("No stream &lt;script&gt;"), std::string::npos);
  reply = Get("/");
  EXPECT_EQ(reply.status, 302);
  EXPECT_EQ(reply.location, "/console");
}

TEST_F(ConsoleTest, OverviewListsStreamsByScoreWithEncodedLinksAndNothingExternal) {
  Add("pump", "pump,id=low", 0.1);
  Add("pump", "pump,id=high&<", 5.0);
  const ConsoleReply reply = Get("/console");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.content_type, "text/html; charset=utf-8");
  const std::string& html = reply.body;
  const size_t high = html.find("href=\"/console/stream?model=pump&amp;id=pump%2Cid%3Dhigh%26%3C\">pump,id=high&amp;&lt;</a>");
  const size_t low = html.find("href=\"/console/stream?model=pump&amp;id=pump%2Cid%3Dlow\">");
  ASSERT_NE(high, std::string::npos) << html;
  ASSERT_NE(low, std::string::npos);
  EXPECT_LT(high, low);
  EXPECT_NE(html.find("<meta http-equiv=\"refresh\" content=\"5\">"), std::string::npos);
  EXPECT_NE(html.find("<polyline class=\"error\""), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
}

TEST_F(ConsoleTest, ManyActiveAlertsArePagedAndTheOverviewShowsTheNewest) {
  for (int i = 0; i < 25; ++i) {
    Add("pump", "pump,id=p" + std::to_string(100 + i), 2.0);
    AlertEvent fired;
    fired.kind = "fired";
    fired.time_ns = i;
    fired.model = "pump";
    fired.stream = "pump,id=p" + std::to_string(100 + i);
    held_.back()->RecordAlert(fired);
  }
  const ConsoleReply overview = Get("/console");
  EXPECT_NE(overview.body.find("<h2>Active alerts (25)</h2>"), std::string::npos);
  EXPECT_NE(overview.body.find("<p>5 more, older:"), std::string::npos);
  EXPECT_NE(overview.body.find(">pump,id=p124</a>"), std::string::npos);  // the newest
  EXPECT_EQ(overview.body.find(">pump,id=p100</a></td><td>fired"), std::string::npos);  // the oldest: not listed
  const ConsoleReply page = Get("/api/v1/alerts", {{"per_page", "10"}, {"page", "3"}});
  EXPECT_EQ(page.body.rfind("{\"total\":25,\"page\":3,\"per_page\":10,\"alerts\":[{\"kind\"", 0), 0u) << page.body;
  // Page 3 of 10, newest first: times 4..0.
  EXPECT_NE(page.body.find("\"stream\":\"pump,id=p104\""), std::string::npos);
  EXPECT_EQ(page.body.find("\"stream\":\"pump,id=p105\""), std::string::npos);
  EXPECT_EQ(Get("/api/v1/alerts", {{"page", "4"}, {"per_page", "10"}}).body,
            "{\"total\":25,\"page\":4,\"per_page\":10,\"alerts\":[]}");
  EXPECT_EQ(Get("/api/v1/alerts", {{"page", "x"}}).status, 400);
}

TEST_F(ConsoleTest, StreamPageNamesTheFeatureToBlame) {
  Add("pump", "pump,id=a", 2.0, 4);
  const ConsoleReply reply = Get("/console/stream", {{"model", "pump"}, {"id", "pump,id=a"}});
  EXPECT_EQ(reply.status, 200);
  EXPECT_NE(reply.body.find("<p id=\"blame\">Largest share: <b>feature 1</b></p>"), std::string::npos);
  EXPECT_NE(reply.body.find("<polyline class=\"observed\""), std::string::npos);
  EXPECT_NE(reply.body.find("<polyline class=\"reconstructed\""), std::string::npos);
}

TEST(ConsoleSvgTest, ClipsAHugeErrorAndKeepsTheThresholdReadable) {
  std::vector<HistoryPoint> points = {{1, 0.5, 1, false}, {2, 1e5, 1, true}, {3, INFINITY, 1, true}};
  const std::string svg = ErrorChartSvg(points, {.width = 104, .height = 44}, "t");
  // y spans 0..4 (four thresholds): the threshold at y = 2 + 40 * (1 - 1/4) = 32.
  EXPECT_NE(svg.find("<polyline class=\"threshold\" fill=\"none\" points=\"2.0,32.0 52.0,32.0 102.0,32.0\"/>"),
            std::string::npos)
      << svg;
  EXPECT_NE(svg.find("points=\"2.0,37.0 52.0,2.0 102.0,2.0\""), std::string::npos) << svg;
  EXPECT_EQ(svg.find("http"), std::string::npos);
}

TEST_F(ConsoleTest, TenThousandStreamsRenderInWellUnderASecond) {
  for (int i = 0; i < 10000; ++i) Add(i % 2 ? "pump" : "fan", "pump,id=p" + std::to_string(i), i / 1000.0, 8);
  const auto start = std::chrono::steady_clock::now();
  const ConsoleReply page = Get("/console", {{"per_page", "100"}});
  const auto mid = std::chrono::steady_clock::now();
  const ConsoleReply api = Get("/api/v1/streams", {{"per_page", "500"}, {"page", "3"}});
  const auto end = std::chrono::steady_clock::now();
  ASSERT_EQ(page.status, 200);
  ASSERT_EQ(api.status, 200);
  EXPECT_NE(page.body.find("<h2>Streams (10000)</h2>"), std::string::npos);
  // Highest score first: p9999 on the first page, rank 1.
  EXPECT_NE(page.body.find("<td class=\"num\">1</td><td><a class=\"stream\" href=\"/console/stream?model=pump&amp;id=pump%2Cid%3Dp9999\""),
            std::string::npos);
  EXPECT_EQ(api.body.substr(0, 69), "{\"total\":10000,\"page\":3,\"per_page\":500,\"sort\":\"score\",\"order\":\"desc\",");
  EXPECT_NE(api.body.find("{\"id\":\"pump,id=p8999\""), std::string::npos);  // rank 1001
  const double page_s = std::chrono::duration<double>(mid - start).count();
  const double api_s = std::chrono::duration<double>(end - mid).count();
  std::printf("10,000 streams: overview page %.1f ms, /api/v1/streams %.1f ms\n", page_s * 1e3, api_s * 1e3);
  // Generous bounds for a loaded machine; the report states the real times.
  EXPECT_LT(page_s, 5.0);
  EXPECT_LT(api_s, 5.0);
}

}  // namespace
}  // namespace lstmad::daemon
