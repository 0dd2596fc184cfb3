// The console's HTML pages: server-rendered, styled inline, refreshed by a
// <meta http-equiv="refresh">; no scripts and nothing loaded from elsewhere.
#include <algorithm>

#include "console/console.h"
#include "console/console_svg.h"
#include "console/console_text.h"

namespace lstmad::daemon {
namespace {

constexpr int kSparkWindows = 60;
// Active alerts the overview lists (the newest); the alerts page lists up to kMaxPerPage.
constexpr size_t kOverviewAlerts = 20;

constexpr char kStyle[] =
    "body{font-family:sans-serif;margin:1em;color:#222}"
    "nav a{margin-right:1em}table{border-collapse:collapse}"
    "td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:middle}"
    ".num{text-align:right;font-variant-numeric:tabular-nums}"
    ".firing{background:#fde2e2}.above{color:#b00}"
    "polyline.error{stroke:#1f5fa8;stroke-width:1.2}polyline.threshold{stroke:#c22;stroke-dasharray:3 2}"
    "polyline.observed{stroke:#1f5fa8;stroke-width:1.2}polyline.reconstructed{stroke:#e08a00;stroke-dasharray:4 2}"
    "circle.clipped{fill:#c22}svg.chart{background:#fafafa;border:1px solid #eee}";

std::string Page(const std::string& title, int refresh_s, const std::string& body) {
  std::string out = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">";
  if (refresh_s > 0) out += "<meta http-equiv=\"refresh\" content=\"" + std::to_string(refresh_s) + "\">";
  out += "<title>" + HtmlEscape(title) + " - lstmad</title><style>" + std::string(kStyle) +
         "</style></head><body><nav><a href=\"/console\">Streams</a><a href=\"/console/alerts\">Alerts</a>"
         "<a href=\"/console/config\">Models and configuration</a></nav><h1>" +
         HtmlEscape(title) + "</h1>" + body + "</body></html>";
  return out;
}

ConsoleReply Html(std::string body, int status = 200) {
  ConsoleReply reply;
  reply.status = status;
  reply.body = std::move(body);
  return reply;
}

std::string StreamLink(std::string_view model, std::string_view key) {
  return "<a class=\"stream\" href=\"/console/stream?model=" + PercentEncode(model) + "&amp;id=" +
         PercentEncode(key) + "\">" + HtmlEscape(key) + "</a>";
}

// The overview's link to another page of the same list.
std::string ListLink(const ListQuery& q, int64_t page, const std::string& text) {
  std::string href = "/console?sort=" + std::string(SortKeyName(q.sort)) +
                     "&amp;order=" + (q.descending ? "desc" : "asc") + "&amp;page=" + std::to_string(page) +
                     "&amp;per_page=" + std::to_string(q.per_page);
  if (!q.model.empty()) href += "&amp;model=" + PercentEncode(q.model);
  for (const auto& [name, value] : q.labels) href += "&amp;label=" + PercentEncode(name + "=" + value);
  if (q.firing_only) href += "&amp;firing=true";
  return "<a href=\"" + href + "\">" + text + "</a>";
}

std::string AlertTable(const std::vector<AlertEvent>& alerts, bool with_stream) {
  std::string out = "<table><tr><th>time</th>";
  if (with_stream) out += "<th>model</th><th>stream</th>";
  out += "<th>kind</th><th>error</th><th>threshold</th><th>top features</th></tr>";
  for (const AlertEvent& e : alerts) {
    out += std::string("<tr class=\"") + (e.kind == "fired" ? "firing" : "resolved") + "\"><td>" +
           HtmlEscape(TimeText(e.time_ns)) + "</td>";
    if (with_stream) out += "<td>" + HtmlEscape(e.model) + "</td><td>" + StreamLink(e.model, e.stream) + "</td>";
    out += "<td>" + HtmlEscape(e.kind) + (e.reason.empty() ? "" : " (" + HtmlEscape(e.reason) + ")") +
           "</td><td class=\"num\">" + ShortNumber(e.error) + "</td><td class=\"num\">" +
           ShortNumber(e.threshold) + "</td><td>";
    for (size_t i = 0; i < e.top_features.size(); ++i) {
      out += (i ? ", " : "") + HtmlEscape(e.top_features[i].first) + " " +
             ShortNumber(100 * e.top_features[i].second) + "%";
    }
    out += "</td></tr>";
  }
  return out + "</table>";
}

// The first `n` of `alerts` as a table, and a line saying how many more there are.
std::string FirstAlerts(const std::vector<AlertEvent>& alerts, size_t n) {
  if (alerts.empty()) return "<p>None.</p>";
  const std::vector<AlertEvent> shown(alerts.begin(), alerts.begin() + static_cast<ptrdiff_t>(std::min(n, alerts.size())));
  std::string out;
  out += AlertTable(shown, true);
  if (alerts.size() > n) {
    out += "<p>" + std::to_string(alerts.size() - n) +
           " more, older: <a href=\"/api/v1/alerts?per_page=500\">/api/v1/alerts</a> lists them all, paged.</p>";
  }
  return out;
}
void Fact(std::string* out, std::string_view name, const std::string& value) {
  *out += "<tr><th>" + HtmlEscape(name) + "</th><td>" + HtmlEscape(value) + "</td></tr>";
}

}  // namespace

ConsoleReply Console::Overview(const ConsoleRequest& request) const {
  const ParsedQuery parsed = ParseListQuery(request.params);
  if (!parsed.error.empty()) {
    return Html(Page("Bad request", 0, "<p>" + HtmlEscape(parsed.error) + "</p>"), 400);
  }
  const ListQuery& q = parsed.query;
  std::vector<StreamRow> all = Rows();
  const std::vector<AlertEvent> alerts = ActiveAlerts(all);
  size_t total = 0;
  const std::vector<StreamRow> rows = SelectRows(std::move(all), q, &total);
  std::string body = "<h2>Active alerts (" + std::to_string(alerts.size()) + ")</h2>";
  body += FirstAlerts(alerts, kOverviewAlerts);
  body += "<h2>Streams (" + std::to_string(total) + ")</h2><p>Sorted by " +
          std::string(SortKeyName(q.sort)) + (q.descending ? ", highest first" : ", ascending") +
          "; score = newest window's error / threshold in effect. Sort by " + ListLink({.sort = SortKey::kScore,
          .descending = true, .model = q.model, .labels = q.labels, .firing_only = q.firing_only, .page = 1,
          .per_page = q.per_page}, 1, "score") + ", " + ListLink({.sort = SortKey::kStream, .descending = false,
          .model = q.model, .labels = q.labels, .firing_only = q.firing_only, .page = 1, .per_page = q.per_page},
          1, "stream") + ".</p>";
  body += "<table id=\"streams\"><tr><th>#</th><th>stream</th><th>model</th><th class=\"num\">score</th>"
          "<th class=\"num\">error</th><th class=\"num\">threshold</th><th>last " +
          std::to_string(kSparkWindows) + " windows</th><th>alert</th></tr>";
  int64_t rank = (q.page - 1) * q.per_page;
  for (const StreamRow& row : rows) {
    const HistoryPoint& p = row.latest.point;
    std::string chart;
    if (row.history) {
      chart = ErrorChartSvg(row.history->LastPoints(kSparkWindows), {}, "errors of " + row.key);
    }
    body += std::string("<tr class=\"") + (row.latest.firing ? "firing" : "") + "\"><td class=\"num\">" +
            std::to_string(++rank) + "</td><td>" + StreamLink(row.model, row.key) + "</td><td>" +
            HtmlEscape(row.model) + "</td><td class=\"num" + (p.above ? " above" : "") + "\">" +
            ShortNumber(row.score) + "</td><td class=\"num\">" + ShortNumber(p.error) +
            "</td><td class=\"num\">" + ShortNumber(p.threshold) + "</td><td>" + chart + "</td><td>" +
            (row.latest.firing ? "FIRING" : "") + "</td></tr>";
  }
  body += "</table><p>";
  if (q.page > 1) body += ListLink(q, q.page - 1, "&larr; previous") + " ";
  body += "page " + std::to_string(q.page);
  if (static_cast<uint64_t>(q.page) * static_cast<uint64_t>(q.per_page) < total) {
    body += " " + ListLink(q, q.page + 1, "next &rarr;");
  }
  body += "</p>";
  return Html(Page("Streams", sources_.refresh_s, body));
}

ConsoleReply Console::StreamPage(const ConsoleRequest& request) const {
  const std::string key = request.params.get("id").value_or("");
  const std::string model = request.params.get("model").value_or("");
  const auto history = key.empty() ? nullptr : FindStream(model, key);
  if (!history) {
    return Html(Page("No such stream", 0, "<p>No stream " + HtmlEscape(key) +
                                              (model.empty() ? "" : " of model " + HtmlEscape(model)) +
                                              " is scored here.</p>"),
                404);
  }
  const HistoryCopy copy = history->Copy();
  const ModelRuntime* runtime = FindModel(copy.model);
  const std::vector<std::string> names = runtime ? runtime->model.feature_names : std::vector<std::string>{};
  const HistoryPoint last = copy.points.empty() ? HistoryPoint{} : copy.points.back();
  std::string body = "<p>Model " + HtmlEscape(copy.model) + (copy.firing ? ", <b class=\"above\">alert firing</b>" : "") +
                     ". Score " + ShortNumber(AnomalyScore(last)) + " (error " + ShortNumber(last.error) +
                     ", threshold " + ShortNumber(last.threshold) + ") at " + HtmlEscape(TimeText(last.end_ns)) +
                     "; " + std::to_string(copy.points.size()) + " of " + std::to_string(copy.windows) +
                     " windows kept. <a href=\"" + "/api/v1/streams/" + PercentEncode(copy.key) + "?model=" +
                     PercentEncode(copy.model) + "\">JSON</a></p>";
  const auto shares = FeatureShares(copy, names);
  body += "<h2>Error shares (newest window)</h2>";
  if (!shares.empty()) {
    body += "<p id=\"blame\">Largest share: <b>" + HtmlEscape(shares.front().first) + "</b></p>";
  }
  body += "<table id=\"shares\"><tr><th>feature</th><th class=\"num\">share</th></tr>";
  for (const auto& [name, share] : shares) {
    body += "<tr><td>" + HtmlEscape(name) + "</td><td class=\"num\">" + ShortNumber(100 * share) + "%</td></tr>";
  }
  body += "</table><h2>Error against threshold</h2>" +
          ErrorChartSvg(copy.points, {.width = 720, .height = 140}, "errors of " + copy.key);
  body += "<h2>Observed (solid) and reconstructed (dashed), newest sample of each window</h2><table>";
  for (int f = 0; f < copy.features; ++f) {
    const auto i = static_cast<size_t>(f);
    const std::string name = i < names.size() ? names[i] : "feature " + std::to_string(f);
    body += "<tr><th>" + HtmlEscape(name) + "</th><td>" +
            FeatureChartSvg(copy.observed, copy.reconstructed, i, static_cast<size_t>(copy.features),
                            {.width = 600, .height = 70}, name) +
            "</td></tr>";
  }
  body += "</table><h2>Alert history (last " + std::to_string(StreamHistory::kMaxAlerts) + ")</h2>";
  std::vector<AlertEvent> alerts(copy.alerts.rbegin(), copy.alerts.rend());
  body += alerts.empty() ? "<p>None.</p>" : AlertTable(alerts, false);
  body += "<h2>Model</h2><table>";
  if (runtime != nullptr) {
    std::string features;
    for (size_t i = 0; i < names.size(); ++i) features += (i ? ", " : "") + names[i];
    Fact(&body, "features", features);
    Fact(&body, "lookback", std::to_string(runtime->lookback()));
    Fact(&body, "threshold mode", ThresholdModeText(*runtime));
    Fact(&body, "threshold (model)", ShortNumber(runtime->threshold));
    Fact(&body, "alert", "fires after " + std::to_string(runtime->settings.alert.fire_after) +
                             " windows above, resolves after " + std::to_string(runtime->settings.alert.clear_after) +
                             " below");
  }
  body += "</table>";
  return Html(Page("Stream " + copy.key, sources_.refresh_s, body));
}

ConsoleReply Console::AlertsPage() const {
  const std::vector<AlertEvent> alerts = ActiveAlerts(Rows());
  std::string body = "<p>" + std::to_string(alerts.size()) + " firing, newest first.</p>";
  if (!alerts.empty()) body += FirstAlerts(alerts, static_cast<size_t>(kMaxPerPage));
  return Html(Page("Active alerts", sources_.refresh_s, body));
}

ConsoleReply Console::ConfigPage() const {
  std::string body = "<h2>Models</h2><table><tr><th>name</th><th>measurement</th><th>features</th>"
                     "<th>lookback</th><th>threshold mode</th><th class=\"num\">threshold</th><th>alert</th></tr>";
  if (sources_.models) {
    if (const auto models = sources_.models()) {
      for (const auto& m : models->models) {
        std::string features;
        for (size_t i = 0; i < m->model.feature_names.size(); ++i) {
          features += (i ? ", " : "") + m->model.feature_names[i];
        }
        body += "<tr><td>" + HtmlEscape(m->name()) + "</td><td>" + HtmlEscape(m->settings.measurement) +
                "</td><td>" + HtmlEscape(features) + "</td><td class=\"num\">" + std::to_string(m->lookback()) +
                "</td><td>" + HtmlEscape(ThresholdModeText(*m)) + "</td><td class=\"num\">" +
                ShortNumber(m->threshold) + "</td><td>for " + std::to_string(m->settings.alert.fire_after) +
                ", clear " + std::to_string(m->settings.alert.clear_after) + "</td></tr>";
      }
    }
  }
  body += "</table><h2>Configuration</h2><table>";
  if (sources_.settings) {
    const config::Settings& s = sources_.settings();
    Fact(&body, "file", s.source);
    Fact(&body, "ingest.listen", s.ingest.listen.host + ":" + std::to_string(s.ingest.listen.port));
    Fact(&body, "ingest.tls", s.ingest.tls.cert.empty() ? "off" : "on (cert " + s.ingest.tls.cert + ")");
    Fact(&body, "metrics.listen", s.metrics.listen.host + ":" + std::to_string(s.metrics.listen.port));
    Fact(&body, "metrics.tls", s.metrics.tls.cert.empty() ? "off" : "on (cert " + s.metrics.tls.cert + ")");
    // The users' names only: never their password hashes.
    Fact(&body, "metrics.basic_auth_users", std::to_string(s.metrics.basic_auth_users.size()) + " user(s)");
    Fact(&body, "limits.max_streams", std::to_string(s.limits.max_streams));
    Fact(&body, "scoring.workers", std::to_string(s.scoring.workers));
    Fact(&body, "scoring.max_batch", std::to_string(s.scoring.max_batch));
    Fact(&body, "state.path", s.state.path.empty() ? "off" : s.state.path);
    Fact(&body, "events.path", s.events.path.empty() ? "off" : s.events.path);
    std::string urls;
    for (const auto& url : s.alertmanager.urls) urls += (urls.empty() ? "" : ", ") + WithoutUserInfo(url);
    Fact(&body, "alertmanager.urls", urls.empty() ? "off" : urls);
    Fact(&body, "cluster (nats)", s.nats ? "on: this console shows the streams of the partitions this instance owns"
                                         : "off");
    Fact(&body, "console.history", std::to_string(s.console.history) + " windows per stream");
  }
  body += "</table>";
  return Html(Page("Models and configuration", sources_.refresh_s, body));
}

}  // namespace lstmad::daemon
