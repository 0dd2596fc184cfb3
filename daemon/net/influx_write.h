// InfluxWrite: the InfluxDB write API as routes of an HttpServer of its own
// (ingest.http): POST /write (1.x) and POST /api/v2/write take line protocol,
// gzip too (the server decodes it), and hand each line to the same LineSink
// as the TCP listener, so routing to models, per-line validation and the
// reject counters are the same. Answers as InfluxDB does: 204 written; 400
// with a JSON error naming the first bad line (the good lines are kept);
// 401 without a configured token; 503 with Retry-After while lines of an
// earlier request wait for room in the scoring queues (at most one request's
// lines are held, never an unbounded queue); GET /ping (204) and /health.
// Runs on the io thread, like the server; the sink's on_room comes from
// another thread and is posted back.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "ingest/line_sink.h"
#include "lstmad/config/settings.h"
#include "net/asio.h"
#include "net/http_route.h"
#include "net/write_body.h"
#include "obs/metrics.h"

namespace lstmad::daemon {

class HttpServer;

class InfluxWrite {
 public:
  // `sink` and `metrics` outlive this object.
  InfluxWrite(asio::io_context& io, LineSink* sink, Metrics* metrics, const config::IngestSettings& ingest,
              size_t max_line_bytes);
  ~InfluxWrite();

  // /write, /api/v2/write, /ping and /health, bodies up to ingest.http.max_body_bytes.
  void AddRoutes(HttpServer* server);
  // Writes now, or (lines held) answers 503: the synchronous form.
  HttpReply Write(const HttpRequest& request, WriteApi api);
  // Writes now, or once the held lines are in (the routes' form).
  void WriteWhenRoom(HttpRequest request, WriteApi api, std::shared_ptr<HttpResponder> responder);
  // Shutdown: lines still held go in now, waiting for room as the sink allows;
  // requests still waiting get 503.
  void Finish();

  // Requests that may wait for the held lines; the rest get 503 at once.
  static constexpr size_t kMaxWaiting = 4;

 private:
  struct Held;
  struct Waiting {
    HttpRequest request;
    WriteApi api;
    std::shared_ptr<HttpResponder> responder;
  };
  bool Authorized(const HttpRequest& request, WriteApi api) const;
  // Feeds held_'s lines from its cursor until done or the sink stalls again.
  void FeedHeld();
  void Resume();

  asio::io_context& io_;
  LineSink* sink_;
  Metrics* metrics_;
  int64_t ingest_ns_;  // ns per unit of ingest.precision
  size_t max_line_bytes_;
  size_t max_body_;
  std::vector<std::string> tokens_;
  ParsedLine parsed_;
  LineSink::Stalled stalled_;   // what the sink had no room for, while held_
  std::unique_ptr<Held> held_;  // non-null: lines waiting for room
  std::deque<Waiting> waiting_;  // requests waiting for held_ to go in, in arrival order
  // What on_room posts to: reset when this object goes, so a late on_room does nothing.
  std::shared_ptr<InfluxWrite*> self_ = std::make_shared<InfluxWrite*>(this);
};

}  // namespace lstmad::daemon
