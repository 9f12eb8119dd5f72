// Names the calling thread for operators' tools (top -H, perf, gdb, /proc/PID/task/*/comm):
// "meterd-writer", "meterd-shard-3", ... Linux keeps at most 15 bytes; longer names are cut.
#pragma once

#include <string_view>

namespace meterd {

void SetCurrentThreadName(std::string_view name);

}  // namespace meterd
