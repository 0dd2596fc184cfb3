#include "net/tls_client.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <memory>

#include "net/asio.h"

namespace lstmad::daemon {
namespace {

using Clock = std::chrono::steady_clock;

bool WaitFor(int fd, short events, Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  pollfd p{fd, events, 0};
  int rc;
  do {
    rc = ::poll(&p, 1, left > 0 ? static_cast<int>(left) : 0);
  } while (rc < 0 && errno == EINTR);
  return rc > 0;
}

// A non-blocking TCP connection within the deadline; -1 with `error` set.
int Connect(const std::string& host, const std::string& port, Clock::time_point deadline,
            std::string* error) {
  addrinfo hints{}, *result = nullptr;
  hints.ai_socktype = SOCK_STREAM;
  if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &result); rc != 0) {
    *error = std::string("cannot resolve: ") + gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) break;
    int err = errno;
    if (err == EINPROGRESS && WaitFor(fd, POLLOUT, deadline)) {
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == 0) break;
    }
    *error = err == EINPROGRESS ? "connect timed out" : std::string("connect: ") + std::strerror(err);
    ::close(fd);
    fd = -1;
  }
  ::freeaddrinfo(result);
  return fd;
}

// The reason of the last failed TLS call: the certificate check's verdict
// when that is what failed, else OpenSSL's error queue.
std::string TlsError(SSL* ssl, const char* what) {
  const long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    ERR_clear_error();
    return std::string(what) + ": certificate verify failed: " + X509_verify_cert_error_string(verify);
  }
  const unsigned long err = ERR_get_error();
  ERR_clear_error();
  if (err == 0) return std::string(what) + " failed (connection closed)";
  char text[256];
  ERR_error_string_n(err, text, sizeof text);
  return std::string(what) + ": " + text;
}

// Calls `op` until it succeeds, waiting on the socket for what OpenSSL asks
// for; false on an error or at the deadline.
template <class Op>
bool Drive(SSL* ssl, int fd, Clock::time_point deadline, Op op, int* result) {
  while (true) {
    *result = op();
    if (*result > 0) return true;
    const int err = SSL_get_error(ssl, *result);
    const short events = err == SSL_ERROR_WANT_READ ? POLLIN : err == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (events == 0 || !WaitFor(fd, events, deadline)) return false;
  }
}

struct SslDeleter {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};

// Binds the server's name (or IP address) to the certificate check and SNI.
bool ExpectPeer(SSL* ssl, const std::string& host) {
  unsigned char address[16];
  const bool is_ip =
      ::inet_pton(AF_INET, host.c_str(), address) == 1 || ::inet_pton(AF_INET6, host.c_str(), address) == 1;
  if (is_ip) return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) == 1;
  return SSL_set1_host(ssl, host.c_str()) == 1 && SSL_set_tlsext_host_name(ssl, host.c_str()) == 1;
}

core::Result<std::string> Exchange(SSL_CTX* context, const std::string& host, const std::string& port,
                                   const std::string& request, std::chrono::milliseconds timeout) {
  // OpenSSL writes with write(2), which raises SIGPIPE when the server has
  // closed the connection, and SIGPIPE ends the daemon. Blocked on this
  // thread it stays pending here instead and the write fails with EPIPE.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
  const Clock::time_point deadline = Clock::now() + timeout;
  std::string error;
  const int fd = Connect(host, port, deadline, &error);
  if (fd < 0) return core::Status::Error(error);
  std::unique_ptr<SSL, SslDeleter> ssl(SSL_new(context));
  auto fail = [&](std::string message) {
    ::close(fd);
    return core::Status::Error(std::move(message));
  };
  if (!ssl || SSL_set_fd(ssl.get(), fd) != 1 || !ExpectPeer(ssl.get(), host))
    return fail("cannot set up TLS");
  int rc = 0;
  if (!Drive(
          ssl.get(), fd, deadline, [&] { return SSL_connect(ssl.get()); }, &rc)) {
    return fail(Clock::now() >= deadline ? "TLS handshake timed out" : TlsError(ssl.get(), "TLS handshake"));
  }
  size_t sent = 0;
  while (sent < request.size()) {
    const int chunk = static_cast<int>(std::min<size_t>(request.size() - sent, 1 << 20));
    if (!Drive(
            ssl.get(), fd, deadline, [&] { return SSL_write(ssl.get(), request.data() + sent, chunk); },
            &rc)) {
      return fail(Clock::now() >= deadline ? "send timed out" : TlsError(ssl.get(), "send"));
    }
    sent += static_cast<size_t>(rc);
  }
  std::string response;
  char buf[1024];
  while (response.find("\r\n") == std::string::npos && response.size() < 8192) {
    if (!Drive(
            ssl.get(), fd, deadline, [&] { return SSL_read(ssl.get(), buf, sizeof buf); }, &rc))
      break;
    response.append(buf, static_cast<size_t>(rc));
  }
  ERR_clear_error();
  SSL_shutdown(ssl.get());  // best effort: Alertmanager has answered
  ::close(fd);
  return response;
}

}  // namespace

core::Result<TlsRequestFn> MakeTlsClient(const std::string& ca_file, const std::string& cert_file,
                                         const std::string& key_file, const std::string& key_path) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  boost::system::error_code ec;
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                           asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                           asio::ssl::context::no_tlsv1_1,
                       ec);
  if (ca_file.empty()) {
    context->set_default_verify_paths(ec);
  } else {
    context->load_verify_file(ca_file, ec);
  }
  if (ec) return core::Status::Error(key_path + ".ca: " + ca_file + ": " + ec.message());
  context->set_verify_mode(asio::ssl::verify_peer);
  if (!cert_file.empty()) {
    context->use_certificate_chain_file(cert_file, ec);
    if (ec) return core::Status::Error(key_path + ".cert: " + cert_file + ": " + ec.message());
    context->use_private_key_file(key_file, asio::ssl::context::pem, ec);
    if (ec) return core::Status::Error(key_path + ".key: " + key_file + ": " + ec.message());
  }
  return TlsRequestFn([context](const std::string& host, const std::string& port, const std::string& request,
                                std::chrono::milliseconds timeout) {
    return Exchange(context->native_handle(), host, port, request, timeout);
  });
}

}  // namespace lstmad::daemon
