// Fuzzes the remote_write receiver's reading of client bytes: the input is
// an uncompressed WriteRequest (ParseWriteRequest, where the protobuf
// parser meets the bytes), and also a snappy body (DecodeWriteRequest).
// The decoded series go through a fixed RemoteWriteMapping (two models, `=`
// and `!=` matchers, stream_labels on one) and a FeatureVectorBuffer with
// small bounds, as the receiver drives them. Properties:
//  - every sample is accounted for exactly once: accepted in a complete
//    vector, dropped for a reason, or still pending;
//  - each complete vector becomes a line that ParseLine reads back as the
//    model's measurement, the stream's tags, the values bit for bit and
//    the timestamp, unless a label value holds a byte line protocol cannot
//    carry (a control character or a refused format control), which must
//    then be a parse error, never a different point.
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "ingest/line_protocol.h"
#include "ingest/remote_write_mapping.h"
#include "remote/write_request.h"

namespace {

using lstmad::daemon::FeatureVectorBuffer;
using lstmad::daemon::ParsedLine;
using lstmad::daemon::ParseError;
using lstmad::daemon::ParseLine;
using lstmad::daemon::ParseResult;
using lstmad::daemon::RemoteWriteMapping;
using lstmad::daemon::RemoteWriteModel;
using lstmad::daemon::SampleDrop;
using lstmad::daemon::SeriesTarget;

lstmad::config::SeriesSelector Selector(std::string metric,
                                        std::vector<lstmad::config::LabelMatcher> m = {}) {
  lstmad::config::SeriesSelector s;
  s.metric = std::move(metric);
  s.matchers = std::move(m);
  return s;
}

const RemoteWriteMapping& Mapping() {
  static const RemoteWriteMapping mapping = [] {
    RemoteWriteModel node;
    node.measurement = "node";
    node.features = {"load", "mem"};
    node.selection.features = {{"load", Selector("a")}, {"mem", Selector("b", {{"k", "v", true}})}};
    RemoteWriteModel pump;
    pump.measurement = "pump x";
    pump.features = {"t"};
    pump.selection.features = {{"t", Selector("a", {{"job", "skip", false}})}};
    pump.selection.stream_labels = {"instance", "site"};
    auto built = RemoteWriteMapping::Build({"node", "pump"}, {node, pump});
    LSTMAD_FUZZ_CHECK(built.ok(), built.status().message());
    return std::move(built).value();
  }();
  return mapping;
}

// Whether `value` has a byte that line protocol cannot carry in a tag
// value: C0 controls, DEL, or any non-ASCII (which may be a format control
// ParseLine refuses; exact refusal is line_protocol_fuzz's business).
bool Unrepresentable(std::string_view value) {
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) return true;
  }
  return false;
}

void Drive(const std::vector<lstmad::daemon::remote::Series>& series) {
  const RemoteWriteMapping& mapping = Mapping();
  FeatureVectorBuffer buffer({3, 5'000, 16});
  FeatureVectorBuffer::Outcome out;
  uint64_t added = 0;
  std::vector<SeriesTarget> targets;
  // Where each stream's tags came from, to check the line against.
  for (const auto& s : series) {
    if (!mapping.Match(s.labels, &targets)) {
      LSTMAD_FUZZ_CHECK(targets.empty(), "targets for a series with a bad label name");
      continue;
    }
    for (const SeriesTarget& t : targets) {
      const auto features = static_cast<uint32_t>(mapping.models()[t.model].features.size());
      for (const auto& sample : s.samples) {
        if (std::isnan(sample.value) || std::isinf(sample.value)) continue;
        ++added;
        buffer.Add(t, features, sample.timestamp_ms, sample.value, 0, &out);
      }
    }
  }
  uint64_t dropped = 0;
  for (const uint64_t d : out.dropped) dropped += d;
  LSTMAD_FUZZ_CHECK(out.accepted + dropped + buffer.pending_samples() == added,
                    "samples lost or counted twice");
  ParsedLine point;
  ParseError error;
  std::string key;
  for (const FeatureVectorBuffer::Ready& r : out.ready) {
    const auto& model = mapping.models()[r.model];
    LSTMAD_FUZZ_CHECK(r.values.size() == model.features.size(), r.stream);
    const std::string line =
        mapping.FormatLine(SeriesTarget{r.model, 0, r.stream}, r.values, r.timestamp_ms, 1'000'000);
    const ParseResult result = ParseLine(line, &point, &error);
    if (Unrepresentable(r.stream)) {
      LSTMAD_FUZZ_CHECK(result != ParseResult::kSkipped, line);
      if (result == ParseResult::kError) continue;
    }
    LSTMAD_FUZZ_CHECK(result == ParseResult::kPoint, line + ": " + error.message);
    LSTMAD_FUZZ_CHECK(point.measurement == model.measurement, line);
    point.StreamKey(&key);
    LSTMAD_FUZZ_CHECK(key == r.stream, line + " keys as " + key);
    LSTMAD_FUZZ_CHECK(point.timestamp && *point.timestamp == r.timestamp_ms, line);
    LSTMAD_FUZZ_CHECK(point.field_count == r.values.size(), line);
    for (size_t f = 0; f < r.values.size(); ++f) {
      const auto* v = point.FindField(model.features[f]);
      LSTMAD_FUZZ_CHECK(
          v != nullptr && std::bit_cast<uint64_t>(v->number) == std::bit_cast<uint64_t>(r.values[f]), line);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const lstmad::daemon::remote::Decoded parsed = lstmad::daemon::remote::ParseWriteRequest(input);
  if (parsed.error == lstmad::daemon::remote::DecodeError::kNone) Drive(parsed.series);
  const lstmad::daemon::remote::Decoded decoded = lstmad::daemon::remote::DecodeWriteRequest(input, 1 << 20);
  if (decoded.error == lstmad::daemon::remote::DecodeError::kNone) Drive(decoded.series);
  return 0;
}
