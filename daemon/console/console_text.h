// Formatting the console's pages and JSON share: numbers, times, a stream's
// per-feature error shares and its model's facts. Pure functions: safe from
// any thread. Private to daemon/console.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "console/console_query.h"
#include "scoring/model_runtime.h"
#include "scoring/stream_history.h"

namespace lstmad::daemon {

// A JSON number with 9 significant digits; null when not finite.
std::string JsonNumber(double v);
// A number for people: 4 significant digits; "inf", "nan" spelled so.
std::string ShortNumber(double v);
// RFC 3339 UTC with nanoseconds; "" for 0 (never).
std::string TimeText(int64_t ns);

// Each scored feature's share of the newest window's error, largest first
// (the shares sum to 1; equal shares when the errors are all zero or some
// are infinite: the infinite ones share it).
std::vector<std::pair<std::string, double>> FeatureShares(const HistoryCopy& copy,
                                                          const std::vector<std::string>& names);

// The threshold mode's name as configured ("fixed", "spot", ...).
std::string ThresholdModeText(const ModelRuntime& model);

// The fired event of every firing stream among `rows`, newest first (then
// by model and stream).
std::vector<AlertEvent> ActiveAlerts(const std::vector<StreamRow>& rows);

// A URL without its user-info ("https://u:p@h/x" -> "https://h/x").
std::string WithoutUserInfo(std::string_view url);

}  // namespace lstmad::daemon
