// The anomaly rule on a customer's daily spend: history length, flat and noisy histories, the
// exact score boundary, zero-MAD histories, and the order in which the checks report.

#include "rating/anomaly.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace meterd::rating {
namespace {

Decimal D(std::string_view text) {
  Decimal d;
  EXPECT_EQ(Decimal::Parse(text, &d), DecimalError::kOk) << text;
  return d;
}

std::vector<Decimal> Days(std::initializer_list<std::string_view> values) {
  std::vector<Decimal> out;
  for (std::string_view v : values) out.push_back(D(v));
  return out;
}

std::vector<Decimal> Repeat(std::string_view value, int n) {
  return std::vector<Decimal>(static_cast<size_t>(n), D(value));
}

std::string Str(std::optional<Decimal> d) { return d ? d->ToString() : "nullopt"; }

// Median 10, MAD 1.
std::vector<Decimal> NoisyHistory() {
  return Days({"10", "12", "8", "11", "9", "10", "13", "7", "10", "11", "9", "12", "10", "8"});
}

TEST(ValidateAnomalyParams, AcceptsTheDefaults) {
  EXPECT_TRUE(ValidateAnomalyParams(AnomalyParams{}).ok());
}

TEST(ValidateAnomalyParams, RejectsInconsistentWindowsAndNegativeLimits) {
  AnomalyParams p;
  p.window_days = 0;
  EXPECT_EQ(ValidateAnomalyParams(p).code(), StatusCode::kInvalidArgument);
  p.window_days = kMaxAnomalyWindowDays + 1;
  EXPECT_FALSE(ValidateAnomalyParams(p).ok());
  p = AnomalyParams{};
  p.min_history_days = 15;  // more than the 14-day window
  EXPECT_FALSE(ValidateAnomalyParams(p).ok());
  p.min_history_days = 0;
  EXPECT_FALSE(ValidateAnomalyParams(p).ok());
  p = AnomalyParams{};
  p.min_score = D("-1");
  EXPECT_FALSE(ValidateAnomalyParams(p).ok());
  p = AnomalyParams{};
  p.floor_amount = D("-0.000000001");
  EXPECT_FALSE(ValidateAnomalyParams(p).ok());
  p = AnomalyParams{};
  p.min_ratio = D("-3");
  Status s = ValidateAnomalyParams(p);
  EXPECT_NE(s.message().find("min_ratio"), std::string::npos);
}

TEST(AssessDailySpend, NeverFiresWithFewerThanSevenDaysOfHistory) {
  const auto six = Repeat("1", 6);
  const AnomalyAssessment a = AssessDailySpend(D("1000000"), six, AnomalyParams{});
  EXPECT_EQ(a.outcome, AnomalyOutcome::kShortHistory);
  EXPECT_FALSE(a.fires());
  EXPECT_EQ(a.history_days, 6);
  EXPECT_EQ(AssessDailySpend(D("1000000"), {}, AnomalyParams{}).outcome,
            AnomalyOutcome::kShortHistory);

  const auto seven = Repeat("1", 7);
  EXPECT_TRUE(AssessDailySpend(D("1000000"), seven, AnomalyParams{}).fires());
}

TEST(AssessDailySpend, UsesOnlyTheLastWindowDays) {
  // 16 expensive days long ago, then 14 days at 5: the window sees only the 5s.
  std::vector<Decimal> history = Repeat("1000", 16);
  const auto recent = Repeat("5", 14);
  history.insert(history.end(), recent.begin(), recent.end());
  const AnomalyAssessment a = AssessDailySpend(D("20"), history, AnomalyParams{});
  EXPECT_EQ(a.history_days, 14);
  EXPECT_EQ(a.median.ToString(), "5.000000000");
  EXPECT_TRUE(a.fires());
}

TEST(AssessDailySpend, AnOrdinaryDayOverAFlatHistoryDoesNotFire) {
  const auto flat = Repeat("5", 14);
  const AnomalyAssessment a = AssessDailySpend(D("5"), flat, AnomalyParams{});
  EXPECT_EQ(a.outcome, AnomalyOutcome::kBelowFloor);
  EXPECT_EQ(a.median.ToString(), "5.000000000");
  EXPECT_EQ(a.mad.ToString(), "0.000000000");
  EXPECT_EQ(a.spread, AnomalySpread::kNone);

  AnomalyParams no_floor;
  no_floor.floor_amount = Decimal::Zero();
  EXPECT_EQ(AssessDailySpend(D("5"), flat, no_floor).outcome, AnomalyOutcome::kBelowRatio);
  // Even with floor and ratio off, a day at (or below) the median is not an anomaly.
  no_floor.min_ratio = Decimal::Zero();
  EXPECT_EQ(AssessDailySpend(D("5"), flat, no_floor).outcome, AnomalyOutcome::kBelowScore);
  EXPECT_EQ(AssessDailySpend(D("4"), flat, no_floor).outcome, AnomalyOutcome::kBelowScore);
  EXPECT_TRUE(AssessDailySpend(D("5.000000001"), flat, no_floor).fires());
}

TEST(AssessDailySpend, OverAFlatHistoryOnlyFloorAndRatioDecide) {
  const auto flat = Repeat("5", 14);
  // 3 × median = 15 exactly: reached.
  const AnomalyAssessment at = AssessDailySpend(D("15"), flat, AnomalyParams{});
  EXPECT_TRUE(at.fires());
  EXPECT_EQ(at.score, std::nullopt);  // no spread to divide by
  EXPECT_EQ(AssessDailySpend(D("14.999999999"), flat, AnomalyParams{}).outcome,
            AnomalyOutcome::kBelowRatio);
}

TEST(AssessDailySpend, FiresOnASpikeOverANoisyHistory) {
  const AnomalyAssessment a = AssessDailySpend(D("30"), NoisyHistory(), AnomalyParams{});
  EXPECT_TRUE(a.fires());
  EXPECT_EQ(a.spread, AnomalySpread::kMad);
  EXPECT_EQ(a.median.ToString(), "10.000000000");
  EXPECT_EQ(a.mad.ToString(), "1.000000000");
  EXPECT_EQ(Str(a.score), "13.489815190");  // 20 / 1.4826
}

TEST(AssessDailySpend, ChecksTheRatioBeforeTheScore) {
  // 29.999999999 is 13.5 MADs above the median but not 3 × the median.
  EXPECT_EQ(AssessDailySpend(D("29.999999999"), NoisyHistory(), AnomalyParams{}).outcome,
            AnomalyOutcome::kBelowRatio);
  AnomalyParams no_ratio;
  no_ratio.min_ratio = Decimal::Zero();
  const AnomalyAssessment normal = AssessDailySpend(D("12"), NoisyHistory(), no_ratio);
  EXPECT_EQ(normal.outcome, AnomalyOutcome::kBelowScore);
  EXPECT_EQ(Str(normal.score), "1.348981519");
}

TEST(AssessDailySpend, ChecksTheFloorFirst) {
  // A tiny customer tripling its usage is not worth an alert.
  const auto small = Repeat("0.10", 14);
  EXPECT_EQ(AssessDailySpend(D("9.999999999"), small, AnomalyParams{}).outcome,
            AnomalyOutcome::kBelowFloor);
  EXPECT_TRUE(AssessDailySpend(D("10"), small, AnomalyParams{}).fires());
}

TEST(AssessDailySpend, DecidesTheScoreBoundaryExactly) {
  // Median 10, MAD 4: 6 robust deviations are 10 + 6 × 1.4826 × 4 = 45.5824 exactly.
  const auto history = Days({"6", "6", "6", "10", "14", "14", "14"});
  const AnomalyAssessment at = AssessDailySpend(D("45.5824"), history, AnomalyParams{});
  EXPECT_TRUE(at.fires());
  EXPECT_EQ(at.mad.ToString(), "4.000000000");
  EXPECT_EQ(Str(at.score), "6.000000000");
  const AnomalyAssessment below = AssessDailySpend(D("45.582399999"), history, AnomalyParams{});
  EXPECT_EQ(below.outcome, AnomalyOutcome::kBelowScore);
  // Its rounded score prints 6.000000000 too: the decision is never made on the rounded value.
  EXPECT_EQ(Str(below.score), "6.000000000");
}

TEST(AssessDailySpend, AZeroMadHistoryWithIntermittentUsageFallsBackToTheMeanDeviation) {
  // Usage on 6 of 14 days (a weekly batch job, say): median 0 and MAD 0. Judged on the MAD
  // alone every spending day would be an anomaly; the mean absolute deviation (600 / 14) keeps
  // an ordinary batch day quiet.
  std::vector<Decimal> history = Repeat("0", 8);
  const auto batch = Repeat("100", 6);
  history.insert(history.end(), batch.begin(), batch.end());
  const AnomalyAssessment ordinary = AssessDailySpend(D("100"), history, AnomalyParams{});
  EXPECT_EQ(ordinary.outcome, AnomalyOutcome::kBelowScore);
  EXPECT_EQ(ordinary.spread, AnomalySpread::kMeanAbsoluteDeviation);
  EXPECT_EQ(ordinary.median.ToString(), "0.000000000");
  EXPECT_EQ(ordinary.mad.ToString(), "0.000000000");
  EXPECT_EQ(Str(ordinary.score), "1.861730846");  // 100 / (1.253314 × 600 / 14)
  // Boundary: 6 × 1.253314 × 600 / 14 = 322.2807428571428…
  EXPECT_EQ(AssessDailySpend(D("322.280742857"), history, AnomalyParams{}).outcome,
            AnomalyOutcome::kBelowScore);
  const AnomalyAssessment spike = AssessDailySpend(D("322.280742858"), history, AnomalyParams{});
  EXPECT_TRUE(spike.fires());
  EXPECT_EQ(Str(AssessDailySpend(D("323"), history, AnomalyParams{}).score), "6.013390632");
}

TEST(AssessDailySpend, AnIdleHistoryFiresOnTheFirstDayAboveTheFloor) {
  // Fourteen days of nothing, then real spend: the pattern of a hijacked subscription.
  const auto idle = Repeat("0", 14);
  EXPECT_TRUE(AssessDailySpend(D("10"), idle, AnomalyParams{}).fires());
  EXPECT_EQ(AssessDailySpend(D("9.999999999"), idle, AnomalyParams{}).outcome,
            AnomalyOutcome::kBelowFloor);
  AnomalyParams no_floor;
  no_floor.floor_amount = Decimal::Zero();
  EXPECT_EQ(AssessDailySpend(Decimal::Zero(), idle, no_floor).outcome, AnomalyOutcome::kBelowScore);
}

TEST(AssessDailySpend, JudgesAgainstTheUnroundedMedianOfAnEvenHistory) {
  AnomalyParams p;
  p.window_days = 2;
  p.min_history_days = 2;
  p.floor_amount = Decimal::Zero();
  p.min_ratio = Decimal::Zero();
  p.min_score = Decimal::Zero();
  const auto history = Days({"0.000000001", "0.000000002"});  // median 1.5 nano-units
  const AnomalyAssessment a = AssessDailySpend(D("0.000000002"), history, p);
  EXPECT_EQ(a.median.ToString(), "0.000000002");  // reported half-even
  EXPECT_EQ(a.mad.ToString(), "0.000000000");     // 0.5 nano-units, half-even to 0
  EXPECT_TRUE(a.fires());  // 2 > 1.5, though 2 is not above the rounded median
  EXPECT_EQ(AssessDailySpend(D("0.000000001"), history, p).outcome, AnomalyOutcome::kBelowScore);
}

TEST(AssessDailySpend, DoesNotDependOnTheOrderOfTheHistory) {
  auto history = NoisyHistory();
  const AnomalyAssessment a = AssessDailySpend(D("30"), history, AnomalyParams{});
  std::reverse(history.begin(), history.end());
  const AnomalyAssessment b = AssessDailySpend(D("30"), history, AnomalyParams{});
  EXPECT_EQ(a.outcome, b.outcome);
  EXPECT_EQ(a.median, b.median);
  EXPECT_EQ(a.mad, b.mad);
  EXPECT_EQ(a.score, b.score);
}

// Property: for a fixed history, firing is monotone in the day's spend, and a fired day's spend
// is at least the floor, at least ratio × median, and above the median.
TEST(AssessDailySpend, FiringIsMonotoneInTheDaysSpend) {
  uint64_t state = 0x2545f4914f6cdd1dull;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  const AnomalyParams params;
  for (int round = 0; round < 2000; ++round) {
    std::vector<Decimal> history;
    const int n = 7 + static_cast<int>(next() % 8);
    const int64_t base = static_cast<int64_t>(next() % 50'000'000'000);  // up to 50 units
    for (int i = 0; i < n; ++i) {
      const int64_t jitter = static_cast<int64_t>(next() % 8'000'000'000);
      history.push_back(Decimal::FromNanos(next() % 4 == 0 ? 0 : base + jitter));
    }
    int64_t previous_fired_at = -1;
    bool fired_before = false;
    for (int64_t step = 0; step <= 400; ++step) {
      const Decimal x = Decimal::FromNanos(int128{step} * 1'000'000'000);
      const AnomalyAssessment a = AssessDailySpend(x, history, params);
      if (fired_before) {
        ASSERT_TRUE(a.fires()) << "round " << round << " step " << step << " after "
                               << previous_fired_at;
      }
      if (a.fires()) {
        if (!fired_before) previous_fired_at = step;
        fired_before = true;
        ASSERT_GE(x, params.floor_amount);
        ASSERT_GT(x, a.median);
      }
    }
  }
}

}  // namespace
}  // namespace meterd::rating
