// Console: the web console and its JSON API (docs/console.md), served on
// the metrics listener. It answers plain requests (a path, its query
// parameters) with plain replies; daemon/app turns them into HTTP routes, so
// this subsystem knows nothing of sockets.
//
//   /console                  overview: active alerts, then streams by anomaly score (paged)
//   /console/stream?model=M&id=K   one stream: charts, error shares, alert history, model facts
//   /console/alerts           active alerts
//   /console/config           models and configuration facts (no secrets)
//   /api/v1/streams           the overview's list as JSON
//   /api/v1/streams/{id}      one stream as JSON (id percent-encoded)
//   /api/v1/alerts            active alerts as JSON (paged)
//
// What it shows is what this instance scores (in cluster mode, the streams
// of the partitions it owns). It reads the streams' histories
// (scoring/stream_history.h) and, through `models` and `settings`, what the
// daemon currently runs.
//
// Threads: Handle runs on the caller's thread; `models` and `settings` are
// called there (the daemon's io thread, which owns both); histories are
// safe from any thread. Const after construction.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "console/console_query.h"
#include "lstmad/config/settings.h"
#include "scoring/model_runtime.h"
#include "scoring/stream_history.h"

namespace lstmad::daemon {

struct ConsoleRequest {
  std::string_view path;  // as sent, not percent-decoded
  QueryParams params;     // decoded values
  // Percent-decodes one path segment; nullopt when malformed.
  std::function<std::optional<std::string>(std::string_view)> decode;
};

struct ConsoleReply {
  int status = 200;
  std::string content_type = "text/html; charset=utf-8";
  std::string body;
  std::string location;  // a redirect's target (status 302); empty otherwise
};

struct ConsoleSources {
  const HistoryRegistry* histories = nullptr;
  std::function<std::shared_ptr<const ModelSet>()> models;
  std::function<const config::Settings&()> settings;
  int refresh_s = 5;  // the pages' <meta http-equiv="refresh">
};

class Console {
 public:
  explicit Console(ConsoleSources sources) : sources_(std::move(sources)) {}

  // The paths to route here: exact ones, and prefixes ending in '/'.
  static std::vector<std::string> Paths();
  ConsoleReply Handle(const ConsoleRequest& request) const;

 private:
  std::vector<StreamRow> Rows() const;
  const ModelRuntime* FindModel(std::string_view name) const;
  // The stream `key` (of `model`, when not empty), or null.
  std::shared_ptr<const StreamHistory> FindStream(std::string_view model, std::string_view key) const;

  ConsoleReply Overview(const ConsoleRequest& request) const;
  ConsoleReply StreamPage(const ConsoleRequest& request) const;
  ConsoleReply AlertsPage() const;
  ConsoleReply ConfigPage() const;
  ConsoleReply StreamsJson(const ConsoleRequest& request) const;
  ConsoleReply StreamJson(const ConsoleRequest& request) const;
  ConsoleReply AlertsJson(const ConsoleRequest& request) const;

  ConsoleSources sources_;
};

}  // namespace lstmad::daemon
