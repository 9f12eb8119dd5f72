// Budgets for the world's customers, sized from the feed itself so that they mean something
// during a run: a lower bound of each customer's list spend is computed from the generated
// quantities, the lowest price of each meter's tables and the lowest FX rate of its currency,
// so the real rated spend can only be higher. Pure; thread-compatible.
#pragma once

#include <cstdint>

#include "common/status.h"
#include "tools/loadgen/feed.h"
#include "tools/loadgen/world.h"

namespace meterd::loadgen {

struct BudgetPlan {
  // 0: four customers in five get a budget of 50%, 90%, 150% or 300% of the spend one pass of
  // the span puts into the current month, so a run shows some customers crossing 80 and 100.
  // N > 0 (the demo): every customer gets a list-basis budget that the first N lines of the
  // feed alone reach, so budget_actual 80/100 and budget_forecast 100 fire early.
  uint64_t reach_within_lines = 0;
};

// Fills world->budgets. REQUIRES: `feed` describes the feed that will be sent.
Status PlanBudgets(const FeedOptions& feed, BudgetPlan plan, World* world);

}  // namespace meterd::loadgen
