// The reference data of a World rendered in the contract's formats (the same files as
// /work/shared/examples/*): reference.ndjson (body of POST /v1/reference), pricesheet.csv
// (POST /v1/pricesheet), fx.json ({month: {currency: rate}}), budgets.json
// ({customer_id: {amount, basis, thresholds}}) and now.txt (the feed's "now", for
// meterd --fixed-clock). Rendering is pure; reading and writing touch only the given folder.
#pragma once

#include <string>

#include "common/status.h"
#include "tools/loadgen/world.h"

namespace meterd::loadgen {

struct ReferenceFiles {
  std::string reference_ndjson;
  std::string pricesheet_csv;
  std::string fx_json;
  std::string budgets_json;
  std::string now_txt;
};

inline constexpr const char* kPriceSheetHeader =
    "ProductId,SkuId,MeterId,MeterName,MeterCategory,MeterSubCategory,MeterRegion,"
    "UnitOfMeasure,Market,Currency,UnitPrice,PricingTierRangeMin,PricingTierRangeMax,"
    "EffectiveStartDate,EffectiveEndDate,Tags,Publisher";

ReferenceFiles RenderReferenceFiles(const World& world);

// Writes the five files into `dir` (created if missing), replacing earlier ones.
Status WriteReferenceFiles(const ReferenceFiles& files, const std::string& dir);

// Reads the files of a folder such as tools/demo or an examples folder. reference.ndjson is
// required; a missing pricesheet.csv, fx.json, budgets.json or now.txt reads as empty.
Result<ReferenceFiles> ReadReferenceFiles(const std::string& dir);

}  // namespace meterd::loadgen
