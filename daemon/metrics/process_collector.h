// Process metrics read from /proc at scrape time (the standard process_* set, prefixed
// meterd_): CPU seconds, resident and virtual memory, open and max file descriptors and the
// start time. Resident memory is also split: LMDB's mapped store counts in RSS as file pages
// the kernel may drop at will, so the leak signal is the anonymous part, and the allocator's
// own figures tell memory in use from memory freed but kept for reuse. Stateless; Collect() is
// thread-safe. Scrape-time cost only (a few syscalls and one pass over the malloc arenas).
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace meterd::metrics {

struct ProcessStats {
  double cpu_seconds = 0;  // user + system
  int64_t resident_bytes = 0;
  int64_t virtual_bytes = 0;
  int64_t open_fds = 0;
  int64_t max_fds = 0;
  double start_time_seconds = 0;  // since the Unix epoch
  int64_t resident_anon_bytes = 0;  // RssAnon: heap, stacks, LMDB's dirty-page buffers
  int64_t resident_file_bytes = 0;  // RssFile: mostly the mapped store
};

struct HeapStats {
  int64_t in_use_bytes = 0;  // allocated and not freed
  int64_t held_bytes = 0;    // obtained from the kernel by malloc (in use + free but kept)
};

// Parses RssAnon and RssFile (kB) out of the text of /proc/<pid>/status; false when absent.
bool ParseProcStatusRss(std::string_view status, int64_t* anon_bytes, int64_t* file_bytes);

// glibc's own figures over all arenas (mallinfo2).
HeapStats ReadHeapStats();

// Parses the text of /proc/<pid>/stat (the command name may hold spaces and parentheses).
// `boot_time_seconds` is the boot instant as Unix seconds.
Result<ProcessStats> ParseProcStat(std::string_view stat, int64_t ticks_per_second,
                                   int64_t page_size, int64_t boot_time_seconds);

// Reads this process's numbers.
Result<ProcessStats> ReadProcessStats();

class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace meterd::metrics
