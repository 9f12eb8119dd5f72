// bench-links: meterd_rating
// The month ledger's hot path: appending usage to existing daily lines of a flat and of a tiered
// meter (with Settle amortized over batches of 1000 events), and a late event for the first day
// of a 30 days × 10 resources tiered scope, which re-allocates every later line. Results are
// verified against hand-computed amounts before anything is timed; a mismatch exits non-zero.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "rating/month_ledger.h"
#include "rating/price_sheet.h"
#include "rating/reference.h"

namespace meterd::rating {
namespace {

constexpr std::string_view kEnt = "aaaaaaaa-0000-4000-8000-00000000000a";
constexpr std::string_view kFlat = "0a3c6e2a-6d1f-4c55-9a43-5f1c2b7d9e01";
constexpr std::string_view kTiered = "10000000-0000-4000-8000-0000000000bd";
const Month kMonth = MonthFromYm(2026, 11);

Decimal Dec(std::string_view s) {
  Decimal d;
  if (Decimal::Parse(s, &d) != DecimalError::kOk) std::abort();
  return d;
}

PriceRow Row(std::string_view meter, std::string_view min, std::string_view price) {
  PriceRow r;
  r.market = "US";
  r.meter_id = std::string(meter);
  r.effective_start = DateFromYmd(2026, 1, 1);
  r.tier_min = Dec(min);
  r.unit_price = Dec(price);
  r.currency = "USD";
  r.meter_category = "Bench";
  r.tags = "Azure";
  r.tag_flags = ParseTags(r.tags);
  r.publisher = "Microsoft";
  return r;
}

std::shared_ptr<const ReferenceSnapshot> Snapshot() {
  ReferenceBuilder b(ReferenceSnapshot::Empty());
  Partner p;
  p.partner_id = "p";
  p.mpn_id = "111";
  Customer c;
  c.customer_id = "c";
  c.country = "US";
  c.partner_id = "p";
  Entitlement e;
  e.entitlement_id = std::string(kEnt);
  e.customer_id = "c";
  if (!b.UpsertPartner(p).ok() || !b.UpsertCustomer(c).ok() || !b.UpsertEntitlement(e).ok()) {
    std::abort();
  }
  PriceSheet sheet;
  sheet.rows = {Row(kFlat, "0", "0.096"), Row(kTiered, "0", "0.10"), Row(kTiered, "1000", "0.08"),
                Row(kTiered, "100000", "0.05")};
  if (b.ApplyPriceUpload(sheet).rejected != 0) std::abort();
  return std::move(b).Build().snapshot;
}

std::vector<std::string> Resources(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    out.push_back("/subscriptions/" + std::string(kEnt) +
                  "/resourcegroups/prod/providers/microsoft.compute/virtualmachines/vm-" +
                  std::to_string(i));
  }
  return out;
}

struct Fixture {
  std::shared_ptr<const ReferenceSnapshot> snapshot = Snapshot();
  RatingConfig config;
  std::vector<std::string> resources;
  std::vector<LineKey> keys;
  MonthLedger ledger{"c", kMonth};
  SettleResult result;

  // One line per (resource, day) for `days` days, each with quantity 1, settled.
  Fixture(std::string_view meter, int n_resources, int days) : resources(Resources(n_resources)) {
    for (int d = 0; d < days; ++d) {
      for (const std::string& r : resources) {
        keys.push_back(LineKey{kEnt, meter, r, DateFromYmd(2026, 11, 1 + d)});
        ledger.AddQuantity(keys.back(), Dec("1"));
      }
    }
    ledger.Settle(snapshot, config, &result);
  }
  Decimal ListOf(const LineKey& k) const { return ledger.line(*ledger.Find(k)).rated->list_usd; }
};

bool Check(bool ok, const char* what) {
  if (!ok) std::fprintf(stderr, "ledger_bench verification failed: %s\n", what);
  return ok;
}

// Verifies the scenarios' results against amounts computed by hand.
bool Verify() {
  bool ok = true;
  {
    Fixture f(kFlat, 10, 1);
    for (int i = 0; i < 990; ++i) f.ledger.AddQuantity(f.keys[i % 10], Dec("0.5"));
    f.ledger.Settle(f.snapshot, f.config, &f.result);
    // Each line: 1 + 99 × 0.5 = 50.5 units × 0.096 = 4.848.
    ok &= Check(f.ListOf(f.keys[3]) == Dec("4.848"), "flat append amount");
    ok &= Check(f.ledger.Totals().list_usd == Dec("48.48"), "flat totals");
  }
  {
    Fixture f(kTiered, 10, 1);
    for (int i = 0; i < 1990; ++i) f.ledger.AddQuantity(f.keys[i % 10], Dec("1"));
    f.ledger.Settle(f.snapshot, f.config, &f.result);
    // 2000 units in all: 1000 × 0.10 + 1000 × 0.08 = 180.
    ok &= Check(f.ledger.Totals().list_usd == Dec("180"), "tiered totals");
    // Line 5 holds [1000, 1200): entirely in the 0.08 tier.
    ok &= Check(f.ListOf(f.keys[5]) == Dec("16"), "tiered line amount");
  }
  {
    Fixture f(kTiered, 10, 30);
    for (const LineKey& k : f.keys) f.ledger.AddQuantity(k, Dec("9"));  // 10 per line
    f.ledger.Settle(f.snapshot, f.config, &f.result);
    f.ledger.AddQuantity(f.keys[0], Dec("5"));  // late: the first day's first line
    f.ledger.Settle(f.snapshot, f.config, &f.result);
    // 3005 units: 1000 × 0.10 + 2005 × 0.08 = 260.4; every line from [995, 1005) on moved.
    ok &= Check(f.ledger.Totals().list_usd == Dec("260.4"), "late event totals");
    ok &= Check(f.result.changed.size() == 2, "late event re-rates only lines whose amount moved");
    ok &= Check(f.ledger.line(*f.ledger.Find(f.keys.back())).cumulative_before == Dec("2995"),
                "late event shifts the last line");
  }
  return ok;
}

void BM_FlatAppendToExistingLine(benchmark::State& state) {
  Fixture f(kFlat, 100, 1);
  const Decimal q = Dec("0.25");
  size_t i = 0;
  for (auto _ : state) {
    f.ledger.AddQuantity(f.keys[i], q);
    if (++i == f.keys.size()) i = 0;
  }
  f.ledger.Settle(f.snapshot, f.config, &f.result);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FlatAppendToExistingLine);

// A large month: 60,000 lines (2,000 resources × 30 days) of one flat meter, visited in a
// scattered order, so most appends miss the CPU caches for the slot and the line.
void BM_FlatAppendToExistingLineOf60kLines(benchmark::State& state) {
  Fixture f(kFlat, 2000, 30);
  const Decimal q = Dec("0.25");
  const size_t n = f.keys.size();
  size_t i = 0;
  for (auto _ : state) {
    f.ledger.AddQuantity(f.keys[i], q);
    i += 7919;  // a prime stride: every line once per n appends
    if (i >= n) i -= n;
  }
  f.ledger.Settle(f.snapshot, f.config, &f.result);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FlatAppendToExistingLineOf60kLines);

// The same line again and again: the last-line cache, no hashing.
void BM_FlatAppendSameLine(benchmark::State& state) {
  Fixture f(kFlat, 100, 1);
  const Decimal q = Dec("0.25");
  for (auto _ : state) f.ledger.AddQuantity(f.keys[7], q);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FlatAppendSameLine);

// Appends over 10 resources of today's tiered scope, settling every 1000 events.
void BM_TieredAppendWithSettlePer1000(benchmark::State& state) {
  Fixture f(kTiered, 10, 1);
  const Decimal q = Dec("0.001");
  for (auto _ : state) {
    for (int i = 0; i < 1000; ++i) f.ledger.AddQuantity(f.keys[i % 10], q);
    f.ledger.Settle(f.snapshot, f.config, &f.result);
  }
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_TieredAppendWithSettlePer1000);

// A late event on the first line of a 30 days × 10 resources tiered scope, then Settle: every
// later line's cumulative position moves and each tiered line is re-rated.
void BM_LateEventReallocatesTieredScope(benchmark::State& state) {
  Fixture f(kTiered, 10, 30);
  for (const LineKey& k : f.keys) f.ledger.AddQuantity(k, Dec("9"));
  f.ledger.Settle(f.snapshot, f.config, &f.result);
  const Decimal q = Dec("0.000000001");
  for (auto _ : state) {
    f.ledger.AddQuantity(f.keys[0], q);
    f.ledger.Settle(f.snapshot, f.config, &f.result);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["lines"] = static_cast<double>(f.keys.size());
}
BENCHMARK(BM_LateEventReallocatesTieredScope);

}  // namespace
}  // namespace meterd::rating

int main(int argc, char** argv) {
  if (!meterd::rating::Verify()) return 1;
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
