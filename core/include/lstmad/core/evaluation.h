// Scoring detections against labelled anomalies: point-wise, event-wise and
// point-adjusted precision, recall and F1, detection delay, and the NAB score
// (Numenta Anomaly Benchmark, Lavin and Ahmad 2015, as its scorer
// nab/sweeper.py computes it).
//
// Inputs are per row of a series: `labels` (1 inside a labelled anomaly) and
// `flags` (1 where the detector flagged the row), same length; rows before
// `first_scored` (a probationary period) are ignored. An event is a maximal
// run of labelled rows. Ratios with a zero denominator are 0 (as
// scikit-learn's zero_division=0).
//
// Pure functions; reentrant.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace lstmad::core {

struct Event {
  int begin = 0;  // first row
  int end = 0;    // last row (inclusive)
};

// Maximal runs of label != 0 among rows >= first_scored.
std::vector<Event> EventsFromLabels(std::span<const uint8_t> labels, int first_scored = 0);

struct Counts {
  int64_t tp = 0, fp = 0, fn = 0;
  double precision() const;
  double recall() const;
  double f1() const;
  Counts& operator+=(const Counts& other);
};

struct Evaluation {
  // Point-wise: each scored row is a sample.
  Counts points;
  // Event-wise: tp = events with a flagged row before they end, fn = events
  // without, fp = maximal runs of flagged rows that touch no event.
  Counts events;
  // Point-adjusted (Xu et al. 2018): every row of an event with any flagged
  // row counts as flagged, then point-wise. It flatters detectors (one lucky
  // flag in a long event makes all of it a true positive): reported apart.
  Counts point_adjusted;
  // Per detected event, in order: rows from its first row to its first
  // flagged row (0 = flagged at onset).
  std::vector<int> delays;
  std::vector<int> first_flags;  // the first flagged row of each detected event

  double MeanDelay() const;    // 0 when no event was detected
  double MedianDelay() const;  // lower median; 0 when none
};

Evaluation Evaluate(std::span<const uint8_t> labels, std::span<const uint8_t> flags,
                    int first_scored = 0);

// --- NAB ---------------------------------------------------------------------

// NAB's application profiles (config/profiles.json): weights of a detected
// window (A_TP), a false-positive point (A_FP) and a missed window (A_FN).
struct NabProfile {
  double tp_weight = 1.0;
  double fp_weight = 0.11;
  double fn_weight = 1.0;
  static NabProfile Standard() { return {1.0, 0.11, 1.0}; }
  static NabProfile RewardLowFp() { return {1.0, 0.22, 1.0}; }
  static NabProfile RewardLowFn() { return {1.0, 0.11, 2.0}; }
};

// NAB's probationary period: min(floor(0.15 n), 0.15 * 5000) rows.
int NabProbationaryRows(int rows, double fraction = 0.15);

// NAB's scaled sigmoid of a relative position y (-1 = a window's left edge,
// 0 its right edge, > 0 past it): 2 / (1 + e^(5y)) - 1, and -1 for y >= 3.
double NabScaledSigmoid(double y);

struct NabFileScore {
  double raw = 0;      // the sum NAB's scorer reports for the file
  double null = 0;     // what a detector that never fires gets: -A_FN * windows
  double perfect = 0;  // one detection at each window's left edge: A_TP * windows
  int windows = 0;     // windows with at least one row after the probation
  int detected = 0;    // of those, with a detection
  int false_positives = 0;  // detections outside windows
  // 100 (raw - null) / (perfect - null): NAB's normalisation, here for one
  // file (NAB normalises sums over a corpus; sum raw, null, perfect to do so).
  double Normalized() const;
};

// Scores one file as NAB does: rows with score >= threshold are detections;
// windows are the runs of labels; rows before NabProbationaryRows(n) are not
// scored. A detection inside a window earns A_TP times the scaled sigmoid of
// its position (normalised so the left edge earns A_TP); each window keeps
// its best detection, or -A_FN with none; a detection outside windows costs
// A_FP times the scaled sigmoid of its distance past the previous window (a
// full -A_FP before the first window).
NabFileScore NabScore(std::span<const double> scores, std::span<const uint8_t> labels,
                      double threshold, const NabProfile& profile = NabProfile::Standard());

}  // namespace lstmad::core
