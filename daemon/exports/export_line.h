// What the CSV writers of the partner exports see of one stored daily line: the key fields, the
// stored quantity and amounts, and the reference data around it (customer, partner, entitlement,
// the applicable price table and its descriptive price-list columns). Plain views: the caller
// keeps everything they point to alive for the call. Thread-compatible value types.
#pragma once

#include <string>
#include <string_view>

#include "daemon/core/records.h"
#include "rating/civil_time.h"
#include "rating/reference.h"

namespace meterd::exports {

// Who reads the file. Resellers never see wholesale figures: the PEC share, effective prices,
// billed amounts (domain §6, §8.33), so their files leave those columns out altogether.
enum class Audience { kWholesale, kListOnly };

// The price-list columns of a tier table that rating itself does not keep (those of its lowest
// tier row, like MeterName and MeterCategory, §8.19).
struct PriceDescription {
  std::string product_id;
  std::string sku_id;
  std::string meter_sub_category;
  std::string meter_region;
  std::string publisher;
};

// One daily line: key fields as stored (lowercased ids) and the decoded value.
struct ExportLine {
  std::string_view meter_id;
  rating::Date usage_date;
  std::string_view entitlement_id;
  std::string_view resource_uri;
  const core::StoredLine* line = nullptr;  // never null when handed to a writer
};

// The reference data around a line. Only `customer` is required; the rest is null when not
// (or no longer) known, and the matching cells are then empty.
struct LineContext {
  const rating::Customer* customer = nullptr;
  const rating::Partner* partner = nullptr;
  const rating::Entitlement* entitlement = nullptr;
  // The tier table applicable to the line: market = customer country, meter, usage date.
  const rating::TierTable* table = nullptr;
  const PriceDescription* price = nullptr;
};

// The resource group named in an Azure resource ID ("/subscriptions/S/resourceGroups/G/..."),
// compared case-insensitively on whole segments; empty when the URI names none.
std::string_view ResourceGroupOf(std::string_view resource_uri);

}  // namespace meterd::exports
