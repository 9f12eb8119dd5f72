// The FOCUS export (FinOps Open Cost and Usage Specification; domain §7, §8.37): one row per
// rated daily line, costs in the billing currency, so partners can load spend into any FinOps
// tool. FOCUS columns first, then the product's own as x_ columns. Resellers get the list-basis
// columns only (§8.33). Pure functions: thread-safe.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "daemon/exports/daily_rated.h"
#include "daemon/exports/export_line.h"

namespace meterd::exports {

// Every column, in order, as the partner (wholesale) audience gets it.
extern const std::array<ExportColumn, 47> kFocusColumns;

void AppendFocusHeader(Audience audience, std::string* out);

// Appends the row of a rated line; unrated lines are skipped (false). BilledCost is the line's
// billed_bc, so the column sums to the customer's billed spend (GET /v1/customers/{id}/spend).
bool AppendFocusRow(const LineContext& context, const ExportLine& line, Audience audience,
                    std::string* out);

// The FOCUS ServiceCategory of an Azure meter category ("Virtual Machines" -> "Compute"),
// "Other" when not listed (docs/exports.md has the table). Case-insensitive.
std::string_view FocusServiceCategory(std::string_view meter_category);

}  // namespace meterd::exports
