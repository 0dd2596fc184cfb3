// The SVG plot: well-formed XML, one path per drawn series with one point per
// finite value (for a series narrower than the plot), and non-finite values
// breaking lines instead of reaching the markup.
#include "svg_plot.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "markup_check.h"

namespace lstmad::tools {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

PlotData Tiny() {
  PlotData d;
  d.title = "pump <1> & \"friends\"";
  d.time = {0, 1, 2, 3, 4};
  d.feature_names = {"temperature"};
  d.values = {{1, 2, 3, 2, 1}};
  d.reconstruction = {{1.1, 1.9, 2.8, 2.1, 1.0}};
  d.error = {kNaN, kNaN, 0.5, 0.25, 0.75};  // the first window ends at row 2
  d.threshold = {kNaN, kNaN, 0.6, 0.6, 0.6};
  d.fixed_threshold = 0.6;
  d.score = {kNaN, kNaN, 0, 0, 1};
  d.alarms = {0, 0, 0, 0, 1};
  d.onsets = {0, 0, 0, 0, 1};
  return d;
}

// The `d` attribute of every <path>, in document order. (Scanned by hand:
// std::regex trips GCC 12's -Wmaybe-uninitialized in the sanitizer build.)
std::vector<std::string> Paths(const std::string& svg) {
  std::vector<std::string> out;
  for (size_t at = svg.find("<path "); at != std::string::npos; at = svg.find("<path ", at + 1)) {
    const size_t tag_end = svg.find('>', at);
    const size_t d = svg.find(" d=\"", at);
    if (d == std::string::npos || d > tag_end) continue;
    const size_t value = d + 4;
    const size_t value_end = svg.find('"', value);
    if (value_end == std::string::npos || value_end > tag_end) continue;
    out.push_back(svg.substr(value, value_end - value));
  }
  return out;
}

int Count(const std::string& s, char c) {
  return static_cast<int>(std::count(s.begin(), s.end(), c));
}

TEST(SvgPlotTest, TinySeriesIsWellFormedWithOnePointPerValue) {
  const std::string svg = RenderSvg(Tiny());
  std::map<std::string, int> elements;
  ASSERT_EQ(testing::CheckXml(svg, &elements), "") << svg;
  EXPECT_EQ(elements["svg"], 1);
  EXPECT_EQ(elements["circle"], 1);  // the one onset
  // series, reconstruction, error, threshold, score: the fixed threshold
  // equals the one in force, so no dashed line.
  const std::vector<std::string> paths = Paths(svg);
  ASSERT_EQ(paths.size(), 5u) << svg;
  const int points[] = {5, 5, 3, 3, 3};
  for (size_t i = 0; i < paths.size(); ++i) {
    EXPECT_EQ(Count(paths[i], 'M'), 1) << paths[i];
    EXPECT_EQ(Count(paths[i], 'M') + Count(paths[i], 'L'), points[i]) << paths[i];
  }
  EXPECT_NE(svg.find("pump &lt;1&gt; &amp; &quot;friends&quot;"), std::string::npos);
}

TEST(SvgPlotTest, NonFiniteValuesBreakTheLineAndNeverReachTheMarkup) {
  PlotData d = Tiny();
  d.values[0][2] = kNaN;
  d.reconstruction[0][3] = std::numeric_limits<double>::infinity();
  d.error[3] = -std::numeric_limits<double>::infinity();
  const std::string svg = RenderSvg(d);
  ASSERT_EQ(testing::CheckXml(svg), "") << svg;
  const std::vector<std::string> paths = Paths(svg);
  ASSERT_EQ(paths.size(), 5u);
  EXPECT_EQ(Count(paths[0], 'M'), 2);  // rows 0-1, then 3-4
  EXPECT_EQ(Count(paths[0], 'M') + Count(paths[0], 'L'), 4);
  EXPECT_EQ(Count(paths[1], 'M'), 2);  // rows 0-2, then 4
  EXPECT_EQ(Count(paths[1], 'M') + Count(paths[1], 'L'), 4);
  EXPECT_EQ(Count(paths[2], 'M'), 2);  // rows 2, then 4
  for (const char* bad : {"nan", "inf", "NaN", "Inf"})
    EXPECT_EQ(svg.find(bad), std::string::npos) << bad;
}

TEST(SvgPlotTest, ADifferentFixedThresholdIsDrawnDashed) {
  PlotData d = Tiny();
  d.threshold = {kNaN, kNaN, 0.6, 0.7, 0.8};  // an adaptive threshold
  const std::string svg = RenderSvg(d);
  ASSERT_EQ(testing::CheckXml(svg), "") << svg;
  EXPECT_EQ(Paths(svg).size(), 6u);
  EXPECT_NE(svg.find("stroke-dasharray=\"6,4\""), std::string::npos);
}

TEST(SvgPlotTest, AtMostFourFeaturePanels) {
  PlotData d = Tiny();
  d.feature_names = {"a", "b", "c", "d", "e"};
  d.values.assign(5, d.values[0]);
  d.reconstruction.assign(5, d.reconstruction[0]);
  const std::string svg = RenderSvg(d);
  ASSERT_EQ(testing::CheckXml(svg), "") << svg;
  EXPECT_EQ(Paths(svg).size(), 2u * kMaxPlottedFeatures + 3);
}

TEST(SvgPlotTest, EmptySeriesDrawsNothing) { EXPECT_EQ(RenderSvg(PlotData{}), ""); }

}  // namespace
}  // namespace lstmad::tools
