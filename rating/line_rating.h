// Rating of one daily line (domain.md §4, §8.4, §8.24), in two stages: ResolveTerms gathers
// everything that does not depend on quantity (price table, PEC rate, FX) from a reference
// snapshot; RateLine turns terms + quantity + the line's cumulative tier position into amounts
// without allocating. Pure functions over immutable inputs: thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "rating/civil_time.h"
#include "rating/decimal.h"
#include "rating/reference.h"

namespace meterd::rating {

// Why a line is unrated, in precedence order (§8.4). kNone = rated.
enum class UnratedReason : uint8_t {
  kNone = 0,
  kUnknownEntitlement,
  kUnpriced,
  kFxMissing,
  kOverflow,
};
// "unknown_entitlement", "unpriced", "fx_missing", "overflow"; "" for kNone.
std::string_view UnratedReasonName(UnratedReason reason);

// A three-letter currency code held by value (lines outlive the snapshot they were rated with).
struct CurrencyCode {
  std::array<char, 3> chars{};
  static CurrencyCode Of(std::string_view code);  // first 3 characters; empty → all NUL
  bool empty() const { return chars[0] == '\0'; }
  std::string_view view() const {
    return empty() ? std::string_view() : std::string_view(chars.data(), 3);
  }
  friend bool operator==(const CurrencyCode&, const CurrencyCode&) = default;
};

// Everything about a line's rating that does not depend on its quantity.
struct LineTerms {
  // The applicable tier table; nullptr when unpriced or the entitlement is unknown. Points into
  // the snapshot; it stays valid in every later snapshot whose ReferenceChange does not list
  // its (market, meter) (tables are shared between snapshots until they change).
  const TierTable* table = nullptr;
  UnratedReason reason = UnratedReason::kNone;  // so far: unknown_entitlement/unpriced/fx_missing
  CurrencyCode currency;                        // billing currency; empty when no customer
  Decimal pec_rate;                             // §4.3; meaningful when table != nullptr
  // Rules 1–3 of §4.3 hold but full-day access fails (§5 pec_lost); then the rate it would have.
  bool pec_lost_candidate = false;
  Decimal would_be_pec_rate;
  FxRate fx;  // meaningful when reason is kNone
  bool fx_provisional = false;
  bool tiered() const { return table != nullptr && !table->single_tier(); }
  std::string_view meter_category() const {
    return table ? std::string_view(table->meter_category) : std::string_view();
  }
};

// Resolves the terms of the line (entitlement, meter, resource, date). Ids and the resource URI
// may be in any case (compared ASCII case-insensitively). The result points into `snapshot`.
LineTerms ResolveTerms(const ReferenceSnapshot& snapshot, const RatingConfig& config,
                       std::string_view entitlement_id, std::string_view meter_id,
                       std::string_view resource_uri, Date date);

// Whether eligible grants (§4.3 rule 4) jointly cover `resource_uri` for the whole UTC day
// [date, date + 1). Exposed for tests and the API.
bool HasFullDayAccess(const ReferenceSnapshot& snapshot, const RatingConfig& config,
                      const Entitlement& entitlement, const Customer& customer,
                      const Partner& partner, std::string_view resource_uri, Date date);

// Whether `scope` (normalized or not) equals `resource_uri` or is an ancestor of it, compared on
// whole path segments, ASCII case-insensitively, ignoring empty segments (§4.3, §8.11).
bool ScopeCovers(std::string_view scope, std::string_view resource_uri);

// The stored and shown form of a rated or unrated line. Fields not shown are zero, so two
// results compare equal exactly when their shown forms are equal.
struct RatedAmounts {
  UnratedReason reason = UnratedReason::kNone;  // kNone: status "rated"
  bool prices_shown = false;                    // unit_price, effective_unit_price, pec_rate
  bool usd_shown = false;                       // list_usd, pec_usd, billed_usd
  bool fx_shown = false;                        // fx
  bool bc_shown = false;                        // list_bc, pec_bc, billed_bc
  bool fx_provisional = false;
  CurrencyCode currency;
  Decimal unit_price;
  Decimal effective_unit_price;
  Decimal pec_rate;
  Decimal list_usd;
  Decimal pec_usd;
  Decimal billed_usd;
  FxRate fx;
  Decimal list_bc;
  Decimal pec_bc;
  Decimal billed_bc;
  // Rated lines that are pec_lost candidates: the PEC the line would have earned with full
  // access, computed exactly like pec_usd / pec_bc (§4.3, §4.4) at the would-be rate. Zero
  // otherwise.
  bool pec_lost = false;
  Decimal lost_pec_usd;
  Decimal lost_pec_bc;

  bool rated() const { return reason == UnratedReason::kNone; }
  friend bool operator==(const RatedAmounts&, const RatedAmounts&) = default;
};

// Rates `quantity` occupying [cumulative_before, cumulative_before + quantity) of its tier scope
// (§4.2). REQUIRES: quantity >= 0, cumulative_before >= 0. Does not allocate.
void RateLine(const LineTerms& terms, Decimal quantity, Decimal cumulative_before,
              RatedAmounts* out);

}  // namespace meterd::rating
