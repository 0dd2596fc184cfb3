// Fuzzes the CSV reader (core/csv.h). The input is the file, optionally
// preceded by a requested-feature list: when it holds a NUL byte, the bytes
// before the first NUL are a comma-separated list of features to select.
//
// Properties of an accepted table: its shape is consistent (one value row
// per feature, at least one data row, a timestamp per row or none), every
// value is finite, the feature names are unique, non-empty, not "timestamp",
// and are the requested ones when a list was given; and written back as CSV
// it parses to the same names, timestamps and bit-identical values. A
// rejection's message starts with the source name.
#include <bit>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "lstmad/core/csv.h"

namespace {

using lstmad::core::CsvTable;
using lstmad::core::ParseCsv;

constexpr char kSource[] = "fuzz.csv";

std::vector<std::string> SplitFeatures(std::string_view list) {
  std::vector<std::string> out;
  for (;;) {
    const size_t comma = list.find(',');
    out.emplace_back(list.substr(0, comma));
    if (comma == std::string_view::npos) return out;
    list.remove_prefix(comma + 1);
  }
}

void AppendDouble(double v, std::string* out) {
  char buf[32];
  const auto result = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  out->append(buf, result.ptr);
}

// The table as CSV: every name in double quotes (the reader strips one pair),
// values in their shortest round-trip form.
std::string WriteCsv(const CsvTable& t) {
  std::string out;
  const bool stamped = !t.timestamps.empty();
  if (stamped) out += "timestamp";
  for (size_t f = 0; f < t.feature_names.size(); ++f) {
    if (stamped || f > 0) out += ',';
    out += '"' + t.feature_names[f] + '"';
  }
  out += '\n';
  for (int r = 0; r < t.rows(); ++r) {
    if (stamped) out += t.timestamps[static_cast<size_t>(r)];
    for (Eigen::Index f = 0; f < t.values.rows(); ++f) {
      if (stamped || f > 0) out += ',';
      AppendDouble(t.values(f, r), &out);
    }
    out += '\n';
  }
  return out;
}

void CheckShape(const CsvTable& t, const std::vector<std::string>& requested) {
  LSTMAD_FUZZ_CHECK(t.rows() >= 1, "an accepted table has no rows");
  LSTMAD_FUZZ_CHECK(!t.feature_names.empty(), "an accepted table has no features");
  LSTMAD_FUZZ_CHECK(static_cast<size_t>(t.values.rows()) == t.feature_names.size(),
                    "values has a row count other than the feature count");
  LSTMAD_FUZZ_CHECK(t.timestamps.empty() || t.timestamps.size() == static_cast<size_t>(t.rows()),
                    "timestamps do not match the rows");
  LSTMAD_FUZZ_CHECK(t.values.allFinite(), "a non-finite value was accepted");
  LSTMAD_FUZZ_CHECK(requested.empty() || t.feature_names == requested,
                    "the features are not the requested ones");
  std::set<std::string_view> seen;
  for (const std::string& name : t.feature_names) {
    LSTMAD_FUZZ_CHECK(!name.empty() && name != "timestamp", name);
    LSTMAD_FUZZ_CHECK(name.find_first_of(",\n") == std::string::npos, name);
    LSTMAD_FUZZ_CHECK(seen.insert(name).second, "duplicate feature " + name);
  }
  for (const std::string& stamp : t.timestamps) {
    LSTMAD_FUZZ_CHECK(!stamp.empty() && stamp.find_first_of(",\n") == std::string::npos, stamp);
  }
}

void CheckRoundTrip(const CsvTable& t) {
  const std::string text = WriteCsv(t);
  const auto again = ParseCsv(text, kSource);
  LSTMAD_FUZZ_CHECK(again.ok(), "the written-back table is rejected: " + again.status().message() +
                                    "\n  written:\n" + text);
  LSTMAD_FUZZ_CHECK(again->feature_names == t.feature_names,
                    "names differ after a round trip:\n" + text);
  LSTMAD_FUZZ_CHECK(again->timestamps == t.timestamps,
                    "timestamps differ after a round trip:\n" + text);
  LSTMAD_FUZZ_CHECK(
      again->values.rows() == t.values.rows() && again->values.cols() == t.values.cols(),
      "shape differs after a round trip:\n" + text);
  for (Eigen::Index c = 0; c < t.values.cols(); ++c) {
    for (Eigen::Index r = 0; r < t.values.rows(); ++r) {
      LSTMAD_FUZZ_CHECK(
          std::bit_cast<uint64_t>(again->values(r, c)) == std::bit_cast<uint64_t>(t.values(r, c)),
          "a value differs after a round trip:\n" + text);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> requested;
  if (const size_t nul = input.find('\0'); nul != std::string_view::npos) {
    requested = SplitFeatures(input.substr(0, nul));
    input.remove_prefix(nul + 1);
  }
  const auto table = ParseCsv(input, kSource, requested);
  if (!table.ok()) {
    const std::string& message = table.status().message();
    LSTMAD_FUZZ_CHECK(message.starts_with(std::string(kSource) + ":"), message);
    return 0;
  }
  CheckShape(*table, requested);
  CheckRoundTrip(*table);
  return 0;
}
