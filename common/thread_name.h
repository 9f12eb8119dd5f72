// Per-thread settings for operators' tools and for the scheduler.
#pragma once

#include <string_view>

namespace meterd {

// Names the calling thread (top -H, perf, gdb, /proc/PID/task/*/comm): "meterd-writer",
// "meterd-shard-3", ... Linux keeps at most 15 bytes; longer names are cut.
void SetCurrentThreadName(std::string_view name);

// Marks the calling thread as background work (ingest parsing, rating, the storage writer,
// deliveries): nice +5, so under CPU contention the I/O threads answering partners' reads run
// first. Best effort: a failure leaves the thread at its priority.
void MarkCurrentThreadBackground();

}  // namespace meterd
