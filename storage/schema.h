// The on-disk schema: the named LMDB databases, the schema version and the key layouts (the
// daemon encodes values; see docs/storage.md for every layout and why it sorts that way).
// Key functions append to a KeyBuilder and never allocate. Stateless; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>

#include "storage/keys.h"

namespace meterd::storage {

// Bump when a layout changes incompatibly; an Env refuses stores written by a newer version.
// 2: adds the `journal` database (storage/journal.h); a version-1 store is upgraded on open.
inline constexpr uint32_t kSchemaVersion = 2;

// One named LMDB database each (opened once when the Env opens). No MDB_DUPSORT anywhere.
enum class Db : uint8_t {
  kMeta = 0,      // schema version, sequence high-water marks, purge progress
  kEvents,        // dedupe identities -> 4-byte BE expiry day
  kLines,         // daily lines of known customers, canonical order
  kUnknownLines,  // daily lines of unknown entitlements
  kTotals,        // month totals per customer
  kReference,     // every kind of reference data, 1 type byte + natural key
  kBudgets,       // customer_id -> budget
  kFired,         // fired thresholds and pec_lost marks
  kAlerts,        // 8-byte BE sequence -> alert record (append-only)
  kOutbox,        // 8-byte BE sequence -> webhook delivery row
  kWebhooks,      // partner_id 0x00 webhook_id -> webhook
  kTokens,        // hashed tokens
  kJournal,       // 8-byte BE sequence -> journal record (storage/journal.h)
};
inline constexpr int kDbCount = 13;

// The LMDB name of a database ("meta", "events", "lines", "unknown_lines", ...).
std::string_view DbName(Db db);
inline constexpr Db kAllDbs[kDbCount] = {
    Db::kMeta,    Db::kEvents, Db::kLines,  Db::kUnknownLines, Db::kTotals,   Db::kReference,
    Db::kBudgets, Db::kFired,  Db::kAlerts, Db::kOutbox,       Db::kWebhooks, Db::kTokens,
    Db::kJournal};

// First byte of a `reference` key.
enum class RefType : uint8_t {
  kPartner = 1,      // partner_id
  kReseller = 2,     // mpn_id
  kCustomer = 3,     // customer_id
  kEntitlement = 4,  // entitlement_id
  kGrant = 5,        // grant_id
  kPriceRow = 6,     // market 0x00 meter_id 0x00 effective_start(u32) tier_min(16 bytes)
  kFx = 7,           // currency 0x00 month(u32)
};

// First byte of a `fired` key.
enum class FiredKind : uint8_t {
  kBudgetActual = 1,    // customer_id 0x00 month(u32) threshold(u64)
  kBudgetForecast = 2,  // customer_id 0x00 month(u32) threshold(u64)
  kPecLost = 3,         // entitlement_id 0x00 date(u32)
  kAnomaly = 4,         // customer_id 0x00 date(u32)
};

// First byte of a `tokens` key.
enum class TokenKey : uint8_t {
  kByHash = 1,  // 32-byte SHA-256 of the secret -> token record
  kById = 2,    // token_id -> 32-byte hash (for DELETE by id)
};

// Dates are days since 1970-01-01 and months are year * 12 + (month - 1), both as unsigned
// 32-bit big-endian (the product never meets dates before 1970).
namespace keys {

// events: entitlement_id 0x00 event_id. The event id is compared byte for byte and may hold any
// byte, so it is the raw last field.
void Event(KeyBuilder* k, std::string_view entitlement_id, std::string_view event_id);

// lines: customer_id 0x00 month meter_id 0x00 date entitlement_id 0x00 resource_uri. Prefixes:
// (customer), (customer, month), (customer, month, meter) scan a month, a tier scope, a day.
void Line(KeyBuilder* k, std::string_view customer_id, uint32_t month, std::string_view meter_id,
          uint32_t date, std::string_view entitlement_id, std::string_view resource_uri);
void LineMonthPrefix(KeyBuilder* k, std::string_view customer_id, uint32_t month);
void LineScopePrefix(KeyBuilder* k, std::string_view customer_id, uint32_t month,
                     std::string_view meter_id);

// unknown_lines: entitlement_id 0x00 meter_id 0x00 date resource_uri.
void UnknownLine(KeyBuilder* k, std::string_view entitlement_id, std::string_view meter_id,
                 uint32_t date, std::string_view resource_uri);

// totals: customer_id 0x00 month.
void Totals(KeyBuilder* k, std::string_view customer_id, uint32_t month);

// reference: type byte + natural key (one string) for partner, reseller, customer,
// entitlement, grant.
void Reference(KeyBuilder* k, RefType type, std::string_view id);
// tier_min_nanos: the decimal in 10^-9 units as 128 bits, big-endian (hi then lo).
void PriceRow(KeyBuilder* k, std::string_view market, std::string_view meter_id,
              uint32_t effective_start, uint64_t tier_min_hi, uint64_t tier_min_lo);
void Fx(KeyBuilder* k, std::string_view currency, uint32_t month);

// fired: kind byte + fields per FiredKind.
void FiredThreshold(KeyBuilder* k, FiredKind kind, std::string_view customer_id, uint32_t month,
                    uint64_t threshold_nanos);
void FiredDay(KeyBuilder* k, FiredKind kind, std::string_view id, uint32_t date);

// alerts, outbox: 8-byte BE sequence (see WriteTxn::AppendSequenced).
void Sequence(KeyBuilder* k, uint64_t seq);

// budgets: customer_id 0x00.
void Budget(KeyBuilder* k, std::string_view customer_id);
// webhooks: partner_id 0x00 webhook_id 0x00.
void Webhook(KeyBuilder* k, std::string_view partner_id, std::string_view webhook_id);
// tokens: 0x01 + 32-byte SHA-256 of the secret, or 0x02 + token_id 0x00.
void TokenByHash(KeyBuilder* k, std::string_view sha256);
void TokenById(KeyBuilder* k, std::string_view token_id);

}  // namespace keys

// Value of an `events` record: its first 4 bytes are the BE expiry day that retention compares
// (anything after them is the daemon's and ignored by storage).
inline constexpr size_t kEventValueSize = 4;

}  // namespace meterd::storage
