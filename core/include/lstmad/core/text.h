// Small text helpers shared by every layer: UTF-8 validation, RFC 3339 UTC
// timestamps, and quoting untrusted values for error messages.
//
// Pure functions of their arguments (no clock, no locale): safe from any
// thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lstmad::core {

// Length of the well-formed UTF-8 sequence that starts at s[i] (1 for ASCII),
// or 0 when the bytes there are not one: a stray continuation byte, a
// truncated sequence, an overlong form, a surrogate (U+D800..U+DFFF) or a code
// point past U+10FFFF. Requires i < s.size().
size_t Utf8SequenceLength(std::string_view s, size_t i);

// True when all of `s` is well-formed UTF-8 (RFC 3629).
bool IsValidUtf8(std::string_view s);

// RFC 3339 in UTC with nanoseconds, e.g. 2024-05-01T12:00:00.000000001Z, of a
// time in nanoseconds since the Unix epoch. Times before 1970 count forward
// from their (earlier) second: -1 is 1969-12-31T23:59:59.999999999Z. Every
// int64 is a valid input (years 1677 to 2262).
std::string FormatRfc3339Nanos(int64_t time_ns);

// RFC 3339 in UTC to the second, e.g. 2024-05-01T12:00:00Z, of a time in
// seconds since the Unix epoch. RFC 3339 has four-digit years: defined for
// 0000-01-01 to 9999-12-31.
std::string FormatRfc3339Seconds(int64_t time_s);

// RFC 4648 base64 (with padding) of `bytes`, as HTTP basic auth sends
// "user:password".
std::string Base64Encode(std::string_view bytes);

// A number with six significant digits in printf's %g style (0.0005,
// 1.23457e+06, nan, inf), for metadata and messages people read; not for
// values that must read back exactly.
std::string FormatSignificant(double value);

// Quotes an untrusted value for an error message: wrapped in double quotes,
// `"` and `\` backslash-escaped, \n \r \t spelled so, every other control
// byte (C0, DEL, and the C1 range U+0080..U+009F, which terminals act on) and
// every byte that is not part of well-formed UTF-8 written \xNN (upper-case
// hex). So the message stays one line and cannot drive a terminal. A value
// longer than `max_bytes` is cut at a character boundary at or below it and
// followed by ... after the closing quote.
inline constexpr size_t kQuoteMaxBytes = 64;
std::string Quote(std::string_view value, size_t max_bytes = kQuoteMaxBytes);

// The user information of a URL (`scheme://USER:PASSWORD@host...`) replaced
// by REDACTED, so a password never reaches a log line or an error message:
// "http://u:p@am:9093/x" -> "http://REDACTED@am:9093/x". The authority ends
// at the first '/', '?' or '#' after "://", and the user information at its
// last '@' (a password may hold a stray '@'). Anything else is returned as
// it is.
std::string RedactUrlCredentials(std::string_view url);
// The `scheme://` URL's authority holds user information ('@').
bool UrlHasCredentials(std::string_view url);

}  // namespace lstmad::core
