// What the daemon's HTTP listeners serve: a table of routes, each a path, the
// methods it takes, whether basic auth (when configured) guards it, how large
// a body it accepts, and a handler that turns a parsed request into a reply.
// Handlers run on the io thread and must be quick (no blocking I/O, no
// password checks): the server authenticates before it calls them, and has
// read the whole body (at most max_body bytes) by then. No Asio here: the
// subsystems that serve pages include this header only.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lstmad::daemon {

struct HttpRequest {
  std::string method;  // "GET" (also for HEAD: the server drops the body), "POST", ...
  std::string path;    // the target before '?', as sent (not percent-decoded)
  std::string query;   // after '?', raw
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, values trimmed
  std::string body;
  std::string peer;  // the client's IP address, as text

  // The first header named `lower_name`, or nullopt.
  std::optional<std::string_view> Header(std::string_view lower_name) const;
  // The first query parameter `name`, percent-decoded ('+' is a space), or
  // nullopt when absent or not decodable.
  std::optional<std::string> QueryParam(std::string_view name) const;
  // Every decodable value of query parameter `name`, in order
  // (label=a&label=b); undecodable ones are left out.
  std::vector<std::string> QueryParams(std::string_view name) const;
};

struct HttpReply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones, e.g. Retry-After
};

using HttpHandler = std::function<HttpReply(const HttpRequest&)>;

// The answer to a request a route defers (HttpRoute::deferred). Used on the
// io thread only. open(): the client still waits (the connection's deadline
// has not passed); Send() answers, once (a no-op once the connection is gone).
class HttpResponder {
 public:
  virtual ~HttpResponder() = default;
  virtual bool open() const = 0;
  virtual void Send(HttpReply reply) = 0;
};
// Takes the request (body included) and answers through the responder, now
// or later (e.g. once a queue has room), on the io thread.
using HttpDeferredHandler = std::function<void(HttpRequest, std::shared_ptr<HttpResponder>)>;

struct HttpRoute {
  // Exact path, or, when it ends with '/', every path under it (the longest
  // matching prefix wins over shorter ones; an exact route over a prefix).
  std::string path;
  std::vector<std::string> methods = {"GET"};  // GET also answers HEAD
  bool authenticated = true;                   // metrics.basic_auth_users applies
  size_t max_body = 0;                         // bytes; larger bodies get 413
  HttpHandler handler;
};

// Percent-decoding of a URL component ('+' as a space when `plus_is_space`);
// nullopt on a malformed escape.
std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space);

// The reason phrase of a status code ("Not Found"), "Unknown" for others.
const char* HttpReason(int status);

}  // namespace lstmad::daemon
