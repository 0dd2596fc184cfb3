// The record of a stream's alert transitions (the state machine that makes
// them is core::AlertState, lstmad/core/alert_state.h) and the events file's
// line for one. Plain data and pure functions; thread-safe as values are.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "lstmad/config/settings.h"
#include "lstmad/core/alert_state.h"

namespace lstmad::daemon {

// The stream's alert rule from its model's settings (models[i].alert).
inline core::AlertRule ToAlertRule(const config::AlertSettings& settings) {
  return core::AlertRule{settings.fire_after, settings.clear_after};
}

// One alert transition, as logged and written to the events file.
struct AlertEvent {
  std::string kind;      // "fired" or "resolved"
  int64_t time_ns = 0;   // wall-clock time of the transition, ns since the epoch
  std::string model;
  std::string stream;    // measurement plus sorted tags, line-protocol form
  double error = 0;      // the window's reconstruction error (scaled units)
  double threshold = 0;
  int64_t window_start_ns = 0;  // timestamps of the window's first and last samples
  int64_t window_end_ns = 0;
  // Features by share of the window's error, largest first (share in [0, 1]).
  std::vector<std::pair<std::string, double>> top_features;
  // Why a resolution came, where it is not the stream's errors going back to
  // normal. The stream went away rather than a window resolving its alert:
  // "model_reshaped", "model_removed" or "stream_expired"; such a resolution
  // carries the firing event's window, threshold and features and no error
  // (NaN). kChangeAccepted: a window resolved it, after the detector took the
  // alert's lasting change as the new normal (core::Detection::accepted).
  // Empty otherwise, and for every "fired".
  std::string reason;
};

inline constexpr const char* kChangeAccepted = "change_accepted";

// One JSON object, no trailing newline: the events file's line (its format
// is pinned by tests/daemon/alerting/alerts_test.cc), written by nlohmann-json
// with its keys in a fixed order. Strings with obs/json_text.h's options:
// invalid UTF-8 in a stream or feature name becomes U+FFFD, so the line is
// valid JSON whatever the stream's tags held. Numbers are rounded to 9
// significant digits and written in nlohmann's spelling (1.0, 12345678900.0,
// 1e-12), null when not finite; times are RFC 3339 UTC with nanoseconds.
// A `reason` key comes last, only when the event has one.
std::string AlertEventJson(const AlertEvent& event);

}  // namespace lstmad::daemon
