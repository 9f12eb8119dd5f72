// The comparison itself, on hand-built lines: every kind of difference, the credit at stake,
// and the per-customer totals.
#include "tools/meterctl/reconcile.h"

#include <gtest/gtest.h>

namespace meterd::meterctl {
namespace {

Decimal D(const char* text) {
  Decimal d;
  EXPECT_EQ(Decimal::Parse(text, &d), rating::DecimalError::kOk) << text;
  return d;
}

FxRate Fx(const char* text) {
  FxRate r;
  EXPECT_EQ(FxRate::Parse(text, &r), rating::DecimalError::kOk) << text;
  return r;
}

LineKey Key(int day, std::string customer = "c1", std::string uri = "/s/e1/vm1") {
  return LineKey{customer, "e1", "m1", uri, rating::DateFromYmd(2026, 11, day)};
}

// A rated NOK line at 0.10 USD/unit, fx 10.5, with or without PEC.
MeterdLine Meterd(int day, const char* qty, bool pec) {
  MeterdLine m;
  m.key = Key(day);
  m.rated = true;
  m.quantity = D(qty);
  m.unit_price = D("0.1");
  m.pec_rate = pec ? D("0.15") : D("0");
  m.effective_unit_price = pec ? D("0.085") : D("0.1");
  m.list_usd = *rating::MulRound9(m.quantity, D("0.1"));
  m.pec_usd = *rating::MulRound9(*m.list_usd, *m.pec_rate);
  m.billed_usd = *m.list_usd - *m.pec_usd;
  m.currency = "NOK";
  m.fx = Fx("10.5");
  m.list_bc = *rating::MulFxRound9(*m.list_usd, *m.fx);
  m.billed_bc = *rating::MulFxRound9(*m.billed_usd, *m.fx);
  m.pec_bc = *m.list_bc - *m.billed_bc;
  return m;
}

// The file row Microsoft would write for the same line.
FileLine File(const MeterdLine& m) {
  FileLine f;
  f.key = m.key;
  f.line = 2;
  f.rows = 1;
  f.quantity = m.quantity;
  f.unit_price = m.unit_price;
  f.effective_unit_price = m.effective_unit_price;
  f.pricing_total = m.billed_usd;
  f.billing_total = m.billed_bc;
  f.fx = m.fx;
  f.billing_currency = m.currency;
  f.pec_percent = m.pec_rate->IsZero() ? D("0") : D("15");
  return f;
}

struct World {
  DailyRatedFile file;
  std::map<std::string, MeterdCustomer> meterd;

  void Add(const MeterdLine& m, const FileLine& f) {
    AddMeterd(m);
    AddFile(f);
  }
  void AddMeterd(const MeterdLine& m) {
    MeterdCustomer& c = meterd[m.key.customer_id];
    c.known = true;
    c.currency = m.currency;
    c.lines.push_back(m);
  }
  void AddFile(const FileLine& f) {
    file.lines.push_back(f);
    file.customers.insert(f.key.customer_id);
    ++file.rows;
  }
  ReconcileReport Run() {
    std::sort(file.lines.begin(), file.lines.end(),
              [](const FileLine& a, const FileLine& b) { return a.key < b.key; });
    return Reconcile(file, meterd);
  }
};

TEST(Reconcile, FindsNothingWhenBothSidesAgreeToTheNanoUnit) {
  World w;
  for (int day = 1; day <= 3; ++day) {
    MeterdLine m = Meterd(day, "10.000000001", day != 2);
    w.Add(m, File(m));
  }
  ReconcileReport r = w.Run();
  EXPECT_TRUE(r.agree());
  EXPECT_EQ(r.matched, 3);
  EXPECT_EQ(r.agreeing, 3);
  ASSERT_EQ(r.customers.size(), 1u);
  EXPECT_EQ(r.customers[0].file_billed_bc, r.customers[0].meterd_billed_bc);
  EXPECT_EQ(r.customers[0].file_billed_usd.ToString(), "2.700000000");  // 0.85+1.00+0.85
}

TEST(Reconcile, ReportsLinesMissingOnEitherSide) {
  World w;
  MeterdLine only_meterd = Meterd(4, "2", true);
  MeterdLine only_file = Meterd(5, "3", true);
  w.AddMeterd(only_meterd);
  w.AddFile(File(only_file));
  ReconcileReport r = w.Run();
  ASSERT_EQ(r.differences.size(), 2u);
  EXPECT_EQ(r.differences[0].kinds, kMissingInFile);
  EXPECT_EQ(r.differences[0].key.usage_date, rating::DateFromYmd(2026, 11, 4));
  EXPECT_EQ(r.differences[1].kinds, kMissingInMeterd);
  EXPECT_EQ(r.kind_counts[0], 1);
  EXPECT_EQ(r.kind_counts[1], 1);
  EXPECT_EQ(r.matched, 0);
  const CustomerSummary& s = r.customers[0];
  EXPECT_EQ(s.file_billed_usd.ToString(), "0.255000000");
  EXPECT_EQ(s.meterd_billed_usd.ToString(), "0.170000000");
}

TEST(Reconcile, ReportsAQuantityDriftByTheNanoUnit) {
  World w;
  MeterdLine m = Meterd(6, "10", true);
  FileLine f = File(m);
  f.quantity = D("10.000000001");
  w.Add(m, f);
  ReconcileReport r = w.Run();
  ASSERT_EQ(r.differences.size(), 1u);
  EXPECT_EQ(r.differences[0].kinds, kQuantity);
  ASSERT_TRUE(r.differences[0].delta_billed_usd.has_value());
  EXPECT_TRUE(r.differences[0].delta_billed_usd->IsZero());  // the file's total was left as is
}

TEST(Reconcile, ReportsAUnitPriceDifferenceWithTheBilledDelta) {
  World w;
  MeterdLine m = Meterd(7, "10", false);
  FileLine f = File(m);
  f.unit_price = D("0.11");
  f.effective_unit_price = D("0.11");
  f.pricing_total = D("1.1");
  w.Add(m, f);
  ReconcileReport r = w.Run();
  ASSERT_EQ(r.differences.size(), 1u);
  EXPECT_EQ(r.differences[0].kinds, kUnitPrice);
  EXPECT_EQ(r.differences[0].delta_billed_usd->ToString(), "0.100000000");
}

TEST(Reconcile, PricesTheCreditMeterdExpectsButMicrosoftDidNotApply) {
  World w;
  MeterdLine m = Meterd(8, "10", true);  // list 1.00, billed 0.85, list_bc 10.5, billed_bc 8.925
  FileLine f = File(m);
  f.pec_percent = D("0");
  f.effective_unit_price = D("0.1");
  f.pricing_total = D("1");
  f.billing_total = D("10.5");
  w.Add(m, f);
  ReconcileReport r = w.Run();
  ASSERT_EQ(r.differences.size(), 1u);
  const LineDiff& d = r.differences[0];
  EXPECT_EQ(d.kinds, kPec);
  EXPECT_EQ(d.pec_side, PecSide::kMeterd);
  EXPECT_EQ(d.credit_at_stake_usd->ToString(), "0.150000000");
  EXPECT_EQ(d.credit_at_stake_bc->ToString(), "1.575000000");
  EXPECT_EQ(r.customers[0].credit_missing_from_file_usd.ToString(), "0.150000000");
  EXPECT_EQ(r.customers[0].credit_missing_from_file_bc.ToString(), "1.575000000");
  EXPECT_TRUE(r.customers[0].credit_unexpected_in_file_usd.IsZero());
}

TEST(Reconcile, PricesTheCreditMicrosoftAppliedThatMeterdDidNotExpect) {
  World w;
  MeterdLine no_pec = Meterd(9, "20", false);  // list 2.00 = billed
  MeterdLine with_pec = Meterd(9, "20", true);
  w.Add(no_pec, File(with_pec));
  ReconcileReport r = w.Run();
  ASSERT_EQ(r.differences.size(), 1u);
  const LineDiff& d = r.differences[0];
  EXPECT_EQ(d.kinds, kPec);
  EXPECT_EQ(d.pec_side, PecSide::kFile);
  EXPECT_EQ(d.credit_at_stake_usd->ToString(), "0.300000000");  // list 2.00 - billed 1.70
  EXPECT_EQ(d.credit_at_stake_bc->ToString(), "3.150000000");
  EXPECT_EQ(r.customers[0].credit_unexpected_in_file_usd.ToString(), "0.300000000");
  EXPECT_TRUE(r.customers[0].credit_missing_from_file_usd.IsZero());
}

TEST(Reconcile, ReportsExchangeRateAndCurrencyDifferences) {
  World w;
  MeterdLine m = Meterd(10, "10", true);
  FileLine f = File(m);
  f.fx = Fx("10.500000000001");
  w.Add(m, f);
  MeterdLine m2 = Meterd(11, "10", true);
  FileLine f2 = File(m2);
  f2.billing_currency = "EUR";
  w.Add(m2, f2);
  ReconcileReport r = w.Run();
  ASSERT_EQ(r.differences.size(), 2u);
  EXPECT_EQ(r.differences[0].kinds, kFx);
  EXPECT_EQ(r.differences[1].kinds, kCurrency);
}

TEST(Reconcile, FlagsLinesMeterdHoldsUnratedWithoutComparingPrices) {
  World w;
  MeterdLine m = Meterd(12, "5", true);
  FileLine f = File(m);
  m.rated = false;
  m.reason = "fx_missing";
  m.fx.reset();
  m.list_bc.reset();
  m.billed_bc.reset();
  m.pec_bc.reset();
  w.Add(m, f);
  ReconcileReport r = w.Run();
  ASSERT_EQ(r.differences.size(), 1u);
  EXPECT_EQ(r.differences[0].kinds, kUnrated);
  EXPECT_TRUE(r.customers[0].meterd_billed_usd.IsZero());  // spend sums rated lines only
}

TEST(Reconcile, CallsOutTotalsThatDifferWhenEverythingElseAgrees) {
  World w;
  MeterdLine m = Meterd(13, "10", true);
  FileLine f = File(m);
  f.billing_total = *f.billing_total + Decimal::FromNanos(1);
  w.Add(m, f);
  ReconcileReport r = w.Run();
  ASSERT_EQ(r.differences.size(), 1u);
  EXPECT_EQ(r.differences[0].kinds, kAmount);
  EXPECT_EQ(r.differences[0].delta_billed_bc->ToString(), "0.000000001");
}

TEST(Reconcile, SkipsComparisonsForCellsTheFileLeavesEmpty) {
  World w;
  MeterdLine m = Meterd(14, "10", true);
  FileLine f = File(m);
  f.unit_price.reset();
  f.fx.reset();
  f.pec_percent.reset();
  f.pricing_total.reset();
  f.billing_total.reset();
  f.effective_unit_price.reset();
  f.billing_currency.clear();
  w.Add(m, f);
  EXPECT_TRUE(w.Run().agree());
}

TEST(Reconcile, CountsCustomersMeterdDoesNotKnow) {
  World w;
  MeterdLine m = Meterd(15, "1", true);
  m.key.customer_id = "stranger";
  w.AddFile(File(m));
  w.meterd["stranger"].known = false;
  ReconcileReport r = w.Run();
  ASSERT_EQ(r.customers.size(), 1u);
  EXPECT_FALSE(r.customers[0].known_to_meterd);
  EXPECT_EQ(r.differences[0].kinds, kMissingInMeterd);
}

TEST(Reconcile, WritesAMachineReadableReportWithExactStrings) {
  World w;
  MeterdLine m = Meterd(8, "10", true);
  FileLine f = File(m);
  f.pec_percent = D("0");
  f.pricing_total = D("1");
  f.billing_total = D("10.5");
  w.Add(m, f);
  ReconcileReport r = w.Run();
  r.month = rating::MonthFromYm(2026, 11);
  r.file_name = "pc.csv";
  Json j = ReportToJson(r);
  EXPECT_EQ(j.GetText("month"), "2026-11");
  EXPECT_FALSE(j.Find("agree")->as_bool());
  EXPECT_EQ(j.Find("counts")->GetText("pec"), "1");
  const Json& d = j.Find("differences")->items().at(0);
  EXPECT_EQ(d.Find("kinds")->items().at(0).text(), "pec");
  EXPECT_EQ(d.GetText("pec_applied_by"), "meterd");
  EXPECT_EQ(d.GetText("credit_at_stake_usd"), "0.150000000");
  EXPECT_EQ(d.Find("file")->GetText("pec_rate"), "0.000000000");
  EXPECT_EQ(d.Find("meterd")->GetText("fx"), "10.500000000000");
  const Json& c = j.Find("customers")->items().at(0);
  EXPECT_EQ(c.GetText("delta_billed_usd"), "0.150000000");
  EXPECT_EQ(c.GetText("credit_missing_from_file_bc"), "1.575000000");
  const std::string text = FormatReport(r, 10);
  EXPECT_NE(text.find("DIFFERENCES: 1 lines (1 PEC)"), std::string::npos) << text;
  EXPECT_NE(text.find("PEC: file 0%, meterd 15%"), std::string::npos) << text;
}

TEST(Reconcile, ReadsMeterdLinesAndRefusesAResellersView) {
  Result<Json> j = Json::Parse(R"({"entitlement_id":"E1","meter_id":"M1","resource_uri":"/S/x",
    "usage_date":"2026-11-05","quantity":"1.000000000","status":"rated","reason":null,
    "unit_price":"0.100000000","effective_unit_price":"0.085000000","pec_rate":"0.150000000",
    "list_usd":"0.100000000","pec_usd":"0.015000000","billed_usd":"0.085000000",
    "currency":"usd","fx":"1.000000000000","fx_provisional":false,"list_bc":"0.100000000",
    "pec_bc":"0.015000000","billed_bc":"0.085000000"})");
  ASSERT_TRUE(j.ok());
  Result<MeterdLine> m = MeterdLineFromJson("C1", *j);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->key.customer_id, "c1");
  EXPECT_EQ(m->key.entitlement_id, "e1");
  EXPECT_EQ(m->key.resource_uri, "/s/x");
  EXPECT_EQ(m->currency, "USD");
  EXPECT_EQ(m->billed_bc, D("0.085"));

  Result<Json> reseller = Json::Parse(R"({"entitlement_id":"e1","meter_id":"m1",
    "resource_uri":"/s/x","usage_date":"2026-11-05","quantity":"1.000000000","status":"rated",
    "reason":null,"unit_price":"0.100000000","list_usd":"0.100000000","currency":"USD",
    "fx":"1.000000000000","fx_provisional":false,"list_bc":"0.100000000"})");
  ASSERT_TRUE(reseller.ok());
  Result<MeterdLine> r = MeterdLineFromJson("c1", *reseller);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("wholesale"), std::string::npos);
}

}  // namespace
}  // namespace meterd::meterctl
