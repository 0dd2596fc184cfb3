// A minimal blocking HTTP/1.1 client for pushing alerts (and, with HttpGet,
// reading a Prometheus source for `lstmad train`): one request per
// connection, with a deadline on connect, send and receive. http:// URLs
// directly; https:// through a TLS transport handed in (daemon/net's
// MakeTlsClient: alerting may not use OpenSSL). Reentrant; used from the
// Alertmanager client's thread.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "lstmad/core/status.h"

namespace lstmad::daemon {

struct HttpUrl {
  bool https = false;
  std::string host;
  std::string port;
  std::string path;  // without a trailing slash; "" for the root
};
core::Result<HttpUrl> ParseHttpUrl(const std::string& url);

// Sends a whole request to host:port over TLS and returns the start of the
// response (at least its status line): net::TlsRequestFn's signature.
using TlsTransport =
    std::function<core::Result<std::string>(const std::string& host, const std::string& port,
                                            const std::string& request, std::chrono::milliseconds timeout)>;

// POSTs `body` (application/json) to url.path + `path`; returns the status
// code, or an error naming the URL and what failed. An https URL goes
// through `tls`, and fails when there is none.
// `content_headers`: the body's header lines, each ending in CRLF (the
// remote_write client sends snappy-compressed protobuf).
core::Result<int> HttpPost(const HttpUrl& url, const std::string& path, const std::string& body,
                           const std::string& authorization, std::chrono::milliseconds timeout,
                           const TlsTransport& tls = {},
                           const std::string& content_headers = "Content-Type: application/json\r\n");

// An HTTP response read whole.
struct HttpGetResponse {
  int status = 0;
  std::string body;
};

// GETs url.path + `path_and_query` (HTTP/1.0, so the body ends at the close:
// no chunked encoding) and reads the response whole, at most `max_bytes`;
// http:// only. For `lstmad train --prometheus` (query_range). Errors name the
// URL without its query and what failed.
core::Result<HttpGetResponse> HttpGet(const HttpUrl& url, const std::string& path_and_query,
                                   const std::string& authorization, std::chrono::milliseconds timeout,
                                   size_t max_bytes);


}  // namespace lstmad::daemon
