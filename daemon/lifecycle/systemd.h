// sd_notify(3) messages for Type=notify: READY=1 once storage is open and listeners are up,
// RELOADING=1/READY=1 around a SIGHUP reload, STOPPING=1 when shutdown begins, WATCHDOG=1
// pings and STATUS= lines. Every call is a no-op when not started by systemd (no
// NOTIFY_SOCKET). Thread-safe (each call is one datagram).
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace meterd::lifecycle {

void NotifyReady();
void NotifyReloading();
void NotifyStopping();
void NotifyWatchdog();
void NotifyStatus(std::string_view status);

// The interval at which to send WATCHDOG=1 (half of WATCHDOG_USEC), or nullopt when the
// service manager does not expect pings.
std::optional<std::chrono::microseconds> WatchdogPingInterval();

}  // namespace meterd::lifecycle
