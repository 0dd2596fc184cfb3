// The --guards flag of `lstmad score`, `evaluate` and `evaluate-stream`:
// per-feature guards on the model's verdict (core/guards.h,
// docs/detection.md "Guards") in the text form core::ParseGuardSpec reads.
// Stateless functions; no thread affinity.
#pragma once

#include <string>
#include <vector>

#include "cli_args.h"
#include "lstmad/core/guards.h"

namespace lstmad::tools {

void AddGuardFlag(ArgParser* parser);

// One guard per feature of `feature_names` from --guards (none given: an
// empty vector, no guards). Returns an error message naming the flag, or "".
std::string ParseGuardFlag(const ArgParser& parser, const std::vector<std::string>& feature_names,
                           std::vector<core::FeatureGuard>* guards);

}  // namespace lstmad::tools
