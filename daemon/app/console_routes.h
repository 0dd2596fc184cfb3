// The web console's HTTP routes (daemon/console/console.h) on the metrics
// listener: each console path becomes an authenticated GET route whose
// handler adapts the HTTP request to a ConsoleRequest and the reply back.
// Call on the io thread before the server listens; the console must outlive
// the server's handlers (the routes share ownership of it).
#pragma once

#include <memory>

#include "console/console.h"
#include "net/http_server.h"

namespace lstmad::daemon {

void AddConsoleRoutes(HttpServer* http, std::shared_ptr<const Console> console);

}  // namespace lstmad::daemon
