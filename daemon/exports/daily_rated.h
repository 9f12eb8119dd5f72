// The daily-rated usage file (domain §7, §8.35): one CSV row per rated daily line with the
// Partner Center reconciliation file's columns in its order [001:10019-10075]. Columns the product
// does not know stay empty; wholesale columns are left out for resellers (§8.33). The seed spells
// one column "Skuld": an OCR slip for "SkuId" (the price list's own column, [001:13764]), which is
// what we write (docs/exports.md). Pure functions: thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "daemon/exports/export_line.h"

namespace meterd::exports {

// Every column of the file, in order, as the partner (wholesale) audience gets it.
extern const std::array<ExportColumn, 50> kDailyRatedColumns;

// The header row (CRLF-terminated) for `audience`.
void AppendDailyRatedHeader(Audience audience, std::string* out);

// Appends the row of `line` under `context`. Unrated lines are not part of the file (§8.35):
// nothing is appended and false returned. Allocates nothing once `out` has grown.
bool AppendDailyRatedRow(const LineContext& context, const ExportLine& line, Audience audience,
                         std::string* out);

}  // namespace meterd::exports
