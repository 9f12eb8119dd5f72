#include "daemon/exports/daily_rated.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/daemon/exports/export_test_util.h"

namespace meterd::exports {
namespace {

using testing::Keyed;
using testing::ParseCsv;
using testing::RatedLine;

// The column list of [001:10019-10075], with the seed's "Skuld" read as "SkuId".
const std::vector<std::string> kSeedColumns = {"PartnerId",
                                               "PartnerName",
                                               "CustomerId",
                                               "CustomerName",
                                               "CustomerDomainName",
                                               "CustomerCountry",
                                               "MpnId",
                                               "Tier2MpnId",
                                               "InvoiceNumber",
                                               "ProductId",
                                               "SkuId",
                                               "AvailabilityId",
                                               "SkuName",
                                               "ProductName",
                                               "PublisherName",
                                               "PublisherId",
                                               "SubscriptionDescription",
                                               "SubscriptionId",
                                               "ChargeStartDate",
                                               "ChargeEndDate",
                                               "UsageDate",
                                               "MeterType",
                                               "MeterCategory",
                                               "MeterId",
                                               "MeterSubCategory",
                                               "MeterName",
                                               "MeterRegion",
                                               "Unit",
                                               "ResourceLocation",
                                               "ConsumedService",
                                               "ResourceGroup",
                                               "ResourceURI",
                                               "ChargeType",
                                               "UnitPrice",
                                               "Quantity",
                                               "UnitType",
                                               "BillingPreTaxTotal",
                                               "BillingCurrency",
                                               "PricingPreTaxTotal",
                                               "PricingCurrency",
                                               "ServiceInfo1",
                                               "ServiceInfo2",
                                               "Tags",
                                               "AdditionalInfo",
                                               "EffectiveUnitPrice",
                                               "PCToBCExchangeRate",
                                               "PCToBCExchangeRateDate",
                                               "EntitlementId",
                                               "EntitlementDescription",
                                               "PartnerEarnedCreditPercentage"};

const std::vector<std::string> kWholesaleColumns = {"BillingPreTaxTotal", "PricingPreTaxTotal",
                                                    "EffectiveUnitPrice",
                                                    "PartnerEarnedCreditPercentage"};

// Columns the product has no data for: always empty.
const std::vector<std::string> kUnknownColumns = {
    "InvoiceNumber",   "AvailabilityId", "SkuName",
    "ProductName",     "PublisherId",    "SubscriptionDescription",
    "SubscriptionId",  "MeterType",      "ResourceLocation",
    "ConsumedService", "ChargeType",     "UnitType",
    "ServiceInfo1",    "ServiceInfo2",   "Tags"};

class DailyRatedRow : public ::testing::Test {
 protected:
  DailyRatedRow() {
    partner_.partner_id = "7d3f1c2a-0000-4000-8000-000000000002";
    partner_.name = "Northwind Distribution";
    partner_.mpn_id = "2222222";
    customer_.customer_id = "c0ffee00-0000-4000-8000-000000000002";
    customer_.name = "Wide World Importers, \"WWI\"";
    customer_.domain = "wwi.onmicrosoft.com";
    customer_.country = "US";
    customer_.partner_id = partner_.partner_id;
    customer_.reseller_mpn_id = "3333333";
    entitlement_.entitlement_id = "aaaaaaaa-0000-4000-8000-00000000000a";
    entitlement_.customer_id = customer_.customer_id;
    entitlement_.description = "Prod";
    table_.market = "US";
    table_.meter_id = "10000000-0000-4000-8000-0000000000bd";
    table_.meter_name = "Data Transfer Out";
    table_.meter_category = "Bandwidth";
    table_.unit_of_measure = "1 GB";
    price_.product_id = "DZH318Z0BAND";
    price_.sku_id = "0001";
    price_.meter_sub_category = "Outbound";
    price_.meter_region = "US East";
    price_.publisher = "Microsoft";
    context_ = LineContext{&customer_, &partner_, &entitlement_, &table_, &price_};
  }

  // The one data row written for `stored`, keyed by the header of `audience`.
  std::map<std::string, std::string> Row(const core::StoredLine& stored,
                                         Audience audience = Audience::kWholesale) {
    std::string out;
    AppendDailyRatedHeader(audience, &out);
    ExportLine line{table_.meter_id, rating::DateFromYmd(2026, 11, 5), entitlement_.entitlement_id,
                    kResource, &stored};
    EXPECT_TRUE(AppendDailyRatedRow(context_, line, audience, &out));
    testing::Rows rows = ParseCsv(out);
    if (rows.size() != 2) {
      ADD_FAILURE() << "expected a header and one row, got " << rows.size() << " rows";
      return {};
    }
    return Keyed(rows[0], rows[1]);
  }

  static constexpr std::string_view kResource =
      "/subscriptions/aaaaaaaa-0000-4000-8000-00000000000a/resourcegroups/rg1/providers/"
      "microsoft.compute/virtualmachines/vm1";
  rating::Partner partner_;
  rating::Customer customer_;
  rating::Entitlement entitlement_;
  rating::TierTable table_;
  PriceDescription price_;
  LineContext context_;
};

TEST(DailyRatedHeader, HasTheSeedColumnsInTheSeedOrderWithSkuIdSpelledRight) {
  std::string out;
  AppendDailyRatedHeader(Audience::kWholesale, &out);
  EXPECT_EQ(ParseCsv(out), testing::Rows{kSeedColumns});
  EXPECT_EQ(out.find("Skuld"), std::string::npos);
}

TEST(DailyRatedHeader, LeavesTheWholesaleColumnsOutForResellers) {
  std::string out;
  AppendDailyRatedHeader(Audience::kListOnly, &out);
  std::vector<std::string> want;
  for (const std::string& c : kSeedColumns) {
    if (std::find(kWholesaleColumns.begin(), kWholesaleColumns.end(), c) ==
        kWholesaleColumns.end()) {
      want.push_back(c);
    }
  }
  EXPECT_EQ(ParseCsv(out), testing::Rows{want});
}

TEST_F(DailyRatedRow, CarriesEveryKnownFieldOfAPecLine) {
  // 11-05 EA rg1/vm1 of the tiers-and-pec example: 8 units straddling two tiers.
  auto row = Row(RatedLine("8", "0.095", "0.76", "0.15"));
  EXPECT_EQ(row["PartnerId"], "7d3f1c2a-0000-4000-8000-000000000002");
  EXPECT_EQ(row["PartnerName"], "Northwind Distribution");
  EXPECT_EQ(row["CustomerId"], "c0ffee00-0000-4000-8000-000000000002");
  EXPECT_EQ(row["CustomerName"], "Wide World Importers, \"WWI\"");
  EXPECT_EQ(row["CustomerDomainName"], "wwi.onmicrosoft.com");
  EXPECT_EQ(row["CustomerCountry"], "US");
  EXPECT_EQ(row["MpnId"], "2222222");
  EXPECT_EQ(row["Tier2MpnId"], "3333333");
  EXPECT_EQ(row["ProductId"], "DZH318Z0BAND");
  EXPECT_EQ(row["SkuId"], "0001");
  EXPECT_EQ(row["PublisherName"], "Microsoft");
  EXPECT_EQ(row["ChargeStartDate"], "2026-11-01");
  EXPECT_EQ(row["ChargeEndDate"], "2026-11-30");
  EXPECT_EQ(row["UsageDate"], "2026-11-05");
  EXPECT_EQ(row["MeterCategory"], "Bandwidth");
  EXPECT_EQ(row["MeterId"], "10000000-0000-4000-8000-0000000000bd");
  EXPECT_EQ(row["MeterSubCategory"], "Outbound");
  EXPECT_EQ(row["MeterName"], "Data Transfer Out");
  EXPECT_EQ(row["MeterRegion"], "US East");
  EXPECT_EQ(row["Unit"], "1 GB");
  EXPECT_EQ(row["ResourceGroup"], "rg1");
  EXPECT_EQ(row["ResourceURI"], kResource);
  EXPECT_EQ(row["UnitPrice"], "0.095000000");
  EXPECT_EQ(row["Quantity"], "8.000000000");
  EXPECT_EQ(row["BillingPreTaxTotal"], "0.646000000");
  EXPECT_EQ(row["BillingCurrency"], "USD");
  EXPECT_EQ(row["PricingPreTaxTotal"], "0.646000000");
  EXPECT_EQ(row["PricingCurrency"], "USD");
  EXPECT_EQ(row["AdditionalInfo"], "");
  EXPECT_EQ(row["EffectiveUnitPrice"], "0.080750000");
  EXPECT_EQ(row["PCToBCExchangeRate"], "1.000000000000");
  EXPECT_EQ(row["PCToBCExchangeRateDate"], "2026-11-01");
  EXPECT_EQ(row["EntitlementId"], "aaaaaaaa-0000-4000-8000-00000000000a");
  EXPECT_EQ(row["EntitlementDescription"], "Prod");
  EXPECT_EQ(row["PartnerEarnedCreditPercentage"], "15");
  for (const std::string& c : kUnknownColumns) EXPECT_EQ(row[c], "") << c;
}

TEST_F(DailyRatedRow, ShowsZeroPercentAndTheListPriceAsEffectivePriceWithoutPec) {
  auto row = Row(RatedLine("45", "0.071333333", "3.21", "0"));
  EXPECT_EQ(row["PartnerEarnedCreditPercentage"], "0");
  EXPECT_EQ(row["EffectiveUnitPrice"], "0.071333333");
  EXPECT_EQ(row["PricingPreTaxTotal"], "3.210000000");
}

TEST_F(DailyRatedRow, ConvertsBillingTotalsWithTheMonthsRatePrintedWithTwelveDigits) {
  customer_.country = "NO";
  auto row = Row(RatedLine("8", "0.095", "0.76", "0.15", "NOK", "9.041"));
  EXPECT_EQ(row["BillingCurrency"], "NOK");
  EXPECT_EQ(row["PCToBCExchangeRate"], "9.041000000000");
  EXPECT_EQ(row["PricingPreTaxTotal"], "0.646000000");  // billed_usd
  EXPECT_EQ(row["BillingPreTaxTotal"], "5.840486000");  // round9(0.646 × 9.041)
  EXPECT_EQ(row["PricingCurrency"], "USD");
}

TEST_F(DailyRatedRow, SaysSoInAdditionalInfoWhenTheRateIsStillProvisional) {
  core::StoredLine stored = RatedLine("1", "1", "1", "0", "EUR", "0.9");
  stored.rated.fx_provisional = true;
  auto row = Row(stored);
  EXPECT_EQ(row["AdditionalInfo"], "{\"fx_provisional\":true}");
}

TEST_F(DailyRatedRow, GivesResellersNoWholesaleCells) {
  auto row = Row(RatedLine("8", "0.095", "0.76", "0.15"), Audience::kListOnly);
  for (const std::string& c : kWholesaleColumns) EXPECT_EQ(row.count(c), 0u) << c;
  EXPECT_EQ(row["UnitPrice"], "0.095000000");
  EXPECT_EQ(row["Quantity"], "8.000000000");
  EXPECT_EQ(row["PCToBCExchangeRate"], "1.000000000000");
  EXPECT_EQ(row.size(), kSeedColumns.size() - kWholesaleColumns.size());
}

TEST_F(DailyRatedRow, LeavesReferenceCellsEmptyWhenTheReferenceIsGone) {
  context_.partner = nullptr;
  context_.entitlement = nullptr;
  context_.table = nullptr;
  context_.price = nullptr;
  auto row = Row(RatedLine("1", "2", "2", "0"));
  EXPECT_EQ(row["PartnerName"], "");
  EXPECT_EQ(row["MpnId"], "");
  EXPECT_EQ(row["MeterName"], "");
  EXPECT_EQ(row["ProductId"], "");
  EXPECT_EQ(row["EntitlementDescription"], "");
  EXPECT_EQ(row["PartnerId"], customer_.partner_id);
  EXPECT_EQ(row["PricingPreTaxTotal"], "2.000000000");
}

TEST_F(DailyRatedRow, WritesNothingForAnUnratedLine) {
  std::string out;
  core::StoredLine stored = testing::UnpricedLine("3");
  ExportLine line{table_.meter_id, rating::DateFromYmd(2026, 11, 5), entitlement_.entitlement_id,
                  kResource, &stored};
  EXPECT_FALSE(AppendDailyRatedRow(context_, line, Audience::kWholesale, &out));
  stored.rated.reason = rating::UnratedReason::kFxMissing;
  EXPECT_FALSE(AppendDailyRatedRow(context_, line, Audience::kWholesale, &out));
  EXPECT_EQ(out, "");
}

TEST(ResourceGroup, IsTheSegmentAfterResourceGroupsInAnyCase) {
  EXPECT_EQ(ResourceGroupOf("/subscriptions/s/resourceGroups/RG1/providers/x/y/z"), "RG1");
  EXPECT_EQ(ResourceGroupOf("/subscriptions/s/resourcegroups/rg1"), "rg1");
  EXPECT_EQ(ResourceGroupOf("//subscriptions//s//RESOURCEGROUPS//apps/"), "apps");
  EXPECT_EQ(ResourceGroupOf("/subscriptions/s"), "");
  EXPECT_EQ(ResourceGroupOf("/subscriptions/s/resourcegroupsx/a"), "");
  EXPECT_EQ(ResourceGroupOf(""), "");
}

}  // namespace
}  // namespace meterd::exports
