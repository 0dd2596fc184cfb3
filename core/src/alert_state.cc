#include "lstmad/core/alert_state.h"

namespace lstmad::core {

AlertState::Transition AlertState::Observe(bool above, const AlertRule& rule, bool held, bool accepted) {
  // Only a firing alert is marked: a change accepted before any alert fired
  // (`fire_after` longer than the detector's accept_after) has none to resolve.
  accepted_now_ = firing_ && accepted && !accepted_;
  if (accepted_now_) accepted_ = true;
  const bool above_threshold = above && (firing_ || !held);
  // While quiet, count windows above; while firing, count windows not above.
  // Any window on the other side breaks the run.
  if (above_threshold == firing_) {
    run_ = 0;
    return Transition::kNone;
  }
  const int needed = firing_ ? rule.clear_after : rule.fire_after;
  if (++run_ < needed) return Transition::kNone;
  run_ = 0;
  firing_ = !firing_;
  if (firing_) accepted_ = false;
  return firing_ ? Transition::kFired : Transition::kResolved;
}

}  // namespace lstmad::core
