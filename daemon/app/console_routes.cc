#include "app/console_routes.h"

#include <string>
#include <utility>
#include <vector>

namespace lstmad::daemon {
namespace {

HttpReply Serve(const Console& console, const HttpRequest& request) {
  ConsoleRequest in;
  in.path = request.path;
  in.params.get = [&request](std::string_view name) { return request.QueryParam(name); };
  in.params.all = [&request](std::string_view name) { return request.QueryParams(name); };
  in.decode = [](std::string_view segment) { return PercentDecode(segment, false); };
  ConsoleReply out = console.Handle(in);
  HttpReply reply;
  reply.status = out.status;
  reply.content_type = std::move(out.content_type);
  reply.body = std::move(out.body);
  if (!out.location.empty()) reply.headers.emplace_back("Location", std::move(out.location));
  // Live data: a browser or proxy must not show a stale copy.
  reply.headers.emplace_back("Cache-Control", "no-store");
  return reply;
}

}  // namespace

void AddConsoleRoutes(HttpServer* http, std::shared_ptr<const Console> console) {
  for (const std::string& path : Console::Paths()) {
    HttpRoute route;
    route.path = path;
    route.authenticated = true;
    route.handler = [console](const HttpRequest& request) { return Serve(*console, request); };
    http->AddRoute(std::move(route));
  }
}

}  // namespace lstmad::daemon
