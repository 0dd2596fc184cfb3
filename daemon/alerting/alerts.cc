#include "alerting/alerts.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <string_view>

namespace lstmad::daemon {
namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not one
// (overlong forms, surrogates and code points past U+10FFFF are invalid).
size_t Utf8Length(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > s.size() || byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

// RFC 8259 string. Valid UTF-8 passes through; a byte that is not part of a
// valid sequence becomes U+FFFD, so the line stays valid JSON whatever the
// stream's tags held.
void AppendString(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else if (c >= 0x80) {
      const size_t n = Utf8Length(s, i);
      out += n == 0 ? std::string_view("\\ufffd") : s.substr(i, n);
      i += n == 0 ? 1 : n;
      continue;
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  out += '"';
}

// %.9g, but locale-independent; JSON has no NaN or infinity, so null.
void AppendNumber(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  char buffer[32];
  const auto result =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::general, 9);
  out.append(buffer, result.ptr);
}

// RFC 3339 in UTC with nanoseconds, e.g. 2024-05-01T12:00:00.000000001Z.
void AppendTime(std::string& out, int64_t time_ns) {
  constexpr int64_t kNsPerSecond = 1'000'000'000;
  int64_t seconds = time_ns / kNsPerSecond;
  int64_t nanos = time_ns % kNsPerSecond;
  if (nanos < 0) {  // floor, so times before 1970 read forward from their second
    nanos += kNsPerSecond;
    --seconds;
  }
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[48];
  const size_t n = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &tm);
  out += '"';
  out.append(buffer, n);
  std::snprintf(buffer, sizeof buffer, ".%09lldZ", static_cast<long long>(nanos));
  out += buffer;
  out += '"';
}

void AppendKey(std::string& out, std::string_view key) {
  if (out.size() > 1) out += ',';
  AppendString(out, key);
  out += ':';
}

}  // namespace

AlertState::Transition AlertState::Observe(bool above_threshold,
                                           const config::AlertSettings& settings) {
  // While quiet, count windows above; while firing, count windows not above.
  // Any window on the other side breaks the run.
  if (above_threshold == firing_) {
    run_ = 0;
    return Transition::kNone;
  }
  const int needed = firing_ ? settings.clear_after : settings.fire_after;
  if (++run_ < needed) return Transition::kNone;
  run_ = 0;
  firing_ = !firing_;
  return firing_ ? Transition::kFired : Transition::kResolved;
}

std::string AlertEventJson(const AlertEvent& event) {
  std::string out = "{";
  AppendKey(out, "kind");
  AppendString(out, event.kind);
  AppendKey(out, "time");
  AppendTime(out, event.time_ns);
  AppendKey(out, "model");
  AppendString(out, event.model);
  AppendKey(out, "stream");
  AppendString(out, event.stream);
  AppendKey(out, "error");
  AppendNumber(out, event.error);
  AppendKey(out, "threshold");
  AppendNumber(out, event.threshold);
  AppendKey(out, "window_start");
  AppendTime(out, event.window_start_ns);
  AppendKey(out, "window_end");
  AppendTime(out, event.window_end_ns);
  AppendKey(out, "top_features");
  out += '[';
  for (size_t i = 0; i < event.top_features.size(); ++i) {
    out += i == 0 ? "{" : ",{";
    AppendString(out, "feature");
    out += ':';
    AppendString(out, event.top_features[i].first);
    out += ",\"share\":";
    AppendNumber(out, event.top_features[i].second);
    out += '}';
  }
  out += "]}";
  return out;
}

}  // namespace lstmad::daemon
