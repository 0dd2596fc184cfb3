#include "app/console_routes.h"

#include <string>
#include <utility>
#include <vector>

namespace lstmad::daemon {
namespace {

// Every decodable value of query parameter `name`, in order (label=...&label=...).
std::vector<std::string> AllParams(std::string_view query, std::string_view name) {
  std::vector<std::string> values;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    const std::optional<std::string> key = PercentDecode(pair.substr(0, eq), true);
    if (!key || *key != name) continue;
    auto value = PercentDecode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    if (value) values.push_back(std::move(*value));
  }
  return values;
}

HttpReply Serve(const Console& console, const HttpRequest& request) {
  ConsoleRequest in;
  in.path = request.path;
  in.params.get = [&request](std::string_view name) { return request.QueryParam(name); };
  in.params.all = [&request](std::string_view name) { return AllParams(request.query, name); };
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
