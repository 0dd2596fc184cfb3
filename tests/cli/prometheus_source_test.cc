// `train --prometheus`'s source without a server: the flags' parsers, the
// query string, and LoadPrometheusRange on recorded query_range answers:
// chunks of at most 10,000 steps, alignment on the steps every query has,
// and refusals that say why.
#include "prometheus_source.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace lstmad::tools {
namespace {

std::string Matrix(const std::string& metric, const std::vector<std::pair<double, std::string>>& points) {
  std::string values;
  for (const auto& [t, v] : points) {
    values += (values.empty() ? "" : ",") + std::string("[") + std::to_string(static_cast<long long>(t)) +
              ",\"" + v + "\"]";
  }
  return R"({"status":"success","data":{"resultType":"matrix","result":[{"metric":)" + metric +
         R"(,"values":[)" + values + "]}]}}";
}

TEST(PrometheusSourceTest, FlagsParse) {
  EXPECT_EQ(*ParseQueryFlag("temp=rate(x{a=\"b\"}[5m])"), (std::pair<std::string, std::string>{"temp", "rate(x{a=\"b\"}[5m])"}));
  EXPECT_EQ(ParseQueryFlag("=x").status().message(), "--query: expected NAME=PROMQL, got \"=x\"");
  EXPECT_EQ(*ParseTimeFlag("start", "1714564800.5"), 1714564800.5);
  EXPECT_EQ(*ParseTimeFlag("start", "2024-05-01T12:00:00Z"), 1714564800.0);
  EXPECT_EQ(ParseTimeFlag("end", "yesterday").status().message(),
            "--end: expected Unix seconds or RFC 3339 UTC (2024-05-01T00:00:00Z), got \"yesterday\"");
  EXPECT_EQ(*ParseStepFlag("15"), 15.0);
  EXPECT_EQ(*ParseStepFlag("15s"), 15.0);
  EXPECT_EQ(*ParseStepFlag("2m"), 120.0);
  EXPECT_EQ(*ParseStepFlag("1h"), 3600.0);
  EXPECT_EQ(ParseStepFlag("0s").status().message(), "--step: expected a positive duration (15, 15s, 1m, 1h), got \"0s\"");
  EXPECT_EQ(UrlEncode("up{job=\"a b\"}"), "up%7Bjob%3D%22a%20b%22%7D");
}

TEST(PrometheusSourceTest, AlignsQueriesOnTheirCommonSteps) {
  PrometheusSource source;
  source.queries = {{"a", "qa"}, {"b", "qb"}};
  source.start_s = 100;
  source.end_s = 130;
  source.step_s = 10;
  std::vector<std::string> asked;
  const FetchFn fetch = [&](const std::string& path) -> core::Result<std::string> {
    asked.push_back(path);
    if (path.find("query=qa") != std::string::npos) {
      return Matrix(R"({"x":"1"})", {{100, "1"}, {110, "2"}, {120, "3"}, {130, "4"}});
    }
    return Matrix(R"({"x":"1"})", {{100, "10"}, {120, "30"}, {130, "4e1"}});  // no value at 110
  };
  int dropped = -1;
  core::Result<core::CsvTable> t = LoadPrometheusRange(source, fetch, &dropped);
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(asked, (std::vector<std::string>{"/api/v1/query_range?query=qa&start=100&end=130&step=10",
                                             "/api/v1/query_range?query=qb&start=100&end=130&step=10"}));
  EXPECT_EQ(dropped, 1);
  EXPECT_EQ(t->feature_names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(t->timestamps, (std::vector<std::string>{"100", "120", "130"}));
  EXPECT_EQ(t->values(0, 1), 3.0);
  EXPECT_EQ(t->values(1, 2), 40.0);
}

TEST(PrometheusSourceTest, LongRangesComeInChunksOfTenThousandSteps) {
  PrometheusSource source;
  source.queries = {{"a", "q"}};
  source.start_s = 0;
  source.end_s = 25000;  // 25,001 steps of 1 s
  source.step_s = 1;
  std::vector<std::string> asked;
  const FetchFn fetch = [&](const std::string& path) -> core::Result<std::string> {
    asked.push_back(path);
    return Matrix("{}", {{0, "1"}});
  };
  int dropped = 0;
  ASSERT_TRUE(LoadPrometheusRange(source, fetch, &dropped).ok());
  EXPECT_EQ(asked, (std::vector<std::string>{"/api/v1/query_range?query=q&start=0&end=9999&step=1",
                                             "/api/v1/query_range?query=q&start=10000&end=19999&step=1",
                                             "/api/v1/query_range?query=q&start=20000&end=25000&step=1"}));
}

TEST(PrometheusSourceTest, RefusesWhatIsNotOneFiniteStream) {
  PrometheusSource source;
  source.queries = {{"a", "q"}};
  source.start_s = 0;
  source.end_s = 10;
  source.step_s = 10;
  int dropped = 0;
  auto load = [&](const std::string& answer) {
    return LoadPrometheusRange(source, [&](const std::string&) -> core::Result<std::string> { return answer; },
                               &dropped)
        .status()
        .message();
  };
  EXPECT_EQ(load(Matrix("{}", {{0, "NaN"}})), "query \"a\": value \"NaN\" at 0 is not a finite number");
  EXPECT_EQ(load(R"({"status":"success","data":{"resultType":"matrix","result":[]}})"),
            "query \"a\" (q) gives no series from 0 to 10");
  EXPECT_EQ(load(R"({"status":"success","data":{"resultType":"vector","result":[]}})"),
            "query \"a\": not a query_range matrix answer");
  EXPECT_EQ(load("<html>"), "query \"a\": the answer is not JSON (byte 1)");
  const std::string two = R"({"status":"success","data":{"resultType":"matrix","result":[)"
                          R"({"metric":{"i":"a"},"values":[[0,"1"]]},{"metric":{"i":"b"},"values":[[0,"1"]]}]}})";
  EXPECT_EQ(load(two), "query \"a\" gives 2 series ({i=\"a\"}, {i=\"b\"}); a model trains on one stream: select "
                       "one (add a label matcher) or aggregate (sum, avg)");
}

TEST(PrometheusSourceTest, SelectsTheModelsFeaturesByQueryName) {
  core::CsvTable table;
  table.feature_names = {"flow", "label", "temperature"};
  table.timestamps = {"60", "120"};
  table.values.resize(3, 2);
  table.values << 1, 2, 0, 1, 30, 40;
  const core::Result<core::CsvTable> picked = SelectQueryColumns(table, {"temperature", "flow"});
  ASSERT_TRUE(picked.ok()) << picked.status().message();
  EXPECT_EQ(picked->feature_names, (std::vector<std::string>{"temperature", "flow"}));
  EXPECT_EQ(picked->timestamps, table.timestamps);
  ASSERT_EQ(picked->values.rows(), 2);
  EXPECT_EQ(picked->values(0, 0), 30.0);
  EXPECT_EQ(picked->values(0, 1), 40.0);
  EXPECT_EQ(picked->values(1, 0), 1.0);
  EXPECT_EQ(picked->values(1, 1), 2.0);
  EXPECT_EQ(SelectQueryColumns(table, {"pressure"}).status().message(),
            "no --query pressure=PROMQL for feature \"pressure\" (the model's features: one --query each)");
}

}  // namespace
}  // namespace lstmad::tools
