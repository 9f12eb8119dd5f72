// Robust daily-spend anomaly rule. All statistics stay integers: the median of an even-sized set
// is kept doubled (half nano-units) and the MAD quadrupled (quarter nano-units), so nothing is
// ever rounded before the decision; only the reported median, MAD and score are rounded.

#include "rating/anomaly.h"

#include <algorithm>
#include <array>

#include "rating/budget.h"

namespace meterd::rating {
namespace {

// 1.4826 and 1.253314: the factors that make the MAD and the mean absolute deviation estimate
// the standard deviation of normal data, as integer / scale.
constexpr int128 kMadFactor = 14826;
constexpr int128 kMadScale = 10'000;
constexpr int128 kMeanAdFactor = 1'253'314;
constexpr int128 kMeanAdScale = 1'000'000;

int128 Abs(int128 v) { return v < 0 ? -v : v; }

// The median of sorted values[0..n) times two, exact.
int128 DoubledMedian(const int128* sorted, int n) {
  if (n % 2 == 1) return 2 * sorted[n / 2];
  return sorted[n / 2 - 1] + sorted[n / 2];
}

// round9 of value / divisor, half to even (divisor 2 or 4: back from half / quarter nanos).
Decimal FromScaledNanos(int128 value, int128 divisor) {
  return MulDivRound9(Decimal::FromNanos(value), 1, divisor).value_or(Decimal::Zero());
}

}  // namespace

Status ValidateAnomalyParams(const AnomalyParams& params) {
  if (params.window_days < 1 || params.window_days > kMaxAnomalyWindowDays) {
    return Status::InvalidArgument("anomaly window_days: must be in [1, " +
                                   std::to_string(kMaxAnomalyWindowDays) + "]");
  }
  if (params.min_history_days < 1 || params.min_history_days > params.window_days) {
    return Status::InvalidArgument("anomaly min_history_days: must be in [1, window_days]");
  }
  if (params.min_score.IsNegative()) {
    return Status::InvalidArgument("anomaly min_score: must not be negative");
  }
  if (params.floor_amount.IsNegative()) {
    return Status::InvalidArgument("anomaly floor_amount: must not be negative");
  }
  if (params.min_ratio.IsNegative()) {
    return Status::InvalidArgument("anomaly min_ratio: must not be negative");
  }
  return Status::Ok();
}

std::string_view AnomalyOutcomeName(AnomalyOutcome outcome) {
  switch (outcome) {
    case AnomalyOutcome::kFires:
      return "fires";
    case AnomalyOutcome::kShortHistory:
      return "short_history";
    case AnomalyOutcome::kBelowFloor:
      return "below_floor";
    case AnomalyOutcome::kBelowRatio:
      return "below_ratio";
    case AnomalyOutcome::kBelowScore:
      return "below_score";
  }
  return "unknown";
}

AnomalyAssessment AssessDailySpend(Decimal day_spend, std::span<const Decimal> history,
                                   const AnomalyParams& params) {
  AnomalyAssessment result;
  const int n =
      static_cast<int>(std::min<size_t>(history.size(), static_cast<size_t>(params.window_days)));
  result.history_days = n;
  if (n < params.min_history_days || n == 0) {
    result.outcome = AnomalyOutcome::kShortHistory;
    return result;
  }

  std::array<int128, kMaxAnomalyWindowDays> values;
  const auto recent = history.last(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) values[i] = recent[i].nanos();
  std::sort(values.begin(), values.begin() + n);
  const int128 median2 = DoubledMedian(values.data(), n);  // half nano-units

  std::array<int128, kMaxAnomalyWindowDays> deviations;  // |v − median| in half nano-units
  int128 deviation_sum2 = 0;                             // half nano-units
  for (int i = 0; i < n; ++i) {
    deviations[i] = Abs(2 * values[i] - median2);
    deviation_sum2 += deviations[i];
  }
  std::sort(deviations.begin(), deviations.begin() + n);
  const int128 mad4 = DoubledMedian(deviations.data(), n);  // quarter nano-units

  result.median = FromScaledNanos(median2, 2);
  result.mad = FromScaledNanos(mad4, 4);

  // The score test as a cross-multiplication: excess × excess_scale >= min_score × spread_scale,
  // both sides in the same (fractional) units; see the header for the two forms.
  const int128 x = day_spend.nanos();
  int128 excess = 0, excess_scale = 0, spread_factor = 0, spread = 0;
  if (mad4 > 0) {
    result.spread = AnomalySpread::kMad;
    excess = 4 * x - 2 * median2;  // 4·(x − median)
    excess_scale = int128{Decimal::kScale} * kMadScale;
    spread_factor = kMadFactor;
    spread = mad4;
  } else if (deviation_sum2 > 0) {
    result.spread = AnomalySpread::kMeanAbsoluteDeviation;
    excess = 2 * x - median2;  // 2·(x − median)
    excess_scale = int128{Decimal::kScale} * kMeanAdScale * n;
    spread_factor = kMeanAdFactor;
    spread = deviation_sum2;
  } else {
    excess = 2 * x - median2;  // a flat history: only the sign of the excess matters
  }
  if (excess > 0 && spread > 0) {
    result.score = MulDivRound9(Decimal::FromNanos(excess), excess_scale, spread_factor * spread);
  }

  if (day_spend < params.floor_amount) {
    result.outcome = AnomalyOutcome::kBelowFloor;
    return result;
  }
  // x >= ratio × median  ⇔  2x × 10^9 >= ratio_nanos × 2·median.
  if (CompareProducts(2 * x, Decimal::kScale, params.min_ratio.nanos(), median2) < 0) {
    result.outcome = AnomalyOutcome::kBelowRatio;
    return result;
  }
  // A day at or below its median is never an anomaly; over a flat history any rise above it is
  // infinitely many deviations, so only floor and ratio decide.
  if (excess <= 0 ||
      (spread > 0 && CompareProducts(excess, excess_scale, params.min_score.nanos() * spread_factor,
                                     spread) < 0)) {
    result.outcome = AnomalyOutcome::kBelowScore;
    return result;
  }
  result.outcome = AnomalyOutcome::kFires;
  return result;
}

}  // namespace meterd::rating
