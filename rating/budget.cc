// Budget arithmetic. Comparisons against thresholds multiply instead of dividing, in 256 bits,
// so "exactly 80%" reaches 80 and one nano-unit less does not, whatever the amount.

#include "rating/budget.h"

#include <algorithm>

namespace meterd::rating {
namespace {

constexpr Decimal kHundred = Decimal::FromInteger(100);

struct U256 {
  uint128 hi = 0;
  uint128 lo = 0;
  friend auto operator<=>(const U256&, const U256&) = default;
};

U256 MulWide(uint128 x, uint128 y) {
  const uint128 x0 = static_cast<uint64_t>(x);
  const uint128 x1 = x >> 64;
  const uint128 y0 = static_cast<uint64_t>(y);
  const uint128 y1 = y >> 64;
  const uint128 p00 = x0 * y0;
  const uint128 p01 = x0 * y1;
  const uint128 p10 = x1 * y0;
  const uint128 p11 = x1 * y1;
  // Three values below 2^64 sum to less than 2^66: no overflow.
  const uint128 mid = (p00 >> 64) + static_cast<uint64_t>(p01) + static_cast<uint64_t>(p10);
  return U256{p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64),
              (mid << 64) | static_cast<uint64_t>(p00)};
}

uint128 Magnitude(int128 v) { return v < 0 ? uint128{0} - static_cast<uint128>(v) : uint128(v); }

int Sign(int128 v) { return (v > 0) - (v < 0); }

void SortUnique(std::vector<Decimal>* values) {
  std::sort(values->begin(), values->end());
  values->erase(std::unique(values->begin(), values->end()), values->end());
}

Status ValidateThresholds(const std::vector<Decimal>& values, std::string_view field) {
  if (values.size() > kMaxThresholds) {
    return Status::InvalidArgument(std::string(field) + ": at most " +
                                   std::to_string(kMaxThresholds) + " distinct values");
  }
  for (Decimal t : values) {
    if (t <= Decimal::Zero() || t > kMaxThresholdPercent) {
      return Status::InvalidArgument(std::string(field) + ": " + FormatThreshold(t) +
                                     " is outside (0, 1000]");
    }
  }
  return Status::Ok();
}

}  // namespace

std::string_view BasisName(Basis basis) {
  switch (basis) {
    case Basis::kList:
      return "list";
    case Basis::kBilled:
      return "billed";
  }
  return "list";
}

std::optional<Basis> ParseBasis(std::string_view text) {
  if (text == "list") return Basis::kList;
  if (text == "billed") return Basis::kBilled;
  return std::nullopt;
}

std::string_view AlertKindName(AlertKind kind) {
  switch (kind) {
    case AlertKind::kBudgetActual:
      return "budget_actual";
    case AlertKind::kBudgetForecast:
      return "budget_forecast";
    case AlertKind::kPecLost:
      return "pec_lost";
    case AlertKind::kAnomaly:
      return "anomaly";
  }
  return "unknown";
}

std::optional<AlertKind> ParseAlertKind(std::string_view text) {
  for (AlertKind k : {AlertKind::kBudgetActual, AlertKind::kBudgetForecast, AlertKind::kPecLost,
                      AlertKind::kAnomaly}) {
    if (AlertKindName(k) == text) return k;
  }
  return std::nullopt;
}

Status NormalizeBudget(Budget* budget) {
  SortUnique(&budget->thresholds);
  SortUnique(&budget->forecast_thresholds);
  if (budget->amount <= Decimal::Zero()) {
    return Status::InvalidArgument("amount: must be greater than 0");
  }
  if (budget->amount > kMaxAmount) {
    return Status::InvalidArgument("amount: must not exceed 1000000000000000");
  }
  METERD_RETURN_IF_ERROR(ValidateThresholds(budget->thresholds, "thresholds"));
  METERD_RETURN_IF_ERROR(ValidateThresholds(budget->forecast_thresholds, "forecast_thresholds"));
  return Status::Ok();
}

void AppendThreshold(Decimal threshold, std::string* out) {
  const size_t start = out->size();
  threshold.AppendTo(out);  // "<int>.<9 digits>"
  const size_t point = out->find('.', start);
  if (point == std::string::npos) return;
  size_t end = out->size();
  while (end > point + 1 && (*out)[end - 1] == '0') --end;
  if (end == point + 1) end = point;  // an integer: drop the point too
  out->resize(end);
}

std::string FormatThreshold(Decimal threshold) {
  std::string s;
  AppendThreshold(threshold, &s);
  return s;
}

std::optional<Decimal> Percent(Decimal spend, Decimal amount) {
  return PercentRound9(spend, amount);
}

std::optional<int64_t> PercentRounded(Decimal spend, Decimal amount) {
  return PercentRoundedHalfUp(spend, amount);
}

std::optional<Decimal> Forecast(Decimal spend, Month month, Timestamp now) {
  const Timestamp start = StartOf(month);
  if (now < start) return spend;  // a future month: nothing to extrapolate from
  const int64_t month_nanos = int64_t{DaysIn(month)} * kNanosPerDay;
  const int64_t elapsed = std::clamp(now.nanos - start.nanos, kNanosPerDay, month_nanos);
  if (elapsed == month_nanos) return spend;  // finished: the factor is exactly 1
  return MulDivRound9(spend, month_nanos, elapsed);
}

int DaysRemaining(Month month, Timestamp now) {
  const Date today = DateOf(now);
  const Month current = MonthOf(today);
  if (month < current) return 0;
  if (month > current) return DaysIn(month);
  int year, mon, day;
  YmdFromDate(today, &year, &mon, &day);
  return DaysIn(month) - day;
}

int CompareProducts(int128 a, int128 b, int128 c, int128 d) {
  const int left_sign = Sign(a) * Sign(b);
  const int right_sign = Sign(c) * Sign(d);
  if (left_sign != right_sign) return left_sign < right_sign ? -1 : 1;
  if (left_sign == 0) return 0;
  const U256 left = MulWide(Magnitude(a), Magnitude(b));
  const U256 right = MulWide(Magnitude(c), Magnitude(d));
  const int magnitude_order = left < right ? -1 : (left > right ? 1 : 0);
  return left_sign > 0 ? magnitude_order : -magnitude_order;
}

bool ReachesThreshold(Decimal spend, Decimal threshold_percent, Decimal amount) {
  // spend >= threshold / 100 × amount  ⇔  spend × 100 × 10^9 >= threshold_nanos × amount_nanos
  // (both sides in 10^-18 units, so no rounding anywhere).
  return CompareProducts(spend.nanos(), kHundred.nanos(), threshold_percent.nanos(),
                         amount.nanos()) >= 0;
}

FiredMarks::FiredMarks(std::vector<FiredMark> marks) : marks_(std::move(marks)) {
  std::sort(marks_.begin(), marks_.end());
  marks_.erase(std::unique(marks_.begin(), marks_.end()), marks_.end());
}

bool FiredMarks::Contains(AlertKind kind, Decimal threshold) const {
  return std::binary_search(marks_.begin(), marks_.end(), FiredMark{kind, threshold});
}

bool FiredMarks::Insert(AlertKind kind, Decimal threshold) {
  const FiredMark mark{kind, threshold};
  auto it = std::lower_bound(marks_.begin(), marks_.end(), mark);
  if (it != marks_.end() && *it == mark) return false;
  marks_.insert(it, mark);
  return true;
}

bool FiredMarks::Erase(AlertKind kind, Decimal threshold) {
  const FiredMark mark{kind, threshold};
  auto it = std::lower_bound(marks_.begin(), marks_.end(), mark);
  if (it == marks_.end() || *it != mark) return false;
  marks_.erase(it);
  return true;
}

void EvaluateThresholds(const Budget& budget, Decimal spend, Decimal forecast,
                        const FiredMarks& fired, std::vector<BudgetCrossing>* out) {
  out->clear();
  const auto evaluate = [&](AlertKind kind, const std::vector<Decimal>& thresholds, Decimal value) {
    for (Decimal t : thresholds) {
      // Sorted ascending: once one is out of reach, the rest are too.
      if (!ReachesThreshold(value, t, budget.amount)) break;
      if (fired.Contains(kind, t)) continue;
      out->push_back(BudgetCrossing{kind, t, budget.amount, value, Percent(value, budget.amount)});
    }
  };
  evaluate(AlertKind::kBudgetActual, budget.thresholds, spend);
  evaluate(AlertKind::kBudgetForecast, budget.forecast_thresholds, forecast);
}

void RearmOnBudgetChange(const std::optional<Budget>& previous, const Budget& next, Decimal spend,
                         Decimal forecast, FiredMarks* fired, std::vector<FiredMark>* rearmed) {
  if (!previous.has_value() || next.amount <= previous->amount) return;
  // Setting a budget is rare and off the event path: copying the marks keeps the loop simple.
  const std::vector<FiredMark> marks(fired->marks().begin(), fired->marks().end());
  for (const FiredMark& mark : marks) {
    Decimal value;
    if (mark.kind == AlertKind::kBudgetActual) {
      value = spend;
    } else if (mark.kind == AlertKind::kBudgetForecast) {
      value = forecast;
    } else {
      continue;  // pec_lost and anomaly are not budget marks
    }
    if (ReachesThreshold(value, mark.threshold, next.amount)) continue;
    fired->Erase(mark.kind, mark.threshold);
    if (rearmed != nullptr) rearmed->push_back(mark);
  }
}

}  // namespace meterd::rating
