#include "console/console_svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "console/console_query.h"

namespace lstmad::daemon {
namespace {

constexpr double kPad = 2;

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string Open(SvgSize size, const std::string& title) {
  return "<svg class=\"chart\" width=\"" + std::to_string(size.width) +
         "\" height=\"" + std::to_string(size.height) + "\" viewBox=\"0 0 " + std::to_string(size.width) + " " +
         std::to_string(size.height) + "\" role=\"img\"><title>" + HtmlEscape(title) + "</title>";
}

struct Scale {
  double lo = 0, hi = 1;
  SvgSize size;
  size_t n = 1;
  double X(size_t i) const {
    const double span = static_cast<double>(size.width) - 2 * kPad;
    return kPad + (n <= 1 ? span : span * static_cast<double>(i) / static_cast<double>(n - 1));
  }
  double Y(double v) const {
    const double span = static_cast<double>(size.height) - 2 * kPad;
    const double t = hi > lo ? (std::clamp(v, lo, hi) - lo) / (hi - lo) : 0.5;
    return kPad + span * (1 - t);
  }
};

// A polyline per run of drawable points (`at(i)` nullopt breaks the line).
template <typename At>
std::string Lines(const Scale& scale, size_t n, At at, const char* css_class) {
  std::string out, run;
  size_t in_run = 0;
  auto flush = [&] {
    if (in_run > 0) {
      out += "<polyline class=\"" + std::string(css_class) + "\" fill=\"none\" points=\"" + run + "\"/>";
    }
    run.clear();
    in_run = 0;
  };
  for (size_t i = 0; i < n; ++i) {
    const double v = at(i);
    if (std::isnan(v)) {
      flush();
      continue;
    }
    if (!run.empty()) run += ' ';
    run += Num(scale.X(i)) + "," + Num(scale.Y(v));
    ++in_run;
  }
  flush();
  return out;
}

}  // namespace

std::string ErrorChartSvg(const std::vector<HistoryPoint>& points, SvgSize size, const std::string& title) {
  std::string out = Open(size, title);
  if (points.empty()) return out + "</svg>";
  double max_threshold = 0, max_error = 0;
  for (const HistoryPoint& p : points) {
    if (std::isfinite(p.threshold)) max_threshold = std::max(max_threshold, p.threshold);
    if (std::isfinite(p.error)) max_error = std::max(max_error, p.error);
  }
  Scale scale;
  scale.size = size;
  scale.n = points.size();
  // Up to four thresholds high: the threshold stays readable whatever one
  // window's error was; taller errors are clipped (and marked).
  scale.hi = max_threshold > 0 ? std::min(max_error, 4 * max_threshold) : max_error;
  scale.hi = std::max({scale.hi, max_threshold * 1.1, 1e-12});
  out += Lines(scale, points.size(), [&](size_t i) { return points[i].threshold; }, "threshold");
  out += Lines(scale, points.size(), [&](size_t i) {
    const double e = points[i].error;
    return std::isfinite(e) ? e : scale.hi;  // non-finite: above everything
  }, "error");
  for (size_t i = 0; i < points.size(); ++i) {
    if (!std::isfinite(points[i].error) || points[i].error > scale.hi) {
      out += "<circle class=\"clipped\" cx=\"" + Num(scale.X(i)) + "\" cy=\"" + Num(kPad) + "\" r=\"1.5\"/>";
    }
  }
  return out + "</svg>";
}

std::string FeatureChartSvg(const std::vector<float>& observed, const std::vector<float>& reconstructed,
                            size_t offset, size_t stride, SvgSize size, const std::string& title) {
  std::string out = Open(size, title);
  const size_t n = stride == 0 ? 0 : std::min(observed.size(), reconstructed.size()) / stride;
  if (n == 0) return out + "</svg>";
  Scale scale;
  scale.size = size;
  scale.n = n;
  scale.lo = std::numeric_limits<double>::infinity();
  scale.hi = -std::numeric_limits<double>::infinity();
  auto value = [&](const std::vector<float>& v, size_t i) {
    const double x = v[i * stride + offset];
    return std::isfinite(x) ? x : std::numeric_limits<double>::quiet_NaN();
  };
  for (size_t i = 0; i < n; ++i) {
    for (const double x : {value(observed, i), value(reconstructed, i)}) {
      if (std::isnan(x)) continue;
      scale.lo = std::min(scale.lo, x);
      scale.hi = std::max(scale.hi, x);
    }
  }
  if (!(scale.lo <= scale.hi)) return out + "</svg>";
  out += Lines(scale, n, [&](size_t i) { return value(reconstructed, i); }, "reconstructed");
  out += Lines(scale, n, [&](size_t i) { return value(observed, i); }, "observed");
  return out + "</svg>";
}

}  // namespace lstmad::daemon
