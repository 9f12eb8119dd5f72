#include "tools/loadgen/demo_preset.h"

#include <algorithm>

namespace meterd::loadgen {

void ApplyDemoPreset(WorldOptions* world, FeedOptions* feed, LoadOptions* load) {
  world->partners = 2;
  world->customers = 5;
  world->entitlements_per_customer = 1;
  world->resources_per_entitlement = 4;
  world->span_days = 10;  // 6 minutes of feed at 20 events/s before the span replays
  world->markets = {"US", "DE", "NO", "GB", "JP"};
  feed->duplicate_ppm = 10'000;
  feed->late_ppm = 10'000;
  load->rate = 20;
  load->batch = 20;
  load->connections = 1;
  load->duration_ms = 0;  // until Ctrl-C
}

BudgetPlan DemoBudgetPlan(uint64_t rate) {
  BudgetPlan plan;
  plan.reach_within_lines = std::max<uint64_t>(1, rate) * kDemoSeconds;
  return plan;
}

}  // namespace meterd::loadgen
