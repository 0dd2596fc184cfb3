// Gunzip: decodes a gzip body (RFC 1952, one member or several back to back)
// into at most `max_output` bytes, so that a small request cannot inflate
// into gigabytes (a "gzip bomb" is refused as kTooLarge, with no more than
// max_output + one 16 KiB step held). Stateless and thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace lstmad::daemon {

enum class GunzipResult {
  kOk,
  kTooLarge,  // the decoded bytes exceed max_output
  kCorrupt,   // not gzip, a bad checksum, or cut short
};

// On kOk `out` holds the decoded bytes; otherwise its content is unspecified
// and `error` (may be null) says what was wrong.
GunzipResult Gunzip(std::string_view in, size_t max_output, std::string* out, std::string* error = nullptr);

}  // namespace lstmad::daemon
