// A stream's alert state machine: when a run of window verdicts turns into an
// alert firing or resolving.
//
// A stream fires after `fire_after` consecutive windows above the threshold
// and resolves after `clear_after` consecutive windows at or below it. The
// daemon holds one per scored stream; `lstmad score` replays one over a
// series, so both give the same alert state for the same verdicts.
//
// Pure logic, no allocation. Not thread-safe: one AlertState per stream,
// owned by whoever scores that stream.
#pragma once

namespace lstmad::core {

// The daemon's models[i].alert { for, clear } (config::AlertSettings takes
// its defaults from here, and so does `lstmad score`). Values below 1 act
// as 1.
struct AlertRule {
  int fire_after = 3;   // consecutive windows above the threshold to fire
  int clear_after = 3;  // consecutive windows at or below it to resolve
};

class AlertState {
 public:
  enum class Transition { kNone, kFired, kResolved };

  // `held`: the window is above only by the detector's hysteresis
  // (Detection::held). It keeps a firing alert firing, but while quiet it
  // counts as a window at or below the threshold: an alert starts on
  // `fire_after` windows that alarm on their own, as without hysteresis, so
  // one alarming window that hysteresis stretches is no alert.
  // `accepted`: the detector took the window as part of a lasting change,
  // the new normal (Detection::accepted). Seen while firing, it marks the
  // alert: its resolution is then the change accepted, not the fault over.
  Transition Observe(bool above_threshold, const AlertRule& rule, bool held = false, bool accepted = false);
  bool firing() const { return firing_; }
  int run() const { return run_; }
  // Whether the current alert, or the last one once it has resolved, saw a
  // window the detector accepted as the new normal. Cleared when an alert fires.
  bool accepted() const { return accepted_; }
  // Whether the last Observe() marked the alert: the moment its change was
  // accepted (what lstmad_changes_accepted_total counts).
  bool accepted_now() const { return accepted_now_; }
  // Puts back a state saved with firing(), run() and accepted() (restart
  // snapshots).
  void Restore(bool firing, int run, bool accepted = false) {
    firing_ = firing;
    run_ = run < 0 ? 0 : run;
    accepted_ = accepted;
    accepted_now_ = false;
  }

 private:
  bool firing_ = false;
  bool accepted_ = false;  // the flags side by side: the state stays 8 bytes per stream
  bool accepted_now_ = false;
  int run_ = 0;            // consecutive windows on the side that would change the state
};

}  // namespace lstmad::core
