// Fuzzes the body path of the HTTP write API (daemon/net/write_body.h and
// gzip.h): the input's first byte picks the request's precision (of the
// 1.x and v2 spellings, valid or not) and ingest.precision; the rest is the
// body, gunzipped first when it starts with gzip's magic (bounded, as the
// server does). Properties:
//  - the lines come in order, numbered 1, 2, ... one per '\n'-separated
//    piece of the body, and none is longer than the limit unless refused as
//    such;
//  - a point's text parses again as a point, with the same measurement and
//    field count, and its timestamp is the original one rescaled exactly
//    (multiplied when the request's unit is the coarser, truncated
//    otherwise);
//  - the decoder never produces more than its bound.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "ingest/line_protocol.h"
#include "net/gzip.h"
#include "net/write_body.h"

namespace {

using lstmad::daemon::ParsedLine;
using lstmad::daemon::ParseError;
using lstmad::daemon::ParseLine;
using lstmad::daemon::ParseResult;
using lstmad::daemon::WriteApi;
using lstmad::daemon::WriteLine;

constexpr size_t kMaxLineBytes = 512;
constexpr size_t kMaxDecoded = 1 << 16;
constexpr std::string_view kPrecisions[] = {"", "n", "ns", "u", "us", "ms", "s", "m", "h", "x", "NS", "sec"};
constexpr int64_t kIngestNs[] = {1, 1000, 1000000, 1000000000};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t pick = data[0];
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  const WriteApi api = (pick & 0x80) != 0 ? WriteApi::kV2 : WriteApi::kV1;
  const std::string_view precision = kPrecisions[(pick & 0x0f) % std::size(kPrecisions)];
  const int64_t ingest_ns = kIngestNs[(pick >> 4) & 3];
  std::string decoded;
  if (body.size() >= 2 && body[0] == '\x1f' && body[1] == '\x8b') {
    const auto result = lstmad::daemon::Gunzip(body, kMaxDecoded, &decoded);
    LSTMAD_FUZZ_CHECK(decoded.size() <= kMaxDecoded + 16384, "decoder past its bound");
    if (result != lstmad::daemon::GunzipResult::kOk) return 0;
    LSTMAD_FUZZ_CHECK(decoded.size() <= kMaxDecoded, "an accepted body over the bound");
    body = decoded;
  }
  const std::optional<int64_t> from_ns =
      lstmad::daemon::WritePrecisionNs(precision.empty() ? std::nullopt : std::optional(precision), api);
  if (!from_ns) return 0;

  // The pieces the body should split into, the obvious way.
  std::vector<std::string_view> pieces;
  for (std::string_view rest = body; !rest.empty();) {
    const size_t nl = rest.find('\n');
    pieces.push_back(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
  }
  ParsedLine scratch, original, again;
  ParseError error;
  size_t seen = 0;
  lstmad::daemon::ForEachWriteLine(body, *from_ns, ingest_ns, kMaxLineBytes, &scratch, [&](const WriteLine& line) {
    LSTMAD_FUZZ_CHECK(line.number == seen + 1 && seen < pieces.size(), "lines out of order");
    std::string_view piece = pieces[seen++];
    if (!piece.empty() && piece.back() == '\r') piece.remove_suffix(1);
    if (line.verdict == WriteLine::Verdict::kTooLong) {
      LSTMAD_FUZZ_CHECK(piece.size() > kMaxLineBytes, "a short line refused as long");
      return;
    }
    LSTMAD_FUZZ_CHECK(piece.size() <= kMaxLineBytes, "a long line let through");
    if (line.verdict != WriteLine::Verdict::kPoint) return;
    LSTMAD_FUZZ_CHECK(ParseLine(piece, &original, &error) == ParseResult::kPoint, "not a point as sent");
    LSTMAD_FUZZ_CHECK(ParseLine(line.text, &again, &error) == ParseResult::kPoint, line.text);
    LSTMAD_FUZZ_CHECK(again.measurement == original.measurement && again.field_count == original.field_count,
                      line.text);
    LSTMAD_FUZZ_CHECK(again.timestamp.has_value() == original.timestamp.has_value(), line.text);
    if (!original.timestamp) return;
    const int64_t expected = *from_ns >= ingest_ns ? *original.timestamp * (*from_ns / ingest_ns)
                                                   : *original.timestamp / (ingest_ns / *from_ns);
    LSTMAD_FUZZ_CHECK(*again.timestamp == expected, line.text);
  });
  LSTMAD_FUZZ_CHECK(seen == pieces.size(), "lines lost");
  return 0;
}
