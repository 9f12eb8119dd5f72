#include "daemon/exports/csv_row.h"

#include <gtest/gtest.h>

#include "tests/daemon/exports/export_test_util.h"

namespace meterd::exports {
namespace {

using testing::D;

std::string Cell(std::string_view v) {
  std::string out;
  AppendCsvCell(v, &out);
  return out;
}

std::string Days(std::initializer_list<int> days) {
  uint32_t mask = 0;
  for (int d : days) mask |= uint32_t{1} << (d - 1);
  std::string out;
  AppendDayRanges(mask, &out);
  return out;
}

TEST(CsvCell, LeavesPlainTextAlone) {
  EXPECT_EQ(Cell("Contoso"), "Contoso");
  EXPECT_EQ(Cell(""), "");
  EXPECT_EQ(Cell("/subscriptions/a/resourcegroups/rg1"), "/subscriptions/a/resourcegroups/rg1");
}

TEST(CsvCell, QuotesCommasQuotesAndLineBreaksAndDoublesInnerQuotes) {
  EXPECT_EQ(Cell("Contoso, Ltd."), "\"Contoso, Ltd.\"");
  EXPECT_EQ(Cell("the \"best\" shop"), "\"the \"\"best\"\" shop\"");
  EXPECT_EQ(Cell("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(Cell("cr\rhere"), "\"cr\rhere\"");
  EXPECT_EQ(Cell("\""), "\"\"\"\"");
}

TEST(CsvCell, QuotesLeadingAndTrailingSpacesSoTrimmingReadersKeepThem) {
  EXPECT_EQ(Cell(" padded"), "\" padded\"");
  EXPECT_EQ(Cell("padded "), "\"padded \"");
  EXPECT_EQ(Cell("in side"), "in side");
}

TEST(CsvRow, SeparatesCellsWithCommasAndEndsRowsWithCrlf) {
  std::string out;
  CsvRowWriter row(&out);
  row.Text("a,b");
  row.Empty();
  row.Money(D("12.5"));
  row.Rate(testing::Fx("0.913951469"));
  row.EndRow();
  row.Text("next");
  row.EndRow();
  EXPECT_EQ(out, "\"a,b\",,12.500000000,0.913951469000\r\nnext\r\n");
}

TEST(CsvRow, WritesMoneyWithNineDigitsEvenWhenNegativeOrZero) {
  std::string out;
  CsvRowWriter row(&out);
  row.Money(D("0"));
  row.Money(D("-0.000000001"));
  row.Money(D("1000000000000000"));
  row.EndRow();
  EXPECT_EQ(out, "0.000000000,-0.000000001,1000000000000000.000000000\r\n");
}

TEST(CsvDates, WritesIsoDatesAndDayStartsInUtc) {
  std::string out;
  AppendIsoDate(rating::DateFromYmd(2026, 3, 7), &out);
  out.push_back(' ');
  AppendDayStart(rating::DateFromYmd(2024, 2, 29), &out);
  out.push_back(' ');
  AppendIsoDate(rating::DateFromYmd(1970, 1, 1), &out);
  EXPECT_EQ(out, "2026-03-07 2024-02-29T00:00:00Z 1970-01-01");
}

TEST(TrimmedDecimal, DropsTrailingFractionZerosAndTheDotOfWholeNumbers) {
  auto f = [](std::string_view text) {
    std::string out;
    AppendTrimmedDecimal(D(text), &out);
    return out;
  };
  EXPECT_EQ(f("15"), "15");
  EXPECT_EQ(f("0"), "0");
  EXPECT_EQ(f("12.500000000"), "12.5");
  EXPECT_EQ(f("0.000000001"), "0.000000001");
  EXPECT_EQ(f("-7.25"), "-7.25");
}

TEST(DayRanges, WritesAscendingMaximalRangesAndSingleDaysAlone) {
  EXPECT_EQ(Days({1,  2,  3,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18,
                  19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31}),
            "1-3;8-31");
  EXPECT_EQ(Days({1,  2,  3,  5,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17,
                  18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31}),
            "1-3;5;8-31");
  EXPECT_EQ(Days({5}), "5");
  EXPECT_EQ(Days({5, 12}), "5;12");
  EXPECT_EQ(Days({30, 31}), "30-31");
  EXPECT_EQ(Days({1, 31}), "1;31");
  EXPECT_EQ(Days({}), "");
}

TEST(DayRanges, CoversAWholeMonthAsOneRange) {
  EXPECT_EQ(Days({1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31}),
            "1-31");
}

}  // namespace
}  // namespace meterd::exports
