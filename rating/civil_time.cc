// Proleptic Gregorian calendar arithmetic (Howard Hinnant's days_from_civil / civil_from_days,
// exact for every int32 day) and strict RFC 3339 / ISO parsers that never allocate.

#include "rating/civil_time.h"

#include <cstddef>

namespace meterd::rating {
namespace {

// Floor division for the calendar: month and era boundaries must hold for negative values too.
constexpr int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

constexpr int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = FloorDiv(y, 400);
  const int64_t yoe = y - era * 400;                                    // [0, 399]
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            // [0, 146096]
  return era * 146097 + doe - 719468;
}

constexpr void CivilFromDays(int64_t z, int64_t* y, int* m, int* d) {
  z += 719468;
  const int64_t era = FloorDiv(z, 146097);
  const int64_t doe = z - era * 146097;                                       // [0, 146096]
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  const int64_t mp = (5 * doy + 2) / 153;                                     // [0, 11]
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2 ? 1 : 0);
}

static_assert(DaysFromCivil(1970, 1, 1) == 0);
static_assert(DaysFromCivil(2000, 3, 1) == 11017);

constexpr bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

constexpr int DaysInMonth(int64_t y, int m) {
  constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// A forward-only cursor over the text being parsed; every reader fails on any deviation.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : p_(s.data()), end_(s.data() + s.size()) {}

  bool AtEnd() const { return p_ == end_; }
  char Peek() const { return p_ == end_ ? '\0' : *p_; }
  bool Consume(char c) {
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  // Exactly n ASCII digits.
  bool Digits(int n, int* out) {
    if (end_ - p_ < n) return false;
    int v = 0;
    for (int i = 0; i < n; ++i) {
      const char c = p_[i];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    p_ += n;
    *out = v;
    return true;
  }
  // Between min and max ASCII digits (greedy).
  bool DigitsBetween(int min, int max, int* out, int* count) {
    int v = 0;
    int n = 0;
    while (n < max && p_ != end_ && *p_ >= '0' && *p_ <= '9') {
      v = v * 10 + (*p_ - '0');
      ++p_;
      ++n;
    }
    if (n < min || (p_ != end_ && *p_ >= '0' && *p_ <= '9')) return false;
    *out = v;
    *count = n;
    return true;
  }

 private:
  const char* p_;
  const char* end_;
};

bool ValidDate(int y, int m, int d) {
  return m >= 1 && m <= 12 && d >= 1 && d <= DaysInMonth(y, m);
}

// "YYYY-MM-DD" at the cursor.
bool ReadIsoDate(Cursor* c, int* y, int* m, int* d) {
  return c->Digits(4, y) && c->Consume('-') && c->Digits(2, m) && c->Consume('-') &&
         c->Digits(2, d) && ValidDate(*y, *m, *d);
}

void AppendPadded(std::string* out, int64_t v, int width) {
  if (v < 0) {
    out->push_back('-');
    v = -v;
  }
  char buf[24];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (int i = n; i < width; ++i) out->push_back('0');
  while (n > 0) out->push_back(buf[--n]);
}

}  // namespace

Date DateFromYmd(int year, int month, int day) {
  return Date{static_cast<int32_t>(DaysFromCivil(year, month, day))};
}

void YmdFromDate(Date d, int* year, int* month, int* day) {
  int64_t y;
  CivilFromDays(d.days, &y, month, day);
  *year = static_cast<int>(y);
}

Month MonthOf(Date d) {
  int y, m, day;
  YmdFromDate(d, &y, &m, &day);
  return MonthFromYm(y, m);
}

Month MonthFromYm(int year, int month) { return Month{year * 12 + (month - 1)}; }

Date FirstDayOf(Month m) {
  const int64_t y = FloorDiv(m.index, 12);
  const int month = static_cast<int>(m.index - y * 12) + 1;
  return Date{static_cast<int32_t>(DaysFromCivil(y, month, 1))};
}

int DaysIn(Month m) {
  const int64_t y = FloorDiv(m.index, 12);
  return DaysInMonth(y, static_cast<int>(m.index - y * 12) + 1);
}

bool ParseRfc3339(std::string_view text, Timestamp* out) {
  Cursor c(text);
  int y, mo, d, h, mi, s;
  if (!ReadIsoDate(&c, &y, &mo, &d)) return false;
  if (!c.Consume('T') && !c.Consume('t')) return false;
  if (!c.Digits(2, &h) || !c.Consume(':') || !c.Digits(2, &mi) || !c.Consume(':') ||
      !c.Digits(2, &s)) {
    return false;
  }
  if (h > 23 || mi > 59 || s > 59) return false;  // second 60 (leap second) is rejected
  int64_t frac_nanos = 0;
  if (c.Consume('.')) {
    int frac, digits;
    if (!c.DigitsBetween(1, 9, &frac, &digits)) return false;
    frac_nanos = frac;
    for (int i = digits; i < 9; ++i) frac_nanos *= 10;
  }
  int offset_seconds = 0;
  if (c.Consume('Z') || c.Consume('z')) {
    offset_seconds = 0;
  } else {
    const char sign = c.Peek();
    if (sign != '+' && sign != '-') return false;  // the offset is mandatory
    c.Consume(sign);
    int oh, om;
    if (!c.Digits(2, &oh) || !c.Consume(':') || !c.Digits(2, &om)) return false;
    if (oh > 23 || om > 59) return false;
    offset_seconds = (oh * 3600 + om * 60) * (sign == '-' ? -1 : 1);
  }
  if (!c.AtEnd()) return false;
  const int64_t seconds =
      DaysFromCivil(y, mo, d) * 86'400 + h * 3600 + mi * 60 + s - offset_seconds;
  // Years 0000–9999 reach beyond what int64 nanoseconds hold (1677–2262); reject, never wrap.
  // Borrowing a second for negative instants keeps the last representable ones in 1677 valid.
  int64_t whole = seconds;
  if (seconds < 0 && frac_nanos > 0) {
    whole += 1;
    frac_nanos -= kNanosPerSecond;
  }
  int64_t nanos;
  if (__builtin_mul_overflow(whole, kNanosPerSecond, &nanos) ||
      __builtin_add_overflow(nanos, frac_nanos, &nanos)) {
    return false;
  }
  out->nanos = nanos;
  return true;
}

bool ParseIsoDate(std::string_view text, Date* out) {
  Cursor c(text);
  int y, m, d;
  if (!ReadIsoDate(&c, &y, &m, &d) || !c.AtEnd()) return false;
  *out = DateFromYmd(y, m, d);
  return true;
}

bool ParsePriceSheetDate(std::string_view text, Date* out) {
  if (ParseIsoDate(text, out)) return true;
  Cursor c(text);
  int y, m, d, n;
  if (!c.DigitsBetween(1, 2, &m, &n) || !c.Consume('/') || !c.DigitsBetween(1, 2, &d, &n) ||
      !c.Consume('/') || !c.Digits(4, &y) || !c.AtEnd() || !ValidDate(y, m, d)) {
    return false;
  }
  *out = DateFromYmd(y, m, d);
  return true;
}

bool MonthHasTimestamps(Month m) {
  return m.index >= MonthFromYm(1677, 10).index && m.index <= MonthFromYm(2262, 3).index;
}

bool ParseMonth(std::string_view text, Month* out) {
  Cursor c(text);
  int y, m;
  if (!c.Digits(4, &y) || !c.Consume('-') || !c.Digits(2, &m) || !c.AtEnd() || m < 1 || m > 12) {
    return false;
  }
  *out = MonthFromYm(y, m);
  return true;
}

std::string FormatRfc3339(Timestamp t) {
  const Date d = DateOf(t);
  int64_t within_day = t.nanos - int64_t{d.days} * kNanosPerDay;  // [0, kNanosPerDay)
  int y, m, day;
  YmdFromDate(d, &y, &m, &day);
  const int64_t secs = within_day / kNanosPerSecond;
  int64_t frac = within_day % kNanosPerSecond;
  std::string out;
  out.reserve(30);
  AppendPadded(&out, y, 4);
  out.push_back('-');
  AppendPadded(&out, m, 2);
  out.push_back('-');
  AppendPadded(&out, day, 2);
  out.push_back('T');
  AppendPadded(&out, secs / 3600, 2);
  out.push_back(':');
  AppendPadded(&out, secs / 60 % 60, 2);
  out.push_back(':');
  AppendPadded(&out, secs % 60, 2);
  if (frac != 0) {
    int width = 9;
    while (frac % 10 == 0) {
      frac /= 10;
      --width;
    }
    out.push_back('.');
    AppendPadded(&out, frac, width);
  }
  out.push_back('Z');
  return out;
}

std::string FormatDate(Date d) {
  int y, m, day;
  YmdFromDate(d, &y, &m, &day);
  std::string out;
  out.reserve(11);
  AppendPadded(&out, y, 4);
  out.push_back('-');
  AppendPadded(&out, m, 2);
  out.push_back('-');
  AppendPadded(&out, day, 2);
  return out;
}

std::string FormatMonth(Month m) {
  const int64_t y = FloorDiv(m.index, 12);
  std::string out;
  out.reserve(8);
  AppendPadded(&out, y, 4);
  out.push_back('-');
  AppendPadded(&out, m.index - y * 12 + 1, 2);
  return out;
}

}  // namespace meterd::rating
