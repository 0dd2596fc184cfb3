// Ground truth for `lstmad evaluate` and `evaluate-stream`: per-row labels
// from a label column of the CSV, or from NAB's anomaly windows file
// (combined_windows.json: {"category/file.csv": [[start, end], ...], ...}).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lstmad/core/status.h"

namespace lstmad::tools {

// Seconds since the epoch of "YYYY-MM-DD[ T]HH:MM:SS[.frac][Z]" (UTC) or of
// a plain number (epoch seconds); nullopt for anything else.
std::optional<double> ParseTimestamp(const std::string& text);

// The same, exactly: whole seconds since the epoch (floor) and the
// nanoseconds after them, in [0, 1e9); digits past the ninth are dropped.
struct TimestampParts {
  int64_t seconds = 0;
  int64_t nanos = 0;
};
std::optional<TimestampParts> ParseTimestampParts(const std::string& text);

// The `column` of `path` as 0/1 labels (any non-zero number is 1).
core::Result<std::vector<uint8_t>> LoadLabelColumn(const std::string& path,
                                                   const std::string& column);

// Labels of the rows of `data_path` from a NAB windows file: the entry whose
// key is the end of `data_path` ("realKnownCause/nyc_taxi.csv"), 1 for rows
// whose timestamp lies in one of its [start, end] windows (inclusive).
core::Result<std::vector<uint8_t>> LoadNabWindowLabels(const std::string& windows_path,
                                                       const std::string& data_path,
                                                       const std::vector<std::string>& timestamps);

}  // namespace lstmad::tools
