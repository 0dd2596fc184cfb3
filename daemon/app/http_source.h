// Reading from an HTTP API for the command line (`lstmad train
// --prometheus`): the daemon's blocking HTTP client (alerting/http_client.h)
// behind one call, so tools/ reaches it through app, as it reaches the rest
// of the daemon. Reentrant.
#pragma once

#include <string>

#include "lstmad/core/status.h"

namespace lstmad::daemon {

// GETs `base_url` (http://host:port[/prefix]) + `path_and_query`; returns
// the body of a 200 answer, or an error with the status and the start of
// the body (Prometheus puts its reason there). At most 256 MiB, 120 s.
core::Result<std::string> HttpGetBody(const std::string& base_url, const std::string& path_and_query,
                                      const std::string& authorization);

}  // namespace lstmad::daemon
