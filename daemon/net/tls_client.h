// The TLS client alert delivery uses for https:// Alertmanager URLs
// (alertmanager.tls). Alerting may not use OpenSSL (tests/layering), so it
// gets this as a plain std::function: one request out, the response back.
//
// A client is immutable once built and may be called from any thread at
// once (each call has its own connection); a configuration reload builds a
// new one.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "lstmad/core/status.h"

namespace lstmad::daemon {

// Sends `request` (a whole HTTP/1.1 request) over a new TLS connection to
// host:port and returns the start of the response (at least its status
// line), all within `timeout`. The server's certificate must chain to the
// CA and name `host` (DNS name or IP address). Blocks SIGPIPE on the calling
// thread (OpenSSL writes with write(2)).
using TlsRequestFn =
    std::function<core::Result<std::string>(const std::string& host, const std::string& port,
                                            const std::string& request, std::chrono::milliseconds timeout)>;

// TLS 1.2 or later. `ca_file`: PEM CAs that verify the server (empty: the
// system's); `cert_file` and `key_file`: a client certificate, or both empty.
// Errors name the file that did not load; `key_path` ("alertmanager.tls")
// prefixes them.
core::Result<TlsRequestFn> MakeTlsClient(const std::string& ca_file, const std::string& cert_file,
                                         const std::string& key_file, const std::string& key_path);

}  // namespace lstmad::daemon
