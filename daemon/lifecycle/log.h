// The daemon's log: one line per call, written to stderr with a single write(2), so lines from
// different threads never interleave and no lock is taken. Under systemd (JOURNAL_STREAM names
// our stderr) lines carry the sd-daemon "<N>" priority prefix for journald; otherwise an RFC 3339
// UTC timestamp and a level letter. The level filter is one process-wide atomic (the one global
// we keep: every module logs, and threading a logger through them all buys nothing).
// Never log on a per-event hot path.
#pragma once

#include <string_view>

#include "daemon/config/config.h"

namespace meterd::lifecycle {

using config::LogLevel;

void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
void Log(LogLevel level, std::string_view message);

inline void LogDebug(std::string_view m) { Log(LogLevel::kDebug, m); }
inline void LogInfo(std::string_view m) { Log(LogLevel::kInfo, m); }
inline void LogWarning(std::string_view m) { Log(LogLevel::kWarning, m); }
inline void LogError(std::string_view m) { Log(LogLevel::kError, m); }

}  // namespace meterd::lifecycle
