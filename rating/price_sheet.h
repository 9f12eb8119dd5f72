// Reading a Partner Center Azure-plan price sheet (CSV, domain.md §3, §8.22; api.md
// POST /v1/pricesheet) into typed rows, and the tier-table consistency checks shared by the
// upload path and the reference snapshot builder. Pure functions over values: thread-safe.
// This layer judges single rows; whether a table survives merging with earlier uploads is
// ValidateTierTable's job, called by whoever merges.
#pragma once

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

// The tags that matter for PEC (§4.3 rule 2), as flags. Other words are kept in the raw text.
enum class PriceTag : uint8_t {
  kAzure = 1 << 0,
  kThirdParty = 1 << 1,
  kReservations = 1 << 2,
};

class TagFlags {
 public:
  constexpr TagFlags() = default;
  constexpr bool Has(PriceTag t) const { return (bits_ & static_cast<uint8_t>(t)) != 0; }
  constexpr void Add(PriceTag t) { bits_ |= static_cast<uint8_t>(t); }
  constexpr uint8_t bits() const { return bits_; }
  // A row tagged Third Party or Reservations never earns PEC.
  constexpr bool ExcludesPec() const {
    return Has(PriceTag::kThirdParty) || Has(PriceTag::kReservations);
  }
  friend constexpr bool operator==(TagFlags, TagFlags) = default;

 private:
  uint8_t bits_ = 0;
};

// Tags are semicolon- or comma-separated words, case-insensitive, trimmed ("Azure;Third Party").
TagFlags ParseTags(std::string_view tags);
// The set of tag words, lowercased, sorted and deduplicated, empty words dropped: the form in
// which two rows' tags are compared (§8.22).
std::vector<std::string> TagWords(std::string_view tags);

// One parsed price row. Codes are normalized: market uppercased, meter_id lowercased, currency
// uppercased. Descriptive columns are kept as given (trimmed).
struct PriceRow {
  int line = 0;  // 1-based physical line of the row in the upload
  std::string market;
  std::string meter_id;
  Date effective_start;
  std::optional<Date> effective_end;  // nullopt: open-ended
  Decimal unit_price;                 // USD, >= 0
  Decimal tier_min;                   // >= 0
  std::optional<Decimal> tier_max;    // informational only
  std::string currency;               // always "USD" in a parsed row (others are problems)
  std::string product_id;
  std::string sku_id;
  std::string meter_name;
  std::string meter_category;
  std::string meter_sub_category;
  std::string meter_region;
  std::string unit_of_measure;
  std::string tags;  // raw text, e.g. "Azure;Third Party"
  TagFlags tag_flags;
  std::string publisher;
};

// Why a row was not turned into a PriceRow. Stable wire names via PriceRowErrorName.
enum class PriceRowError {
  kFieldCount,         // "field_count": more or fewer cells than the header
  kMissingMeterId,     // "missing_meter_id": empty, or holding a NUL character
  kBadMarket,          // "bad_market": empty or not two ASCII letters
  kBadUnitPrice,       // "bad_unit_price": empty, not a decimal, negative, > 9 digits
  kBadTierMin,         // "bad_tier_min": not a decimal, negative, > 9 digits
  kBadTierMax,         // "bad_tier_max"
  kBadEffectiveStart,  // "bad_effective_start": empty or not YYYY-MM-DD / M/D/YYYY
  kBadEffectiveEnd,    // "bad_effective_end": not a date, or before the start
  kNotUsd,             // "not_usd": Currency cell other than USD (§8.22)
};
std::string_view PriceRowErrorName(PriceRowError e);

// A row rejected by the parser. When its table key could be read, market/meter_id/
// effective_start are set (normalized) and the caller must reject that whole tier table in this
// upload (§8.22); otherwise only this row is rejected.
struct PriceRowProblem {
  int line = 0;
  PriceRowError error = PriceRowError::kFieldCount;
  std::string detail;  // human-readable, names the column and the offending text
  std::optional<std::string> market;
  std::optional<std::string> meter_id;
  std::optional<Date> effective_start;
  bool HasTableKey() const {
    return market.has_value() && meter_id.has_value() && effective_start.has_value();
  }
};

struct PriceSheet {
  // Parsed rows in upload order. A repeated key (market, meter, effective_start, tier_min) is
  // kept as it came; the last one wins when applied (see CollapseRepeatedKeys).
  std::vector<PriceRow> rows;
  std::vector<PriceRowProblem> problems;  // in line order
};

// Parses a whole upload. The header row names columns in any order, case-insensitively;
// unknown columns are ignored; "MeterIds" is accepted for "MeterId". Required columns: MeterId,
// Market, UnitPrice, EffectiveStartDate. Blank lines are skipped.
// Errors (InvalidArgument, nothing parsed): empty input, a missing required column, a column
// named twice, or broken CSV quoting ("line N: ..."). Row-level trouble goes to `problems`.
Result<PriceSheet> ParsePriceSheet(std::string_view csv);

// Indices into `rows` of the rows that survive the in-upload upsert: for each key (market,
// meter_id, effective_start, tier_min) the last one, in the order of their first appearance.
std::vector<size_t> CollapseRepeatedKeys(std::span<const PriceRow> rows);

// The checks of one tier table as it would be stored (§3, §8.22): non-empty; one (market,
// meter_id, effective_start); distinct tier_min values; the lowest tier_min is 0; every row
// shares effective_end, the set of tag words, and the publisher (case-insensitive).
// Rows may come in any order. InvalidArgument says what disagrees.
Status ValidateTierTable(std::span<const PriceRow> rows);

}  // namespace meterd::rating
