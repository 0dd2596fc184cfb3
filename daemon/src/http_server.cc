#include "http_server.h"

#include <array>

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

}  // namespace

std::string HttpResponse(std::string_view request_line, bool ready,
                         const HttpServer::ScrapeFn& scrape) {
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
      : server_(server), socket_(std::move(socket)), timer_(server->io_) {}
  ~Connection() { --server_->open_connections_; }

  void Start() {
    timer_.expires_after(kDeadline);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->Close();
    });
    Read();
  }

 private:
  void Read() {
    socket_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](boost::system::error_code ec, size_t n) {
      self->OnRead(ec, n);
    });
  }

  void OnRead(boost::system::error_code ec, size_t n) {
    if (ec) return Close();
    head_.append(chunk_.data(), n);
    if (head_.find("\r\n\r\n") == std::string::npos && head_.find("\n\n") == std::string::npos) {
      if (head_.size() > kMaxRequestHead) return Respond(Reply(431, "Request Header Fields Too Large", "text/plain", "too large\n", false));
      return Read();
    }
    std::string_view line(head_);
    line = line.substr(0, line.find('\n'));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    Respond(HttpResponse(line, server_->ready_, server_->scrape_));
  }

  void Respond(std::string response) {
    response_ = std::move(response);
    asio::async_write(socket_, asio::buffer(response_),
                      [self = shared_from_this()](boost::system::error_code, size_t) { self->Close(); });
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
};

HttpServer::HttpServer(asio::io_context& io, ScrapeFn scrape)
    : io_(io), acceptor_(io), scrape_(std::move(scrape)) {}

HttpServer::~HttpServer() { Stop(); }

core::Status HttpServer::Listen(const config::Endpoint& endpoint) {
  boost::system::error_code ec;
  asio::ip::tcp::resolver resolver(io_);
  const auto resolved = resolver.resolve(endpoint.host, std::to_string(endpoint.port),
                                         asio::ip::tcp::resolver::passive, ec);
  if (ec || resolved.empty()) {
    return core::Status::Error("metrics.listen: cannot resolve \"" + endpoint.host + "\": " + ec.message());
  }
  const asio::ip::tcp::endpoint ep = resolved.begin()->endpoint();
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return core::Status::Error("metrics.listen: cannot listen on " + endpoint.ToString() + ": " + ec.message());
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
      if (open_connections_ >= kMaxOpenConnections) {
        boost::system::error_code ignored;
        socket.close(ignored);
      } else {
        ++open_connections_;
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
