#include "evaluation_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "labels.h"
#include "lstmad/core/files.h"

#include <nlohmann/json.hpp>

namespace lstmad::tools {
namespace {

std::string Fmt(double v, const char* format = "%.3f") {
  char buf[48];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

double MedianSpacing(const std::vector<std::string>& timestamps) {
  std::vector<double> gaps;
  std::optional<double> prev;
  for (const std::string& ts : timestamps) {
    const std::optional<double> t = ParseTimestamp(ts);
    if (!t) return 0;
    if (prev) gaps.push_back(*t - *prev);
    prev = t;
  }
  if (gaps.empty()) return 0;
  std::nth_element(gaps.begin(), gaps.begin() + static_cast<std::ptrdiff_t>(gaps.size() / 2), gaps.end());
  return std::max(gaps[gaps.size() / 2], 0.0);
}

std::string Duration(double seconds) {
  if (seconds < 120) return Fmt(seconds, "%.0f s");
  if (seconds < 7200) return Fmt(seconds / 60, "%.1f min");
  if (seconds < 2 * 86400) return Fmt(seconds / 3600, "%.1f h");
  return Fmt(seconds / 86400, "%.1f d");
}

std::string Row(const char* name, const core::Counts& c) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "  %-16s %9.3f %7.3f %6.3f %7lld %7lld %7lld\n", name, c.precision(),
                c.recall(), c.f1(), static_cast<long long>(c.tp), static_cast<long long>(c.fp),
                static_cast<long long>(c.fn));
  return buf;
}

nlohmann::ordered_json JsonCounts(const core::Counts& c) {
  return {{"tp", c.tp},           {"fp", c.fp},         {"fn", c.fn},
          {"precision", c.precision()}, {"recall", c.recall()}, {"f1", c.f1()}};
}

}  // namespace

EvaluationSummary Summarize(const std::string& data, const std::vector<uint8_t>& labels,
                            const std::vector<uint8_t>& alarms, const std::vector<double>& scores,
                            const std::vector<uint8_t>& alerts, const core::AlertRule& rule, int probation,
                            const std::vector<std::string>& timestamps) {
  EvaluationSummary s;
  s.data = data;
  s.rows = static_cast<int>(labels.size());
  s.probation = probation;
  s.eval = core::Evaluate(labels, alarms, probation);
  s.nab = core::NabScore(scores, labels, kNabScoreThreshold);
  for (size_t i = static_cast<size_t>(probation); i < scores.size(); ++i) {
    s.onsets += scores[i] >= kNabScoreThreshold ? 1 : 0;
  }
  s.sample_seconds = MedianSpacing(timestamps);
  s.alert_rule = rule;
  s.alerts = core::Evaluate(labels, alerts, probation);
  // An alert already firing when scoring starts fired during the probation.
  for (size_t i = static_cast<size_t>(probation); i < alerts.size(); ++i) {
    s.alert_rows += alerts[i] != 0 ? 1 : 0;
    s.alerts_fired += alerts[i] != 0 && (i == 0 || alerts[i - 1] == 0) ? 1 : 0;
  }
  return s;
}

void PrintText(std::ostream& out, const EvaluationSummary& s) {
  out << s.data << ": " << s.rows << " rows, " << s.eval.events.tp + s.eval.events.fn
      << " labelled event(s) after the first " << s.probation << " rows (not scored)\n";
  if (!s.training.empty()) out << "model: " << s.training << "\n";
  out << "detector: " << s.detector << "\n\n";
  out << "  alarms vs labels  precision  recall     F1      tp      fp      fn\n";
  out << Row("point-wise", s.eval.points);
  out << Row("event-wise", s.eval.events);
  out << "  (event-wise: tp = events flagged before they end, fp = alarm runs outside every event)\n";
  if (!s.eval.delays.empty()) {
    out << "  time to detection: mean " << Fmt(s.eval.MeanDelay(), "%.1f") << " rows, median "
        << Fmt(s.eval.MedianDelay(), "%.0f") << " rows";
    if (s.sample_seconds > 0) {
      out << " (" << Duration(s.eval.MeanDelay() * s.sample_seconds) << ", "
          << Duration(s.eval.MedianDelay() * s.sample_seconds) << ")";
    }
    out << " from the event's first row\n";
  }
  out << "\n  alerts vs labels  precision  recall     F1      tp      fp      fn\n";
  out << Row("point-wise", s.alerts.points);
  out << Row("event-wise", s.alerts.events);
  out << "  (the daemon's alert state, score's alert column: alert.for " << s.alert_rule.fire_after
      << ", alert.clear " << s.alert_rule.clear_after << "; " << s.alerts_fired << " alert(s) fired, "
      << s.alert_rows << " row(s) alerting";
  if (s.alerts_accepted > 0) {
    out << "; " << s.alerts_accepted << " alert(s) ended by a change accepted as normal";
  }
  out << ")\n";
  out << "\n" << Row("point-adjusted", s.eval.point_adjusted)
      << "  (point-adjusted: a whole event counts as found if any row of it is; it flatters\n"
         "   detectors and is shown only for comparison with papers that use it)\n\n";
  out << "  NAB standard profile, anomaly_score >= " << kNabScoreThreshold << ": "
      << Fmt(s.nab.Normalized(), "%.1f") << " (raw " << Fmt(s.nab.raw, "%.3f") << "; null 0, perfect 100; "
      << s.nab.detected << "/" << s.nab.windows << " windows detected, " << s.nab.false_positives
      << " false positive(s), " << s.onsets << " onset(s))\n";
}

void PrintJson(std::ostream& out, const EvaluationSummary& s) {
  // ordered_json: the keys stay in the order a reader of the raw text expects.
  const nlohmann::ordered_json report = {
      {"data", s.data},
      {"rows", s.rows},
      {"probation", s.probation},
      {"detector", s.detector},
      {"training", s.training},
      {"points", JsonCounts(s.eval.points)},
      {"events", JsonCounts(s.eval.events)},
      {"point_adjusted", JsonCounts(s.eval.point_adjusted)},
      {"delays", s.eval.delays},
      {"sample_seconds", s.sample_seconds},
      {"onsets", s.onsets},
      {"alerts",
       {{"for", s.alert_rule.fire_after},
        {"clear", s.alert_rule.clear_after},
        {"fired", s.alerts_fired},
        {"rows", s.alert_rows},
        {"accepted", s.alerts_accepted},
        {"points", JsonCounts(s.alerts.points)},
        {"events", JsonCounts(s.alerts.events)},
        {"delays", s.alerts.delays}}},
      {"nab",
       {{"threshold", kNabScoreThreshold},
        {"raw", s.nab.raw},
        {"null", s.nab.null},
        {"perfect", s.nab.perfect},
        {"normalized", s.nab.Normalized()},
        {"windows", s.nab.windows},
        {"detected", s.nab.detected},
        {"false_positives", s.nab.false_positives}}}};
  // replace: a data path that is not UTF-8 must not make dump() throw.
  out << report.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
}

core::Status WriteNabResults(const std::string& dir, const std::string& detector,
                             const std::string& data, const std::vector<std::string>& timestamps,
                             const std::vector<double>& values, const std::vector<double>& scores,
                             const std::vector<uint8_t>& labels) {
  namespace fs = std::filesystem;
  const fs::path source(data);
  const std::string category = source.parent_path().filename().string();
  const fs::path folder = fs::path(dir) / (category.empty() ? "data" : category);
  std::error_code ec;
  fs::create_directories(folder, ec);
  if (ec) return core::Status::Error(folder.string() + ": cannot create: " + ec.message());
  const fs::path path = folder / (detector + "_" + source.filename().string());
  std::string csv = "timestamp,value,anomaly_score,label\n";
  for (size_t i = 0; i < scores.size(); ++i) {
    csv += (timestamps.empty() ? std::to_string(i) : timestamps[i]) + ',' + Fmt(values[i], "%.10g") +
           ',' + Fmt(scores[i], "%.9g") + ',' + std::to_string(static_cast<int>(labels[i])) + '\n';
  }
  return core::WriteFileAtomically(path.string(), csv);
}

}  // namespace lstmad::tools
