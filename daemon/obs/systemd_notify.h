// The systemd notification protocol (sd_notify) for Type=notify services:
// READY=1, RELOADING=1 (with MONOTONIC_USEC), STOPPING=1 and WATCHDOG=1.
// Without NOTIFY_SOCKET (not under systemd) every call does nothing.
#pragma once

#include <chrono>
#include <optional>

namespace lstmad::daemon::systemd {

void NotifyReady();
void NotifyReloading();
void NotifyStopping();
void NotifyWatchdog();
void NotifyStatus(const char* status);
// The interval at which to send WATCHDOG=1 (half of WatchdogSec), if enabled.
std::optional<std::chrono::microseconds> WatchdogInterval();

}  // namespace lstmad::daemon::systemd
