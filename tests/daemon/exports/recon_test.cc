#include "daemon/exports/recon.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/daemon/exports/export_test_util.h"

namespace meterd::exports {
namespace {

using testing::Keyed;
using testing::ParseCsv;
using testing::RatedLine;

constexpr std::string_view kBandwidth = "10000000-0000-4000-8000-0000000000bd";
constexpr std::string_view kSql = "20000000-0000-4000-8000-00000000005c";
constexpr std::string_view kEa = "aaaaaaaa-0000-4000-8000-00000000000a";
constexpr std::string_view kEb = "bbbbbbbb-0000-4000-8000-00000000000b";

// The tiers-and-pec example's customer, tables and lines, fed in stored order.
class ReconExample : public ::testing::Test {
 protected:
  ReconExample() {
    customer_.customer_id = "c0ffee00-0000-4000-8000-000000000002";
    customer_.name = "Wide World Importers";
    customer_.country = "US";
    bandwidth_.meter_id = std::string(kBandwidth);
    bandwidth_.meter_name = "Data Transfer Out";
    bandwidth_.meter_category = "Bandwidth";
    sql_.meter_id = std::string(kSql);
    sql_.meter_name = "vCore";
    sql_.meter_category = "SQL Database";
  }

  void Add(std::string_view meter, int day, std::string_view ent, std::string_view resource,
           core::StoredLine line) {
    lines_.push_back(std::move(line));
    LineContext ctx{&customer_, nullptr, nullptr, meter == kSql ? &sql_ : &bandwidth_, nullptr};
    ExportLine l{meter, rating::DateFromYmd(2026, 11, day), ent, resource, &lines_.back()};
    writer_.Add(ctx, l, &out_);
  }

  void AddExampleLines() {
    lines_.reserve(16);
    Add(kBandwidth, 4, kEa, "vm1", RatedLine("4", "0.1", "0.4", "0.15"));
    Add(kBandwidth, 5, kEa, "vm1", RatedLine("8", "0.095", "0.76", "0.15"));
    Add(kBandwidth, 5, kEb, "app1", RatedLine("6", "0.08", "0.48", "0.15"));
    Add(kBandwidth, 6, kEa, "vm2", RatedLine("45", "0.071333333", "3.21", "0"));
    Add(kSql, 5, kEb, "app1", RatedLine("10", "0.2", "2", "0.15"));
    Add(kSql, 6, kEb, "app1", RatedLine("10", "0.2", "2", "0"));
    Add(kSql, 12, kEa, "vm1", RatedLine("4", "0.25", "1", "0.15"));
    Add(kSql, 12, kEb, "app1", RatedLine("10", "0.25", "2.5", "0"));
  }

  std::vector<std::map<std::string, std::string>> Finish() {
    writer_.Finish(&out_);
    std::string text;
    AppendReconHeader(&text);
    text += out_;
    testing::Rows rows = ParseCsv(text);
    std::vector<std::map<std::string, std::string>> keyed;
    for (size_t i = 1; i < rows.size(); ++i) keyed.push_back(Keyed(rows[0], rows[i]));
    return keyed;
  }

  rating::Customer customer_;
  rating::TierTable bandwidth_, sql_;
  std::vector<core::StoredLine> lines_;
  ReconWriter writer_;
  std::string out_;
};

TEST(ReconHeader, HasExactlyTheColumnsOfTheContract) {
  std::string out;
  AppendReconHeader(&out);
  EXPECT_EQ(out,
            "CustomerId,CustomerName,MeterId,MeterName,MeterCategory,Month,PecApplied,Days,"
            "Quantity,UnitPrice,EffectiveUnitPrice,PricingPreTaxTotal,PricingCurrency,"
            "BillingPreTaxTotal,BillingCurrency,PCToBCExchangeRate,PriceAdjustmentDescription\r\n");
}

TEST_F(ReconExample, SplitsEachMeterIntoTheDaysWithAndWithoutPec) {
  AddExampleLines();
  auto rows = Finish();
  ASSERT_EQ(rows.size(), 4u);
  std::vector<std::string> order;
  for (auto& r : rows) order.push_back(r["MeterId"] + " " + r["PecApplied"]);
  EXPECT_EQ(order, (std::vector<std::string>{
                       std::string(kBandwidth) + " false", std::string(kBandwidth) + " true",
                       std::string(kSql) + " false", std::string(kSql) + " true"}));
  for (auto& r : rows) {
    EXPECT_EQ(r["CustomerId"], "c0ffee00-0000-4000-8000-000000000002");
    EXPECT_EQ(r["CustomerName"], "Wide World Importers");
    EXPECT_EQ(r["Month"], "2026-11");
    EXPECT_EQ(r["PricingCurrency"], "USD");
    EXPECT_EQ(r["BillingCurrency"], "USD");
    EXPECT_EQ(r["PCToBCExchangeRate"], "1.000000000000");
  }
}

TEST_F(ReconExample, SumsQuantitiesAndTotalsAndWeightsUnitPricesByQuantity) {
  AddExampleLines();
  auto rows = Finish();
  ASSERT_EQ(rows.size(), 4u);
  auto& sql_pec = rows[3];
  EXPECT_EQ(sql_pec["MeterName"], "vCore");
  EXPECT_EQ(sql_pec["MeterCategory"], "SQL Database");
  EXPECT_EQ(sql_pec["Days"], "5;12");
  EXPECT_EQ(sql_pec["Quantity"], "14.000000000");
  EXPECT_EQ(sql_pec["UnitPrice"], "0.214285714");           // 3 / 14
  EXPECT_EQ(sql_pec["EffectiveUnitPrice"], "0.182142857");  // 2.55 / 14
  EXPECT_EQ(sql_pec["PricingPreTaxTotal"], "2.550000000");
  EXPECT_EQ(sql_pec["BillingPreTaxTotal"], "2.550000000");
  EXPECT_EQ(sql_pec["PriceAdjustmentDescription"], "Partner earned credit for services managed");

  auto& sql_none = rows[2];
  EXPECT_EQ(sql_none["Days"], "6;12");
  EXPECT_EQ(sql_none["Quantity"], "20.000000000");
  EXPECT_EQ(sql_none["UnitPrice"], "0.225000000");  // 4.5 / 20
  EXPECT_EQ(sql_none["EffectiveUnitPrice"], "0.225000000");
  EXPECT_EQ(sql_none["PricingPreTaxTotal"], "4.500000000");
  EXPECT_EQ(sql_none["PriceAdjustmentDescription"], "");

  auto& bw_pec = rows[1];
  EXPECT_EQ(bw_pec["Days"], "4-5");
  EXPECT_EQ(bw_pec["Quantity"], "18.000000000");
  EXPECT_EQ(bw_pec["UnitPrice"], "0.091111111");           // 1.64 / 18
  EXPECT_EQ(bw_pec["EffectiveUnitPrice"], "0.077444444");  // 1.394 / 18
  EXPECT_EQ(bw_pec["PricingPreTaxTotal"], "1.394000000");

  auto& bw_none = rows[0];
  EXPECT_EQ(bw_none["Days"], "6");
  EXPECT_EQ(bw_none["UnitPrice"], "0.071333333");
  EXPECT_EQ(bw_none["PricingPreTaxTotal"], "3.210000000");
}

TEST_F(ReconExample, ConvertsBillingTotalsAsTheSumOfTheLinesBillingAmounts) {
  customer_.country = "NO";
  lines_.reserve(4);
  Add(kSql, 1, kEa, "a", RatedLine("1", "0.333333333", "0.333333333", "0.15", "NOK", "9.041"));
  Add(kSql, 2, kEa, "a", RatedLine("1", "0.333333333", "0.333333333", "0.15", "NOK", "9.041"));
  auto rows = Finish();
  ASSERT_EQ(rows.size(), 1u);
  // Each line: billed_usd 0.283333333, billed_bc round9(0.283333333 × 9.041) = 2.561616664.
  EXPECT_EQ(rows[0]["PricingPreTaxTotal"], "0.566666666");
  EXPECT_EQ(rows[0]["BillingPreTaxTotal"], "5.123233328");
  EXPECT_EQ(rows[0]["BillingCurrency"], "NOK");
  EXPECT_EQ(rows[0]["PCToBCExchangeRate"], "9.041000000000");
  EXPECT_EQ(rows[0]["Days"], "1-2");
}

TEST_F(ReconExample, ShowsZeroUnitPricesForAGroupOfZeroQuantity) {
  lines_.reserve(2);
  Add(kSql, 3, kEa, "a", RatedLine("0", "0.2", "0", "0"));
  auto rows = Finish();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["Quantity"], "0.000000000");
  EXPECT_EQ(rows[0]["UnitPrice"], "0.000000000");
  EXPECT_EQ(rows[0]["EffectiveUnitPrice"], "0.000000000");
  EXPECT_EQ(rows[0]["Days"], "3");
}

TEST_F(ReconExample, IgnoresUnratedLines) {
  lines_.reserve(4);
  Add(kBandwidth, 2, kEa, "a", testing::UnpricedLine("5"));
  Add(kSql, 3, kEa, "a", testing::UnpricedLine("7"));
  Add(kSql, 4, kEa, "a", RatedLine("1", "0.2", "0.2", "0"));
  auto rows = Finish();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["MeterId"], kSql);
  EXPECT_EQ(rows[0]["Days"], "4");
  EXPECT_EQ(rows[0]["Quantity"], "1.000000000");
}

TEST_F(ReconExample, LeavesTheRateEmptyWhenLinesOfAGroupDisagreeOnIt) {
  lines_.reserve(2);
  Add(kSql, 1, kEa, "a", RatedLine("1", "1", "1", "0", "EUR", "0.9"));
  Add(kSql, 2, kEa, "a", RatedLine("1", "1", "1", "0", "EUR", "0.95"));
  auto rows = Finish();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["PCToBCExchangeRate"], "");
  EXPECT_EQ(rows[0]["BillingPreTaxTotal"], "1.850000000");
}

TEST_F(ReconExample, WritesAMetersRowsAsSoonAsTheNextMeterStarts) {
  lines_.reserve(4);
  Add(kBandwidth, 1, kEa, "a", RatedLine("1", "0.1", "0.1", "0"));
  EXPECT_EQ(out_, "") << "a meter's rows wait until the meter is complete";
  Add(kSql, 1, kEa, "a", RatedLine("1", "0.2", "0.2", "0"));
  EXPECT_NE(out_.find(kBandwidth), std::string::npos);
  EXPECT_EQ(out_.find(kSql), std::string::npos);
  EXPECT_EQ(Finish().size(), 2u);
}

TEST_F(ReconExample, StartsAfreshAfterFinish) {
  lines_.reserve(4);
  Add(kSql, 1, kEa, "a", RatedLine("1", "0.2", "0.2", "0"));
  writer_.Finish(&out_);
  out_.clear();
  Add(kSql, 2, kEa, "a", RatedLine("2", "0.2", "0.4", "0"));
  auto rows = Finish();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["Days"], "2");
  EXPECT_EQ(rows[0]["Quantity"], "2.000000000");
}

}  // namespace
}  // namespace meterd::exports
