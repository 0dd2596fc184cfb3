// Where a subcommand's series comes from: a CSV (--data FILE.csv) or
// Prometheus' query_range (--prometheus URL --query NAME=PROMQL ... --start
// --end --step, lib/prometheus_source.h), for `train`, `score`,
// `reconstruct` and `evaluate`. The HTTP wiring is here, beside the
// subcommands, so that lib/ stays free of sockets. Stateless; safe from any
// thread (the fetch blocks the caller).
#pragma once

#include <string>
#include <vector>

#include "cli_args.h"
#include "lstmad/core/csv.h"
#include "lstmad/core/status.h"

namespace lstmad::tools {

// "" when exactly one of --data and --prometheus is given, else the message.
std::string CheckSeriesSource(const ArgParser& p);
// The series' name in messages and reports: the --data path, or
// "prometheus URL".
std::string SeriesName(const ArgParser& p);
// The `features` columns (every column when empty) of the series, timestamps
// as written (epoch seconds from Prometheus). Steps where some --query had
// no value are left out, with a warning on stderr naming `command`; `fill`
// is the CSV's empty-cell policy.
core::Result<core::CsvTable> LoadSeries(const ArgParser& p, const char* command,
                                        const std::vector<std::string>& features, core::EmptyCells fill);

}  // namespace lstmad::tools
