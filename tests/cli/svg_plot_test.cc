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

PlotData TinyPlot() {
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
  const std::string svg = RenderSvg(TinyPlot());
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
  PlotData d = TinyPlot();
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
  PlotData d = TinyPlot();
  d.threshold = {kNaN, kNaN, 0.6, 0.7, 0.8};  // an adaptive threshold
  const std::string svg = RenderSvg(d);
  ASSERT_EQ(testing::CheckXml(svg), "") << svg;
  EXPECT_EQ(Paths(svg).size(), 6u);
  EXPECT_NE(svg.find("stroke-dasharray=\"6,4\""), std::string::npos);
}

TEST(SvgPlotTest, AtMostFourFeaturePanels) {
  PlotData d = TinyPlot();
  d.feature_names = {"a", "b", "c", "d", "e"};
  d.values.assign(5, d.values[0]);
  d.reconstruction.assign(5, d.reconstruction[0]);
  const std::string svg = RenderSvg(d);
  ASSERT_EQ(testing::CheckXml(svg), "") << svg;
  EXPECT_EQ(Paths(svg).size(), 2u * kMaxPlottedFeatures + 3);
}

// The y pixel of every point of a path ("M12.0,34.5L...").
std::vector<double> Ys(const std::string& path) {
  std::vector<double> ys;
  for (size_t comma = path.find(','); comma != std::string::npos; comma = path.find(',', comma + 1)) {
    ys.push_back(std::stod(path.substr(comma + 1)));
  }
  return ys;
}

// A long quiet series: errors around 0.01 with one of `spike` at row 100.
PlotData Quiet(double spike) {
  PlotData d;
  d.title = "quiet";
  const size_t n = 400;
  for (size_t i = 0; i < n; ++i) d.time.push_back(static_cast<double>(i));
  d.feature_names = {"x"};
  d.values = {std::vector<double>(n, 1.0)};
  d.reconstruction = {std::vector<double>(n, 1.0)};
  for (size_t i = 0; i < n; ++i) d.error.push_back(0.01 + 0.01 * static_cast<double>(i % 10) / 10);
  d.error[100] = spike;
  d.threshold.assign(n, 0.05);
  d.fixed_threshold = 0.05;
  d.score.assign(n, 0);
  d.alarms.assign(n, 0);
  d.onsets.assign(n, 0);
  return d;
}

// How many pixels the errors other than the spike spread over.
double QuietSpread(const PlotData& d) {
  const std::string svg = RenderSvg(d);
  EXPECT_EQ(testing::CheckXml(svg), "") << svg;
  std::vector<double> ys = Ys(Paths(svg)[2]);  // series, reconstruction, then the error
  std::sort(ys.begin(), ys.end());
  // Drop the spike's column (its min and max) at the top of the panel.
  return ys[ys.size() - 3] - ys[0];
}

TEST(SvgPlotTest, OneHugeErrorDoesNotFlattenTheOthers) {
  // 0.01..0.019 on a linear axis up to 1.2e5 would be one pixel row.
  PlotData d = Quiet(1.2e5);
  const std::string svg = RenderSvg(d);
  EXPECT_NE(svg.find("window error (MSE, scaled units), log scale"), std::string::npos);
  EXPECT_GT(QuietSpread(d), 10.0);
  EXPECT_GT(QuietSpread(Quiet(0.5)), 10.0);  // a modest spike: still readable
}

TEST(SvgPlotTest, ARunawayThresholdIsClippedAndSaidSo) {
  PlotData d = Quiet(0.03);
  for (size_t i = 200; i < 260; ++i) d.threshold[i] = 1e12;  // the adaptive threshold ran away
  const std::string svg = RenderSvg(d);
  EXPECT_NE(svg.find("the red threshold leaves the panel (up to 1e+12)"), std::string::npos) << svg;
  EXPECT_NE(svg.find("dashed grey: the model's fixed threshold (0.05)"), std::string::npos);
  EXPECT_GT(QuietSpread(d), 40.0);  // the errors keep the panel (150 px)
}

TEST(SvgPlotTest, ATimeNoteIsShownAndTheAxisSaysRow) {
  PlotData d = TinyPlot();
  d.time_note = "timestamps go backwards at data row 3 (b, then a): the x axis is the row number";
  const std::string svg = RenderSvg(d);
  ASSERT_EQ(testing::CheckXml(svg), "") << svg;
  EXPECT_NE(svg.find(">timestamps go backwards at data row 3 (b, then a): the x axis is the row number</text>"),
            std::string::npos);
  EXPECT_NE(svg.find(">row (see the note at the top)</text>"), std::string::npos);
}

TEST(SvgPlotTest, EmptySeriesDrawsNothing) { EXPECT_EQ(RenderSvg(PlotData{}), ""); }

}  // namespace
}  // namespace lstmad::tools
