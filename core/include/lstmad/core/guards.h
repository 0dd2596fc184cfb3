// Guards: per-feature rules operators put on top of the model's verdict on a
// window (docs/detection.md, "Guards"). They look at the window's newest step
// only: per feature, the observed value and the model's expected value for it
// (the reconstruction of that step, in the feature's original units).
//
// Per feature, each optional:
// - direction (above|below|both, default both): the feature counts only when
//   observed - expected has that sign (above: observed > expected).
// - min_deviation X (>= 0, default 0): the feature counts only when
//   |observed - expected| >= X.
// - valid_range [lo, hi]: an observed value outside it (NaN included) makes
//   the window anomalous whatever the model says.
//
// Per window (GuardOverride):
// 1. any feature's observed value outside its valid range -> kAnomalous;
// 2. else, when some feature has a guard that can veto (a direction other
//    than both, or min_deviation > 0) and no feature passes its direction
//    and min_deviation checks -> kNormal (the model's alarm is vetoed);
//    features without such guards always pass, so a veto needs every
//    feature to have one;
// 3. else kNone: the model decides.
//
// Value types; no thread affinity. GuardOverride is noexcept and does not
// allocate: the daemon calls it per window.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lstmad/core/anomaly_score.h"
#include "lstmad/core/status.h"

namespace lstmad::core {

enum class Direction { kBoth, kAbove, kBelow };
std::string_view DirectionName(Direction direction);
std::optional<Direction> ParseDirection(std::string_view name);  // "above", "below", "both"

struct FeatureGuard {
  Direction direction = Direction::kBoth;
  double min_deviation = 0;  // feature units
  std::optional<std::pair<double, double>> valid_range;  // [lo, hi], inclusive

  // Whether this guard can veto the model's alarm (step 2 above).
  bool vetoes() const { return direction != Direction::kBoth || min_deviation > 0; }
  // min_deviation finite and >= 0; the range's bounds finite with lo < hi.
  Status Validate() const;
};

// A feature's guard under the feature's name, as configured or given on the
// command line; ResolveGuards puts them in the model's feature order.
using NamedGuards = std::vector<std::pair<std::string, FeatureGuard>>;

// The verdict of `guards` (one per feature, in the model's order) on a window
// whose newest step has `observed` and `expected` values; all three spans
// have the same length.
Override GuardOverride(std::span<const FeatureGuard> guards, std::span<const double> observed,
                       std::span<const double> expected) noexcept;

// Parses the command line's form, `feature:key=value,key=value;feature2:...`
// with keys direction (above|below|both), min_deviation (a number) and
// valid_range (lo..hi), e.g. "temperature:direction=above,valid_range=-20..120".
// Errors name the entry and the key; a feature named twice, a key given twice
// and an entry without keys are errors.
Result<NamedGuards> ParseGuardSpec(std::string_view spec);

// One guard per feature of `feature_names` (default guards for features not
// named). A name that is not a feature is an error naming it and the features.
Result<std::vector<FeatureGuard>> ResolveGuards(const NamedGuards& named,
                                                const std::vector<std::string>& feature_names);

}  // namespace lstmad::core
