// Server-side TLS contexts for the daemon's listeners (ingest.tls and
// metrics.tls share config::TlsSettings and this one builder, so both accept
// the same protocol versions and do mutual TLS the same way). A context is
// immutable once built; a certificate reload builds a new one, and each
// connection keeps the context it was accepted with (hence shared_ptr).
#pragma once

#include <memory>
#include <string_view>

#include "lstmad/config/settings.h"
#include "lstmad/core/status.h"
#include "net/asio.h"

namespace lstmad::daemon {

// TLS 1.2 or later with `tls.cert`/`tls.key`; with `tls.client_ca` set,
// clients must present a certificate signed by it. `key_path` names the
// settings section in error messages ("ingest.tls", "metrics.tls").
core::Result<std::shared_ptr<asio::ssl::context>> MakeServerTlsContext(const config::TlsSettings& tls,
                                                                      std::string_view key_path);

}  // namespace lstmad::daemon
