// Rating of single lines: tiers (§4.2), PEC rules 1–4 (§4.3), FX (§4.4), rounding (§4.5) and
// the unrated reasons with their null/shown rules (§8.4, §8.5, §8.24).

#include "rating/line_rating.h"

#include <gtest/gtest.h>

#include "tests/rating/engine_test_util.h"

namespace meterd::rating {
namespace {

using testing::Day;
using testing::Dec;
using testing::Fx;
using testing::Spec;
using testing::World;

constexpr std::string_view kVm1 =
    "/subscriptions/e1/resourcegroups/rg1/providers/microsoft.compute/virtualmachines/vm1";
constexpr std::string_view kVm2 =
    "/subscriptions/e1/resourcegroups/rg10/providers/microsoft.compute/virtualmachines/vm2";

// Partner p1 (MPN 111, active), customer c1 (US, reseller 333), entitlement e1 (azure_plan,
// no AOBO so only explicit grants count), a flat meter and a three-tier bandwidth meter.
World BaseWorld() {
  World w;
  w.Partner("p1", "111")
      .Customer("c1", "US", "p1", "333")
      .Entitlement("e1", "c1", Offer::kAzurePlan, /*aobo=*/false)
      .FlatPrice("flat", "0.10")
      .Table(Spec("bw", {{"0", "0.10"}, {"10", "0.08"}, {"50", "0.05"}}).Category("Bandwidth"));
  return w;
}

struct Rated {
  LineTerms terms;
  RatedAmounts amounts;
};

Rated RateOn(const ReferenceSnapshot& snap, std::string_view meter, std::string_view quantity,
             std::string_view cum = "0", std::string_view resource = kVm1,
             std::string_view date = "2026-11-05", std::string_view entitlement = "e1",
             const RatingConfig& config = RatingConfig()) {
  Rated r;
  r.terms = ResolveTerms(snap, config, entitlement, meter, resource, Day(date));
  RateLine(r.terms, Dec(quantity), Dec(cum), &r.amounts);
  return r;
}

std::string S(Decimal d) { return d.ToString(); }

// ---------------------------------------------------------------------------------------------
// Tiers

TEST(TieredPrice, SplitsALineThatStraddlesATier) {
  auto snap = BaseWorld().Build();
  Rated r = RateOn(*snap, "bw", "8", "4");
  EXPECT_EQ(S(r.amounts.list_usd), "0.760000000");  // 6 × 0.10 + 2 × 0.08
  EXPECT_EQ(S(r.amounts.unit_price), "0.095000000");
}

TEST(TieredPrice, ALineInsideOneHigherTierShowsThatTiersPrice) {
  auto snap = BaseWorld().Build();
  Rated r = RateOn(*snap, "bw", "6", "12");
  EXPECT_EQ(S(r.amounts.list_usd), "0.480000000");
  EXPECT_EQ(S(r.amounts.unit_price), "0.080000000");
}

TEST(TieredPrice, AveragesAndRoundsTheUnitPriceOfALineSpanningTiers) {
  auto snap = BaseWorld().Build();
  Rated r = RateOn(*snap, "bw", "45", "18");
  EXPECT_EQ(S(r.amounts.list_usd), "3.210000000");
  EXPECT_EQ(S(r.amounts.unit_price), "0.071333333");
  Rated all = RateOn(*snap, "bw", "60", "0");
  EXPECT_EQ(S(all.amounts.list_usd), "4.700000000");  // 1 + 3.2 + 0.5
}

TEST(TieredPrice, ALineEndingExactlyAtATierBoundaryUsesOneTier) {
  auto snap = BaseWorld().Build();
  Rated r = RateOn(*snap, "bw", "10", "0");
  EXPECT_EQ(S(r.amounts.list_usd), "1.000000000");
  EXPECT_EQ(S(r.amounts.unit_price), "0.100000000");
}

TEST(TieredPrice, AZeroQuantityLineShowsThePriceOfTheTierHoldingItsPosition) {
  auto snap = BaseWorld().Build();
  EXPECT_EQ(S(RateOn(*snap, "bw", "0", "0").amounts.unit_price), "0.100000000");
  EXPECT_EQ(S(RateOn(*snap, "bw", "0", "9.999999999").amounts.unit_price), "0.100000000");
  EXPECT_EQ(S(RateOn(*snap, "bw", "0", "10").amounts.unit_price), "0.080000000");
  EXPECT_EQ(S(RateOn(*snap, "bw", "0", "1000").amounts.unit_price), "0.050000000");
  Rated r = RateOn(*snap, "bw", "0", "10");
  EXPECT_TRUE(r.amounts.rated());
  EXPECT_EQ(S(r.amounts.list_usd), "0.000000000");
}

TEST(TieredPrice, RoundsTheSumOfTierProductsOnceNotEachProduct) {
  // 0.5 × 0.000000001 + 0.5 × 0.000000001: each product alone rounds to 0 (half-even tie), the
  // exact sum is 0.000000001.
  auto snap = World()
                  .Partner("p1", "111")
                  .Customer("c1", "US", "p1")
                  .Entitlement("e1", "c1")
                  .Table(Spec("tiny", {{"0", "0.000000001"}, {"0.5", "0.000000001"}}))
                  .Build();
  Rated r = RateOn(*snap, "tiny", "1", "0");
  EXPECT_EQ(S(r.amounts.list_usd), "0.000000001");
}

// ---------------------------------------------------------------------------------------------
// Rounding

TEST(Rounding, ListUsdTiesRoundHalfToEven) {
  auto snap = World()
                  .Partner("p1", "111")
                  .Customer("c1", "US", "p1")
                  .Entitlement("e1", "c1")
                  .FlatPrice("ip", "0.004")
                  .Build();
  EXPECT_EQ(S(RateOn(*snap, "ip", "1.000000125").amounts.list_usd), "0.004000000");
  EXPECT_EQ(S(RateOn(*snap, "ip", "1.000000375").amounts.list_usd), "0.004000002");
}

TEST(Rounding, PecUsdTiesRoundHalfToEven) {
  auto snap = World()
                  .Partner("p1", "111")
                  .Customer("c1", "US", "p1")
                  .Entitlement("e1", "c1")
                  .FlatPrice("ip", "0.004")
                  .Build();
  Rated r = RateOn(*snap, "ip", "24.0000075");
  EXPECT_EQ(S(r.amounts.list_usd), "0.096000030");
  EXPECT_EQ(S(r.amounts.pec_rate), "0.150000000");
  EXPECT_EQ(S(r.amounts.pec_usd), "0.014400004");
  EXPECT_EQ(S(r.amounts.billed_usd), "0.081600026");
  EXPECT_EQ(S(r.amounts.effective_unit_price), "0.003400000");
}

TEST(Rounding, EffectiveUnitPriceIsTheRoundedDiscountedUnitPrice) {
  auto snap = BaseWorld()
                  .Grant("g1", "e1", "/subscriptions/e1", "111", "owner", "2026-01-01T00:00:00Z")
                  .Build();
  Rated r = RateOn(*snap, "bw", "8", "4");
  EXPECT_EQ(S(r.amounts.effective_unit_price), "0.080750000");
  EXPECT_EQ(S(r.amounts.pec_usd), "0.114000000");
}

TEST(Currency, PecBcIsListBcMinusBilledBcNotTheConvertedPec) {
  auto snap = World()
                  .Partner("p1", "111")
                  .Customer("c1", "JP", "p1")
                  .Entitlement("e1", "c1")
                  .FlatPrice("m", "0.192", "JP")
                  .Rate("JPY", "2026-10", "150.123456789012")
                  .Build();
  Rated r = RateOn(*snap, "m", "1", "0", kVm1, "2026-10-20");
  EXPECT_EQ(r.amounts.currency.view(), "JPY");
  EXPECT_EQ(S(r.amounts.list_bc), "28.823703703");
  EXPECT_EQ(S(r.amounts.billed_bc), "24.500148148");
  EXPECT_EQ(S(r.amounts.pec_bc), "4.323555555");
  EXPECT_EQ(r.amounts.fx.ToString(), "150.123456789012");
  EXPECT_FALSE(r.amounts.fx_provisional);
}

// ---------------------------------------------------------------------------------------------
// PEC rules 1–3

World AoboWorld(Offer offer = Offer::kAzurePlan, bool active = true) {
  World w;
  w.Partner("p1", "111", active)
      .Customer("c1", "US", "p1")
      .Entitlement("e1", "c1", offer, /*aobo=*/true)
      .FlatPrice("vm", "1")
      .Table(Spec("tp", {{"0", "1"}}).Tags("Azure;Third Party"))
      .Table(Spec("ri", {{"0", "1"}}).Tags("reservations"))
      .Table(Spec("mkt", {{"0", "1"}}).Publisher("Canonical"))
      .Table(Spec("nopub", {{"0", "1"}}).Publisher(""));
  return w;
}

TEST(Pec, AnAzurePlanWithTheImpliedAoboGrantEarnsPec) {
  auto snap = AoboWorld().Build();
  Rated r = RateOn(*snap, "vm", "10");
  EXPECT_EQ(S(r.amounts.pec_rate), "0.150000000");
  EXPECT_EQ(S(r.amounts.pec_usd), "1.500000000");
  EXPECT_EQ(S(r.amounts.billed_usd), "8.500000000");
  EXPECT_FALSE(r.terms.pec_lost_candidate);
  EXPECT_FALSE(r.amounts.pec_lost);
}

TEST(Pec, LegacyAndSharedServicesOffersNeverEarnPecAndAreNotPecLost) {
  for (Offer offer : {Offer::kLegacy, Offer::kSharedServices}) {
    auto snap = AoboWorld(offer).Build();
    Rated r = RateOn(*snap, "vm", "10");
    EXPECT_EQ(S(r.amounts.pec_rate), "0.000000000");
    EXPECT_EQ(S(r.amounts.effective_unit_price), "1.000000000");
    EXPECT_FALSE(r.terms.pec_lost_candidate);
  }
}

TEST(Pec, ThirdPartyReservationsAndNonMicrosoftProductsNeverEarnPec) {
  auto snap = AoboWorld().Build();
  for (std::string_view meter : {"tp", "ri", "mkt", "nopub"}) {
    Rated r = RateOn(*snap, meter, "10");
    EXPECT_TRUE(r.amounts.rated()) << meter;
    EXPECT_EQ(S(r.amounts.pec_rate), "0.000000000") << meter;
    EXPECT_FALSE(r.terms.pec_lost_candidate) << meter;
  }
}

TEST(Pec, AnInactiveOrUnknownPartnerEarnsNoPec) {
  auto inactive = AoboWorld(Offer::kAzurePlan, /*active=*/false).Build();
  Rated r = RateOn(*inactive, "vm", "10");
  EXPECT_EQ(S(r.amounts.pec_rate), "0.000000000");
  EXPECT_FALSE(r.terms.pec_lost_candidate);

  auto orphan =
      World().Customer("c1", "US", "p9").Entitlement("e1", "c1").FlatPrice("vm", "1").Build();
  Rated o = RateOn(*orphan, "vm", "10");
  EXPECT_TRUE(o.amounts.rated());
  EXPECT_EQ(S(o.amounts.pec_rate), "0.000000000");
  EXPECT_FALSE(o.terms.pec_lost_candidate);
}

TEST(Pec, TheConfiguredRateIsUsed) {
  auto snap = AoboWorld().Build();
  RatingConfig config;
  config.pec_rate = Dec("0.2");
  Rated r = RateOn(*snap, "vm", "10", "0", kVm1, "2026-11-05", "e1", config);
  EXPECT_EQ(S(r.amounts.pec_usd), "2.000000000");
}

// ---------------------------------------------------------------------------------------------
// PEC rule 4: full-day access

// Whether the flat line of e1 on `date` earns PEC; rules 1–3 hold in BaseWorld, so a line that
// does not must be a pec_lost candidate.
template <typename W>
bool Access(W&& w, std::string_view date = "2026-11-06", std::string_view resource = kVm1,
            const RatingConfig& config = RatingConfig()) {
  auto snap = w.Build();
  LineTerms t = ResolveTerms(*snap, config, "e1", "flat", resource, Day(date));
  EXPECT_EQ(t.reason, UnratedReason::kNone);
  EXPECT_EQ(t.pec_rate.IsZero(), t.pec_lost_candidate);
  return !t.pec_rate.IsZero();
}

TEST(Access, AGrantCoveringTheWholeDayQualifies) {
  EXPECT_TRUE(Access(BaseWorld().Grant("g", "e1", "/subscriptions/e1", "111", "Owner",
                                       "2026-11-06T00:00:00Z", "2026-11-07T00:00:00Z")));
}

TEST(Access, AGrantEndingMidDayVoidsThatDay) {
  World w = BaseWorld().Grant("g", "e1", "/subscriptions/e1", "111", "owner",
                              "2026-01-01T00:00:00Z", "2026-11-06T15:00:00Z");
  EXPECT_FALSE(Access(std::move(w)));
  EXPECT_TRUE(Access(BaseWorld().Grant("g", "e1", "/subscriptions/e1", "111", "owner",
                                       "2026-01-01T00:00:00Z", "2026-11-06T15:00:00Z"),
                     "2026-11-05"));
}

TEST(Access, AGrantStartingMidDayVoidsThatDay) {
  EXPECT_FALSE(Access(
      BaseWorld().Grant("g", "e1", "/subscriptions/e1", "111", "owner", "2026-11-06T00:00:01Z")));
  EXPECT_TRUE(Access(
      BaseWorld().Grant("g", "e1", "/subscriptions/e1", "111", "owner", "2026-11-06T00:00:01Z"),
      "2026-11-07"));
}

TEST(Access, AGrantEndingAtTheDaysStartDoesNotCoverIt) {
  EXPECT_FALSE(Access(BaseWorld().Grant("g", "e1", "/subscriptions/e1", "111", "owner",
                                        "2026-01-01T00:00:00Z", "2026-11-06T00:00:00Z")));
}

TEST(Access, TheUnionOfTwoGrantsCanCoverADay) {
  World w = BaseWorld()
                .Grant("a", "e1", "/subscriptions/e1", "111", "owner", "2026-01-01T00:00:00Z",
                       "2026-11-06T12:00:00Z")
                .Grant("b", "e1", "/subscriptions/e1/resourceGroups/rg1", "333", "contributor",
                       "2026-11-06T12:00:00Z");
  EXPECT_TRUE(Access(std::move(w)));
}

TEST(Access, AGapBetweenTwoGrantsVoidsTheDay) {
  World w = BaseWorld()
                .Grant("a", "e1", "/subscriptions/e1", "111", "owner", "2026-01-01T00:00:00Z",
                       "2026-11-06T12:00:00Z")
                .Grant("b", "e1", "/subscriptions/e1", "111", "owner", "2026-11-06T12:00:01Z");
  EXPECT_FALSE(Access(std::move(w)));
}

TEST(Access, OverlappingGrantsListedInAnyOrderCoverTheDay) {
  // Sorted by id, "a" starts later than "z": the sweep must not depend on list order.
  World w = BaseWorld()
                .Grant("a", "e1", "/subscriptions/e1", "111", "owner", "2026-11-06T08:00:00Z")
                .Grant("m", "e1", "/subscriptions/e1", "111", "owner", "2026-11-06T04:00:00Z",
                       "2026-11-06T09:00:00Z")
                .Grant("z", "e1", "/subscriptions/e1", "111", "owner", "2026-11-01T00:00:00Z",
                       "2026-11-06T05:00:00Z");
  EXPECT_TRUE(Access(std::move(w)));
}

TEST(Access, ScopesMatchWholeSegmentsCaseInsensitively) {
  auto grant_rg1 = [] {
    return BaseWorld().Grant("g1", "e1", "/subscriptions/E1/resourcegroups/RG1", "333",
                             "contributor", "2026-01-01T00:00:00Z");
  };
  EXPECT_TRUE(Access(grant_rg1(), "2026-11-06", kVm1));
  EXPECT_FALSE(Access(grant_rg1(), "2026-11-06", kVm2)) << "rg1 is not an ancestor of rg10";
  EXPECT_TRUE(Access(BaseWorld().Grant("g1", "e1", std::string(kVm1) + "/", "111", "owner",
                                       "2026-01-01T00:00:00Z"),
                     "2026-11-06", kVm1))
      << "the resource id itself";
}

TEST(Access, ScopeCoversComparesSegments) {
  EXPECT_TRUE(ScopeCovers("/subscriptions/s", "/subscriptions/S/resourceGroups/g"));
  EXPECT_TRUE(ScopeCovers("/subscriptions/s/", "/subscriptions/s"));
  EXPECT_TRUE(ScopeCovers("//subscriptions//s", "/subscriptions/s/x"));
  EXPECT_FALSE(
      ScopeCovers("/subscriptions/s/resourcegroups/rg1", "/subscriptions/s/resourcegroups/rg10/x"));
  EXPECT_FALSE(ScopeCovers("/subscriptions/s/x", "/subscriptions/s"));
  EXPECT_FALSE(ScopeCovers("", "/subscriptions/s"));
}

TEST(Access, AResellerGrantQualifiesButAnotherMpnDoesNot) {
  EXPECT_TRUE(Access(
      BaseWorld().Grant("g", "e1", "/subscriptions/e1", "333", "owner", "2026-01-01T00:00:00Z")));
  EXPECT_FALSE(Access(
      BaseWorld().Grant("g", "e1", "/subscriptions/e1", "999", "owner", "2026-01-01T00:00:00Z")));
}

TEST(Access, OnlyEligibleRolesCountAndTheSetIsConfigurable) {
  auto reader = [] {
    return BaseWorld().Grant("g", "e1", "/subscriptions/e1", "111", "Reader",
                             "2026-01-01T00:00:00Z");
  };
  EXPECT_FALSE(Access(reader()));
  RatingConfig config;
  config.eligible_roles = {"READER"};
  EXPECT_TRUE(Access(reader(), "2026-11-06", kVm1, config));
}

TEST(Access, RemovingAdminRightsEndsTheImpliedGrant) {
  World w = AoboWorld();
  Grant g;
  g.grant_id = "aobo:e1";
  g.end = testing::Ts("2026-11-06T15:00:00Z");
  ASSERT_TRUE(w.builder().UpsertGrant(g).ok());
  auto snap = w.Build();
  EXPECT_FALSE(RateOn(*snap, "vm", "1", "0", kVm1, "2026-11-05").terms.pec_lost_candidate);
  Rated lost = RateOn(*snap, "vm", "1", "0", kVm1, "2026-11-06");
  EXPECT_TRUE(lost.terms.pec_lost_candidate);
  EXPECT_EQ(S(lost.amounts.pec_rate), "0.000000000");
}

TEST(Access, TheImpliedGrantStartsAtCreatedAt) {
  World w;
  w.Partner("p1", "111")
      .Customer("c1", "US", "p1")
      .Entitlement("e1", "c1", Offer::kAzurePlan, true, "2026-11-06T10:00:00Z")
      .FlatPrice("vm", "1");
  auto snap = w.Build();
  EXPECT_TRUE(RateOn(*snap, "vm", "1", "0", kVm1, "2026-11-06").terms.pec_lost_candidate);
  EXPECT_FALSE(RateOn(*snap, "vm", "1", "0", kVm1, "2026-11-07").terms.pec_lost_candidate);
}

TEST(Access, TheImpliedGrantCoversOnlyItsOwnSubscription) {
  auto snap = AoboWorld().Build();
  Rated r = RateOn(*snap, "vm", "1", "0", "/subscriptions/other/resourcegroups/x");
  EXPECT_TRUE(r.terms.pec_lost_candidate);
}

TEST(PecLost, ARatedCandidateCarriesTheCreditItWouldHaveEarned) {
  World w = BaseWorld();
  w.Customer("c1", "NO", "p1", "333").FlatPrice("flat", "0.10", "NO").Rate("NOK", "2026-11", "10");
  auto snap = w.Build();
  Rated r = RateOn(*snap, "flat", "10");
  EXPECT_TRUE(r.terms.pec_lost_candidate);
  EXPECT_TRUE(r.amounts.pec_lost);
  EXPECT_EQ(S(r.amounts.list_bc), "10.000000000");
  EXPECT_EQ(S(r.amounts.lost_pec_usd), "0.150000000");
  EXPECT_EQ(S(r.amounts.lost_pec_bc), "1.500000000");
  EXPECT_EQ(S(r.amounts.pec_bc), "0.000000000");
}

// ---------------------------------------------------------------------------------------------
// Unrated reasons and what they show

TEST(Unrated, UnknownEntitlementOrCustomerShowsNothing) {
  auto snap = World().Entitlement("e1", "ghost").FlatPrice("flat", "1").Build();
  for (std::string_view ent : {"e1", "e404"}) {
    Rated r = RateOn(*snap, "flat", "1", "0", kVm1, "2026-11-05", ent);
    EXPECT_EQ(r.amounts.reason, UnratedReason::kUnknownEntitlement);
    EXPECT_EQ(UnratedReasonName(r.amounts.reason), "unknown_entitlement");
    EXPECT_FALSE(r.amounts.prices_shown || r.amounts.usd_shown || r.amounts.fx_shown ||
                 r.amounts.bc_shown || r.amounts.fx_provisional);
    EXPECT_TRUE(r.amounts.currency.empty());
  }
}

TEST(Unrated, AnUnpricedLineShowsNullPricesPecRateAndFx) {
  auto snap = BaseWorld().Build();
  for (auto [meter, date] : {std::pair{"nope", "2026-11-05"}, std::pair{"flat", "2025-12-31"}}) {
    Rated r = RateOn(*snap, meter, "1", "0", kVm1, date);
    EXPECT_EQ(r.amounts.reason, UnratedReason::kUnpriced);
    EXPECT_FALSE(r.amounts.prices_shown || r.amounts.usd_shown || r.amounts.fx_shown ||
                 r.amounts.bc_shown || r.amounts.fx_provisional);
    EXPECT_EQ(r.amounts.currency.view(), "USD");
  }
}

TEST(Unrated, FxMissingShowsUsdFieldsButNoFxOrBillingAmounts) {
  auto snap = World()
                  .Partner("p1", "111")
                  .Customer("c1", "SE", "p1")
                  .Entitlement("e1", "c1")
                  .FlatPrice("m", "0.192", "SE")
                  .Build();
  Rated r = RateOn(*snap, "m", "5", "0", kVm1, "2026-11-10");
  EXPECT_EQ(r.amounts.reason, UnratedReason::kFxMissing);
  EXPECT_TRUE(r.amounts.prices_shown);
  EXPECT_TRUE(r.amounts.usd_shown);
  EXPECT_FALSE(r.amounts.fx_shown);
  EXPECT_FALSE(r.amounts.bc_shown);
  EXPECT_FALSE(r.amounts.fx_provisional);
  EXPECT_FALSE(r.amounts.pec_lost);
  EXPECT_EQ(S(r.amounts.unit_price), "0.192000000");
  EXPECT_EQ(S(r.amounts.effective_unit_price), "0.163200000");
  EXPECT_EQ(S(r.amounts.list_usd), "0.960000000");
  EXPECT_EQ(S(r.amounts.pec_usd), "0.144000000");
  EXPECT_EQ(S(r.amounts.billed_usd), "0.816000000");
  EXPECT_EQ(r.amounts.currency.view(), "SEK");
}

TEST(Unrated, UnpricedOutranksFxMissing) {
  auto snap =
      World().Partner("p1", "111").Customer("c1", "SE", "p1").Entitlement("e1", "c1").Build();
  EXPECT_EQ(RateOn(*snap, "m", "5").amounts.reason, UnratedReason::kUnpriced);
}

TEST(Unrated, ListUsdAboveTenToTheFifteenthIsOverflowWithPricesAndFxShown) {
  auto snap = World()
                  .Partner("p1", "111")
                  .Customer("c1", "US", "p1")
                  .Entitlement("e1", "c1")
                  .FlatPrice("m", "2")
                  .Build();
  Rated r = RateOn(*snap, "m", "1000000000000000");
  EXPECT_EQ(r.amounts.reason, UnratedReason::kOverflow);
  EXPECT_EQ(UnratedReasonName(r.amounts.reason), "overflow");
  EXPECT_TRUE(r.amounts.prices_shown);
  EXPECT_TRUE(r.amounts.fx_shown);
  EXPECT_EQ(r.amounts.fx, FxRate::One());
  EXPECT_FALSE(r.amounts.usd_shown);
  EXPECT_FALSE(r.amounts.bc_shown);
  EXPECT_FALSE(r.amounts.fx_provisional);
  EXPECT_EQ(S(r.amounts.unit_price), "2.000000000");
  // Exactly 10^15 is still rated.
  Rated edge = RateOn(*snap, "m", "500000000000000");
  EXPECT_TRUE(edge.amounts.rated());
  EXPECT_EQ(S(edge.amounts.list_usd), "1000000000000000.000000000");
}

TEST(Unrated, ListBcAboveTenToTheFifteenthIsOverflow) {
  auto snap = World()
                  .Partner("p1", "111")
                  .Customer("c1", "JP", "p1")
                  .Entitlement("e1", "c1")
                  .FlatPrice("m", "1", "JP")
                  .Rate("JPY", "2026-10", "151.5")
                  .Build();
  Rated r = RateOn(*snap, "m", "100000000000000");  // list_usd 10^14, list_bc 1.515 × 10^16
  EXPECT_EQ(r.amounts.reason, UnratedReason::kOverflow);
  EXPECT_TRUE(r.amounts.fx_shown);
  EXPECT_EQ(r.amounts.fx, Fx("151.5"));
  EXPECT_FALSE(r.amounts.usd_shown);
  EXPECT_FALSE(r.amounts.bc_shown);
  EXPECT_FALSE(r.amounts.fx_provisional) << "provisional rate, but unrated lines show false";
}

TEST(Unrated, AProductBeyond128BitsIsOverflowNotACrash) {
  auto snap = World()
                  .Partner("p1", "111")
                  .Customer("c1", "US", "p1")
                  .Entitlement("e1", "c1")
                  .Table(Spec("m", {{"0", "90000000000000000000"}, {"1", "1"}}))
                  .Build();
  Rated r = RateOn(*snap, "m", "90000000000000000000", "0");
  EXPECT_EQ(r.amounts.reason, UnratedReason::kOverflow);
  EXPECT_TRUE(r.amounts.prices_shown);
}

// ---------------------------------------------------------------------------------------------
// FX

TEST(Fx, AMissingMonthUsesTheLatestEarlierRateAndIsProvisional) {
  World w;
  w.Partner("p1", "111")
      .Customer("c1", "NO", "p1")
      .Entitlement("e1", "c1")
      .FlatPrice("m", "0.192", "NO")
      .Rate("NOK", "2026-10", "10.5");
  auto snap = w.Build();
  Rated nov = RateOn(*snap, "m", "10", "0", kVm1, "2026-11-02");
  EXPECT_TRUE(nov.amounts.rated());
  EXPECT_TRUE(nov.amounts.fx_provisional);
  EXPECT_EQ(S(nov.amounts.list_bc), "20.160000000");
  EXPECT_EQ(S(nov.amounts.billed_bc), "17.136000000");
  EXPECT_EQ(S(nov.amounts.pec_bc), "3.024000000");
  Rated oct = RateOn(*snap, "m", "2", "0", kVm1, "2026-10-31");
  EXPECT_FALSE(oct.amounts.fx_provisional);

  // Loading November's rate replaces the provisional one.
  auto next = World(snap).Rate("NOK", "2026-11", "11").Build();
  Rated fin = RateOn(*next, "m", "10", "0", kVm1, "2026-11-02");
  EXPECT_FALSE(fin.amounts.fx_provisional);
  EXPECT_EQ(S(fin.amounts.list_bc), "21.120000000");
}

TEST(Fx, UsdCustomersAlwaysUseExactlyOne) {
  auto snap = BaseWorld().Rate("USD", "2026-11", "3").Build();
  Rated r = RateOn(*snap, "flat", "10");
  EXPECT_EQ(r.amounts.fx, FxRate::One());
  EXPECT_EQ(r.amounts.list_bc, r.amounts.list_usd);
}

TEST(Fx, TheCurrencyOverrideChangesTheCurrencyNotTheMarket) {
  World w;
  w.Partner("p1", "111")
      .Customer("c1", "NO", "p1", std::nullopt, "EUR")
      .Entitlement("e1", "c1")
      .FlatPrice("m", "0.192", "NO")
      .FlatPrice("m", "9", "US")
      .Rate("EUR", "2026-11", "0.93");
  auto snap = w.Build();
  Rated r = RateOn(*snap, "m", "4", "0", kVm1, "2026-11-11");
  EXPECT_EQ(r.amounts.currency.view(), "EUR");
  EXPECT_EQ(S(r.amounts.list_usd), "0.768000000");
  EXPECT_EQ(S(r.amounts.list_bc), "0.714240000");
  EXPECT_EQ(S(r.amounts.billed_bc), "0.607104000");
  EXPECT_EQ(S(r.amounts.pec_bc), "0.107136000");
}

TEST(PriceVersions, EachLineUsesTheTableApplicableOnItsOwnDate) {
  World w;
  w.Partner("p1", "111")
      .Customer("c1", "US", "p1")
      .Entitlement("e1", "c1")
      .Table(Spec("sql", {{"0", "0.20"}}).Start("2026-01-01"))
      .Table(Spec("sql", {{"0", "0.25"}}).Start("2026-11-10"));
  auto snap = w.Build();
  EXPECT_EQ(S(RateOn(*snap, "sql", "10", "0", kVm1, "2026-11-09").amounts.list_usd), "2.000000000");
  EXPECT_EQ(S(RateOn(*snap, "sql", "10", "0", kVm1, "2026-11-10").amounts.list_usd), "2.500000000");
}

}  // namespace
}  // namespace meterd::rating
