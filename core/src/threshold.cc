#include "lstmad/core/threshold.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace lstmad::core {
namespace {

// Parses the whole of `text` as a finite double.
bool ParseNumber(std::string_view text, double* out) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end && std::isfinite(*out);
}

std::string FormatNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

Result<ThresholdSpec> ThresholdSpec::Parse(std::string_view text) {
  const std::string shown = "threshold \"" + std::string(text) + "\"";
  ThresholdSpec spec;
  if (!text.empty() && text.front() == 'p') {
    spec.kind = Kind::kPercentile;
    if (!ParseNumber(text.substr(1), &spec.value) || spec.value < 0 || spec.value > 100) {
      return Status::Error(shown + ": a percentile must be p0 to p100, e.g. p99.5");
    }
    return spec;
  }
  if (text.starts_with("mean+") && text.ends_with("std")) {
    spec.kind = Kind::kMeanPlusStd;
    if (!ParseNumber(text.substr(5, text.size() - 8), &spec.value) || spec.value < 0) {
      return Status::Error(shown + ": expected mean+Kstd with K >= 0, e.g. mean+4std");
    }
    return spec;
  }
  spec.kind = Kind::kFixed;
  if (!ParseNumber(text, &spec.value) || spec.value < 0) {
    return Status::Error(shown + ": expected pNN (percentile), mean+Kstd or a number >= 0");
  }
  return spec;
}

std::string ThresholdSpec::ToString() const {
  switch (kind) {
    case Kind::kPercentile: return "p" + FormatNumber(value);
    case Kind::kMeanPlusStd: return "mean+" + FormatNumber(value) + "std";
    case Kind::kFixed: return FormatNumber(value);
  }
  return {};
}

double Percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  return PercentileOfSorted(values, p);
}

double PercentileOfSorted(std::span<const double> sorted, double p) {
  const double rank = p / 100.0 * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double frac = rank - static_cast<double>(lo);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * frac;
}

Result<double> ComputeThreshold(const ThresholdSpec& spec, std::vector<double> errors) {
  if (spec.kind == ThresholdSpec::Kind::kFixed) return spec.value;
  if (errors.empty()) return Status::Error("no windows to compute the threshold from");
  if (spec.kind == ThresholdSpec::Kind::kPercentile) {
    return std::max(Percentile(std::move(errors), spec.value), kMinComputedThreshold);
  }
  double mean = 0;
  for (double e : errors) mean += e;
  mean /= static_cast<double>(errors.size());
  double var = 0;
  for (double e : errors) var += (e - mean) * (e - mean);
  var /= static_cast<double>(errors.size());
  // A NaN (errors that overflowed) stays NaN: the floor must not hide it.
  const double threshold = mean + spec.value * std::sqrt(var);
  return threshold < kMinComputedThreshold ? kMinComputedThreshold : threshold;
}

}  // namespace lstmad::core
