// What `lstmad evaluate` and `evaluate-stream` report about a labelled
// series: the metrics (as text or one JSON object) and NAB's results file.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "lstmad/core/alert_state.h"
#include "lstmad/core/evaluation.h"
#include "lstmad/core/status.h"

namespace lstmad::tools {

// The anomaly score at or above which NAB-style scoring counts a detection:
// with the onset score, exactly the onsets (docs/detection.md).
inline constexpr double kNabScoreThreshold = 0.5;

struct EvaluationSummary {
  std::string data;          // the data file
  std::string detector;      // the detector's settings, one line
  std::string training;      // evaluate-stream: how the model was trained; else ""
  int rows = 0;
  int probation = 0;         // rows not scored (NAB's probationary period)
  int onsets = 0;            // onsets among scored rows
  double sample_seconds = 0;  // median spacing of the timestamps; 0 if unknown
  core::Evaluation eval;     // alarms against labels, rows >= probation
  core::NabFileScore nab;    // standard profile, score >= kNabScoreThreshold
  // What an operator receives: the daemon's alert state (`score`'s alert
  // column) against the labels, rows >= probation.
  core::AlertRule alert_rule;
  core::Evaluation alerts;
  int alerts_fired = 0;  // alerts that fired after the probationary period
  int alert_rows = 0;    // scored rows with the alert firing
  // Alerts whose lasting change the detector took as the new normal
  // (detector.likelihood_accept_after): the daemon resolves them with reason
  // change_accepted.
  int alerts_accepted = 0;
};

// Per row: `alarms` (the window's verdict), `alerts` (the alert firing after
// the window ending there, under `rule`) and `scores`.
EvaluationSummary Summarize(const std::string& data, const std::vector<uint8_t>& labels,
                            const std::vector<uint8_t>& alarms, const std::vector<double>& scores,
                            const std::vector<uint8_t>& alerts, const core::AlertRule& rule, int probation,
                            const std::vector<std::string>& timestamps);

void PrintText(std::ostream& out, const EvaluationSummary& s);
void PrintJson(std::ostream& out, const EvaluationSummary& s);

// Writes DIR/<category>/<detector>_<file name>, the category being the name
// of the data file's folder: columns timestamp,value,anomaly_score,label as
// NAB's scorer reads them.
core::Status WriteNabResults(const std::string& dir, const std::string& detector,
                             const std::string& data, const std::vector<std::string>& timestamps,
                             const std::vector<double>& values, const std::vector<double>& scores,
                             const std::vector<uint8_t>& labels);

}  // namespace lstmad::tools
