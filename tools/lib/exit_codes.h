// The exit codes of `lstmad`, by meaning, and the mapping of a Status onto
// them. Constants and a pure function: no state, safe from any thread.
//
// What a code means decides what a supervisor does with it: the systemd unit
// (deploy/systemd/lstmad.service) restarts on 1 and 69 and leaves the service
// down on 2, which no restart can fix. Listed in README ("The command line").
#pragma once

#include "lstmad/core/status.h"

namespace lstmad::tools {

inline constexpr int kExitOk = 0;
// Something failed at run time (a write failed, a listen failed for want of
// descriptors); running it again may work.
inline constexpr int kExitFailure = 1;
// Bad flags, CSV, model file or configuration: running it again as it is
// fails the same way.
inline constexpr int kExitBadInput = 2;
// A dependency is not available at start (NATS unreachable or JetStream not
// ready, a listen address in use): EX_UNAVAILABLE of BSD's sysexits.h, so a
// supervisor restarts it until the dependency is back.
inline constexpr int kExitUnavailable = 69;

// kUnavailable -> kExitUnavailable, kInvalid -> kExitBadInput, and any other
// error -> `otherwise`, which the caller's stage decides (loading input: bad
// input; serving: a run-time failure). OK -> kExitOk.
inline int ExitCodeFor(const core::Status& status, int otherwise) {
  switch (status.code()) {
    case core::StatusCode::kOk:
      return kExitOk;
    case core::StatusCode::kUnavailable:
      return kExitUnavailable;
    case core::StatusCode::kInvalid:
      return kExitBadInput;
    case core::StatusCode::kError:
      break;
  }
  return otherwise;
}

}  // namespace lstmad::tools
