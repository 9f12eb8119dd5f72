// Value encodings of the records the daemon keeps in LMDB (key layouts: storage/schema.h).
// Binary, little-endian, versioned by a leading byte so a future layout can be told apart.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "rating/budget.h"
#include "rating/civil_time.h"
#include "rating/decimal.h"
#include "rating/line_rating.h"
#include "rating/month_ledger.h"

namespace meterd::core {

// A daily line as stored: its quantity and rated form (rating::RatedAmounts).
struct StoredLine {
  rating::Decimal quantity;
  rating::RatedAmounts rated;
  // The full resource URI when the key keeps only a prefix (plus a hash) of one too long for
  // LMDB's 511-byte keys; empty when the key holds it whole (readers take it from the key).
  std::string resource_uri;
};
void EncodeLine(const StoredLine& line, std::string* out);
Status DecodeLine(std::string_view bytes, StoredLine* out);

// Month totals of a customer plus the instant of the commit that wrote them (as_of).
struct StoredTotals {
  rating::MonthTotals totals;
  rating::Timestamp as_of;
};
void EncodeTotals(const StoredTotals& totals, std::string* out);
Status DecodeTotals(std::string_view bytes, StoredTotals* out);

// A quantity alone (unknown-entitlement lines), optionally followed by the full resource URI
// (for keys that had to truncate it).
void EncodeQuantity(rating::Decimal quantity, std::string* out);
void EncodeUnknownLine(rating::Decimal quantity, std::string_view resource_uri, std::string* out);
Status DecodeQuantity(std::string_view bytes, rating::Decimal* out);
// Decodes either form; *resource_uri is left unchanged when the record carries none.
Status DecodeUnknownLine(std::string_view bytes, rating::Decimal* quantity,
                         std::string* resource_uri);

void EncodeBudget(const rating::Budget& budget, std::string* out);
Status DecodeBudget(std::string_view bytes, rating::Budget* out);

// An alert as stored in the `alerts` database: what access checks need in a small header, and
// the alert's JSON members (everything but "id", which derives from the sequence) ready to serve.
struct StoredAlert {
  rating::AlertKind kind = rating::AlertKind::kBudgetActual;
  std::optional<rating::Basis> basis;  // budget alerts: the basis of the budget that fired
  std::string customer_id;
  std::string json_members;  // `"kind":"…",…,"created_at":"…"` without braces
};
void EncodeAlert(const StoredAlert& alert, std::string* out);
Status DecodeAlert(std::string_view bytes, StoredAlert* out);
// The public id of the alert with sequence `seq` ("al_" + 16 hex digits).
std::string AlertId(uint64_t seq);
std::optional<uint64_t> ParseAlertId(std::string_view id);

}  // namespace meterd::core
