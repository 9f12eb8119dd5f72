// The `anomaly` alert rule (domain §5; documented for partners in docs/alerts.md): a customer's
// daily spend far above its own trailing norm, judged robustly on the median and the median
// absolute deviation (MAD) of its recent complete days, with exact decimal arithmetic.
// Pure functions and value types: thread-compatible, no allocation.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "common/status.h"
#include "rating/decimal.h"

namespace meterd::rating {

// Upper bound for AnomalyParams::window_days; keeps the evaluation on fixed stack buffers.
inline constexpr int kMaxAnomalyWindowDays = 62;

// Tunables of the rule; the daemon config maps them ([anomaly] in the TOML file).
struct AnomalyParams {
  // How many complete days before the evaluated day form the history.
  int window_days = 14;
  // Fewer days of history than this: never fire (a new customer has no norm yet).
  int min_history_days = 7;
  // Robust z-score needed: (x − median) / (1.4826 × MAD) >= min_score.
  Decimal min_score = Decimal::FromInteger(6);
  // The day's spend must also be at least this many units of the billing currency ...
  Decimal floor_amount = Decimal::FromInteger(10);
  // ... and at least this multiple of the median.
  Decimal min_ratio = Decimal::FromInteger(3);
};

// 1 <= min_history_days <= window_days <= kMaxAnomalyWindowDays; min_score, floor_amount and
// min_ratio >= 0. InvalidArgument naming the field otherwise (a bad config exits at start).
Status ValidateAnomalyParams(const AnomalyParams& params);

// Why a day did or did not fire; checks run in this order and the first failing one is reported.
enum class AnomalyOutcome : uint8_t {
  kFires = 0,
  kShortHistory,  // fewer than min_history_days days of history
  kBelowFloor,    // spend < floor_amount
  kBelowRatio,    // spend < min_ratio × median
  kBelowScore,    // spend <= median, or the robust z-score < min_score
};

std::string_view AnomalyOutcomeName(AnomalyOutcome outcome);

// Which spread measure the score divides by.
enum class AnomalySpread : uint8_t {
  kNone = 0,  // history too short, or every day equal: any rise is infinitely many deviations
  kMad,       // 1.4826 × MAD (the normal case)
  // 1.253314 × mean absolute deviation around the median: used when the MAD is 0 but the days
  // are not all equal (usage on fewer than half the days, e.g. a weekly batch job), where the
  // MAD alone would call every spending day an anomaly (Iglewicz & Hoaglin's modified z-score).
  kMeanAbsoluteDeviation,
};

// The verdict on one day, with the statistics an alert's `detail` shows.
struct AnomalyAssessment {
  AnomalyOutcome outcome = AnomalyOutcome::kShortHistory;
  AnomalySpread spread = AnomalySpread::kNone;
  int history_days = 0;  // how many days of history were used
  Decimal median;        // of the history, round9 half-even (exact median may end in half a nano)
  Decimal mad;           // median absolute deviation around the median, round9 half-even
  // (spend − median) / spread, round9 half-even, for display only; nullopt when spend <= median
  // or spread is kNone.
  std::optional<Decimal> score;

  bool fires() const { return outcome == AnomalyOutcome::kFires; }
};

// Judges `day_spend` (one UTC day's list spend in the billing currency) against `history`: the
// daily spends of the complete days before that day, oldest first, days without usage as zero,
// excluding days before the customer's first usage. Only the last `window_days` entries are
// used. The decision is exact: with x the day's spend, m the median, the score test is
//   4·(x − m) × 10^13 >= min_score_nanos × 14826 × 4·MAD                    (kMad)
//   2·(x − m) × n × 10^15 >= min_score_nanos × 1253314 × Σ 2·|v − m|         (kMeanAbsolute…)
// in 256-bit integers (medians of even-sized sets are kept in half / quarter nano-units).
// REQUIRES: ValidateAnomalyParams(params).ok().
AnomalyAssessment AssessDailySpend(Decimal day_spend, std::span<const Decimal> history,
                                   const AnomalyParams& params);

}  // namespace meterd::rating
