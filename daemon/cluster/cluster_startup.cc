#include "cluster/cluster_startup.h"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <mutex>

#include "obs/logging.h"

namespace lstmad::daemon {
namespace {

std::string Seconds(std::chrono::duration<double> d) {
  char out[32];
  std::snprintf(out, sizeof out, "%.1f s", d.count());
  return out;
}

}  // namespace

std::chrono::milliseconds BackoffDelay(const BackoffPolicy& policy, int failures, double jitter) {
  const int64_t cap = std::max<int64_t>(policy.cap.count(), 0);
  int64_t step = std::clamp<int64_t>(policy.initial.count(), 0, cap);
  // Doubling stops at the cap, so no power of two ever overflows.
  for (int i = 1; i < failures && step < cap; ++i) step = std::min(step * 2, cap);
  const double j = std::clamp(jitter, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<int64_t>(static_cast<double>(step) * (1 + j) / 2));
}

std::function<bool(std::chrono::milliseconds)> InterruptibleSleep(std::stop_token stop) {
  return [stop = std::move(stop)](std::chrono::milliseconds d) {
    std::mutex mu;
    std::condition_variable_any cv;
    std::unique_lock lock(mu);
    // Nothing else notifies cv: it returns at the timeout or on a stop request.
    cv.wait_for(lock, stop, d, [] { return false; });
    return !stop.stop_requested();
  };
}

core::Status RetryAtStart(const StartupRetry& retry, const std::stop_token& stop,
                          const std::function<core::Status()>& attempt) {
  const auto start = retry.now();
  const auto deadline =
      start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(retry.timeout);
  auto last_log = start;
  for (int failures = 1;; ++failures) {
    if (stop.stop_requested()) return core::Status::Unavailable("stopped while waiting for " + retry.what);
    core::Status s = attempt();
    if (s.ok()) {
      if (failures > 1) {
        Log(LogLevel::kInfo, "ready after retrying",
            {Field("waited_for", retry.what), Field("attempts", failures),
             Field("waited_s", std::chrono::duration<double>(retry.now() - start).count())});
      }
      return s;
    }
    if (!s.IsUnavailable()) return s;
    const auto now = retry.now();
    if (now >= deadline) {
      return core::Status::Unavailable(retry.what + " not ready after " + Seconds(now - start) + " (" +
                                       std::to_string(failures) + " attempts, nats.startup_timeout " +
                                       Seconds(retry.timeout) + "); last error: " + s.message());
    }
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
    const auto delay = std::min(BackoffDelay(retry.backoff, failures, retry.jitter()), left);
    if (failures == 1 || now - last_log >= retry.log_every) {
      last_log = now;
      Log(LogLevel::kWarn, "not ready yet; retrying",
          {Field("waiting_for", retry.what), Field("error", s.message()), Field("attempt", failures),
           Field("next_in_s", std::chrono::duration<double>(delay).count()),
           Field("gives_up_in_s", std::chrono::duration<double>(deadline - now).count())});
    }
    if (!retry.sleep(delay)) return core::Status::Unavailable("stopped while waiting for " + retry.what);
  }
}

}  // namespace lstmad::daemon
