// HttpServer: the daemon's small HTTP endpoint beside the ingest port —
// GET /metrics (Prometheus text exposition), /healthz (liveness: the event
// loop answers) and /readyz (readiness: 200 once serving, 503 while starting
// or stopping). HTTP/1.1 with one request per connection; request heads are
// bounded (8 KiB) and each connection has a 10 s deadline. Runs on the
// io_context's thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "lstmad/config/settings.h"
#include "lstmad/core/status.h"
#include "lstmad/daemon/asio.h"

namespace lstmad::daemon {

class HttpServer {
 public:
  using ScrapeFn = std::function<std::string()>;
  HttpServer(asio::io_context& io, ScrapeFn scrape);
  ~HttpServer();

  core::Status Listen(const config::Endpoint& endpoint);
  uint16_t port() const;
  void set_ready(bool ready) { ready_ = ready; }
  void Stop();

 private:
  class Connection;
  void Accept();

  asio::io_context& io_;
  asio::ip::tcp::acceptor acceptor_;
  ScrapeFn scrape_;
  std::atomic<bool> ready_{false};
  std::atomic<int> open_connections_{0};
};

// The response to one request line ("GET /metrics HTTP/1.1"), headers included.
std::string HttpResponse(std::string_view request_line, bool ready, const HttpServer::ScrapeFn& scrape);

}  // namespace lstmad::daemon
