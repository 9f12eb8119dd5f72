#include "daemon/lifecycle/signals.h"

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "daemon/lifecycle/log.h"
#include "daemon/lifecycle/systemd.h"

namespace meterd::lifecycle {
namespace {

[[noreturn]] void Die(const char* what) {
  // Without these descriptors the daemon cannot be stopped cleanly: a broken invariant.
  LogError(std::string("signal loop: ") + what + ": " + std::strerror(errno));
  std::abort();
}

}  // namespace

SignalLoop::SignalLoop() {
  sigemptyset(&mask_);
  sigaddset(&mask_, SIGTERM);
  sigaddset(&mask_, SIGINT);
  sigaddset(&mask_, SIGHUP);
  if (pthread_sigmask(SIG_BLOCK, &mask_, nullptr) != 0) Die("pthread_sigmask");
  signal_fd_ = signalfd(-1, &mask_, SFD_CLOEXEC | SFD_NONBLOCK);
  if (signal_fd_ < 0) Die("signalfd");
  event_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (event_fd_ < 0) Die("eventfd");
}

SignalLoop::~SignalLoop() {
  if (signal_fd_ >= 0) ::close(signal_fd_);
  if (event_fd_ >= 0) ::close(event_fd_);
}

void SignalLoop::RequestStop() {
  const uint64_t one = 1;
  // A full counter (never in practice) already wakes Run(), so a failed write loses nothing.
  [[maybe_unused]] const ssize_t ignored = ::write(event_fd_, &one, sizeof(one));
}

int SignalLoop::Run(const Hooks& hooks) {
  // Also block here, in case Run() is on a thread that predates the constructor.
  pthread_sigmask(SIG_BLOCK, &mask_, nullptr);
  using Clock = std::chrono::steady_clock;
  const auto ping_interval = WatchdogPingInterval();
  auto next_ping = Clock::now();

  while (true) {
    int timeout_ms = -1;
    if (ping_interval) {
      const auto now = Clock::now();
      if (now >= next_ping) {
        if (!hooks.healthy || hooks.healthy()) {
          NotifyWatchdog();
        } else {
          LogWarning("unhealthy: skipping the watchdog ping");
        }
        next_ping = now + *ping_interval;
      }
      timeout_ms = static_cast<int>(
          std::chrono::ceil<std::chrono::milliseconds>(next_ping - Clock::now()).count());
      if (timeout_ms < 0) timeout_ms = 0;
    }

    struct pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {event_fd_, POLLIN, 0}};
    const int n = ::poll(fds, 2, timeout_ms);
    if (n < 0) {
      // Only a bad descriptor or argument is a broken invariant. Anything else passes: EINTR,
      // ENOMEM, and errors like ERESTART_RESTARTBLOCK (516) that a debugger attaching to the
      // thread lets leak out of an interrupted poll — seen with gdb on a live daemon, which
      // this loop must survive rather than abort the process under load.
      if (errno == EBADF || errno == EFAULT || errno == EINVAL) Die("poll");
      if (errno != EINTR) {
        LogWarning(std::string("signal loop: poll: ") + std::strerror(errno) + "; retrying");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      continue;
    }
    if (fds[1].revents & POLLIN) {
      uint64_t count = 0;
      [[maybe_unused]] const ssize_t ignored = ::read(event_fd_, &count, sizeof(count));
      NotifyStopping();
      return 0;
    }
    if (fds[0].revents & POLLIN) {
      struct signalfd_siginfo info {};
      while (::read(signal_fd_, &info, sizeof(info)) == static_cast<ssize_t>(sizeof(info))) {
        const int signo = static_cast<int>(info.ssi_signo);
        if (signo == SIGHUP) {
          LogInfo("SIGHUP: reloading");
          NotifyReloading();
          if (hooks.on_reload) hooks.on_reload();
          NotifyReady();
          continue;
        }
        LogInfo(std::string(signo == SIGINT ? "SIGINT" : "SIGTERM") + ": shutting down");
        NotifyStopping();
        return signo;
      }
    }
  }
}

}  // namespace meterd::lifecycle
