#include "daemon/exports/focus.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/daemon/exports/export_test_util.h"

namespace meterd::exports {
namespace {

using testing::Keyed;
using testing::ParseCsv;
using testing::RatedLine;

const std::vector<std::string> kWholesaleFocusColumns = {"ContractedUnitPrice",
                                                         "ContractedCost",
                                                         "BilledCost",
                                                         "EffectiveCost",
                                                         "x_EffectiveUnitPrice",
                                                         "x_BilledCostInPricingCurrency",
                                                         "x_PartnerEarnedCreditPercentage",
                                                         "x_PartnerEarnedCredit"};

class FocusRow : public ::testing::Test {
 protected:
  FocusRow() {
    partner_.partner_id = "p1";
    partner_.name = "Contoso Partner";
    customer_.customer_id = "c1";
    customer_.name = "Fabrikam";
    customer_.country = "NO";
    customer_.partner_id = "p1";
    entitlement_.entitlement_id = "e1";
    entitlement_.description = "Production, main";
    table_.meter_id = "m1";
    table_.meter_name = "D2s v3";
    table_.meter_category = "Virtual Machines";
    table_.unit_of_measure = "1 Hour";
    price_.product_id = "DZH318Z0VIRT";
    price_.sku_id = "0001";
    price_.meter_region = "EU North";
    price_.publisher = "Microsoft";
    context_ = LineContext{&customer_, &partner_, &entitlement_, &table_, &price_};
  }

  std::map<std::string, std::string> Row(const core::StoredLine& stored, rating::Date date,
                                         Audience audience = Audience::kWholesale) {
    std::string out;
    AppendFocusHeader(audience, &out);
    ExportLine line{"m1", date, "e1", "/subscriptions/e1/resourcegroups/rg/x/vm1", &stored};
    EXPECT_TRUE(AppendFocusRow(context_, line, audience, &out));
    testing::Rows rows = ParseCsv(out);
    if (rows.size() != 2) {
      ADD_FAILURE() << "expected a header and one row";
      return {};
    }
    return Keyed(rows[0], rows[1]);
  }

  rating::Partner partner_;
  rating::Customer customer_;
  rating::Entitlement entitlement_;
  rating::TierTable table_;
  PriceDescription price_;
  LineContext context_;
};

TEST(FocusHeader, StartsWithFocusColumnsAndPrefixesEveryOtherColumnWithX) {
  std::string out;
  AppendFocusHeader(Audience::kWholesale, &out);
  testing::Rows rows = ParseCsv(out);
  ASSERT_EQ(rows.size(), 1u);
  const std::vector<std::string>& h = rows[0];
  for (const char* required :
       {"BilledCost", "EffectiveCost", "ListCost", "ListUnitPrice", "ContractedUnitPrice",
        "PricingQuantity", "BillingCurrency", "ChargePeriodStart", "ChargePeriodEnd",
        "ChargeCategory", "BillingAccountId", "SubAccountId", "ResourceId", "ServiceName",
        "ServiceCategory"}) {
    EXPECT_NE(std::find(h.begin(), h.end(), required), h.end()) << required;
  }
  bool in_x = false;
  for (const std::string& c : h) {
    if (c.rfind("x_", 0) == 0)
      in_x = true;
    else
      EXPECT_FALSE(in_x) << c << " comes after the x_ columns";
  }
  EXPECT_TRUE(in_x);
}

TEST_F(FocusRow, StatesCostsInTheBillingCurrencyAndBilledCostIsTheBilledAmount) {
  // 10 hours at 0.2 USD with PEC, NOK at 9.041.
  auto row =
      Row(RatedLine("10", "0.2", "2", "0.15", "NOK", "9.041"), rating::DateFromYmd(2026, 11, 30));
  EXPECT_EQ(row["BillingCurrency"], "NOK");
  EXPECT_EQ(row["ListCost"], "18.082000000");    // round9(2 × 9.041)
  EXPECT_EQ(row["BilledCost"], "15.369700000");  // round9(1.7 × 9.041)
  EXPECT_EQ(row["EffectiveCost"], "15.369700000");
  EXPECT_EQ(row["ContractedCost"], "15.369700000");
  EXPECT_EQ(row["ListUnitPrice"], "1.808200000");        // round9(0.2 × 9.041)
  EXPECT_EQ(row["ContractedUnitPrice"], "1.536970000");  // round9(0.17 × 9.041)
  EXPECT_EQ(row["PricingQuantity"], "10.000000000");
  EXPECT_EQ(row["ConsumedQuantity"], "10.000000000");
  EXPECT_EQ(row["PricingUnit"], "1 Hour");
  EXPECT_EQ(row["x_PricingCurrency"], "USD");
  EXPECT_EQ(row["x_UnitPrice"], "0.200000000");
  EXPECT_EQ(row["x_EffectiveUnitPrice"], "0.170000000");
  EXPECT_EQ(row["x_ListCostInPricingCurrency"], "2.000000000");
  EXPECT_EQ(row["x_BilledCostInPricingCurrency"], "1.700000000");
  EXPECT_EQ(row["x_PartnerEarnedCreditPercentage"], "15");
  EXPECT_EQ(row["x_PartnerEarnedCredit"], "2.712300000");  // list_bc − billed_bc
  EXPECT_EQ(row["x_ExchangeRate"], "9.041000000000");
  EXPECT_EQ(row["x_ExchangeRateDate"], "2026-11-01");
  EXPECT_EQ(row["x_ExchangeRateProvisional"], "false");
}

TEST_F(FocusRow, ChargesTheWholeUtcDayWithAnExclusiveEndOnTheNextDay) {
  auto row = Row(RatedLine("1", "1", "1", "0"), rating::DateFromYmd(2026, 12, 31));
  EXPECT_EQ(row["ChargePeriodStart"], "2026-12-31T00:00:00Z");
  EXPECT_EQ(row["ChargePeriodEnd"], "2027-01-01T00:00:00Z");
  EXPECT_EQ(row["BillingPeriodStart"], "2026-12-01T00:00:00Z");
  EXPECT_EQ(row["BillingPeriodEnd"], "2027-01-01T00:00:00Z");
  EXPECT_EQ(row["x_UsageDate"], "2026-12-31");
  EXPECT_EQ(row["ChargeCategory"], "Usage");
}

TEST_F(FocusRow, IdentifiesAccountsResourcesAndServiceFromReferenceData) {
  auto row = Row(RatedLine("1", "1", "1", "0"), rating::DateFromYmd(2026, 11, 2));
  EXPECT_EQ(row["BillingAccountId"], "c1");
  EXPECT_EQ(row["BillingAccountName"], "Fabrikam");
  EXPECT_EQ(row["SubAccountId"], "e1");
  EXPECT_EQ(row["SubAccountName"], "Production, main");
  EXPECT_EQ(row["ResourceId"], "/subscriptions/e1/resourcegroups/rg/x/vm1");
  EXPECT_EQ(row["ServiceName"], "Virtual Machines");
  EXPECT_EQ(row["ServiceCategory"], "Compute");
  EXPECT_EQ(row["ChargeDescription"], "D2s v3");
  EXPECT_EQ(row["RegionName"], "EU North");
  EXPECT_EQ(row["SkuId"], "0001");
  EXPECT_EQ(row["PublisherName"], "Microsoft");
  EXPECT_EQ(row["ProviderName"], "Microsoft");
  EXPECT_EQ(row["x_ProductId"], "DZH318Z0VIRT");
  EXPECT_EQ(row["x_PartnerId"], "p1");
  EXPECT_EQ(row["x_PartnerName"], "Contoso Partner");
  EXPECT_EQ(row["x_MeterId"], "m1");
  EXPECT_EQ(row["x_MeterName"], "D2s v3");
}

TEST_F(FocusRow, GivesResellersListCostsOnly) {
  auto row = Row(RatedLine("10", "0.2", "2", "0.15", "NOK", "9.041"),
                 rating::DateFromYmd(2026, 11, 3), Audience::kListOnly);
  for (const std::string& c : kWholesaleFocusColumns) EXPECT_EQ(row.count(c), 0u) << c;
  EXPECT_EQ(row["ListCost"], "18.082000000");
  EXPECT_EQ(row["ListUnitPrice"], "1.808200000");
}

TEST_F(FocusRow, WritesNothingForAnUnratedLine) {
  std::string out;
  core::StoredLine stored = testing::UnpricedLine("1");
  ExportLine line{"m1", rating::DateFromYmd(2026, 11, 3), "e1", "r", &stored};
  EXPECT_FALSE(AppendFocusRow(context_, line, Audience::kWholesale, &out));
  EXPECT_EQ(out, "");
}

TEST(FocusServiceCategory, MapsAzureMeterCategoriesToFocusCategoriesAndTheRestToOther) {
  EXPECT_EQ(FocusServiceCategory("Virtual Machines"), "Compute");
  EXPECT_EQ(FocusServiceCategory("virtual machines licenses"), "Compute");
  EXPECT_EQ(FocusServiceCategory("Bandwidth"), "Networking");
  EXPECT_EQ(FocusServiceCategory("SQL Database"), "Databases");
  EXPECT_EQ(FocusServiceCategory("Storage"), "Storage");
  EXPECT_EQ(FocusServiceCategory(" Key Vault "), "Security");
  EXPECT_EQ(FocusServiceCategory("Quantum Widgets"), "Other");
  EXPECT_EQ(FocusServiceCategory(""), "Other");
}

}  // namespace
}  // namespace meterd::exports
