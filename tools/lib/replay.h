// `lstmad replay`'s lines: one CSV row (as `train` reads it) as an InfluxDB
// line-protocol line, names escaped as the protocol requires.
//
// Pure functions: safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lstmad/core/csv.h"
#include "lstmad/core/status.h"

namespace lstmad::tools {

using Tags = std::vector<std::pair<std::string, std::string>>;

// "k=v,k2=v2" into tags, in order; errors name the bad item. Empty: none.
core::Result<Tags> ParseTags(const std::string& list);

// Nanoseconds per unit of the daemon's ingest.precision (ns, us, ms, s).
core::Result<int64_t> PrecisionUnitNs(const std::string& precision);

// The row's timestamp in units of `unit_ns`, rounded to the nearest; nullopt
// when the table has no timestamp column. An unreadable or out-of-range
// timestamp is an error naming the row.
core::Result<std::optional<int64_t>> RowTimestamp(const core::CsvTable& table, int row, int64_t unit_ns);

// measurement[,tag=value...] feature=value[,...][ timestamp]\n, with commas,
// spaces and equals signs escaped where line protocol needs it, and values
// written so they read back as the same double (%.17g).
std::string LineOf(const std::string& measurement, const Tags& tags, const core::CsvTable& table, int row,
                   std::optional<int64_t> timestamp);

}  // namespace lstmad::tools
