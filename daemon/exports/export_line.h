// What the CSV writers of the partner exports see of one stored daily line: the key fields, the
// stored quantity and amounts, and the reference data around it (customer, partner, entitlement,
// the applicable price table and its descriptive price-list columns). Plain views: the caller
// keeps everything they point to alive for the call. Thread-compatible value types.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "daemon/core/records.h"
#include "daemon/exports/csv_row.h"
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
// (or no longer) known, and the matching cells are then empty (which the accessors give).
struct LineContext {
  const rating::Customer* customer = nullptr;
  const rating::Partner* partner = nullptr;
  const rating::Entitlement* entitlement = nullptr;
  // The tier table applicable to the line: market = customer country, meter, usage date.
  const rating::TierTable* table = nullptr;
  const PriceDescription* price = nullptr;

  std::string_view partner_name() const {
    return partner ? std::string_view(partner->name) : std::string_view();
  }
  std::string_view partner_mpn_id() const {
    return partner ? std::string_view(partner->mpn_id) : std::string_view();
  }
  std::string_view reseller_mpn_id() const {
    return customer->reseller_mpn_id ? std::string_view(*customer->reseller_mpn_id)
                                     : std::string_view();
  }
  std::string_view entitlement_description() const {
    return entitlement ? std::string_view(entitlement->description) : std::string_view();
  }
  std::string_view meter_name() const {
    return table ? std::string_view(table->meter_name) : std::string_view();
  }
  std::string_view meter_category() const {
    return table ? std::string_view(table->meter_category) : std::string_view();
  }
  std::string_view unit_of_measure() const {
    return table ? std::string_view(table->unit_of_measure) : std::string_view();
  }
  // A price-list column of the table's lowest tier (&PriceDescription::sku_id, ...).
  std::string_view price_column(std::string PriceDescription::*column) const {
    return price ? std::string_view(price->*column) : std::string_view();
  }
};

// A column of a file: its header name and whether only wholesale audiences get it.
struct ExportColumn {
  std::string_view name;
  bool wholesale;
};

// The header row (CRLF-terminated) of `columns` as `audience` gets them.
template <size_t N>
void AppendHeader(const std::array<ExportColumn, N>& columns, Audience audience, std::string* out) {
  CsvRowWriter row(out);
  for (const ExportColumn& c : columns) {
    if (c.wholesale && audience != Audience::kWholesale) continue;
    row.Text(c.name);
  }
  row.EndRow();
}

// One row: `cell(i, row)` writes column i for every column `audience` gets, in order; the
// writers switch on i, so each file's cell logic stays one table-shaped function.
template <size_t N, typename CellFn>
void AppendRow(const std::array<ExportColumn, N>& columns, Audience audience, std::string* out,
               CellFn&& cell) {
  CsvRowWriter row(out);
  for (size_t i = 0; i < N; ++i) {
    if (columns[i].wholesale && audience != Audience::kWholesale) continue;
    cell(i, row);
  }
  row.EndRow();
}

// The PEC share in percent as the files show it: 15 or 0 (pec_rate × 100, no trailing zeros).
inline void AppendPecPercent(CsvRowWriter& row, const rating::RatedAmounts& rated) {
  row.TrimmedDecimal(rating::Decimal::FromNanos(rated.pec_rate.nanos() * 100));
}

// ASCII case-insensitive equality (meter categories, URI segments).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// The resource group named in an Azure resource ID ("/subscriptions/S/resourceGroups/G/..."),
// compared case-insensitively on whole segments; empty when the URI names none.
std::string_view ResourceGroupOf(std::string_view resource_uri);

}  // namespace meterd::exports
