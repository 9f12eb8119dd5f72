// libFuzzer target: POST /v1/pricesheet bodies (rating/price_sheet.h over rating/csv.h). Besides
// memory safety, checks on every input: the CSV reader's records survive re-encoding (quote
// every cell, "" escapes) and re-reading unchanged; every parsed row is normalized as the
// header promises; rows and problems come in line order; the in-upload collapse returns valid,
// distinct indices; and ValidateTierTable accepts or refuses each table without crashing.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "rating/csv.h"
#include "rating/price_sheet.h"

namespace {

using meterd::rating::CsvReader;
using meterd::rating::CsvRecord;
using meterd::rating::Decimal;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

bool HasUpper(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

bool IsTrimmed(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t'; };
  return s.empty() || (!space(s.front()) && !space(s.back()));
}

std::vector<std::vector<std::string>> ReadAll(std::string_view text, bool* ok) {
  std::vector<std::vector<std::string>> out;
  CsvReader reader(text);
  CsvRecord record;
  int last_line = 0;
  while (reader.Next(&record)) {
    Check(record.line() > last_line, "CSV record lines increase");
    last_line = record.line();
    Check(record.size() >= 1, "a record has a cell");
    std::vector<std::string> cells;
    for (size_t i = 0; i < record.size(); ++i) {
      Check(IsTrimmed(record[i]), "cells are trimmed");
      cells.emplace_back(record[i]);
    }
    out.push_back(std::move(cells));
  }
  *ok = reader.status().ok();
  if (!*ok) {
    Check(reader.status().message().rfind("line ", 0) == 0, "CSV errors name their line");
  }
  return out;
}

// Re-encodes records so the reader must give the same cells back: every cell quoted (quotes
// doubled), CRLF between records. Blank records stay blank lines.
std::string Encode(const std::vector<std::vector<std::string>>& records) {
  std::string out;
  for (const auto& rec : records) {
    if (rec.size() == 1 && rec[0].empty()) {
      out += "\r\n";
      continue;
    }
    for (size_t i = 0; i < rec.size(); ++i) {
      if (i) out += ',';
      out += '"';
      for (char c : rec[i]) {
        if (c == '"') out += '"';
        out += c;
      }
      out += '"';
    }
    out += "\r\n";
  }
  return out;
}

void CheckCsv(std::string_view text) {
  bool ok = false;
  const auto records = ReadAll(text, &ok);
  if (!ok) return;  // records before the error were still checked above
  bool again_ok = false;
  const auto again = ReadAll(Encode(records), &again_ok);
  Check(again_ok, "re-encoded CSV reads back");
  Check(again == records, "re-encoded CSV gives the same cells");
}

void CheckPriceSheet(std::string_view text) {
  auto result = meterd::rating::ParsePriceSheet(text);
  if (!result.ok()) {
    Check(!result.status().message().empty(), "error message");
    return;
  }
  const meterd::rating::PriceSheet& sheet = *result;
  int prev = 0;
  for (const auto& row : sheet.rows) {
    Check(row.line > prev, "rows in line order");
    prev = row.line;
    Check(row.market.size() == 2 && !std::any_of(row.market.begin(), row.market.end(), [](char c) {
            return c < 'A' || c > 'Z';
          }),
          "market is two uppercase letters");
    Check(!row.meter_id.empty() && !HasUpper(row.meter_id), "meter id lowercased");
    Check(row.currency == "USD", "parsed rows are USD");
    Check(!row.unit_price.IsNegative() && !row.tier_min.IsNegative(), "non-negative price, tier");
    Check(!row.effective_end || *row.effective_end >= row.effective_start, "end after start");
    Check(IsTrimmed(row.meter_id) && IsTrimmed(row.meter_name) && IsTrimmed(row.tags),
          "descriptive columns trimmed");
    Check(row.tag_flags == meterd::rating::ParseTags(row.tags), "tag flags from the tags");
  }
  prev = 0;
  for (const auto& p : sheet.problems) {
    Check(p.line > prev, "problems in line order");
    prev = p.line;
    Check(!p.detail.empty(), "problem detail");
    Check(!std::any_of(sheet.rows.begin(), sheet.rows.end(),
                       [&](const auto& r) { return r.line == p.line; }),
          "a line is a row or a problem, not both");
  }

  const std::vector<size_t> kept = meterd::rating::CollapseRepeatedKeys(sheet.rows);
  std::set<size_t> seen;
  using Key = std::tuple<std::string, std::string, int32_t, Decimal>;
  std::set<Key> keys;
  for (size_t i : kept) {
    Check(i < sheet.rows.size(), "collapse index in range");
    Check(seen.insert(i).second, "collapse indices distinct");
    const auto& r = sheet.rows[i];
    Check(keys.insert({r.market, r.meter_id, r.effective_start.days, r.tier_min}).second,
          "collapse keeps one row per key");
  }
  // Every key of the upload survives, and it is the last row with that key.
  std::map<Key, size_t> last;
  for (size_t i = 0; i < sheet.rows.size(); ++i) {
    const auto& r = sheet.rows[i];
    last[{r.market, r.meter_id, r.effective_start.days, r.tier_min}] = i;
  }
  Check(last.size() == kept.size(), "collapse keeps every key");
  for (size_t i : kept) {
    const auto& r = sheet.rows[i];
    Check(last[{r.market, r.meter_id, r.effective_start.days, r.tier_min}] == i,
          "collapse keeps the last row of a key");
  }

  // Tables as the loader would form them: kept rows grouped by (market, meter, start).
  std::map<std::tuple<std::string, std::string, int32_t>, std::vector<meterd::rating::PriceRow>>
      tables;
  for (size_t i : kept) {
    const auto& r = sheet.rows[i];
    tables[{r.market, r.meter_id, r.effective_start.days}].push_back(r);
  }
  for (const auto& [key, rows] : tables) {
    meterd::Status st = meterd::rating::ValidateTierTable(rows);
    if (!st.ok()) Check(!st.message().empty(), "table error message");
    const bool has_zero = std::any_of(rows.begin(), rows.end(),
                                      [](const auto& r) { return r.tier_min.IsZero(); });
    if (!has_zero) Check(!st.ok(), "a table without tier 0 is refused");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckCsv(text);
  CheckPriceSheet(text);
  return 0;
}
