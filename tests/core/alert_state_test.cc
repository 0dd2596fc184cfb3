#include "lstmad/core/alert_state.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace lstmad::core {
namespace {

// `windows`: one char per window, '1' above the threshold, '0' not.
// `expected`: one char per window, '.' no transition, 'F' fired, 'R' resolved.
struct AlertCase {
  const char* name;
  int fire_after;
  int clear_after;
  std::string_view windows;
  std::string_view expected;
};

const AlertCase kAlertCases[] = {
    {"QuietBelowThreshold", 3, 3, "00000", "....."},
    {"FiresExactlyAtFor", 3, 3, "111", "..F"},
    {"StaysFiringWhileAbove", 3, 3, "111111", "..F..."},
    {"InterruptionResetsTheFiringRun", 3, 3, "1101101110", "........F."},
    {"ResolvesExactlyAtClear", 3, 3, "111000", "..F..R"},
    {"InterruptionResetsTheClearingRun", 3, 3, "1110010001000", "..F.....R...."},
    {"FiresAgainAfterResolving", 2, 2, "11001100", ".F.R.F.R"},
    {"ForOneClearOneFollowsEveryWindow", 1, 1, "1010011", "FRFR.F."},
    {"ForOneClearThree", 1, 3, "10001", "F..RF"},
    {"ForTwoClearOne", 2, 1, "1101", ".FR."},
    {"ForBelowOneActsAsOne", 0, 0, "10", "FR"},
};

class AlertStateTest : public ::testing::TestWithParam<AlertCase> {};

TEST_P(AlertStateTest, TransitionsMatchTable) {
  const AlertCase& c = GetParam();
  ASSERT_EQ(c.windows.size(), c.expected.size());
  const AlertRule rule{c.fire_after, c.clear_after};
  AlertState state;
  std::string got;
  bool firing = false;
  for (char w : c.windows) {
    switch (state.Observe(w == '1', rule)) {
      case AlertState::Transition::kNone: got += '.'; break;
      case AlertState::Transition::kFired:
        got += 'F';
        firing = true;
        break;
      case AlertState::Transition::kResolved:
        got += 'R';
        firing = false;
        break;
    }
    EXPECT_EQ(state.firing(), firing) << "after window " << got.size();
  }
  EXPECT_EQ(got, c.expected) << "windows " << c.windows;
}

INSTANTIATE_TEST_SUITE_P(Table, AlertStateTest, ::testing::ValuesIn(kAlertCases),
                         [](const auto& test) { return std::string(test.param.name); });

// 'h': above only by the detector's hysteresis (Detection::held).
struct HeldCase {
  const char* name;
  std::string_view windows;
  std::string_view expected;
};

const HeldCase kHeldCases[] = {
    // One alarming window that hysteresis stretches is no alert.
    {"HeldWindowsStartNothing", "1hhhhh0", "......."},
    // A held window breaks the firing run as a quiet one does.
    {"HeldWindowBreaksTheFiringRun", "11h111", ".....F"},
    // Once firing, held windows keep the alert firing.
    {"HeldWindowsKeepAnAlertFiring", "111hhhh000", "..F......R"},
    {"HeldWindowBreaksTheClearingRun", "11100h000", "..F.....R"},
};

class AlertStateHeldTest : public ::testing::TestWithParam<HeldCase> {};

TEST_P(AlertStateHeldTest, TransitionsMatchTable) {
  const HeldCase& c = GetParam();
  AlertState state;
  std::string got;
  for (char w : c.windows) {
    switch (state.Observe(w != '0', AlertRule{3, 3}, w == 'h')) {
      case AlertState::Transition::kNone: got += '.'; break;
      case AlertState::Transition::kFired: got += 'F'; break;
      case AlertState::Transition::kResolved: got += 'R'; break;
    }
  }
  EXPECT_EQ(got, c.expected) << c.name << ": " << c.windows;
}

INSTANTIATE_TEST_SUITE_P(Table, AlertStateHeldTest, ::testing::ValuesIn(kHeldCases),
                         [](const auto& test) { return std::string(test.param.name); });

TEST(AlertStateTest, RestoreResumesTheRun) {
  // A snapshot taken two windows into a clearing run of three: one more
  // window at or below the threshold resolves, as it would have without the
  // restart.
  const AlertRule rule{3, 3};
  AlertState state;
  state.Restore(true, 2);
  EXPECT_TRUE(state.firing());
  EXPECT_EQ(state.run(), 2);
  EXPECT_EQ(state.Observe(false, rule), AlertState::Transition::kResolved);
  EXPECT_FALSE(state.firing());
  EXPECT_EQ(state.run(), 0);
}

TEST(AlertStateTest, RestoreClampsNegativeRuns) {
  AlertState state;
  state.Restore(false, -5);
  EXPECT_EQ(state.run(), 0);
  EXPECT_EQ(state.Observe(true, AlertRule{2, 2}), AlertState::Transition::kNone);
  EXPECT_EQ(state.Observe(true, AlertRule{2, 2}), AlertState::Transition::kFired);
}

TEST(AlertStateTest, AnAcceptedChangeMarksTheFiringAlert) {
  const AlertRule rule{2, 2};
  AlertState state;
  // Accepted windows while quiet mark nothing: no alert to resolve.
  EXPECT_EQ(state.Observe(true, rule, false, /*accepted=*/true), AlertState::Transition::kNone);
  EXPECT_FALSE(state.accepted());
  EXPECT_FALSE(state.accepted_now());
  EXPECT_EQ(state.Observe(true, rule, false, true), AlertState::Transition::kFired);
  EXPECT_FALSE(state.accepted());  // the firing window starts the alert unmarked
  EXPECT_EQ(state.Observe(true, rule, false, false), AlertState::Transition::kNone);
  EXPECT_FALSE(state.accepted());
  EXPECT_EQ(state.Observe(true, rule, false, true), AlertState::Transition::kNone);
  EXPECT_TRUE(state.accepted());
  EXPECT_TRUE(state.accepted_now());  // the moment the change is accepted
  EXPECT_EQ(state.Observe(true, rule, false, true), AlertState::Transition::kNone);
  EXPECT_TRUE(state.accepted());
  EXPECT_FALSE(state.accepted_now());  // marked already
  // Kept through the clearing run, and after the resolution, for its event.
  EXPECT_EQ(state.Observe(false, rule, false, false), AlertState::Transition::kNone);
  EXPECT_EQ(state.Observe(false, rule, false, false), AlertState::Transition::kResolved);
  EXPECT_TRUE(state.accepted());
  // The next alert starts unmarked.
  EXPECT_EQ(state.Observe(true, rule), AlertState::Transition::kNone);
  EXPECT_EQ(state.Observe(true, rule), AlertState::Transition::kFired);
  EXPECT_FALSE(state.accepted());
  EXPECT_EQ(state.Observe(false, rule), AlertState::Transition::kNone);
  EXPECT_EQ(state.Observe(false, rule), AlertState::Transition::kResolved);
  EXPECT_FALSE(state.accepted());

  // A restored mark resolves as accepted.
  AlertState restored;
  restored.Restore(true, 1, true);
  EXPECT_TRUE(restored.accepted());
  EXPECT_EQ(restored.Observe(false, rule), AlertState::Transition::kResolved);
  EXPECT_TRUE(restored.accepted());
}

TEST(AlertRuleTest, DefaultsAreThreeAndThree) {
  // The documented models[i].alert defaults (README, docs/detection.md) and
  // `lstmad score --alert-for/--alert-clear`'s.
  EXPECT_EQ(AlertRule{}.fire_after, 3);
  EXPECT_EQ(AlertRule{}.clear_after, 3);
}

}  // namespace
}  // namespace lstmad::core
