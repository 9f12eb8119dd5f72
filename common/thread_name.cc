#include "common/thread_name.h"

#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace meterd {

void SetCurrentThreadName(std::string_view name) {
  char buf[16];
  const size_t n = std::min(name.size(), sizeof buf - 1);
  std::memcpy(buf, name.data(), n);
  buf[n] = '\0';
  pthread_setname_np(pthread_self(), buf);  // best effort: a name is only a label
}

void MarkCurrentThreadBackground() {
  // On Linux a nice value belongs to the thread (the tid), not to the whole process.
  const auto tid = static_cast<id_t>(syscall(SYS_gettid));
  const int current = getpriority(PRIO_PROCESS, tid);
  if (current < 5) setpriority(PRIO_PROCESS, tid, 5);
}

}  // namespace meterd
