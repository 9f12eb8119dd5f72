#include "tools/meterctl/daily_rated_file.h"

#include <array>
#include <map>

#include "rating/csv.h"

namespace meterd::meterctl {
namespace {

constexpr int kMaxProblems = 20;

// A plain decimal ("-12.3456", ".5", "7.") cut to `digits` fractional digits: the kept text in
// canonical form and whether rounding half-even moves it one unit away from zero.
struct Truncated {
  std::string text;
  bool negative = false;
  bool round_away = false;
};

std::optional<Truncated> TruncatePlain(std::string_view s, int digits) {
  Truncated t;
  if (!s.empty() && s[0] == '-') {
    t.negative = true;
    s.remove_prefix(1);
  }
  const size_t dot = s.find('.');
  std::string_view int_part = s.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? "" : s.substr(dot + 1);
  if (int_part.empty() && frac.empty()) return std::nullopt;
  for (std::string_view part : {int_part, frac}) {
    for (const char c : part) {
      if (c < '0' || c > '9') return std::nullopt;
    }
  }
  while (int_part.size() > 1 && int_part[0] == '0') int_part.remove_prefix(1);
  if (int_part.empty()) int_part = "0";
  std::string kept(frac.substr(0, static_cast<size_t>(digits)));
  kept.append(static_cast<size_t>(digits) - kept.size(), '0');
  std::string_view dropped =
      frac.size() > static_cast<size_t>(digits) ? frac.substr(static_cast<size_t>(digits)) : "";
  if (!dropped.empty()) {
    const char first = dropped[0];
    const bool rest_nonzero = dropped.substr(1).find_first_not_of('0') != std::string_view::npos;
    const bool last_odd = ((kept.empty() ? int_part.back() : kept.back()) - '0') % 2 == 1;
    t.round_away = first > '5' || (first == '5' && (rest_nonzero || last_odd));
  }
  t.text = std::string(int_part) + (digits > 0 ? "." + kept : "");
  if (t.negative) t.text = "-" + t.text;
  return t;
}

std::string_view StripPlus(std::string_view s) {
  if (s.size() > 1 && s[0] == '+' && ((s[1] >= '0' && s[1] <= '9') || s[1] == '.')) {
    s.remove_prefix(1);
  }
  return s;
}

// Microsoft writes dates as YYYY-MM-DD, M/D/YYYY, or a date-time whose date part is the day.
bool ParseFileDate(std::string_view s, Date* out) {
  if (rating::ParsePriceSheetDate(s, out)) return true;
  if (s.size() > 10 && (s[10] == 'T' || s[10] == 't' || s[10] == ' ')) {
    return rating::ParseIsoDate(s.substr(0, 10), out);
  }
  const size_t space = s.find(' ');  // "11/5/2026 12:00:00 AM"
  if (space != std::string_view::npos) return rating::ParsePriceSheetDate(s.substr(0, space), out);
  return false;
}

enum Col {
  kCustomerId,
  kCustomerName,
  kEntitlementId,
  kMeterId,
  kMeterName,
  kMeterCategory,
  kResourceUri,
  kUsageDate,
  kQuantity,
  kUnitPrice,
  kEffectiveUnitPrice,
  kPricingPreTaxTotal,
  kPricingCurrency,
  kBillingPreTaxTotal,
  kBillingCurrency,
  kExchangeRate,
  kPecPercentage,
  kColCount
};

constexpr std::array<std::string_view, kColCount> kColNames = {"CustomerId",
                                                               "CustomerName",
                                                               "EntitlementId",
                                                               "MeterId",
                                                               "MeterName",
                                                               "MeterCategory",
                                                               "ResourceURI",
                                                               "UsageDate",
                                                               "Quantity",
                                                               "UnitPrice",
                                                               "EffectiveUnitPrice",
                                                               "PricingPreTaxTotal",
                                                               "PricingCurrency",
                                                               "BillingPreTaxTotal",
                                                               "BillingCurrency",
                                                               "PCToBCExchangeRate",
                                                               "PartnerEarnedCreditPercentage"};

bool IsRequired(int col) {
  return col == kCustomerId || col == kEntitlementId || col == kMeterId || col == kResourceUri ||
         col == kUsageDate || col == kQuantity;
}

}  // namespace

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string AsciiUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

bool ParseFileDecimal(std::string_view text, Decimal* out, bool* rounded) {
  text = StripPlus(text);
  *rounded = false;
  const rating::DecimalError e = Decimal::Parse(text, out);
  if (e == rating::DecimalError::kOk) return true;
  if (e == rating::DecimalError::kOutOfRange) return false;
  std::optional<Truncated> t = TruncatePlain(text, Decimal::kFractionDigits);
  Decimal kept;
  if (!t || Decimal::Parse(t->text, &kept) != rating::DecimalError::kOk) return false;
  if (t->round_away) kept += Decimal::FromNanos(t->negative ? -1 : 1);
  *rounded = e == rating::DecimalError::kTooPrecise;
  *out = kept;
  return true;
}

bool ParseFileFxRate(std::string_view text, FxRate* out, bool* rounded) {
  text = StripPlus(text);
  *rounded = false;
  const rating::DecimalError e = FxRate::Parse(text, out);
  if (e == rating::DecimalError::kOk) return true;
  if (e == rating::DecimalError::kOutOfRange) return false;
  std::optional<Truncated> t = TruncatePlain(text, FxRate::kFractionDigits);
  FxRate kept;
  if (!t || FxRate::Parse(t->text, &kept) != rating::DecimalError::kOk) return false;
  if (t->round_away) kept = FxRate::FromPicos(kept.picos() + (t->negative ? -1 : 1));
  *rounded = e == rating::DecimalError::kTooPrecise;
  *out = kept;
  return true;
}

Result<DailyRatedFile> ReadDailyRatedFile(std::string_view text, const FileReadOptions& options) {
  rating::CsvReader reader(text);
  rating::CsvRecord rec;
  DailyRatedFile out;
  std::string problems;
  int problem_count = 0;
  auto problem = [&](int line, std::string what) {
    if (problem_count < kMaxProblems) problems += "\n  line " + std::to_string(line) + ": " + what;
    ++problem_count;
  };

  // Header: the first non-blank record.
  bool have_header = false;
  while (reader.Next(&rec)) {
    if (!rec.IsBlank()) {
      have_header = true;
      break;
    }
  }
  if (!reader.status().ok()) return reader.status();
  if (!have_header) return Status::InvalidArgument("the file is empty: no header row");
  std::array<int, kColCount> index;
  index.fill(-1);
  for (size_t i = 0; i < rec.size(); ++i) {
    const std::string name = AsciiLower(rec[i]);
    for (int c = 0; c < kColCount; ++c) {
      if (index[c] < 0 && name == AsciiLower(kColNames[c])) index[c] = static_cast<int>(i);
    }
  }
  std::string missing_required;
  for (int c = 0; c < kColCount; ++c) {
    if (index[c] >= 0) continue;
    if (IsRequired(c)) {
      missing_required += (missing_required.empty() ? "" : ", ") + std::string(kColNames[c]);
    } else {
      out.missing_columns.emplace_back(kColNames[c]);
    }
  }
  if (!missing_required.empty()) {
    return Status::InvalidArgument(
        "not a daily-rated usage file: the header lacks " + missing_required +
        " (columns of Partner Center's daily-rated usage reconciliation file)");
  }

  std::map<LineKey, FileLine> merged;
  while (reader.Next(&rec)) {
    if (rec.IsBlank()) continue;
    ++out.rows;
    const int line = rec.line();
    auto cell = [&](int c) -> std::string_view {
      const int i = index[c];
      if (i < 0 || static_cast<size_t>(i) >= rec.size()) return {};
      return rec[static_cast<size_t>(i)];
    };
    bool row_ok = true;
    for (int c = 0; c < kColCount; ++c) {
      if (IsRequired(c) && cell(c).empty()) {
        problem(line, "empty " + std::string(kColNames[c]));
        row_ok = false;
      }
    }
    if (!row_ok) continue;
    LineKey key;
    if (!ParseFileDate(cell(kUsageDate), &key.usage_date)) {
      problem(line, "UsageDate \"" + std::string(cell(kUsageDate)) + "\" is not a date");
      continue;
    }
    if (rating::MonthOf(key.usage_date) != options.month) {
      ++out.rows_other_months;
      continue;
    }
    key.customer_id = AsciiLower(cell(kCustomerId));
    if (!options.customers.empty() && options.customers.count(key.customer_id) == 0) {
      ++out.rows_other_customers;
      continue;
    }
    key.entitlement_id = AsciiLower(cell(kEntitlementId));
    key.meter_id = AsciiLower(cell(kMeterId));
    key.resource_uri = AsciiLower(cell(kResourceUri));

    auto number = [&](int c, std::optional<Decimal>* dst) {
      std::string_view v = cell(c);
      if (v.empty()) return;
      Decimal d;
      bool rounded = false;
      if (!ParseFileDecimal(v, &d, &rounded)) {
        problem(line, std::string(kColNames[c]) + " \"" + std::string(v) + "\" is not a decimal");
        row_ok = false;
        return;
      }
      if (rounded) ++out.rounded_cells;
      *dst = d;
    };
    std::optional<Decimal> quantity;
    std::optional<Decimal> unit_price;
    std::optional<Decimal> effective_unit_price;
    std::optional<Decimal> pricing_total;
    std::optional<Decimal> billing_total;
    std::optional<Decimal> pec_percent;
    number(kQuantity, &quantity);
    number(kUnitPrice, &unit_price);
    number(kEffectiveUnitPrice, &effective_unit_price);
    number(kPricingPreTaxTotal, &pricing_total);
    number(kBillingPreTaxTotal, &billing_total);
    number(kPecPercentage, &pec_percent);
    std::optional<FxRate> fx;
    if (std::string_view v = cell(kExchangeRate); !v.empty()) {
      FxRate r;
      bool rounded = false;
      if (!ParseFileFxRate(v, &r, &rounded)) {
        problem(line, "PCToBCExchangeRate \"" + std::string(v) + "\" is not a decimal");
        row_ok = false;
      } else {
        if (rounded) ++out.rounded_cells;
        fx = r;
      }
    }
    if (!row_ok) continue;

    auto [it, inserted] = merged.try_emplace(key);
    FileLine& fl = it->second;
    if (inserted) {
      fl.key = key;
      fl.line = line;
      fl.customer_name = std::string(cell(kCustomerName));
      fl.meter_name = std::string(cell(kMeterName));
      fl.meter_category = std::string(cell(kMeterCategory));
      fl.quantity = *quantity;
      fl.unit_price = unit_price;
      fl.effective_unit_price = effective_unit_price;
      fl.pricing_total = pricing_total;
      fl.billing_total = billing_total;
      fl.fx = fx;
      fl.pricing_currency = AsciiUpper(cell(kPricingCurrency));
      fl.billing_currency = AsciiUpper(cell(kBillingCurrency));
      fl.pec_percent = pec_percent;
    } else {
      // Several rows for one daily line: consumption and totals add up; the unit prices, rate
      // and PEC of the first row stand for the line.
      fl.quantity += *quantity;
      auto add = [](std::optional<Decimal>* sum, const std::optional<Decimal>& v) {
        if (sum->has_value() && v.has_value()) **sum += *v;
      };
      add(&fl.pricing_total, pricing_total);
      add(&fl.billing_total, billing_total);
    }
    ++fl.rows;
  }
  if (!reader.status().ok()) return reader.status();
  if (problem_count > 0) {
    std::string head = std::to_string(problem_count) + " problem" +
                       (problem_count == 1 ? "" : "s") + " in the daily-rated file:";
    if (problem_count > kMaxProblems) problems += "\n  ...";
    return Status::InvalidArgument(head + problems);
  }
  out.lines.reserve(merged.size());
  for (auto& [key, fl] : merged) {
    out.customers.insert(key.customer_id);
    out.lines.push_back(std::move(fl));
  }
  return out;
}

}  // namespace meterd::meterctl
