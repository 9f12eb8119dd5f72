// Monthly budgets and their threshold alerts (domain §5, §8.13–§8.16, §8.27–§8.29, §8.38):
// validating and normalizing a budget, percent / forecast / days-remaining arithmetic, and the
// fire and re-arm rules over the set of (kind, threshold) marks already fired for one
// (customer, month). Every comparison is made on exact values, never on rounded ones.
// Pure functions and value types: thread-compatible, no I/O, no clock (`now` is a parameter).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "rating/civil_time.h"
#include "rating/decimal.h"

namespace meterd::rating {

// Which spend a budget is measured on: `list` is customer-facing retail, `billed` is net of PEC.
enum class Basis : uint8_t { kList = 0, kBilled = 1 };

std::string_view BasisName(Basis basis);  // "list" | "billed"
// Exactly "list" or "billed" (the API's spelling); anything else is nullopt.
std::optional<Basis> ParseBasis(std::string_view text);

// The kinds of alert the product raises. The numeric values are persisted: append only.
enum class AlertKind : uint8_t {
  kBudgetActual = 0,
  kBudgetForecast = 1,
  kPecLost = 2,
  kAnomaly = 3,
};

// "budget_actual" | "budget_forecast" | "pec_lost" | "anomaly".
std::string_view AlertKindName(AlertKind kind);
std::optional<AlertKind> ParseAlertKind(std::string_view text);

// Bounds a budget's threshold lists so the marks stored per (customer, month) stay small; a
// billing team that needs more than 32 alert levels per month is better served by anomalies.
inline constexpr size_t kMaxThresholds = 32;
// Thresholds are percentages in (0, kMaxThresholdPercent].
inline constexpr Decimal kMaxThresholdPercent = Decimal::FromInteger(1000);

// A standing monthly budget of one customer, in the customer's billing currency.
struct Budget {
  Decimal amount;
  Basis basis = Basis::kList;
  // Percent of `amount` reached by actual spend.
  std::vector<Decimal> thresholds{Decimal::FromInteger(80), Decimal::FromInteger(100)};
  // Percent of `amount` reached by the month's forecast.
  std::vector<Decimal> forecast_thresholds{Decimal::FromInteger(100)};

  friend bool operator==(const Budget&, const Budget&) = default;
};

// Sorts and deduplicates both threshold lists, then validates: 0 < amount <= 10^15 (kMaxAmount,
// the largest amount the product keeps exact), every threshold in (0, 1000], at most
// kMaxThresholds per list. Returns InvalidArgument naming the offending field (the API answers
// 422). Decimal already guarantees "at most 9 fractional digits". Empty lists are valid: they
// switch that kind of alert off.
Status NormalizeBudget(Budget* budget);

// The shortest exact decimal text of a threshold, as a JSON number: 80 -> "80", 80.5 -> "80.5",
// 0.000000001 -> "0.000000001". No exponent, no trailing zeros, no trailing point.
std::string FormatThreshold(Decimal threshold);
void AppendThreshold(Decimal threshold, std::string* out);

// The spend a budget on `basis` is measured against.
inline Decimal SpendOnBasis(Basis basis, Decimal list, Decimal billed) {
  return basis == Basis::kBilled ? billed : list;
}

// round9 half-even of spend / amount × 100 (§8.14). nullopt when amount is zero.
std::optional<Decimal> Percent(Decimal spend, Decimal amount);
// The exact quotient spend / amount × 100 rounded half-up (away from zero) to an integer.
std::optional<int64_t> PercentRounded(Decimal spend, Decimal amount);

// Month-end forecast of `spend` for `month` as seen at `now` (§5, §8.15):
// spend × days_in(month) / elapsed, elapsed = (now − start of month) in exact fractional days
// (nanosecond resolution) clamped to [1, days_in(month)], rounded half-even to 9 digits.
// Finished months and months after `now` forecast exactly their spend. nullopt only if the
// result cannot be represented (spend beyond ~10^27 units).
std::optional<Decimal> Forecast(Decimal spend, Month month, Timestamp now);

// Days of `month` after today's UTC date (§8.29): 0 for past months, the whole month for
// future ones. 2026-11 at 2026-11-20T12:00Z -> 10.
int DaysRemaining(Month month, Timestamp now);

// spend >= threshold% × amount, decided exactly (§8.27).
bool ReachesThreshold(Decimal spend, Decimal threshold_percent, Decimal amount);

// The exact sign (-1, 0, 1) of a×b − c×d, with the products formed in 256 bits. Shared by the
// threshold and anomaly rules, which compare scaled products that can exceed 128 bits.
int CompareProducts(int128 a, int128 b, int128 c, int128 d);

// One fired budget alert level.
struct FiredMark {
  AlertKind kind = AlertKind::kBudgetActual;
  Decimal threshold;
  friend auto operator<=>(const FiredMark&, const FiredMark&) = default;
};

// The (kind, threshold) marks already fired for one (customer, month): a small sorted set.
// The storage layer persists each mark together with its alert so marks survive restarts.
class FiredMarks {
 public:
  FiredMarks() = default;
  explicit FiredMarks(std::vector<FiredMark> marks);  // any order, duplicates allowed

  bool Contains(AlertKind kind, Decimal threshold) const;
  // Returns true when the mark was not present before.
  bool Insert(AlertKind kind, Decimal threshold);
  // Returns true when the mark was present.
  bool Erase(AlertKind kind, Decimal threshold);

  std::span<const FiredMark> marks() const { return marks_; }
  size_t size() const { return marks_.size(); }
  bool empty() const { return marks_.empty(); }
  friend bool operator==(const FiredMarks&, const FiredMarks&) = default;

 private:
  std::vector<FiredMark> marks_;  // sorted, unique
};

// A threshold that fires now: the content of one budget_actual / budget_forecast alert.
struct BudgetCrossing {
  AlertKind kind = AlertKind::kBudgetActual;
  Decimal threshold;
  Decimal amount;
  // Actual spend for budget_actual; the forecast for budget_forecast (§8.27).
  Decimal spend;
  // round9 percent of `spend` over `amount`; nullopt only on arithmetic overflow.
  std::optional<Decimal> percent;
  friend bool operator==(const BudgetCrossing&, const BudgetCrossing&) = default;
};

// Appends to `out` (after clearing it) every threshold of `budget` that `spend` (actual, on the
// budget's basis) or `forecast` (same basis) reaches and that is not in `fired`: actual
// thresholds ascending, then forecast thresholds ascending. Does not modify `fired`: the caller
// inserts the marks in the same commit as the alerts. Reuses `out`'s capacity, so a steady-state
// caller does not allocate.
// REQUIRES: `budget` was normalized.
void EvaluateThresholds(const Budget& budget, Decimal spend, Decimal forecast,
                        const FiredMarks& fired, std::vector<BudgetCrossing>* out);

// Applies the re-arm rule of one month when a budget is set (§8.16, §8.28, §8.38): only when
// `previous` exists and `next.amount` is strictly greater than its amount, every fired mark
// (actual and forecast, also of thresholds no longer in the lists) that `spend` / `forecast`
// (on `next.basis`) no longer reaches under the new amount is erased from `fired` and appended
// to `rearmed` (if not null). Deleting and re-creating a budget (`previous` absent), lowering
// the amount, or changing basis or thresholds re-arms nothing. Call EvaluateThresholds after.
void RearmOnBudgetChange(const std::optional<Budget>& previous, const Budget& next, Decimal spend,
                         Decimal forecast, FiredMarks* fired, std::vector<FiredMark>* rearmed);

}  // namespace meterd::rating
