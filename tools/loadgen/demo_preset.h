// The --demo preset: a handful of customers in five billing currencies (USD, EUR, NOK, GBP,
// JPY), a gentle feed of 20 events/s on one connection, and budgets that the first 40 seconds
// of that feed already exceed, so budget_actual 80/100 and budget_forecast 100 alerts fire
// within the first minute. tools/demo/ holds its reference files for kDemoNow.
// Pure functions over caller-owned option structs; thread-safe.
#pragma once

#include <cstdint>

#include "tools/loadgen/budget_plan.h"
#include "tools/loadgen/feed.h"
#include "tools/loadgen/http_load.h"
#include "tools/loadgen/world.h"

namespace meterd::loadgen {

// The clock of the committed demo data set (tools/demo/now.txt): meterd --fixed-clock.
inline constexpr const char* kDemoNow = "2026-11-20T12:00:00Z";
inline constexpr uint64_t kDemoSeconds = 40;  // the budgets are crossed within this much feed

// Overwrites the preset's fields; flags given after --demo are applied afterwards by the CLI.
void ApplyDemoPreset(WorldOptions* world, FeedOptions* feed, LoadOptions* load);

// The budget plan that matches a load rate: the lines `rate` sends in kDemoSeconds.
BudgetPlan DemoBudgetPlan(uint64_t rate);

}  // namespace meterd::loadgen
