// HttpServer: the daemon's small HTTP endpoint beside the ingest port —
// GET /metrics (Prometheus text exposition), /healthz (liveness: the event
// loop answers) and /readyz (readiness: 200 once serving, 503 while starting
// or stopping), plus the routes others add (http_route.h). HTTP/1.0 and
// HTTP/1.1 on Boost.Beast's parser: request heads are bounded (8 KiB);
// bodies, with a Content-Length or chunked, are read incrementally up to
// their route's max_body (413 beyond; with `Expect: 100-continue` the client
// hears 100 only once the head is admitted and its credentials checked);
// `Content-Encoding: gzip` bodies are decoded (zlib, bounded by max_body too).
// One request per connection unless set_keep_alive allows more. A request
// has 10 s from the connection's start (TLS handshake included) or from its
// head to its answer; between requests the idle timeout bounds the wait for
// the next head. At most 64 connections are open, and at most
// metrics.max_connections_per_peer from one client address, so one peer
// cannot lock the probes out. With metrics.tls set it speaks HTTPS only,
// optionally requiring client certificates; basic auth applies on top, its
// password checks on an AuthPool so that they never stall the io thread.
// Runs on the io_context's thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lstmad/config/settings.h"
#include "lstmad/core/status.h"
#include "net/asio.h"
#include "net/auth_pool.h"
#include "net/http_route.h"
#include "net/peer_limits.h"
#include "obs/logging.h"
#include "obs/metrics.h"

namespace lstmad::daemon {

// HTTP basic auth against bcrypt hashes (metrics.basic_auth_users). A
// bcrypt check costs ~0.25 s by design, so the last accepted Authorization
// value of each user is remembered and accepted without one. A name that is
// no user's still costs one bcrypt check (against a configured user's hash,
// then refused whatever its result), so that the time of a refusal does not
// tell which names exist. Prepare and Remember are thread-compatible (the io
// thread); Verify is thread-safe (the AuthPool's threads).
class BasicAuth {
 public:
  explicit BasicAuth(std::vector<std::pair<std::string, std::string>> users);
  bool enabled() const { return !users_.empty(); }

  // One password check to run.
  struct PendingCheck {
    std::string header;    // the Authorization value, remembered when accepted
    std::string password;  // as decoded
    std::string hash;      // the user's bcrypt hash, or a configured user's for an unknown name
    int user = -1;         // index into the users; -1: unknown name, refused whatever the check says
  };
  enum class Verdict { kAccepted, kRejected, kVerify };
  // `header` is the Authorization header's value ("Basic ..."). kAccepted:
  // remembered; kRejected: malformed (not Basic, not canonical base64, no
  // colon, a control character); kVerify: fills `check`, to run with Verify.
  Verdict Prepare(std::string_view header, PendingCheck* check) const;
  static bool Verify(const PendingCheck& check);
  void Remember(const PendingCheck& check);
  // Prepare, Verify and Remember at once, on the calling thread.
  bool Check(std::string_view header);

 private:
  std::vector<std::pair<std::string, std::string>> users_;
  std::vector<std::string> last_accepted_;  // per user
};

class HttpServer {
 public:
  using ScrapeFn = std::function<std::string()>;
  // `metrics` (may be null) counts refused connections.
  HttpServer(asio::io_context& io, ScrapeFn scrape, Metrics* metrics = nullptr);
  ~HttpServer();

  // Adds a route (http_route.h), replacing one of the same path. Call before
  // Listen: connections read the table without a lock.
  void AddRoute(HttpRoute route);
  // As AddRoute, but requests are answered through `deferred` (http_route.h),
  // now or later; `route.handler` is not called.
  void AddDeferredRoute(HttpRoute route, HttpDeferredHandler deferred);
  core::Status Listen(const config::Endpoint& endpoint);
  uint16_t port() const;
  void set_ready(bool ready) { ready_ = ready; }
  void set_basic_auth(std::vector<std::pair<std::string, std::string>> users) {
    auth_ = std::make_shared<BasicAuth>(std::move(users));
  }
  // Basic-auth users, the per-peer connection cap and the auth-failure limit
  // of `metrics`; apply to connections accepted from now on (the failures
  // counted so far are kept). Not the listen address nor TLS.
  void Configure(const config::MetricsSettings& metrics);
  // metrics.tls: certificates are (re-)read here and apply to connections
  // accepted from now on; disabled settings mean plain HTTP. Fails, keeping
  // the old context, when the certificates cannot be loaded.
  core::Status set_tls(const config::TlsSettings& tls);
  // Keep-alive: at most `max_requests` requests on one connection (1: close
  // after each answer, the default), and at most `idle_timeout` for the next
  // request's head to arrive. Applies to connections accepted from now on.
  void set_keep_alive(int max_requests, std::chrono::milliseconds idle_timeout);
  // How logs name this listener ("metrics endpoint") and the settings key its
  // errors name ("metrics": "metrics.listen", "metrics.tls"), for a second
  // listener such as ingest.http.
  void set_identity(std::string log_name, std::string config_key);
  // The per-peer connection cap and the failed-login budget, as Configure
  // takes them from metrics settings.
  void set_limits(int max_connections_per_peer, int max_auth_failures_per_minute);
  void Stop();

 private:
  class Connection;
  void Accept();
  void Refuse(asio::ip::tcp::socket* socket, const std::string& why, const asio::ip::address& peer);

  asio::io_context& io_;
  asio::ip::tcp::acceptor acceptor_;
  Metrics* metrics_;
  std::shared_ptr<asio::ssl::context> tls_;  // null: plain HTTP
  std::atomic<bool> ready_{false};
  std::vector<HttpRoute> routes_;
  std::vector<std::pair<std::string, HttpDeferredHandler>> deferred_;  // by route path
  int max_connections_per_peer_ = config::MetricsSettings{}.max_connections_per_peer;
  FailureWindow auth_failures_{config::MetricsSettings{}.max_auth_failures_per_minute};
  int keep_alive_requests_ = 1;
  std::chrono::milliseconds idle_timeout_{5000};
  std::string log_name_ = "metrics endpoint";
  std::string config_key_ = "metrics";
  RateLimiter refuse_log_limiter_{1};
  RateLimiter handshake_log_limiter_{1};
  RateLimiter auth_log_limiter_{1};
  // Shared with the connections: a connection still waiting when the server
  // is destroyed is destroyed later, with the io_context, and counts itself
  // out here rather than in the server.
  std::shared_ptr<std::atomic<int>> open_connections_ = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<PeerCounts> peers_ = std::make_shared<PeerCounts>();
  std::shared_ptr<BasicAuth> auth_ = std::make_shared<BasicAuth>(std::vector<std::pair<std::string, std::string>>{});
  // Last: destroyed first, joining its threads while the rest still exists.
  AuthPool auth_pool_;
};

// The response to a request head ("GET /metrics HTTP/1.1\r\nHeader: v..."),
// headers included, with the password checked on the calling thread. `auth`
// may be null (no authentication).
std::string HttpResponse(std::string_view request_head, bool ready, const HttpServer::ScrapeFn& scrape,
                         BasicAuth* auth = nullptr);
// Standard base64 with its padding (RFC 4648 section 4), nothing before or
// after it, and zero padding bits: one string has one encoding. Nullopt for
// anything else.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace lstmad::daemon
