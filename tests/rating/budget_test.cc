// Budget arithmetic and the threshold fire / re-arm rules, checked against the worked examples in
// tests/fixtures/examples/*/README.md and the edge rules of domain §8.13–§8.16, §8.27–§8.29.

#include "rating/budget.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace meterd::rating {
namespace {

Decimal D(std::string_view text) {
  Decimal d;
  EXPECT_EQ(Decimal::Parse(text, &d), DecimalError::kOk) << text;
  return d;
}

Timestamp At(std::string_view rfc3339) {
  Timestamp t;
  EXPECT_TRUE(ParseRfc3339(rfc3339, &t)) << rfc3339;
  return t;
}

const Month kNov2026 = MonthFromYm(2026, 11);
const Month kOct2026 = MonthFromYm(2026, 10);
const Month kDec2026 = MonthFromYm(2026, 12);

// now.txt of all three examples.
Timestamp ExampleNow() { return At("2026-11-20T12:00:00Z"); }

std::string Str(std::optional<Decimal> d) { return d ? d->ToString() : "nullopt"; }

Budget MakeBudget(std::string_view amount, Basis basis, std::vector<Decimal> thresholds,
                  std::vector<Decimal> forecast_thresholds = {Decimal::FromInteger(100)}) {
  Budget b;
  b.amount = D(amount);
  b.basis = basis;
  b.thresholds = std::move(thresholds);
  b.forecast_thresholds = std::move(forecast_thresholds);
  EXPECT_TRUE(NormalizeBudget(&b).ok());
  return b;
}

Decimal I(int64_t v) { return Decimal::FromInteger(v); }

// --- names -----------------------------------------------------------------------------------

TEST(BasisName, RoundTripsTheApiSpelling) {
  EXPECT_EQ(BasisName(Basis::kList), "list");
  EXPECT_EQ(BasisName(Basis::kBilled), "billed");
  EXPECT_EQ(ParseBasis("list"), Basis::kList);
  EXPECT_EQ(ParseBasis("billed"), Basis::kBilled);
  EXPECT_EQ(ParseBasis("List"), std::nullopt);
  EXPECT_EQ(ParseBasis(""), std::nullopt);
}

TEST(AlertKindName, RoundTripsEveryKind) {
  for (AlertKind k : {AlertKind::kBudgetActual, AlertKind::kBudgetForecast, AlertKind::kPecLost,
                      AlertKind::kAnomaly}) {
    EXPECT_EQ(ParseAlertKind(AlertKindName(k)), k);
  }
  EXPECT_EQ(AlertKindName(AlertKind::kBudgetForecast), "budget_forecast");
  EXPECT_EQ(ParseAlertKind("budget"), std::nullopt);
}

// --- normalization ---------------------------------------------------------------------------

TEST(NormalizeBudget, SortsAndDeduplicatesTheBasicExampleThresholds) {
  Budget b;
  b.amount = D("2.50");
  b.thresholds = {I(100), I(80), I(150), I(80)};
  ASSERT_TRUE(NormalizeBudget(&b).ok());
  EXPECT_EQ(b.thresholds, (std::vector<Decimal>{I(80), I(100), I(150)}));
  EXPECT_EQ(b.forecast_thresholds, (std::vector<Decimal>{I(100)}));
}

TEST(NormalizeBudget, DefaultsAreEightyAndHundredOnListBasis) {
  Budget b;
  b.amount = I(1);
  ASSERT_TRUE(NormalizeBudget(&b).ok());
  EXPECT_EQ(b.basis, Basis::kList);
  EXPECT_EQ(b.thresholds, (std::vector<Decimal>{I(80), I(100)}));
  EXPECT_EQ(b.forecast_thresholds, (std::vector<Decimal>{I(100)}));
}

TEST(NormalizeBudget, TreatsDecimalThresholdsThatDifferOnlyInTrailingZerosAsOne) {
  Budget b;
  b.amount = I(1);
  b.thresholds = {D("80.50"), D("80.5"), D("8.05e1")};
  b.forecast_thresholds = {D("100.0"), I(100), D("90")};
  ASSERT_TRUE(NormalizeBudget(&b).ok());
  EXPECT_EQ(b.thresholds, (std::vector<Decimal>{D("80.5")}));
  EXPECT_EQ(b.forecast_thresholds, (std::vector<Decimal>{I(90), I(100)}));
}

TEST(NormalizeBudget, RejectsAZeroOrNegativeAmount) {
  Budget b;
  b.amount = Decimal::Zero();
  Status s = NormalizeBudget(&b);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("amount"), std::string::npos);
  b.amount = D("-1");
  EXPECT_FALSE(NormalizeBudget(&b).ok());
  b.amount = D("0.000000001");
  EXPECT_TRUE(NormalizeBudget(&b).ok());
}

TEST(NormalizeBudget, RejectsAnAmountBeyondTenToTheFifteen) {
  Budget b;
  b.amount = kMaxAmount;
  EXPECT_TRUE(NormalizeBudget(&b).ok());
  b.amount = kMaxAmount + Decimal::FromNanos(1);
  EXPECT_EQ(NormalizeBudget(&b).code(), StatusCode::kInvalidArgument);
}

TEST(NormalizeBudget, AcceptsThresholdsInTheHalfOpenRangeZeroToThousand) {
  Budget b;
  b.amount = I(10);
  b.thresholds = {D("0.000000001"), I(1000)};
  EXPECT_TRUE(NormalizeBudget(&b).ok());

  b.thresholds = {I(0)};
  Status zero = NormalizeBudget(&b);
  EXPECT_EQ(zero.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(zero.message().find("thresholds"), std::string::npos);

  b.thresholds = {D("1000.000000001")};
  EXPECT_FALSE(NormalizeBudget(&b).ok());

  b.thresholds = {I(80)};
  b.forecast_thresholds = {D("-5")};
  Status forecast = NormalizeBudget(&b);
  EXPECT_EQ(forecast.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(forecast.message().find("forecast_thresholds"), std::string::npos);
}

TEST(NormalizeBudget, AcceptsEmptyThresholdListsToSwitchAlertsOff) {
  Budget b;
  b.amount = I(10);
  b.thresholds = {};
  b.forecast_thresholds = {};
  EXPECT_TRUE(NormalizeBudget(&b).ok());
}

TEST(NormalizeBudget, CountsThresholdsAfterDeduplication) {
  Budget b;
  b.amount = I(10);
  b.thresholds.clear();
  for (int i = 1; i <= static_cast<int>(kMaxThresholds); ++i) {
    b.thresholds.push_back(I(i));
    b.thresholds.push_back(I(i));  // duplicates do not count
  }
  EXPECT_TRUE(NormalizeBudget(&b).ok());
  b.thresholds.push_back(I(999));
  EXPECT_EQ(NormalizeBudget(&b).code(), StatusCode::kInvalidArgument);
}

// --- threshold formatting ----------------------------------------------------------------------

TEST(FormatThreshold, PrintsTheShortestExactDecimal) {
  EXPECT_EQ(FormatThreshold(I(80)), "80");
  EXPECT_EQ(FormatThreshold(I(1000)), "1000");
  EXPECT_EQ(FormatThreshold(D("80.5")), "80.5");
  EXPECT_EQ(FormatThreshold(D("100.100")), "100.1");
  EXPECT_EQ(FormatThreshold(D("0.000000001")), "0.000000001");
  EXPECT_EQ(FormatThreshold(D("99.999999999")), "99.999999999");
  EXPECT_EQ(FormatThreshold(D("0.5")), "0.5");
  EXPECT_EQ(FormatThreshold(Decimal::Zero()), "0");
}

TEST(FormatThreshold, AppendsWithoutDisturbingEarlierText) {
  std::string out = "[";
  AppendThreshold(I(80), &out);
  out += ",";
  AppendThreshold(D("80.25"), &out);
  out += "]";
  EXPECT_EQ(out, "[80,80.25]");
}

// --- percent -----------------------------------------------------------------------------------

TEST(Percent, MatchesTheBasicExample) {
  EXPECT_EQ(Str(Percent(D("2.932000030"), D("2.50"))), "117.280001200");
  EXPECT_EQ(PercentRounded(D("2.932000030"), D("2.50")), 117);
}

TEST(Percent, MatchesTheTiersExampleOnBilledBasis) {
  EXPECT_EQ(Str(Percent(D("16.654"), D("17.00"))), "97.964705882");
  EXPECT_EQ(PercentRounded(D("16.654"), D("17.00")), 98);
}

TEST(Percent, MatchesTheCurrenciesExample) {
  EXPECT_EQ(Str(Percent(D("24.192"), D("25.00"))), "96.768000000");
  EXPECT_EQ(PercentRounded(D("24.192"), D("25.00")), 97);
  EXPECT_EQ(Str(Percent(D("20.16"), D("25.00"))), "80.640000000");
  EXPECT_EQ(PercentRounded(D("20.16"), D("25.00")), 81);
  EXPECT_EQ(Str(Percent(D("24.500148148"), D("500"))), "4.900029630");
  EXPECT_EQ(PercentRounded(D("24.500148148"), D("500")), 5);
  EXPECT_EQ(Str(Percent(D("185.436"), D("500"))), "37.087200000");
  EXPECT_EQ(PercentRounded(D("185.436"), D("500")), 37);
  EXPECT_EQ(Str(Percent(Decimal::Zero(), D("10.00"))), "0.000000000");
  EXPECT_EQ(PercentRounded(Decimal::Zero(), D("10.00")), 0);
}

TEST(Percent, MatchesTheSourceDocumentsRoundedExamples) {
  EXPECT_EQ(PercentRounded(D("30.65"), D("200")), 15);  // NOK 30.65 of 200 -> 15%
  EXPECT_EQ(PercentRounded(D("6.33"), D("20")), 32);    // £6.33 of £20 -> 32%
}

TEST(PercentRounded, RoundsAnExactHalfUpNotToEven) {
  // 1.25 / 10 = 12.5 % exactly: half-up gives 13 where half-even would give 12.
  EXPECT_EQ(PercentRounded(D("1.25"), D("10")), 13);
  EXPECT_EQ(PercentRounded(D("1.15"), D("10")), 12);  // 11.5 -> 12 either way
  EXPECT_EQ(Str(Percent(D("1.25"), D("10"))), "12.500000000");
  // Just below the half rounds down: the quotient is judged exactly, not after round9.
  EXPECT_EQ(PercentRounded(D("1.249999999"), D("10")), 12);
  // 0.49999999999750 %: round9 prints 0.500000000, yet the exact quotient rounds to 0.
  EXPECT_EQ(Str(Percent(D("1"), D("200.000000001"))), "0.500000000");
  EXPECT_EQ(PercentRounded(D("1"), D("199.999999999")), 1);  // 0.500000000001..% -> 1
  EXPECT_EQ(PercentRounded(D("1"), D("200.000000001")), 0);  // 0.499999999997..% -> 0
}

TEST(Percent, RoundsTheNinthDigitHalfToEven) {
  // 0.000000003 / 200 × 100 = 0.0000000015 exactly: a tie, the even neighbour is ...2.
  EXPECT_EQ(Str(Percent(D("0.000000003"), D("200"))), "0.000000002");
  // 0.000000005 / 200 × 100 = 0.0000000025: the even neighbour is ...2 again.
  EXPECT_EQ(Str(Percent(D("0.000000005"), D("200"))), "0.000000002");
  // 0.000000001 / 200 × 100 = 0.0000000005 -> 0.
  EXPECT_EQ(Str(Percent(D("0.000000001"), D("200"))), "0.000000000");
}

TEST(Percent, IsUndefinedForAZeroAmount) {
  EXPECT_EQ(Percent(I(1), Decimal::Zero()), std::nullopt);
  EXPECT_EQ(PercentRounded(I(1), Decimal::Zero()), std::nullopt);
}

// --- forecast ----------------------------------------------------------------------------------

TEST(Forecast, MatchesTheBasicExampleNineteenAndAHalfDaysIntoNovember) {
  EXPECT_EQ(Str(Forecast(D("2.932000030"), kNov2026, ExampleNow())), "4.510769277");
}

TEST(Forecast, MatchesTheTiersExample) {
  EXPECT_EQ(Str(Forecast(D("16.654"), kNov2026, ExampleNow())), "25.621538462");
}

TEST(Forecast, MatchesTheCurrenciesExample) {
  EXPECT_EQ(Str(Forecast(D("20.16"), kNov2026, ExampleNow())), "31.015384615");
  EXPECT_EQ(Str(Forecast(D("185.436"), kNov2026, ExampleNow())), "285.286153846");
  EXPECT_EQ(Str(Forecast(D("0.474"), kNov2026, ExampleNow())), "0.729230769");
  EXPECT_EQ(Str(Forecast(D("0.71424"), kNov2026, ExampleNow())), "1.098830769");
  EXPECT_EQ(Str(Forecast(Decimal::Zero(), kNov2026, ExampleNow())), "0.000000000");
}

TEST(Forecast, OfAFinishedMonthIsItsSpend) {
  EXPECT_EQ(Str(Forecast(D("24.192"), kOct2026, ExampleNow())), "24.192000000");
  EXPECT_EQ(Str(Forecast(D("24.500148148"), kOct2026, ExampleNow())), "24.500148148");
  // Exactly at the end of the month elapsed equals the whole month.
  EXPECT_EQ(Str(Forecast(D("7"), kOct2026, At("2026-11-01T00:00:00Z"))), "7.000000000");
}

TEST(Forecast, OfAMonthAfterNowIsItsSpend) {
  EXPECT_EQ(Str(Forecast(D("3.5"), kDec2026, ExampleNow())), "3.500000000");
  // One nanosecond before the month starts is still "after now".
  EXPECT_EQ(Str(Forecast(D("3.5"), kDec2026, At("2026-11-30T23:59:59.999999999Z"))), "3.500000000");
}

TEST(Forecast, ClampsElapsedToOneDayEarlyInTheMonth) {
  // Six hours in: elapsed is clamped up to 1 day, so the forecast is spend × 30, not × 120.
  EXPECT_EQ(Str(Forecast(D("2"), kNov2026, At("2026-11-01T06:00:00Z"))), "60.000000000");
  // At the very first instant too.
  EXPECT_EQ(Str(Forecast(D("2"), kNov2026, At("2026-11-01T00:00:00Z"))), "60.000000000");
  // Exactly one day in: the same.
  EXPECT_EQ(Str(Forecast(D("2"), kNov2026, At("2026-11-02T00:00:00Z"))), "60.000000000");
}

TEST(Forecast, CountsElapsedTimeToTheNanosecond) {
  // elapsed = 1 day + 1 ns: 10^12 × 30 × 86400e9 / (86400e9 + 1) = 29999999999999.652777777…
  EXPECT_EQ(Str(Forecast(D("1000000000000"), kNov2026, At("2026-11-02T00:00:00.000000001Z"))),
            "29999999999999.652777778");
}

TEST(Forecast, UsesTheDaysOfALeapFebruary) {
  // 14 days into February 2028 (29 days): 14 × 29 / 14 = 29.
  EXPECT_EQ(Str(Forecast(D("14"), MonthFromYm(2028, 2), At("2028-02-15T00:00:00Z"))),
            "29.000000000");
  // February 2027 has 28 days.
  EXPECT_EQ(Str(Forecast(D("14"), MonthFromYm(2027, 2), At("2027-02-15T00:00:00Z"))),
            "28.000000000");
  // 29 Feb 2028 noon: 28.5 of 29 days.  10 × 29 / 28.5 = 10.175438596491…
  EXPECT_EQ(Str(Forecast(D("10"), MonthFromYm(2028, 2), At("2028-02-29T12:00:00Z"))),
            "10.175438596");
}

TEST(Forecast, RoundsHalfToEven) {
  // 2026-11-13T00:00Z is 12 of 30 days, a factor of exactly 2.5:
  // 0.000000001 × 2.5 = 0.0000000025, a tie that goes to the even ...2.
  EXPECT_EQ(Str(Forecast(D("0.000000001"), kNov2026, At("2026-11-13T00:00:00Z"))), "0.000000002");
  EXPECT_EQ(Str(Forecast(D("0.000000003"), kNov2026, At("2026-11-13T00:00:00Z"))),
            "0.000000008");  // 7.5 -> 8
}

// --- days remaining ----------------------------------------------------------------------------

TEST(DaysRemaining, CountsTheDaysAfterToday) {
  EXPECT_EQ(DaysRemaining(kNov2026, ExampleNow()), 10);
  EXPECT_EQ(DaysRemaining(kNov2026, At("2026-11-30T23:59:59Z")), 0);
  EXPECT_EQ(DaysRemaining(kNov2026, At("2026-11-01T00:00:00Z")), 29);
}

TEST(DaysRemaining, IsZeroForPastAndWholeForFutureMonths) {
  EXPECT_EQ(DaysRemaining(kOct2026, ExampleNow()), 0);
  EXPECT_EQ(DaysRemaining(kDec2026, ExampleNow()), 31);
  EXPECT_EQ(DaysRemaining(MonthFromYm(2028, 2), ExampleNow()), 29);
}

// --- exact comparisons -------------------------------------------------------------------------

TEST(ReachesThreshold, FiresAtExactlyEightyPercent) {
  // 80% of 2.50 is 2.00.
  EXPECT_TRUE(ReachesThreshold(D("2.00"), I(80), D("2.50")));
  EXPECT_FALSE(ReachesThreshold(D("1.999999999"), I(80), D("2.50")));
  // A fractional threshold with an amount whose product needs all 18 fractional digits.
  // 80.5% of 0.000000003 = 0.000000002415: 0.000000002 does not reach, 0.000000003 does.
  EXPECT_FALSE(ReachesThreshold(D("0.000000002"), D("80.5"), D("0.000000003")));
  EXPECT_TRUE(ReachesThreshold(D("0.000000003"), D("80.5"), D("0.000000003")));
}

TEST(ReachesThreshold, NeverComparesRoundedPercents) {
  // 79.9999999996%: percent rounds to 80.000000000 and percent_rounded to 80, but the spend does
  // not reach 80% (§8.27).
  const Decimal amount = D("2500");
  const Decimal spend = D("1999.99999999");  // 79.999999999600 %
  EXPECT_EQ(Str(Percent(spend, amount)), "80.000000000");
  EXPECT_EQ(PercentRounded(spend, amount), 80);
  EXPECT_FALSE(ReachesThreshold(spend, I(80), amount));
  EXPECT_TRUE(ReachesThreshold(D("2000"), I(80), amount));
}

TEST(ReachesThreshold, StaysExactAtTheLargestAmounts) {
  // 10^15 amount, threshold 999.999999999%: the products need ~2^160.
  const Decimal threshold = D("999.999999999");
  const Decimal just = D("9999999999990000");  // = 10^15 × 9.99999999999
  EXPECT_TRUE(ReachesThreshold(just, threshold, kMaxAmount));
  EXPECT_FALSE(ReachesThreshold(just - Decimal::FromNanos(1), threshold, kMaxAmount));
}

TEST(ReachesThreshold, NegativeSpendReachesNothing) {
  EXPECT_FALSE(ReachesThreshold(D("-1"), D("0.000000001"), I(1)));
}

TEST(CompareProducts, GivesTheExactSignForWideAndSignedOperands) {
  const int128 big = int128{1} << 100;
  EXPECT_EQ(CompareProducts(big, big, big, big), 0);
  EXPECT_EQ(CompareProducts(big, big + 1, big, big), 1);
  EXPECT_EQ(CompareProducts(big, big, big + 1, big), -1);
  EXPECT_EQ(CompareProducts(-big, big, big, -big), 0);
  EXPECT_EQ(CompareProducts(-big, big, 1, 1), -1);
  EXPECT_EQ(CompareProducts(-big, -big, 1, 1), 1);
  EXPECT_EQ(CompareProducts(-3, 5, -4, 4), 1);  // -15 > -16
  EXPECT_EQ(CompareProducts(0, big, 0, -big), 0);
  EXPECT_EQ(CompareProducts(0, 5, 1, -1), 1);
}

// --- evaluation --------------------------------------------------------------------------------

TEST(EvaluateThresholds, FiresActualAndForecastAlertsOfTheBasicExample) {
  const Budget budget = MakeBudget("2.50", Basis::kList, {I(100), I(80), I(150), I(80)});
  const Decimal spend = D("2.932000030");
  const Decimal forecast = *Forecast(spend, kNov2026, ExampleNow());
  std::vector<BudgetCrossing> out;
  EvaluateThresholds(budget, spend, forecast, FiredMarks(), &out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0],
            (BudgetCrossing{AlertKind::kBudgetActual, I(80), D("2.50"), spend, D("117.2800012")}));
  EXPECT_EQ(out[1].kind, AlertKind::kBudgetActual);
  EXPECT_EQ(out[1].threshold, I(100));
  // The forecast alert carries the forecast as its spend, and the forecast's percent (§8.27).
  EXPECT_EQ(out[2].kind, AlertKind::kBudgetForecast);
  EXPECT_EQ(out[2].threshold, I(100));
  EXPECT_EQ(out[2].spend.ToString(), "4.510769277");
  EXPECT_EQ(Str(out[2].percent), "180.430771080");
  EXPECT_EQ(out[2].amount, D("2.50"));
}

TEST(EvaluateThresholds, JudgesTheTiersExampleOnItsBilledBasis) {
  const Budget budget = MakeBudget("17.00", Basis::kBilled, {I(50), I(100)});
  const Decimal list = D("17.35");
  const Decimal billed = D("16.654");
  const Decimal spend = SpendOnBasis(budget.basis, list, billed);
  EXPECT_EQ(spend, billed);
  std::vector<BudgetCrossing> out;
  EvaluateThresholds(budget, spend, *Forecast(spend, kNov2026, ExampleNow()), FiredMarks(), &out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].kind, AlertKind::kBudgetActual);
  EXPECT_EQ(out[0].threshold, I(50));
  EXPECT_EQ(Str(out[0].percent), "97.964705882");
  // List spend (17.35) is above 17 but the basis is billed: no actual 100.
  EXPECT_EQ(out[1].kind, AlertKind::kBudgetForecast);
  EXPECT_EQ(out[1].spend.ToString(), "25.621538462");
}

TEST(EvaluateThresholds, FiresEachMonthOfTheCurrenciesExampleOnItsOwn) {
  const Budget fjord = MakeBudget("25.00", Basis::kList, {I(80), I(100)});
  std::vector<BudgetCrossing> out;
  // October is finished: forecast = spend = 24.192 < 25, so only actual 80.
  const Decimal oct = D("24.192");
  EvaluateThresholds(fjord, oct, *Forecast(oct, kOct2026, ExampleNow()), FiredMarks(), &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, AlertKind::kBudgetActual);
  EXPECT_EQ(out[0].threshold, I(80));
  EXPECT_EQ(Str(out[0].percent), "96.768000000");
  // November: actual 80 (80.64 %) and forecast 100 (31.015384615 >= 25).
  const Decimal nov = D("20.16");
  EvaluateThresholds(fjord, nov, *Forecast(nov, kNov2026, ExampleNow()), FiredMarks(), &out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].threshold, I(80));
  EXPECT_EQ(out[1].kind, AlertKind::kBudgetForecast);
  EXPECT_EQ(out[1].spend.ToString(), "31.015384615");

  // Sakura (JPY, billed): nothing in either month.
  const Budget sakura = MakeBudget("500", Basis::kBilled, {I(80), I(100)});
  const Decimal sakura_nov = D("185.436");
  EvaluateThresholds(sakura, sakura_nov, *Forecast(sakura_nov, kNov2026, ExampleNow()),
                     FiredMarks(), &out);
  EXPECT_TRUE(out.empty());
  // Gota: nothing rated, nothing fires.
  const Budget gota = MakeBudget("10.00", Basis::kList, {I(80), I(100)});
  EvaluateThresholds(gota, Decimal::Zero(), Decimal::Zero(), FiredMarks(), &out);
  EXPECT_TRUE(out.empty());
}

TEST(EvaluateThresholds, DoesNotRefireMarkedThresholds) {
  const Budget budget = MakeBudget("2.50", Basis::kList, {I(80), I(100), I(150)});
  FiredMarks fired;
  EXPECT_TRUE(fired.Insert(AlertKind::kBudgetActual, I(80)));
  EXPECT_TRUE(fired.Insert(AlertKind::kBudgetForecast, I(100)));
  std::vector<BudgetCrossing> out;
  EvaluateThresholds(budget, D("2.932000030"), D("4.510769277"), fired, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, AlertKind::kBudgetActual);
  EXPECT_EQ(out[0].threshold, I(100));
}

TEST(EvaluateThresholds, KeepsActualAndForecastMarksApart) {
  const Budget budget = MakeBudget("10", Basis::kList, {I(100)}, {I(100)});
  FiredMarks fired;
  fired.Insert(AlertKind::kBudgetForecast, I(100));
  std::vector<BudgetCrossing> out;
  EvaluateThresholds(budget, I(10), I(20), fired, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, AlertKind::kBudgetActual);
}

TEST(EvaluateThresholds, FiresExactlyAtTheThresholdButNotOneNanoBelow) {
  const Budget budget = MakeBudget("2.50", Basis::kList, {I(80)}, {});
  std::vector<BudgetCrossing> out;
  EvaluateThresholds(budget, D("1.999999999"), Decimal::Zero(), FiredMarks(), &out);
  EXPECT_TRUE(out.empty());
  EvaluateThresholds(budget, D("2.000000000"), Decimal::Zero(), FiredMarks(), &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Str(out[0].percent), "80.000000000");
}

TEST(EvaluateThresholds, ClearsTheOutputBeforeAppending) {
  const Budget budget = MakeBudget("1", Basis::kList, {I(80)}, {});
  std::vector<BudgetCrossing> out(3);
  EvaluateThresholds(budget, Decimal::Zero(), Decimal::Zero(), FiredMarks(), &out);
  EXPECT_TRUE(out.empty());
}

// --- fired marks -------------------------------------------------------------------------------

TEST(FiredMarks, IsASortedSetOfKindAndThreshold) {
  FiredMarks marks({{AlertKind::kBudgetForecast, I(100)},
                    {AlertKind::kBudgetActual, I(100)},
                    {AlertKind::kBudgetActual, I(80)},
                    {AlertKind::kBudgetActual, I(80)}});
  ASSERT_EQ(marks.size(), 3u);
  EXPECT_EQ(marks.marks()[0], (FiredMark{AlertKind::kBudgetActual, I(80)}));
  EXPECT_EQ(marks.marks()[2], (FiredMark{AlertKind::kBudgetForecast, I(100)}));
  EXPECT_FALSE(marks.Insert(AlertKind::kBudgetActual, I(80)));
  EXPECT_TRUE(marks.Contains(AlertKind::kBudgetActual, D("80.0")));
  EXPECT_FALSE(marks.Contains(AlertKind::kBudgetForecast, I(80)));
  EXPECT_TRUE(marks.Erase(AlertKind::kBudgetActual, I(80)));
  EXPECT_FALSE(marks.Erase(AlertKind::kBudgetActual, I(80)));
  EXPECT_EQ(marks.size(), 2u);
}

// --- re-arming ---------------------------------------------------------------------------------

// The basic example after its alerts: actual 80 and 100, forecast 100 fired.
FiredMarks BasicExampleFired() {
  return FiredMarks({{AlertKind::kBudgetActual, I(80)},
                     {AlertKind::kBudgetActual, I(100)},
                     {AlertKind::kBudgetForecast, I(100)}});
}

TEST(RearmOnBudgetChange, RaisingTheAmountRearmsOnlyThresholdsNoLongerReached) {
  const Budget before = MakeBudget("2.50", Basis::kList, {I(80), I(100), I(150)});
  const Budget after = MakeBudget("3.00", Basis::kList, {I(80), I(100), I(150)});
  FiredMarks fired = BasicExampleFired();
  std::vector<FiredMark> rearmed;
  // 80% of 3.00 = 2.40 is still reached; 100% = 3.00 is not; the forecast 4.51 >= 3.00 still.
  RearmOnBudgetChange(before, after, D("2.932000030"), D("4.510769277"), &fired, &rearmed);
  EXPECT_EQ(rearmed, (std::vector<FiredMark>{{AlertKind::kBudgetActual, I(100)}}));
  EXPECT_EQ(fired,
            FiredMarks({{AlertKind::kBudgetActual, I(80)}, {AlertKind::kBudgetForecast, I(100)}}));
  // Re-armed thresholds fire again once the spend reaches them under the new amount.
  std::vector<BudgetCrossing> out;
  EvaluateThresholds(after, D("2.932000030"), D("4.510769277"), fired, &out);
  EXPECT_TRUE(out.empty());
  EvaluateThresholds(after, D("3.00"), D("4.61"), fired, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].threshold, I(100));
  EXPECT_EQ(out[0].amount, D("3.00"));
}

TEST(RearmOnBudgetChange, RaisingTheAmountRearmsForecastThresholdsToo) {
  const Budget before = MakeBudget("2.50", Basis::kList, {I(80), I(100)});
  const Budget after = MakeBudget("6", Basis::kList, {I(80), I(100)});
  FiredMarks fired = BasicExampleFired();
  std::vector<FiredMark> rearmed;
  RearmOnBudgetChange(before, after, D("2.932000030"), D("4.510769277"), &fired, &rearmed);
  EXPECT_EQ(rearmed, (std::vector<FiredMark>{{AlertKind::kBudgetActual, I(80)},
                                             {AlertKind::kBudgetActual, I(100)},
                                             {AlertKind::kBudgetForecast, I(100)}}));
  EXPECT_TRUE(fired.empty());
}

TEST(RearmOnBudgetChange, KeepsAMarkThatTheSpendStillReachesExactly) {
  const Budget before = MakeBudget("2", Basis::kList, {I(100)}, {});
  const Budget after = MakeBudget("2.5", Basis::kList, {I(100)}, {});
  FiredMarks fired({{AlertKind::kBudgetActual, I(100)}});
  RearmOnBudgetChange(before, after, D("2.5"), Decimal::Zero(), &fired, nullptr);
  EXPECT_TRUE(fired.Contains(AlertKind::kBudgetActual, I(100)));
  RearmOnBudgetChange(after, MakeBudget("2.500000001", Basis::kList, {I(100)}, {}), D("2.5"),
                      Decimal::Zero(), &fired, nullptr);
  EXPECT_FALSE(fired.Contains(AlertKind::kBudgetActual, I(100)));
}

TEST(RearmOnBudgetChange, LoweringOrKeepingTheAmountRearmsNothing) {
  const Budget before = MakeBudget("2.50", Basis::kList, {I(80), I(100), I(150)});
  FiredMarks fired = BasicExampleFired();
  std::vector<FiredMark> rearmed;
  RearmOnBudgetChange(before, before, D("0"), D("0"), &fired, &rearmed);
  const Budget lower = MakeBudget("1.90", Basis::kList, {I(80), I(100), I(150)});
  RearmOnBudgetChange(before, lower, D("0"), D("0"), &fired, &rearmed);
  EXPECT_TRUE(rearmed.empty());
  EXPECT_EQ(fired, BasicExampleFired());
  // A lowered amount can fire at once (§8.28): 150% of 1.90 = 2.85 <= 2.932000030.
  std::vector<BudgetCrossing> out;
  EvaluateThresholds(lower, D("2.932000030"), D("4.510769277"), fired, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].threshold, I(150));
  EXPECT_EQ(out[0].amount, D("1.90"));
}

TEST(RearmOnBudgetChange, DeleteAndRecreateKeepsFiredMarksEvenWithAHigherAmount) {
  const Budget recreated = MakeBudget("100", Basis::kList, {I(80), I(100)});
  FiredMarks fired = BasicExampleFired();
  std::vector<FiredMark> rearmed;
  RearmOnBudgetChange(std::nullopt, recreated, D("2.932000030"), D("4.510769277"), &fired,
                      &rearmed);
  EXPECT_TRUE(rearmed.empty());
  EXPECT_EQ(fired, BasicExampleFired());
}

TEST(RearmOnBudgetChange, ChangingBasisOrThresholdsKeepsFiredMarks) {
  const Budget before = MakeBudget("17.00", Basis::kList, {I(50), I(100)});
  // Same amount, billed basis: billed 16.654 < 17 no longer reaches 100, but nothing re-arms.
  const Budget billed = MakeBudget("17.00", Basis::kBilled, {I(50), I(100)});
  FiredMarks fired({{AlertKind::kBudgetActual, I(50)}, {AlertKind::kBudgetActual, I(100)}});
  std::vector<FiredMark> rearmed;
  RearmOnBudgetChange(before, billed, D("16.654"), D("25.621538462"), &fired, &rearmed);
  EXPECT_TRUE(rearmed.empty());
  EXPECT_EQ(fired.size(), 2u);
  // New thresholds are evaluated at once; the fired 50 stays fired.
  const Budget more = MakeBudget("17.00", Basis::kBilled, {I(50), I(90), I(100)});
  RearmOnBudgetChange(billed, more, D("16.654"), D("25.621538462"), &fired, &rearmed);
  EXPECT_TRUE(rearmed.empty());
  std::vector<BudgetCrossing> out;
  EvaluateThresholds(more, D("16.654"), D("25.621538462"), fired, &out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].kind, AlertKind::kBudgetActual);
  EXPECT_EQ(out[0].threshold, I(90));
  EXPECT_EQ(out[1].kind, AlertKind::kBudgetForecast);
}

TEST(RearmOnBudgetChange, JudgesReachOnTheNewBasisSpendItIsGiven) {
  // Amount raised and basis switched to billed in one change: the caller passes billed spend.
  const Budget before = MakeBudget("17.00", Basis::kList, {I(100)}, {});
  const Budget after = MakeBudget("17.50", Basis::kBilled, {I(100)}, {});
  FiredMarks fired({{AlertKind::kBudgetActual, I(100)}});
  RearmOnBudgetChange(before, after, D("16.654"), Decimal::Zero(), &fired, nullptr);
  EXPECT_TRUE(fired.empty());
}

TEST(RearmOnBudgetChange, RearmsMarksOfThresholdsNoLongerListed) {
  const Budget before = MakeBudget("10", Basis::kList, {I(80)}, {});
  const Budget after = MakeBudget("20", Basis::kList, {I(90)}, {});
  FiredMarks fired({{AlertKind::kBudgetActual, I(80)}});
  std::vector<FiredMark> rearmed;
  RearmOnBudgetChange(before, after, I(9), Decimal::Zero(), &fired, &rearmed);
  EXPECT_EQ(rearmed.size(), 1u);
  EXPECT_TRUE(fired.empty());
}

TEST(RearmOnBudgetChange, IgnoresNonBudgetMarks) {
  const Budget before = MakeBudget("10", Basis::kList, {I(80)}, {});
  const Budget after = MakeBudget("20", Basis::kList, {I(80)}, {});
  FiredMarks fired({{AlertKind::kAnomaly, I(1)}});
  RearmOnBudgetChange(before, after, Decimal::Zero(), Decimal::Zero(), &fired, nullptr);
  EXPECT_EQ(fired.size(), 1u);
}

// A property check against a slow reference: percent comparisons via Percent() on random
// exact-decimal cases must agree with ReachesThreshold whenever the percent is not rounded.
TEST(ReachesThreshold, AgreesWithAnExactRationalReference) {
  uint64_t state = 0x9e3779b97f4a7c15ull;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  for (int i = 0; i < 20000; ++i) {
    const int128 amount = 1 + static_cast<int128>(next() % 1'000'000'000'000ull);
    const int128 threshold = 1 + static_cast<int128>(next() % 1'000'000'000'000ull);
    // A spend near the threshold: exact boundary ± a few nanos, or random.
    int128 spend;
    const int128 boundary_num = threshold * amount;  // spend × 10^11 vs this
    switch (next() % 3) {
      case 0:
        spend = boundary_num / 100'000'000'000 + static_cast<int128>(next() % 5) - 2;
        break;
      case 1:
        spend = (boundary_num + 99'999'999'999) / 100'000'000'000;
        break;
      default:
        spend = static_cast<int128>(next() % 2'000'000'000'000ull);
    }
    const bool expected = spend * 100'000'000'000 >= boundary_num;  // fits: < 2^127
    ASSERT_EQ(ReachesThreshold(Decimal::FromNanos(spend), Decimal::FromNanos(threshold),
                               Decimal::FromNanos(amount)),
              expected);
  }
}

}  // namespace
}  // namespace meterd::rating
