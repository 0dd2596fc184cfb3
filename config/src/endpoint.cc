#include "endpoint_parse.h"

#include <charconv>
#include <string>

#include "lstmad/core/text.h"

namespace lstmad::config {

std::string Endpoint::ToString() const {
  const std::string port_text = std::to_string(port);
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + port_text;
  return host + ":" + port_text;
}

namespace detail {
namespace {

core::Status ParsePort(std::string_view text, uint16_t* port) {
  unsigned value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  // from_chars takes no sign, so "-1" and "+1" fail here too.
  if (text.empty() || ec != std::errc() || ptr != end || value > 65535) {
    return core::Status::Error("port must be a number from 0 to 65535, got " + core::Quote(text));
  }
  *port = static_cast<uint16_t>(value);
  return core::Status::Ok();
}

}  // namespace

core::Result<Endpoint> ParseEndpoint(std::string_view text) {
  const auto expected = [&] {
    return core::Status::Error("expected HOST:PORT, got " + core::Quote(text));
  };
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return core::Status::Error("expected [IPV6-HOST]:PORT, got " + core::Quote(text));
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return expected();
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return core::Status::Error("IPv6 hosts go in brackets, e.g. \"[::1]:7878\"; got " +
                                 core::Quote(text));
    }
  }
  if (host.empty()) return core::Status::Error("empty host in " + core::Quote(text));
  if (host.find_first_of(" \t[]") != std::string_view::npos) {
    return core::Status::Error("bad host in " + core::Quote(text));
  }
  Endpoint endpoint;
  endpoint.host = std::string(host);
  LSTMAD_RETURN_IF_ERROR(ParsePort(port, &endpoint.port));
  return endpoint;
}

}  // namespace detail
}  // namespace lstmad::config
