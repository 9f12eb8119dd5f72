#include "rating/civil_time.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <ctime>
#include <string>

namespace meterd::rating {
namespace {

Timestamp Ts(std::string_view text) {
  Timestamp t;
  EXPECT_TRUE(ParseRfc3339(text, &t)) << text;
  return t;
}

bool Rejects(std::string_view text) {
  Timestamp t{123};
  const bool ok = ParseRfc3339(text, &t);
  if (!ok) {
    EXPECT_EQ(t.nanos, 123) << "output written on failure";
  }
  return !ok;
}

TEST(CivilDate, ConvertsKnownDates) {
  EXPECT_EQ(DateFromYmd(1970, 1, 1).days, 0);
  EXPECT_EQ(DateFromYmd(1969, 12, 31).days, -1);
  EXPECT_EQ(DateFromYmd(2000, 3, 1).days, 11017);
  EXPECT_EQ(DateFromYmd(2026, 11, 20).days, 20777);
  EXPECT_EQ(DateFromYmd(1, 1, 1).days, -719162);
  EXPECT_EQ(DateFromYmd(0, 3, 1).days, -719468);
}

TEST(CivilDate, RoundTripsEveryDayOverManyCenturies) {
  int y = -1, m = -1, d = -1;
  for (int32_t days = -800'000; days <= 3'000'000; ++days) {
    YmdFromDate(Date{days}, &y, &m, &d);
    ASSERT_EQ(DateFromYmd(y, m, d).days, days);
  }
}

TEST(CivilDate, AgreesWithTheCLibraryForModernDates) {
  for (int32_t days = -30000; days < 50000; days += 7) {
    const std::time_t secs = static_cast<std::time_t>(days) * 86400;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    int y, m, d;
    YmdFromDate(Date{days}, &y, &m, &d);
    ASSERT_EQ(y, tm.tm_year + 1900);
    ASSERT_EQ(m, tm.tm_mon + 1);
    ASSERT_EQ(d, tm.tm_mday);
  }
}

TEST(CivilMonth, KnowsMonthLengthsIncludingLeapYears) {
  EXPECT_EQ(DaysIn(MonthFromYm(2026, 11)), 30);
  EXPECT_EQ(DaysIn(MonthFromYm(2026, 12)), 31);
  EXPECT_EQ(DaysIn(MonthFromYm(2026, 2)), 28);
  EXPECT_EQ(DaysIn(MonthFromYm(2028, 2)), 29);
  EXPECT_EQ(DaysIn(MonthFromYm(1900, 2)), 28);
  EXPECT_EQ(DaysIn(MonthFromYm(2000, 2)), 29);
  EXPECT_EQ(DaysIn(MonthFromYm(0, 2)), 29);  // 1 BCE is a leap year proleptically
  EXPECT_EQ(DaysIn(MonthFromYm(-1, 2)), 28);
  EXPECT_EQ(DaysIn(MonthFromYm(-4, 2)), 29);
}

TEST(CivilMonth, MapsDatesToMonthsAndBack) {
  EXPECT_EQ(MonthOf(DateFromYmd(2026, 11, 30)), MonthFromYm(2026, 11));
  EXPECT_EQ(MonthOf(DateFromYmd(2026, 12, 1)), MonthFromYm(2026, 12));
  EXPECT_EQ(FirstDayOf(MonthFromYm(2026, 11)), DateFromYmd(2026, 11, 1));
  EXPECT_EQ(FirstDayOf(NextMonth(MonthFromYm(2026, 12))), DateFromYmd(2027, 1, 1));
  EXPECT_EQ(FirstDayOf(MonthFromYm(-1, 12)), DateFromYmd(-1, 12, 1));
  EXPECT_EQ(MonthOf(DateFromYmd(-1, 12, 31)), MonthFromYm(-1, 12));
  EXPECT_EQ(StartOf(MonthFromYm(2026, 11)).nanos, int64_t{20758} * kNanosPerDay);
}

TEST(CivilDate, DateOfFloorsNegativeTimestamps) {
  EXPECT_EQ(DateOf(Timestamp{-1}).days, -1);
  EXPECT_EQ(DateOf(Timestamp{0}).days, 0);
  EXPECT_EQ(DateOf(Timestamp{kNanosPerDay - 1}).days, 0);
  EXPECT_EQ(DateOf(Timestamp{-kNanosPerDay}).days, -1);
}

TEST(Rfc3339, ParsesUtcAndConvertsOffsets) {
  EXPECT_EQ(Ts("1970-01-01T00:00:00Z").nanos, 0);
  EXPECT_EQ(Ts("2026-11-20T12:00:00Z").nanos,
            StartOf(DateFromYmd(2026, 11, 20)).nanos + 12 * 3600 * kNanosPerSecond);
  // The basic example's event #3 falls on 11-03 in UTC.
  EXPECT_EQ(Ts("2026-11-04T00:30:00+02:00"), Ts("2026-11-03T22:30:00Z"));
  EXPECT_EQ(DateOf(Ts("2026-11-04T00:30:00+02:00")), DateFromYmd(2026, 11, 3));
  EXPECT_EQ(Ts("2026-11-01T00:30:00+01:00"), Ts("2026-10-31T23:30:00Z"));
  EXPECT_EQ(Ts("2026-10-31T20:00:00-05:30"), Ts("2026-11-01T01:30:00Z"));
  EXPECT_EQ(Ts("2026-11-03T22:30:00+00:00"), Ts("2026-11-03T22:30:00Z"));
  EXPECT_EQ(Ts("2026-11-03T22:30:00-00:00"), Ts("2026-11-03T22:30:00Z"));
  EXPECT_EQ(Ts("2026-01-01T00:00:00+23:59").nanos,
            Ts("2026-01-01T00:00:00Z").nanos - (23 * 3600 + 59 * 60) * kNanosPerSecond);
  EXPECT_EQ(Ts("1969-12-31T23:59:59Z").nanos, -kNanosPerSecond);
}

TEST(Rfc3339, AcceptsLowercaseSeparatorAndZone) {
  EXPECT_EQ(Ts("2026-11-03t22:30:00z"), Ts("2026-11-03T22:30:00Z"));
  EXPECT_EQ(Ts("2026-11-03t22:30:00Z"), Ts("2026-11-03T22:30:00z"));
}

TEST(Rfc3339, ReadsUpToNineFractionDigits) {
  const int64_t base = Ts("2026-11-03T22:30:00Z").nanos;
  EXPECT_EQ(Ts("2026-11-03T22:30:00.5Z").nanos, base + 500'000'000);
  EXPECT_EQ(Ts("2026-11-03T22:30:00.000000001Z").nanos, base + 1);
  EXPECT_EQ(Ts("2026-11-03T22:30:00.123456789+01:00").nanos,
            base + 123'456'789 - 3600 * kNanosPerSecond);
  EXPECT_EQ(Ts("1969-12-31T23:59:59.5Z").nanos, -500'000'000);
  EXPECT_TRUE(Rejects("2026-11-03T22:30:00.1234567891Z"));
  EXPECT_TRUE(Rejects("2026-11-03T22:30:00.Z"));
}

TEST(Rfc3339, ValidatesCalendarRanges) {
  EXPECT_TRUE(Rejects("2026-02-29T00:00:00Z"));
  Ts("2028-02-29T00:00:00Z");
  Ts("2000-02-29T00:00:00Z");
  EXPECT_TRUE(Rejects("1900-02-29T00:00:00Z"));
  EXPECT_TRUE(Rejects("2026-04-31T00:00:00Z"));
  EXPECT_TRUE(Rejects("2026-13-01T00:00:00Z"));
  EXPECT_TRUE(Rejects("2026-00-01T00:00:00Z"));
  EXPECT_TRUE(Rejects("2026-01-00T00:00:00Z"));
  EXPECT_TRUE(Rejects("2026-01-32T00:00:00Z"));
  EXPECT_TRUE(Rejects("2026-01-01T24:00:00Z"));
  EXPECT_TRUE(Rejects("2026-01-01T23:60:00Z"));
  EXPECT_TRUE(Rejects("2026-12-31T23:59:60Z"));  // leap second
  EXPECT_TRUE(Rejects("2026-01-01T00:00:00+24:00"));
  EXPECT_TRUE(Rejects("2026-01-01T00:00:00+01:60"));
}

TEST(Rfc3339, RejectsMalformedText) {
  for (const char* bad : {"",
                          "2026-11-05T10:00:00",
                          "2026-11-05",
                          "2026-11-05 10:00:00Z",
                          "2026-11-05T10:00Z",
                          "2026-11-05T10:00:00+0100",
                          "2026-11-05T10:00:00+01",
                          "2026-11-05T10:00:00 Z",
                          "2026-11-05T10:00:00Z ",
                          " 2026-11-05T10:00:00Z",
                          "26-11-05T10:00:00Z",
                          "2026-1-05T10:00:00Z",
                          "2026-11-5T10:00:00Z",
                          "2026-11-05T1:00:00Z",
                          "2026/11/05T10:00:00Z",
                          "2026-11-05T10:00:00ZZ",
                          "2026-11-05X10:00:00Z",
                          "2026-11-05T10:00:00UTC",
                          "+2026-11-05T10:00:00Z",
                          "2026-11-05T10:00:00,5Z",
                          "2026-11-05T10:00:00.5"}) {
    EXPECT_TRUE(Rejects(bad)) << bad;
  }
}

TEST(Rfc3339, RejectsInstantsBeyondTheInt64NanosecondRange) {
  EXPECT_TRUE(Rejects("9999-12-31T23:59:59Z"));
  EXPECT_TRUE(Rejects("0001-01-01T00:00:00Z"));
  Ts("2262-04-11T23:47:16Z");
  EXPECT_TRUE(Rejects("2262-04-11T23:47:17Z"));
  Ts("1677-09-21T00:12:44Z");
  EXPECT_TRUE(Rejects("1677-09-21T00:12:43Z"));
  EXPECT_EQ(Ts("1677-09-21T00:12:43.145224192Z").nanos, INT64_MIN);
  EXPECT_TRUE(Rejects("1677-09-21T00:12:43.145224191Z"));
  EXPECT_EQ(Ts("2262-04-11T23:47:16.854775807Z").nanos, INT64_MAX);
  EXPECT_TRUE(Rejects("2262-04-11T23:47:16.854775808Z"));
}

TEST(Rfc3339, FormatsUtcWithFractionOnlyWhenNonZero) {
  EXPECT_EQ(FormatRfc3339(Ts("2026-11-20T13:05:00Z")), "2026-11-20T13:05:00Z");
  EXPECT_EQ(FormatRfc3339(Ts("2026-11-04T00:30:00+02:00")), "2026-11-03T22:30:00Z");
  EXPECT_EQ(FormatRfc3339(Ts("2026-11-20T13:05:00.5Z")), "2026-11-20T13:05:00.5Z");
  EXPECT_EQ(FormatRfc3339(Ts("2026-11-20T13:05:00.000000001Z")), "2026-11-20T13:05:00.000000001Z");
  EXPECT_EQ(FormatRfc3339(Ts("2026-11-20T13:05:00.120Z")), "2026-11-20T13:05:00.12Z");
  EXPECT_EQ(FormatRfc3339(Timestamp{-1}), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(FormatRfc3339(Timestamp{0}), "1970-01-01T00:00:00Z");
}

TEST(Rfc3339, RoundTripsFormattedTimestamps) {
  for (int64_t n = -3'000'000'000'000'000'000; n < 3'000'000'000'000'000'000;
       n += 987'654'321'123'457) {
    Timestamp back;
    ASSERT_TRUE(ParseRfc3339(FormatRfc3339(Timestamp{n}), &back)) << n;
    ASSERT_EQ(back.nanos, n);
  }
}

TEST(IsoDate, ParsesAndFormatsDates) {
  Date d;
  ASSERT_TRUE(ParseIsoDate("2026-11-20", &d));
  EXPECT_EQ(d, DateFromYmd(2026, 11, 20));
  EXPECT_EQ(FormatDate(d), "2026-11-20");
  EXPECT_EQ(FormatDate(DateFromYmd(1, 2, 3)), "0001-02-03");
  EXPECT_FALSE(ParseIsoDate("2026-11-31", &d));
  EXPECT_FALSE(ParseIsoDate("2026-11-20T00:00:00Z", &d));
  EXPECT_FALSE(ParseIsoDate("2026-1-20", &d));
  EXPECT_FALSE(ParseIsoDate("11/20/2026", &d));
  EXPECT_FALSE(ParseIsoDate("", &d));
}

TEST(PriceSheetDate, AcceptsIsoAndUsStyleDates) {
  Date d;
  ASSERT_TRUE(ParsePriceSheetDate("1/1/2026", &d));
  EXPECT_EQ(d, DateFromYmd(2026, 1, 1));
  ASSERT_TRUE(ParsePriceSheetDate("11/20/2026", &d));
  EXPECT_EQ(d, DateFromYmd(2026, 11, 20));
  ASSERT_TRUE(ParsePriceSheetDate("02/29/2028", &d));
  EXPECT_EQ(d, DateFromYmd(2028, 2, 29));
  ASSERT_TRUE(ParsePriceSheetDate("2026-11-10", &d));
  EXPECT_EQ(d, DateFromYmd(2026, 11, 10));
}

TEST(PriceSheetDate, RejectsInvalidDates) {
  Date d;
  for (const char* bad :
       {"2/29/2026", "13/1/2026", "0/1/2026", "1/0/2026", "1/32/2026", "1/1/26", "1/1/20260",
        "001/1/2026", "1-1-2026", "1/1/2026 ", "", "/1/2026", "2026-02-29"}) {
    EXPECT_FALSE(ParsePriceSheetDate(bad, &d)) << bad;
  }
}

TEST(MonthText, ParsesAndFormatsMonths) {
  Month m;
  ASSERT_TRUE(ParseMonth("2026-11", &m));
  EXPECT_EQ(m, MonthFromYm(2026, 11));
  EXPECT_EQ(FormatMonth(m), "2026-11");
  EXPECT_EQ(FormatMonth(NextMonth(MonthFromYm(2026, 12))), "2027-01");
  EXPECT_FALSE(ParseMonth("2026-13", &m));
  EXPECT_FALSE(ParseMonth("2026-00", &m));
  EXPECT_FALSE(ParseMonth("2026-1", &m));
  EXPECT_FALSE(ParseMonth("2026-11-01", &m));
  EXPECT_FALSE(ParseMonth("202611", &m));
}

// Months whose instants overflow int64 nanoseconds (found by fuzz/http_fuzz: spend?month=1013-11
// multiplied a day count past INT64_MIN).
TEST(CivilTime, OnlyMonthsWithinTheTimestampRangeHaveTimestamps) {
  EXPECT_TRUE(MonthHasTimestamps(MonthFromYm(2026, 11)));
  EXPECT_TRUE(MonthHasTimestamps(MonthFromYm(1677, 10)));
  EXPECT_TRUE(MonthHasTimestamps(MonthFromYm(2262, 3)));
  EXPECT_FALSE(MonthHasTimestamps(MonthFromYm(1677, 9)));
  EXPECT_FALSE(MonthHasTimestamps(MonthFromYm(2262, 4)));
  EXPECT_FALSE(MonthHasTimestamps(MonthFromYm(1013, 11)));
  EXPECT_FALSE(MonthHasTimestamps(MonthFromYm(9999, 12)));
  // The accepted extremes: the first month starts after the first instant, the last one ends
  // before the last instant.
  EXPECT_GT(FirstDayOf(MonthFromYm(1677, 10)).days, DateOf(Timestamp{INT64_MIN}).days);
  EXPECT_LE(FirstDayOf(MonthFromYm(2262, 4)).days, DateOf(Timestamp{INT64_MAX}).days);
}

}  // namespace
}  // namespace meterd::rating
