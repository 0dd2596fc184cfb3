// Test support for the HTTP server's tests: the body of a raw HTTP response,
// and a password hash for the routes behind basic auth. Thread-safe (no state).
#pragma once

#include <string>

namespace lstmad::daemon::testing {

// bcrypt of "secret" (cost 12), as htpasswd -nB writes it.
inline constexpr char kHash[] = "$2b$12$L7bTVYluUx0x7tvUuC.DgerKUwLr0lvtE1Sdm.xY6fduHY5bvGVU6";

// What follows the headers of `response` ("" when it has none).
inline std::string Body(const std::string& response) {
  const size_t at = response.find("\r\n\r\n");
  return at == std::string::npos ? "" : response.substr(at + 4);
}

}  // namespace lstmad::daemon::testing
