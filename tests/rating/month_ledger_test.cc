// The month ledger: merging usage into daily lines, canonical tier scopes and late-event
// re-allocation (§4.2), incremental totals (§8.12, §8.19, §8.26), change reporting for
// selective writes, re-rating on reference changes, restarts, and pec_lost days.

#include "rating/month_ledger.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "tests/rating/engine_test_util.h"

// Counts heap allocations while armed, to check the hot path allocates nothing.
namespace {
std::atomic<bool> g_count_allocations{false};
std::atomic<long> g_allocations{0};
}  // namespace

// GCC sees malloc/free through the inlined replacements and flags a mismatch that is not one.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  if (g_count_allocations.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
// The nothrow forms too (libraries allocate with them), so that every form of new this binary
// sees pairs with the free() below: under AddressSanitizer, whose own nothrow new would
// otherwise be released here, that pairing is checked.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  if (g_count_allocations.load(std::memory_order_relaxed)) g_allocations.fetch_add(1);
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t& tag) noexcept {
  return operator new(n, tag);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace meterd::rating {
namespace {

using testing::Day;
using testing::Dec;
using testing::Mon;
using testing::Spec;
using testing::World;

constexpr std::string_view kBw = "10000000-0000-4000-8000-0000000000bd";
constexpr std::string_view kSql = "20000000-0000-4000-8000-00000000005c";
constexpr std::string_view kEa = "aaaaaaaa-0000-4000-8000-00000000000a";
constexpr std::string_view kEb = "bbbbbbbb-0000-4000-8000-00000000000b";
constexpr std::string_view kVm1 =
    "/subscriptions/aaaaaaaa-0000-4000-8000-00000000000a/resourcegroups/rg1/providers/"
    "microsoft.compute/virtualmachines/vm1";
constexpr std::string_view kVm2 =
    "/subscriptions/aaaaaaaa-0000-4000-8000-00000000000a/resourcegroups/rg10/providers/"
    "microsoft.compute/virtualmachines/vm2";
constexpr std::string_view kApp1 =
    "/subscriptions/bbbbbbbb-0000-4000-8000-00000000000b/resourcegroups/apps/providers/"
    "microsoft.web/sites/app1";

// The tiers-and-pec example's world (README of tests/fixtures/examples/tiers-and-pec).
World TiersWorld() {
  World w;
  w.Partner("p2", "2222222", true, PartnerKind::kIndirectProvider)
      .Customer("c2", "US", "p2", "3333333")
      .Entitlement(std::string(kEa), "c2", Offer::kAzurePlan, false)
      .Entitlement(std::string(kEb), "c2", Offer::kAzurePlan, false)
      .Grant("g1", std::string(kEa),
             "/subscriptions/AAAAAAAA-0000-4000-8000-00000000000A/resourcegroups/RG1", "3333333",
             "contributor", "2026-01-01T00:00:00Z")
      .Grant("g2", std::string(kEb), "/subscriptions/bbbbbbbb-0000-4000-8000-00000000000b",
             "2222222", "Owner", "2026-01-01T00:00:00Z", "2026-11-06T15:00:00Z")
      .Table(Spec(std::string(kBw), {{"0", "0.10"}, {"10", "0.08"}, {"50", "0.05"}})
                 .Category("Bandwidth"))
      .Table(Spec(std::string(kSql), {{"0", "0.20"}}).Category("SQL Database"))
      .Table(Spec(std::string(kSql), {{"0", "0.25"}}).Start("2026-11-10").Category("SQL Database"));
  return w;
}

LineKey Key(std::string_view ent, std::string_view meter, std::string_view res,
            std::string_view date) {
  return LineKey{ent, meter, res, Day(date)};
}

std::string ListOf(const MonthLedger& l, const LineKey& k) {
  std::optional<LineId> id = l.Find(k);
  if (!id) return "missing";
  const RatedAmounts& r = *l.line(*id).rated;
  return r.usd_shown ? r.list_usd.ToString() : "null";
}

class LedgerTest : public ::testing::Test {
 protected:
  void Settle() { ledger_.Settle(snap_, config_, &result_); }
  std::vector<LineKey> Changed() const {
    std::vector<LineKey> out;
    for (LineId id : result_.changed) {
      LineView v = ledger_.line(id);
      out.push_back({v.entitlement_id, v.meter_id, v.resource_uri, v.usage_date});
    }
    return out;
  }
  bool WasChanged(const LineKey& k) const {
    std::optional<LineId> id = ledger_.Find(k);
    return id &&
           std::find(result_.changed.begin(), result_.changed.end(), *id) != result_.changed.end();
  }

  std::shared_ptr<const ReferenceSnapshot> snap_ = TiersWorld().Build();
  RatingConfig config_;
  MonthLedger ledger_{"c2", Mon("2026-11")};
  SettleResult result_;
};

TEST_F(LedgerTest, EventsWithEqualKeysMergeIntoOneLine) {
  LineId a = ledger_.AddQuantity(Key(kEa, kBw, kVm1, "2026-11-05"), Dec("1.5"));
  LineId b = ledger_.AddQuantity(Key(kEa, kBw, kVm1, "2026-11-05"), Dec("2"));
  ledger_.AddQuantity(Key(kEa, kBw, kVm1, "2026-11-06"), Dec("1"));
  EXPECT_EQ(a, b);
  EXPECT_EQ(ledger_.line_count(), 2u);
  EXPECT_EQ(ledger_.line(a).quantity, Dec("3.5"));
}

TEST_F(LedgerTest, ALateEventReallocatesTheLaterLinesOfATieredScope) {
  const LineKey l05a = Key(kEa, kBw, kVm1, "2026-11-05");
  const LineKey l05b = Key(kEb, kBw, kApp1, "2026-11-05");
  const LineKey l06 = Key(kEa, kBw, kVm2, "2026-11-06");
  const LineKey l04 = Key(kEa, kBw, kVm1, "2026-11-04");
  ledger_.AddQuantity(l05a, Dec("8"));
  ledger_.AddQuantity(l05b, Dec("6"));
  ledger_.AddQuantity(l06, Dec("45"));
  Settle();
  EXPECT_EQ(result_.changed.size(), 3u);
  EXPECT_EQ(ListOf(ledger_, l05a), "0.800000000");
  EXPECT_EQ(ListOf(ledger_, l05b), "0.520000000");
  EXPECT_EQ(ListOf(ledger_, l06), "3.330000000");
  EXPECT_EQ(ledger_.Totals().list_usd, Dec("4.65"));

  ledger_.AddQuantity(l04, Dec("4"));
  Settle();
  EXPECT_EQ(result_.changed.size(), 4u);
  EXPECT_EQ(ListOf(ledger_, l04), "0.400000000");
  EXPECT_EQ(ListOf(ledger_, l05a), "0.760000000");
  EXPECT_EQ(ListOf(ledger_, l05b), "0.480000000");
  EXPECT_EQ(ListOf(ledger_, l06), "3.210000000");
  EXPECT_EQ(ledger_.line(*ledger_.Find(l06)).cumulative_before, Dec("18"));
  EXPECT_EQ(ledger_.Totals().list_usd, Dec("4.85"));
}

TEST_F(LedgerTest, AddingToTheLastLineOfAScopeRatesOnlyThatLine) {
  const LineKey first = Key(kEa, kBw, kVm1, "2026-11-05");
  const LineKey last = Key(kEa, kBw, kVm2, "2026-11-06");
  ledger_.AddQuantity(first, Dec("8"));
  ledger_.AddQuantity(last, Dec("1"));
  Settle();
  ledger_.AddQuantity(last, Dec("1"));
  Settle();
  ASSERT_EQ(result_.changed.size(), 1u);
  EXPECT_TRUE(WasChanged(last));
  EXPECT_EQ(ListOf(ledger_, last), "0.200000000");  // [8, 10) at 0.10
}

TEST_F(LedgerTest, AddingToAMiddleLineReallocatesOnlyTheLinesAfterIt) {
  const LineKey a = Key(kEa, kBw, kVm1, "2026-11-04");
  const LineKey b = Key(kEa, kBw, kVm1, "2026-11-05");
  const LineKey c = Key(kEa, kBw, kVm1, "2026-11-06");
  ledger_.AddQuantity(a, Dec("5"));
  ledger_.AddQuantity(b, Dec("4"));
  ledger_.AddQuantity(c, Dec("5"));
  Settle();
  EXPECT_EQ(ListOf(ledger_, c), "0.420000000");  // [9, 14): 1 × 0.10 + 4 × 0.08
  ledger_.AddQuantity(b, Dec("1"));
  Settle();
  EXPECT_FALSE(WasChanged(a));
  EXPECT_TRUE(WasChanged(b));
  EXPECT_TRUE(WasChanged(c));
  EXPECT_EQ(ListOf(ledger_, c), "0.400000000");  // [10, 15) at 0.08
}

TEST_F(LedgerTest, AFlatMeterDoesNotReallocateLaterLines) {
  const LineKey a = Key(kEb, kSql, kApp1, "2026-11-05");
  const LineKey b = Key(kEb, kSql, kApp1, "2026-11-06");
  ledger_.AddQuantity(a, Dec("10"));
  ledger_.AddQuantity(b, Dec("10"));
  Settle();
  ledger_.AddQuantity(Key(kEb, kSql, kApp1, "2026-11-04"), Dec("3"));
  ledger_.AddQuantity(a, Dec("1"));
  Settle();
  EXPECT_EQ(result_.changed.size(), 2u);
  EXPECT_FALSE(WasChanged(b));
  EXPECT_EQ(ListOf(ledger_, a), "2.200000000");
}

TEST_F(LedgerTest, ASettleWithNothingNewReportsNothing) {
  ledger_.AddQuantity(Key(kEa, kBw, kVm1, "2026-11-05"), Dec("8"));
  Settle();
  EXPECT_FALSE(ledger_.has_unsettled_changes());
  Settle();
  EXPECT_TRUE(result_.changed.empty());
  EXPECT_TRUE(result_.pec_lost.empty());
}

TEST_F(LedgerTest, AddingZeroStillReportsANewLine) {
  ledger_.AddQuantity(Key(kEa, kBw, kVm1, "2026-11-05"), Dec("0"));
  Settle();
  ASSERT_EQ(result_.changed.size(), 1u);
  const RatedAmounts& r = *ledger_.line(result_.changed[0]).rated;
  EXPECT_TRUE(r.rated());
  EXPECT_EQ(r.unit_price, Dec("0.10"));
}

TEST_F(LedgerTest, UnratedLinesCountTowardTheCumulativeButNotTheSpend) {
  // No price before 2026-01-01 does not help inside one month; use a meter priced only from
  // 11-05 in a scope shared with an unpriced earlier day.
  snap_ = World(snap_)
              .Table(Spec("late", {{"0", "1"}, {"10", "0.5"}}).Start("2026-11-05").Category("Late"))
              .Build();
  ledger_.AddQuantity(Key(kEa, "late", kVm1, "2026-11-04"), Dec("12"));
  ledger_.AddQuantity(Key(kEa, "late", kVm1, "2026-11-05"), Dec("2"));
  Settle();
  const RatedAmounts& unpriced =
      *ledger_.line(*ledger_.Find(Key(kEa, "late", kVm1, "2026-11-04"))).rated;
  EXPECT_EQ(unpriced.reason, UnratedReason::kUnpriced);
  EXPECT_EQ(ListOf(ledger_, Key(kEa, "late", kVm1, "2026-11-05")), "1.000000000")
      << "[12, 14) lies in the 0.5 tier";
  MonthTotals t = ledger_.Totals();
  EXPECT_EQ(t.rated_lines, 1);
  EXPECT_EQ(t.unrated_lines, 1);
  EXPECT_EQ(t.list_usd, Dec("1"));
  EXPECT_EQ(t.list, Dec("1"));
}

TEST_F(LedgerTest, TotalsFollowTheExampleIncludingByCategory) {
  ledger_.AddQuantity(Key(kEa, kBw, kVm1, "2026-11-05"), Dec("8"));
  ledger_.AddQuantity(Key(kEb, kBw, kApp1, "2026-11-05"), Dec("6"));
  ledger_.AddQuantity(Key(kEa, kBw, kVm2, "2026-11-06"), Dec("45"));
  ledger_.AddQuantity(Key(kEb, kSql, kApp1, "2026-11-06"), Dec("10"));
  ledger_.AddQuantity(Key(kEb, kSql, kApp1, "2026-11-05"), Dec("10"));
  ledger_.AddQuantity(Key(kEa, kSql, kVm1, "2026-11-12"), Dec("4"));
  ledger_.AddQuantity(Key(kEb, kSql, kApp1, "2026-11-12"), Dec("10"));
  ledger_.AddQuantity(Key(kEa, kBw, kVm1, "2026-11-04"), Dec("4"));
  Settle();
  MonthTotals t = ledger_.Totals();
  EXPECT_EQ(t.currency.view(), "USD");
  EXPECT_EQ(t.list, Dec("12.35"));
  EXPECT_EQ(t.pec, Dec("0.696"));
  EXPECT_EQ(t.billed, Dec("11.654"));
  EXPECT_EQ(t.list_usd, Dec("12.35"));
  EXPECT_EQ(t.rated_lines, 8);
  EXPECT_EQ(t.unrated_lines, 0);
  ASSERT_EQ(t.by_category.size(), 2u);
  EXPECT_EQ(t.by_category[0], (CategoryTotal{"Bandwidth", Dec("4.85"), Dec("4.604")}));
  EXPECT_EQ(t.by_category[1], (CategoryTotal{"SQL Database", Dec("7.5"), Dec("7.05")}));
}

TEST_F(LedgerTest, ACategoryWithOnlyZeroAmountsIsListed) {
  ledger_.AddQuantity(Key(kEa, kSql, kVm1, "2026-11-05"), Dec("0"));
  Settle();
  MonthTotals t = ledger_.Totals();
  ASSERT_EQ(t.by_category.size(), 1u);
  EXPECT_EQ(t.by_category[0], (CategoryTotal{"SQL Database", Dec("0"), Dec("0")}));
}

// A shard reuses one MonthTotals for every ledger it settles: whatever it held before (more
// categories, other names, other sums) is replaced entirely.
TEST_F(LedgerTest, TotalsIntoAReusedObjectEqualFreshTotals) {
  ledger_.AddQuantity(Key(kEa, kSql, kVm1, "2026-11-05"), Dec("10"));
  Settle();
  MonthTotals reused;
  reused.list = Dec("99");
  reused.rated_lines = 7;
  reused.by_category = {{"Zeta", Dec("1"), Dec("1")},
                        {"A category name longer than any short-string buffer", Dec("2"), Dec("2")},
                        {"Bandwidth", Dec("3"), Dec("3")}};
  ledger_.Totals(&reused);
  const MonthTotals fresh = ledger_.Totals();
  EXPECT_EQ(reused.list, fresh.list);
  EXPECT_EQ(reused.billed, fresh.billed);
  EXPECT_EQ(reused.rated_lines, fresh.rated_lines);
  ASSERT_EQ(reused.by_category.size(), 1u);
  EXPECT_EQ(reused.by_category, fresh.by_category);
  EXPECT_EQ(reused.by_category[0].meter_category, "SQL Database");

  ledger_.AddQuantity(Key(kEa, kBw, kVm1, "2026-11-05"), Dec("8"));  // a second category
  Settle();
  ledger_.Totals(&reused);
  ASSERT_EQ(reused.by_category.size(), 2u);
  EXPECT_EQ(reused.by_category, ledger_.Totals().by_category);
  EXPECT_EQ(reused.by_category[0].meter_category, "Bandwidth");  // sorted by name
}

TEST_F(LedgerTest, LinesEnumerateInCanonicalOrder) {
  ledger_.AddQuantity(Key(kEb, kSql, kApp1, "2026-11-05"), Dec("1"));
  ledger_.AddQuantity(Key(kEa, kBw, kVm2, "2026-11-05"), Dec("1"));
  ledger_.AddQuantity(Key(kEa, kBw, kVm1, "2026-11-05"), Dec("1"));
  ledger_.AddQuantity(Key(kEb, kBw, kApp1, "2026-11-04"), Dec("1"));
  ledger_.AddQuantity(Key(kEa, kSql, kVm1, "2026-11-05"), Dec("1"));
  std::vector<std::string> order;
  for (LineId id : ledger_.CanonicalOrder()) {
    LineView v = ledger_.line(id);
    order.push_back(std::string(v.meter_id.substr(0, 1)) + FormatDate(v.usage_date).substr(8) +
                    std::string(v.entitlement_id.substr(0, 1)) +
                    std::string(v.resource_uri.substr(v.resource_uri.size() - 1)));
  }
  EXPECT_EQ(order, (std::vector<std::string>{"104b1", "105a1", "105a2", "205a1", "205b1"}));
}

TEST_F(LedgerTest, PecLostDaysAreReportedWithTheCreditLostSoFar) {
  // EA rg10/vm2 has no eligible grant; EB loses its grant at 15:00 on 11-06.
  ledger_.AddQuantity(Key(kEa, kSql, kVm2, "2026-11-06"), Dec("10"));
  ledger_.AddQuantity(Key(kEb, kSql, kApp1, "2026-11-05"), Dec("10"));
  Settle();
  ASSERT_EQ(result_.pec_lost.size(), 1u);
  EXPECT_EQ(result_.pec_lost[0].entitlement_id, kEa);
  EXPECT_EQ(result_.pec_lost[0].date, Day("2026-11-06"));
  EXPECT_EQ(result_.pec_lost[0].lost_usd, Dec("0.3"));
  EXPECT_EQ(result_.pec_lost[0].lost_bc, Dec("0.3"));

  ledger_.AddQuantity(Key(kEa, kBw, kVm2, "2026-11-06"), Dec("10"));  // another line, same day
  ledger_.AddQuantity(Key(kEb, kSql, kApp1, "2026-11-06"), Dec("10"));
  Settle();
  ASSERT_EQ(result_.pec_lost.size(), 2u);
  EXPECT_EQ(result_.pec_lost[0].entitlement_id, kEa);
  EXPECT_EQ(result_.pec_lost[0].lost_usd, Dec("0.45"));  // 0.3 + 1.0 × 0.15
  EXPECT_EQ(result_.pec_lost[1].entitlement_id, kEb);
  EXPECT_EQ(result_.pec_lost[1].date, Day("2026-11-06"));

  ledger_.AddQuantity(Key(kEb, kSql, kApp1, "2026-11-05"), Dec("1"));  // a day with full access
  Settle();
  EXPECT_TRUE(result_.pec_lost.empty());
}

TEST_F(LedgerTest, ANewSnapshotReratesButReportsOnlyLinesWhoseResultChanged) {
  ledger_.AddQuantity(Key(kEb, kSql, kApp1, "2026-11-05"), Dec("10"));
  ledger_.AddQuantity(Key(kEa, kBw, kVm1, "2026-11-05"), Dec("10"));
  Settle();
  // A new SQL price version from 11-01 changes the SQL line only.
  snap_ =
      World(snap_)
          .Table(
              Spec(std::string(kSql), {{"0", "0.30"}}).Start("2026-11-01").Category("SQL Database"))
          .Build();
  Settle();
  ASSERT_EQ(result_.changed.size(), 1u);
  EXPECT_EQ(ListOf(ledger_, Key(kEb, kSql, kApp1, "2026-11-05")), "3.000000000");
  EXPECT_EQ(ledger_.Totals().list_usd, Dec("4"));
}

TEST_F(LedgerTest, RebaseReresolvesOnlyAffectedLines) {
  ledger_.AddQuantity(Key(kEb, kSql, kApp1, "2026-11-05"), Dec("10"));
  ledger_.AddQuantity(Key(kEa, kBw, kVm1, "2026-11-05"), Dec("10"));
  Settle();
  // Revoke g1: EA's rg1 line loses PEC; SQL of EB is untouched.
  World w(snap_);
  w.Grant("g1", std::string(kEa), "/subscriptions/" + std::string(kEa) + "/resourcegroups/rg1",
          "3333333", "contributor", "2026-01-01T00:00:00Z", "2026-11-01T00:00:00Z");
  ReferenceBuilder::Built built = w.BuildWithChange();
  EXPECT_EQ(built.change.entitlement_ids, std::vector<std::string>{std::string(kEa)});
  ledger_.Rebase(built.snapshot, built.change, config_);
  EXPECT_TRUE(ledger_.has_unsettled_changes());
  snap_ = built.snapshot;
  Settle();
  ASSERT_EQ(result_.changed.size(), 1u);
  const RatedAmounts& r = *ledger_.line(result_.changed[0]).rated;
  EXPECT_EQ(r.pec_rate, Dec("0"));
  EXPECT_TRUE(r.pec_lost);
  ASSERT_EQ(result_.pec_lost.size(), 1u);
}

TEST_F(LedgerTest, RebaseWithAnUnrelatedChangeRatesNothing) {
  ledger_.AddQuantity(Key(kEb, kSql, kApp1, "2026-11-05"), Dec("10"));
  Settle();
  ReferenceBuilder::Built built =
      World(snap_).Partner("other", "9").Rate("EUR", "2026-11", "1").BuildWithChange();
  ledger_.Rebase(built.snapshot, built.change, config_);
  EXPECT_FALSE(ledger_.has_unsettled_changes());
  snap_ = built.snapshot;
  Settle();
  EXPECT_TRUE(result_.changed.empty());
}

TEST(LedgerFx, LoadingTheMonthsRateReplacesTheProvisionalOne) {
  World w;
  w.Partner("p", "1").Customer("c", "NO", "p").Entitlement("e", "c").FlatPrice("m", "0.192", "NO");
  w.Rate("NOK", "2026-10", "10.5");
  auto snap = w.Build();
  RatingConfig config;
  MonthLedger ledger("c", Mon("2026-11"));
  SettleResult result;
  ledger.AddQuantity(LineKey{"e", "m", "/subscriptions/e/x", Day("2026-11-02")}, Dec("10"));
  ledger.Settle(snap, config, &result);
  ASSERT_EQ(result.changed.size(), 1u);
  EXPECT_TRUE(ledger.line(result.changed[0]).rated->fx_provisional);
  EXPECT_EQ(ledger.Totals().list, Dec("20.16"));

  ReferenceBuilder::Built built = World(snap).Rate("NOK", "2026-11", "11").BuildWithChange();
  ledger.Rebase(built.snapshot, built.change, config);
  ledger.Settle(built.snapshot, config, &result);
  ASSERT_EQ(result.changed.size(), 1u);
  EXPECT_FALSE(ledger.line(result.changed[0]).rated->fx_provisional);
  EXPECT_EQ(ledger.Totals().list, Dec("21.12"));
  EXPECT_EQ(ledger.Totals().currency.view(), "NOK");
}

TEST(LedgerRestart, LoadedLinesWithTheirStoredFormAreNotReportedAgain) {
  auto snap = TiersWorld().Build();
  RatingConfig config;
  SettleResult result;
  MonthLedger before("c2", Mon("2026-11"));
  before.AddQuantity(Key(kEa, kBw, kVm1, "2026-11-05"), Dec("8"));
  before.AddQuantity(Key(kEb, kBw, kApp1, "2026-11-05"), Dec("6"));
  before.AddQuantity(Key(kEb, kSql, kApp1, "2026-11-06"), Dec("10"));
  before.Settle(snap, config, &result);

  MonthLedger after("c2", Mon("2026-11"));
  std::vector<LineId> ids = before.CanonicalOrder();
  for (size_t i = 0; i < ids.size(); ++i) {
    LineView v = before.line(ids[i]);
    RatedAmounts stored = *v.rated;
    if (i == 2) stored.list_usd = Dec("99");  // a stale stored form gets rewritten
    after.LoadLine({v.entitlement_id, v.meter_id, v.resource_uri, v.usage_date}, v.quantity,
                   &stored);
  }
  after.Settle(snap, config, &result);
  ASSERT_EQ(result.changed.size(), 1u);
  EXPECT_EQ(after.line(result.changed[0]).meter_id, kSql);
  MonthTotals a = before.Totals(), b = after.Totals();
  EXPECT_EQ(a.list, b.list);
  EXPECT_EQ(a.billed_usd, b.billed_usd);
  EXPECT_EQ(a.by_category, b.by_category);
  EXPECT_EQ(a.rated_lines, b.rated_lines);

  MonthLedger bare("c2", Mon("2026-11"));
  bare.LoadLine(Key(kEa, kBw, kVm1, "2026-11-05"), Dec("8"), nullptr);
  bare.Settle(snap, config, &result);
  EXPECT_EQ(result.changed.size(), 1u);
}

TEST_F(LedgerTest, RemovingAnEntitlementReturnsItsLinesAndReallocatesTheRest) {
  ledger_.AddQuantity(Key(kEa, kBw, kVm1, "2026-11-04"), Dec("4"));
  ledger_.AddQuantity(Key(kEa, kBw, kVm1, "2026-11-05"), Dec("8"));
  ledger_.AddQuantity(Key(kEb, kBw, kApp1, "2026-11-05"), Dec("6"));
  Settle();
  std::vector<LineRecord> moved = ledger_.RemoveEntitlement(kEa);
  ASSERT_EQ(moved.size(), 2u);
  EXPECT_EQ(moved[0].quantity + moved[1].quantity, Dec("12"));
  EXPECT_EQ(ledger_.line_count(), 1u);
  EXPECT_FALSE(ledger_.Find(Key(kEa, kBw, kVm1, "2026-11-04")).has_value());
  Settle();
  EXPECT_EQ(ListOf(ledger_, Key(kEb, kBw, kApp1, "2026-11-05")), "0.600000000");
  EXPECT_EQ(ledger_.Totals().list_usd, Dec("0.6"));
  EXPECT_EQ(ledger_.Totals().rated_lines, 1);

  MonthLedger other("c9", Mon("2026-11"));
  for (const LineRecord& r : moved) other.AddQuantity(r.key(), r.quantity);
  other.AddQuantity(moved[0].key(), Dec("1"));  // merges with the moved line
  EXPECT_EQ(other.line_count(), 2u);
}

TEST_F(LedgerTest, AppendingToAnExistingLineDoesNotAllocate) {
  const LineKey a = Key(kEa, kBw, kVm1, "2026-11-05");
  const LineKey b = Key(kEb, kBw, kApp1, "2026-11-05");
  ledger_.AddQuantity(a, Dec("1"));
  ledger_.AddQuantity(b, Dec("1"));
  Settle();
  g_allocations = 0;
  g_count_allocations = true;
  for (int i = 0; i < 1000; ++i) {
    ledger_.AddQuantity(a, Dec("1"));
    ledger_.AddQuantity(b, Dec("1"));  // alternating keys: the hash path, not only the cache
  }
  ledger_.Settle(snap_, config_, &result_);  // result_ already has capacity
  g_count_allocations = false;
  EXPECT_EQ(g_allocations.load(), 0);
  EXPECT_EQ(ledger_.line(*ledger_.Find(a)).quantity, Dec("1001"));
}

TEST(UnknownUsageBook, KeepsMergesAndHandsOverLinesPerEntitlement) {
  UnknownUsageBook book;
  book.Add(LineKey{"e2", "m", "/r", Day("2026-11-05")}, Dec("1"));
  book.Add(LineKey{"e1", "m", "/r", Day("2026-11-05")}, Dec("1"));
  book.Add(LineKey{"e1", "m", "/r", Day("2026-11-05")}, Dec("2"));
  book.Add(LineKey{"e1", "m", "/r", Day("2026-11-04")}, Dec("1"));
  EXPECT_EQ(book.size(), 3u);
  std::vector<LineRecord> all = book.Lines();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].entitlement_id, "e1");
  EXPECT_EQ(all[0].usage_date, Day("2026-11-04"));
  EXPECT_EQ(all[1].quantity, Dec("3"));
  EXPECT_TRUE(book.Contains("e1"));
  std::vector<LineRecord> taken = book.Take("e1");
  EXPECT_EQ(taken.size(), 2u);
  EXPECT_FALSE(book.Contains("e1"));
  EXPECT_EQ(book.size(), 1u);
}

}  // namespace
}  // namespace meterd::rating
