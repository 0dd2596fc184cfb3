#include "net/http_server.h"
#include "net/listen.h"
#include "obs/logging.h"
#include "net/tls.h"

#include <crypt.h>
#include <prometheus/counter.h>
#include <strings.h>

#include <array>
#include <cstring>

namespace lstmad::daemon {
namespace {

constexpr size_t kMaxRequestHead = 8192;
constexpr int kMaxOpenConnections = 64;
constexpr auto kDeadline = std::chrono::seconds(10);

std::string Reply(int status, const char* reason, std::string_view content_type, std::string body,
                  bool head_only) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason + "\r\n";
  out += "Content-Type: " + std::string(content_type) + "\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  if (!head_only) out += body;
  return out;
}

// The value of header `name` (case-insensitive) in a request head, or "".
std::string_view HeaderValue(std::string_view head, std::string_view name) {
  size_t pos = head.find('\n');
  while (pos != std::string_view::npos && pos + 1 < head.size()) {
    std::string_view line = head.substr(pos + 1);
    const size_t end = line.find('\n');
    line = line.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const size_t colon = line.find(':');
    if (colon == name.size() && strncasecmp(line.data(), name.data(), name.size()) == 0) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      return value;
    }
    pos = end == std::string_view::npos ? end : pos + 1 + end;
  }
  return {};
}

}  // namespace

std::string Base64Decode(std::string_view text) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (const char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else if (c == '=') break;
    else return {};
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xff);
    }
  }
  return out;
}

bool BasicAuth::Check(std::string_view header) {
  if (header.size() < 6 || strncasecmp(header.data(), "Basic ", 6) != 0) return false;
  if (!last_accepted_.empty() && header == last_accepted_) return true;
  const std::string decoded = Base64Decode(header.substr(6));
  const size_t colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  const std::string user = decoded.substr(0, colon), password = decoded.substr(colon + 1);
  for (const auto& [name, hash] : users_) {
    if (name != user) continue;
    crypt_data data{};
    const char* result = crypt_r(password.c_str(), hash.c_str(), &data);
    if (result != nullptr && hash == result) {
      last_accepted_ = std::string(header);
      return true;
    }
  }
  return false;
}

std::string HttpResponse(std::string_view request_head, bool ready,
                         const HttpServer::ScrapeFn& scrape, BasicAuth* auth) {
  std::string_view request_line = request_head.substr(0, request_head.find('\n'));
  if (!request_line.empty() && request_line.back() == '\r') request_line.remove_suffix(1);
  const size_t sp1 = request_line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : request_line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return Reply(400, "Bad Request", "text/plain", "bad request\n", false);
  const std::string_view method = request_line.substr(0, sp1);
  std::string_view target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  target = target.substr(0, target.find('?'));
  const bool head = method == "HEAD";
  if (method != "GET" && !head) {
    return Reply(405, "Method Not Allowed", "text/plain", "only GET and HEAD\n", false);
  }
  if (target == "/metrics") {
    if (auth != nullptr && auth->enabled() && !auth->Check(HeaderValue(request_head, "Authorization"))) {
      return "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"lstmad\"\r\n"
             "Content-Type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\n" +
             std::string(head ? "" : "unauthorized\n");
    }
    return Reply(200, "OK", "text/plain; version=0.0.4; charset=utf-8", scrape(), head);
  }
  if (target == "/healthz") return Reply(200, "OK", "text/plain", "ok\n", head);
  if (target == "/readyz") {
    return ready ? Reply(200, "OK", "text/plain", "ready\n", head)
                 : Reply(503, "Service Unavailable", "text/plain", "not ready\n", head);
  }
  return Reply(404, "Not Found", "text/plain", "not found: try /metrics, /healthz or /readyz\n", head);
}

class HttpServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(HttpServer* server, asio::ip::tcp::socket socket)
      : server_(server), socket_(std::move(socket)), timer_(server->io_), auth_(server->auth_),
        tls_context_(server->tls_), open_connections_(server->open_connections_) {}
  // May run after the server is gone (pending handlers are destroyed with the
  // io_context), so it touches only what the connection shares.
  ~Connection() { --*open_connections_; }

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
    head_.append(chunk_.data(), n);
    if (head_.find("\r\n\r\n") == std::string::npos && head_.find("\n\n") == std::string::npos) {
      if (head_.size() > kMaxRequestHead) return Respond(Reply(431, "Request Header Fields Too Large", "text/plain", "too large\n", false));
      return Read();
    }
    Respond(HttpResponse(head_, server_->ready_, server_->scrape_, auth_.get()));
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
  std::shared_ptr<BasicAuth> auth_;
  // Kept for the connection's lifetime: a reload may replace the server's.
  std::shared_ptr<asio::ssl::context> tls_context_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
  std::shared_ptr<std::atomic<int>> open_connections_;
};

HttpServer::HttpServer(asio::io_context& io, ScrapeFn scrape, Metrics* metrics)
    : io_(io), acceptor_(io), scrape_(std::move(scrape)), metrics_(metrics) {}

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
      if (*open_connections_ >= kMaxOpenConnections) {
        if (metrics_ != nullptr) {
          metrics_->MetricsConnectionClosed(Metrics::MetricsCloseReason::kTooManyConnections).Increment();
        }
        boost::system::error_code ignored;
        socket.close(ignored);
      } else {
        ++*open_connections_;
        std::make_shared<Connection>(this, std::move(socket))->Start();
      }
    }
    Accept();
  });
}

void HttpServer::Stop() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

}  // namespace lstmad::daemon
