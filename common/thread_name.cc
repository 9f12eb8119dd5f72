#include "common/thread_name.h"

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

namespace meterd {

void SetCurrentThreadName(std::string_view name) {
  char buf[16];
  const size_t n = std::min(name.size(), sizeof buf - 1);
  std::memcpy(buf, name.data(), n);
  buf[n] = '\0';
  pthread_setname_np(pthread_self(), buf);  // best effort: a name is only a label
}

Status MarkCurrentThreadBackground() {
  constexpr int kBackgroundNice = 5;
  // On Linux a nice value belongs to the thread (the tid), not to the whole process.
  const auto tid = static_cast<id_t>(syscall(SYS_gettid));
  // -1 is also a valid nice value: only errno tells an error apart.
  errno = 0;
  const int current = getpriority(PRIO_PROCESS, tid);
  if (current == -1 && errno != 0) {
    return Status::FailedPrecondition(std::string("getpriority: ") + std::strerror(errno));
  }
  if (current >= kBackgroundNice) return Status::Ok();
  if (setpriority(PRIO_PROCESS, tid, kBackgroundNice) != 0) {
    return Status::FailedPrecondition("setpriority(nice +" + std::to_string(kBackgroundNice) +
                                      "): " + std::strerror(errno));
  }
  return Status::Ok();
}

Status MarkCurrentThreadRealtime() {
  sched_param param{};
  param.sched_priority = 1;
  // pthread_setschedparam acts on the calling thread alone (sched_setscheduler(0) would too,
  // on Linux, but this says so).
  if (int rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param); rc != 0) {
    return Status::FailedPrecondition(std::string("SCHED_FIFO priority 1: ") + std::strerror(rc));
  }
  return Status::Ok();
}

Status MarkCurrentThreadLatencySensitive() {
  // struct sched_attr as the kernel defines it (glibc 2.36 has no wrapper or header for it).
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
  constexpr uint64_t kSliceNanos = 100'000;  // the kernel's floor for a custom slice
  const auto tid = static_cast<pid_t>(syscall(SYS_gettid));
  errno = 0;
  const int nice_now = getpriority(PRIO_PROCESS, static_cast<id_t>(tid));
  if (nice_now == -1 && errno != 0) {
    return Status::FailedPrecondition(std::string("getpriority: ") + std::strerror(errno));
  }
  SchedAttr attr{};
  attr.size = sizeof attr;
  attr.sched_policy = SCHED_OTHER;
  attr.sched_nice = nice_now;
  attr.sched_runtime = kSliceNanos;
  if (syscall(SYS_sched_setattr, tid, &attr, 0u) != 0) {
    return Status::FailedPrecondition(std::string("sched_setattr(slice 100us): ") +
                                      std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace meterd
