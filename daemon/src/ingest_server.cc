#include "ingest_server.h"

#include <array>

#include <prometheus/gauge.h>

#include "logging.h"

namespace lstmad::daemon {

class IngestServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(IngestServer* server, asio::ip::tcp::socket socket, size_t max_line_bytes)
      : server_(server), socket_(std::move(socket)), splitter_(max_line_bytes) {
    boost::system::error_code ec;
    const auto remote = socket_.remote_endpoint(ec);
    peer_ = ec ? "unknown" : remote.address().to_string() + ":" + std::to_string(remote.port());
  }

  void Start() { Read(); }
  void Close() {
    boost::system::error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }
  const std::string& peer() const { return peer_; }

 private:
  void Read() {
    socket_.async_read_some(asio::buffer(buffer_),
                            [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                              self->OnRead(ec, n);
                            });
  }

  void OnRead(boost::system::error_code ec, size_t n) {
    if (ec) {
      server_->Closed(this);
      return;
    }
    Ingestor* ingestor = server_->ingestor_;
    const bool ok = splitter_.Feed(std::string_view(buffer_.data(), n), [&](std::string_view line) {
      ingestor->HandleLine(line, peer_);
    });
    if (!ok) {
      ingestor->LineTooLong(peer_);
      Close();
      server_->Closed(this);
      return;
    }
    Read();
  }

  IngestServer* server_;
  asio::ip::tcp::socket socket_;
  LineSplitter splitter_;
  std::string peer_;
  std::array<char, 16384> buffer_;
};

IngestServer::IngestServer(asio::io_context& io, Ingestor* ingestor, Metrics* metrics,
                           const config::LimitSettings& limits)
    : io_(io), acceptor_(io), ingestor_(ingestor), metrics_(metrics), limits_(limits) {}

IngestServer::~IngestServer() { CloseAll(); }

core::Status IngestServer::Listen(const config::Endpoint& endpoint) {
  boost::system::error_code ec;
  // Host names (localhost) are resolved; the first address is used.
  asio::ip::tcp::resolver resolver(io_);
  const auto resolved = resolver.resolve(endpoint.host, std::to_string(endpoint.port),
                                         asio::ip::tcp::resolver::passive, ec);
  if (ec || resolved.empty()) {
    return core::Status::Error("ingest.listen: cannot resolve \"" + endpoint.host + "\": " + ec.message());
  }
  const asio::ip::tcp::endpoint ep = resolved.begin()->endpoint();
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return core::Status::Error("ingest.listen: cannot listen on " + endpoint.ToString() + ": " + ec.message());
  Accept();
  return core::Status::Ok();
}

uint16_t IngestServer::port() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec).port();
}

void IngestServer::Accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, asio::ip::tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      if (connections_.size() >= static_cast<size_t>(limits_.max_connections)) {
        uint64_t suppressed = 0;
        if (refuse_log_limiter_.Allow(&suppressed)) {
          Log(LogLevel::kWarn, "connection refused: limits.max_connections reached",
              {Field("max_connections", limits_.max_connections),
               Field("suppressed_since_last", suppressed)});
        }
        boost::system::error_code ignored;
        socket.close(ignored);
      } else {
        auto connection = std::make_shared<Connection>(this, std::move(socket),
                                                       static_cast<size_t>(limits_.max_line_bytes));
        connections_.insert(connection);
        metrics_->connections().Set(static_cast<double>(connections_.size()));
        connection->Start();
      }
    }
    Accept();
  });
}

void IngestServer::Closed(Connection* connection) {
  for (auto it = connections_.begin(); it != connections_.end(); ++it) {
    if (it->get() == connection) {
      connections_.erase(it);
      break;
    }
  }
  metrics_->connections().Set(static_cast<double>(connections_.size()));
}

void IngestServer::StopAccepting() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

void IngestServer::CloseAll() {
  for (const auto& connection : connections_) connection->Close();
  connections_.clear();
  metrics_->connections().Set(0);
}

}  // namespace lstmad::daemon
