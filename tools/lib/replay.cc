#include "replay.h"

#include <cstdio>
#include <limits>

#include "labels.h"
#include "lstmad/core/text.h"

namespace lstmad::tools {
namespace {

// Line protocol escapes: measurements escape commas and spaces; tag keys,
// tag values and field keys also escape equals signs.
void Escape(const std::string& text, bool equals, std::string* out) {
  for (char c : text) {
    if (c == ',' || c == ' ' || (equals && c == '=')) out->push_back('\\');
    out->push_back(c);
  }
}

}  // namespace

core::Result<Tags> ParseTags(const std::string& list) {
  Tags tags;
  size_t start = 0;
  while (start < list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    const std::string item = list.substr(start, end - start);
    const size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
      return core::Status::Invalid("--tags: expected key=value, got " + core::Quote(item));
    }
    tags.emplace_back(item.substr(0, eq), item.substr(eq + 1));
    start = end + 1;
  }
  return tags;
}

core::Result<int64_t> PrecisionUnitNs(const std::string& precision) {
  if (precision == "ns") return int64_t{1};
  if (precision == "us") return int64_t{1000};
  if (precision == "ms") return int64_t{1000000};
  if (precision == "s") return int64_t{1000000000};
  return core::Status::Invalid("--precision must be ns, us, ms or s, got " + core::Quote(precision));
}

core::Result<std::optional<int64_t>> RowTimestamp(const core::CsvTable& table, int row, int64_t unit_ns) {
  if (table.timestamps.empty()) return std::optional<int64_t>();
  const std::string& text = table.timestamps[static_cast<size_t>(row)];
  const std::optional<TimestampParts> parts = ParseTimestampParts(text);
  // Exact: whole seconds in units, plus the nanoseconds rounded half up to
  // the unit (the parts' nanoseconds are never negative); the unit divides a
  // second.
  int64_t units = 0;
  const bool fits = parts && !__builtin_mul_overflow(parts->seconds, 1000000000 / unit_ns, &units) &&
                    !__builtin_add_overflow(units, (parts->nanos + unit_ns / 2) / unit_ns, &units);
  if (!fits) {
    return core::Status::Invalid("data row " + std::to_string(row + 1) + ": timestamp " + core::Quote(text) +
                                 " is not a UTC time lstmad can send (ISO 8601 with Z or no zone, or epoch "
                                 "seconds, within the precision's range)");
  }
  return std::optional<int64_t>(units);
}

std::string LineOf(const std::string& measurement, const Tags& tags, const core::CsvTable& table, int row,
                   std::optional<int64_t> timestamp) {
  std::string line;
  Escape(measurement, false, &line);
  for (const auto& [key, value] : tags) {
    line += ',';
    Escape(key, true, &line);
    line += '=';
    Escape(value, true, &line);
  }
  char number[40];
  for (size_t f = 0; f < table.feature_names.size(); ++f) {
    line += f == 0 ? ' ' : ',';
    Escape(table.feature_names[f], true, &line);
    std::snprintf(number, sizeof number, "=%.17g", table.values(static_cast<Eigen::Index>(f), row));
    line += number;
  }
  if (timestamp) line += ' ' + std::to_string(*timestamp);
  line += '\n';
  return line;
}

}  // namespace lstmad::tools
