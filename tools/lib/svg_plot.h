// A self-contained SVG picture of a scored series for `lstmad score --plot`
// and `evaluate --plot`: stacked panels sharing the time axis,
//   - each feature (up to kMaxPlottedFeatures) and its reconstruction,
//   - the window error with the threshold in force (and the fixed one),
//   - the anomaly score with the onsets marked,
// with alert periods (runs of alarms) shaded red, labelled anomaly windows
// shaded green and the calibration (probationary) period grey across all
// panels. The error panel's range comes from the errors' own spread (a log
// axis from their 1st percentile when they span more than two decades), so
// one huge error or a runaway threshold cannot flatten the rest; a threshold
// beyond the panel is said so in words. Long series are drawn with a min/max per pixel column, so a spike
// one sample wide stays visible. No scripts, fonts or external references:
// it opens in any browser.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lstmad::tools {

inline constexpr int kMaxPlottedFeatures = 4;

// Everything per row of the series; NaN where a row has no value (rows
// before the first window have no error).
struct PlotData {
  std::string title;
  std::vector<double> time;  // seconds since the epoch, or the row index
  bool time_is_epoch = false;
  // Why the time axis is the row index although the series has timestamps
  // ("timestamps go backwards at row 10150 ..."), shown on the plot; empty:
  // nothing to say.
  std::string time_note;
  std::vector<std::string> feature_names;
  std::vector<std::vector<double>> values;          // [feature][row]
  std::vector<std::vector<double>> reconstruction;  // [feature][row]
  std::vector<double> error;
  std::vector<double> threshold;  // the threshold in force per row
  double fixed_threshold = 0;     // the model's, drawn when it differs
  std::vector<double> score;
  std::vector<uint8_t> alarms;
  std::vector<uint8_t> onsets;
  std::vector<uint8_t> labels;  // empty: no ground truth
  int calibration_rows = 0;     // rows [0, calibration_rows) shaded grey
};

std::string RenderSvg(const PlotData& data);

}  // namespace lstmad::tools
