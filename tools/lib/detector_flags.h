// The flags that configure the per-stream detector (core/anomaly_score.h),
// shared by `lstmad score`, `evaluate` and `evaluate-stream`, with the
// documented defaults (docs/detection.md).
#pragma once

#include <string>

#include "cli_args.h"
#include "lstmad/core/alert_state.h"
#include "lstmad/core/anomaly_score.h"

namespace lstmad::tools {

// The defaults every command shares; see docs/detection.md for why.
core::DetectorOptions DefaultDetectorOptions();

void AddDetectorFlags(ArgParser* parser);

// Fills `options` from the flags; returns an error message or "".
std::string ParseDetectorFlags(const ArgParser& parser, core::DetectorOptions* options);

// --alert-for and --alert-clear: the daemon's models[i].alert, with its
// defaults (core::AlertRule), for the commands that report its alert state.
void AddAlertFlags(ArgParser* parser);
std::string ParseAlertFlags(const ArgParser& parser, core::AlertRule* rule);

// One line describing the settings, for reports: "spot q=0.0001 level=0.98 ...".
std::string DescribeDetector(const core::DetectorOptions& options, int refractory);

}  // namespace lstmad::tools
