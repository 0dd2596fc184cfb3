// The generalized Pareto distribution (GPD) of excesses over a high
// threshold, and its maximum-likelihood fit. Peaks-over-threshold theory
// (Pickands-Balkema-de Haan) says the excesses Y = X - t of almost any
// distribution over a high enough t follow a GPD:
//
//   P(Y > y) = (1 + gamma y / sigma)^(-1/gamma)     (gamma != 0)
//   P(Y > y) = exp(-y / sigma)                       (gamma = 0: exponential)
//
// gamma > 0 is a heavy (Pareto-like) tail, gamma = 0 an exponential one,
// gamma < 0 a bounded one (endpoint -sigma/gamma). Used by SPOT (spot.h).
//
// Free functions on caller-owned data: reentrant, no allocation.
#pragma once

#include <span>

namespace lstmad::core {

struct GpdParams {
  double gamma = 0;  // shape (extreme value index)
  double sigma = 1;  // scale, > 0
  double log_likelihood = 0;  // of the sample it was fitted to
};

// What a GPD is fitted to: observed excesses (each > 0), plus optionally
// `censored` values known only to exceed `censor_at` (right-censored; the
// count may be fractional, an expected number).
struct GpdSample {
  std::span<const double> excesses;
  double censored = 0;
  double censor_at = 0;
};

// Maximum-likelihood fit with Grimshaw's reduction (Grimshaw 1993, as SPOT
// uses it: Siffer et al., KDD 2017). With x = gamma / sigma, the likelihood
// maximised over gamma for a fixed x is reached at
//   gamma(x) = (A(x) + C(x)) / n,  sigma = gamma(x) / x,
//   L(x) = -n (log(gamma(x) / x) + 1) - A(x),
// where A(x) = sum log(1 + x y_i) over the n excesses and C(x) = m log(1 + x c)
// for m values censored at c (without censoring, L = -n (log(gamma/x) + gamma
// + 1), whose stationary points are the roots of Grimshaw's equation). We
// maximise this profile over x in Grimshaw's bounds (-1/max(y), 0) and
// (0, 2 (mean - min) / min^2) on a log-spaced grid refined by golden-section
// search, so no root is missed, and keep gamma >= -1 (below it the likelihood
// is unbounded). The exponential (x -> 0) is always a candidate and wins ties.
// With fewer than kMinPeaksForGpdFit excesses, or excesses that are all
// equal, the fit is the exponential one (the MLE of the one-parameter model):
// the documented fallback for too little data.
//
// `start`, when given and not exponential, is a previous fit of a similar
// sample (one more peak): the search is then local around it (about an
// eighth of the work), falling back to the full search if the optimum is not
// inside the local bracket.
// `searched_fully`, if given, says whether the full search ran.
GpdParams FitGpd(const GpdSample& sample, const GpdParams* start = nullptr, bool* searched_fully = nullptr);
inline GpdParams FitGpd(std::span<const double> excesses) { return FitGpd(GpdSample{excesses}); }

inline constexpr int kMinPeaksForGpdFit = 10;

// P(Y > y) for y >= 0: 1 at y = 0, 0 beyond a bounded tail's endpoint.
double GpdSurvival(const GpdParams& params, double y);

// The y with P(Y > y) = p, for p in (0, 1].
double GpdInverseSurvival(const GpdParams& params, double p);

}  // namespace lstmad::core
