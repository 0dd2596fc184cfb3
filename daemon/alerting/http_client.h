// A minimal blocking HTTP/1.1 client for pushing alerts: one POST per
// connection, with a deadline on connect, send and receive. Only plain
// http:// URLs. Reentrant; used from the Alertmanager client's thread.
#pragma once

#include <chrono>
#include <string>

#include "lstmad/core/status.h"

namespace lstmad::daemon {

struct HttpUrl {
  std::string host;
  std::string port;
  std::string path;  // without a trailing slash; "" for the root
};
core::Result<HttpUrl> ParseHttpUrl(const std::string& url);

// POSTs `body` (application/json) to url.path + `path`; returns the status
// code, or an error naming the URL and what failed.
core::Result<int> HttpPost(const HttpUrl& url, const std::string& path, const std::string& body,
                           const std::string& authorization, std::chrono::milliseconds timeout);

std::string Base64(const std::string& text);

}  // namespace lstmad::daemon
