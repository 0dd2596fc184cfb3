#include "net/tls.h"

#include <string>

namespace lstmad::daemon {

core::Result<std::shared_ptr<asio::ssl::context>> MakeServerTlsContext(const config::TlsSettings& tls,
                                                                      std::string_view key_path) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  const std::string where(key_path);
  boost::system::error_code ec;
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                           asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                           asio::ssl::context::no_tlsv1_1,
                       ec);
  context->use_certificate_chain_file(tls.cert, ec);
  if (ec) return core::Status::Error(where + ".cert: " + tls.cert + ": " + ec.message());
  context->use_private_key_file(tls.key, asio::ssl::context::pem, ec);
  if (ec) return core::Status::Error(where + ".key: " + tls.key + ": " + ec.message());
  if (!tls.client_ca.empty()) {
    context->load_verify_file(tls.client_ca, ec);
    if (ec) return core::Status::Error(where + ".client_ca: " + tls.client_ca + ": " + ec.message());
    context->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
  }
  return context;
}

}  // namespace lstmad::daemon
