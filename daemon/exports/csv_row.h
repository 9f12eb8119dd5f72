// RFC 4180 output for the partner exports: a row writer that appends cells to a caller-owned
// buffer (reused across rows, so writing a row allocates nothing once the buffer has grown),
// with the product's number and date formats (money 9 fraction digits, FX 12, ISO dates,
// RFC 3339 instants). Single-threaded value types; the free functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "rating/civil_time.h"
#include "rating/decimal.h"

namespace meterd::exports {

// Rows end with CRLF, as RFC 4180 says (every spreadsheet and CSV library accepts it).
inline constexpr std::string_view kCsvLineEnd = "\r\n";

// Appends `cell`, quoted when it holds a comma, a double quote, CR or LF, or starts or ends with
// a space (readers that trim cells, ours included, would otherwise change it); quotes inside are
// doubled.
void AppendCsvCell(std::string_view cell, std::string* out);

// "YYYY-MM-DD".
void AppendIsoDate(rating::Date date, std::string* out);
// "YYYY-MM-DDT00:00:00Z": the first instant of a UTC day.
void AppendDayStart(rating::Date date, std::string* out);
// A decimal without trailing fraction zeros: 15, 12.5, 0 (percentages such as the PEC share).
void AppendTrimmedDecimal(rating::Decimal value, std::string* out);

// The days of a month present in `day_mask` (bit d-1 = day d) as ascending maximal ranges,
// single days alone: "1-3;5;8-31" (domain §8.40). Empty for an empty mask.
void AppendDayRanges(uint32_t day_mask, std::string* out);

// Writes one row cell by cell: separators between cells, CRLF at EndRow.
class CsvRowWriter {
 public:
  explicit CsvRowWriter(std::string* out) : out_(out) {}

  void Text(std::string_view cell) {
    Separate();
    AppendCsvCell(cell, out_);
  }
  void Empty() { Separate(); }
  // 9 fractional digits ("12.500000000").
  void Money(rating::Decimal value) {
    Separate();
    value.AppendTo(out_);
  }
  // 12 fractional digits ("0.913951469000").
  void Rate(rating::FxRate value) {
    Separate();
    value.AppendTo(out_);
  }
  void Date(rating::Date date) {
    Separate();
    AppendIsoDate(date, out_);
  }
  void DayStart(rating::Date date) {
    Separate();
    AppendDayStart(date, out_);
  }
  void TrimmedDecimal(rating::Decimal value) {
    Separate();
    AppendTrimmedDecimal(value, out_);
  }
  // Text the caller knows needs no quoting (generated digits, dates, fixed words).
  std::string* Raw() {
    Separate();
    return out_;
  }
  void EndRow() {
    out_->append(kCsvLineEnd);
    first_ = true;
  }

 private:
  void Separate() {
    if (!first_) out_->push_back(',');
    first_ = false;
  }

  std::string* out_;
  bool first_ = true;
};

}  // namespace meterd::exports
