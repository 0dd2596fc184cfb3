#include "obs/systemd_notify.h"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <string>

namespace lstmad::daemon::systemd {

void NotifyReady() { sd_notify(0, "READY=1"); }

void NotifyReloading() {
  // systemd 253+ wants MONOTONIC_USEC with RELOADING=1 (Type=notify-reload);
  // older ones ignore it, so it is always sent.
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const long long usec = static_cast<long long>(ts.tv_sec) * 1000000LL + ts.tv_nsec / 1000;
  const std::string message = "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec);
  sd_notify(0, message.c_str());
}

void NotifyStopping() { sd_notify(0, "STOPPING=1"); }

void NotifyWatchdog() { sd_notify(0, "WATCHDOG=1"); }

void NotifyStatus(const char* status) {
  const std::string message = std::string("STATUS=") + status;
  sd_notify(0, message.c_str());
}

std::optional<std::chrono::microseconds> WatchdogInterval() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(usec / 2);
}

}  // namespace lstmad::daemon::systemd
