// Parsers of the admin bodies that feed reference data and budgets: POST /v1/reference NDJSON,
// the single-object PUT /v1/{partners,resellers,customers,entitlements,grants}/{id} bodies, the
// FX body of PUT /v1/fx/{month} and the budget bodies (PUT .../budget, budgets:batchSet,
// budgets:batchRemove). Output is rating/ value types (or small structs of exact Decimals);
// nothing is applied here. A ReferenceParser is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/status.h"
#include "rating/budget.h"
#include "rating/decimal.h"
#include "rating/reference.h"

namespace meterd::ingest {

// How single-body parsers report failure (the route picks the HTTP status from the code):
// the body is not well-formed JSON, or not a JSON object, or repeats a field -> HTTP 400;
inline constexpr StatusCode kMalformedBody = StatusCode::kInvalidArgument;
// the body is well-formed JSON but a field is missing or has an invalid value -> HTTP 422.
inline constexpr StatusCode kInvalidBody = StatusCode::kFailedPrecondition;

enum class EntityType : uint8_t { kPartner, kReseller, kCustomer, kEntitlement, kGrant };
// "partner", "reseller", "customer", "entitlement", "grant" (the NDJSON "type" values).
std::string_view EntityTypeName(EntityType type);
std::optional<EntityType> EntityTypeFromName(std::string_view name);

using ReferenceEntity = std::variant<rating::Partner, rating::Reseller, rating::Customer,
                                     rating::Entitlement, rating::Grant>;

// Per-line error codes of POST /v1/reference.
enum class ReferenceError : uint8_t {
  kBadJson,       // not one well-formed JSON object, or a known field given twice
  kUnknownType,   // "type" is not one of the five entity types
  kMissingField,  // a required field is absent, null or empty
  kTooLong,       // an id over 128 bytes; a scope, name, domain or description over 1024
  kBadValue,      // wrong JSON type, bad enum value, malformed country or currency code
  kBadTimestamp,  // created_at, start or end is not RFC 3339
};
// "bad_json", "unknown_type", "missing_field", "too_long", "bad_value", "bad_timestamp".
std::string_view ReferenceErrorName(ReferenceError error);

inline constexpr size_t kMaxReferenceIdBytes = 128;
inline constexpr size_t kMaxReferenceTextBytes = 1024;
// The answer lists at most this many line errors; all are counted.
inline constexpr size_t kMaxListedReferenceErrors = 1000;

struct ReferenceLine {
  uint32_t line = 0;  // 1-based
  ReferenceEntity entity;
};

struct ReferenceLineError {
  uint32_t line = 0;
  ReferenceError error = ReferenceError::kBadJson;
  std::string detail;
};

struct ReferenceBatch {
  std::vector<ReferenceLine> entities;     // in line order
  std::vector<ReferenceLineError> errors;  // the first kMaxListedReferenceErrors, in line order
  size_t rejected = 0;                     // every rejected line
};

struct FxRateEntry {
  std::string currency;  // three ASCII letters, uppercased
  rating::FxRate rate;   // > 0, at most 12 fractional digits
  friend bool operator==(const FxRateEntry&, const FxRateEntry&) = default;
};

// PUT /v1/fx/{month}: {"rates":{"EUR":"0.913951469","NOK":9.041}}.
struct FxBody {
  std::vector<FxRateEntry> rates;  // sorted by currency, each currency once
};

// PUT /v1/customers/{id}/budget and POST /v1/budgets:batchSet.
struct BudgetBody {
  rating::Budget budget;  // normalized (rating::NormalizeBudget): sorted, deduplicated
  // batchSet only: lowercased, sorted, without duplicates, never empty.
  std::vector<std::string> customer_ids;
};

enum class BudgetBodyKind : uint8_t { kSingle, kBatchSet };

// Field rules shared by every reference form:
// - ids (partner_id, mpn_id, customer_id, reseller_mpn_id, entitlement_id, grant_id,
//   principal_mpn_id), `role` and `scope` are ASCII-lowercased; country and currency are
//   uppercased and must be 2 and 3 ASCII letters.
// - `null` counts as absent. Optional fields (reseller_mpn_id, currency, end) given as "" are
//   absent too. Free text (name, domain, description) is optional, default "": rating never
//   reads it, and refusing an entitlement over a missing description would cost its usage PEC.
// - Defaults: mpn_active true, aobo true. Unknown fields are ignored; a known field given twice
//   is bad_json, as in usage bodies.
// - `kind` and `offer` are case-sensitive, as the API spells them ("direct", "azure_plan").
// - The implied grant "aobo:{entitlement_id}" takes only `end` (domain §8.23): its other
//   fields are optional and ignored; entitlement_id is taken from the id.
class ReferenceParser {
 public:
  ReferenceParser();
  ~ReferenceParser();
  ReferenceParser(const ReferenceParser&) = delete;
  ReferenceParser& operator=(const ReferenceParser&) = delete;

  // POST /v1/reference. Lines are split like usage bodies (CRLF tolerated; blank lines skipped
  // but numbered). Each line needs a "type". `body` needs no padding (it is copied).
  void ParseNdjson(std::string_view body, ReferenceBatch* out);

  // PUT /v1/{type}s/{path_id}: one object of the given type. Decision: the path names the
  // object, so the key field (partner_id, mpn_id, customer_id, entitlement_id, grant_id) may be
  // left out of the body and is filled from the path; when present it must equal the path id
  // (compared lowercased) or the body is invalid. A "type" field is optional and must match.
  Result<ReferenceEntity> ParseEntity(EntityType type, std::string_view path_id,
                                      std::string_view body);

  // PUT /v1/fx/{month}. Rates are JSON numbers or strings, parsed exactly; a currency given
  // twice (in any case) is invalid. An empty "rates" object is valid.
  Result<FxBody> ParseFx(std::string_view body);

  // Budget bodies: amount (required, number or string, > 0, at most 9 fractional digits),
  // basis ("list" | "billed", default list), thresholds (default [80, 100]) and
  // forecast_thresholds (default [100]): arrays of numbers or strings in (0, 1000], sorted and
  // deduplicated. kBatchSet also requires a non-empty "customer_ids" array of strings.
  Result<BudgetBody> ParseBudget(BudgetBodyKind kind, std::string_view body);

  // POST /v1/budgets:batchRemove: {"customer_ids":[...]} -> lowercased, sorted, unique.
  Result<std::vector<std::string>> ParseCustomerIds(std::string_view body);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace meterd::ingest
