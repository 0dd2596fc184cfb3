#include "console/console.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "console/console_text.h"
#include "lstmad/core/anomaly_score.h"
#include "lstmad/core/text.h"
#include "obs/json_text.h"

namespace lstmad::daemon {

std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string ShortNumber(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string TimeText(int64_t ns) { return ns == 0 ? "" : core::FormatRfc3339Nanos(ns); }

std::vector<std::pair<std::string, double>> FeatureShares(const HistoryCopy& copy,
                                                          const std::vector<std::string>& names) {
  std::vector<std::pair<std::string, double>> shares;
  if (copy.points.empty() || copy.scored == 0) return shares;
  const auto scored = static_cast<size_t>(copy.scored);
  const float* newest = copy.feature_error.data() + (copy.points.size() - 1) * scored;
  double total = 0;
  size_t infinite = 0;
  for (size_t f = 0; f < scored; ++f) {
    const double e = std::isnan(newest[f]) ? INFINITY : newest[f];
    if (std::isinf(e)) ++infinite;
    total += e;
  }
  for (size_t f = 0; f < scored; ++f) {
    const double e = std::isnan(newest[f]) ? INFINITY : newest[f];
    double share = 1.0 / static_cast<double>(scored);
    if (infinite > 0) {
      share = std::isinf(e) ? 1.0 / static_cast<double>(infinite) : 0.0;
    } else if (total > 0) {
      share = e / total;
    }
    shares.emplace_back(f < names.size() ? names[f] : "feature " + std::to_string(f), share);
  }
  std::stable_sort(shares.begin(), shares.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return shares;
}

std::string ThresholdModeText(const ModelRuntime& model) {
  return std::string(core::ThresholdModeName(model.settings.detector.options.threshold));
}

std::string WithoutUserInfo(std::string_view url) {
  const size_t scheme = url.find("://");
  const size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  const size_t slash = url.find('/', start);
  const size_t at = url.substr(0, slash).rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(url);
  return std::string(url.substr(0, start)) + std::string(url.substr(at + 1));
}

namespace {

constexpr char kJson[] = "application/json";

ConsoleReply JsonError(int status, std::string_view message) {
  ConsoleReply reply;
  reply.status = status;
  reply.content_type = kJson;
  reply.body = "{\"error\":" + JsonString(message) + "}";
  return reply;
}

std::string StreamHref(std::string_view model, std::string_view key) {
  return "/api/v1/streams/" + PercentEncode(key) + "?model=" + PercentEncode(model);
}

void AppendRowJson(std::string* out, const StreamRow& row) {
  const HistoryPoint& p = row.latest.point;
  *out += "{\"id\":" + JsonString(row.key) + ",\"model\":" + JsonString(row.model) +
          ",\"score\":" + JsonNumber(row.score) + ",\"error\":" + JsonNumber(p.error) +
          ",\"threshold\":" + JsonNumber(p.threshold) + ",\"above\":" + (p.above ? "true" : "false") +
          ",\"firing\":" + (row.latest.firing ? "true" : "false") +
          ",\"windows\":" + std::to_string(row.latest.windows) +
          ",\"last_window_end\":" + JsonString(TimeText(p.end_ns)) +
          ",\"href\":" + JsonString(StreamHref(row.model, row.key)) + "}";
}

void AppendAlertJson(std::string* out, const AlertEvent& event) {
  *out += "{\"kind\":" + JsonString(event.kind) + ",\"time\":" + JsonString(TimeText(event.time_ns)) +
          ",\"model\":" + JsonString(event.model) + ",\"stream\":" + JsonString(event.stream) +
          ",\"error\":" + JsonNumber(event.error) + ",\"threshold\":" + JsonNumber(event.threshold) +
          ",\"window_start\":" + JsonString(TimeText(event.window_start_ns)) +
          ",\"window_end\":" + JsonString(TimeText(event.window_end_ns)) + ",\"top_features\":[";
  for (size_t i = 0; i < event.top_features.size(); ++i) {
    *out += (i ? "," : "") + std::string("{\"feature\":") + JsonString(event.top_features[i].first) +
            ",\"share\":" + JsonNumber(event.top_features[i].second) + "}";
  }
  *out += "]";
  if (!event.reason.empty()) *out += ",\"reason\":" + JsonString(event.reason);
  *out += "}";
}

void AppendFloats(std::string* out, const float* values, size_t n) {
  *out += '[';
  for (size_t i = 0; i < n; ++i) *out += (i ? "," : "") + JsonNumber(values[i]);
  *out += ']';
}

}  // namespace

std::vector<std::string> Console::Paths() {
  return {"/", "/console", "/console/", "/api/v1/streams", "/api/v1/streams/", "/api/v1/alerts"};
}

ConsoleReply Console::Handle(const ConsoleRequest& request) const {
  const std::string_view path = request.path;
  if (path == "/") {
    ConsoleReply reply;
    reply.status = 302;
    reply.location = "/console";
    reply.content_type = "text/plain; charset=utf-8";
    reply.body = "see /console\n";
    return reply;
  }
  if (path == "/console" || path == "/console/") return Overview(request);
  if (path == "/console/stream") return StreamPage(request);
  if (path == "/console/alerts") return AlertsPage();
  if (path == "/console/config") return ConfigPage();
  if (path == "/api/v1/streams") return StreamsJson(request);
  if (path.starts_with("/api/v1/streams/")) return StreamJson(request);
  if (path == "/api/v1/alerts") return AlertsJson(request);
  if (path.starts_with("/api/")) return JsonError(404, "no such endpoint");
  ConsoleReply reply;
  reply.status = 404;
  reply.content_type = "text/plain; charset=utf-8";
  reply.body = "not found; the console is at /console\n";
  return reply;
}

std::vector<StreamRow> Console::Rows() const {
  std::vector<StreamRow> rows;
  if (sources_.histories == nullptr) return rows;
  auto histories = sources_.histories->List();
  rows.reserve(histories.size());
  for (auto& history : histories) rows.push_back(MakeRow(std::move(history)));
  return rows;
}

const ModelRuntime* Console::FindModel(std::string_view name) const {
  if (!sources_.models) return nullptr;
  const std::shared_ptr<const ModelSet> models = sources_.models();
  if (!models) return nullptr;
  for (const auto& model : models->models) {
    // The set outlives this call: the daemon replaces it only on its io
    // thread, which is the thread running this request.
    if (model->name() == name) return model.get();
  }
  return nullptr;
}

std::shared_ptr<const StreamHistory> Console::FindStream(std::string_view model, std::string_view key) const {
  if (sources_.histories == nullptr) return nullptr;
  std::shared_ptr<const StreamHistory> found;
  for (auto& history : sources_.histories->List()) {
    if (history->key() != key || (!model.empty() && history->model() != model)) continue;
    // Two models can hold one key only across a reload that moved its
    // measurement: the lower model name wins, so the answer is stable.
    if (!found || history->model() < found->model()) found = std::move(history);
  }
  return found;
}

ConsoleReply Console::StreamsJson(const ConsoleRequest& request) const {
  const ParsedQuery parsed = ParseListQuery(request.params);
  if (!parsed.error.empty()) return JsonError(400, parsed.error);
  size_t total = 0;
  const std::vector<StreamRow> rows = SelectRows(Rows(), parsed.query, &total);
  ConsoleReply reply;
  reply.content_type = kJson;
  std::string& out = reply.body;
  out = "{\"total\":" + std::to_string(total) + ",\"page\":" + std::to_string(parsed.query.page) +
        ",\"per_page\":" + std::to_string(parsed.query.per_page) + ",\"sort\":" +
        JsonString(SortKeyName(parsed.query.sort)) + ",\"order\":" +
        (parsed.query.descending ? "\"desc\"" : "\"asc\"") + ",\"streams\":[";
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i > 0) out += ',';
    AppendRowJson(&out, rows[i]);
  }
  out += "]}";
  return reply;
}

ConsoleReply Console::StreamJson(const ConsoleRequest& request) const {
  const std::string_view raw = request.path.substr(std::string_view("/api/v1/streams/").size());
  const std::optional<std::string> key = request.decode(raw);
  if (!key || key->empty()) return JsonError(400, "stream id: expected a percent-encoded stream key");
  const std::string model = request.params.get("model").value_or("");
  const auto history = FindStream(model, *key);
  if (!history) return JsonError(404, "no such stream");
  const HistoryCopy copy = history->Copy();
  const ModelRuntime* runtime = FindModel(copy.model);
  const std::vector<std::string> names = runtime ? runtime->model.feature_names : std::vector<std::string>{};
  ConsoleReply reply;
  reply.content_type = kJson;
  std::string& out = reply.body;
  const HistoryPoint last = copy.points.empty() ? HistoryPoint{} : copy.points.back();
  out = "{\"id\":" + JsonString(copy.key) + ",\"model\":" + JsonString(copy.model) +
        ",\"score\":" + JsonNumber(AnomalyScore(last)) + ",\"firing\":" + (copy.firing ? "true" : "false") +
        ",\"windows_total\":" + std::to_string(copy.windows) + ",\"features\":[";
  for (size_t i = 0; i < names.size(); ++i) out += (i ? "," : "") + JsonString(names[i]);
  out += "]";
  if (runtime != nullptr) {
    out += ",\"lookback\":" + std::to_string(runtime->lookback()) +
           ",\"threshold_mode\":" + JsonString(ThresholdModeText(*runtime)) +
           ",\"model_threshold\":" + JsonNumber(runtime->threshold);
  }
  out += ",\"shares\":[";
  const auto shares = FeatureShares(copy, names);
  for (size_t i = 0; i < shares.size(); ++i) {
    out += (i ? "," : "") + std::string("{\"feature\":") + JsonString(shares[i].first) +
           ",\"share\":" + JsonNumber(shares[i].second) + "}";
  }
  out += "],\"windows\":[";
  const auto f = static_cast<size_t>(copy.features), s = static_cast<size_t>(copy.scored);
  for (size_t i = 0; i < copy.points.size(); ++i) {
    const HistoryPoint& p = copy.points[i];
    out += (i ? "," : "") + std::string("{\"end\":") + JsonString(TimeText(p.end_ns)) +
           ",\"error\":" + JsonNumber(p.error) + ",\"threshold\":" + JsonNumber(p.threshold) +
           ",\"above\":" + (p.above ? "true" : "false") + ",\"observed\":";
    AppendFloats(&out, copy.observed.data() + i * f, f);
    out += ",\"reconstructed\":";
    AppendFloats(&out, copy.reconstructed.data() + i * f, f);
    out += ",\"feature_error\":";
    AppendFloats(&out, copy.feature_error.data() + i * s, s);
    out += "}";
  }
  out += "],\"alerts\":[";
  for (size_t i = 0; i < copy.alerts.size(); ++i) {
    if (i > 0) out += ',';
    AppendAlertJson(&out, copy.alerts[i]);
  }
  out += "]}";
  return reply;
}

ConsoleReply Console::AlertsJson(const ConsoleRequest& request) const {
  const ParsedQuery parsed = ParseListQuery(request.params);
  if (!parsed.error.empty()) return JsonError(400, parsed.error);
  std::vector<AlertEvent> alerts = ActiveAlerts(Rows());
  const auto per_page = static_cast<uint64_t>(parsed.query.per_page);
  const auto page = static_cast<uint64_t>(parsed.query.page);
  ConsoleReply reply;
  reply.content_type = kJson;
  reply.body = "{\"total\":" + std::to_string(alerts.size()) + ",\"page\":" + std::to_string(page) +
               ",\"per_page\":" + std::to_string(per_page) + ",\"alerts\":[";
  if (page <= alerts.size()) {
    const uint64_t first = (page - 1) * per_page;
    for (uint64_t i = first; i < std::min<uint64_t>(first + per_page, alerts.size()); ++i) {
      if (i > first) reply.body += ',';
      AppendAlertJson(&reply.body, alerts[static_cast<size_t>(i)]);
    }
  }
  reply.body += "]}";
  return reply;
}

std::vector<AlertEvent> ActiveAlerts(const std::vector<StreamRow>& rows) {
  std::vector<AlertEvent> alerts;
  for (const StreamRow& row : rows) {
    if (!row.latest.firing || !row.history) continue;
    if (auto event = row.history->ActiveAlert()) alerts.push_back(std::move(*event));
  }
  // Newest first; then by stream, so equal times keep one order.
  std::sort(alerts.begin(), alerts.end(), [](const AlertEvent& a, const AlertEvent& b) {
    if (a.time_ns != b.time_ns) return a.time_ns > b.time_ns;
    return a.model != b.model ? a.model < b.model : a.stream < b.stream;
  });
  return alerts;
}

}  // namespace lstmad::daemon
