// Opening a listening TCP socket on a configured endpoint, shared by the
// ingest and HTTP servers. Host names are resolved; the first address wins.
#pragma once

#include <string>
#include <utility>

#include "lstmad/config/settings.h"
#include "lstmad/core/status.h"
#include "net/asio.h"

namespace lstmad::daemon {

// Errors name `key` (e.g. "ingest.listen") and the endpoint. A port in use
// or an address not (yet) on any interface is kUnavailable: another process
// or the network coming up may free it, so a restart can succeed. A host that
// does not resolve is kInvalid (the configuration names it); anything else
// (no permission for a low port, no descriptors) stays kError.
inline core::Status ListenOn(asio::io_context& io, const config::Endpoint& endpoint, const std::string& key,
                             asio::ip::tcp::acceptor* acceptor) {
  boost::system::error_code ec;
  asio::ip::tcp::resolver resolver(io);
  const auto resolved = resolver.resolve(endpoint.host, std::to_string(endpoint.port),
                                         asio::ip::tcp::resolver::passive, ec);
  if (ec || resolved.empty()) {
    return core::Status::Invalid(key + ": cannot resolve \"" + endpoint.host + "\": " + ec.message());
  }
  const asio::ip::tcp::endpoint ep = resolved.begin()->endpoint();
  acceptor->open(ep.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(ep, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::string message = key + ": cannot listen on " + endpoint.ToString() + ": " + ec.message();
    if (ec == asio::error::address_in_use || ec == boost::system::errc::address_not_available) {
      return core::Status::Unavailable(std::move(message));
    }
    return core::Status::Error(std::move(message));
  }
  return core::Status::Ok();
}

}  // namespace lstmad::daemon
