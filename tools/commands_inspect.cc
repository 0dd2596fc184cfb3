// `lstmad summary`, `reconstruct` and `score`: read a model and report on it
// or on a CSV series run through it.
#include <algorithm>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <limits>

#include "cli_args.h"
#include "command_support.h"
#include "commands.h"
#include "detection_run.h"
#include "detector_flags.h"
#include "guard_flags.h"
#include "prometheus_source.h"
#include "series_source.h"
#include "lstmad/core/files.h"
#include "lstmad/core/model_file.h"
#include "svg_plot.h"
#include "time_inputs.h"

namespace lstmad::tools {
namespace {

std::string WithThousands(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string LayerType(const core::LayerSpec& layer) {
  switch (layer.kind) {
    case core::LayerKind::kLstm: return "LSTM";
    case core::LayerKind::kRepeatVector: return "RepeatVector";
    case core::LayerKind::kDense: return layer.time_distributed ? "TimeDistributed" : "Dense";
    case core::LayerKind::kBatchNorm: return "BatchNormalization";
  }
  return "?";
}

std::string ShapeText(const core::LayerShape& shape) {
  if (shape.steps == 0) return "(None, " + std::to_string(shape.width) + ")";
  return "(None, " + std::to_string(shape.steps) + ", " + std::to_string(shape.width) + ")";
}

// A table laid out like Keras' model.summary().
void PrintSummary(const core::Model& model, const std::string& path, std::ostream& out) {
  const core::Architecture& arch = model.architecture;
  const std::vector<core::LayerShape> shapes = core::LayerOutputShapes(arch);
  std::vector<std::string> labels;
  size_t label_width = 28;
  for (const core::LayerSpec& layer : arch.layers) {
    labels.push_back(layer.name + " (" + LayerType(layer) + ")");
    label_width = std::max(label_width, labels.back().size() + 2);
  }
  const int width = static_cast<int>(label_width);
  const std::string rule(label_width + 37, '_'), double_rule(label_width + 37, '=');
  out << "Model: \"" << path << "\"\n" << rule << "\n";
  out << std::left << " " << std::setw(width) << "Layer (type)" << std::setw(26) << "Output Shape"
      << "Param #\n" << double_rule << "\n";
  for (size_t i = 0; i < arch.layers.size(); ++i) {
    out << " " << std::setw(width) << labels[i] << std::setw(26) << ShapeText(shapes[i])
        << core::LayerParamCount(arch, i) << "\n";
    if (i + 1 < arch.layers.size()) out << "\n";
  }
  const int64_t total = core::TotalParamCount(arch);
  const int64_t frozen = core::NonTrainableParamCount(arch);
  out << double_rule << "\nTotal params: " << WithThousands(total)
      << "\nTrainable params: " << WithThousands(total - frozen)
      << "\nNon-trainable params: " << WithThousands(frozen) << "\n"
      << rule << "\n";
  out << "Input: " << arch.timesteps << " timesteps x " << arch.features << " features (";
  for (size_t f = 0; f < model.feature_names.size(); ++f) {
    out << (f ? ", " : "") << model.feature_names[f];
  }
  out << ")\nActivation: "
      << (arch.layers.empty() ? "?" : core::ActivationName(arch.layers[0].activation)) << "\n";
  out << "Scaler: " << core::ScalerKindName(model.scaler.kind) << "\n";
  out << "Time features: " << model.time_features.ToString();
  if (!model.time_features.empty()) {
    out << " (" << model.time_features.inputs()
        << " inputs after the features: sin, cos of each cycle; not scaled, not in the error)";
  }
  out << "\n";
  out << "Threshold: " << model.threshold << " (" << model.threshold_spec << ", window MSE"
      << (model.error_options.last_step_only ? " of the last step" : "") << ", scaled units)\n";
  out << "Fingerprint: " << core::FingerprintText(core::ModelFingerprint(model))
      << " (what decides the errors: the daemon keeps a stream's detector only under the same)\n";
  for (const auto& [key, value] : model.metadata) out << "  " << key << ": " << value << "\n";
}

struct ModelAndData {
  core::Model model;
  std::optional<core::Network<float>> net;
  core::CsvTable table;
};

// Loads --model and --data (with the model's features); on failure prints and
// returns false with `exit_code` set.
bool LoadModelAndData(const ArgParser& p, const char* command, ModelAndData* out, int* exit_code) {
  if (!p.Has("model")) {
    *exit_code = Fail(command, "--model is required");
    return false;
  }
  if (std::string e = CheckSeriesSource(p); !e.empty()) {
    *exit_code = Fail(command, e);
    return false;
  }
  core::Result<core::Model> model = core::LoadModel(p.Get("model"));
  if (!model.ok()) {
    *exit_code = Fail(command, model.status().message());
    return false;
  }
  out->model = std::move(model).value();
  core::Result<core::Network<float>> net = out->model.MakeNetwork();
  if (!net.ok()) {
    *exit_code = Fail(command, p.Get("model") + ": " + net.status().message());
    return false;
  }
  out->net.emplace(std::move(net).value());
  core::Result<core::EmptyCells> fill = FillOf(p);
  if (!fill.ok()) {
    *exit_code = Fail(command, fill.status().message());
    return false;
  }
  core::Result<core::CsvTable> table = LoadSeries(p, command, out->model.feature_names, *fill);
  if (!table.ok()) {
    *exit_code = Fail(command, table.status().message());
    return false;
  }
  out->table = std::move(table).value();
  if (core::Status s = CheckTimeInputs(out->model, out->table, SeriesName(p)); !s.ok()) {
    *exit_code = Fail(command, s.message());
    return false;
  }
  if (out->table.rows() < out->model.architecture.timesteps) {
    *exit_code = Fail(command, SeriesName(p) + ": " + std::to_string(out->table.rows()) +
                                   " rows, fewer than the model's lookback " +
                                   std::to_string(out->model.architecture.timesteps));
    return false;
  }
  return true;
}

ArgParser ModelDataParser(const char* command, const char* summary) {
  ArgParser p(command, summary);
  p.AddOption("model", "MODEL", "an lstmad model file");
  p.AddOption("data", "FILE.csv", "the series (must have the model's feature columns)");
  AddFillFlag(&p);
  AddPrometheusFlags(&p);  // or the series from Prometheus: one --query per model feature
  return p;
}

// %.9g: enough digits for a float to round-trip.
void PrintNumber(std::FILE* out, double v) { std::fprintf(out, "%.9g", v); }

}  // namespace

int RunSummary(const std::vector<std::string>& args) {
  ArgParser p("summary", "Show a model's layers (as Keras' model.summary()), settings and provenance.");
  p.AddPositional("MODEL", "an lstmad model file");
  if (int code = ParseArgsOrExit(&p, args, "summary"); code >= 0) return code;
  core::Result<core::Model> model = core::LoadModel(p.positionals()[0]);
  if (!model.ok()) return Fail("summary", model.status().message());
  PrintSummary(*model, p.positionals()[0], std::cout);
  return kExitOk;
}

int RunReconstruct(const std::vector<std::string>& args) {
  ArgParser p = ModelDataParser(
      "reconstruct",
      "Print every window of the series and the model's reconstruction of it, in the original\n"
      "units: CSV with header window,step,<f1>,<f1>_hat,... (one row per window and timestep;\n"
      "window k covers rows k .. k+T-1 of the data).");
  if (int code = ParseArgsOrExit(&p, args, "reconstruct"); code >= 0) return code;
  ModelAndData d;
  int exit_code = 0;
  if (!LoadModelAndData(p, "reconstruct", &d, &exit_code)) return exit_code;
  std::FILE* out = stdout;
  std::fputs("window,step", out);
  for (const std::string& f : d.model.feature_names) std::fprintf(out, ",%s,%s_hat", f.c_str(), f.c_str());
  std::fputc('\n', out);
  const int steps = d.model.architecture.timesteps;
  core::Matrix<float> hat;
  ForEachWindowBatch(d.model, *d.net, d.table, [&](const WindowBatch& wb) {
    hat = *wb.output;
    d.model.scaler.Inverse(&hat);
    for (int b = 0; b < wb.batch; ++b) {
      for (int t = 0; t < steps; ++t) {
        const int window = wb.first + b;
        std::fprintf(out, "%d,%d", window, t);
        const auto x = d.table.values.col(window + t);
        const auto y = hat.col(static_cast<Eigen::Index>(t) * wb.batch + b);
        for (Eigen::Index f = 0; f < x.size(); ++f) {
          std::fputc(',', out);
          PrintNumber(out, x[f]);
          std::fputc(',', out);
          PrintNumber(out, y[f]);
        }
        std::fputc('\n', out);
      }
    }
  });
  return std::fflush(out) == 0 ? kExitOk : Fail("reconstruct", "writing stdout failed", kExitFailure);
}

int RunScore(const std::vector<std::string>& args) {
  ArgParser p = ModelDataParser(
      "score",
      "Score every window of the series: CSV with header\n"
      "timestamp,error,threshold,anomaly,<f1>_error,...,anomaly_score,alert one row per window, keyed by\n"
      "its last sample (its timestamp as written, or its 0-based row index without a timestamp\n"
      "column). error is the window's MSE in scaled units; threshold is the model's; anomaly is the\n"
      "window's verdict (1: above), the one alert counts: the detector's alarm once calibrated,\n"
      "error > threshold before that and with --threshold-mode fixed;\n"
      "<f>_error is feature f's share of it (MSE over the window's steps); anomaly_score in [0, 1]\n"
      "comes from the streaming detector (docs/detection.md), which calibrates its tail model on\n"
      "the first --calibration windows (the fixed threshold decides until then). alert is the\n"
      "daemon's alert state after the window (1: firing): it fires after --alert-for consecutive\n"
      "windows above and resolves after --alert-clear not above (anomaly 0); a window above only\n"
      "by the likelihood's hysteresis keeps a firing alert firing but does not count to fire; with\n"
      "--guards, a guard's verdict on the window's newest values replaces it (docs/detection.md).");
  p.AddOption("threshold", "X", "override the model's threshold");
  p.AddOption("calibration", "N", "windows that calibrate the detector's tail model", "500");
  p.AddOption("plot", "OUT.svg", "also draw the series, reconstruction, error, threshold and alerts");
  AddDetectorFlags(&p);
  AddGuardFlag(&p);
  AddAlertFlags(&p);
  if (int code = ParseArgsOrExit(&p, args, "score"); code >= 0) return code;
  ModelAndData d;
  int exit_code = 0;
  if (!LoadModelAndData(p, "score", &d, &exit_code)) return exit_code;
  double threshold = d.model.threshold;
  if (p.Has("threshold") && (!ParseDouble(p.Get("threshold"), &threshold) || threshold < 0)) {
    return Fail("score", "--threshold must be a number >= 0");
  }
  core::DetectorOptions options;
  if (std::string e = ParseDetectorFlags(p, &options); !e.empty()) return Fail("score", e);
  constexpr int kMax = std::numeric_limits<int>::max();
  if (std::string e = IntFlag(p, "calibration", core::kMinSpotCalibration + options.dspot_depth, kMax,
                              &options.calibration_windows);
      !e.empty()) {
    return Fail("score", e);
  }
  core::AlertRule rule;
  if (std::string e = ParseAlertFlags(p, &rule); !e.empty()) return Fail("score", e);
  std::vector<core::FeatureGuard> guards;
  if (std::string e = ParseGuardFlag(p, d.model.feature_names, &guards); !e.empty()) return Fail("score", e);
  SeriesRun run = RunModel(d.model, *d.net, d.table);
  if (core::Status s = Detect(options, threshold, 0, &run, guards); !s.ok()) return Fail("score", s.message());
  // One verdict: the anomaly column is what the alert counts, window by window.
  const std::vector<uint8_t> verdicts = AlertVerdicts(run, options.threshold, threshold);
  const std::vector<uint8_t> alert = AlertColumn(verdicts, rule, HeldVerdicts(run, options.threshold));
  std::FILE* out = stdout;
  std::fputs("timestamp,error,threshold,anomaly", out);
  for (const std::string& f : d.model.feature_names) std::fprintf(out, ",%s_error", f.c_str());
  std::fputs(",anomaly_score,alert\n", out);
  for (int w = 0; w < run.windows(); ++w) {
    const int last = run.RowOf(w);
    if (d.table.timestamps.empty()) {
      std::fprintf(out, "%d,", last);
    } else {
      std::fprintf(out, "%s,", d.table.timestamps[static_cast<size_t>(last)].c_str());
    }
    const double error = run.errors[static_cast<size_t>(w)];
    PrintNumber(out, error);
    std::fputc(',', out);
    PrintNumber(out, threshold);
    std::fprintf(out, ",%d", verdicts[static_cast<size_t>(w)]);
    for (Eigen::Index f = 0; f < run.per_feature.rows(); ++f) {
      std::fputc(',', out);
      PrintNumber(out, run.per_feature(f, w));
    }
    std::fputc(',', out);
    PrintNumber(out, run.detections[static_cast<size_t>(w)].score);
    std::fprintf(out, ",%d\n", alert[static_cast<size_t>(w)]);
  }
  if (p.Has("plot")) {
    const core::Status written = core::WriteFileAtomically(
        p.Get("plot"), RenderSvg(MakePlot("lstmad score: " + SeriesName(p), d.table, run, threshold, {}, 0)));
    if (!written.ok()) return FailWrite("score", written);
  }
  return std::fflush(out) == 0 ? kExitOk : Fail("score", "writing stdout failed", kExitFailure);
}

}  // namespace lstmad::tools
