// Anomaly likelihood: a window's error judged against the stream's own recent
// errors, after Numenta's anomaly likelihood (Ahmad, Lavin, Purdy, Agha,
// "Unsupervised real-time anomaly detection for streaming data",
// Neurocomputing 2017), applied to reconstruction errors.
//
//   a_t  = mean of the last `short_window` errors (the newest included)
//   mu, sigma = mean and standard deviation of the a's of the previous
//               ~`history` windows (a sliding window kept as blocks)
//   tail = Q((a_t - mu) / sigma)   (the standard normal's upper tail; 1 when
//                                   a_t <= mu: only errors above normal matter)
//
// Why: a tail model fitted once on the training windows (whose errors are
// lower than fresh windows', the model has seen them) turns every later drift
// of the error level into alarms; judging each error against the last few
// thousand keeps "unusual" relative to what the stream does now. The short
// mean lets a change that persists over a few windows stand out of noise that
// a single window's error shows.
//
// An a_t that alarms (tail < risk) enters the history clipped at the alarm
// level, mu + Q^-1(risk) sigma: one large excursion would otherwise inflate
// sigma for the next `history` windows and hide whatever follows it (a spike
// after a level shift), while an excursion that lasts still raises the level
// step by step until it is the new normal. (Leaving alarms out altogether
// never lets a lasting change become normal: NAB's standard score fell from
// 57.5 to 51.9 in our measurement; clipping kept it at 57.8.)
//
// Bounded memory, allocated once: the history is kept as the running moments
// (count, mean, M2; Welford) of blocks of `block` windows, the last
// history / block complete blocks and the one filling, merged with Chan's
// formula (the complete blocks once per block, the filling one on each step),
// so the distribution covers between history + 1 and
// history + block values. With the defaults (8600, 100) that is 87 blocks:
// ~2 KB per stream, against 69 KB for the last 8600 values.
//
// Not thread-safe; one per stream. Observe() is noexcept and allocation-free.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lstmad/core/status.h"

namespace lstmad::core {

struct LikelihoodOptions {
  // Errors averaged into a_t (1: the error itself). Numenta's 10
  // (averagingWindow): a change must last a few windows to outweigh one
  // window's noise. 5 before, chosen since our errors are already means over
  // T steps; 10 has a quarter fewer false positives on NAB (docs).
  int short_window = 10;
  // Windows the normal distribution is estimated over: about 30 days at 5
  // minutes (Numenta's 8640, to the block), so that it spans several of the
  // longest cycles such series have (weeks): a history shorter than a week
  // (2000 windows, the default before) sees each weekend's errors as new.
  int history = 8600;
  int block = 100;       // the history's granularity; must divide it
  double risk = 1e-4;    // an alarm when tail < risk (z above ~3.7 at 1e-4)
  // Hysteresis (StreamDetector): after an alarming window the alarm goes on
  // while tail < clear_risk (a deadband, as alarm systems clear below the
  // level they fire at); 0: clear_risk = risk, no hysteresis. 1e-2: it clears
  // once the window is no longer significant at the usual 1% level, so a
  // fault that goes on is not reported as over while its errors are still
  // far above normal (SKAB's missed rows 38% -> 26%, docs/detection.md).
  double clear_risk = 1e-2;

  friend bool operator==(const LikelihoodOptions&, const LikelihoodOptions&) = default;
  Status Validate() const;
};

// The standard normal's upper tail Q(z) = P(Z > z).
double NormalTail(double z) noexcept;

// Its inverse: the z with Q(z) = p, for p in (0, 1) (bisection; not for hot paths).
double NormalTailInverse(double p) noexcept;

// -log10(tail) / 10, clamped to [0, 1]: Numenta's log-likelihood scale (0.5
// at tail 1e-5). Near 0 for normal windows (0.03 at the mean), which is what
// a dashboard should show, and monotone, so it orders windows as tail does.
double LogScaledLevel(double tail) noexcept;

class ErrorLikelihood {
 public:
  explicit ErrorLikelihood(const LikelihoodOptions& options);

  struct Step {
    double average = 0;  // a_t
    double mean = 0;     // mu of the history before this window
    double stdev = 0;    // sigma, floored (below)
    double tail = 1;     // Q((a_t - mu) / sigma); 1 while the history is empty
  };

  // Judges `error` against the history, then adds a_t to it (clipped when it
  // alarms, above, unless `clip` is false: a_t then enters as it is, the
  // detector's settling windows after calibration), `weight` times (>= 1;
  // the settling windows' weight: a_t counts as that many windows of the
  // history, while `error` joins the short window once). A non-finite
  // error is judged (tail 0 for +inf and NaN: the model cannot reconstruct
  // the window) but enters neither the short window nor the history.
  Step Observe(double error, bool clip = true, int weight = 1) noexcept;
  // Adds an error to the short window and the history without judging it
  // (calibration on known-normal windows).
  void Learn(double error) noexcept;

  // Values in the history now.
  int64_t history_count() const;
  const LikelihoodOptions& options() const { return options_; }
  // Another alarm risk from now on (a stream's risk per window, fixed at
  // calibration from its sampling interval); in (0, 0.5).
  void set_risk(double risk) noexcept;

  // State for snapshots (detector_state.cc); Read refuses damaged bytes
  // and then leaves this as it was.
  void AppendState(std::string* out) const;
  Status ReadState(std::string_view* in);

 private:
  struct Moments {
    double count = 0, mean = 0, m2 = 0;
    void Add(double x) noexcept;
    void Merge(const Moments& other) noexcept;
  };
  double ShortAverage(double error) const noexcept;
  // `error` joins the short window, `average` the history (`weight` times).
  void Push(double error, double average, int weight = 1) noexcept;
  // complete_ from the blocks other than the current one.
  void MergeCompleteBlocks() noexcept;

  LikelihoodOptions options_;
  std::vector<double> recent_;  // the last short_window - 1 errors, a ring
  int recent_next_ = 0;
  int recent_count_ = 0;
  std::vector<Moments> blocks_;  // history / block + 1 blocks, a ring
  int current_ = 0;              // the block filling now
  Moments complete_;             // the other blocks merged, oldest first
  double alarm_z_;               // Q^-1(risk)
};

}  // namespace lstmad::core
