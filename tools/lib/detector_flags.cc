#include "detector_flags.h"

#include <limits>

#include "lstmad/core/text.h"

namespace lstmad::tools {

core::DetectorOptions DefaultDetectorOptions() {
  core::DetectorOptions o;
  o.threshold = core::ThresholdMode::kLikelihood;  // the daemon's default too (config/settings.h)
  o.spot.risk = 1e-4;
  o.spot.initial_level = 0.98;
  o.spot.max_peaks = 1000;
  o.dspot_depth = 10;
  o.smoothing_span = 1;
  o.refractory = 0;
  o.score = core::ScoreMode::kOnset;
  return o;
}

void AddDetectorFlags(ArgParser* p) {
  const core::DetectorOptions d = DefaultDetectorOptions();
  p->AddOption("threshold-mode", "fixed|spot|dspot|likelihood|spot_and_likelihood",
               "what decides alarms: the model's fixed threshold, SPOT's adaptive one, DSPOT's "
               "(SPOT on the error minus its recent mean), the anomaly likelihood (the error's short "
               "mean against the stream's recent errors), or SPOT and the likelihood together",
               std::string(core::ThresholdModeName(d.threshold)));
  p->AddOption("risk", "Q", "SPOT/DSPOT risk: the probability that a normal window alarms",
               core::FormatSignificant(d.spot.risk));
  p->AddOption("spot-level", "L", "SPOT's initial threshold t: this quantile of the calibration errors",
               core::FormatSignificant(d.spot.initial_level));
  p->AddOption("spot-max-peaks", "K", "SPOT keeps at most K peaks (bounded memory)",
               std::to_string(d.spot.max_peaks));
  p->AddOption("dspot-depth", "D", "DSPOT's moving-average depth in windows",
               std::to_string(d.dspot_depth));
  p->AddOption("likelihood-window", "N", "likelihood: errors averaged into the judged value",
               std::to_string(d.likelihood.short_window));
  p->AddOption("likelihood-history", "N",
               "likelihood: recent windows the normal error distribution is estimated over (a multiple "
               "of 100)",
               std::to_string(d.likelihood.history));
  p->AddOption("likelihood-risk", "Q", "likelihood: alarm when the tail probability is below Q",
               core::FormatSignificant(d.likelihood.risk));
  p->AddOption("likelihood-risk-per", "DURATION",
               "likelihood: the risk is per this much of the series' time (e.g. 5m), not per window: "
               "the risk per window becomes Q x the sampling interval (the median over the calibration "
               "windows, from the timestamp column) / DURATION (0: per window)",
               "0");
  p->AddOption("likelihood-clear-risk", "Q",
               "likelihood: after an alarm, the alarm goes on while the tail probability stays below Q "
               "(hysteresis: such a window keeps a firing alert firing but starts none; 0: none, "
               "Q = --likelihood-risk)",
               core::FormatSignificant(d.likelihood.clear_risk));
  p->AddOption("likelihood-settle", "N",
               "likelihood: windows after calibration judged without alarming, learnt unclipped, so "
               "the history holds fresh errors, not only the trained-on ones (0: none) (default: the "
               "lookback)");
  p->AddOption("likelihood-settle-weight", "W",
               "likelihood: how many windows of the history each settling window's short mean counts "
               "as, so the few fresh errors weigh against the many trained-on ones (1: as one window)",
               std::to_string(d.settle_weight));
  p->AddOption("likelihood-accept-after", "N",
               "likelihood: after N alarming windows in a row the change is taken as the new normal, "
               "and the alarm's windows enter the history unclipped, as settling windows do (0: never) "
               "(default: a tenth of the history)");
  p->AddOption("novelty-margin", "M|off",
               "a window whose newest value lies beyond the range of every value seen so far by more "
               "than M times that range alarms (Numenta's rule; off: never)",
               core::FormatSignificant(d.novelty_margin));
  p->AddOption("smoothing", "SPAN", "EWMA of the errors over SPAN windows (1: off)",
               core::FormatSignificant(d.smoothing_span));
  p->AddOption("refractory", "N",
               "windows without alarm before a new excursion can start (default: the lookback)");
  p->AddOption("score-mode", "onset|level",
               "anomaly_score: onset (0.5 + 0.5 level at each excursion's first alarm, 0.5 level "
               "elsewhere) or level (1 - tail probability of the error)",
               std::string(core::ScoreModeName(d.score)));
}

void AddAlertFlags(ArgParser* p) {
  // The daemon's defaults for models[i].alert, from the one place both read.
  p->AddOption("alert-for", "N", "alert: consecutive windows with anomaly 1 to fire (alert.for)",
               std::to_string(core::AlertRule{}.fire_after));
  p->AddOption("alert-clear", "N", "alert: consecutive windows with anomaly 0 to resolve (alert.clear)",
               std::to_string(core::AlertRule{}.clear_after));
}

std::string ParseAlertFlags(const ArgParser& p, core::AlertRule* rule) {
  constexpr int kMax = std::numeric_limits<int>::max();
  if (std::string e = IntFlag(p, "alert-for", 1, kMax, &rule->fire_after); !e.empty()) return e;
  return IntFlag(p, "alert-clear", 1, kMax, &rule->clear_after);
}

std::string ParseDetectorFlags(const ArgParser& p, core::DetectorOptions* o) {
  *o = DefaultDetectorOptions();
  auto mode = core::ParseThresholdMode(p.Get("threshold-mode"));
  if (!mode) return "--threshold-mode must be fixed, spot or dspot";
  o->threshold = *mode;
  auto score = core::ParseScoreMode(p.Get("score-mode"));
  if (!score) return "--score-mode must be onset or level";
  o->score = *score;
  if (!ParseDouble(p.Get("risk"), &o->spot.risk)) return "--risk must be a number";
  if (!ParseDouble(p.Get("spot-level"), &o->spot.initial_level)) return "--spot-level must be a number";
  constexpr int kMax = std::numeric_limits<int>::max();
  if (std::string e = IntFlag(p, "spot-max-peaks", 1, kMax, &o->spot.max_peaks); !e.empty()) return e;
  if (std::string e = IntFlag(p, "dspot-depth", 0, kMax, &o->dspot_depth); !e.empty()) return e;
  if (!ParseDouble(p.Get("smoothing"), &o->smoothing_span)) return "--smoothing must be a number";
  if (std::string e = IntFlag(p, "likelihood-window", 1, kMax, &o->likelihood.short_window); !e.empty())
    return e;
  if (std::string e = IntFlag(p, "likelihood-history", 1, kMax, &o->likelihood.history); !e.empty()) return e;
  if (!ParseDouble(p.Get("likelihood-risk"), &o->likelihood.risk)) return "--likelihood-risk must be a number";
  if (!ParseDuration(p.Get("likelihood-risk-per"), &o->likelihood_risk_per)) {
    return "--likelihood-risk-per must be a duration >= 0 (seconds, or 30s, 5m, 1h)";
  }
  if (!ParseDouble(p.Get("likelihood-clear-risk"), &o->likelihood.clear_risk)) {
    return "--likelihood-clear-risk must be a number";
  }
  if (p.Has("likelihood-settle")) {
    if (std::string e = IntFlag(p, "likelihood-settle", 0, kMax, &o->settle); !e.empty()) return e;
  }
  if (std::string e = IntFlag(p, "likelihood-settle-weight", 1, 10000, &o->settle_weight); !e.empty())
    return e;
  if (p.Has("likelihood-accept-after")) {
    if (std::string e = IntFlag(p, "likelihood-accept-after", 0, kMax, &o->accept_after); !e.empty())
      return e;
  }
  if (const std::string margin = p.Get("novelty-margin"); margin == "off") {
    o->novelty_margin = core::kNoveltyOff;
  } else if (!ParseDouble(margin, &o->novelty_margin) || !(o->novelty_margin >= 0)) {
    return "--novelty-margin must be a number >= 0 or off";
  }
  if (p.Has("refractory")) {
    if (std::string e = IntFlag(p, "refractory", 1, kMax, &o->refractory); !e.empty()) return e;
  }
  if (core::Status s = o->Validate(); !s.ok()) return s.message();
  return {};
}

std::string DescribeDetector(const core::DetectorOptions& o, int refractory) {
  std::string text = "threshold " + std::string(core::ThresholdModeName(o.threshold));
  if (o.uses_spot()) {
    text += ", tail SPOT q=" + core::FormatSignificant(o.spot.risk) +
            " level=" + core::FormatSignificant(o.spot.initial_level) +
            " K=" + std::to_string(o.spot.max_peaks);
  }
  if (o.uses_likelihood()) {
    text +=
        ", likelihood window=" + std::to_string(o.likelihood.short_window) +
        " history=" + std::to_string(o.likelihood.history) +
        " q=" + core::FormatSignificant(o.likelihood.risk) +
        (o.likelihood_risk_per > 0 ? " per " + core::FormatSignificant(o.likelihood_risk_per) + " s" : "") +
        (o.likelihood.clear_risk > 0 ? " clear q=" + core::FormatSignificant(o.likelihood.clear_risk) : "") +
        " settle=" + (o.settle < 0 ? std::string("T") : std::to_string(o.settle)) +
        (o.settle != 0 ? " x" + std::to_string(o.settle_weight) : "") + " accept after " +
        (o.accept_after_windows() > 0 ? std::to_string(o.accept_after_windows()) : std::string("never"));
  }
  if (o.threshold == core::ThresholdMode::kDspot) text += " depth=" + std::to_string(o.dspot_depth);
  if (o.threshold != core::ThresholdMode::kFixed) {
    text += ", novel values " +
            (o.uses_novelty() ? "beyond the range by " + core::FormatSignificant(o.novelty_margin) + " of it"
                              : std::string("off"));
  }
  text += ", smoothing " +
          (o.smoothing_span <= 1 ? std::string("off") : "span " + core::FormatSignificant(o.smoothing_span));
  text += ", refractory " + std::to_string(refractory) + " windows, score " +
          std::string(core::ScoreModeName(o.score));
  return text;
}

}  // namespace lstmad::tools
