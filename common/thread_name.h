// Per-thread settings for operators' tools and for the scheduler.
#pragma once

#include <string_view>

#include "common/status.h"

namespace meterd {

// Names the calling thread (top -H, perf, gdb, /proc/PID/task/*/comm): "meterd-writer",
// "meterd-shard-3", ... Linux keeps at most 15 bytes; longer names are cut.
void SetCurrentThreadName(std::string_view name);

// Marks the calling thread as background work (ingest parsing, rating, the storage writer,
// deliveries): nice +5, so under CPU contention the I/O threads answering partners' reads run
// first. A thread already at nice +5 or lower priority is left alone. On failure (a seccomp
// filter or security module denying setpriority) the thread keeps its priority and the error
// says why; callers on thread start-up report it, never a hot path.
Status MarkCurrentThreadBackground();

// Asks the scheduler for a short time slice (EEVDF's per-task slice, Linux 6.12+: sched_setattr
// with sched_runtime on SCHED_OTHER) for a thread that does little per wake-up and must run
// soon after it (the I/O threads answering reads): a shorter slice gives it an earlier virtual
// deadline, so on a busy machine it preempts the batch work instead of waiting out a slice.
// Older kernels accept the call and ignore the slice. Errors as MarkCurrentThreadBackground.
Status MarkCurrentThreadLatencySensitive();

// Runs the calling thread under SCHED_FIFO at the lowest real-time priority (1): it preempts
// every normal thread as soon as it wakes, which on a machine saturated by ingest is what
// keeps a read's wait for a CPU out of its answer time (docs/benchmarks.md). Opt-in
// (server.io_realtime): a real-time thread that kept running would starve the rest of the
// machine but for the kernel's real-time throttling (5 % of each second by default). Needs
// RLIMIT_RTPRIO >= 1 (systemd: LimitRTPRIO=1) or CAP_SYS_NICE; refused otherwise.
Status MarkCurrentThreadRealtime();

}  // namespace meterd
