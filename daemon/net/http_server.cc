#include "net/http_server.h"
#include "net/listen.h"
#include "obs/logging.h"
#include "net/tls.h"

#include <crypt.h>
#include <prometheus/counter.h>
#include <strings.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

namespace lstmad::daemon {
namespace {

constexpr size_t kMaxRequestHead = 8192;
constexpr int kMaxOpenConnections = 64;
constexpr auto kDeadline = std::chrono::seconds(10);
// Password checks: two threads (a check is ~0.25 s of one core) and at most
// eight waiting, so a check waits at most ~1 s; guessers beyond get 503.
constexpr int kAuthThreads = 2;
constexpr size_t kAuthQueue = 8;

std::string Reply(int status, const char* reason, std::string_view content_type, std::string body,
                  bool head_only, std::string_view extra_headers = {}) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
  out += extra_headers;
  out += "Content-Type: " + std::string(content_type) + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  if (!head_only) out += body;
  return out;
}

std::string Serialize(const HttpReply& reply, bool head_only) {
  std::string extra;
  for (const auto& [name, value] : reply.headers) extra += name + ": " + value + "\r\n";
  return Reply(reply.status, HttpReason(reply.status), reply.content_type, reply.body, head_only, extra);
}

std::string UnauthorizedReply(bool head_only) {
  return Reply(401, "Unauthorized", "text/plain", "unauthorized\n", head_only,
               "WWW-Authenticate: Basic realm=\"lstmad\"\r\n");
}

std::string_view Trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// "HTTP/" DIGIT "." DIGIT (RFC 9112 section 2.3).
bool IsHttpVersion(std::string_view v) {
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  return v.size() == 8 && v.substr(0, 5) == "HTTP/" && digit(v[5]) && v[6] == '.' && digit(v[7]);
}

// A request head parsed, or the response that refuses it.
struct ParsedHead {
  HttpRequest request;
  bool head_only = false;      // HEAD: answered as GET without the body
  size_t content_length = 0;
  std::string refusal;         // non-empty: answer this and close
};

ParsedHead ParseHead(std::string_view head) {
  ParsedHead parsed;
  const auto refuse = [&](int status, std::string body) {
    parsed.refusal = Reply(status, HttpReason(status), "text/plain", std::move(body), false);
    return std::move(parsed);
  };
  std::string_view request_line = head.substr(0, head.find('\n'));
  if (!request_line.empty() && request_line.back() == '\r') request_line.remove_suffix(1);
  const size_t sp1 = request_line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : request_line.find(' ', sp1 + 1);
  const std::string_view version = sp2 == std::string_view::npos ? "" : request_line.substr(sp2 + 1);
  // One space between the three parts, and a version that is one.
  if (sp2 == std::string_view::npos || sp1 == 0 || sp2 == sp1 + 1 || !IsHttpVersion(version)) {
    return refuse(400, "bad request\n");
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return refuse(505, "HTTP/1.0 and HTTP/1.1 only\n");
  const std::string_view method = request_line.substr(0, sp1);
  const std::string_view target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  parsed.head_only = method == "HEAD";
  parsed.request.method = parsed.head_only ? "GET" : std::string(method);
  const size_t question = target.find('?');
  parsed.request.path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) parsed.request.query = std::string(target.substr(question + 1));

  size_t pos = head.find('\n');
  while (pos != std::string_view::npos && pos + 1 < head.size()) {
    std::string_view line = head.substr(pos + 1);
    const size_t end = line.find('\n');
    line = line.substr(0, end);
    pos = end == std::string_view::npos ? end : pos + 1 + end;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of the head
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return refuse(400, "bad request: malformed header\n");
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    parsed.request.headers.emplace_back(std::move(name), std::string(Trim(line.substr(colon + 1))));
  }
  if (parsed.request.Header("transfer-encoding")) {
    return refuse(411, "send the body with a Content-Length\n");
  }
  if (const auto length = parsed.request.Header("content-length")) {
    size_t n = 0;
    const auto [end, ec] = std::from_chars(length->data(), length->data() + length->size(), n);
    if (ec != std::errc() || end != length->data() + length->size() || length->empty()) {
      return refuse(400, "bad request: Content-Length\n");
    }
    parsed.content_length = n;
  }
  return parsed;
}

// The route for `path`: an exact one, else the longest prefix route.
const HttpRoute* FindRoute(const std::vector<HttpRoute>& routes, std::string_view path) {
  const HttpRoute* best = nullptr;
  for (const HttpRoute& route : routes) {
    if (route.path == path) return &route;
    if (!route.path.empty() && route.path.back() == '/' && path.substr(0, route.path.size()) == route.path &&
        (best == nullptr || route.path.size() > best->path.size())) {
      best = &route;
    }
  }
  return best;
}

// What a parsed head leads to before any body or credentials: a refusal, or
// the route to call.
const HttpRoute* Admit(const std::vector<HttpRoute>& routes, ParsedHead* parsed) {
  const HttpRoute* route = FindRoute(routes, parsed->request.path);
  if (route == nullptr) {
    std::string paths;
    for (const HttpRoute& r : routes) paths += (paths.empty() ? "" : ", ") + r.path;
    parsed->refusal = Reply(404, "Not Found", "text/plain", "not found: try " + paths + "\n", parsed->head_only);
    return nullptr;
  }
  if (std::find(route->methods.begin(), route->methods.end(), parsed->request.method) == route->methods.end()) {
    std::string allow;
    for (const std::string& m : route->methods) allow += (allow.empty() ? "" : ", ") + m + (m == "GET" ? ", HEAD" : "");
    parsed->refusal = Reply(405, "Method Not Allowed", "text/plain", "allowed: " + allow + "\n", false,
                            "Allow: " + allow + "\r\n");
    return nullptr;
  }
  if (parsed->content_length > route->max_body) {
    parsed->refusal = Reply(413, HttpReason(413), "text/plain",
                            route->max_body == 0 ? "no body expected\n"
                                                 : "body over " + std::to_string(route->max_body) + " bytes\n",
                            false);
    return nullptr;
  }
  return route;
}

std::vector<HttpRoute> DefaultRoutes(const HttpServer::ScrapeFn& scrape, std::function<bool()> ready) {
  std::vector<HttpRoute> routes;
  routes.push_back({"/metrics", {"GET"}, true, 0, [scrape](const HttpRequest&) {
                      return HttpReply{200, "text/plain; version=0.0.4; charset=utf-8", scrape(), {}};
                    }});
  routes.push_back({"/healthz", {"GET"}, false, 0, [](const HttpRequest&) { return HttpReply{200, "text/plain", "ok\n", {}}; }});
  routes.push_back({"/readyz", {"GET"}, false, 0, [ready = std::move(ready)](const HttpRequest&) {
                      return ready() ? HttpReply{200, "text/plain", "ready\n", {}}
                                     : HttpReply{503, "text/plain", "not ready\n", {}};
                    }});
  return routes;
}

}  // namespace

std::optional<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
  const std::string_view data = text.substr(0, text.size() - padding);
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (const char c : data) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else
      return std::nullopt;  // also a third '=' or one inside
    buffer = ((buffer << 6) | static_cast<uint32_t>(v)) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  // What is left over must be zero: "YQ==" is "a", "YR==" is refused.
  if ((buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

BasicAuth::BasicAuth(std::vector<std::pair<std::string, std::string>> users)
    : users_(std::move(users)), last_accepted_(users_.size()) {}

BasicAuth::Verdict BasicAuth::Prepare(std::string_view header, PendingCheck* check) const {
  if (header.size() < 6 || strncasecmp(header.data(), "Basic ", 6) != 0) return Verdict::kRejected;
  for (const std::string& accepted : last_accepted_) {
    if (!accepted.empty() && header == accepted) return Verdict::kAccepted;
  }
  const std::optional<std::string> decoded = Base64Decode(header.substr(6));
  if (!decoded) return Verdict::kRejected;
  // RFC 7617: neither part holds a control character. A NUL would end the
  // password for crypt(), which would then accept "right\0anything".
  if (std::any_of(decoded->begin(), decoded->end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
    return Verdict::kRejected;
  }
  const size_t colon = decoded->find(':');
  if (colon == std::string::npos) return Verdict::kRejected;
  const std::string_view user = std::string_view(*decoded).substr(0, colon);
  check->header = std::string(header);
  check->password = decoded->substr(colon + 1);
  check->user = -1;
  check->hash = users_.front().second;
  for (size_t i = 0; i < users_.size(); ++i) {
    if (users_[i].first == user) {
      check->user = static_cast<int>(i);
      check->hash = users_[i].second;
      break;
    }
  }
  return Verdict::kVerify;
}

bool BasicAuth::Verify(const PendingCheck& check) {
  crypt_data data{};
  const char* result = crypt_r(check.password.c_str(), check.hash.c_str(), &data);
  const bool match = result != nullptr && check.hash == result;
  return match && check.user >= 0;
}

void BasicAuth::Remember(const PendingCheck& check) {
  if (check.user >= 0 && static_cast<size_t>(check.user) < last_accepted_.size()) {
    last_accepted_[static_cast<size_t>(check.user)] = check.header;
  }
}

bool BasicAuth::Check(std::string_view header) {
  PendingCheck check;
  switch (Prepare(header, &check)) {
    case Verdict::kAccepted: return true;
    case Verdict::kRejected: return false;
    case Verdict::kVerify: break;
  }
  if (!Verify(check)) return false;
  Remember(check);
  return true;
}

std::string HttpResponse(std::string_view request_head, bool ready,
                         const HttpServer::ScrapeFn& scrape, BasicAuth* auth) {
  const std::vector<HttpRoute> routes = DefaultRoutes(scrape, [ready] { return ready; });
  ParsedHead parsed = ParseHead(request_head);
  if (!parsed.refusal.empty()) return parsed.refusal;
  const HttpRoute* route = Admit(routes, &parsed);
  if (route == nullptr) return parsed.refusal;
  if (route->authenticated && auth != nullptr && auth->enabled() &&
      !auth->Check(parsed.request.Header("authorization").value_or(""))) {
    return UnauthorizedReply(parsed.head_only);
  }
  return Serialize(route->handler(parsed.request), parsed.head_only);
}

class HttpServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(HttpServer* server, asio::ip::tcp::socket socket, asio::ip::address peer)
      : server_(server),
        socket_(std::move(socket)),
        timer_(server->io_),
        auth_(server->auth_),
        tls_context_(server->tls_),
        open_connections_(server->open_connections_),
        peers_(server->peers_),
        peer_(std::move(peer)) {}
  // May run after the server is gone (pending handlers are destroyed with the
  // io_context), so it touches only what the connection shares.
  ~Connection() {
    --*open_connections_;
    peers_->Remove(peer_);
  }

  void Start() {
    timer_.expires_after(kDeadline);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->Close();
    });
    if (!tls_context_) return Read();
    tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(socket_, *tls_context_);
    tls_->async_handshake(asio::ssl::stream_base::server, [self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) return self->Read();
      self->HandshakeFailed(ec);
    });
  }

 private:
  // Plain HTTP, no certificate, an untrusted one, or the deadline passed.
  void HandshakeFailed(boost::system::error_code ec) {
    if (server_->metrics_ != nullptr) {
      server_->metrics_->MetricsConnectionClosed(Metrics::MetricsCloseReason::kTlsHandshake).Increment();
    }
    static RateLimiter limiter(1);
    uint64_t suppressed = 0;
    if (limiter.Allow(&suppressed)) {
      boost::system::error_code peer_ec;
      const auto remote = socket_.remote_endpoint(peer_ec);
      Log(LogLevel::kWarn, "metrics endpoint: TLS handshake failed; closing",
          {Field("peer", peer_ec ? std::string("unknown") : remote.address().to_string()),
           Field("error", ec.message()), Field("suppressed_since_last", suppressed)});
    }
    Close();
  }

  void Read() {
    auto handler = [self = shared_from_this()](boost::system::error_code ec, size_t n) { self->OnRead(ec, n); };
    if (tls_) {
      tls_->async_read_some(asio::buffer(chunk_), std::move(handler));
    } else {
      socket_.async_read_some(asio::buffer(chunk_), std::move(handler));
    }
  }

  void OnRead(boost::system::error_code ec, size_t n) {
    if (ec) return Close();
    if (route_ != nullptr) return OnBody(n);
    head_.append(chunk_.data(), n);
    size_t head_end = head_.find("\r\n\r\n");
    size_t separator = 4;
    if (const size_t lf = head_.find("\n\n"); lf != std::string::npos && (head_end == std::string::npos || lf < head_end)) {
      head_end = lf;
      separator = 2;
    }
    if (head_end == std::string::npos) {
      if (head_.size() > kMaxRequestHead) return Respond(Reply(431, "Request Header Fields Too Large", "text/plain", "too large\n", false));
      return Read();
    }
    ParsedHead parsed = ParseHead(std::string_view(head_).substr(0, head_end + separator));
    if (!parsed.refusal.empty()) return Respond(std::move(parsed.refusal));
    const HttpRoute* route = Admit(server_->routes_, &parsed);
    if (route == nullptr) return Respond(std::move(parsed.refusal));
    route_ = route;
    head_only_ = parsed.head_only;
    content_length_ = parsed.content_length;
    request_ = std::move(parsed.request);
    request_.peer = peer_.to_string();
    request_.body = head_.substr(std::min(head_.size(), head_end + separator));
    head_.clear();
    if (request_.body.size() > content_length_) request_.body.resize(content_length_);  // no pipelining
    if (request_.body.size() < content_length_) return Read();
    Dispatch();
  }

  // More of a body whose length the head gave (and Admit bounded).
  void OnBody(size_t n) {
    request_.body.append(chunk_.data(), std::min(n, content_length_ - request_.body.size()));
    if (request_.body.size() < content_length_) return Read();
    Dispatch();
  }

  void Dispatch() {
    if (route_->authenticated && auth_->enabled()) {
      return Authorize(std::string(request_.Header("authorization").value_or("")));
    }
    Answer();
  }

  void Answer() { Respond(Serialize(route_->handler(request_), head_only_)); }

  // /metrics with basic auth: a peer over its failure budget gets 429 at
  // once; remembered credentials are answered at once; anything else is
  // checked on the AuthPool (503 when its queue is full), the io thread
  // going on meanwhile.
  void Authorize(const std::string& authorization) {
    FailureWindow::Clock::duration wait{};
    if (server_->auth_failures_.Blocked(peer_, FailureWindow::Clock::now(), &wait)) {
      const auto seconds = std::chrono::ceil<std::chrono::seconds>(wait).count();
      return Respond(Reply(429, "Too Many Requests", "text/plain", "too many failed logins\n", head_only_,
                           "Retry-After: " + std::to_string(std::max<long long>(1, seconds)) + "\r\n"));
    }
    BasicAuth::PendingCheck check;
    switch (auth_->Prepare(authorization, &check)) {
      case BasicAuth::Verdict::kAccepted: return Answer();
      case BasicAuth::Verdict::kRejected:
        // No header is how a browser asks which scheme to use: no failure.
        if (!authorization.empty()) AuthFailed("malformed credentials");
        return Respond(UnauthorizedReply(head_only_));
      case BasicAuth::Verdict::kVerify: break;
    }
    auto job = [self = shared_from_this(), check = std::move(check), io = &server_->io_]() mutable {
      const bool ok = BasicAuth::Verify(check);
      asio::post(*io, [self = std::move(self), check = std::move(check), ok] { self->Verified(check, ok); });
    };
    if (!server_->auth_pool_.TrySubmit(std::move(job))) {
      return Respond(Reply(503, "Service Unavailable", "text/plain", "busy checking passwords\n", head_only_,
                           "Retry-After: 1\r\n"));
    }
  }

  // Back on the io thread (the server still exists: it outlives io.run()).
  void Verified(const BasicAuth::PendingCheck& check, bool ok) {
    if (!socket_.is_open()) return;  // the deadline passed meanwhile
    if (ok) {
      auth_->Remember(check);
      return Answer();
    }
    AuthFailed("wrong user name or password");
    Respond(UnauthorizedReply(head_only_));
  }

  void AuthFailed(const char* why) {
    server_->auth_failures_.RecordFailure(peer_, FailureWindow::Clock::now());
    uint64_t suppressed = 0;
    if (server_->auth_log_limiter_.Allow(&suppressed)) {
      Log(LogLevel::kWarn, "metrics endpoint: basic auth failed",
          {Field("peer", peer_.to_string()), Field("reason", why),
           Field("suppressed_since_last", suppressed)});
    }
  }

  void Respond(std::string response) {
    response_ = std::move(response);
    if (!tls_) {
      asio::async_write(socket_, asio::buffer(response_),
                        [self = shared_from_this()](boost::system::error_code, size_t) { self->Close(); });
      return;
    }
    asio::async_write(*tls_, asio::buffer(response_), [self = shared_from_this()](boost::system::error_code ec, size_t) {
      if (ec) return self->Close();
      // close_notify, so the client can tell the response was complete; the
      // deadline bounds a client that never answers it.
      self->tls_->async_shutdown([self](boost::system::error_code) { self->Close(); });
    });
  }

  void Close() {
    boost::system::error_code ignored;
    timer_.cancel();
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  HttpServer* server_;
  asio::ip::tcp::socket socket_;
  asio::steady_timer timer_;
  std::array<char, 2048> chunk_;
  std::string head_, response_;
  HttpRequest request_;
  const HttpRoute* route_ = nullptr;  // the request's, once its head is read
  size_t content_length_ = 0;
  std::shared_ptr<BasicAuth> auth_;
  // Kept for the connection's lifetime: a reload may replace the server's.
  std::shared_ptr<asio::ssl::context> tls_context_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
  std::shared_ptr<std::atomic<int>> open_connections_;
  std::shared_ptr<PeerCounts> peers_;
  asio::ip::address peer_;
  bool head_only_ = false;
};

HttpServer::HttpServer(asio::io_context& io, ScrapeFn scrape, Metrics* metrics)
    : io_(io),
      acceptor_(io),
      metrics_(metrics),
      routes_(DefaultRoutes(std::move(scrape), [this] { return ready_.load(); })),
      auth_pool_(kAuthThreads, kAuthQueue) {}

void HttpServer::AddRoute(HttpRoute route) {
  // Replaces a route of the same path, so a caller can take over a default.
  for (HttpRoute& r : routes_) {
    if (r.path == route.path) {
      r = std::move(route);
      return;
    }
  }
  routes_.push_back(std::move(route));
}

void HttpServer::Configure(const config::MetricsSettings& metrics) {
  set_basic_auth(metrics.basic_auth_users);
  max_connections_per_peer_ = metrics.max_connections_per_peer;
  auth_failures_.set_limit(metrics.max_auth_failures_per_minute);
}

core::Status HttpServer::set_tls(const config::TlsSettings& tls) {
  if (!tls.enabled()) {
    tls_.reset();
    return core::Status::Ok();
  }
  auto made = MakeServerTlsContext(tls, "metrics.tls");
  if (!made.ok()) return made.status();
  tls_ = std::move(made).value();
  return core::Status::Ok();
}

HttpServer::~HttpServer() { Stop(); }

core::Status HttpServer::Listen(const config::Endpoint& endpoint) {
  LSTMAD_RETURN_IF_ERROR(ListenOn(io_, endpoint, "metrics.listen", &acceptor_));
  Accept();
  return core::Status::Ok();
}

uint16_t HttpServer::port() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec).port();
}

void HttpServer::Accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, asio::ip::tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      boost::system::error_code peer_ec;
      const asio::ip::address peer = socket.remote_endpoint(peer_ec).address();
      if (peer_ec) {
        boost::system::error_code ignored;
        socket.close(ignored);  // gone already
      } else if (*open_connections_ >= kMaxOpenConnections) {
        Refuse(&socket, "metrics endpoint: 64 connections open; closing a new one", peer);
      } else if (peers_->count(peer) >= max_connections_per_peer_) {
        // Decided per peer so that one address (a pod, a host) cannot take
        // the slots the probes and the scraper need.
        Refuse(&socket, "metrics endpoint: metrics.max_connections_per_peer reached; closing a new one",
               peer);
      } else {
        ++*open_connections_;
        peers_->Add(peer);
        std::make_shared<Connection>(this, std::move(socket), peer)->Start();
      }
    }
    Accept();
  });
}

void HttpServer::Refuse(asio::ip::tcp::socket* socket, const char* why, const asio::ip::address& peer) {
  if (metrics_ != nullptr) {
    metrics_->MetricsConnectionClosed(Metrics::MetricsCloseReason::kTooManyConnections).Increment();
  }
  uint64_t suppressed = 0;
  if (refuse_log_limiter_.Allow(&suppressed)) {
    Log(LogLevel::kWarn, why, {Field("peer", peer.to_string()), Field("suppressed_since_last", suppressed)});
  }
  boost::system::error_code ignored;
  socket->close(ignored);
}

void HttpServer::Stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

}  // namespace lstmad::daemon
