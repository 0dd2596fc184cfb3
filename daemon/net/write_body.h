// The body of an InfluxDB write request (POST /write, /api/v2/write): its
// lines split and checked, and their timestamps moved from the request's
// `precision` to ingest.precision, the unit the line path reads them in.
// Pure functions of their input; thread-compatible (fuzz/write_body_fuzz.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "ingest/line_protocol.h"

namespace lstmad::daemon {

enum class WriteApi { kV1, kV2 };

// Nanoseconds per unit of a `precision` query value: 1.x takes n, ns, u, us,
// ms, s, m, h (InfluxDB 1.x accepts both spellings of n and u); v2 takes ns,
// us, ms, s. Absent: nanoseconds. Nullopt for any other value.
std::optional<int64_t> WritePrecisionNs(std::optional<std::string_view> precision, WriteApi api);

struct WriteLine {
  enum class Verdict { kPoint, kSkipped, kParseError, kTooLong, kOutOfRange };
  std::string_view text;  // for kPoint: the line in ingest.precision (a view into the body or a scratch string)
  Verdict verdict = Verdict::kSkipped;
  size_t number = 0;      // 1-based line number in the body
  std::string error;      // for the errors: what is wrong
};

// Calls `each` for every line of `body` ('\n'-separated, a '\r' before it
// dropped; the last line needs no '\n'), in order. Timestamps written in
// units of `from_ns` nanoseconds are rewritten for `to_ns` ones: multiplied
// when the request's unit is the coarser (kOutOfRange when that overflows),
// truncated toward zero when it is the finer. `parsed` is scratch storage.
void ForEachWriteLine(std::string_view body, int64_t from_ns, int64_t to_ns, size_t max_line_bytes,
                      ParsedLine* parsed, const std::function<void(const WriteLine&)>& each);

}  // namespace lstmad::daemon
