// Helpers shared by the tools tests: a small world at a fixed clock, line splitting, raw field
// text of an NDJSON line (so decimals are checked from their text, never through a double).
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "rating/civil_time.h"
#include "tools/loadgen/budget_plan.h"
#include "tools/loadgen/feed.h"
#include "tools/loadgen/world.h"

namespace meterd::loadgen::testing {

inline rating::Timestamp FixedNow() {
  rating::Timestamp t;
  EXPECT_TRUE(rating::ParseRfc3339("2026-11-20T12:00:00Z", &t));
  return t;
}

inline WorldOptions SmallWorldOptions(uint64_t seed = 7) {
  WorldOptions o;
  o.seed = seed;
  o.partners = 5;
  o.customers = 24;
  o.entitlements_per_customer = 2;
  o.resources_per_entitlement = 5;
  o.span_days = 4;
  o.now = FixedNow();
  return o;
}

inline World MustBuild(const WorldOptions& o, const FeedOptions& feed = {}, BudgetPlan plan = {}) {
  Result<World> w = BuildWorld(o);
  EXPECT_TRUE(w.ok()) << w.status().message();
  World world = std::move(*w);
  Status s = PlanBudgets(feed, plan, &world);
  EXPECT_TRUE(s.ok()) << s.message();
  return world;
}

inline std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// The exact text of a top-level field of a generated line: a string's contents or a number.
inline std::string RawField(std::string_view line, std::string_view name) {
  std::string key(1, '"');  // appended piecewise: GCC 12 -Wrestrict misfires on operator+
  key.append(name);
  key.append("\":");
  size_t at = line.find(key);
  if (at == std::string_view::npos) return "";
  size_t start = at + key.size();
  if (line[start] == '"') {
    size_t end = line.find('"', start + 1);
    return std::string(line.substr(start + 1, end - start - 1));
  }
  size_t end = line.find_first_of(",}", start);
  return std::string(line.substr(start, end - start));
}

}  // namespace meterd::loadgen::testing
