#include "net/ingest_server.h"

#include <array>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include "net/listen.h"
#include "ingest/line_protocol.h"
#include "obs/logging.h"
#include "net/tls.h"

namespace lstmad::daemon {

class IngestServer::Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(IngestServer* server, asio::ip::tcp::socket socket, asio::ip::address address,
             size_t max_line_bytes, const config::IngestSettings& ingest,
             std::shared_ptr<asio::ssl::context> tls)
      : server_(server),
        socket_(std::move(socket)),
        address_(std::move(address)),
        tls_context_(std::move(tls)),
        splitter_(max_line_bytes),
        idle_timer_(server->io_),
        handshake_timer_(server->io_),
        idle_timeout_(Duration(ingest.idle_timeout_s)),
        handshake_timeout_(Duration(ingest.handshake_timeout_s)) {
    boost::system::error_code ec;
    const auto remote = socket_.remote_endpoint(ec);
    peer_ = ec ? "unknown" : remote.address().to_string() + ":" + std::to_string(remote.port());
  }
  const asio::ip::address& address() const { return address_; }

  void Start() {
    // The sink calls this from another thread once the queue stalled work
    // waits for has room; the connection goes on on the io thread, if it
    // still exists.
    stalled_.on_room = [weak = weak_from_this(), io = &server_->io_] {
      asio::post(*io, [weak] {
        if (auto self = weak.lock()) self->Resume();
      });
    };
    ArmIdleTimer();
    if (!tls_context_) return Read();
    // A client that connects and never finishes the handshake would hold its
    // slot (of max_connections and of its peer's) for idle_timeout; the
    // handshake gets ingest.handshake_timeout. Closing the socket fails the
    // handshake, whose handler below counts and forgets the connection.
    handshake_timer_.expires_after(handshake_timeout_);
    handshake_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self) return;
      self->handshake_timed_out_ = true;
      self->Close();
    });
    tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(socket_, *tls_context_);
    tls_->async_handshake(asio::ssl::stream_base::server, [self = shared_from_this()](
                                                              boost::system::error_code ec) {
      self->handshake_timer_.cancel();
      if (!ec) return self->Read();
      if (self->handshake_timed_out_) ec = asio::error::timed_out;
      // No certificate, an untrusted one, or not TLS at all.
      self->server_->metrics_->ConnectionClosed(Metrics::CloseReason::kTlsHandshake).Increment();
      static RateLimiter limiter(1);
      uint64_t suppressed = 0;
      if (limiter.Allow(&suppressed)) {
        Log(LogLevel::kWarn, "TLS handshake failed; closing",
            {Field("peer", self->peer_), Field("error", ec.message()), Field("suppressed_since_last", suppressed)});
      }
      self->Close();
      self->server_->Closed(self.get());
    });
  }
  void Close() {
    boost::system::error_code ignored;
    idle_timer_.cancel();
    handshake_timer_.cancel();
    socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }
  const std::string& peer() const { return peer_; }

  // Shutdown: stalled work and the rest of the last read go in now, waiting
  // for room (as long as the sink allows), so that no sample read from the
  // socket is lost.
  void Finish() {
    if (!stalled_.stalled()) return;
    LineSink* sink = server_->sink_;
    stalled_.retry(true);
    stalled_.retry = nullptr;
    splitter_.Feed(rest_, [&](std::string_view line) { sink->HandleLine(line, peer_); });
    rest_ = {};
  }

 private:
  void Read() {
    auto handler = [self = shared_from_this()](boost::system::error_code ec, size_t n) { self->OnRead(ec, n); };
    if (tls_) {
      tls_->async_read_some(asio::buffer(buffer_), std::move(handler));
    } else {
      socket_.async_read_some(asio::buffer(buffer_), std::move(handler));
    }
  }

  // A connection that sends nothing for idle_timeout is closed (0: never).
  void ArmIdleTimer() {
    if (idle_timeout_.count() <= 0) return;
    idle_timer_.expires_after(idle_timeout_);
    idle_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self) return;
      self->server_->metrics_->ConnectionClosed(Metrics::CloseReason::kIdleTimeout).Increment();
      Log(LogLevel::kInfo, "closing an idle connection", {Field("peer", self->peer_)});
      self->Close();
    });
  }

  void OnRead(boost::system::error_code ec, size_t n) {
    if (ec) {
      idle_timer_.cancel();
      server_->Closed(this);
      return;
    }
    ArmIdleTimer();
    Process(std::string_view(buffer_.data(), n));
  }

  // Hands the lines of `data` to the sink, then reads on; unless a window
  // finds its scoring queue full (scoring.overflow: block): then the
  // connection pauses with no read pending, so TCP slows this sender while
  // the io thread serves the others and /metrics, until Resume().
  void Process(std::string_view data) {
    LineSink* sink = server_->sink_;
    std::string_view rest;
    const bool ok = splitter_.FeedPausable(
        data,
        [&](std::string_view line) {
          sink->HandleLine(line, peer_, &stalled_);
          return !stalled_.stalled();
        },
        &rest);
    if (!ok) {
      server_->metrics_->ConnectionClosed(Metrics::CloseReason::kLineTooLong).Increment();
      sink->LineTooLong(peer_);
      Close();
      server_->Closed(this);
      return;
    }
    if (stalled_.stalled()) {
      rest_ = rest;          // still in buffer_: no read overwrites it while paused
      idle_timer_.cancel();  // lstmad is the one waiting, not the client
      return;
    }
    Read();
  }

  void Resume() {
    if (!stalled_.retry(false)) return;  // room taken again; on_room comes again
    stalled_.retry = nullptr;
    ArmIdleTimer();
    const std::string_view rest = rest_;
    rest_ = {};
    Process(rest);
  }

  static std::chrono::steady_clock::duration Duration(double seconds) {
    return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(seconds));
  }

  IngestServer* server_;
  asio::ip::tcp::socket socket_;
  asio::ip::address address_;  // the peer's, as counted in the server's PeerCounts
  std::shared_ptr<asio::ssl::context> tls_context_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
  LineSplitter splitter_;
  std::string peer_;
  asio::steady_timer idle_timer_;
  asio::steady_timer handshake_timer_;
  std::chrono::steady_clock::duration idle_timeout_;
  std::chrono::steady_clock::duration handshake_timeout_;
  bool handshake_timed_out_ = false;
  LineSink::Stalled stalled_;  // work its sink had no room for, while paused
  std::string_view rest_;      // while stalled: the bytes of buffer_ not yet split
  std::array<char, 16384> buffer_;
};

IngestServer::IngestServer(asio::io_context& io, LineSink* sink, Metrics* metrics,
                           const config::LimitSettings& limits, const config::IngestSettings& ingest)
    : io_(io), acceptor_(io), sink_(sink), metrics_(metrics), limits_(limits), ingest_(ingest) {}

core::Status IngestServer::set_ingest(const config::IngestSettings& ingest) {
  std::shared_ptr<asio::ssl::context> tls;
  if (ingest.tls.enabled()) {
    auto made = MakeServerTlsContext(ingest.tls, "ingest.tls");
    if (!made.ok()) return made.status();
    tls = std::move(made).value();
  }
  tls_ = std::move(tls);
  ingest_ = ingest;
  allow_.clear();
  for (const std::string& cidr : ingest.allow) {
    // Validated by config: "address[/prefix]".
    const size_t slash = cidr.find('/');
    boost::system::error_code ec;
    Network n{asio::ip::make_address(cidr.substr(0, slash), ec), 0};
    if (ec) continue;
    n.prefix = slash == std::string::npos ? (n.address.is_v4() ? 32 : 128) : std::stoi(cidr.substr(slash + 1));
    allow_.push_back(n);
  }
  return core::Status::Ok();
}

namespace {

// The first `bits` bits of two addresses of the same family are equal.
template <typename Bytes>
bool SamePrefix(const Bytes& a, const Bytes& b, int bits) {
  for (size_t i = 0; bits > 0; ++i, bits -= 8) {
    const int mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((a[i] & mask) != (b[i] & mask)) return false;
  }
  return true;
}

}  // namespace

bool IngestServer::Allowed(const asio::ip::address& peer_address) const {
  if (allow_.empty()) return true;
  asio::ip::address peer = peer_address;
  if (peer.is_v6() && peer.to_v6().is_v4_mapped()) {
    peer = asio::ip::make_address_v4(asio::ip::v4_mapped, peer.to_v6());
  }
  for (const Network& n : allow_) {
    if (n.address.is_v4() && peer.is_v4() && SamePrefix(n.address.to_v4().to_bytes(), peer.to_v4().to_bytes(), n.prefix)) {
      return true;
    }
    if (n.address.is_v6() && peer.is_v6() && SamePrefix(n.address.to_v6().to_bytes(), peer.to_v6().to_bytes(), n.prefix)) {
      return true;
    }
  }
  return false;
}

IngestServer::~IngestServer() { CloseAll(); }

core::Status IngestServer::Listen(const config::Endpoint& endpoint) {
  LSTMAD_RETURN_IF_ERROR(ListenOn(io_, endpoint, setting_name_, &acceptor_));
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
      boost::system::error_code peer_ec;
      const auto remote = socket.remote_endpoint(peer_ec);
      if (peer_ec || !Allowed(remote.address())) {
        metrics_->ConnectionClosed(Metrics::CloseReason::kNotAllowed).Increment();
        uint64_t suppressed = 0;
        if (refuse_log_limiter_.Allow(&suppressed)) {
          Log(LogLevel::kWarn, "connection refused: peer not in ingest.allow",
              {Field("peer", peer_ec ? std::string("unknown") : remote.address().to_string()),
               Field("suppressed_since_last", suppressed)});
        }
        boost::system::error_code ignored;
        socket.close(ignored);
      } else if (connections_.size() >= static_cast<size_t>(limits_.max_connections)) {
        RefuseTooMany(&socket, "connection refused: limits.max_connections reached", remote.address());
      } else if (peers_.count(remote.address()) >= limits_.max_connections_per_peer) {
        // So that one address cannot take every slot from the others.
        RefuseTooMany(&socket, "connection refused: limits.max_connections_per_peer reached",
                      remote.address());
      } else {
        auto connection =
            std::make_shared<Connection>(this, std::move(socket), remote.address(),
                                         static_cast<size_t>(limits_.max_line_bytes), ingest_, tls_);
        connections_.insert(connection);
        peers_.Add(connection->address());
        metrics_->connections().Set(static_cast<double>(connections_.size()));
        connection->Start();
      }
    }
    Accept();
  });
}

void IngestServer::RefuseTooMany(asio::ip::tcp::socket* socket, const char* why,
                                 const asio::ip::address& peer) {
  metrics_->ConnectionClosed(Metrics::CloseReason::kTooManyConnections).Increment();
  uint64_t suppressed = 0;
  if (refuse_log_limiter_.Allow(&suppressed)) {
    Log(LogLevel::kWarn, why,
        {Field("peer", peer.to_string()), Field("max_connections", limits_.max_connections),
         Field("max_connections_per_peer", limits_.max_connections_per_peer),
         Field("suppressed_since_last", suppressed)});
  }
  boost::system::error_code ignored;
  socket->close(ignored);
}

void IngestServer::Closed(Connection* connection) {
  for (auto it = connections_.begin(); it != connections_.end(); ++it) {
    if (it->get() == connection) {
      peers_.Remove(connection->address());
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
  for (const auto& connection : connections_) {
    connection->Finish();
    connection->Close();
  }
  connections_.clear();
  peers_.Clear();
  metrics_->connections().Set(0);
}

}  // namespace lstmad::daemon
