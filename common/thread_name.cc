#include "common/thread_name.h"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
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
    return Status::FailedPrecondition(std::string("setpriority(nice +5): ") + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace meterd
