// The evaluation report: metrics of a tiny labelled series worked out by
// hand, the text table, the JSON object (parsed back), and NAB's results file.
#include "evaluation_report.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "markup_check.h"

namespace lstmad::tools {
namespace {

// 13 rows, the first 2 not scored. Events: rows 4-6 and 9-10. Alarms: row 1
// (not scored), 2 (false), 5 and 6 (inside the first event), 12 (false).
//   point-wise over rows 2..12: tp 2 (5, 6), fp 2 (2, 12), fn 3 (4, 9, 10)
//     precision 2/4, recall 2/5, F1 2*0.5*0.4/0.9 = 4/9
//   event-wise: tp 1 (first event), fn 1 (second), fp 2 (runs {2} and {12})
//     precision 1/3, recall 1/2, F1 0.4; delay of the first event: 5 - 4 = 1
//   point-adjusted: the first event counts whole: tp 3, fp 2, fn 2 -> 0.6 each
const std::vector<uint8_t> kLabels = {0, 0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0};
const std::vector<uint8_t> kAlarms = {0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1};
// One onset, inside the first event.
const std::vector<double> kScores = {0, 0, 0, 0, 0, 0.9, 0.2, 0, 0, 0, 0, 0, 0.1};
// The alert state (alert.for 2): firing at rows 1-2 (it fired during the
// probation, so it is not counted as fired after it) and 6-8 (fired at 6,
// inside the first event, resolved after it).
//   point-wise over rows 2..12: tp 1 (6), fp 3 (2, 7, 8), fn 4 (4, 5, 9, 10)
//   event-wise: tp 1 (first event, delay 6 - 4 = 2), fn 1, fp 1 (the run {2})
//   fired: 1; alerting rows: 4
const std::vector<uint8_t> kAlerts = {0, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0};
const core::AlertRule kRule{2, 3};

std::vector<std::string> Minutes(int rows) {
  std::vector<std::string> out;
  for (int i = 0; i < rows; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "2015-09-01 00:%02d:00", i);
    out.emplace_back(buf);
  }
  return out;
}

EvaluationSummary TinySummary() {
  EvaluationSummary s =
      Summarize("nab/we\"ird\\name.csv", kLabels, kAlarms, kScores, kAlerts, kRule, 2, Minutes(13));
  s.detector = "spot q=1e-3";
  return s;
}

double Number(const std::map<std::string, std::string>& json, const std::string& key) {
  auto it = json.find(key);
  EXPECT_NE(it, json.end()) << key;
  return it == json.end() ? -1 : std::stod(it->second);
}

TEST(EvaluationReportTest, SummaryCountsAgreeWithTheHandCount) {
  const EvaluationSummary s = TinySummary();
  EXPECT_EQ(s.rows, 13);
  EXPECT_EQ(s.probation, 2);
  EXPECT_EQ(s.eval.points.tp, 2);
  EXPECT_EQ(s.eval.points.fp, 2);
  EXPECT_EQ(s.eval.points.fn, 3);
  EXPECT_DOUBLE_EQ(s.eval.points.precision(), 0.5);
  EXPECT_DOUBLE_EQ(s.eval.points.recall(), 0.4);
  EXPECT_DOUBLE_EQ(s.eval.points.f1(), 4.0 / 9.0);
  EXPECT_EQ(s.eval.events.tp, 1);
  EXPECT_EQ(s.eval.events.fp, 2);
  EXPECT_EQ(s.eval.events.fn, 1);
  EXPECT_DOUBLE_EQ(s.eval.events.f1(), 0.4);
  EXPECT_DOUBLE_EQ(s.eval.point_adjusted.f1(), 0.6);
  EXPECT_EQ(s.eval.delays, std::vector<int>{1});
  EXPECT_EQ(s.onsets, 1);
  EXPECT_EQ(s.sample_seconds, 60.0);
  EXPECT_EQ(s.nab.windows, 2);
  EXPECT_EQ(s.nab.detected, 1);
  EXPECT_EQ(s.nab.false_positives, 0);
}

TEST(EvaluationReportTest, AlertsAreCountedLikeTheAlarmsFromTheFirstScoredRow) {
  const EvaluationSummary s = TinySummary();
  EXPECT_EQ(s.alert_rule.fire_after, 2);
  EXPECT_EQ(s.alerts.points.tp, 1);
  EXPECT_EQ(s.alerts.points.fp, 3);
  EXPECT_EQ(s.alerts.points.fn, 4);
  EXPECT_EQ(s.alerts.events.tp, 1);
  EXPECT_EQ(s.alerts.events.fp, 1);
  EXPECT_EQ(s.alerts.events.fn, 1);
  EXPECT_EQ(s.alerts.delays, std::vector<int>{2});
  EXPECT_EQ(s.alerts_fired, 1);
  EXPECT_EQ(s.alert_rows, 4);
}

TEST(EvaluationReportTest, TextShowsTheTable) {
  std::ostringstream out;
  PrintText(out, TinySummary());
  const std::string text = out.str();
  EXPECT_EQ(
      text.rfind("nab/we\"ird\\name.csv: 13 rows, 2 labelled event(s) after the first 2 rows", 0),
      0u)
      << text;
  EXPECT_NE(text.find("  point-wise           0.500   0.400  0.444       2       2       3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  event-wise           0.333   0.500  0.400       1       2       1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("time to detection: mean 1.0 rows, median 1 rows (60 s, 60 s)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("  alerts vs labels  precision  recall     F1      tp      fp      fn\n"
                      "  point-wise           0.250   0.200  0.222       1       3       4\n"
                      "  event-wise           0.500   0.500  0.500       1       1       1\n"
                      "  (the daemon's alert state, score's alert column: alert.for 2, alert.clear 3; "
                      "1 alert(s) fired, 4 row(s) alerting)\n"),
            std::string::npos)
      << text;
}

TEST(EvaluationReportTest, AlertsEndedByAnAcceptedChangeAreShown) {
  EvaluationSummary s = TinySummary();
  s.alerts_accepted = 1;
  std::ostringstream text;
  PrintText(text, s);
  EXPECT_NE(text.str().find("1 alert(s) fired, 4 row(s) alerting; 1 alert(s) ended by a change accepted as "
                            "normal)\n"),
            std::string::npos)
      << text.str();
  std::ostringstream out;
  PrintJson(out, s);
  std::map<std::string, std::string> json;
  ASSERT_EQ(testing::JsonFlattener().Parse(out.str(), &json), "") << out.str();
  EXPECT_EQ(Number(json, "alerts.accepted"), 1);
}

TEST(EvaluationReportTest, JsonParsesAndHoldsTheMetrics) {
  std::ostringstream out;
  PrintJson(out, TinySummary());
  std::map<std::string, std::string> json;
  ASSERT_EQ(testing::JsonFlattener().Parse(out.str(), &json), "") << out.str();
  EXPECT_EQ(json.at("data"), "nab/we\"ird\\name.csv");
  EXPECT_EQ(json.at("detector"), "spot q=1e-3");
  EXPECT_EQ(json.at("training"), "");
  EXPECT_EQ(Number(json, "rows"), 13);
  EXPECT_EQ(Number(json, "probation"), 2);
  EXPECT_EQ(Number(json, "points.tp"), 2);
  EXPECT_EQ(Number(json, "points.fp"), 2);
  EXPECT_EQ(Number(json, "points.fn"), 3);
  EXPECT_NEAR(Number(json, "points.precision"), 0.5, 1e-6);
  EXPECT_NEAR(Number(json, "points.recall"), 0.4, 1e-6);
  EXPECT_NEAR(Number(json, "points.f1"), 4.0 / 9.0, 1e-6);
  EXPECT_NEAR(Number(json, "events.precision"), 1.0 / 3.0, 1e-6);
  EXPECT_NEAR(Number(json, "point_adjusted.f1"), 0.6, 1e-6);
  EXPECT_EQ(Number(json, "delays[0]"), 1);
  EXPECT_EQ(json.count("delays[1]"), 0u);
  EXPECT_EQ(Number(json, "sample_seconds"), 60);
  EXPECT_EQ(Number(json, "onsets"), 1);
  EXPECT_EQ(Number(json, "nab.windows"), 2);
  EXPECT_EQ(Number(json, "nab.detected"), 1);
  EXPECT_EQ(Number(json, "nab.threshold"), kNabScoreThreshold);
  EXPECT_EQ(Number(json, "alerts.for"), 2);
  EXPECT_EQ(Number(json, "alerts.clear"), 3);
  EXPECT_EQ(Number(json, "alerts.fired"), 1);
  EXPECT_EQ(Number(json, "alerts.rows"), 4);
  EXPECT_EQ(Number(json, "alerts.accepted"), 0);
  EXPECT_EQ(Number(json, "alerts.points.fp"), 3);
  EXPECT_EQ(Number(json, "alerts.events.fp"), 1);
  EXPECT_EQ(Number(json, "alerts.delays[0]"), 2);
}

TEST(EvaluationReportTest, NabResultsFileGoesUnderTheDataCategory) {
  const std::string dir = ::testing::TempDir() + "/nab_results";
  const std::vector<std::string> stamps = Minutes(3);
  ASSERT_TRUE(WriteNabResults(dir, "lstmad", "/data/realKnownCause/machine.csv", stamps,
                              {1.5, 2, 2.25}, {0, 0.75, 0.125}, {0, 1, 1})
                  .ok());
  std::ifstream in(dir + "/realKnownCause/lstmad_machine.csv");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(),
            "timestamp,value,anomaly_score,label\n"
            "2015-09-01 00:00:00,1.5,0,0\n"
            "2015-09-01 00:01:00,2,0.75,1\n"
            "2015-09-01 00:02:00,2.25,0.125,1\n");
}

}  // namespace
}  // namespace lstmad::tools
