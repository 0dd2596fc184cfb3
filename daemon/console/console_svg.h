// Server-rendered SVG charts for the web console: a stream's errors against
// its threshold (the overview's sparkline and the stream page's chart) and a
// feature's observed values against their reconstruction. Plain SVG text,
// no scripts, nothing loaded from elsewhere.
//
// Non-finite values: an infinite or NaN error is drawn at the top edge (it is
// above any threshold); a non-finite observed or reconstructed value breaks
// its line. The y axis spans the finite values and the threshold, so one
// huge error flattens nothing below the threshold to the axis: errors above
// four times the threshold are clipped to the top and marked.
//
// Pure functions: safe from any thread.
#pragma once

#include <string>
#include <vector>

#include "scoring/stream_history.h"

namespace lstmad::daemon {

struct SvgSize {
  int width = 160;
  int height = 32;
};

// Errors (solid) and the threshold in effect (dashed) of `points`, oldest left.
std::string ErrorChartSvg(const std::vector<HistoryPoint>& points, SvgSize size, const std::string& title);

// Two series over the same windows: `observed` (solid) and `reconstructed`
// (dashed); `stride` apart in their arrays, starting at `offset`.
std::string FeatureChartSvg(const std::vector<float>& observed, const std::vector<float>& reconstructed,
                            size_t offset, size_t stride, SvgSize size, const std::string& title);

}  // namespace lstmad::daemon
