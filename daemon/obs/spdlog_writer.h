// The daemon's log writer: spdlog's synchronous stderr logger, with the time
// and level in front of each line (or as the first keys of each JSON object).
// Only the daemon process links spdlog; every subsystem logs through the
// facade in obs/logging.h. Thread-safe (spdlog's stderr logger is).
#pragma once

#include "lstmad/config/settings.h"
#include "lstmad/core/status.h"

namespace lstmad::daemon {

// Configures the process-wide logger (stderr) and installs it as the log
// writer. Can be called again on reload.
core::Status ConfigureLogging(const config::LogSettings& settings);

}  // namespace lstmad::daemon
