#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "daemon/lifecycle/clock.h"
#include "daemon/lifecycle/signals.h"
#include "daemon/lifecycle/systemd.h"

namespace meterd::lifecycle {
namespace {

using namespace std::chrono_literals;

TEST(Clock, FixedClockAlwaysAnswersItsInstant) {
  const rating::Timestamp t{1'795'179'900LL * rating::kNanosPerSecond};
  auto clock = MakeClock(t);
  EXPECT_EQ(clock->Now(), t);
  std::this_thread::sleep_for(2ms);
  EXPECT_EQ(clock->Now(), t);
}

int64_t RealtimeNanos() {
  struct timespec ts {};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * rating::kNanosPerSecond + ts.tv_nsec;
}

TEST(Clock, SystemClockFollowsRealTime) {
  // Bracketed with clock_gettime, not time(): glibc's time() reads a coarse clock that can lag.
  auto clock = MakeClock(std::nullopt);
  const int64_t before = RealtimeNanos();
  const rating::Timestamp now = clock->Now();
  const int64_t after = RealtimeNanos();
  EXPECT_GE(now.nanos, before);
  EXPECT_LE(now.nanos, after);
  EXPECT_LE(now, clock->Now());
}

// A stand-in for systemd's notification socket: NOTIFY_SOCKET points at it while it lives.
class FakeNotifySocket {
 public:
  FakeNotifySocket() {
    path_ =
        (std::filesystem::temp_directory_path() / ("meterd_notify_" + std::to_string(::getpid())))
            .string();
    ::unlink(path_.c_str());
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path_.c_str());
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    timeval tv{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
  }
  ~FakeNotifySocket() {
    ::unsetenv("NOTIFY_SOCKET");
    ::unsetenv("WATCHDOG_USEC");
    ::unsetenv("WATCHDOG_PID");
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  // The next datagram, or "" after a second.
  std::string Receive() {
    char buf[512];
    const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  }

 private:
  std::string path_;
  int fd_ = -1;
};

TEST(Systemd, SendsStateChangesToTheNotifySocket) {
  FakeNotifySocket systemd;
  NotifyReady();
  EXPECT_EQ(systemd.Receive(), "READY=1");
  NotifyStatus("rating 10 events/s");
  EXPECT_EQ(systemd.Receive(), "STATUS=rating 10 events/s");
  NotifyReloading();
  EXPECT_EQ(systemd.Receive().rfind("RELOADING=1\nMONOTONIC_USEC=", 0), 0u);
  NotifyWatchdog();
  EXPECT_EQ(systemd.Receive(), "WATCHDOG=1");
  NotifyStopping();
  EXPECT_EQ(systemd.Receive(), "STOPPING=1");
}

TEST(Systemd, DoesNothingOutsideSystemd) {
  ::unsetenv("NOTIFY_SOCKET");
  NotifyReady();
  NotifyStopping();
  NotifyWatchdog();
  EXPECT_FALSE(WatchdogPingInterval().has_value());
}

TEST(Systemd, PingsTheWatchdogAtHalfItsTimeout) {
  FakeNotifySocket systemd;
  ::setenv("WATCHDOG_USEC", "2000000", 1);
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  ASSERT_TRUE(WatchdogPingInterval().has_value());
  EXPECT_EQ(*WatchdogPingInterval(), std::chrono::microseconds(1'000'000));
  ::setenv("WATCHDOG_PID", "1", 1);  // meant for another process
  EXPECT_FALSE(WatchdogPingInterval().has_value());
}

// SignalLoop blocks SIGTERM/SIGINT/SIGHUP in the constructing thread; the tests send signals
// to the Run() thread only (pthread_kill), so nothing else in the test binary is disturbed.
TEST(SignalLoop, RunsTheReloadHookOnSighupAndReturnsOnSigterm) {
  SignalLoop loop;
  std::atomic<int> reloads{0};
  std::atomic<int> result{-1};
  std::atomic<bool> running{false};
  pthread_t handle{};
  std::thread runner([&] {
    handle = pthread_self();
    running = true;
    SignalLoop::Hooks hooks;
    hooks.on_reload = [&] { reloads.fetch_add(1); };
    result = loop.Run(hooks);
  });
  while (!running) std::this_thread::yield();
  std::this_thread::sleep_for(20ms);
  ASSERT_EQ(pthread_kill(handle, SIGHUP), 0);
  for (int i = 0; i < 200 && reloads.load() == 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(reloads.load(), 1);
  EXPECT_EQ(result.load(), -1) << "SIGHUP must not stop the loop";
  ASSERT_EQ(pthread_kill(handle, SIGTERM), 0);
  runner.join();
  EXPECT_EQ(result.load(), SIGTERM);
}

TEST(SignalLoop, StopsOnRequestEvenBeforeItRuns) {
  SignalLoop loop;
  loop.RequestStop();
  EXPECT_EQ(loop.Run({}), 0);
}

TEST(SignalLoop, AnnouncesStoppingAndPingsTheWatchdogOnlyWhileHealthy) {
  FakeNotifySocket systemd;
  ::setenv("WATCHDOG_USEC", "100000", 1);  // ping every 50 ms
  ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
  SignalLoop loop;
  std::atomic<bool> healthy{true};
  std::thread runner([&] {
    SignalLoop::Hooks hooks;
    hooks.healthy = [&] { return healthy.load(); };
    loop.Run(hooks);
  });
  EXPECT_EQ(systemd.Receive(), "WATCHDOG=1");
  EXPECT_EQ(systemd.Receive(), "WATCHDOG=1");
  healthy = false;
  std::this_thread::sleep_for(60ms);  // at most one ping was already under way
  std::string next = systemd.Receive();
  if (next == "WATCHDOG=1") next = systemd.Receive();
  EXPECT_EQ(next, "") << "an unhealthy daemon must not ping";
  loop.RequestStop();
  runner.join();
  EXPECT_EQ(systemd.Receive(), "STOPPING=1");
}

}  // namespace
}  // namespace meterd::lifecycle
