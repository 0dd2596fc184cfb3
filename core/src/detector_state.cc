// Saving and restoring a StreamDetector's state (and its Spot's) as bytes.
//
// Layout, little-endian: "LSTMADDS", u32 version 4, the options it was made
// with (u8 threshold mode, f64 risk, f64 level, u32 K, u32 depth, f64
// smoothing span, u32 refractory, u32 calibration windows, u32 likelihood
// short window, u32 history, u32 block, f64 likelihood risk, f64 clear
// risk, u32 settle, u32 settle weight, f64 novelty margin, f64 likelihood
// risk period), u8 calibrated, i64 settled windows, i64 warm-up windows seen,
// the EWMA (f64 value, u8 started), the onset gates (i64 quiet windows: the
// model's, novel values'), u32 count + f64 warmup values, f64 the
// likelihood's risk per window in force, u32 count + f64 the warm-up
// windows' steps (seconds), the
// likelihood (u32 count + f64 short-window errors, oldest first; u32 count +
// f64 (count, mean, M2) per block, oldest first), the novelty range (u32
// count + f64 lo, hi per feature), then the Spot: u8 calibrated, f64 t, z, gamma, sigma,
// log-likelihood, u32 count + f64 excesses, i64 arrivals (same count), u32
// oldest, i64 count, dropped count, calibration count, refits, u32 count +
// f64 quantiles below t, u32 count + f64 DSPOT window, u32 next, f64 sum;
// then i64 the likelihood's alarming windows in a row (accept_after).
// Integrity is the caller's (the daemon's snapshot has a CRC); the reader
// still never trusts a length or an index.
#include <algorithm>
#include <cmath>
#include <string>
#include <string_view>

#include "lstmad/core/anomaly_score.h"
#include "lstmad/core/byte_codec.h"
#include "lstmad/core/spot.h"

namespace lstmad::core {
namespace {

constexpr std::string_view kMagic = "LSTMADDS";
// 1: before the likelihood, 2: before settling, 3: before novel values, 4:
// before the settling weight; refused, so such a stream recalibrates.
// 5: before the risk period; read, as saved without one (per window).
// 6: before accepting lasting changes; read, with no alarm run under way.
constexpr uint32_t kVersion = 7;
constexpr uint32_t kVersionBeforeAlarmRun = 6;
constexpr uint32_t kVersionBeforeRiskPeriod = 5;

using bytes::Get;
using bytes::GetCounted;
using bytes::Put;
using bytes::PutCounted;

bool AllFinite(const std::vector<double>& values) {
  for (double v : values) {
    if (!std::isfinite(v)) return false;
  }
  return true;
}

Status Damaged(const char* what) { return Status::Error(std::string("detector state: ") + what); }

}  // namespace

void Spot::AppendState(std::string* out) const {
  Put<uint8_t>(out, calibrated_ ? 1 : 0);
  for (double v : {t_, z_, gpd_.gamma, gpd_.sigma, gpd_.log_likelihood}) Put<double>(out, v);
  PutCounted(out, excess_);
  PutCounted(out, arrival_);
  Put<uint32_t>(out, static_cast<uint32_t>(oldest_));
  for (int64_t v : {count_, dropped_count_, calibration_count_, refits_}) Put<int64_t>(out, v);
  PutCounted(out, below_t_);
  PutCounted(out, window_);
  Put<uint32_t>(out, static_cast<uint32_t>(window_next_));
  Put<double>(out, window_sum_);
}

Status Spot::ReadState(std::string_view* in) {
  uint8_t calibrated = 0;
  double t = 0, z = 0;
  GpdParams gpd;
  std::vector<double> excess, below_t, window;
  std::vector<int64_t> arrival;
  uint32_t oldest = 0, window_next = 0;
  int64_t count = 0, dropped = 0, calibration = 0, refits = 0;
  double window_sum = 0;
  const auto k = static_cast<size_t>(options_.max_peaks);
  const auto d = static_cast<size_t>(options_.depth);
  if (!Get(in, &calibrated) || !Get(in, &t) || !Get(in, &z) || !Get(in, &gpd.gamma) || !Get(in, &gpd.sigma) ||
      !Get(in, &gpd.log_likelihood) || !GetCounted(in, k, &excess) || !GetCounted(in, k, &arrival) ||
      !Get(in, &oldest) || !Get(in, &count) || !Get(in, &dropped) || !Get(in, &calibration) ||
      !Get(in, &refits) || !GetCounted(in, static_cast<size_t>(kCdfPoints), &below_t) ||
      !GetCounted(in, d, &window) || !Get(in, &window_next) || !Get(in, &window_sum)) {
    return Damaged("truncated or oversized SPOT state");
  }
  const bool consistent =
      calibrated <= 1 && excess.size() == arrival.size() && (excess.empty() ? oldest == 0 : oldest < excess.size()) &&
      count >= 0 && dropped >= 0 && dropped <= count && calibration >= 0 && refits >= 0 &&
      (below_t.empty() || below_t.size() == static_cast<size_t>(kCdfPoints)) &&
      (calibrated == 0 || window.size() == d) && (window.empty() ? window_next == 0 : window_next < window.size()) &&
      std::isfinite(t) && std::isfinite(z) && std::isfinite(gpd.gamma) && gpd.sigma > 0 &&
      std::isfinite(gpd.sigma) && std::isfinite(window_sum) && AllFinite(excess) && AllFinite(below_t) &&
      AllFinite(window);
  if (!consistent) return Damaged("inconsistent SPOT state");
  for (double e : excess) {
    if (!(e > 0)) return Damaged("a SPOT peak is not above the threshold");
  }
  calibrated_ = calibrated == 1;
  t_ = t;
  z_ = z;
  gpd_ = gpd;
  excess_ = std::move(excess);
  arrival_ = std::move(arrival);
  // Observe() may append up to K peaks without reallocating.
  excess_.reserve(k);
  arrival_.reserve(k);
  oldest_ = oldest;
  count_ = count;
  dropped_count_ = dropped;
  calibration_count_ = calibration;
  refits_ = refits;
  below_t_ = std::move(below_t);
  window_ = std::move(window);
  window_next_ = window_next;
  window_sum_ = window_sum;
  return Status::Ok();
}

std::string StreamDetector::SaveState() const {
  std::string out(kMagic);
  Put<uint32_t>(&out, kVersion);
  Put<uint8_t>(&out, static_cast<uint8_t>(options_.threshold));
  Put<double>(&out, options_.spot.risk);
  Put<double>(&out, options_.spot.initial_level);
  Put<uint32_t>(&out, static_cast<uint32_t>(options_.spot.max_peaks));
  Put<uint32_t>(&out, static_cast<uint32_t>(spot_.options().depth));
  Put<double>(&out, options_.smoothing_span);
  Put<uint32_t>(&out, static_cast<uint32_t>(refractory_));
  Put<uint32_t>(&out, static_cast<uint32_t>(options_.calibration_windows));
  const LikelihoodOptions& lik = options_.likelihood;
  for (int v : {lik.short_window, lik.history, lik.block}) Put<uint32_t>(&out, static_cast<uint32_t>(v));
  Put<double>(&out, lik.risk);
  Put<double>(&out, lik.clear_risk);
  Put<uint32_t>(&out, static_cast<uint32_t>(settle_));
  Put<uint32_t>(&out, static_cast<uint32_t>(options_.settle_weight));
  Put<double>(&out, options_.novelty_margin);
  Put<double>(&out, options_.likelihood_risk_per);
  Put<uint8_t>(&out, calibrated_ ? 1 : 0);
  Put<int64_t>(&out, settled_);
  Put<int64_t>(&out, warmup_count_);
  Put<double>(&out, ewma_.value());
  Put<uint8_t>(&out, ewma_.started() ? 1 : 0);
  Put<int64_t>(&out, gate_.quiet());
  Put<int64_t>(&out, novelty_gate_.quiet());
  PutCounted(&out, warmup_);
  Put<double>(&out, risk_);
  PutCounted(&out, steps_);
  likelihood_.AppendState(&out);
  novelty_.AppendState(&out);
  spot_.AppendState(&out);
  Put<int64_t>(&out, alarm_run_);
  return out;
}

Status StreamDetector::RestoreState(std::string_view bytes) {
  if (bytes.substr(0, kMagic.size()) != kMagic) return Damaged("no LSTMADDS magic");
  bytes.remove_prefix(kMagic.size());
  uint32_t version = 0, max_peaks = 0, depth = 0, refractory = 0, calibration = 0;
  uint32_t short_window = 0, history = 0, block = 0, settle = 0, settle_weight = 0;
  uint8_t mode = 0, started = 0, calibrated = 0;
  double risk = 0, level = 0, span = 0, ewma = 0, likelihood_risk = 0, clear_risk = 0, novelty_margin = 0;
  double risk_per = 0, risk_in_force = options_.likelihood.risk;
  int64_t quiet = 0, novelty_quiet = 0, warmup_count = 0, settled = 0;
  std::vector<double> warmup, steps;
  if (!Get(&bytes, &version) || version < kVersionBeforeRiskPeriod || version > kVersion) {
    return Damaged("unsupported version");
  }
  const bool has_risk_period = version > kVersionBeforeRiskPeriod;
  if (!Get(&bytes, &mode) || !Get(&bytes, &risk) || !Get(&bytes, &level) || !Get(&bytes, &max_peaks) ||
      !Get(&bytes, &depth) || !Get(&bytes, &span) || !Get(&bytes, &refractory) ||
      !Get(&bytes, &calibration) || !Get(&bytes, &short_window) || !Get(&bytes, &history) ||
      !Get(&bytes, &block) || !Get(&bytes, &likelihood_risk) || !Get(&bytes, &clear_risk) ||
      !Get(&bytes, &settle) || !Get(&bytes, &settle_weight) || !Get(&bytes, &novelty_margin) ||
      (has_risk_period && !Get(&bytes, &risk_per))) {
    return Damaged("truncated options");
  }
  const LikelihoodOptions& lik = options_.likelihood;
  // Saved under other settings: the state would mean something else.
  if (mode != static_cast<uint8_t>(options_.threshold) || risk != options_.spot.risk ||
      level != options_.spot.initial_level || max_peaks != static_cast<uint32_t>(options_.spot.max_peaks) ||
      depth != static_cast<uint32_t>(spot_.options().depth) || span != options_.smoothing_span ||
      refractory != static_cast<uint32_t>(refractory_) ||
      calibration != static_cast<uint32_t>(options_.calibration_windows) ||
      short_window != static_cast<uint32_t>(lik.short_window) ||
      history != static_cast<uint32_t>(lik.history) || block != static_cast<uint32_t>(lik.block) ||
      likelihood_risk != lik.risk || clear_risk != lik.clear_risk ||
      settle != static_cast<uint32_t>(settle_) ||
      settle_weight != static_cast<uint32_t>(options_.settle_weight) ||
      novelty_margin != options_.novelty_margin || risk_per != options_.likelihood_risk_per) {
    return Status::Error("detector state: saved with other detector settings");
  }
  if (!Get(&bytes, &calibrated) || calibrated > 1 || !Get(&bytes, &settled) || settled < 0 ||
      settled > settle_ || (calibrated == 0 && settled != 0) || !Get(&bytes, &warmup_count) ||
      warmup_count < 0) {
    return Damaged("truncated or inconsistent calibration state");
  }
  if (!Get(&bytes, &ewma) || !Get(&bytes, &started) || started > 1 || !std::isfinite(ewma) ||
      !Get(&bytes, &quiet) || quiet < 0 || !Get(&bytes, &novelty_quiet) || novelty_quiet < 0 ||
      !GetCounted(&bytes, static_cast<size_t>(options_.calibration_windows), &warmup) || !AllFinite(warmup)) {
    return Damaged("truncated or inconsistent smoothing, gate or warm-up state");
  }
  if (has_risk_period &&
      (!Get(&bytes, &risk_in_force) || !(risk_in_force > 0 && risk_in_force < 0.5) ||
       (!per_time_risk() && risk_in_force != options_.likelihood.risk) ||
       !GetCounted(&bytes, static_cast<size_t>(options_.calibration_windows), &steps) || !AllFinite(steps))) {
    return Damaged("truncated or inconsistent risk per window");
  }
  ErrorLikelihood likelihood = likelihood_;
  LSTMAD_RETURN_IF_ERROR(likelihood.ReadState(&bytes));
  ValueNovelty novelty = novelty_;
  LSTMAD_RETURN_IF_ERROR(novelty.ReadState(&bytes));
  Spot spot = spot_;
  LSTMAD_RETURN_IF_ERROR(spot.ReadState(&bytes));
  int64_t alarm_run = 0;
  if (version > kVersionBeforeAlarmRun && (!Get(&bytes, &alarm_run) || alarm_run < 0)) {
    return Damaged("truncated or negative alarm run");
  }
  if (!bytes.empty()) return Damaged("trailing bytes");
  if (calibrated == 1 && options_.uses_spot() && !spot.calibrated()) {
    return Damaged("calibrated without a calibrated SPOT");
  }
  spot_ = std::move(spot);
  likelihood_ = std::move(likelihood);
  novelty_ = std::move(novelty);
  calibrated_ = calibrated == 1;
  warmup_count_ = warmup_count;
  settled_ = settled;
  // Saved under a shorter accept_after (not one of the settings a state must
  // match: it changes when a run is accepted, not what the state means).
  alarm_run_ = std::min<int64_t>(alarm_run, accept_after());
  ewma_.Restore(ewma, started == 1);
  gate_.Restore(quiet);
  novelty_gate_.Restore(novelty_quiet);
  warmup_ = std::move(warmup);
  warmup_.reserve(static_cast<size_t>(options_.calibration_windows));
  risk_ = risk_in_force;
  likelihood_z_ = NormalTailInverse(risk_);
  likelihood_.set_risk(risk_);
  steps_ = std::move(steps);
  if (per_time_risk()) steps_.reserve(static_cast<size_t>(options_.calibration_windows));
  return Status::Ok();
}

}  // namespace lstmad::core
