#include "net/http_server.h"

#include "net/beast.h"
#include "net/gzip.h"
#include "net/listen.h"
#include "net/tls.h"
#include "obs/logging.h"

#include <crypt.h>
#include <prometheus/counter.h>
#include <strings.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <limits>

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
                  bool head_only, std::string_view extra_headers = {}, bool keep_alive = false) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
  out += extra_headers;
  out += "Content-Type: " + std::string(content_type) + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: " +
         (keep_alive ? "keep-alive" : "close") + "\r\n\r\n";
  if (!head_only) out += body;
  return out;
}

std::string Serialize(const HttpReply& reply, bool head_only, bool keep_alive = false) {
  std::string extra;
  for (const auto& [name, value] : reply.headers) extra += name + ": " + value + "\r\n";
  return Reply(reply.status, HttpReason(reply.status), reply.content_type, reply.body, head_only, extra, keep_alive);
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

// The refusal of a request line ("GET /x HTTP/1.1", without its line end)
// that is not one of HTTP/1.0 or HTTP/1.1; empty when it is one. Checked
// before Beast parses the head, which would wait for more bytes after a short
// line like "GET / FOO" and calls HTTP/2.0 malformed rather than unsupported.
std::string RefuseRequestLine(std::string_view request_line) {
  const size_t sp1 = request_line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : request_line.find(' ', sp1 + 1);
  const std::string_view version = sp2 == std::string_view::npos ? "" : request_line.substr(sp2 + 1);
  // One space between the three parts, and a version that is one.
  if (sp2 == std::string_view::npos || sp1 == 0 || sp2 == sp1 + 1 || !IsHttpVersion(version)) {
    return Reply(400, HttpReason(400), "text/plain", "bad request\n", false);
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    return Reply(505, HttpReason(505), "text/plain", "HTTP/1.0 and HTTP/1.1 only\n", false);
  }
  return {};
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
  parsed.refusal = RefuseRequestLine(request_line);
  if (!parsed.refusal.empty()) return parsed;
  const size_t sp1 = request_line.find(' ');
  const size_t sp2 = request_line.find(' ', sp1 + 1);
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

// Beast's parse errors (a malformed request), as opposed to socket errors.
bool IsParseError(boost::system::error_code ec) {
  return ec.category() == boost::system::error_code(http::error::bad_target).category();
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
        peer_(std::move(peer)),
        requests_left_(server->keep_alive_requests_),
        idle_timeout_(server->idle_timeout_) {}
  // May run after the server is gone (pending handlers are destroyed with the
  // io_context), so it touches only what the connection shares.
  ~Connection() {
    --*open_connections_;
    peers_->Remove(peer_);
  }

  void Start() {
    ArmTimer(kDeadline);
    if (!tls_context_) return ReadHead();
    tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(socket_, *tls_context_);
    tls_->async_handshake(asio::ssl::stream_base::server, [self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) return self->ReadHead();
      self->HandshakeFailed(ec);
    });
  }

 private:
  // Runs `f` on the plain socket or on the TLS stream over it.
  template <typename F>
  void WithStream(F&& f) {
    if (tls_) {
      f(*tls_);
    } else {
      f(socket_);
    }
  }

  void ArmTimer(std::chrono::steady_clock::duration after) {
    timer_.expires_after(after);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->Close();
    });
  }

  // Plain HTTP, no certificate, an untrusted one, or the deadline passed.
  void HandshakeFailed(boost::system::error_code ec) {
    if (server_->metrics_ != nullptr) {
      server_->metrics_->MetricsConnectionClosed(Metrics::MetricsCloseReason::kTlsHandshake).Increment();
    }
    uint64_t suppressed = 0;
    if (server_->handshake_log_limiter_.Allow(&suppressed)) {
      Log(LogLevel::kWarn, server_->log_name_ + ": TLS handshake failed; closing",
          {Field("peer", peer_.to_string()), Field("error", ec.message()),
           Field("suppressed_since_last", suppressed)});
    }
    Close();
  }

  // The request line first (RefuseRequestLine), read into buffer_ where
  // Beast's parser then finds it.
  void ReadHead() {
    const std::string_view buffered(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    const size_t eol = buffered.find('\n');
    if (eol == std::string_view::npos) {
      if (buffered.size() > kMaxRequestHead) {
        return Respond(Reply(431, "Request Header Fields Too Large", "text/plain", "too large\n", false));
      }
      return WithStream([&](auto& stream) {
        stream.async_read_some(buffer_.prepare(2048), [self = shared_from_this()](boost::system::error_code ec, size_t n) {
          if (ec) return self->Close();
          self->buffer_.commit(n);
          self->ReadHead();
        });
      });
    }
    std::string_view line = buffered.substr(0, eol);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (std::string refusal = RefuseRequestLine(line); !refusal.empty()) return Respond(std::move(refusal));
    ParseHeadWithBeast();
  }

  void ParseHeadWithBeast() {
    parser_.emplace();
    parser_->header_limit(kMaxRequestHead);
    // The route's bound applies once the head names the route (OnHead).
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    WithStream([&](auto& stream) {
      http::async_read_header(stream, buffer_, *parser_,
                              [self = shared_from_this()](boost::system::error_code ec, size_t) {
                                self->OnHead(ec);
                              });
    });
  }

  void OnHead(boost::system::error_code ec) {
    if (ec == http::error::header_limit) {
      return Respond(Reply(431, "Request Header Fields Too Large", "text/plain", "too large\n", false));
    }
    if (ec == http::error::body_limit) return Respond(Reply(413, HttpReason(413), "text/plain", "body too large\n", false));
    // The peer closed, the deadline passed, or the bytes are not HTTP.
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted || !socket_.is_open()) return Close();
    if (ec == http::error::partial_message || ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
      return Close();
    }
    if (ec && !IsParseError(ec)) return Close();  // a socket error
    if (ec) return Respond(Reply(400, "Bad Request", "text/plain", "bad request\n", false));
    if (requests_served_ > 0) ArmTimer(kDeadline);  // the idle wait is over: this request's own 10 s
    ++requests_served_;
    const auto& head = parser_->get();
    if (head.version() != 10 && head.version() != 11) {
      return Respond(Reply(505, "HTTP Version Not Supported", "text/plain", "HTTP/1.0 and HTTP/1.1 only\n", false));
    }
    ParsedHead parsed;
    parsed.head_only = head.method() == http::verb::head;
    parsed.request.method = parsed.head_only ? "GET" : std::string(head.method_string());
    const std::string_view target(head.target().data(), head.target().size());
    const size_t question = target.find('?');
    parsed.request.path = std::string(target.substr(0, question));
    if (question != std::string_view::npos) parsed.request.query = std::string(target.substr(question + 1));
    for (const auto& field : head) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      parsed.request.headers.emplace_back(std::move(name), std::string(Trim({field.value().data(), field.value().size()})));
    }
    // A transfer coding other than chunked (last) leaves the body's end unknown.
    if (parsed.request.Header("transfer-encoding") && !parser_->chunked()) {
      return Respond(Reply(400, "Bad Request", "text/plain", "bad request: Transfer-Encoding must end in chunked\n", false));
    }
    parsed.content_length = static_cast<size_t>(parser_->content_length().value_or(0));
    head_only_ = parsed.head_only;
    const HttpRoute* route = Admit(server_->routes_, &parsed);
    if (route == nullptr) return Respond(std::move(parsed.refusal));
    route_ = route;
    request_ = std::move(parsed.request);
    request_.peer = peer_.to_string();
    keep_alive_ = parser_->keep_alive() && --requests_left_ > 0;
    parser_->body_limit(route->max_body);
    if (route_->authenticated && auth_->enabled()) {
      return Authorize(std::string(request_.Header("authorization").value_or("")));
    }
    ReadBody();
  }

  // After the head is admitted (and its credentials accepted): the body,
  // announced to a client that waits for `100 Continue`.
  void ReadBody() {
    if (parser_->is_done()) return Answer();
    const auto expect = request_.Header("expect");
    if (expect && strcasecmp(std::string(*expect).c_str(), "100-continue") == 0 && parser_->get().version() == 11) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      return WithStream([&](auto& stream) {
        asio::async_write(stream, asio::buffer(kContinue), [self = shared_from_this()](boost::system::error_code ec, size_t) {
          if (ec) return self->Close();
          self->ReadRest();
        });
      });
    }
    ReadRest();
  }

  void ReadRest() {
    WithStream([&](auto& stream) {
      http::async_read(stream, buffer_, *parser_, [self = shared_from_this()](boost::system::error_code ec, size_t) {
        self->OnBody(ec);
      });
    });
  }

  void OnBody(boost::system::error_code ec) {
    keep_alive_ = keep_alive_ && !ec;
    if (ec == http::error::body_limit) {
      return Respond(Reply(413, HttpReason(413), "text/plain",
                           "body over " + std::to_string(route_->max_body) + " bytes\n", false));
    }
    if (ec && IsParseError(ec) && ec != http::error::partial_message &&
        ec != http::error::end_of_stream) {
      return Respond(Reply(400, "Bad Request", "text/plain", "bad request: " + ec.message() + "\n", false));
    }
    if (ec) return Close();
    Answer();
  }

  // The whole body is in: decoded when gzip, then handed to the route.
  void Answer() {
    request_.body = std::move(parser_->get().body());
    const auto encoding = request_.Header("content-encoding");
    if (encoding && strcasecmp(std::string(*encoding).c_str(), "gzip") == 0) {
      std::string decoded, error;
      switch (Gunzip(request_.body, route_->max_body, &decoded, &error)) {
        case GunzipResult::kOk: break;
        case GunzipResult::kTooLarge:
          keep_alive_ = false;
          return Respond(Reply(413, HttpReason(413), "text/plain",
                               "gzip body decodes to over " + std::to_string(route_->max_body) + " bytes\n", false));
        case GunzipResult::kCorrupt:
          keep_alive_ = false;
          return Respond(Reply(400, "Bad Request", "text/plain", "bad request: gzip body: " + error + "\n", false));
      }
      request_.body = std::move(decoded);
      // The handler sees the body as sent before encoding.
      std::erase_if(request_.headers, [](const auto& h) { return h.first == "content-encoding"; });
    }
    for (const auto& [path, deferred] : server_->deferred_) {
      if (path == route_->path) return deferred(std::move(request_), std::make_shared<Responder>(shared_from_this()));
    }
    Respond(Serialize(route_->handler(request_), head_only_, keep_alive_));
  }

  // A deferred route's way back to this connection.
  class Responder : public HttpResponder {
   public:
    explicit Responder(std::shared_ptr<Connection> connection) : connection_(std::move(connection)) {}
    bool open() const override { return connection_ && connection_->socket_.is_open(); }
    void Send(HttpReply reply) override {
      if (!open()) return;
      connection_->Respond(Serialize(reply, connection_->head_only_, connection_->keep_alive_));
      connection_.reset();
    }

   private:
    std::shared_ptr<Connection> connection_;
  };

  // A route behind basic auth: a peer over its failure budget gets 429 at
  // once; remembered credentials are answered at once; anything else is
  // checked on the AuthPool (503 when its queue is full), the io thread
  // going on meanwhile. Before the body: a refused client sends none.
  void Authorize(const std::string& authorization) {
    FailureWindow::Clock::duration wait{};
    if (server_->auth_failures_.Blocked(peer_, FailureWindow::Clock::now(), &wait)) {
      const auto seconds = std::chrono::ceil<std::chrono::seconds>(wait).count();
      return Respond(Reply(429, "Too Many Requests", "text/plain", "too many failed logins\n", head_only_,
                           "Retry-After: " + std::to_string(std::max<long long>(1, seconds)) + "\r\n"));
    }
    BasicAuth::PendingCheck check;
    switch (auth_->Prepare(authorization, &check)) {
      case BasicAuth::Verdict::kAccepted: return ReadBody();
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
      return ReadBody();
    }
    AuthFailed("wrong user name or password");
    Respond(UnauthorizedReply(head_only_));
  }

  void AuthFailed(const char* why) {
    server_->auth_failures_.RecordFailure(peer_, FailureWindow::Clock::now());
    uint64_t suppressed = 0;
    if (server_->auth_log_limiter_.Allow(&suppressed)) {
      Log(LogLevel::kWarn, server_->log_name_ + ": basic auth failed",
          {Field("peer", peer_.to_string()), Field("reason", why), Field("suppressed_since_last", suppressed)});
    }
  }

  // Writes `response`; then the next request when it said keep-alive (only
  // an answered request does), else the end of the connection.
  void Respond(std::string response) {
    response_ = std::move(response);
    const bool again = keep_alive_ && response_.find("\r\nConnection: keep-alive\r\n") != std::string::npos;
    WithStream([&](auto& stream) {
      asio::async_write(stream, asio::buffer(response_), [self = shared_from_this(), again](boost::system::error_code ec, size_t) {
        if (ec) return self->Close();
        if (again) {
          self->ArmTimer(self->idle_timeout_);
          self->route_ = nullptr;
          self->request_ = HttpRequest{};
          return self->ReadHead();
        }
        self->Finish();
      });
    });
  }

  void Finish() {
    if (!tls_) return Close();
    // close_notify, so the client can tell the response was complete; the
    // deadline bounds a client that never answers it.
    tls_->async_shutdown([self = shared_from_this()](boost::system::error_code) { self->Close(); });
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
  beast::flat_buffer buffer_;  // bytes read past one request stay for the next
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string response_;
  HttpRequest request_;
  const HttpRoute* route_ = nullptr;  // the request's, once its head is admitted
  std::shared_ptr<BasicAuth> auth_;
  // Kept for the connection's lifetime: a reload may replace the server's.
  std::shared_ptr<asio::ssl::context> tls_context_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
  std::shared_ptr<std::atomic<int>> open_connections_;
  std::shared_ptr<PeerCounts> peers_;
  asio::ip::address peer_;
  int requests_left_;
  int requests_served_ = 0;
  std::chrono::milliseconds idle_timeout_;
  bool head_only_ = false;
  bool keep_alive_ = false;
};

HttpServer::HttpServer(asio::io_context& io, ScrapeFn scrape, Metrics* metrics)
    : io_(io),
      acceptor_(io),
      metrics_(metrics),
      routes_(DefaultRoutes(std::move(scrape), [this] { return ready_.load(); })),
      auth_pool_(kAuthThreads, kAuthQueue) {}

void HttpServer::AddRoute(HttpRoute route) {
  std::erase_if(deferred_, [&](const auto& d) { return d.first == route.path; });
  // Replaces a route of the same path, so a caller can take over a default.
  for (HttpRoute& r : routes_) {
    if (r.path == route.path) {
      r = std::move(route);
      return;
    }
  }
  routes_.push_back(std::move(route));
}

void HttpServer::AddDeferredRoute(HttpRoute route, HttpDeferredHandler deferred) {
  std::erase_if(deferred_, [&](const auto& d) { return d.first == route.path; });
  deferred_.emplace_back(route.path, std::move(deferred));
  AddRoute(std::move(route));
}

void HttpServer::Configure(const config::MetricsSettings& metrics) {
  set_basic_auth(metrics.basic_auth_users);
  set_limits(metrics.max_connections_per_peer, metrics.max_auth_failures_per_minute);
}

void HttpServer::set_limits(int max_connections_per_peer, int max_auth_failures_per_minute) {
  max_connections_per_peer_ = max_connections_per_peer;
  auth_failures_.set_limit(max_auth_failures_per_minute);
}

void HttpServer::set_keep_alive(int max_requests, std::chrono::milliseconds idle_timeout) {
  keep_alive_requests_ = std::max(1, max_requests);
  idle_timeout_ = idle_timeout;
}

void HttpServer::set_identity(std::string log_name, std::string config_key) {
  log_name_ = std::move(log_name);
  config_key_ = std::move(config_key);
}

core::Status HttpServer::set_tls(const config::TlsSettings& tls) {
  if (!tls.enabled()) {
    tls_.reset();
    return core::Status::Ok();
  }
  auto made = MakeServerTlsContext(tls, config_key_ + ".tls");
  if (!made.ok()) return made.status();
  tls_ = std::move(made).value();
  return core::Status::Ok();
}

HttpServer::~HttpServer() { Stop(); }

core::Status HttpServer::Listen(const config::Endpoint& endpoint) {
  LSTMAD_RETURN_IF_ERROR(ListenOn(io_, endpoint, config_key_ + ".listen", &acceptor_));
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
        Refuse(&socket, log_name_ + ": 64 connections open; closing a new one", peer);
      } else if (peers_->count(peer) >= max_connections_per_peer_) {
        // Decided per peer so that one address (a pod, a host) cannot take
        // the slots the probes and the scraper need.
        Refuse(&socket, log_name_ + ": " + config_key_ + ".max_connections_per_peer reached; closing a new one", peer);
      } else {
        ++*open_connections_;
        peers_->Add(peer);
        std::make_shared<Connection>(this, std::move(socket), peer)->Start();
      }
    }
    Accept();
  });
}

void HttpServer::Refuse(asio::ip::tcp::socket* socket, const std::string& why, const asio::ip::address& peer) {
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
