// UTC calendar vocabulary: timestamps (nanoseconds since the Unix epoch), dates, months, and
// exact RFC 3339 / ISO parsing and formatting. Pure functions, no clock, no locale, no tz db.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace meterd::rating {

// Nanoseconds since 1970-01-01T00:00:00Z. The product's clock is injected as one of these.
struct Timestamp {
  int64_t nanos = 0;
  friend constexpr auto operator<=>(Timestamp, Timestamp) = default;
};

inline constexpr int64_t kNanosPerSecond = 1'000'000'000;
inline constexpr int64_t kNanosPerDay = 86'400 * kNanosPerSecond;

// A UTC calendar date as days since 1970-01-01.
struct Date {
  int32_t days = 0;
  friend constexpr auto operator<=>(Date, Date) = default;
};

// A calendar month as year * 12 + (month - 1).
struct Month {
  int32_t index = 0;
  friend constexpr auto operator<=>(Month, Month) = default;
};

Date DateFromYmd(int year, int month, int day);
void YmdFromDate(Date d, int* year, int* month, int* day);
Month MonthOf(Date d);
Month MonthFromYm(int year, int month);
Date FirstDayOf(Month m);
int DaysIn(Month m);
inline Month NextMonth(Month m) { return Month{m.index + 1}; }
inline Month PreviousMonth(Month m) { return Month{m.index - 1}; }
inline Date DateOf(Timestamp t) {  // floor division: negative timestamps stay correct
  int64_t q = t.nanos / kNanosPerDay;
  if (t.nanos % kNanosPerDay < 0) --q;
  return Date{static_cast<int32_t>(q)};
}
inline Timestamp StartOf(Date d) { return Timestamp{int64_t{d.days} * kNanosPerDay}; }
inline Timestamp StartOf(Month m) { return StartOf(FirstDayOf(m)); }
// Whether every instant of the month fits a Timestamp (int64 nanoseconds: 1677-09-21 to
// 2262-04-11), i.e. 1677-10 to 2262-03. Spend, forecasts and exports of a month compute
// instants of it; months outside cannot be asked for.
bool MonthHasTimestamps(Month m);

// RFC 3339 date-time: 'T'/'t' separator, 'Z'/'z' or ±hh:mm offset, 0–9 fractional second digits,
// no leap second (second 60 is rejected). Converted to UTC. Returns false on any deviation:
// a missing offset, month/day out of range (leap years checked), hour > 23, minute > 59, offset
// hours > 23 or minutes > 59, and instants int64 nanoseconds cannot hold (before
// 1677-09-21T00:12:43.145224192Z or after 2262-04-11T23:47:16.854775807Z). Never allocates.
bool ParseRfc3339(std::string_view text, Timestamp* out);
// "YYYY-MM-DD".
bool ParseIsoDate(std::string_view text, Date* out);
// "YYYY-MM-DD" or "M/D/YYYY" (price sheets use both).
bool ParsePriceSheetDate(std::string_view text, Date* out);
// "YYYY-MM".
bool ParseMonth(std::string_view text, Month* out);

// "2026-11-20T13:05:00Z"; a fraction only when non-zero, without trailing zeros
// ("…:00.5Z", "…:00.000000001Z").
std::string FormatRfc3339(Timestamp t);
std::string FormatDate(Date d);    // "2026-11-20"
std::string FormatMonth(Month m);  // "2026-11"

}  // namespace meterd::rating
