// The reference snapshot and its builder: normalization, validation of upserts (§2, §3, §4.3,
// §8.9, §8.11, §8.22, §8.23), lookups (tier table versions, FX fallback, implied grants) and
// the change sets the daemon re-rates from.

#include "rating/reference.h"

#include <gtest/gtest.h>

#include "rating/price_sheet.h"
#include "tests/rating/engine_test_util.h"

namespace meterd::rating {
namespace {

using testing::Day;
using testing::Dec;
using testing::Fx;
using testing::Mon;
using testing::TableSpec;
using testing::Ts;
using testing::World;

Customer MakeCustomer(std::string id, std::string country) {
  Customer c;
  c.customer_id = std::move(id);
  c.name = "Customer";
  c.country = std::move(country);
  c.partner_id = "p1";
  return c;
}

TEST(ReferenceBuilder, LowercasesIdsAndUppercasesCodes) {
  ReferenceBuilder b(nullptr);
  Customer c = MakeCustomer("C-ABC", "no");
  c.partner_id = "P-X";
  c.reseller_mpn_id = "MPN-R";
  c.currency = "eur";
  ASSERT_TRUE(b.UpsertCustomer(c).ok());
  auto snap = std::move(b).Build().snapshot;
  const Customer* got = snap->FindCustomer("c-abc");
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->customer_id, "c-abc");
  EXPECT_EQ(got->partner_id, "p-x");
  EXPECT_EQ(got->country, "NO");
  EXPECT_EQ(*got->reseller_mpn_id, "mpn-r");
  EXPECT_EQ(*got->currency, "EUR");
  EXPECT_EQ(snap->FindCustomer("C-ABC"), got) << "lookups take any case";
}

TEST(ReferenceBuilder, RejectsACustomerWhoseCountryIsNotInTheMarketTable) {
  ReferenceBuilder b(nullptr);
  Status s = b.UpsertCustomer(MakeCustomer("c1", "XX"));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("country"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("XX"), std::string::npos) << s.message();
  auto snap = std::move(b).Build().snapshot;
  EXPECT_EQ(snap->FindCustomer("c1"), nullptr);
}

TEST(ReferenceBuilder, RejectsAnUnknownCurrencyOverride) {
  ReferenceBuilder b(nullptr);
  Customer c = MakeCustomer("c1", "NO");
  c.currency = "ZZZ";
  EXPECT_EQ(b.UpsertCustomer(c).code(), StatusCode::kInvalidArgument);
}

TEST(ReferenceSnapshot, BillingCurrencyIsTheOverrideElseTheCountrysCurrency) {
  auto snap = World()
                  .Partner("p1", "111")
                  .Customer("a", "NO", "p1")
                  .Customer("b", "NO", "p1", std::nullopt, "EUR")
                  .Customer("c", "JP", "p1")
                  .Build();
  EXPECT_EQ(snap->BillingCurrency(*snap->FindCustomer("a")), "NOK");
  EXPECT_EQ(snap->BillingCurrency(*snap->FindCustomer("b")), "EUR");
  EXPECT_EQ(snap->BillingCurrency(*snap->FindCustomer("c")), "JPY");
}

TEST(ReferenceBuilder, AcceptsReferencesToObjectsNotYetKnown) {
  auto snap = World().Customer("c1", "US", "nobody").Entitlement("e1", "c1").Build();
  EXPECT_NE(snap->FindEntitlement("e1"), nullptr);
  EXPECT_EQ(snap->FindPartner("nobody"), nullptr);
}

TEST(ReferenceBuilder, RejectsAGrantWhoseScopeIsNotUnderItsSubscription) {
  ReferenceBuilder b(nullptr);
  auto grant = [](std::string scope) {
    return World::MakeGrant("g1", "E1", std::move(scope), "111", "Owner", "2026-01-01T00:00:00Z",
                            std::nullopt);
  };
  EXPECT_EQ(b.UpsertGrant(grant("/subscriptions/e2")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b.UpsertGrant(grant("/subscriptions/e10/resourceGroups/x")).code(),
            StatusCode::kInvalidArgument)
      << "whole segments: e10 is not e1";
  EXPECT_EQ(b.UpsertGrant(grant("/resourceGroups/rg1")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b.UpsertGrant(grant("")).code(), StatusCode::kInvalidArgument);
  Status s = b.UpsertGrant(grant("/tenants/e1"));
  EXPECT_NE(s.message().find("/subscriptions/e1"), std::string::npos) << s.message();
}

TEST(ReferenceBuilder, NormalizesGrantScopesIgnoringCaseTrailingSlashesAndEmptySegments) {
  ReferenceBuilder b(nullptr);
  ASSERT_TRUE(b.UpsertGrant(World::MakeGrant("G1", "E1", "//Subscriptions/E1//resourceGroups/RG1/",
                                             "111", "Owner", "2026-01-01T00:00:00Z", std::nullopt))
                  .ok());
  auto snap = std::move(b).Build().snapshot;
  std::optional<Grant> g = snap->FindGrant("g1");
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->scope, "/subscriptions/e1/resourcegroups/rg1");
  EXPECT_EQ(g->role, "owner");
  ASSERT_EQ(snap->ExplicitGrantsOf("E1").size(), 1u);
}

TEST(ReferenceBuilder, RejectsAGrantThatEndsAtOrBeforeItsStart) {
  ReferenceBuilder b(nullptr);
  EXPECT_EQ(b.UpsertGrant(World::MakeGrant("g1", "e1", "/subscriptions/e1", "111", "owner",
                                           "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"))
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(b.UpsertGrant(World::MakeGrant("g1", "e1", "/subscriptions/e1", "111", "owner",
                                           "2026-01-02T00:00:00Z", "2026-01-01T00:00:00Z"))
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(b.UpsertGrant(World::MakeGrant("g1", "e1", "/subscriptions/e1", "111", "owner",
                                             "2026-01-01T00:00:00Z", "2026-01-01T00:00:01Z"))
                  .ok());
}

TEST(ReferenceBuilder, MovingAGrantToAnotherEntitlementReindexesIt) {
  auto base = World()
                  .Grant("g1", "e1", "/subscriptions/e1", "111", "owner", "2026-01-01T00:00:00Z")
                  .Build();
  World w(base);
  w.Grant("g1", "e2", "/subscriptions/e2", "111", "owner", "2026-01-01T00:00:00Z");
  auto built = w.BuildWithChange();
  EXPECT_TRUE(built.snapshot->ExplicitGrantsOf("e1").empty());
  EXPECT_EQ(built.snapshot->ExplicitGrantsOf("e2").size(), 1u);
  EXPECT_EQ(built.change.entitlement_ids, (std::vector<std::string>{"e1", "e2"}));
}

TEST(ReferenceSnapshot, AnAzurePlanEntitlementWithAoboImpliesAnOwnerGrantForThePartner) {
  auto snap = World()
                  .Partner("p1", "1111111")
                  .Customer("c1", "US", "p1")
                  .Entitlement("E1", "c1", Offer::kAzurePlan, true, "2026-01-15T10:00:00Z")
                  .Build();
  std::optional<Grant> g = snap->FindGrant("AOBO:E1");
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->grant_id, "aobo:e1");
  EXPECT_EQ(g->scope, "/subscriptions/e1");
  EXPECT_EQ(g->principal_mpn_id, "1111111");
  EXPECT_EQ(g->role, "owner");
  EXPECT_EQ(g->start, Ts("2026-01-15T10:00:00Z"));
  EXPECT_FALSE(g->end.has_value());
  EXPECT_EQ(snap->GrantsOf("e1").size(), 1u);
}

TEST(ReferenceSnapshot, LegacyOrAoboFalseEntitlementsImplyNoGrant) {
  auto snap = World()
                  .Entitlement("e1", "c1", Offer::kLegacy, true)
                  .Entitlement("e2", "c1", Offer::kAzurePlan, false)
                  .Build();
  EXPECT_FALSE(snap->ImpliedGrantOf("e1").has_value());
  EXPECT_FALSE(snap->ImpliedGrantOf("e2").has_value());
  EXPECT_FALSE(snap->FindGrant("aobo:e2").has_value());
}

TEST(ReferenceBuilder, PuttingTheAoboRecordTakesOnlyItsEndAndWithoutEndClearsIt) {
  auto base = World().Entitlement("e1", "c1").Build();
  World w(base);
  // Other fields of the record are ignored, even a scope outside the subscription.
  ASSERT_TRUE(w.builder()
                  .UpsertGrant(World::MakeGrant("aobo:E1", "zzz", "/elsewhere", "999", "reader",
                                                "2030-01-01T00:00:00Z", "2026-11-06T15:00:00Z"))
                  .ok());
  auto built = w.BuildWithChange();
  std::optional<Grant> g = built.snapshot->FindGrant("aobo:e1");
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->end, Ts("2026-11-06T15:00:00Z"));
  EXPECT_EQ(g->start, Ts("2026-01-01T00:00:00Z"));
  EXPECT_EQ(g->role, "owner");
  EXPECT_EQ(built.change.entitlement_ids, std::vector<std::string>{"e1"});

  World w2(built.snapshot);
  Grant clear;
  clear.grant_id = "aobo:e1";
  ASSERT_TRUE(w2.builder().UpsertGrant(clear).ok());
  auto snap2 = w2.Build();
  EXPECT_FALSE(snap2->FindGrant("aobo:e1")->end.has_value());
}

TEST(ReferenceBuilder, AnAoboRecordIsAcceptedAndIgnoredWhileThereIsNoImpliedGrant) {
  auto base = World().Entitlement("e1", "c1", Offer::kAzurePlan, false).Build();
  World w(base);
  Grant g;
  g.grant_id = "aobo:e1";
  g.end = Ts("2026-11-06T15:00:00Z");
  EXPECT_TRUE(w.builder().UpsertGrant(g).ok());
  g.grant_id = "aobo:unknown";
  EXPECT_TRUE(w.builder().UpsertGrant(g).ok());
  // Turning aobo on later does not resurrect the ignored end.
  w.Entitlement("e1", "c1", Offer::kAzurePlan, true);
  auto built = w.BuildWithChange();
  EXPECT_FALSE(built.snapshot->FindGrant("aobo:e1")->end.has_value());
  EXPECT_FALSE(built.snapshot->FindGrant("aobo:unknown").has_value());
}

TEST(ReferenceBuilder, ReputtingTheEntitlementWithAoboFalseRemovesTheImpliedGrantAndItsEnd) {
  World w;
  w.Entitlement("e1", "c1");
  Grant g;
  g.grant_id = "aobo:e1";
  g.end = Ts("2026-11-06T15:00:00Z");
  ASSERT_TRUE(w.builder().UpsertGrant(g).ok());
  w.Entitlement("e1", "c1", Offer::kAzurePlan, false);
  auto s1 = w.Build();
  EXPECT_FALSE(s1->FindGrant("aobo:e1").has_value());
  auto s2 = World(s1).Entitlement("e1", "c1", Offer::kAzurePlan, true).Build();
  ASSERT_TRUE(s2->FindGrant("aobo:e1").has_value());
  EXPECT_FALSE(s2->FindGrant("aobo:e1")->end.has_value());
}

TEST(ReferenceSnapshot, PicksTheLatestEffectiveStartAmongApplicableVersions) {
  TableSpec v1 = testing::Spec("m", {{"0", "0.20"}}).Start("2026-01-01");
  TableSpec v2 = testing::Spec("m", {{"0", "0.25"}}).Start("2026-11-10");
  TableSpec v3 = testing::Spec("m", {{"0", "0.30"}}).Start("2026-12-01").End("2026-12-15");
  auto snap = World().Table(v1).Table(v3).Table(v2).Build();
  auto price = [&](std::string_view d) -> std::string {
    const TierTable* t = snap->FindTierTable("us", "M", Day(d));
    return t ? t->tiers[0].unit_price.ToString() : "none";
  };
  EXPECT_EQ(price("2025-12-31"), "none");
  EXPECT_EQ(price("2026-01-01"), "0.200000000");
  EXPECT_EQ(price("2026-11-09"), "0.200000000");
  EXPECT_EQ(price("2026-11-10"), "0.250000000");
  EXPECT_EQ(price("2026-12-15"), "0.300000000") << "effective_end is inclusive";
  EXPECT_EQ(price("2026-12-16"), "0.250000000");
  EXPECT_EQ(snap->FindTierTable("GB", "m", Day("2026-11-10")), nullptr) << "market matters";
}

TEST(ReferenceSnapshot, AVersionThatHasEndedFallsBackToAnOlderOpenOne) {
  TableSpec v1 = testing::Spec("m", {{"0", "1"}}).Start("2026-01-01");
  TableSpec v2 = testing::Spec("m", {{"0", "2"}}).Start("2026-06-01").End("2026-06-30");
  auto snap = World().Table(v1).Table(v2).Build();
  EXPECT_EQ(snap->FindTierTable("US", "m", Day("2026-06-30"))->tiers[0].unit_price, Dec("2"));
  EXPECT_EQ(snap->FindTierTable("US", "m", Day("2026-07-01"))->tiers[0].unit_price, Dec("1"));
}

TEST(ReferenceSnapshot, TierTableKeepsLowestTierCategoryAndPecEligibility) {
  TableSpec t = testing::Spec("bw", {{"10", "0.08"}, {"0", "0.10"}, {"50", "0.05"}});
  t.category = "Bandwidth";
  TableSpec third = testing::Spec("tp", {{"0", "0.5"}}).Tags("Azure; third PARTY");
  TableSpec res = testing::Spec("rs", {{"0", "0.5"}}).Tags("Reservations");
  TableSpec mkt = testing::Spec("mk", {{"0", "0.5"}}).Publisher("Canonical");
  TableSpec empty_pub = testing::Spec("ep", {{"0", "0.5"}}).Publisher("");
  TableSpec ms = testing::Spec("ms", {{"0", "0.5"}}).Tags("").Publisher("MICROSOFT");
  auto snap =
      World().Table(t).Table(third).Table(res).Table(mkt).Table(empty_pub).Table(ms).Build();
  const TierTable* bw = snap->FindTierTable("US", "bw", Day("2026-11-01"));
  ASSERT_NE(bw, nullptr);
  ASSERT_EQ(bw->tiers.size(), 3u);
  EXPECT_EQ(bw->tiers[0].min, Dec("0"));
  EXPECT_EQ(bw->tiers[1].min, Dec("10"));
  EXPECT_EQ(bw->tiers[2].unit_price, Dec("0.05"));
  EXPECT_EQ(bw->meter_category, "Bandwidth");
  EXPECT_TRUE(bw->pec_eligible_product);
  EXPECT_FALSE(snap->FindTierTable("US", "tp", Day("2026-11-01"))->pec_eligible_product);
  EXPECT_FALSE(snap->FindTierTable("US", "rs", Day("2026-11-01"))->pec_eligible_product);
  EXPECT_FALSE(snap->FindTierTable("US", "mk", Day("2026-11-01"))->pec_eligible_product);
  EXPECT_FALSE(snap->FindTierTable("US", "ep", Day("2026-11-01"))->pec_eligible_product);
  EXPECT_TRUE(snap->FindTierTable("US", "ms", Day("2026-11-01"))->pec_eligible_product);
}

TEST(PriceUpload, RejectsATableWholeWhenItsLowestTierIsNotZeroAndAppliesTheOthers) {
  TableSpec bad = testing::Spec("bad", {{"5", "0.1"}, {"10", "0.2"}});
  TableSpec good = testing::Spec("good", {{"0", "0.1"}});
  ReferenceBuilder b(nullptr);
  PriceUploadResult r = b.ApplyPriceUpload(testing::SheetOf({bad, good}));
  EXPECT_EQ(r.upserted, 1);
  EXPECT_EQ(r.rejected, 2);
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0].line, 2);
  EXPECT_EQ(r.errors[1].line, 3);
  EXPECT_EQ(r.errors[0].error, "invalid_table");
  auto built = std::move(b).Build();
  EXPECT_EQ(built.snapshot->FindTierTable("US", "bad", Day("2026-02-01")), nullptr);
  EXPECT_NE(built.snapshot->FindTierTable("US", "good", Day("2026-02-01")), nullptr);
  ASSERT_EQ(built.change.price_keys.size(), 1u);
  EXPECT_EQ(built.change.price_keys[0].meter_id, "good");
}

TEST(PriceUpload, RejectsATableWhoseRowsDisagreeOnPublisherOrTagsOrEnd) {
  ReferenceBuilder b(nullptr);
  PriceSheet sheet = testing::SheetOf({testing::Spec("m", {{"0", "0.1"}, {"10", "0.05"}})});
  sheet.rows[1].publisher = "Contoso";
  PriceUploadResult r = b.ApplyPriceUpload(sheet);
  EXPECT_EQ(r.upserted, 0);
  EXPECT_EQ(r.rejected, 2);
}

TEST(PriceUpload, ANonUsdRowRejectsItsWholeTable) {
  ReferenceBuilder b(nullptr);
  PriceSheet sheet = testing::SheetOf(
      {testing::Spec("m", {{"0", "0.1"}, {"10", "0.05"}}), testing::Spec("n", {{"0", "0.1"}})});
  sheet.rows[1].currency = "EUR";
  PriceUploadResult r = b.ApplyPriceUpload(sheet);
  EXPECT_EQ(r.upserted, 1);
  EXPECT_EQ(r.rejected, 2);
  EXPECT_EQ(r.errors[0].error, "table_rejected");
}

TEST(PriceUpload, AnUnparsableRowWithAReadableKeyRejectsItsTable) {
  ReferenceBuilder b(nullptr);
  PriceSheet sheet =
      testing::SheetOf({testing::Spec("m", {{"0", "0.1"}}), testing::Spec("n", {{"0", "0.1"}})});
  PriceRowProblem p;
  p.line = 9;
  p.error = PriceRowError::kBadUnitPrice;
  p.detail = "UnitPrice 'abc'";
  p.market = "US";
  p.meter_id = "m";
  p.effective_start = Day("2026-01-01");
  sheet.problems.push_back(p);
  PriceRowProblem q;
  q.line = 10;
  q.error = PriceRowError::kFieldCount;
  sheet.problems.push_back(q);
  PriceUploadResult r = b.ApplyPriceUpload(sheet);
  EXPECT_EQ(r.upserted, 1);
  EXPECT_EQ(r.rejected, 3);
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_EQ(r.errors[0].line, 2);
  EXPECT_EQ(r.errors[1].line, 9);
  EXPECT_EQ(r.errors[1].error, "bad_unit_price");
  EXPECT_EQ(r.errors[2].error, "field_count");
  auto snap = std::move(b).Build().snapshot;
  EXPECT_EQ(snap->FindTierTable("US", "m", Day("2026-02-01")), nullptr);
}

TEST(PriceUpload, ChecksTheTableAsMergedWithEarlierUploads) {
  auto base = World().Table(testing::Spec("m", {{"0", "0.1"}})).Build();
  // Adding a tier with another publisher would make the stored table inconsistent.
  ReferenceBuilder b(base);
  PriceUploadResult r = b.ApplyPriceUpload(
      testing::SheetOf({testing::Spec("m", {{"10", "0.05"}}).Publisher("Contoso")}));
  EXPECT_EQ(r.rejected, 1);
  // A consistent extra tier merges into the stored table.
  r = b.ApplyPriceUpload(testing::SheetOf({testing::Spec("m", {{"10", "0.05"}})}));
  EXPECT_EQ(r.upserted, 1);
  EXPECT_EQ(r.rejected, 0);
  auto snap = std::move(b).Build().snapshot;
  const TierTable* t = snap->FindTierTable("US", "m", Day("2026-02-01"));
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(t->tiers.size(), 2u);
  EXPECT_EQ(t->tiers[1].unit_price, Dec("0.05"));
  // The base snapshot is untouched.
  EXPECT_EQ(base->FindTierTable("US", "m", Day("2026-02-01"))->tiers.size(), 1u);
}

TEST(PriceUpload, ARepeatedKeyWithinAnUploadIsAnUpsertTheLastRowWins) {
  ReferenceBuilder b(nullptr);
  PriceSheet sheet = testing::SheetOf({testing::Spec("m", {{"0", "0.1"}, {"0", "0.3"}})});
  PriceUploadResult r = b.ApplyPriceUpload(sheet);
  EXPECT_EQ(r.rejected, 0);
  EXPECT_EQ(r.upserted, 2);
  auto snap = std::move(b).Build().snapshot;
  EXPECT_EQ(snap->FindTierTable("US", "m", Day("2026-02-01"))->tiers[0].unit_price, Dec("0.3"));
}

TEST(ReferenceSnapshot, FxFallsBackToTheLatestEarlierMonthAsProvisional) {
  auto snap = World().Rate("NOK", "2026-09", "10.1").Rate("nok", "2026-10", "10.5").Build();
  std::optional<FxLookup> oct = snap->FindFx("NOK", Mon("2026-10"));
  ASSERT_TRUE(oct.has_value());
  EXPECT_EQ(oct->rate, Fx("10.5"));
  EXPECT_FALSE(oct->provisional);
  std::optional<FxLookup> dec = snap->FindFx("NOK", Mon("2026-12"));
  ASSERT_TRUE(dec.has_value());
  EXPECT_EQ(dec->rate, Fx("10.5"));
  EXPECT_TRUE(dec->provisional);
  EXPECT_EQ(dec->month, Mon("2026-10"));
  EXPECT_FALSE(snap->FindFx("NOK", Mon("2026-08")).has_value());
  EXPECT_FALSE(snap->FindFx("SEK", Mon("2026-10")).has_value());
}

TEST(ReferenceBuilder, LoadingAUsdRateChangesNothing) {
  World w;
  w.Rate("USD", "2026-11", "2");
  auto built = w.BuildWithChange();
  EXPECT_TRUE(built.change.empty());
  std::optional<FxLookup> usd = built.snapshot->FindFx("USD", Mon("2026-11"));
  ASSERT_TRUE(usd.has_value());
  EXPECT_EQ(usd->rate, FxRate::One());
  EXPECT_FALSE(usd->provisional);
}

TEST(ReferenceBuilder, RejectsANonPositiveRateAndABadCurrencyCode) {
  ReferenceBuilder b(nullptr);
  EXPECT_FALSE(b.UpsertFx("NOK", Mon("2026-11"), FxRate()).ok());
  EXPECT_FALSE(b.UpsertFx("NOKK", Mon("2026-11"), Fx("1")).ok());
}

TEST(ReferenceBuilder, FxFromTextAcceptsTwelveDigitsJudgedOnTheValue) {
  ReferenceBuilder b(nullptr);
  EXPECT_TRUE(b.UpsertFx("JPY", Mon("2026-10"), "150.123456789012").ok());
  EXPECT_TRUE(b.UpsertFx("EUR", Mon("2026-10"), "0.9200000000000").ok());
  Status s = b.UpsertFx("NOK", Mon("2026-10"), "10.0000000000001");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("12 fractional digits"), std::string::npos) << s.message();
  EXPECT_FALSE(b.UpsertFx("NOK", Mon("2026-10"), "ten").ok());
  auto snap = std::move(b).Build().snapshot;
  EXPECT_EQ(snap->FindFx("JPY", Mon("2026-10"))->rate, Fx("150.123456789012"));
  EXPECT_EQ(snap->FindFx("EUR", Mon("2026-10"))->rate, Fx("0.92"));
  EXPECT_FALSE(snap->FindFx("NOK", Mon("2026-10")).has_value());
}

TEST(ReferenceChange, MergeFromUnitesTheListsAndKeepsTheEarliestFxMonth) {
  ReferenceChange a, b;
  a.customer_ids = {"a", "c"};
  b.customer_ids = {"b", "c"};
  a.fx = {{"NOK", Mon("2026-11")}};
  b.fx = {{"EUR", Mon("2026-11")}, {"NOK", Mon("2026-10")}};
  b.price_keys = {{"US", "m"}};
  a.MergeFrom(b);
  EXPECT_EQ(a.customer_ids, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_EQ(a.fx.size(), 2u);
  EXPECT_EQ(a.fx[0].currency, "EUR");
  EXPECT_EQ(a.fx[1].from, Mon("2026-10"));
  EXPECT_TRUE(a.AffectsPrice("US", "m"));
}

TEST(ReferenceBuilder, ReportsWhatChangedForSelectiveRerating) {
  auto base = World()
                  .Partner("p1", "111")
                  .Partner("p2", "222")
                  .Customer("c1", "US", "p1")
                  .Customer("c2", "US", "p2", "333")
                  .Customer("c3", "US", "p2")
                  .Entitlement("e1", "c1")
                  .FlatPrice("m1", "1")
                  .Build();
  World w(base);
  w.Partner("p1", "111", /*active=*/false);
  w.builder().UpsertReseller(Reseller{"333", "Reseller", "p2"}).ok();
  w.Grant("g1", "e9", "/subscriptions/e9", "111", "owner", "2026-01-01T00:00:00Z");
  w.FlatPrice("m1", "2", "NO");
  w.Rate("NOK", "2026-11", "10").Rate("NOK", "2026-10", "10");
  auto built = w.BuildWithChange();
  EXPECT_EQ(built.snapshot->version(), base->version() + 1);
  EXPECT_EQ(built.change.customer_ids, (std::vector<std::string>{"c1", "c2"}));
  EXPECT_EQ(built.change.entitlement_ids, std::vector<std::string>{"e9"});
  ASSERT_EQ(built.change.price_keys.size(), 1u);
  EXPECT_EQ(built.change.price_keys[0].market, "NO");
  ASSERT_EQ(built.change.fx.size(), 1u);
  EXPECT_EQ(built.change.fx[0].currency, "NOK");
  EXPECT_EQ(built.change.fx[0].from, Mon("2026-10"));
  EXPECT_TRUE(built.change.AffectsFx("NOK", Mon("2026-12")));
  EXPECT_FALSE(built.change.AffectsFx("NOK", Mon("2026-09")));
  EXPECT_TRUE(built.change.AffectsCustomer("c2"));
  EXPECT_FALSE(built.change.AffectsCustomer("c3"));
  EXPECT_TRUE(built.change.AffectsPrice("NO", "m1"));
  EXPECT_FALSE(built.change.AffectsPrice("US", "m1"));
  // The old snapshot still answers as before.
  EXPECT_TRUE(base->FindPartner("p1")->mpn_active);
}

TEST(ReferenceBuilder, UpsertingAnIdenticalObjectChangesNothing) {
  auto base = World()
                  .Partner("p1", "111")
                  .Customer("c1", "US", "p1")
                  .Entitlement("e1", "c1")
                  .Grant("g1", "e1", "/subscriptions/e1", "111", "owner", "2026-01-01T00:00:00Z")
                  .Rate("EUR", "2026-11", "0.9")
                  .Build();
  auto built = World(base)
                   .Partner("p1", "111")
                   .Customer("c1", "us", "p1")
                   .Entitlement("e1", "c1")
                   .Grant("g1", "e1", "/subscriptions/e1/", "111", "Owner", "2026-01-01T00:00:00Z")
                   .Rate("EUR", "2026-11", "0.900")
                   .BuildWithChange();
  EXPECT_TRUE(built.change.empty());
}

TEST(ReferenceSnapshot, TierTablesOutliveUnrelatedChangesAtTheSameAddress) {
  auto s1 = World().FlatPrice("m1", "1").FlatPrice("m2", "2").Build();
  const TierTable* m1 = s1->FindTierTable("US", "m1", Day("2026-11-01"));
  auto s2 = World(s1).FlatPrice("m2", "3").Partner("p", "1").Build();
  EXPECT_EQ(s2->FindTierTable("US", "m1", Day("2026-11-01")), m1);
  EXPECT_NE(s2->FindTierTable("US", "m2", Day("2026-11-01"))->tiers[0].unit_price,
            s1->FindTierTable("US", "m2", Day("2026-11-01"))->tiers[0].unit_price);
  s1.reset();
  EXPECT_EQ(m1->tiers[0].unit_price, Dec("1")) << "still alive through s2";
}

TEST(RatingConfig, EligibleRolesCompareCaseInsensitively) {
  RatingConfig c;
  EXPECT_TRUE(c.IsEligibleRole("Owner"));
  EXPECT_TRUE(c.IsEligibleRole("CONTRIBUTOR"));
  EXPECT_FALSE(c.IsEligibleRole("Reader"));
  c.eligible_roles = {"Support Engineer"};
  EXPECT_TRUE(c.IsEligibleRole("support engineer"));
  EXPECT_FALSE(c.IsEligibleRole("owner"));
}

}  // namespace
}  // namespace meterd::rating
