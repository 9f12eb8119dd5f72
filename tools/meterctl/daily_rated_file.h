// Reads Microsoft's Partner Center daily-rated usage file (CSV, columns of seed 001 lines
// 10019-10075, found by header name in any order) into exact records for `meterctl reconcile`,
// keyed like meterd's daily lines; rows repeating a key are summed. A cell finer than meterd
// keeps (9 fractional digits, 12 for the exchange rate) is rounded half-even to that precision,
// as meterd rounds, and counted. Pure functions; thread-compatible values.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "rating/civil_time.h"
#include "rating/decimal.h"

namespace meterd::meterctl {

using rating::Date;
using rating::Decimal;
using rating::FxRate;
using rating::Month;

// The identity both sides are matched on. Ids and the URI are ASCII-lowercased (domain §2).
struct LineKey {
  std::string customer_id;
  std::string entitlement_id;
  std::string meter_id;
  std::string resource_uri;
  Date usage_date;
  friend auto operator<=>(const LineKey&, const LineKey&) = default;
};

struct FileLine {
  LineKey key;
  int line = 0;  // physical line of the first row with this key
  int rows = 0;  // rows summed into this record
  std::string customer_name;
  std::string meter_name;
  std::string meter_category;
  Decimal quantity;
  // Absent when the column is missing or the cell empty; then that comparison is skipped.
  std::optional<Decimal> unit_price;
  std::optional<Decimal> effective_unit_price;
  std::optional<Decimal> pricing_total;  // PricingPreTaxTotal = billed USD
  std::optional<Decimal> billing_total;  // BillingPreTaxTotal = billed in billing currency
  std::optional<FxRate> fx;              // PCToBCExchangeRate
  std::string pricing_currency;          // uppercased
  std::string billing_currency;          // uppercased
  std::optional<Decimal> pec_percent;    // PartnerEarnedCreditPercentage: 0 or 15
};

struct DailyRatedFile {
  std::vector<FileLine> lines;               // in key order
  int rows = 0;                              // data rows read (blank lines not counted)
  int rows_other_months = 0;                 // rows whose UsageDate is outside the month asked for
  int rows_other_customers = 0;              // rows left out by the customer filter
  int rounded_cells = 0;                     // cells rounded to meterd's precision
  std::vector<std::string> missing_columns;  // optional columns absent from the header
  std::set<std::string> customers;           // lowercased ids of the lines kept
};

struct FileReadOptions {
  Month month;
  std::set<std::string> customers;  // lowercased; empty = all
};

// InvalidArgument naming the line and column for: broken CSV quoting, a missing required column
// (CustomerId, EntitlementId, MeterId, ResourceURI, UsageDate, Quantity), an empty required
// cell, a cell that is not a decimal, or a date that is not YYYY-MM-DD, M/D/YYYY or an ISO
// date-time. Up to 20 problems are listed before giving up.
Result<DailyRatedFile> ReadDailyRatedFile(std::string_view text, const FileReadOptions& options);

// Parses a decimal cell exactly ("1.5", "-0.25", "1e3" as JSON numbers, plus a leading '+',
// which spreadsheets write); more than 9 fractional digits are rounded half-even and *rounded
// set. False when the cell is not a number or out of range.
bool ParseFileDecimal(std::string_view text, Decimal* out, bool* rounded);
// The same at the exchange rate's 12 fractional digits.
bool ParseFileFxRate(std::string_view text, FxRate* out, bool* rounded);

// ASCII lowercase / uppercase.
std::string AsciiLower(std::string_view s);
std::string AsciiUpper(std::string_view s);

}  // namespace meterd::meterctl
