#include "net/http_route.h"

namespace lstmad::daemon {

std::optional<std::string_view> HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return std::string_view(value);
  }
  return std::nullopt;
}

namespace {

// Calls fn(raw value) for each parameter `name` of `query`, in order, until
// fn returns true.
template <typename Fn>
void ForEachParam(std::string_view query, std::string_view name, Fn fn) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    const std::optional<std::string> key = PercentDecode(pair.substr(0, eq), true);
    if (!key || *key != name) continue;
    if (fn(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1))) return;
  }
}

}  // namespace

std::optional<std::string> HttpRequest::QueryParam(std::string_view name) const {
  std::optional<std::string> out;
  bool found = false;
  ForEachParam(query, name, [&](std::string_view raw) {
    out = PercentDecode(raw, true);
    found = true;
    return true;
  });
  return found ? out : std::nullopt;
}

std::vector<std::string> HttpRequest::QueryParams(std::string_view name) const {
  std::vector<std::string> out;
  ForEachParam(query, name, [&](std::string_view raw) {
    if (auto value = PercentDecode(raw, true)) out.push_back(std::move(*value));
    return false;
  });
  return out;
}

std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+' && plus_is_space) {
      out += ' ';
    } else if (c != '%') {
      out += c;
    } else {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hex(text[i + 1]), lo = hex(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    }
  }
  return out;
}

const char* HttpReason(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
  }
  return "Unknown";
}

}  // namespace lstmad::daemon
