// Prometheus remote write 1.0 bodies: a WriteRequest protobuf, compressed
// with snappy's block format (not its framing format), as
// `Content-Encoding: snappy` and `Content-Type: application/x-protobuf` say.
// Decoding is bounded (the uncompressed size is checked against a limit
// before anything is allocated for it) and names what is wrong; encoding
// is what the write-back client sends. Pure functions: thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lstmad/core/status.h"

namespace lstmad::daemon::remote {

struct Label {
  std::string name;
  std::string value;
  bool operator==(const Label&) const = default;
};

struct Sample {
  double value = 0;
  int64_t timestamp_ms = 0;
  bool operator==(const Sample&) const = default;
};

struct Series {
  std::vector<Label> labels;  // as sent: the spec asks senders to sort them by name
  std::vector<Sample> samples;
  bool operator==(const Series&) const = default;
};

// Why a body was refused; each is a distinct reason for the counters.
enum class DecodeError {
  kNone,
  kSnappy,        // not a snappy block, or damaged
  kTooLarge,      // the uncompressed size is over the limit
  kProtobuf,      // the bytes do not parse as a WriteRequest
};

struct Decoded {
  DecodeError error = DecodeError::kNone;
  std::string message;  // for a refusal: what is wrong, for the client
  std::vector<Series> series;
};

// Decodes a snappy-compressed WriteRequest whose uncompressed size is at
// most `max_uncompressed` bytes.
Decoded DecodeWriteRequest(std::string_view body, size_t max_uncompressed);

// Parses an uncompressed WriteRequest (what the fuzz target drives too).
Decoded ParseWriteRequest(std::string_view protobuf);

// The snappy-compressed WriteRequest of `series`.
std::string EncodeWriteRequest(const std::vector<Series>& series);

// Prometheus' stale marker: a NaN with this bit pattern ends a series
// (value.StaleNaN); other NaNs are values, if useless ones.
inline constexpr uint64_t kStaleNaNBits = 0x7ff0000000000002ull;
bool IsStaleMarker(double value);

}  // namespace lstmad::daemon::remote
