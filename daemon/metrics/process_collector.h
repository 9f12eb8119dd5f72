// Process metrics read from /proc at scrape time (the standard process_* set, prefixed
// meterd_): CPU seconds, resident and virtual memory, open and max file descriptors and the
// start time. Stateless; Collect() is thread-safe. Scrape-time cost only (a few syscalls).
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
};

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
