// A training series read from Prometheus (or anything that answers its HTTP
// API, such as VictoriaMetrics) instead of a CSV: one PromQL query per
// feature, evaluated over [start, end] at `step` through
// /api/v1/query_range, aligned on the steps every query has a value for.
// For `lstmad train --prometheus`.
//
// The HTTP transport is the caller's (FetchFn), so this stays free of
// sockets and testable against recorded answers. Pure otherwise; not
// thread-safe only in that FetchFn may not be.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "cli_args.h"
#include "lstmad/core/csv.h"
#include "lstmad/core/status.h"

namespace lstmad::tools {

struct PrometheusSource {
  std::string url;                                          // as given, for messages
  std::vector<std::pair<std::string, std::string>> queries;  // feature name, PromQL
  double start_s = 0, end_s = 0, step_s = 0;
  std::string authorization;                                 // the Authorization header; "" none
};

// GETs a path with its query string; returns the body of a 200 answer, or an
// error that says what the server answered (Prometheus' own "error" text).
using FetchFn = std::function<core::Result<std::string>(const std::string& path_and_query)>;

// --prometheus, --query (repeatable), --start, --end, --step and the
// credentials flags.
void AddPrometheusFlags(ArgParser* parser);
// The source the flags describe; errors name the flag.
core::Result<PrometheusSource> PrometheusSourceFromFlags(const ArgParser& parser);

// "NAME=PROMQL" (the first '=' splits); NAME a non-empty feature name.
core::Result<std::pair<std::string, std::string>> ParseQueryFlag(const std::string& text);
// Unix seconds ("1714564800", "1714564800.5") or RFC 3339 UTC
// ("2024-05-01T12:00:00Z").
core::Result<double> ParseTimeFlag(const std::string& flag, const std::string& text);
// A step: seconds ("15") or a duration ("15s", "1m", "1h").
core::Result<double> ParseStepFlag(const std::string& text);
// Percent-encoding of a query parameter's value (RFC 3986 unreserved kept).
std::string UrlEncode(const std::string& text);

// The series: features named by the queries, in order; timestamps as epoch
// seconds; rows for the steps where every query has a finite value, in time
// order. Long ranges are fetched in chunks of at most 10,000 steps
// (Prometheus refuses more than 11,000 points per series). Each query must
// give one series (one stream); `*dropped` counts the steps left out because
// some query had no value there.
core::Result<core::CsvTable> LoadPrometheusRange(const PrometheusSource& source, const FetchFn& fetch,
                                                 int* dropped);

// The columns `names` of `table`, in that order (timestamps kept), as a CSV
// with those columns selected would give them: for `score` and `evaluate`,
// whose model names the features the --query flags must provide. A name
// that no --query gave is an error naming it.
core::Result<core::CsvTable> SelectQueryColumns(const core::CsvTable& table, const std::vector<std::string>& names);

}  // namespace lstmad::tools
