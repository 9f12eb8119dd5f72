// How reference data is kept in the `reference` database: each entity as the canonical NDJSON
// line POST /v1/reference accepts, price rows as CSV lines of the fixed price-list header, FX
// rates as decimal text. Loading replays them through the same parsers and the snapshot
// builder, so what is stored is exactly what was accepted. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "daemon/ingest/reference_parser.h"
#include "rating/price_sheet.h"
#include "rating/reference.h"

namespace meterd::core {

// The canonical NDJSON line (with "type") of an entity.
std::string EntityToJson(const ingest::ReferenceEntity& entity);
// The natural key and RefType byte of an entity.
std::string_view EntityKey(const ingest::ReferenceEntity& entity);
uint8_t EntityRefType(const ingest::ReferenceEntity& entity);

// The price-list header every stored price row follows.
inline constexpr std::string_view kPriceCsvHeader =
    "ProductId,SkuId,MeterId,MeterName,MeterCategory,MeterSubCategory,MeterRegion,UnitOfMeasure,"
    "Market,Currency,UnitPrice,PricingTierRangeMin,PricingTierRangeMax,EffectiveStartDate,"
    "EffectiveEndDate,Tags,Publisher";
// One CSV line (no newline) of a row under kPriceCsvHeader, RFC 4180 quoted where needed.
std::string PriceRowToCsv(const rating::PriceRow& row);
void AppendCsvCell(std::string_view cell, std::string* out);

}  // namespace meterd::core
