#include "daemon/lifecycle/systemd.h"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <string>

namespace meterd::lifecycle {

void NotifyReady() { sd_notify(0, "READY=1"); }

void NotifyReloading() {
  // MONOTONIC_USEC lets Type=notify-reload (systemd >= 253) match the reload; older managers
  // ignore the field.
  struct timespec ts {};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const long long usec = static_cast<long long>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1'000;
  sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%lld", usec);
}

void NotifyStopping() { sd_notify(0, "STOPPING=1"); }

void NotifyWatchdog() { sd_notify(0, "WATCHDOG=1"); }

void NotifyStatus(std::string_view status) {
  const std::string message = "STATUS=" + std::string(status);
  sd_notify(0, message.c_str());
}

std::optional<std::chrono::microseconds> WatchdogPingInterval() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(usec / 2);
}

}  // namespace meterd::lifecycle
