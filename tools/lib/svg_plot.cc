#include "svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <limits>
#include <sstream>

namespace lstmad::tools {
namespace {

constexpr double kWidth = 1200, kLeft = 78, kRight = 16, kTop = 54, kGap = 26;
constexpr double kFeatureHeight = 150, kErrorHeight = 150, kScoreHeight = 90, kBottom = 44;
constexpr double kPlotWidth = kWidth - kLeft - kRight;

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Fmt(double v, const char* format = "%.1f") {
  char buf[48];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// Maps rows to x pixels (by time, so gaps in the series show).
struct XAxis {
  double t0 = 0, t1 = 1;
  double operator()(double t) const { return kLeft + (t - t0) / (t1 - t0) * kPlotWidth; }
};

// Maps values to y pixels in a panel [top, top + height]; log10 when asked.
struct YAxis {
  double top = 0, height = 1, lo = 0, hi = 1;
  bool log = false;
  double Map(double v) const {
    double u = log ? std::log10(std::max(v, std::pow(10.0, lo))) : v;
    u = std::clamp((u - lo) / (hi - lo), -0.02, 1.02);
    return top + height * (1.0 - u);
  }
};

YAxis FitY(const std::vector<const std::vector<double>*>& series, double top, double height,
           bool allow_log) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo, min_positive = hi;
  for (const auto* s : series) {
    for (double v : *s) {
      if (!std::isfinite(v)) continue;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      if (v > 0) min_positive = std::min(min_positive, v);
    }
  }
  YAxis y{top, height, 0, 1, false};
  if (!std::isfinite(lo)) return y;
  // Reconstruction errors span orders of magnitude: log scale when they do.
  if (allow_log && lo >= 0 && std::isfinite(min_positive) && hi / min_positive > 100) {
    y.log = true;
    y.lo = std::log10(std::max(min_positive, hi * 1e-6));
    y.hi = std::log10(hi) + 0.05;
    return y;
  }
  const double pad = hi > lo ? 0.05 * (hi - lo) : std::max(std::abs(hi), 1.0) * 0.5;
  y.lo = lo >= 0 ? std::max(lo - pad, 0.0) : lo - pad;  // errors never below 0
  y.hi = hi + pad;
  return y;
}

// The error panel's axis: from the errors (their 1st percentile of positive
// values up to their maximum), the model's fixed threshold and the median of
// the threshold in force, not from every threshold value: an adaptive
// threshold that runs away for a while is clipped at the top and `*clipped`
// says how far it went (0: not clipped).
YAxis FitErrorY(const PlotData& d, double top, double height, double* clipped) {
  std::vector<double> positive, thresholds;
  double highest = 0;
  for (double v : d.error) {
    if (!std::isfinite(v)) continue;
    highest = std::max(highest, v);
    if (v > 0) positive.push_back(v);
  }
  for (double t : d.threshold) {
    if (std::isfinite(t)) thresholds.push_back(t);
  }
  *clipped = 0;
  if (positive.empty()) return FitY({&d.error, &d.threshold}, top, height, true);
  std::sort(positive.begin(), positive.end());
  double low = positive[(positive.size() - 1) / 100];
  if (!thresholds.empty()) {
    std::nth_element(thresholds.begin(), thresholds.begin() + static_cast<std::ptrdiff_t>(thresholds.size() / 2),
                     thresholds.end());
    const double median = thresholds[thresholds.size() / 2];
    if (median > 0) {
      highest = std::max(highest, median);
      low = std::min(low, median);
    }
  }
  if (d.fixed_threshold > 0 && std::isfinite(d.fixed_threshold)) {
    highest = std::max(highest, d.fixed_threshold);
    low = std::min(low, d.fixed_threshold);
  }
  YAxis y{top, height, 0, 1, false};
  if (highest / low > 100) {
    y.log = true;
    y.lo = std::log10(low) - 0.3;  // a factor of two below, so the low errors are not on the frame
    y.hi = std::log10(highest) + 0.05;
  } else {
    y.lo = 0;
    y.hi = highest * 1.05;
  }
  const double panel_top = y.log ? std::pow(10.0, y.hi) : y.hi;
  for (double t : d.threshold) {
    if (std::isfinite(t) && t > panel_top) *clipped = std::max(*clipped, t);
  }
  return y;
}

// A polyline through (time, value), one min and one max per pixel column so
// long series keep their spikes; NaN breaks the line.
std::string Path(const std::vector<double>& time, const std::vector<double>& v, const XAxis& x,
                 const YAxis& y) {
  std::ostringstream d;
  bool pen_down = false;
  size_t i = 0;
  while (i < v.size()) {
    if (!std::isfinite(v[i])) {
      pen_down = false;
      ++i;
      continue;
    }
    const int column = static_cast<int>(x(time[i]));
    size_t j = i, at_min = i, at_max = i;
    for (; j < v.size() && std::isfinite(v[j]) && static_cast<int>(x(time[j])) == column; ++j) {
      if (v[j] < v[at_min]) at_min = j;
      if (v[j] > v[at_max]) at_max = j;
    }
    for (size_t k : {std::min(at_min, at_max), std::max(at_min, at_max)}) {
      d << (pen_down ? 'L' : 'M') << Fmt(x(time[k])) << ',' << Fmt(y.Map(v[k]));
      pen_down = true;
      if (at_min == at_max) break;
    }
    i = j;
  }
  return d.str();
}

// Runs of non-zero flags as [first, last] rows, merged when closer than a pixel.
std::vector<std::pair<size_t, size_t>> Runs(const std::vector<uint8_t>& flags,
                                            const std::vector<double>& time, const XAxis& x) {
  std::vector<std::pair<size_t, size_t>> runs;
  for (size_t i = 0; i < flags.size(); ++i) {
    if (flags[i] == 0) continue;
    if (!runs.empty() && x(time[i]) - x(time[runs.back().second]) < 1.0) {
      runs.back().second = i;
    } else {
      runs.emplace_back(i, i);
    }
  }
  return runs;
}

std::string TimeLabel(double t, bool epoch, double span) {
  if (!epoch) return Fmt(t, "%.0f");
  const auto secs = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, span > 3 * 86400 ? "%Y-%m-%d" : "%m-%d %H:%M", &tm);
  return buf;
}

class Writer {
 public:
  Writer(const PlotData& data, double height) : d_(data), height_(height) {
    x_.t0 = data.time.front();
    x_.t1 = data.time.back() > x_.t0 ? data.time.back() : x_.t0 + 1;
    out_ << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\""
         << height << "\" viewBox=\"0 0 " << kWidth << ' ' << height
         << "\" font-family=\"sans-serif\" font-size=\"11\">\n"
         << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  }

  // Period shading behind every panel.
  void Shading(double top, double bottom) {
    const double h = bottom - top;
    if (d_.calibration_rows > 0) {
      const size_t last = std::min(static_cast<size_t>(d_.calibration_rows), d_.time.size()) - 1;
      const double x1 = x_(d_.time[last]);
      Rect(kLeft, top, x1 - kLeft, h, "#e6e6e6", 1.0);
    }
    for (auto [a, b] : Runs(d_.labels, d_.time, x_)) {
      Rect(x_(d_.time[a]), top, std::max(x_(d_.time[b]) - x_(d_.time[a]), 1.5), h, "#9fd89f", 0.55);
    }
    for (auto [a, b] : Runs(d_.alarms, d_.time, x_)) {
      Rect(x_(d_.time[a]), top, std::max(x_(d_.time[b]) - x_(d_.time[a]), 1.0), h, "#f4a3a3", 0.6);
    }
  }

  void Panel(const YAxis& y, const std::string& label) {
    out_ << "<rect x=\"" << kLeft << "\" y=\"" << Fmt(y.top) << "\" width=\"" << kPlotWidth
         << "\" height=\"" << Fmt(y.height) << "\" fill=\"none\" stroke=\"#888\"/>\n";
    Text(kLeft + 4, y.top + 12, label, "start", "#222", true);
    for (double u : {0.0, 0.5, 1.0}) {
      const double v = y.lo + u * (y.hi - y.lo);
      const double shown = y.log ? std::pow(10.0, v) : v;
      const double py = y.top + y.height * (1.0 - u);
      Text(kLeft - 4, py + 4, Fmt(shown, "%.3g"), "end", "#444", false);
      out_ << "<line x1=\"" << kLeft - 3 << "\" x2=\"" << kLeft << "\" y1=\"" << Fmt(py)
           << "\" y2=\"" << Fmt(py) << "\" stroke=\"#888\"/>\n";
    }
  }

  void Line(const std::vector<double>& v, const YAxis& y, const char* color, double width,
            const char* dash = nullptr) {
    out_ << "<path fill=\"none\" stroke=\"" << color << "\" stroke-width=\"" << width << "\""
         << (dash ? std::string(" stroke-dasharray=\"") + dash + "\"" : "") << " d=\""
         << Path(d_.time, v, x_, y) << "\"/>\n";
  }

  void Markers(const std::vector<uint8_t>& flags, const std::vector<double>& v, const YAxis& y) {
    for (size_t i = 0; i < flags.size(); ++i) {
      if (flags[i] == 0 || !std::isfinite(v[i])) continue;
      out_ << "<circle cx=\"" << Fmt(x_(d_.time[i])) << "\" cy=\"" << Fmt(y.Map(v[i]))
           << "\" r=\"3.5\" fill=\"#c00000\"/>\n";
    }
  }

  void TimeAxis(double y) {
    const double span = x_.t1 - x_.t0;
    for (int k = 0; k <= 6; ++k) {
      const double t = x_.t0 + span * k / 6.0;
      const double px = x_(t);
      out_ << "<line x1=\"" << Fmt(px) << "\" x2=\"" << Fmt(px) << "\" y1=\"" << Fmt(y) << "\" y2=\""
           << Fmt(y + 4) << "\" stroke=\"#888\"/>\n";
      Text(px, y + 16, TimeLabel(t, d_.time_is_epoch, span), k == 0 ? "start" : k == 6 ? "end" : "middle",
           "#444", false);
    }
    Text(kLeft + kPlotWidth / 2, y + 32,
         d_.time_is_epoch ? "time (UTC)" : d_.time_note.empty() ? "row" : "row (see the note at the top)", "middle",
         "#444", false);
  }

  void Legend(double y) {
    double x = kLeft;
    auto item = [&](const char* color, const std::string& label, bool box) {
      if (box) {
        Rect(x, y - 9, 14, 10, color, 0.8);
      } else {
        out_ << "<line x1=\"" << x << "\" x2=\"" << x + 14 << "\" y1=\"" << y - 4 << "\" y2=\"" << y - 4
             << "\" stroke=\"" << color << "\" stroke-width=\"2\"/>\n";
      }
      Text(x + 18, y, label, "start", "#222", false);
      x += 26 + 6.2 * static_cast<double>(label.size());
    };
    item("#1f4e9c", "series", false);
    item("#e07b00", "reconstruction", false);
    item("#c00000", "threshold", false);
    item("#f4a3a3", "alert (alarm) periods", true);
    if (!d_.labels.empty()) item("#9fd89f", "labelled anomaly windows", true);
    if (d_.calibration_rows > 0) item("#e6e6e6", "calibration / probation", true);
  }

  void Text(double x, double y, const std::string& s, const char* anchor, const char* color, bool bold) {
    out_ << "<text x=\"" << Fmt(x) << "\" y=\"" << Fmt(y) << "\" text-anchor=\"" << anchor
         << "\" fill=\"" << color << "\"" << (bold ? " font-weight=\"bold\"" : "") << ">"
         << Escape(s) << "</text>\n";
  }

  std::string Finish() {
    out_ << "</svg>\n";
    return out_.str();
  }

 private:
  void Rect(double x, double y, double w, double h, const char* color, double opacity) {
    out_ << "<rect x=\"" << Fmt(x) << "\" y=\"" << Fmt(y) << "\" width=\"" << Fmt(w) << "\" height=\""
         << Fmt(h) << "\" fill=\"" << color << "\" fill-opacity=\"" << opacity << "\"/>\n";
  }

  const PlotData& d_;
  double height_;
  XAxis x_;
  std::ostringstream out_;
};

}  // namespace

std::string RenderSvg(const PlotData& data) {
  const size_t features = std::min<size_t>(data.values.size(), kMaxPlottedFeatures);
  const double height = kTop + static_cast<double>(features) * (kFeatureHeight + kGap) +
                        kErrorHeight + kGap + kScoreHeight + kBottom;
  if (data.time.empty()) return {};
  Writer w(data, height);
  w.Text(kLeft, 20, data.title, "start", "#000", true);
  if (!data.time_note.empty()) w.Text(kLeft + kPlotWidth, 20, data.time_note, "end", "#b35900", true);
  w.Legend(40);
  const double bottom = height - kBottom;
  w.Shading(kTop, bottom);
  double top = kTop;
  for (size_t f = 0; f < features; ++f) {
    const YAxis y = FitY({&data.values[f], &data.reconstruction[f]}, top, kFeatureHeight, false);
    w.Panel(y, data.feature_names[f]);
    w.Line(data.values[f], y, "#1f4e9c", 1.0);
    w.Line(data.reconstruction[f], y, "#e07b00", 1.0);
    top += kFeatureHeight + kGap;
  }
  double clipped = 0;
  const YAxis ye = FitErrorY(data, top, kErrorHeight, &clipped);
  w.Panel(ye, std::string("window error (MSE, scaled units)") + (ye.log ? ", log scale" : ""));
  w.Line(data.error, ye, "#333", 1.0);
  bool fixed_differs = false;
  for (double t : data.threshold) fixed_differs = fixed_differs || (std::isfinite(t) && t != data.fixed_threshold);
  std::string note;
  if (fixed_differs) {
    w.Line(std::vector<double>(data.time.size(), data.fixed_threshold), ye, "#888", 1.0, "6,4");
    note = "red: the threshold in force; dashed grey: the model's fixed threshold (" +
           Fmt(data.fixed_threshold, "%.3g") + ")";
  }
  if (clipped > 0) {
    note += (note.empty() ? "" : "; ") + std::string("the red threshold leaves the panel (up to ") +
            Fmt(clipped, "%.3g") + ")";
  }
  if (!note.empty()) w.Text(kLeft + kPlotWidth - 4, ye.top + 12, note, "end", "#666", false);
  w.Line(data.threshold, ye, "#c00000", 1.3);
  top += kErrorHeight + kGap;
  const YAxis ys{top, kScoreHeight, 0, 1, false};
  w.Panel(ys, "anomaly score (dots: onsets)");
  w.Line(data.score, ys, "#5a2d82", 1.0);
  w.Markers(data.onsets, data.score, ys);
  w.TimeAxis(bottom);
  return w.Finish();
}

}  // namespace lstmad::tools
