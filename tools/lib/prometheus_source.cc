#include "prometheus_source.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>

#include <nlohmann/json.hpp>

#include "labels.h"
#include "lstmad/core/files.h"
#include "lstmad/core/text.h"

namespace lstmad::tools {
namespace {

// Prometheus refuses a range query of more than 11,000 points per series.
constexpr double kMaxStepsPerRequest = 10000;
// A credentials file is a line, not a document.
constexpr uint64_t kMaxSecretBytes = 4096;

std::string Number(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// A label set as PromQL writes it, for messages: {instance="a",job="node"}.
std::string LabelSet(const nlohmann::json& metric) {
  std::string out = "{";
  for (const auto& [k, v] : metric.items()) {
    out += (out.size() > 1 ? "," : "") + k + "=" + core::Quote(v.is_string() ? v.get<std::string>() : v.dump());
  }
  return out + "}";
}

core::Result<std::string> ReadSecret(const std::string& flag, const std::string& path) {
  core::Result<std::string> text = core::ReadFileBounded(path, kMaxSecretBytes);
  if (!text.ok()) return core::Status::Invalid("--" + flag + ": " + text.status().message());
  std::string secret = *text;
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) return core::Status::Invalid("--" + flag + ": " + path + " is empty");
  return secret;
}

// One chunk of one query: [time, value] pairs into `values` (time in ms).
core::Status AddChunk(const std::string& name, const std::string& body, std::string* labels,
                      std::map<int64_t, std::vector<std::optional<double>>>* rows, size_t feature,
                      size_t features) {
  const std::string what = "query " + core::Quote(name);
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(body);
  } catch (const nlohmann::json::parse_error& e) {
    return core::Status::Error(what + ": the answer is not JSON (byte " + std::to_string(e.byte) + ")");
  }
  const nlohmann::json* result = nullptr;
  if (root.is_object() && root.value("status", "") == "success" && root.contains("data") &&
      root["data"].is_object() && root["data"].value("resultType", "") == "matrix" &&
      root["data"].contains("result") && root["data"]["result"].is_array()) {
    result = &root["data"]["result"];
  }
  if (result == nullptr) return core::Status::Error(what + ": not a query_range matrix answer");
  if (result->size() > 1) {
    std::string sets;
    for (size_t i = 0; i < result->size() && i < 3; ++i) sets += (i ? ", " : "") + LabelSet((*result)[i]["metric"]);
    return core::Status::Invalid(what + " gives " + std::to_string(result->size()) + " series (" + sets +
                                 (result->size() > 3 ? ", ..." : "") +
                                 "); a model trains on one stream: select one (add a label matcher) or "
                                 "aggregate (sum, avg)");
  }
  if (result->empty()) return core::Status::Ok();
  const nlohmann::json& series = (*result)[0];
  const std::string set = series.contains("metric") ? LabelSet(series["metric"]) : "{}";
  if (labels->empty()) {
    *labels = set;
  } else if (*labels != set) {
    return core::Status::Invalid(what + " gives " + *labels + " in one part of the range and " + set +
                                 " in another; a model trains on one stream");
  }
  if (!series.contains("values") || !series["values"].is_array()) {
    return core::Status::Error(what + ": a series without values");
  }
  for (const nlohmann::json& point : series["values"]) {
    if (!point.is_array() || point.size() != 2 || !point[0].is_number() || !point[1].is_string()) {
      return core::Status::Error(what + ": a point is not [time, \"value\"]");
    }
    const double t = point[0].get<double>();
    const std::string text = point[1].get<std::string>();
    double v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v)) {
      return core::Status::Invalid(what + ": value " + core::Quote(text) + " at " + Number(t) +
                                   " is not a finite number");
    }
    auto& row = (*rows)[std::llround(t * 1000)];
    row.resize(features);
    row[feature] = v;
  }
  return core::Status::Ok();
}

}  // namespace

void AddPrometheusFlags(ArgParser* p) {
  p->AddOption("prometheus", "URL",
               "read the series from Prometheus' HTTP API (http://host:9090) instead of --data; "
               "with --query, --start, --end, --step");
  p->AddRepeatable("query", "NAME=PROMQL", "with --prometheus: feature NAME is the PromQL query's value");
  p->AddOption("start", "TIME", "with --prometheus: Unix seconds or RFC 3339 UTC (2024-05-01T00:00:00Z)");
  p->AddOption("end", "TIME", "with --prometheus: as --start");
  p->AddOption("step", "DURATION", "with --prometheus: the series' step, seconds or 15s, 1m, 1h");
  p->AddOption("prometheus-user", "USER", "with --prometheus: basic auth user (--prometheus-password-file)");
  p->AddOption("prometheus-password-file", "FILE", "with --prometheus: basic auth password, the file's first line");
  p->AddOption("prometheus-token-file", "FILE", "with --prometheus: a bearer token, the file's first line");
}

core::Result<std::pair<std::string, std::string>> ParseQueryFlag(const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    return core::Status::Invalid("--query: expected NAME=PROMQL, got " + core::Quote(text));
  }
  return std::make_pair(text.substr(0, eq), text.substr(eq + 1));
}

core::Result<double> ParseTimeFlag(const std::string& flag, const std::string& text) {
  double seconds = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec == std::errc() && end == text.data() + text.size() && std::isfinite(seconds)) return seconds;
  if (text.size() >= 20 && text.back() == 'Z') {
    if (std::optional<TimestampParts> t = ParseTimestampParts(text)) {
      return static_cast<double>(t->seconds) + static_cast<double>(t->nanos) * 1e-9;
    }
  }
  return core::Status::Invalid("--" + flag + ": expected Unix seconds or RFC 3339 UTC (2024-05-01T00:00:00Z), got " +
                               core::Quote(text));
}

core::Result<double> ParseStepFlag(const std::string& text) {
  double seconds = 0;
  if (!ParseDuration(text, &seconds) || !(seconds > 0)) {
    return core::Status::Invalid("--step: expected a positive duration (15, 15s, 1m, 1h), got " + core::Quote(text));
  }
  return seconds;
}

std::string UrlEncode(const std::string& text) {
  std::string out;
  char buf[4];
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

core::Result<PrometheusSource> PrometheusSourceFromFlags(const ArgParser& p) {
  PrometheusSource s;
  s.url = p.Get("prometheus");
  for (const std::string& q : p.GetAll("query")) {
    core::Result<std::pair<std::string, std::string>> parsed = ParseQueryFlag(q);
    if (!parsed.ok()) return parsed.status();
    s.queries.push_back(*parsed);
  }
  if (s.queries.empty()) return core::Status::Invalid("--prometheus needs at least one --query NAME=PROMQL");
  for (const char* flag : {"start", "end", "step"}) {
    if (!p.Has(flag)) return core::Status::Invalid(std::string("--prometheus needs --") + flag);
  }
  core::Result<double> start = ParseTimeFlag("start", p.Get("start"));
  if (!start.ok()) return start.status();
  core::Result<double> end = ParseTimeFlag("end", p.Get("end"));
  if (!end.ok()) return end.status();
  core::Result<double> step = ParseStepFlag(p.Get("step"));
  if (!step.ok()) return step.status();
  if (!(*end > *start)) return core::Status::Invalid("--end must be after --start");
  s.start_s = *start;
  s.end_s = *end;
  s.step_s = *step;
  if (p.Has("prometheus-token-file")) {
    if (p.Has("prometheus-user")) return core::Status::Invalid("--prometheus-token-file and --prometheus-user: one or the other");
    core::Result<std::string> token = ReadSecret("prometheus-token-file", p.Get("prometheus-token-file"));
    if (!token.ok()) return token.status();
    s.authorization = "Bearer " + *token;
  } else if (p.Has("prometheus-user")) {
    if (!p.Has("prometheus-password-file")) return core::Status::Invalid("--prometheus-user needs --prometheus-password-file");
    core::Result<std::string> password = ReadSecret("prometheus-password-file", p.Get("prometheus-password-file"));
    if (!password.ok()) return password.status();
    s.authorization = "Basic " + core::Base64Encode(p.Get("prometheus-user") + ":" + *password);
  }
  return s;
}

core::Result<core::CsvTable> LoadPrometheusRange(const PrometheusSource& source, const FetchFn& fetch,
                                                 int* dropped) {
  std::map<int64_t, std::vector<std::optional<double>>> rows;  // by time in ms
  const size_t features = source.queries.size();
  for (size_t f = 0; f < features; ++f) {
    const auto& [name, promql] = source.queries[f];
    std::string labels;
    for (double from = source.start_s; from <= source.end_s;) {
      const double to = std::min(source.end_s, from + (kMaxStepsPerRequest - 1) * source.step_s);
      const std::string path = "/api/v1/query_range?query=" + UrlEncode(promql) + "&start=" + Number(from) +
                               "&end=" + Number(to) + "&step=" + Number(source.step_s);
      core::Result<std::string> body = fetch(path);
      if (!body.ok()) return core::Status(body.status()).WithContext("query " + core::Quote(name));
      LSTMAD_RETURN_IF_ERROR(AddChunk(name, *body, &labels, &rows, f, features));
      if (to >= source.end_s) break;
      from = to + source.step_s;
    }
    if (labels.empty()) {
      return core::Status::Invalid("query " + core::Quote(name) + " (" + promql + ") gives no series from " +
                                   Number(source.start_s) + " to " + Number(source.end_s));
    }
  }
  core::CsvTable table;
  for (const auto& [name, promql] : source.queries) table.feature_names.push_back(name);
  std::vector<int64_t> kept;
  *dropped = 0;
  for (const auto& [ms, values] : rows) {
    const bool complete = values.size() == features &&
                          std::all_of(values.begin(), values.end(), [](const auto& v) { return v.has_value(); });
    if (complete) {
      kept.push_back(ms);
    } else {
      ++*dropped;
    }
  }
  if (kept.empty()) return core::Status::Invalid("no step where every query has a value");
  table.values.resize(static_cast<Eigen::Index>(features), static_cast<Eigen::Index>(kept.size()));
  for (size_t r = 0; r < kept.size(); ++r) {
    const auto& values = rows[kept[r]];
    for (size_t f = 0; f < features; ++f) {
      table.values(static_cast<Eigen::Index>(f), static_cast<Eigen::Index>(r)) = *values[f];
    }
    const int64_t ms = kept[r];
    table.timestamps.push_back(ms % 1000 == 0 ? std::to_string(ms / 1000) : Number(static_cast<double>(ms) / 1000));
  }
  return table;
}

core::Result<core::CsvTable> SelectQueryColumns(const core::CsvTable& table,
                                                const std::vector<std::string>& names) {
  core::CsvTable out;
  out.feature_names = names;
  out.timestamps = table.timestamps;
  out.values.resize(static_cast<Eigen::Index>(names.size()), table.values.cols());
  for (size_t i = 0; i < names.size(); ++i) {
    const auto found = std::find(table.feature_names.begin(), table.feature_names.end(), names[i]);
    if (found == table.feature_names.end()) {
      return core::Status::Invalid("no --query " + names[i] + "=PROMQL for feature " + core::Quote(names[i]) +
                                   " (the model's features: one --query each)");
    }
    out.values.row(static_cast<Eigen::Index>(i)) = table.values.row(found - table.feature_names.begin());
  }
  return out;
}

}  // namespace lstmad::tools
