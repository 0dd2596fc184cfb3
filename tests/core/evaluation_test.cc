#include "lstmad/core/evaluation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace lstmad::core {
namespace {

using Rows = std::vector<uint8_t>;

// Hand-computed case, rows 0..11:
//   labels 0 0 1 1 1 0 0 0 1 1 0 0   events [2,4] and [8,9]
//   flags  0 1 0 1 1 0 1 1 0 0 0 1
const Rows kLabels = {0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0};
const Rows kFlags = {0, 1, 0, 1, 1, 0, 1, 1, 0, 0, 0, 1};

TEST(EventsFromLabelsTest, FindsMaximalRuns) {
  const std::vector<Event> events = EventsFromLabels(kLabels);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].begin, 2);
  EXPECT_EQ(events[0].end, 4);
  EXPECT_EQ(events[1].begin, 8);
  EXPECT_EQ(events[1].end, 9);
  // A probation cuts an event that starts inside it.
  const std::vector<Event> cut = EventsFromLabels(kLabels, 3);
  ASSERT_EQ(cut.size(), 2u);
  EXPECT_EQ(cut[0].begin, 3);
}

TEST(EvaluateTest, PointWiseMatchesHandCount) {
  const Evaluation e = Evaluate(kLabels, kFlags);
  // tp rows 3,4; fp rows 1,6,7,11; fn rows 2,8,9.
  EXPECT_EQ(e.points.tp, 2);
  EXPECT_EQ(e.points.fp, 4);
  EXPECT_EQ(e.points.fn, 3);
  EXPECT_DOUBLE_EQ(e.points.precision(), 2.0 / 6);
  EXPECT_DOUBLE_EQ(e.points.recall(), 2.0 / 5);
  EXPECT_NEAR(e.points.f1(), 2 * (1.0 / 3) * 0.4 / (1.0 / 3 + 0.4), 1e-12);
}

TEST(EvaluateTest, EventWiseCountsFalsePositiveRunsAndDelay) {
  const Evaluation e = Evaluate(kLabels, kFlags);
  // Event [2,4] found at row 3 (delay 1), event [8,9] missed; flagged runs
  // [1], [6,7] and [11] touch no event.
  EXPECT_EQ(e.events.tp, 1);
  EXPECT_EQ(e.events.fn, 1);
  EXPECT_EQ(e.events.fp, 3);
  EXPECT_DOUBLE_EQ(e.events.precision(), 0.25);
  EXPECT_DOUBLE_EQ(e.events.recall(), 0.5);
  EXPECT_NEAR(e.events.f1(), 1.0 / 3, 1e-12);
  ASSERT_EQ(e.delays.size(), 1u);
  EXPECT_EQ(e.delays[0], 1);
  EXPECT_EQ(e.first_flags[0], 3);
  EXPECT_DOUBLE_EQ(e.MeanDelay(), 1.0);
}

TEST(EvaluateTest, PointAdjustedCreditsTheWholeDetectedEvent) {
  const Evaluation e = Evaluate(kLabels, kFlags);
  // Rows 2,3,4 all count as found; event [8,9] still missed.
  EXPECT_EQ(e.point_adjusted.tp, 3);
  EXPECT_EQ(e.point_adjusted.fp, 4);
  EXPECT_EQ(e.point_adjusted.fn, 2);
  EXPECT_NEAR(e.point_adjusted.f1(), 0.5, 1e-12);
}

TEST(EvaluateTest, IgnoresRowsBeforeFirstScored) {
  const Evaluation e = Evaluate(kLabels, kFlags, 2);
  EXPECT_EQ(e.points.fp, 3);      // row 1 no longer counts
  EXPECT_EQ(e.events.fp, 2);      // nor does its run
  EXPECT_EQ(e.events.tp, 1);
}

TEST(EvaluateTest, RunThatTouchesAnEventIsNotAFalsePositive) {
  // One run spanning the event's edge: a detection, not a false alarm.
  const Evaluation e = Evaluate(Rows{0, 0, 1, 1, 0, 0}, Rows{0, 1, 1, 0, 0, 0});
  EXPECT_EQ(e.events.tp, 1);
  EXPECT_EQ(e.events.fp, 0);
  EXPECT_EQ(e.delays[0], 0);
}

TEST(EvaluateTest, ZeroDenominatorsGiveZero) {
  const Evaluation e = Evaluate(Rows{0, 0, 0}, Rows{0, 0, 0});
  EXPECT_EQ(e.points.precision(), 0.0);
  EXPECT_EQ(e.points.recall(), 0.0);
  EXPECT_EQ(e.points.f1(), 0.0);
  EXPECT_EQ(e.MeanDelay(), 0.0);
}

// --- NAB ---------------------------------------------------------------------

TEST(NabTest, ProbationaryPeriodIsNabs) {
  EXPECT_EQ(NabProbationaryRows(20), 3);
  EXPECT_EQ(NabProbationaryRows(4032), 604);
  EXPECT_EQ(NabProbationaryRows(22695), 750);  // capped at 0.15 * 5000
}

TEST(NabTest, ScaledSigmoidMatchesNabsDocumentedValues) {
  // nab/sweeper.py's docstring: -1.0 -> 0.98661, -0.5 -> 0.84828, 0 -> 0,
  // 1.0 -> -0.98661; 3 and beyond -> -1.
  EXPECT_NEAR(NabScaledSigmoid(-1.0), 0.98661, 1e-5);
  EXPECT_NEAR(NabScaledSigmoid(-0.5), 0.84828, 1e-5);
  EXPECT_NEAR(NabScaledSigmoid(0.0), 0.0, 1e-12);
  EXPECT_NEAR(NabScaledSigmoid(1.0), -0.98661, 1e-5);
  EXPECT_EQ(NabScaledSigmoid(3.0), -1.0);
}

// 20 rows (probation floor(0.15 * 20) = 3), one window [8, 11] (width 4).
// Scores: row 1 1.0 (in the probation: ignored), row 5 0.9 (before any
// window: -0.11), row 9 0.8 (position -(11-9+1)/4 = -0.75), row 10 0.95
// (position -0.5), row 13 0.7 (|11-13| / (4-1) = 2/3 past the window).
struct NabCase {
  std::vector<double> scores = std::vector<double>(20, 0.0);
  Rows labels = Rows(20, 0);
  NabCase() {
    for (int i = 8; i <= 11; ++i) labels[static_cast<size_t>(i)] = 1;
    scores[1] = 1.0;
    scores[5] = 0.9;
    scores[9] = 0.8;
    scores[10] = 0.95;
    scores[13] = 0.7;
  }
};

TEST(NabTest, ScoresHandCalculation) {
  const NabCase c;
  // Threshold 0.75: the window keeps its best detection, row 9:
  // (2 / (1 + e^-3.75) - 1) / 0.98661 = 0.966989; row 5 costs 0.11.
  const NabFileScore s = NabScore(c.scores, c.labels, 0.75);
  EXPECT_EQ(s.windows, 1);
  EXPECT_EQ(s.detected, 1);
  EXPECT_EQ(s.false_positives, 1);
  EXPECT_NEAR(s.raw, 0.966989 - 0.11, 1e-6);
  EXPECT_EQ(s.null, -1.0);
  EXPECT_EQ(s.perfect, 1.0);
  EXPECT_NEAR(s.Normalized(), 92.849454, 1e-5);
  // Threshold 0.6 adds row 13: 0.11 * (2 / (1 + e^(10/3)) - 1) = -0.102422.
  const NabFileScore lower = NabScore(c.scores, c.labels, 0.6);
  EXPECT_EQ(lower.false_positives, 2);
  EXPECT_NEAR(lower.raw, 0.966989 - 0.11 - 0.102422, 1e-6);
  EXPECT_NEAR(lower.Normalized(), 87.728352, 1e-5);
}

TEST(NabTest, NullAndPerfectDetectors) {
  NabCase c;
  std::fill(c.scores.begin(), c.scores.end(), 0.0);
  EXPECT_NEAR(NabScore(c.scores, c.labels, 0.5).Normalized(), 0.0, 1e-12);
  c.scores[8] = 1.0;  // the window's left edge
  EXPECT_NEAR(NabScore(c.scores, c.labels, 0.5).Normalized(), 100.0, 1e-9);
}

TEST(NabTest, ReportsTheRawScoreForTheRewardLowFnProfile) {
  const NabCase c;
  const NabFileScore s = NabScore(c.scores, c.labels, 2.0, NabProfile::RewardLowFn());
  EXPECT_EQ(s.raw, -2.0);  // nothing detected: one missed window at A_FN = 2
  EXPECT_EQ(s.null, -2.0);
}

}  // namespace
}  // namespace lstmad::core
