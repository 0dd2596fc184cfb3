#include "lstmad/core/gpd.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace lstmad::core {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();
constexpr int kGridPoints = 48;        // per side of zero
constexpr int kGoldenIterations = 40;  // shrinks a bracket by 0.618^40 ~ 4e-9
constexpr int kLocalIterations = 24;   // the warm start's bracket is 4 grid steps
// |gamma| below this is the exponential: the GPD formulas divide by gamma.
constexpr double kGammaZero = 1e-9;
// Grid of the left side: u = logistic(s), s in [-14, 14].
constexpr double kLeftLo = -14.0, kLeftHi = 14.0;

struct Summary {
  double n = 0, sum = 0, min = 0, max = 0;
};

Summary Summarize(const GpdSample& sample) {
  Summary s;
  s.n = static_cast<double>(sample.excesses.size());
  s.min = s.max = sample.excesses[0];
  for (double v : sample.excesses) {
    s.sum += v;
    s.min = std::min(s.min, v);
    s.max = std::max(s.max, v);
  }
  if (sample.censored > 0) s.max = std::max(s.max, sample.censor_at);
  return s;
}

// The profile log-likelihood at x = gamma / sigma; -inf outside the
// admissible region (1 + x y <= 0 for some y, or gamma < -1).
double ProfileLogLikelihood(const GpdSample& sample, double x, double* gamma) {
  double a = 0;
  for (double v : sample.excesses) {
    const double arg = x * v;
    if (arg <= -1.0) return kNegInf;
    a += std::log1p(arg);
  }
  double c = 0;
  if (sample.censored > 0) {
    if (x * sample.censor_at <= -1.0) return kNegInf;
    c = sample.censored * std::log1p(x * sample.censor_at);
  }
  const double n = static_cast<double>(sample.excesses.size());
  const double g = (a + c) / n;
  *gamma = g;
  if (!(g >= -1.0) || g == 0.0) return kNegInf;
  const double l = -n * (std::log(g / x) + 1.0) - a;
  return std::isfinite(l) ? l : kNegInf;
}

// One side of zero, parametrised by s: x = ToX(s).
struct Side {
  bool left;
  double lo, hi;
  double inv_max;  // left side: x = -inv_max * logistic(s); right: x = e^s
  double ToX(double s) const { return left ? -inv_max / (1.0 + std::exp(-s)) : std::exp(s); }
  double ToS(double x) const { return left ? -std::log(-inv_max / x - 1.0) : std::log(x); }
  double step() const { return (hi - lo) / (kGridPoints - 1); }
};

struct Best {
  double l = kNegInf, x = 0, gamma = 0;
};

double Eval(const GpdSample& sample, const Side& side, double s, Best* best) {
  double g = 0;
  const double x = side.ToX(s);
  const double l = ProfileLogLikelihood(sample, x, &g);
  if (l > best->l) *best = Best{l, x, g};
  return l;
}

// Golden-section search for the maximum in [a, b]; returns where it ended.
double Golden(const GpdSample& sample, const Side& side, double a, double b, int iterations,
              Best* best) {
  const double ratio = (std::sqrt(5.0) - 1.0) / 2.0;
  double c = b - ratio * (b - a), d = a + ratio * (b - a);
  double fc = Eval(sample, side, c, best), fd = Eval(sample, side, d, best);
  for (int i = 0; i < iterations; ++i) {
    if (fc >= fd) {
      b = d, d = c, fd = fc;
      c = b - ratio * (b - a);
      fc = Eval(sample, side, c, best);
    } else {
      a = c, c = d, fc = fd;
      d = a + ratio * (b - a);
      fd = Eval(sample, side, d, best);
    }
  }
  return 0.5 * (a + b);
}

// Grid search over the side, then golden-section refinement in the bracket
// around the best grid point.
void SearchSide(const GpdSample& sample, const Side& side, Best* best) {
  const double step = side.step();
  int best_k = -1;
  double best_l = kNegInf;
  for (int k = 0; k < kGridPoints; ++k) {
    const double l = Eval(sample, side, side.lo + step * k, best);
    if (l > best_l) best_l = l, best_k = k;
  }
  if (best_k < 0) return;
  Golden(sample, side, side.lo + step * std::max(best_k - 1, 0),
         side.lo + step * std::min(best_k + 1, kGridPoints - 1), kGoldenIterations, best);
}

// Golden-section search in a bracket of +-2 grid steps around `x`; false if
// the optimum is at the bracket's edge (so maybe outside it).
bool SearchNear(const GpdSample& sample, const Side& side, double x, Best* best) {
  if (side.left && !(-x < side.inv_max)) return false;  // x in (-1/max, 0)
  const double s = side.ToS(x), h = 2.0 * side.step();
  if (!std::isfinite(s)) return false;
  const double end = Golden(sample, side, s - h, s + h, kLocalIterations, best);
  return std::abs(end - s) < 0.9 * h && best->l > kNegInf;
}

}  // namespace

GpdParams FitGpd(const GpdSample& sample, const GpdParams* start, bool* searched_fully) {
  if (searched_fully != nullptr) *searched_fully = false;
  const std::span<const double> y = sample.excesses;
  GpdParams exponential;
  if (y.empty()) return exponential;
  const Summary s = Summarize(sample);
  const double n = s.n;
  exponential.gamma = 0;
  exponential.sigma = std::max((s.sum + sample.censored * sample.censor_at) / n,
                               std::numeric_limits<double>::min());
  exponential.log_likelihood = -n * (std::log(exponential.sigma) + 1.0);
  if (y.size() < static_cast<size_t>(kMinPeaksForGpdFit) || s.max <= s.min || s.min <= 0) {
    return exponential;
  }
  const double mean = s.sum / n;
  // Left of zero: x in (-1/max, 0). Right: x up to Grimshaw's bound
  // 2 (mean - min) / min^2, from where the fit is indistinguishable from
  // the exponential.
  const Side left{true, kLeftLo, kLeftHi, 1.0 / s.max};
  const double right_lo = 1e-6 / s.max;
  const double right_hi = std::max(2.0 * (mean - s.min) / (s.min * s.min), 10.0 * right_lo);
  const Side right{false, std::log(right_lo), std::log(right_hi), 0.0};
  Best best;
  bool found = false;
  if (start != nullptr && std::abs(start->gamma) >= kGammaZero && start->sigma > 0) {
    const double x0 = start->gamma / start->sigma;
    found = SearchNear(sample, x0 < 0 ? left : right, x0, &best);
  }
  if (searched_fully != nullptr) *searched_fully = !found;
  if (!found) {
    best = Best{};
    SearchSide(sample, left, &best);
    SearchSide(sample, right, &best);
  }
  const double margin = 1e-9 * (1.0 + std::abs(exponential.log_likelihood));
  if (!(best.l > exponential.log_likelihood + margin) || std::abs(best.gamma) < kGammaZero) {
    return exponential;
  }
  return GpdParams{best.gamma, best.gamma / best.x, best.l};
}

double GpdSurvival(const GpdParams& params, double y) {
  if (y <= 0) return 1.0;
  if (std::abs(params.gamma) < kGammaZero) return std::exp(-y / params.sigma);
  const double arg = params.gamma * y / params.sigma;
  if (arg <= -1.0) return 0.0;  // past a bounded tail's endpoint
  return std::exp(-std::log1p(arg) / params.gamma);
}

double GpdInverseSurvival(const GpdParams& params, double p) {
  // y = sigma / gamma (p^(-gamma) - 1); expm1 keeps precision as gamma -> 0.
  const double log_p = std::log(p);
  if (std::abs(params.gamma) < kGammaZero) return -params.sigma * log_p;
  return params.sigma * std::expm1(-params.gamma * log_p) / params.gamma;
}

}  // namespace lstmad::core
