// Opening a listening TCP socket on a configured endpoint, shared by the
// ingest and HTTP servers. Host names are resolved; the first address wins.
#pragma once

#include <string>

#include "lstmad/config/settings.h"
#include "lstmad/core/status.h"
#include "net/asio.h"

namespace lstmad::daemon {

// Errors name `key` (e.g. "ingest.listen") and the endpoint.
inline core::Status ListenOn(asio::io_context& io, const config::Endpoint& endpoint, const std::string& key,
                             asio::ip::tcp::acceptor* acceptor) {
  boost::system::error_code ec;
  asio::ip::tcp::resolver resolver(io);
  const auto resolved = resolver.resolve(endpoint.host, std::to_string(endpoint.port),
                                         asio::ip::tcp::resolver::passive, ec);
  if (ec || resolved.empty()) {
    return core::Status::Error(key + ": cannot resolve \"" + endpoint.host + "\": " + ec.message());
  }
  const asio::ip::tcp::endpoint ep = resolved.begin()->endpoint();
  acceptor->open(ep.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(ep, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return core::Status::Error(key + ": cannot listen on " + endpoint.ToString() + ": " + ec.message());
  return core::Status::Ok();
}

}  // namespace lstmad::daemon
