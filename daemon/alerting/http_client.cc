#include "alerting/http_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "lstmad/core/text.h"

namespace lstmad::daemon {
namespace {

using Clock = std::chrono::steady_clock;

int RemainingMs(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

bool WaitFor(int fd, short events, Clock::time_point deadline) {
  pollfd p{fd, events, 0};
  int rc;
  do {
    rc = poll(&p, 1, RemainingMs(deadline));
  } while (rc < 0 && errno == EINTR);
  return rc > 0;
}

// A non-blocking connect bounded by the deadline; -1 with `error` set on failure.
int ConnectTo(const HttpUrl& url, Clock::time_point deadline, std::string* error) {
  addrinfo hints{}, *result = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  if (int rc = getaddrinfo(url.host.c_str(), url.port.c_str(), &hints, &result); rc != 0) {
    *error = std::string("cannot resolve: ") + gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
    int err = errno;
    if (err == EINPROGRESS && WaitFor(fd, POLLOUT, deadline)) {
      socklen_t len = sizeof err;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == 0) break;
    }
    *error = err == EINPROGRESS ? "connect timed out" : std::string("connect: ") + std::strerror(err);
    close(fd);
    fd = -1;
  }
  freeaddrinfo(result);
  return fd;
}

}  // namespace

core::Result<HttpUrl> ParseHttpUrl(const std::string& url) {
  // Configuration refuses credentials in the URL; this keeps them out of
  // error messages and requests should such a URL arrive another way.
  if (core::UrlHasCredentials(url)) {
    return core::Status::Error(core::RedactUrlCredentials(url) +
                               ": credentials in the URL are not supported");
  }
  HttpUrl out;
  out.https = url.rfind("https://", 0) == 0;
  if (!out.https && url.rfind("http://", 0) != 0) {
    return core::Status::Error(url + ": only http:// and https:// URLs are supported");
  }
  const std::string rest = url.substr(out.https ? 8 : 7);
  const size_t slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  out.path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!out.path.empty() && out.path.back() == '/') out.path.pop_back();
  const size_t colon = authority.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return core::Status::Error(url + ": expected http[s]://HOST:PORT");
  out.host = authority.substr(0, colon);
  if (out.host.size() > 2 && out.host.front() == '[') out.host = out.host.substr(1, out.host.size() - 2);
  out.port = authority.substr(colon + 1);
  return out;
}

namespace {

// Connects and writes all of `request` before `deadline`; the socket, or an
// error naming `where` (the socket closed).
core::Result<int> Send(const HttpUrl& url, const std::string& request, Clock::time_point deadline,
                       const std::string& where) {
  std::string error;
  const int fd = ConnectTo(url, deadline, &error);
  if (fd < 0) return core::Status::Error(where + ": " + error);
  size_t sent = 0;
  while (sent < request.size()) {
    if (!WaitFor(fd, POLLOUT, deadline)) {
      close(fd);
      return core::Status::Error(where + ": send timed out");
    }
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
      close(fd);
      return core::Status::Error(where + ": send: " + std::strerror(errno));
    }
    if (n > 0) sent += static_cast<size_t>(n);
  }
  return fd;
}

// "HTTP/1.1 200 OK" -> 200.
core::Result<int> StatusOf(const std::string& response, const std::string& where) {
  if (response.size() < 12 || response.rfind("HTTP/", 0) != 0) {
    return core::Status::Error(where + ": no HTTP response");
  }
  const size_t space = response.find(' ');
  return std::atoi(response.c_str() + space + 1);
}

}  // namespace

core::Result<int> HttpPost(const HttpUrl& url, const std::string& path, const std::string& body,
                           const std::string& authorization, std::chrono::milliseconds timeout,
                           const TlsTransport& tls, const std::string& content_headers) {
  const std::string where =
      (url.https ? "https://" : "http://") + url.host + ":" + url.port + url.path + path;
  std::string request = "POST " + url.path + path + " HTTP/1.1\r\nHost: " + url.host + ":" + url.port +
                        "\r\n" + content_headers + "Content-Length: " +
                        std::to_string(body.size()) + "\r\nConnection: close\r\nUser-Agent: lstmad\r\n";
  if (!authorization.empty()) request += "Authorization: " + authorization + "\r\n";
  request += "\r\n" + body;
  if (url.https) {
    if (!tls) return core::Status::Error(where + ": https needs a TLS client (alertmanager.tls)");
    core::Result<std::string> response = tls(url.host, url.port, request, timeout);
    if (!response.ok()) return core::Status::Error(where + ": " + response.status().message());
    return StatusOf(*response, where);
  }
  const Clock::time_point deadline = Clock::now() + timeout;
  core::Result<int> connected = Send(url, request, deadline, where);
  if (!connected.ok()) return connected.status();
  const int fd = *connected;
  std::string response;
  char buf[1024];
  while (response.find("\r\n") == std::string::npos && response.size() < 8192) {
    if (!WaitFor(fd, POLLIN, deadline)) break;
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    response.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return StatusOf(response, where);
}

core::Result<HttpGetResponse> HttpGet(const HttpUrl& url, const std::string& path_and_query,
                                   const std::string& authorization, std::chrono::milliseconds timeout,
                                   size_t max_bytes) {
  const std::string path = path_and_query.substr(0, path_and_query.find('?'));
  const std::string where = "http://" + url.host + ":" + url.port + url.path + path;
  if (url.https) return core::Status::Error(where + ": https is not supported here (plain http only)");
  std::string request = "GET " + url.path + path_and_query + " HTTP/1.0\r\nHost: " + url.host + ":" + url.port +
                        "\r\nConnection: close\r\nUser-Agent: lstmad\r\nAccept: application/json\r\n";
  if (!authorization.empty()) request += "Authorization: " + authorization + "\r\n";
  request += "\r\n";
  const Clock::time_point deadline = Clock::now() + timeout;
  core::Result<int> connected = Send(url, request, deadline, where);
  if (!connected.ok()) return connected.status();
  const int fd = *connected;
  std::string response;
  char buf[65536];
  for (;;) {
    if (!WaitFor(fd, POLLIN, deadline)) {
      close(fd);
      return core::Status::Error(where + ": no complete response within " +
                                 std::to_string(timeout.count()) + " ms");
    }
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) break;
    response.append(buf, static_cast<size_t>(n));
    if (response.size() > max_bytes) {
      close(fd);
      return core::Status::Error(where + ": response larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
  close(fd);
  core::Result<int> status = StatusOf(response, where);
  if (!status.ok()) return status.status();
  const size_t body = response.find("\r\n\r\n");
  if (body == std::string::npos) return core::Status::Error(where + ": response without a header end");
  return HttpGetResponse{*status, response.substr(body + 4)};
}

}  // namespace lstmad::daemon
