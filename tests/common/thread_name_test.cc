#include "common/thread_name.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <thread>

namespace meterd {
namespace {

pid_t Tid() { return static_cast<pid_t>(syscall(SYS_gettid)); }

// Each check runs on a thread of its own: the settings belong to the thread, not the process.
template <typename Fn>
void OnNewThread(Fn fn) {
  std::thread t(fn);
  t.join();
}

TEST(ThreadName, NamesTheCallingThreadAsProcShowsIt) {
  OnNewThread([] {
    SetCurrentThreadName("meterd-test-name-cut-here");
    std::ifstream comm("/proc/self/task/" + std::to_string(Tid()) + "/comm");
    std::string name;
    std::getline(comm, name);
    EXPECT_EQ(name, "meterd-test-nam");  // Linux keeps 15 bytes
  });
}

TEST(ThreadName, BackgroundThreadsRunAtNicePlusFiveAndOnlyThatThread) {
  OnNewThread([] {
    ASSERT_TRUE(MarkCurrentThreadBackground().ok());
    EXPECT_EQ(getpriority(PRIO_PROCESS, static_cast<id_t>(Tid())), 5);
    ASSERT_TRUE(MarkCurrentThreadBackground().ok());  // idempotent
    EXPECT_EQ(getpriority(PRIO_PROCESS, static_cast<id_t>(Tid())), 5);
  });
  EXPECT_EQ(getpriority(PRIO_PROCESS, static_cast<id_t>(Tid())), 0);
}

TEST(ThreadName, LatencySensitiveThreadsAskForAHundredMicrosecondSlice) {
  struct SchedAttr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
  };
  OnNewThread([] {
    ASSERT_TRUE(MarkCurrentThreadLatencySensitive().ok());
    SchedAttr attr{};
    ASSERT_EQ(syscall(SYS_sched_getattr, Tid(), &attr, sizeof attr, 0u), 0);
    EXPECT_EQ(attr.sched_policy, 0u);  // still SCHED_OTHER
    EXPECT_EQ(attr.sched_nice, 0);     // same nice
    EXPECT_EQ(attr.sched_runtime, 100'000u);
  });
}

// What the kernel checks for SCHED_FIFO 1: RLIMIT_RTPRIO >= 1, or CAP_SYS_NICE (bit 23).
bool RealtimeAllowed() {
  rlimit limit{};
  if (getrlimit(RLIMIT_RTPRIO, &limit) == 0 && limit.rlim_cur >= 1) return true;
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("CapEff:", 0) == 0) {
      return (std::stoull(line.substr(7), nullptr, 16) >> 23) & 1;
    }
  }
  return false;
}

TEST(ThreadName, RealtimeThreadsRunUnderFifoAtPriorityOneOrSayWhyNot) {
  const bool allowed = RealtimeAllowed();
  OnNewThread([allowed] {
    Status st = MarkCurrentThreadRealtime();
    sched_param param{};
    int policy = -1;
    ASSERT_EQ(pthread_getschedparam(pthread_self(), &policy, &param), 0);
    if (allowed) {
      ASSERT_TRUE(st.ok()) << st.ToString();
      EXPECT_EQ(policy, SCHED_FIFO);
      EXPECT_EQ(param.sched_priority, 1);
    } else {
      EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
      EXPECT_NE(st.message().find("SCHED_FIFO"), std::string::npos) << st.message();
      EXPECT_EQ(policy, SCHED_OTHER);
    }
  });
  int policy = -1;
  sched_param param{};
  ASSERT_EQ(pthread_getschedparam(pthread_self(), &policy, &param), 0);
  EXPECT_EQ(policy, SCHED_OTHER);  // only that thread
}

}  // namespace
}  // namespace meterd
