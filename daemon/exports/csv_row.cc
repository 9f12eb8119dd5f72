#include "daemon/exports/csv_row.h"

namespace meterd::exports {
namespace {

void AppendPadded(int value, int width, std::string* out) {
  char buf[12];
  int n = 0;
  unsigned v = static_cast<unsigned>(value < 0 ? 0 : value);
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (int i = n; i < width; ++i) out->push_back('0');
  while (n > 0) out->push_back(buf[--n]);
}

void AppendUnsigned(rating::uint128 v, std::string* out) {
  char buf[40];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + static_cast<int>(v % 10));
    v /= 10;
  } while (v != 0);
  while (n > 0) out->push_back(buf[--n]);
}

}  // namespace

void AppendCsvCell(std::string_view cell, std::string* out) {
  // One pass over the bytes (find_first_of runs memchr over the set for every byte).
  bool quote = !cell.empty() && (cell.front() == ' ' || cell.back() == ' ');
  for (size_t i = 0; i < cell.size() && !quote; ++i) {
    const char c = cell[i];
    quote = c == ',' || c == '"' || c == '\r' || c == '\n';
  }
  if (!quote) {
    out->append(cell);
    return;
  }
  out->push_back('"');
  for (char c : cell) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

void AppendIsoDate(rating::Date date, std::string* out) {
  int y = 0, m = 0, d = 0;
  rating::YmdFromDate(date, &y, &m, &d);
  AppendPadded(y, 4, out);
  out->push_back('-');
  AppendPadded(m, 2, out);
  out->push_back('-');
  AppendPadded(d, 2, out);
}

void AppendDayStart(rating::Date date, std::string* out) {
  AppendIsoDate(date, out);
  out->append("T00:00:00Z");
}

void AppendTrimmedDecimal(rating::Decimal value, std::string* out) {
  rating::int128 nanos = value.nanos();
  if (nanos < 0) {
    out->push_back('-');
    nanos = -nanos;
  }
  auto magnitude = static_cast<rating::uint128>(nanos);
  AppendUnsigned(magnitude / rating::Decimal::kScale, out);
  auto frac = static_cast<uint64_t>(magnitude % rating::Decimal::kScale);
  if (frac == 0) return;
  char digits[rating::Decimal::kFractionDigits];
  for (int i = rating::Decimal::kFractionDigits - 1; i >= 0; --i) {
    digits[i] = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  int len = rating::Decimal::kFractionDigits;
  while (digits[len - 1] == '0') --len;
  out->push_back('.');
  out->append(digits, static_cast<size_t>(len));
}

void AppendDayRanges(uint32_t day_mask, std::string* out) {
  bool first = true;
  int day = 1;
  while (day <= 31) {
    if ((day_mask & (uint32_t{1} << (day - 1))) == 0) {
      ++day;
      continue;
    }
    int end = day;
    while (end < 31 && (day_mask & (uint32_t{1} << end)) != 0) ++end;
    if (!first) out->push_back(';');
    first = false;
    AppendUnsigned(static_cast<rating::uint128>(day), out);
    if (end > day) {
      out->push_back('-');
      AppendUnsigned(static_cast<rating::uint128>(end), out);
    }
    day = end + 1;
  }
}

}  // namespace meterd::exports
