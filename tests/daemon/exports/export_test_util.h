// Helpers for the export tests: an RFC 4180 reader written independently of the code under test
// (it does not trim, so it sees cells exactly as written), a header-keyed view of one row, and
// builders for rated daily lines and reference data. Not thread-safe.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/core/records.h"
#include "rating/decimal.h"
#include "rating/line_rating.h"
#include "rating/reference.h"

namespace meterd::exports::testing {

using Rows = std::vector<std::vector<std::string>>;

// Parses a whole CSV text: records end with CRLF (a bare LF fails the test: our files use CRLF);
// quoted cells may hold commas, CR, LF and doubled quotes.
inline Rows ParseCsv(std::string_view text) {
  Rows rows;
  std::vector<std::string> row;
  std::string cell;
  size_t i = 0;
  bool row_open = false;
  while (i < text.size()) {
    row_open = true;
    char c = text[i];
    if (c == '"' && cell.empty()) {
      ++i;
      for (;;) {
        if (i >= text.size()) {
          ADD_FAILURE() << "unterminated quoted cell";
          return rows;
        }
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            cell.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        cell.push_back(text[i++]);
      }
      if (i < text.size() && text[i] != ',' && text[i] != '\r') {
        ADD_FAILURE() << "text after a closing quote at offset " << i;
        return rows;
      }
      continue;
    }
    if (c == ',') {
      row.push_back(std::move(cell));
      cell.clear();
      ++i;
      continue;
    }
    if (c == '\r') {
      if (i + 1 >= text.size() || text[i + 1] != '\n') {
        ADD_FAILURE() << "CR without LF at offset " << i;
        return rows;
      }
      row.push_back(std::move(cell));
      cell.clear();
      rows.push_back(std::move(row));
      row.clear();
      row_open = false;
      i += 2;
      continue;
    }
    if (c == '\n') {
      ADD_FAILURE() << "bare LF at offset " << i;
      return rows;
    }
    cell.push_back(c);
    ++i;
  }
  if (row_open) ADD_FAILURE() << "the last record does not end with CRLF";
  return rows;
}

// A data row keyed by the header's column names.
inline std::map<std::string, std::string> Keyed(const std::vector<std::string>& header,
                                                const std::vector<std::string>& row) {
  EXPECT_EQ(row.size(), header.size()) << "a row must have as many cells as the header";
  std::map<std::string, std::string> out;
  for (size_t i = 0; i < header.size() && i < row.size(); ++i) out[header[i]] = row[i];
  return out;
}

inline rating::Decimal D(std::string_view text) {
  rating::Decimal d;
  EXPECT_EQ(rating::Decimal::Parse(text, &d), rating::DecimalError::kOk) << text;
  return d;
}

inline rating::FxRate Fx(std::string_view text) {
  rating::FxRate fx;
  EXPECT_EQ(rating::FxRate::Parse(text, &fx), rating::DecimalError::kOk) << text;
  return fx;
}

// A rated line as the shard stores it: list and PEC in USD, converted with `fx` (§4.3, §4.4).
inline core::StoredLine RatedLine(std::string_view quantity, std::string_view unit_price,
                                  std::string_view list_usd, std::string_view pec_rate,
                                  std::string_view currency = "USD", std::string_view fx = "1") {
  core::StoredLine l;
  l.quantity = D(quantity);
  rating::RatedAmounts& r = l.rated;
  r.prices_shown = r.usd_shown = r.fx_shown = r.bc_shown = true;
  r.currency = rating::CurrencyCode::Of(currency);
  r.unit_price = D(unit_price);
  r.pec_rate = D(pec_rate);
  r.effective_unit_price =
      *rating::MulRound9(r.unit_price, rating::Decimal::FromInteger(1) - r.pec_rate);
  r.list_usd = D(list_usd);
  r.pec_usd = *rating::MulRound9(r.list_usd, r.pec_rate);
  r.billed_usd = r.list_usd - r.pec_usd;
  r.fx = Fx(fx);
  r.list_bc = *rating::MulFxRound9(r.list_usd, r.fx);
  r.billed_bc = *rating::MulFxRound9(r.billed_usd, r.fx);
  r.pec_bc = r.list_bc - r.billed_bc;
  return l;
}

inline core::StoredLine UnpricedLine(std::string_view quantity) {
  core::StoredLine l;
  l.quantity = D(quantity);
  l.rated.reason = rating::UnratedReason::kUnpriced;
  return l;
}

}  // namespace meterd::exports::testing
