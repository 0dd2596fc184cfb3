// Fuzzes the Graphite plaintext reader and template mapping
// (daemon/ingest/graphite.h): the input's first line is a list of templates
// separated by ';' (compiled; refused ones must say why), the rest is the
// bytes of one TCP connection, split into lines. On every line:
//  - an error has a message and a column inside the line (or just past it);
//  - a point's path is non-empty, without blanks, control bytes or empty
//    parts; written back as "path value timestamp" (the value in its
//    shortest round-trip form) it parses to the same point, bit for bit;
//  - mapped by the templates (the fuzzed ones if they compiled, else a fixed
//    collectd set), it has a non-empty measurement, tags sorted by
//    non-empty keys with non-empty values, and one field with the value.
#include <bit>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "ingest/graphite.h"

namespace {

using lstmad::daemon::GraphiteLine;
using lstmad::daemon::GraphiteTemplates;
using lstmad::daemon::LineSplitter;
using lstmad::daemon::ParsedLine;
using lstmad::daemon::ParseError;
using lstmad::daemon::ParseGraphiteLine;
using lstmad::daemon::ParseResult;

std::string Shortest(double v) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, ec == std::errc() ? end : buf);
}

void CheckLine(std::string_view line, const GraphiteTemplates& templates) {
  GraphiteLine point;
  ParseError error;
  switch (ParseGraphiteLine(line, &point, &error)) {
    case ParseResult::kSkipped: return;
    case ParseResult::kError:
      LSTMAD_FUZZ_CHECK(!error.message.empty(), line);
      LSTMAD_FUZZ_CHECK(error.column >= 1 && error.column <= line.size() + 1, error.message);
      return;
    case ParseResult::kPoint: break;
  }
  LSTMAD_FUZZ_CHECK(!point.path.empty() && point.path.find_first_of(" \t") == std::string_view::npos, line);
  LSTMAD_FUZZ_CHECK(point.path.find("..") == std::string_view::npos, line);
  for (char c : point.path) LSTMAD_FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f, line);
  if (point.timestamp_ns && *point.timestamp_ns % 1'000'000'000 == 0) {
    // Whole seconds write back exactly; fractions go through a double.
    const std::string again = std::string(point.path) + " " + Shortest(point.value) + " " +
                              std::to_string(*point.timestamp_ns / 1'000'000'000);
    GraphiteLine reparsed;
    LSTMAD_FUZZ_CHECK(ParseGraphiteLine(again, &reparsed, &error) == ParseResult::kPoint, again);
    LSTMAD_FUZZ_CHECK(reparsed.path == point.path && reparsed.timestamp_ns == point.timestamp_ns, again);
    LSTMAD_FUZZ_CHECK(std::bit_cast<uint64_t>(reparsed.value) == std::bit_cast<uint64_t>(point.value) ||
                          (point.value != point.value && reparsed.value != reparsed.value),
                      again);
  }
  ParsedLine mapped;
  std::string map_error;
  if (!templates.Apply(point.path, point.value, &mapped, &map_error)) {
    LSTMAD_FUZZ_CHECK(!map_error.empty(), line);
    return;
  }
  LSTMAD_FUZZ_CHECK(!mapped.measurement.empty(), line);
  LSTMAD_FUZZ_CHECK(mapped.field_count == 1 && !mapped.fields[0].first.empty(), line);
  for (size_t i = 0; i < mapped.tag_count; ++i) {
    LSTMAD_FUZZ_CHECK(!mapped.tags[i].first.empty() && !mapped.tags[i].second.empty(), line);
    if (i > 0) LSTMAD_FUZZ_CHECK(mapped.tags[i - 1].first < mapped.tags[i].first, line);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nl = input.find('\n');
  const std::string_view spec_line = input.substr(0, nl);
  input = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
  std::vector<std::string> specs;
  for (size_t begin = 0; begin <= spec_line.size();) {
    const size_t semi = spec_line.find(';', begin);
    const std::string_view spec = spec_line.substr(begin, semi == std::string_view::npos ? semi : semi - begin);
    if (!spec.empty()) specs.emplace_back(spec);
    if (semi == std::string_view::npos) break;
    begin = semi + 1;
  }
  auto fuzzed = GraphiteTemplates::Compile(specs, ".");
  if (!fuzzed.ok()) LSTMAD_FUZZ_CHECK(!fuzzed.status().message().empty(), spec_line);
  static const GraphiteTemplates collectd =
      std::move(GraphiteTemplates::Compile({"collectd.*.load.load.* measurement.host...field",
                                            "collectd.*.memory.* measurement.host..field", "host.measurement* dc=eu"},
                                           "_"))
          .value();
  const GraphiteTemplates& templates = fuzzed.ok() ? *fuzzed : collectd;
  LineSplitter splitter(1024);
  splitter.Feed(input, [&](std::string_view line) { CheckLine(line, templates); });
  return 0;
}
