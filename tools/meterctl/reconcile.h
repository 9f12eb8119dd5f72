// Reconciliation of Microsoft's daily-rated usage file against meterd's daily lines (domain
// §7): lines are matched on (customer, entitlement, meter, lowercased resource URI, usage date)
// and every difference is classified: a line on one side only, quantity, unit price, partner
// earned credit applied on one side only (with the credit at stake), exchange rate, billing
// currency, a line meterd could not rate, and amounts that differ although all of those agree.
// All comparisons are exact decimal comparisons. Pure functions over values; thread-compatible.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "tools/meterctl/daily_rated_file.h"
#include "tools/meterctl/json.h"

namespace meterd::meterctl {

// One line of GET /v1/customers/{id}/lines. Amount fields are absent when meterd sends null
// (unrated lines) or leaves them out (a reseller's view).
struct MeterdLine {
  LineKey key;
  bool rated = false;
  std::string reason;  // unrated reason
  Decimal quantity;
  std::optional<Decimal> unit_price;
  std::optional<Decimal> effective_unit_price;
  std::optional<Decimal> pec_rate;
  std::optional<Decimal> list_usd;
  std::optional<Decimal> pec_usd;
  std::optional<Decimal> billed_usd;
  std::string currency;
  std::optional<FxRate> fx;
  bool fx_provisional = false;
  std::optional<Decimal> list_bc;
  std::optional<Decimal> pec_bc;
  std::optional<Decimal> billed_bc;
};

// Builds a MeterdLine of customer_id from one element of the "lines" array. InvalidArgument
// when a field is missing or not an exact decimal.
Result<MeterdLine> MeterdLineFromJson(std::string_view customer_id, const Json& line);

// What meterd holds for one customer and month.
struct MeterdCustomer {
  bool known = false;  // false: meterd answered 404 (unknown, or outside the token's scope)
  std::string name;
  std::string currency;
  std::vector<MeterdLine> lines;
};

enum DiffKind : uint32_t {
  kMissingInMeterd = 1u << 0,  // Microsoft billed a line meterd does not have
  kMissingInFile = 1u << 1,    // meterd has a line Microsoft's file does not
  kQuantity = 1u << 2,
  kUnitPrice = 1u << 3,
  kPec = 1u << 4,       // PEC applied on one side and not the other (or at another rate)
  kFx = 1u << 5,        // PCToBCExchangeRate differs from meterd's fx
  kCurrency = 1u << 6,  // BillingCurrency differs
  kUnrated = 1u << 7,   // meterd holds the line unrated (unpriced, fx_missing, ...)
  kAmount = 1u << 8,    // totals or effective price differ though the above agree
};
inline constexpr int kDiffKindCount = 9;
// "missing_in_meterd", "quantity", ... (stable names for the JSON report).
std::string_view DiffKindName(DiffKind kind);

// Which side applied PEC when kPec is set.
enum class PecSide { kNone, kFile, kMeterd, kBoth };

struct LineDiff {
  LineKey key;
  uint32_t kinds = 0;
  std::optional<FileLine> file;
  std::optional<MeterdLine> meterd;
  PecSide pec_side = PecSide::kNone;
  // kPec only: the credit whose treatment differs, as list − billed of the side that applied
  // it (meterd's list; for kBoth the difference of both credits). Null when meterd's amounts
  // are unknown.
  std::optional<Decimal> credit_at_stake_usd;
  std::optional<Decimal> credit_at_stake_bc;
  // file − meterd billed totals, when both are known.
  std::optional<Decimal> delta_billed_usd;
  std::optional<Decimal> delta_billed_bc;
};

struct CustomerSummary {
  std::string customer_id;
  std::string name;
  std::string currency;  // meterd's billing currency, else the file's
  bool known_to_meterd = false;
  int file_lines = 0;
  int meterd_lines = 0;
  int matched = 0;
  int agreeing = 0;
  int differing_lines = 0;
  std::array<int, kDiffKindCount> kind_counts{};
  Decimal file_billed_usd;    // Σ PricingPreTaxTotal
  Decimal meterd_billed_usd;  // Σ billed_usd of rated lines
  Decimal file_billed_bc;     // Σ BillingPreTaxTotal
  Decimal meterd_billed_bc;   // Σ billed_bc of rated lines
  // PEC meterd expected but Microsoft did not apply (the partner's claim), and PEC Microsoft
  // applied that meterd did not expect.
  Decimal credit_missing_from_file_usd;
  Decimal credit_missing_from_file_bc;
  Decimal credit_unexpected_in_file_usd;
  Decimal credit_unexpected_in_file_bc;
};

struct ReconcileReport {
  Month month;
  std::string file_name;
  int file_rows = 0;
  int file_rows_other_months = 0;
  int rounded_cells = 0;
  std::vector<std::string> missing_columns;
  std::vector<CustomerSummary> customers;  // by customer id
  std::vector<LineDiff> differences;       // by key
  std::array<int, kDiffKindCount> kind_counts{};
  int matched = 0;
  int agreeing = 0;

  bool agree() const { return differences.empty(); }
};

// Compares the file with meterd's lines. meterd maps lowercased customer ids to what meterd
// holds; customers of the file absent from the map count as unknown to meterd.
ReconcileReport Reconcile(const DailyRatedFile& file,
                          const std::map<std::string, MeterdCustomer>& meterd);

// The machine-readable report (--report): money as 9-digit strings, rates with 12.
Json ReportToJson(const ReconcileReport& report);
// The operator's summary: a table per customer, then up to max_details differences.
std::string FormatReport(const ReconcileReport& report, size_t max_details);

}  // namespace meterd::meterctl
