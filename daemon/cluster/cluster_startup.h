// Start-up's wait for NATS in cluster mode (docs/cluster.md, "Start-up"):
// connecting and making sure the stream and buckets exist is retried with
// capped exponential backoff and jitter until it succeeds, fails in a way no
// retry fixes, nats.startup_timeout has passed, or the caller asks it to
// stop (SIGTERM during start-up).
//
// BackoffDelay is a pure function. RetryAtStart blocks the calling thread;
// its stop_token may be triggered from any thread, and wakes a sleep at
// once (an attempt in progress finishes first).
#pragma once

#include <chrono>
#include <functional>
#include <stop_token>
#include <string>

#include "lstmad/core/status.h"

namespace lstmad::daemon {

struct BackoffPolicy {
  std::chrono::milliseconds initial{250};  // after the first failure
  std::chrono::milliseconds cap{5000};     // never longer than this
};

// The delay after failed attempt `failures` (1: the first): initial *
// 2^(failures-1), at most cap, times (1 + jitter) / 2 for jitter in [0, 1]
// (clamped). Half the step is kept whatever the jitter, so instances started
// together spread their retries without any of them retrying early.
std::chrono::milliseconds BackoffDelay(const BackoffPolicy& policy, int failures, double jitter);

struct StartupRetry {
  std::string what;                       // what is waited for, for the log and the error
  std::chrono::duration<double> timeout;  // nats.startup_timeout
  BackoffPolicy backoff;
  // Time, randomness and sleeping come from the caller (tests pass fakes).
  std::function<std::chrono::steady_clock::time_point()> now;
  std::function<double()> jitter;  // uniform in [0, 1]
  // Sleeps up to `d`; false when stopped meanwhile.
  std::function<bool(std::chrono::milliseconds d)> sleep;
  std::chrono::milliseconds log_every{5000};  // retries logged at most this often (the first always)
};

// A sleep for StartupRetry::sleep over the real clock that `stop` wakes.
std::function<bool(std::chrono::milliseconds)> InterruptibleSleep(std::stop_token stop);

// Calls `attempt` until it returns OK (returned), an error that is not
// kUnavailable (returned as is: a conflicting stream, refused credentials),
// or `retry.timeout` has passed since the first call: then kUnavailable
// naming what was waited for, for how long, the attempts and the last error.
// A stop request ends the wait with kUnavailable "stopped while waiting
// for ..." (the caller knows it asked). No attempt starts after the
// deadline; the last one starts at it at the latest.
core::Status RetryAtStart(const StartupRetry& retry, const std::stop_token& stop,
                          const std::function<core::Status()>& attempt);

}  // namespace lstmad::daemon
