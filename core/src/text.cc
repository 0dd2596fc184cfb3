#include "lstmad/core/text.h"

#include <chrono>
#include <cstdio>
#include <utility>

namespace lstmad::core {
namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;
constexpr int64_t kSecondsPerDay = 86'400;

// Date and time of day of `time_s`, without the zone designator.
std::string FormatSeconds(int64_t time_s) {
  // Floor division: a time before 1970 belongs to the day (and second) it
  // falls in, not to the one nearer zero.
  int64_t day = time_s / kSecondsPerDay;
  int64_t second_of_day = time_s % kSecondsPerDay;
  if (second_of_day < 0) {
    second_of_day += kSecondsPerDay;
    --day;
  }
  const std::chrono::year_month_day date{
      std::chrono::sys_days{std::chrono::days{static_cast<int>(day)}}};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(second_of_day / 3600), static_cast<int>(second_of_day / 60 % 60),
                static_cast<int>(second_of_day % 60));
  return buf;
}

// The C1 controls U+0080..U+009F, encoded C2 80..C2 9F.
bool IsC1Control(std::string_view s, size_t i, size_t length) {
  return length == 2 && static_cast<unsigned char>(s[i]) == 0xC2 &&
         static_cast<unsigned char>(s[i + 1]) <= 0x9F;
}

void AppendHexByte(unsigned char byte, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  *out += "\\x";
  *out += kHex[byte >> 4];
  *out += kHex[byte & 0xFu];
}

// Appends the escaped spelling of the ASCII byte c.
void AppendAscii(char c, std::string* out) {
  switch (c) {
    case '"': *out += "\\\""; return;
    case '\\': *out += "\\\\"; return;
    case '\n': *out += "\\n"; return;
    case '\r': *out += "\\r"; return;
    case '\t': *out += "\\t"; return;
    default: break;
  }
  const auto byte = static_cast<unsigned char>(c);
  if (byte < 0x20 || byte == 0x7F) {
    AppendHexByte(byte, out);
  } else {
    *out += c;
  }
}

}  // namespace

size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) return 1;
  size_t n = 0;
  // RFC 3629's table: the second byte's range excludes overlong forms (E0, F0),
  // surrogates (ED) and code points past U+10FFFF (F4).
  unsigned char lo = 0x80, hi = 0xBF;
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
  if (s.size() - i < n || byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string FormatRfc3339Nanos(int64_t time_ns) {
  // Split without multiplying back: seconds * 10^9 overflows near INT64_MIN.
  int64_t seconds = time_ns / kNsPerSecond;
  int64_t nanos = time_ns % kNsPerSecond;
  if (nanos < 0) {
    nanos += kNsPerSecond;
    --seconds;
  }
  char fraction[16];
  std::snprintf(fraction, sizeof fraction, ".%09lldZ", static_cast<long long>(nanos));
  return FormatSeconds(seconds) + fraction;
}

std::string FormatRfc3339Seconds(int64_t time_s) { return FormatSeconds(time_s) + "Z"; }

std::string FormatSignificant(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", value);
  return buf;
}

std::string Quote(std::string_view value, size_t max_bytes) {
  std::string out = "\"";
  size_t i = 0;
  while (i < value.size()) {
    const size_t length = Utf8SequenceLength(value, i);
    // Invalid bytes are shown one at a time; a character is never split.
    const size_t taken = length == 0 ? 1 : length;
    if (i + taken > max_bytes) break;
    if (length == 1) {
      AppendAscii(value[i], &out);
    } else if (length == 0 || IsC1Control(value, i, length)) {
      for (size_t k = i; k < i + taken; ++k) AppendHexByte(static_cast<unsigned char>(value[k]), &out);
    } else {
      out.append(value, i, length);
    }
    i += taken;
  }
  out += '"';
  if (i < value.size()) out += "...";
  return out;
}

namespace {

// [begin, end) of the user information including its '@', or npos.
std::pair<size_t, size_t> UserInfoSpan(std::string_view url) {
  const size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {std::string_view::npos, 0};
  const size_t begin = scheme_end + 3;
  const size_t authority_end = url.find_first_of("/?#", begin);
  const std::string_view authority = url.substr(
      begin, authority_end == std::string_view::npos ? std::string_view::npos : authority_end - begin);
  const size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return {std::string_view::npos, 0};
  return {begin, begin + at + 1};
}

}  // namespace

bool UrlHasCredentials(std::string_view url) { return UserInfoSpan(url).first != std::string_view::npos; }

std::string RedactUrlCredentials(std::string_view url) {
  const auto [begin, end] = UserInfoSpan(url);
  if (begin == std::string_view::npos) return std::string(url);
  return std::string(url.substr(0, begin)) + "REDACTED@" + std::string(url.substr(end));
}

std::string Base64Encode(std::string_view text) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < text.size(); i += 3) {
    const auto n = (static_cast<unsigned char>(text[i]) << 16) | (static_cast<unsigned char>(text[i + 1]) << 8) |
                   static_cast<unsigned char>(text[i + 2]);
    out += {kAlphabet[(n >> 18) & 63], kAlphabet[(n >> 12) & 63], kAlphabet[(n >> 6) & 63], kAlphabet[n & 63]};
  }
  if (i + 1 == text.size()) {
    const auto n = static_cast<unsigned char>(text[i]) << 16;
    out += {kAlphabet[(n >> 18) & 63], kAlphabet[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == text.size()) {
    const auto n = (static_cast<unsigned char>(text[i]) << 16) | (static_cast<unsigned char>(text[i + 1]) << 8);
    out += {kAlphabet[(n >> 18) & 63], kAlphabet[(n >> 12) & 63], kAlphabet[(n >> 6) & 63], '='};
  }
  return out;
}

}  // namespace lstmad::core
