// The main thread's loop after start-up: waits for SIGTERM/SIGINT (graceful shutdown) while
// turning SIGHUP into a reload hook and sending systemd watchdog pings at half WATCHDOG_USEC.
// Signals are taken synchronously through a signalfd, so hooks run as ordinary code on the
// Run() thread (no async-signal-safety constraints). RequestStop() is thread-safe; the rest
// belongs to the owning thread.
#pragma once

#include <signal.h>

#include <functional>

namespace meterd::lifecycle {

class SignalLoop {
 public:
  struct Hooks {
    std::function<void()> on_reload;  // SIGHUP; wrapped in RELOADING=1 ... READY=1
    // Gates watchdog pings: when it returns false the ping is skipped, so a wedged daemon is
    // restarted by systemd. Empty: always healthy.
    std::function<bool()> healthy;
  };

  // Blocks SIGTERM, SIGINT and SIGHUP in the calling thread; threads started afterwards
  // inherit the mask, so these signals wait for Run(). REQUIRES: constructed on the main
  // thread before any other thread starts. The mask is left in place on destruction, so a
  // late SIGTERM cannot kill the process mid-shutdown.
  SignalLoop();
  ~SignalLoop();
  SignalLoop(const SignalLoop&) = delete;
  SignalLoop& operator=(const SignalLoop&) = delete;

  // Runs until SIGTERM or SIGINT arrives (returns its number, after sending STOPPING=1) or
  // RequestStop() is called (returns 0).
  int Run(const Hooks& hooks);

  // Makes Run() return 0; safe from any thread, before or during Run().
  void RequestStop();

 private:
  sigset_t mask_;
  int signal_fd_ = -1;
  int event_fd_ = -1;
};

}  // namespace meterd::lifecycle
