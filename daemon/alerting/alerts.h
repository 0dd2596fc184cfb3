// Per-stream alert state machine and the record of its transitions.
//
// A stream fires after `fire_after` consecutive windows above the threshold
// and resolves after `clear_after` consecutive windows at or below it. Pure
// logic; one AlertState per stream, owned by whoever scores that stream.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "lstmad/config/settings.h"

namespace lstmad::daemon {

class AlertState {
 public:
  enum class Transition { kNone, kFired, kResolved };

  Transition Observe(bool above_threshold, const config::AlertSettings& settings);
  bool firing() const { return firing_; }
  int run() const { return run_; }
  // Puts back a state saved with firing() and run() (restart snapshots).
  void Restore(bool firing, int run) {
    firing_ = firing;
    run_ = run < 0 ? 0 : run;
  }

 private:
  bool firing_ = false;
  int run_ = 0;  // consecutive windows on the side that would change the state
};

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
};

// One JSON object, no trailing newline: the events file's line
// (its format is pinned by tests/daemon/alerting/alerts_test.cc). Strings are written by JsonString (obs/json_text.h):
// invalid UTF-8 in a stream or feature name becomes U+FFFD, so the line is
// valid JSON whatever the stream's tags held. Numbers have 9 significant
// digits (%.9g), null when not finite; times are RFC 3339 UTC with
// nanoseconds.
std::string AlertEventJson(const AlertEvent& event);

}  // namespace lstmad::daemon
