// IngestServer: a TCP listener for line-oriented samples (Boost.Asio, one
// io_context thread). Each connection reads into a bounded buffer, splits
// lines (a line longer than limits.max_line_bytes closes the connection) and
// hands them to the listener's LineSink: the Ingestor or the
// ClusterForwarder for line protocol (ingest.listen), the GraphiteSink for
// Graphite plaintext (ingest.graphite.listen); one server per listener. Connections beyond limits.max_connections, or beyond
// limits.max_connections_per_peer from one client address, are accepted and
// closed at once; under ingest.tls a handshake not done within
// ingest.handshake_timeout closes its connection. A line counts only once its newline arrives: a client that
// disconnects mid-line loses that partial line. When a window's scoring
// queue is full (scoring.overflow: block), that connection alone pauses,
// with no read pending (TCP slows its sender), and goes on when the queue has
// room; others and /metrics are served meanwhile. On shutdown, what a paused
// connection has read is still handed in.
// Runs on the io_context's thread only.
#pragma once

#include <memory>
#include <set>
#include <vector>
#include <string>

#include "ingest/line_sink.h"
#include "lstmad/config/settings.h"
#include "net/asio.h"
#include "net/peer_limits.h"
#include "obs/logging.h"
#include "obs/metrics.h"

namespace lstmad::daemon {

class IngestServer {
 public:
  IngestServer(asio::io_context& io, LineSink* sink, Metrics* metrics,
               const config::LimitSettings& limits, const config::IngestSettings& ingest);
  ~IngestServer();

  // The setting that names the address, for errors (default "ingest.listen").
  void set_setting_name(std::string name) { setting_name_ = std::move(name); }
  core::Status Listen(const config::Endpoint& endpoint);
  uint16_t port() const;
  void set_limits(const config::LimitSettings& limits) { limits_ = limits; }
  // Idle timeout, allow-list and TLS (certificates re-read); applies to
  // connections accepted from now on. Fails, keeping the old settings, when
  // the certificates cannot be loaded.
  core::Status set_ingest(const config::IngestSettings& ingest);

  void StopAccepting();
  void CloseAll();
  size_t connections() const { return connections_.size(); }

 private:
  class Connection;
  void Accept();
  void Closed(Connection* connection);
  void RefuseTooMany(asio::ip::tcp::socket* socket, const char* why, const asio::ip::address& peer);

  asio::io_context& io_;
  asio::ip::tcp::acceptor acceptor_;
  LineSink* sink_;
  Metrics* metrics_;
  config::LimitSettings limits_;
  config::IngestSettings ingest_;
  std::string setting_name_ = "ingest.listen";
  struct Network {
    asio::ip::address address;
    int prefix = 0;
  };
  std::vector<Network> allow_;
  // Built from ingest.tls; null for plain TCP. Each connection keeps the
  // context it was accepted with, so a reload swaps it safely.
  std::shared_ptr<asio::ssl::context> tls_;
  bool Allowed(const asio::ip::address& peer) const;
  std::set<std::shared_ptr<Connection>> connections_;
  PeerCounts peers_;  // of connections_
  RateLimiter refuse_log_limiter_{1};
};

}  // namespace lstmad::daemon
