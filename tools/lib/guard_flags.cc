#include "guard_flags.h"

namespace lstmad::tools {

void AddGuardFlag(ArgParser* p) {
  p->AddOption("guards", "SPEC",
               "per-feature guards on the model's verdict (docs/detection.md): "
               "feature:key=value,...;feature2:... with keys direction (above|below|both), "
               "min_deviation (feature units) and valid_range (lo..hi), e.g. "
               "'temperature:direction=above,min_deviation=2,valid_range=-20..120'");
}

std::string ParseGuardFlag(const ArgParser& p, const std::vector<std::string>& feature_names,
                           std::vector<core::FeatureGuard>* guards) {
  guards->clear();
  if (!p.Has("guards")) return {};
  const core::Result<core::NamedGuards> named = core::ParseGuardSpec(p.Get("guards"));
  if (!named.ok()) return "--guards: " + named.status().message();
  core::Result<std::vector<core::FeatureGuard>> resolved = core::ResolveGuards(*named, feature_names);
  if (!resolved.ok()) return "--guards: " + resolved.status().message();
  *guards = std::move(resolved).value();
  return {};
}

}  // namespace lstmad::tools
