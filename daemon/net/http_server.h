// HttpServer: the daemon's small HTTP endpoint beside the ingest port —
// GET /metrics (Prometheus text exposition), /healthz (liveness: the event
// loop answers) and /readyz (readiness: 200 once serving, 503 while starting
// or stopping). HTTP/1.1 with one request per connection; request heads are
// bounded (8 KiB) and each connection has a 10 s deadline (TLS handshake
// included). With metrics.tls set it speaks HTTPS only, optionally requiring
// client certificates; basic auth applies on top. Runs on the io_context's
// thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lstmad/config/settings.h"
#include "lstmad/core/status.h"
#include "net/asio.h"
#include "obs/metrics.h"

namespace lstmad::daemon {

// HTTP basic auth against bcrypt hashes (metrics.basic_auth_users). A
// bcrypt check costs ~0.25 s by design, so the last accepted Authorization
// value is remembered. Thread-compatible; used on the io thread.
class BasicAuth {
 public:
  explicit BasicAuth(std::vector<std::pair<std::string, std::string>> users) : users_(std::move(users)) {}
  bool enabled() const { return !users_.empty(); }
  // `header` is the Authorization header's value ("Basic ...").
  bool Check(std::string_view header);

 private:
  std::vector<std::pair<std::string, std::string>> users_;
  std::string last_accepted_;
};

class HttpServer {
 public:
  using ScrapeFn = std::function<std::string()>;
  // `metrics` (may be null) counts refused connections.
  HttpServer(asio::io_context& io, ScrapeFn scrape, Metrics* metrics = nullptr);
  ~HttpServer();

  core::Status Listen(const config::Endpoint& endpoint);
  uint16_t port() const;
  void set_ready(bool ready) { ready_ = ready; }
  void set_basic_auth(std::vector<std::pair<std::string, std::string>> users) {
    auth_ = std::make_shared<BasicAuth>(std::move(users));
  }
  // metrics.tls: certificates are (re-)read here and apply to connections
  // accepted from now on; disabled settings mean plain HTTP. Fails, keeping
  // the old context, when the certificates cannot be loaded.
  core::Status set_tls(const config::TlsSettings& tls);
  void Stop();

 private:
  class Connection;
  void Accept();

  asio::io_context& io_;
  asio::ip::tcp::acceptor acceptor_;
  ScrapeFn scrape_;
  Metrics* metrics_;
  std::shared_ptr<asio::ssl::context> tls_;  // null: plain HTTP
  std::atomic<bool> ready_{false};
  // Shared with the connections: a connection still waiting when the server
  // is destroyed is destroyed later, with the io_context, and counts itself
  // out here rather than in the server.
  std::shared_ptr<std::atomic<int>> open_connections_ = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<BasicAuth> auth_ = std::make_shared<BasicAuth>(std::vector<std::pair<std::string, std::string>>{});
};

// The response to a request head ("GET /metrics HTTP/1.1\r\nHeader: v..."),
// headers included. `auth` may be null (no authentication).
std::string HttpResponse(std::string_view request_head, bool ready, const HttpServer::ScrapeFn& scrape,
                         BasicAuth* auth = nullptr);
std::string Base64Decode(std::string_view text);

}  // namespace lstmad::daemon
