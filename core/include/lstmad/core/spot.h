// SPOT and DSPOT: an adaptive anomaly threshold from extreme value theory
// (Siffer, Fouque, Termier, Largouet, "Anomaly Detection in Streams with
// Extreme Value Theory", KDD 2017).
//
// Calibration: on n values, t is their `initial_level` empirical quantile
// (0.98); the excesses over t (the peaks) are fitted with a generalized
// Pareto distribution (gpd.h) and the threshold is the value exceeded with
// probability q (`risk`):
//
//   z_q = t + (sigma / gamma) ((q n / N_t)^(-gamma) - 1)     (gamma != 0)
//   z_q = t - sigma log(q n / N_t)                           (gamma = 0)
//
// with N_t peaks among n values. Online, each value x is judged against the
// current z_q: above it is an alarm and leaves the fit (so an anomaly does
// not teach the threshold that anomalies are normal); between t and z_q it is
// a new peak, the GPD is refitted and z_q updated; below t it only counts
// towards n.
//
// One departure from the paper: leaving alarms out truncates the sample at
// z_q, and a fit that takes the truncated sample for the whole tail thins
// it; z_q then creeps down and false alarms creep up (3x over 100,000 values
// with K = 500 in our tests). By the model's own account, q n of the n values
// it judged online were normal values above z_q, so the fit adds q n values
// right-censored at z_q (known to exceed it, magnitude unknown) to the
// observed peaks (and to N_t and n). That removes the creep and still never
// lets an anomaly's magnitude, or the number of anomalies, into the fit.
//
// DSPOT (`depth` d > 0) applies all of this to x - M, where M is the mean of
// the last d non-alarm values, so the threshold follows a drifting level.
//
// Bounded memory: at most `max_peaks` (K) peaks are kept, the most recent;
// when one is dropped, n restarts after it, so N_t / n is the peak rate over
// the same recent horizon the fit sees. K = 1000 with t at the 98% quantile
// covers ~50,000 values: long enough for a stable fit of a 1e-4 quantile,
// short enough that the tail follows slow changes. A smaller K adapts faster
// and fits noisier tails. Memory: O(K + d + 64), allocated by Calibrate.
//
// Not thread-safe; one Spot per stream, owned by whoever scores the stream.
// Observe() is noexcept and does not allocate.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lstmad/core/gpd.h"
#include "lstmad/core/status.h"

namespace lstmad::core {

struct SpotOptions {
  double risk = 1e-4;           // q: probability that a normal value exceeds z_q
  double initial_level = 0.98;  // t is this quantile of the calibration values
  int max_peaks = 1000;         // K: peaks kept (the most recent)
  int depth = 0;                // d: DSPOT's moving-average depth; 0 is SPOT

  friend bool operator==(const SpotOptions&, const SpotOptions&) = default;
  // q must be below 1 - initial_level (z_q above t), levels in (0, 1), K >= 1.
  Status Validate() const;
};

// Spot needs at least this many calibration values (after the first `depth`,
// which only fill DSPOT's moving average).
inline constexpr int kMinSpotCalibration = 10;

class Spot {
 public:
  enum class Verdict { kNormal, kPeak, kAlarm };
  struct Step {
    Verdict verdict = Verdict::kNormal;
    double threshold = 0;         // z_q the value was judged against (drift included)
    double tail_probability = 1;  // P(X > x) under the model before x was added
  };

  explicit Spot(const SpotOptions& options);  // options must pass Validate()

  // Fits the initial model on `values` in time order (replaces any previous
  // state). Errors: too few values, non-finite values.
  Status Calibrate(std::span<const double> values);
  bool calibrated() const { return calibrated_; }

  // Judges `x` against the current threshold, then updates the model.
  // Requires calibrated().
  Step Observe(double x) noexcept;

  // P(X > x) under the current model: the GPD tail above t, the calibration
  // values' empirical distribution below it.
  double TailProbability(double x) const noexcept;

  double threshold() const { return z_ + drift(); }            // z_q
  double initial_threshold() const { return t_ + drift(); }    // t
  const GpdParams& gpd() const { return gpd_; }
  int peaks() const { return static_cast<int>(excess_.size()); }  // N_t
  int64_t observations() const { return count_ - dropped_count_; }  // n
  const SpotOptions& options() const { return options_; }

  // The model's whole state, appended to / read from bytes (StreamDetector's
  // SaveState). ReadState checks it against this Spot's options and its own
  // invariants; on error the Spot is unchanged.
  void AppendState(std::string* out) const;
  Status ReadState(std::string_view* in);

 private:
  static constexpr int kCdfPoints = 65;  // quantiles kept of the values below t

  static constexpr int kFullSearchEvery = 32;  // refits between full GPD searches

  double drift() const;
  double censored() const;  // q times the values judged online within the horizon
  void PushDrift(double x) noexcept;
  void AddPeak(double excess) noexcept;
  void Refit() noexcept;           // fits the GPD, then UpdateQuantile()
  void UpdateQuantile() noexcept;  // z_q from the current fit, n and N_t

  SpotOptions options_;
  bool calibrated_ = false;
  double t_ = 0;   // initial threshold (on drift-corrected values)
  double z_ = 0;   // z_q (on drift-corrected values)
  GpdParams gpd_;
  // Peaks: a ring of at most K excesses, with the value count at which each
  // arrived; `oldest_` is the next slot to overwrite once full.
  std::vector<double> excess_;
  std::vector<int64_t> arrival_;
  size_t oldest_ = 0;
  int64_t count_ = 0;          // values counted so far (normal and peaks)
  int64_t dropped_count_ = 0;  // the count at which the last dropped peak arrived
  int64_t calibration_count_ = 0;  // values counted by the calibration
  int64_t refits_ = 0;
  std::vector<double> below_t_;  // kCdfPoints quantiles of the calibration values <= t
  // DSPOT's moving window of the last d non-alarm values.
  std::vector<double> window_;
  size_t window_next_ = 0;
  double window_sum_ = 0;
};

}  // namespace lstmad::core
