#include "labels.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>

#include "command_support.h"
#include "lstmad/core/files.h"
#include "lstmad/core/text.h"

#include <nlohmann/json.hpp>

namespace lstmad::tools {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool Digits(const std::string& s, size_t at, size_t count, int* out) {
  if (at + count > s.size()) return false;
  int v = 0;
  for (size_t i = at; i < at + count; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

using WindowList = std::vector<std::pair<std::string, std::string>>;

// NAB's windows file: an object mapping data paths (relative to NAB's data/)
// to lists of [start, end] timestamp pairs.
core::Result<std::map<std::string, WindowList>> ParseNabWindows(const std::string& text,
                                                                const std::string& path) {
  const std::string shape = path + ": not a NAB windows file (an object of [start, end] lists)";
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return core::Status::Error(shape + " near byte " + std::to_string(e.byte));
  }
  if (!root.is_object()) return core::Status::Error(shape);
  std::map<std::string, WindowList> all;
  for (const auto& [key, list] : root.items()) {
    if (!list.is_array()) return core::Status::Error(shape + ": " + core::Quote(key) + " is not a list");
    WindowList& windows = all[key];
    for (const nlohmann::json& window : list) {
      if (!window.is_array() || window.size() != 2 || !window[0].is_string() || !window[1].is_string()) {
        return core::Status::Error(shape + ": a window of " + core::Quote(key) +
                                   " is not a [start, end] pair of strings");
      }
      windows.emplace_back(window[0].get<std::string>(), window[1].get<std::string>());
    }
  }
  return all;
}

}  // namespace

namespace {

// Up to nine digits of a fraction as nanoseconds; false on a non-digit.
bool FractionNanos(const std::string& text, size_t at, size_t* end, int64_t* nanos) {
  int64_t scale = 100000000;
  size_t i = at;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i, scale /= 10) {
    *nanos += (text[i] - '0') * scale;
  }
  *end = i;
  return i > at;
}

// Epoch seconds written as -?D+(.D+)?, exactly.
std::optional<TimestampParts> EpochParts(const std::string& text) {
  size_t i = text.empty() || text[0] != '-' ? 0 : 1;
  const size_t digits = i;
  int64_t whole = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    if (whole > (std::numeric_limits<int64_t>::max() - 9) / 10) return std::nullopt;
    whole = whole * 10 + (text[i] - '0');
  }
  if (i == digits) return std::nullopt;
  int64_t nanos = 0;
  if (i < text.size() && text[i] == '.' && !FractionNanos(text, i + 1, &i, &nanos)) return std::nullopt;
  if (i != text.size()) return std::nullopt;
  if (digits == 0) return TimestampParts{whole, nanos};
  // -1.25 is 1.25 s before the epoch: second -2, plus 0.75 s.
  return nanos == 0 ? TimestampParts{-whole, 0} : TimestampParts{-whole - 1, 1000000000 - nanos};
}

}  // namespace

std::optional<TimestampParts> ParseTimestampParts(const std::string& text) {
  if (std::optional<TimestampParts> epoch = EpochParts(text)) return epoch;
  int y, mo, d, h, mi, sec;
  if (!Digits(text, 0, 4, &y) || text.size() < 19 || text[4] != '-' || !Digits(text, 5, 2, &mo) ||
      text[7] != '-' || !Digits(text, 8, 2, &d) || (text[10] != ' ' && text[10] != 'T') ||
      !Digits(text, 11, 2, &h) || text[13] != ':' || !Digits(text, 14, 2, &mi) ||
      text[16] != ':' || !Digits(text, 17, 2, &sec)) {
    return std::nullopt;
  }
  int64_t nanos = 0;
  size_t i = 19;
  if (i < text.size() && text[i] == '.' && !FractionNanos(text, i + 1, &i, &nanos)) return std::nullopt;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;  // past nanoseconds
  if (i < text.size() && text[i] == 'Z') ++i;
  if (i != text.size()) return std::nullopt;
  return TimestampParts{DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec, nanos};
}

std::optional<double> ParseTimestamp(const std::string& text) {
  double number = 0;
  const char* end = text.data() + text.size();
  if (auto [p, ec] = std::from_chars(text.data(), end, number); ec == std::errc() && p == end) {
    return number;
  }
  std::optional<TimestampParts> parts = ParseTimestampParts(text);
  if (!parts) return std::nullopt;
  return static_cast<double>(parts->seconds) + static_cast<double>(parts->nanos) * 1e-9;
}

core::Result<std::vector<uint8_t>> LoadLabelColumn(const std::string& path,
                                                   const std::string& column) {
  core::Result<core::CsvTable> table = LoadCsv(path, {column});
  if (!table.ok()) return table.status();
  std::vector<uint8_t> labels;
  labels.reserve(static_cast<size_t>(table->rows()));
  for (int i = 0; i < table->rows(); ++i) labels.push_back(table->values(0, i) != 0 ? 1 : 0);
  return labels;
}

core::Result<std::vector<uint8_t>> LoadNabWindowLabels(const std::string& windows_path,
                                                       const std::string& data_path,
                                                       const std::vector<std::string>& timestamps) {
  core::Result<std::string> text = core::ReadFileBounded(windows_path, kMaxInputFileBytes);
  if (!text.ok()) return text.status();
  core::Result<std::map<std::string, WindowList>> all = ParseNabWindows(*text, windows_path);
  if (!all.ok()) return all.status();
  const WindowList* windows = nullptr;
  for (const auto& [key, list] : *all) {
    const bool suffix = data_path.size() >= key.size() &&
                        data_path.compare(data_path.size() - key.size(), key.size(), key) == 0 &&
                        (data_path.size() == key.size() ||
                         data_path[data_path.size() - key.size() - 1] == '/');
    if (suffix) windows = &list;
  }
  if (windows == nullptr) {
    return core::Status::Error(windows_path + ": no entry for " + data_path +
                               " (keys are paths like realKnownCause/nyc_taxi.csv)");
  }
  if (timestamps.empty()) return core::Status::Error(data_path + ": no timestamp column to match windows");
  std::vector<std::pair<double, double>> spans;
  for (const auto& [a, b] : *windows) {
    auto start = ParseTimestamp(a), stop = ParseTimestamp(b);
    if (!start || !stop) return core::Status::Error(windows_path + ": bad timestamp in window [" + a + ", " + b + "]");
    spans.emplace_back(*start, *stop);
  }
  std::vector<uint8_t> labels(timestamps.size(), 0);
  for (size_t i = 0; i < timestamps.size(); ++i) {
    auto t = ParseTimestamp(timestamps[i]);
    if (!t) return core::Status::Error(data_path + ": row " + std::to_string(i + 2) + ": bad timestamp \"" + timestamps[i] + "\"");
    for (const auto& [start, stop] : spans) {
      if (*t >= start && *t <= stop) labels[i] = 1;
    }
  }
  return labels;
}

}  // namespace lstmad::tools
