#include "lstmad/core/guards.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "lstmad/core/text.h"

namespace lstmad::core {
namespace {

// A whole finite number, as from_chars reads it ("nan" and "inf" refused).
std::optional<double> ParseFinite(std::string_view text) {
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    const size_t at = text.find(separator, start);
    parts.push_back(text.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

// One `key=value` of a feature's entry into `guard`.
Status ParseGuardKey(std::string_view item, FeatureGuard* guard) {
  const size_t eq = item.find('=');
  if (eq == std::string_view::npos) return Status::Invalid(Quote(item) + ": expected key=value");
  const std::string_view key = item.substr(0, eq), value = item.substr(eq + 1);
  if (key == "direction") {
    const std::optional<Direction> d = ParseDirection(value);
    if (!d) return Status::Invalid("direction: expected above, below or both; got " + Quote(value));
    guard->direction = *d;
    return Status::Ok();
  }
  if (key == "min_deviation") {
    const std::optional<double> x = ParseFinite(value);
    if (!x || *x < 0) return Status::Invalid("min_deviation: expected a number >= 0; got " + Quote(value));
    guard->min_deviation = *x;
    return Status::Ok();
  }
  if (key == "valid_range") {
    const size_t dots = value.find("..");
    const std::optional<double> lo =
        dots == std::string_view::npos ? std::nullopt : ParseFinite(value.substr(0, dots));
    const std::optional<double> hi =
        dots == std::string_view::npos ? std::nullopt : ParseFinite(value.substr(dots + 2));
    if (!lo || !hi) return Status::Invalid("valid_range: expected lo..hi (two numbers); got " + Quote(value));
    if (!(*lo < *hi)) return Status::Invalid("valid_range: lo must be below hi; got " + Quote(value));
    guard->valid_range = std::pair{*lo, *hi};
    return Status::Ok();
  }
  return Status::Invalid("unknown key " + Quote(key) + " (expected one of: direction, min_deviation, valid_range)");
}

// Whether the feature counts for the model's alarm (direction and minimum
// deviation). NaN fails every comparison, so a NaN observation never passes
// a guard that can veto.
bool Passes(const FeatureGuard& g, double observed, double expected) {
  const double deviation = observed - expected;
  switch (g.direction) {
    case Direction::kAbove:
      if (!(deviation > 0)) return false;
      break;
    case Direction::kBelow:
      if (!(deviation < 0)) return false;
      break;
    case Direction::kBoth: break;
  }
  return std::abs(deviation) >= g.min_deviation;
}

}  // namespace

std::string_view DirectionName(Direction direction) {
  switch (direction) {
    case Direction::kAbove: return "above";
    case Direction::kBelow: return "below";
    case Direction::kBoth: break;
  }
  return "both";
}

std::optional<Direction> ParseDirection(std::string_view name) {
  for (Direction d : {Direction::kBoth, Direction::kAbove, Direction::kBelow}) {
    if (name == DirectionName(d)) return d;
  }
  return std::nullopt;
}

Status FeatureGuard::Validate() const {
  if (!std::isfinite(min_deviation) || min_deviation < 0) {
    return Status::Invalid("min_deviation must be a finite number >= 0, got " + FormatSignificant(min_deviation));
  }
  if (valid_range) {
    const auto [lo, hi] = *valid_range;
    if (!std::isfinite(lo) || !std::isfinite(hi) || !(lo < hi)) {
      return Status::Invalid("valid_range must be two finite numbers lo < hi, got [" + FormatSignificant(lo) +
                             ", " + FormatSignificant(hi) + "]");
    }
  }
  return Status::Ok();
}

Override GuardOverride(std::span<const FeatureGuard> guards, std::span<const double> observed,
                       std::span<const double> expected) noexcept {
  bool any_veto = false, any_pass = false;
  for (size_t f = 0; f < guards.size(); ++f) {
    const FeatureGuard& g = guards[f];
    const double x = observed[f];
    // Written so that NaN, which fails both comparisons, is outside.
    if (g.valid_range && !(x >= g.valid_range->first && x <= g.valid_range->second)) {
      return Override::kAnomalous;
    }
    if (!g.vetoes()) {
      any_pass = true;
      continue;
    }
    any_veto = true;
    any_pass = any_pass || Passes(g, x, expected[f]);
  }
  return any_veto && !any_pass ? Override::kNormal : Override::kNone;
}

Result<NamedGuards> ParseGuardSpec(std::string_view spec) {
  NamedGuards out;
  for (const std::string_view entry : Split(spec, ';')) {
    const size_t colon = entry.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      return Status::Invalid("guard " + Quote(entry) + ": expected feature:key=value[,key=value...]");
    }
    const std::string feature(entry.substr(0, colon));
    const std::string_view keys = entry.substr(colon + 1);
    const auto named = [&](const NamedGuards::value_type& g) { return g.first == feature; };
    if (std::any_of(out.begin(), out.end(), named)) {
      return Status::Invalid("guard for " + Quote(feature) + ": the feature is named twice");
    }
    if (keys.empty()) return Status::Invalid("guard for " + Quote(feature) + ": no keys");
    FeatureGuard guard;
    std::vector<std::string_view> seen;
    for (const std::string_view item : Split(keys, ',')) {
      const std::string_view key = item.substr(0, item.find('='));
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
        return Status::Invalid("guard for " + Quote(feature) + ": " + std::string(key) + " given twice");
      }
      seen.push_back(key);
      if (Status s = ParseGuardKey(item, &guard); !s.ok()) return s.WithContext("guard for " + Quote(feature));
    }
    out.emplace_back(feature, guard);
  }
  return out;
}

Result<std::vector<FeatureGuard>> ResolveGuards(const NamedGuards& named,
                                                const std::vector<std::string>& feature_names) {
  std::vector<FeatureGuard> guards(feature_names.size());
  for (const auto& [feature, guard] : named) {
    const auto it = std::find(feature_names.begin(), feature_names.end(), feature);
    if (it == feature_names.end()) {
      std::string features;
      for (const std::string& f : feature_names) features += (features.empty() ? "" : ", ") + f;
      return Status::Invalid("no feature " + Quote(feature) + " (the model's features: " + features + ")");
    }
    if (Status s = guard.Validate(); !s.ok()) return s.WithContext("guard for " + Quote(feature));
    guards[static_cast<size_t>(it - feature_names.begin())] = guard;
  }
  return guards;
}

}  // namespace lstmad::core
