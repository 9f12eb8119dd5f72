// Renders a LoadReport (and the feed's own counters) for people (plain text) and for scripts
// (--json, one object). Integer arithmetic only: rates are whole events per second, latencies
// whole microseconds. Pure functions; thread-safe.
#pragma once

#include <string>

#include "tools/loadgen/feed.h"
#include "tools/loadgen/http_load.h"

namespace meterd::loadgen {

std::string FormatLoadReportText(const LoadReport& report, const FeedCounters& feed);
std::string FormatLoadReportJson(const LoadReport& report, const FeedCounters& feed);

// events per second over elapsed nanoseconds, rounded down; 0 when nothing elapsed.
uint64_t PerSecond(uint64_t events, int64_t elapsed_ns);

}  // namespace meterd::loadgen
