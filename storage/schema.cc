#include "storage/schema.h"

namespace meterd::storage {

std::string_view DbName(Db db) {
  switch (db) {
    case Db::kMeta:
      return "meta";
    case Db::kEvents:
      return "events";
    case Db::kLines:
      return "lines";
    case Db::kUnknownLines:
      return "unknown_lines";
    case Db::kTotals:
      return "totals";
    case Db::kReference:
      return "reference";
    case Db::kBudgets:
      return "budgets";
    case Db::kFired:
      return "fired";
    case Db::kAlerts:
      return "alerts";
    case Db::kOutbox:
      return "outbox";
    case Db::kWebhooks:
      return "webhooks";
    case Db::kTokens:
      return "tokens";
    case Db::kJournal:
      return "journal";
  }
  return "?";
}

namespace keys {

void Event(KeyBuilder* k, std::string_view entitlement_id, std::string_view event_id) {
  k->AddString(entitlement_id).AddBytes(event_id);
}

void Line(KeyBuilder* k, std::string_view customer_id, uint32_t month, std::string_view meter_id,
          uint32_t date, std::string_view entitlement_id, std::string_view resource_uri) {
  k->AddString(customer_id)
      .AddU32(month)
      .AddString(meter_id)
      .AddU32(date)
      .AddString(entitlement_id)
      .AddTrailingString(resource_uri);
}

void LineMonthPrefix(KeyBuilder* k, std::string_view customer_id, uint32_t month) {
  k->AddString(customer_id).AddU32(month);
}

void LineScopePrefix(KeyBuilder* k, std::string_view customer_id, uint32_t month,
                     std::string_view meter_id) {
  k->AddString(customer_id).AddU32(month).AddString(meter_id);
}

void UnknownLine(KeyBuilder* k, std::string_view entitlement_id, std::string_view meter_id,
                 uint32_t date, std::string_view resource_uri) {
  k->AddString(entitlement_id).AddString(meter_id).AddU32(date).AddTrailingString(resource_uri);
}

void Totals(KeyBuilder* k, std::string_view customer_id, uint32_t month) {
  k->AddString(customer_id).AddU32(month);
}

void Reference(KeyBuilder* k, RefType type, std::string_view id) {
  k->AddU8(static_cast<uint8_t>(type)).AddString(id);
}

void PriceRow(KeyBuilder* k, std::string_view market, std::string_view meter_id,
              uint32_t effective_start, uint64_t tier_min_hi, uint64_t tier_min_lo) {
  k->AddU8(static_cast<uint8_t>(RefType::kPriceRow))
      .AddString(market)
      .AddString(meter_id)
      .AddU32(effective_start)
      .AddU64(tier_min_hi)
      .AddU64(tier_min_lo);
}

void Fx(KeyBuilder* k, std::string_view currency, uint32_t month) {
  k->AddU8(static_cast<uint8_t>(RefType::kFx)).AddString(currency).AddU32(month);
}

void FiredThreshold(KeyBuilder* k, FiredKind kind, std::string_view customer_id, uint32_t month,
                    uint64_t threshold_nanos) {
  k->AddU8(static_cast<uint8_t>(kind)).AddString(customer_id).AddU32(month).AddU64(threshold_nanos);
}

void FiredDay(KeyBuilder* k, FiredKind kind, std::string_view id, uint32_t date) {
  k->AddU8(static_cast<uint8_t>(kind)).AddString(id).AddU32(date);
}

void Sequence(KeyBuilder* k, uint64_t seq) { k->AddU64(seq); }

void Budget(KeyBuilder* k, std::string_view customer_id) { k->AddString(customer_id); }

void Webhook(KeyBuilder* k, std::string_view partner_id, std::string_view webhook_id) {
  k->AddString(partner_id).AddString(webhook_id);
}

void TokenByHash(KeyBuilder* k, std::string_view sha256) {
  k->AddU8(static_cast<uint8_t>(TokenKey::kByHash)).AddBytes(sha256);
}

void TokenById(KeyBuilder* k, std::string_view token_id) {
  k->AddU8(static_cast<uint8_t>(TokenKey::kById)).AddString(token_id);
}

}  // namespace keys
}  // namespace meterd::storage
