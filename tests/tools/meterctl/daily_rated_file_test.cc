#include "tools/meterctl/daily_rated_file.h"

#include <gtest/gtest.h>

#include "tests/tools/meterctl/test_support.h"

namespace meterd::meterctl {
namespace {

Month Nov() { return rating::MonthFromYm(2026, 11); }

Decimal D(const char* text) {
  Decimal d;
  EXPECT_EQ(Decimal::Parse(text, &d), rating::DecimalError::kOk) << text;
  return d;
}

std::string Row(std::string_view date, std::string_view qty, std::string_view uri = "/S/Vm1",
                std::string_view customer = "C1") {
  return std::string(customer) + ",E1,M1," + std::string(uri) + "," + std::string(date) + "," +
         std::string(qty) + ",0.1,0.085,15,1.000000000000,USD\n";
}

constexpr std::string_view kHeader =
    "customerid,EntitlementId,METERID,ResourceURI,UsageDate,Quantity,UnitPrice,"
    "EffectiveUnitPrice,PartnerEarnedCreditPercentage,PCToBCExchangeRate,BillingCurrency\n";

TEST(DailyRatedFile, ReadsTheWorkedExampleFileWithMicrosoftsDatesAndCase) {
  const std::string text = testing::ReadFile(testing::FixturePath("basic_daily_rated.csv"));
  Result<DailyRatedFile> f = ReadDailyRatedFile(text, {Nov(), {}});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->rows, 5);
  EXPECT_EQ(f->rows_other_months, 1);  // the latent October row
  EXPECT_EQ(f->rounded_cells, 0);
  EXPECT_TRUE(f->missing_columns.empty());
  ASSERT_EQ(f->lines.size(), 4u);
  const FileLine& first = f->lines[0];
  EXPECT_EQ(first.key.customer_id, "c0ffee00-0000-4000-8000-000000000001");
  EXPECT_EQ(first.key.entitlement_id, "e1000000-0000-4000-8000-000000000001");  // was upper
  EXPECT_EQ(first.key.resource_uri,
            "/subscriptions/e1000000-0000-4000-8000-000000000001/resourcegroups/web/providers/"
            "microsoft.compute/virtualmachines/web-1");
  EXPECT_EQ(first.key.usage_date, rating::DateFromYmd(2026, 11, 3));  // from 11/3/2026
  EXPECT_EQ(first.quantity, D("15.5"));
  EXPECT_EQ(first.unit_price, D("0.096"));
  EXPECT_EQ(first.pricing_total, D("1.2648"));
  EXPECT_EQ(first.pec_percent, D("15"));
  EXPECT_EQ(first.fx, FxRate::One());
  EXPECT_EQ(first.billing_currency, "USD");
  EXPECT_EQ(first.customer_name, "Alpine Ski Shop");
  EXPECT_EQ(first.line, 2);
}

TEST(DailyRatedFile, RoundsCellsFinerThanNineDigitsHalfToEvenAndCountsThem) {
  struct Case {
    const char* cell;
    const char* expect;
    bool rounded;
  } cases[] = {
      {"0.0001643835616438356", "0.000164384", true},
      {"0.0000000005", "0.000000000", true},  // tie, even stays
      {"0.0000000015", "0.000000002", true},  // tie, odd goes up
      {"0.00000000050001", "0.000000001", true},
      {"-2.5000000005", "-2.500000000", true},
      {"-2.5000000015", "-2.500000002", true},
      {"1.2300000000000", "1.230000000", false},  // exact at 9 digits: not a rounding
      {"+3", "3.000000000", false},
      {"1e2", "100.000000000", false},
  };
  for (const Case& c : cases) {
    Decimal d;
    bool rounded = false;
    ASSERT_TRUE(ParseFileDecimal(c.cell, &d, &rounded)) << c.cell;
    EXPECT_EQ(d.ToString(), c.expect) << c.cell;
    EXPECT_EQ(rounded, c.rounded) << c.cell;
  }
  FxRate r;
  bool rounded = false;
  ASSERT_TRUE(ParseFileFxRate("10.4999999999995", &r, &rounded));
  EXPECT_EQ(r.ToString(), "10.500000000000");
  EXPECT_TRUE(rounded);
  Decimal d;
  for (const char* bad : {"", "abc", "1,5", "1.2.3", "--1", "1e999"}) {
    EXPECT_FALSE(ParseFileDecimal(bad, &d, &rounded)) << bad;
  }
}

TEST(DailyRatedFile, SumsRowsThatRepeatALineKeyAndLowercasesTheUri) {
  std::string text(kHeader);
  text += Row("2026-11-05", "1.5", "/S/VM1");
  text += Row("11/5/2026", "2", "/s/vm1");
  text += Row("2026-11-05T00:00:00Z", "0.25", "/S/Vm1");
  Result<DailyRatedFile> f = ReadDailyRatedFile(text, {Nov(), {}});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->lines.size(), 1u);
  EXPECT_EQ(f->lines[0].rows, 3);
  EXPECT_EQ(f->lines[0].quantity, D("3.75"));
  EXPECT_EQ(f->lines[0].key.resource_uri, "/s/vm1");
  EXPECT_EQ(f->lines[0].line, 2);
  // Columns the file lacks are named, so the report can say which checks were skipped.
  EXPECT_NE(std::find(f->missing_columns.begin(), f->missing_columns.end(), "PricingPreTaxTotal"),
            f->missing_columns.end());
}

TEST(DailyRatedFile, KeepsOnlyTheMonthAndTheCustomersAskedFor) {
  std::string text(kHeader);
  text += Row("2026-11-05", "1", "/s/a", "C1");
  text += Row("2026-10-31", "1", "/s/a", "C1");
  text += Row("2026-11-05", "1", "/s/a", "C2");
  Result<DailyRatedFile> f = ReadDailyRatedFile(text, {Nov(), {"c2"}});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->lines.size(), 1u);
  EXPECT_EQ(f->lines[0].key.customer_id, "c2");
  EXPECT_EQ(f->rows_other_months, 1);
  EXPECT_EQ(f->rows_other_customers, 1);
  EXPECT_EQ(f->customers, std::set<std::string>{"c2"});
}

TEST(DailyRatedFile, NamesTheLineAndColumnOfEveryBadCell) {
  std::string text(kHeader);
  text += Row("2026-11-05", "1.5");
  text += Row("2026-13-05", "1");
  text += Row("2026-11-06", "ten");
  text += ",E1,M1,/s/x,2026-11-07,1,0.1,0.085,15,1,USD\n";
  Result<DailyRatedFile> f = ReadDailyRatedFile(text, {Nov(), {}});
  ASSERT_FALSE(f.ok());
  const std::string& m = f.status().message();
  EXPECT_NE(m.find("3 problems"), std::string::npos) << m;
  EXPECT_NE(m.find("line 3: UsageDate \"2026-13-05\""), std::string::npos) << m;
  EXPECT_NE(m.find("line 4: Quantity \"ten\""), std::string::npos) << m;
  EXPECT_NE(m.find("line 5: empty CustomerId"), std::string::npos) << m;
}

TEST(DailyRatedFile, RefusesAFileWithoutTheKeyColumns) {
  Result<DailyRatedFile> f =
      ReadDailyRatedFile("CustomerId,MeterId,UsageDate,Quantity\nc,m,2026-11-01,1\n", {Nov(), {}});
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("EntitlementId, ResourceURI"), std::string::npos)
      << f.status().message();
  EXPECT_FALSE(ReadDailyRatedFile("", {Nov(), {}}).ok());
  EXPECT_FALSE(ReadDailyRatedFile(std::string(kHeader) + "\"unterminated", {Nov(), {}}).ok());
}

}  // namespace
}  // namespace meterd::meterctl
