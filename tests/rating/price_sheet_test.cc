#include "rating/price_sheet.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace meterd::rating {
namespace {

std::string ReadFixture(const std::string& name) {
  const std::string path = std::string(METERD_FIXTURES_DIR) + "/examples/" + name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Decimal D(std::string_view s) {
  Decimal d;
  EXPECT_EQ(Decimal::Parse(s, &d), DecimalError::kOk) << s;
  return d;
}

Date Day(int y, int m, int d) { return DateFromYmd(y, m, d); }

PriceSheet Parse(std::string_view csv) {
  Result<PriceSheet> r = ParsePriceSheet(csv);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(r).value() : PriceSheet{};
}

constexpr std::string_view kHeader =
    "ProductId,SkuId,MeterId,MeterName,MeterCategory,MeterSubCategory,MeterRegion,UnitOfMeasure,"
    "Market,Currency,UnitPrice,PricingTierRangeMin,PricingTierRangeMax,EffectiveStartDate,"
    "EffectiveEndDate,Tags,Publisher\r\n";

std::string Sheet(std::initializer_list<std::string_view> rows) {
  std::string s(kHeader);
  for (std::string_view r : rows) {
    s += r;
    s += "\r\n";
  }
  return s;
}

// --- The worked examples ---------------------------------------------------------------------

TEST(PriceSheet, ReadsTheBasicExample) {
  const PriceSheet sheet = Parse(ReadFixture("basic/pricesheet.csv"));
  EXPECT_TRUE(sheet.problems.empty());
  ASSERT_EQ(sheet.rows.size(), 2u);
  const PriceRow& vm = sheet.rows[0];
  EXPECT_EQ(vm.line, 2);
  EXPECT_EQ(vm.product_id, "DZH318Z0VIRT");
  EXPECT_EQ(vm.sku_id, "0001");
  EXPECT_EQ(vm.meter_id, "0a3c6e2a-6d1f-4c55-9a43-5f1c2b7d9e01");
  EXPECT_EQ(vm.meter_name, "D2s v3");
  EXPECT_EQ(vm.meter_category, "Virtual Machines");
  EXPECT_EQ(vm.meter_sub_category, "");
  EXPECT_EQ(vm.meter_region, "US East");
  EXPECT_EQ(vm.unit_of_measure, "1 Hour");
  EXPECT_EQ(vm.market, "US");
  EXPECT_EQ(vm.currency, "USD");
  EXPECT_EQ(vm.unit_price, D("0.096"));
  EXPECT_EQ(vm.tier_min, Decimal::Zero());
  EXPECT_EQ(vm.tier_max, std::nullopt);
  EXPECT_EQ(vm.effective_start, Day(2026, 1, 1));
  EXPECT_EQ(vm.effective_end, std::nullopt);
  EXPECT_EQ(vm.tags, "Azure");
  EXPECT_TRUE(vm.tag_flags.Has(PriceTag::kAzure));
  EXPECT_FALSE(vm.tag_flags.ExcludesPec());
  EXPECT_EQ(vm.publisher, "Microsoft");
  EXPECT_EQ(sheet.rows[1].meter_name, "Standard IPv4 Static Public IP");
  EXPECT_EQ(sheet.rows[1].unit_price, D("0.004"));
  EXPECT_EQ(sheet.rows[1].line, 3);
}

TEST(PriceSheet, ReadsTheCurrenciesExamplePerMarket) {
  const PriceSheet sheet = Parse(ReadFixture("currencies/pricesheet.csv"));
  EXPECT_TRUE(sheet.problems.empty());
  ASSERT_EQ(sheet.rows.size(), 4u);
  EXPECT_EQ(sheet.rows[0].market, "NO");
  EXPECT_EQ(sheet.rows[1].market, "JP");
  EXPECT_EQ(sheet.rows[2].market, "GB");
  EXPECT_EQ(sheet.rows[2].unit_price, D("0.2"));
  EXPECT_EQ(sheet.rows[3].market, "SE");
  for (const PriceRow& r : sheet.rows)
    EXPECT_EQ(r.meter_id, "0d450000-0000-4000-8000-000000000d45");
}

TEST(PriceSheet, ReadsTheTiersExampleWithBothDateStylesAndThirdPartyTags) {
  const PriceSheet sheet = Parse(ReadFixture("tiers-and-pec/pricesheet.csv"));
  EXPECT_TRUE(sheet.problems.empty());
  ASSERT_EQ(sheet.rows.size(), 6u);
  EXPECT_EQ(sheet.rows[0].tier_min, D("0"));
  EXPECT_EQ(sheet.rows[0].tier_max, D("10"));
  EXPECT_EQ(sheet.rows[1].tier_min, D("10"));
  EXPECT_EQ(sheet.rows[1].unit_price, D("0.08"));
  EXPECT_EQ(sheet.rows[2].tier_min, D("50"));
  EXPECT_EQ(sheet.rows[2].tier_max, std::nullopt);
  EXPECT_EQ(sheet.rows[3].effective_start, Day(2026, 1, 1));  // written 1/1/2026
  EXPECT_EQ(sheet.rows[4].effective_start, Day(2026, 11, 10));
  EXPECT_TRUE(sheet.rows[5].tag_flags.Has(PriceTag::kThirdParty));
  EXPECT_TRUE(sheet.rows[5].tag_flags.ExcludesPec());
  EXPECT_TRUE(ValidateTierTable(std::span(sheet.rows).subspan(0, 3)).ok());
}

// --- Header handling -------------------------------------------------------------------------

TEST(PriceSheet, AcceptsColumnsInAnyOrderAnyCaseWithUnknownOnesAndMeterIds) {
  const PriceSheet sheet = Parse(
      "\xEF\xBB\xBF"
      "Extra,effectivestartdate,UNITPRICE, meterids ,market,Whatever\n"
      "zz,3/15/2026,1.25,ABC-Def,us,yy\n");
  ASSERT_EQ(sheet.rows.size(), 1u);
  const PriceRow& r = sheet.rows[0];
  EXPECT_EQ(r.meter_id, "abc-def");
  EXPECT_EQ(r.market, "US");
  EXPECT_EQ(r.unit_price, D("1.25"));
  EXPECT_EQ(r.effective_start, Day(2026, 3, 15));
  EXPECT_EQ(r.currency, "USD");  // no Currency column means USD
  EXPECT_EQ(r.tier_min, Decimal::Zero());
  EXPECT_EQ(r.publisher, "");
}

TEST(PriceSheet, RejectsAnUploadMissingARequiredColumn) {
  for (std::string_view header :
       {"Market,UnitPrice,EffectiveStartDate", "MeterId,UnitPrice,EffectiveStartDate",
        "MeterId,Market,EffectiveStartDate", "MeterId,Market,UnitPrice"}) {
    Result<PriceSheet> r = ParsePriceSheet(std::string(header) + "\nx,y,z\n");
    ASSERT_FALSE(r.ok()) << header;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("required column"), std::string::npos);
  }
}

TEST(PriceSheet, RejectsAColumnNamedTwice) {
  Result<PriceSheet> r = ParsePriceSheet(
      "MeterId,MeterIds,Market,UnitPrice,EffectiveStartDate\na,b,US,1,2026-01-01\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "line 1: column MeterId appears twice");
}

TEST(PriceSheet, RejectsEmptyInput) {
  EXPECT_FALSE(ParsePriceSheet("").ok());
  EXPECT_FALSE(ParsePriceSheet("\r\n\r\n").ok());
}

TEST(PriceSheet, ReportsBrokenQuotingWithItsLineNumber) {
  Result<PriceSheet> r = ParsePriceSheet(Sheet({
      "P,1,m1,Name,Cat,,R,1 Hour,US,USD,0.1,0,,2026-01-01,,Azure,Microsoft",
      "P,1,m2,\"Unterminated,Cat,,R,1 Hour,US,USD,0.1,0,,2026-01-01,,Azure,Microsoft",
  }));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "line 3: unterminated quoted field");
}

// --- Row problems ----------------------------------------------------------------------------

TEST(PriceSheet, ParsesQuotedDescriptiveCellsAndSkipsBlankLines) {
  const PriceSheet sheet = Parse(Sheet({
      "P,1,m1,\"Name, with comma\",\"Cat \"\"x\"\"\",,R,1 Hour,US,USD,0.1,0,,2026-01-01,,"
      "\"Azure, Reservations\",Microsoft",
      "",
      "P,1,m2,N,C,,R,1 Hour,US,usd,0.2,0,,2026-01-01,,Azure,Microsoft",
  }));
  ASSERT_TRUE(sheet.problems.empty());
  ASSERT_EQ(sheet.rows.size(), 2u);
  EXPECT_EQ(sheet.rows[0].meter_name, "Name, with comma");
  EXPECT_EQ(sheet.rows[0].meter_category, "Cat \"x\"");
  EXPECT_TRUE(sheet.rows[0].tag_flags.Has(PriceTag::kReservations));
  EXPECT_EQ(sheet.rows[1].line, 4);
  EXPECT_EQ(sheet.rows[1].currency, "USD");
}

TEST(PriceSheet, ReportsEachBadRowWithItsLineErrorAndTableKey) {
  const PriceSheet sheet = Parse(Sheet({
      /*2*/ "P,1,m1,N,C,,R,U,US,USD,0.1,0,,2026-01-01,,Azure,Microsoft",
      /*3*/ "P,1,m1,N,C,,R,U,US,USD,abc,10,,2026-01-01,,Azure,Microsoft",
      /*4*/ "P,1,m2,N,C,,R,U,US,EUR,0.1,0,,2026-01-01,,Azure,Microsoft",
      /*5*/ "P,1,m3,N,C,,R,U,US,USD,0.0000000001,0,,2026-01-01,,Azure,Microsoft",
      /*6*/ "P,1,m4,N,C,,R,U,US,USD,-1,0,,2026-01-01,,Azure,Microsoft",
      /*7*/ "P,1,m5,N,C,,R,U,US,USD,1,-5,,2026-01-01,,Azure,Microsoft",
      /*8*/ "P,1,m6,N,C,,R,U,US,USD,1,0,x,2026-01-01,,Azure,Microsoft",
      /*9*/ "P,1,m7,N,C,,R,U,US,USD,1,0,,2026-01-01,2025-12-31,Azure,Microsoft",
      /*10*/ "P,1,m8,N,C,,R,U,US,USD,1,0,,2026-01-01,13/1/2026,Azure,Microsoft",
      /*11*/ "P,1,m9,N,C,,R,U,US,USD,,0,,2026-01-01,,Azure,Microsoft",
      /*12*/ "P,1,m10,N,C,,R,U,US,,1,0,,2026-01-01,,Azure,Microsoft",
  }));
  ASSERT_EQ(sheet.rows.size(), 1u);
  EXPECT_EQ(sheet.rows[0].line, 2);
  struct Want {
    int line;
    PriceRowError error;
    std::string meter;
  };
  const std::vector<Want> want = {
      {3, PriceRowError::kBadUnitPrice, "m1"},    {4, PriceRowError::kNotUsd, "m2"},
      {5, PriceRowError::kBadUnitPrice, "m3"},    {6, PriceRowError::kBadUnitPrice, "m4"},
      {7, PriceRowError::kBadTierMin, "m5"},      {8, PriceRowError::kBadTierMax, "m6"},
      {9, PriceRowError::kBadEffectiveEnd, "m7"}, {10, PriceRowError::kBadEffectiveEnd, "m8"},
      {11, PriceRowError::kBadUnitPrice, "m9"},   {12, PriceRowError::kNotUsd, "m10"},
  };
  ASSERT_EQ(sheet.problems.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    const PriceRowProblem& p = sheet.problems[i];
    EXPECT_EQ(p.line, want[i].line);
    EXPECT_EQ(p.error, want[i].error) << p.line << " " << p.detail;
    ASSERT_TRUE(p.HasTableKey()) << p.line;
    EXPECT_EQ(*p.market, "US");
    EXPECT_EQ(*p.meter_id, want[i].meter);
    EXPECT_EQ(*p.effective_start, Day(2026, 1, 1));
    EXPECT_FALSE(p.detail.empty());
  }
  EXPECT_EQ(sheet.problems[0].detail, "UnitPrice 'abc': not a decimal number");
  EXPECT_EQ(sheet.problems[1].detail, "Currency 'EUR': Azure plan prices are USD");
  EXPECT_EQ(sheet.problems[2].detail, "UnitPrice '0.0000000001': more than 9 fractional digits");
  EXPECT_EQ(sheet.problems[3].detail, "UnitPrice '-1': negative");
  EXPECT_EQ(PriceRowErrorName(sheet.problems[1].error), "not_usd");
}

TEST(PriceSheet, RejectsOnlyTheRowWhenItsTableKeyCannotBeRead) {
  const PriceSheet sheet = Parse(Sheet({
      /*2*/ "P,1,,N,C,,R,U,US,USD,0.1,0,,2026-01-01,,Azure,Microsoft",
      /*3*/ "P,1,m1,N,C,,R,U,USA,USD,0.1,0,,2026-01-01,,Azure,Microsoft",
      /*4*/ "P,1,m1,N,C,,R,U,US,USD,0.1,0,,2026-02-30,,Azure,Microsoft",
      /*5*/ "P,1,m1,N,C,,R,U,US,USD,0.1,0,,2026-01-01,,Azure",
      /*6*/ "P,1,m1,N,C,,R,U,,USD,0.1,0,,,,Azure,Microsoft",
  }));
  EXPECT_TRUE(sheet.rows.empty());
  ASSERT_EQ(sheet.problems.size(), 5u);
  EXPECT_EQ(sheet.problems[0].error, PriceRowError::kMissingMeterId);
  EXPECT_EQ(sheet.problems[1].error, PriceRowError::kBadMarket);
  EXPECT_EQ(sheet.problems[2].error, PriceRowError::kBadEffectiveStart);
  EXPECT_EQ(sheet.problems[3].error, PriceRowError::kFieldCount);
  EXPECT_EQ(sheet.problems[3].detail, "16 fields, the header has 17");
  EXPECT_EQ(sheet.problems[4].error, PriceRowError::kBadMarket);
  for (const PriceRowProblem& p : sheet.problems) EXPECT_FALSE(p.HasTableKey()) << p.line;
  // What could be read is still reported: the meter of the row with a bad date.
  EXPECT_EQ(sheet.problems[2].meter_id, "m1");
  EXPECT_EQ(sheet.problems[2].market, "US");
  EXPECT_EQ(sheet.problems[2].effective_start, std::nullopt);
}

TEST(PriceSheet, JudgesPrecisionOnTheValue) {
  const PriceSheet sheet = Parse(Sheet({
      "P,1,m1,N,C,,R,U,US,USD,0.0960000000,0,,2026-01-01,,Azure,Microsoft",
      "P,1,m2,N,C,,R,U,US,USD,1.5E-3,1e1,1e2,2026-01-01,,Azure,Microsoft",
  }));
  ASSERT_TRUE(sheet.problems.empty());
  EXPECT_EQ(sheet.rows[0].unit_price, D("0.096"));
  EXPECT_EQ(sheet.rows[1].unit_price, D("0.0015"));
  EXPECT_EQ(sheet.rows[1].tier_min, D("10"));
  EXPECT_EQ(sheet.rows[1].tier_max, D("100"));
}

TEST(PriceSheet, KeepsRepeatedKeysInOrderForTheLastOneToWin) {
  const PriceSheet sheet = Parse(Sheet({
      "P,1,m1,N,C,,R,U,US,USD,0.1,0,,2026-01-01,,Azure,Microsoft",
      "P,1,m1,N,C,,R,U,US,USD,0.08,10,,2026-01-01,,Azure,Microsoft",
      "P,1,M1,N,C,,R,U,us,USD,0.2,0,,1/1/2026,,Azure,Microsoft",
      "P,1,m1,N,C,,R,U,US,USD,0.3,0,,2026-02-01,,Azure,Microsoft",
  }));
  ASSERT_EQ(sheet.rows.size(), 4u);
  const std::vector<size_t> kept = CollapseRepeatedKeys(sheet.rows);
  ASSERT_EQ(kept, (std::vector<size_t>{2, 1, 3}));
  EXPECT_EQ(sheet.rows[kept[0]].unit_price, D("0.2"));
}

// --- Tags ------------------------------------------------------------------------------------

TEST(PriceTags, ParsesSemicolonOrCommaSeparatedWordsCaseInsensitively) {
  EXPECT_TRUE(ParseTags("Azure").Has(PriceTag::kAzure));
  const TagFlags f = ParseTags(" azure ; THIRD PARTY,Reservations ");
  EXPECT_TRUE(f.Has(PriceTag::kAzure));
  EXPECT_TRUE(f.Has(PriceTag::kThirdParty));
  EXPECT_TRUE(f.Has(PriceTag::kReservations));
  EXPECT_EQ(ParseTags(""), TagFlags());
  EXPECT_EQ(ParseTags("ThirdParty;Azurex"), TagFlags());
  EXPECT_FALSE(ParseTags("Azure;Compute").ExcludesPec());
}

TEST(PriceTags, ComparesTagsAsSetsOfWords) {
  EXPECT_EQ(TagWords("Azure;Third Party"), TagWords(" third party , AZURE;azure;"));
  EXPECT_EQ(TagWords("b;A"), (std::vector<std::string>{"a", "b"}));
  EXPECT_NE(TagWords("Azure"), TagWords("Azure;Reservations"));
  EXPECT_TRUE(TagWords(" ; , ").empty());
}

// --- Tier tables -----------------------------------------------------------------------------

PriceRow Tier(std::string_view min, std::string_view price) {
  PriceRow r;
  r.market = "US";
  r.meter_id = "m";
  r.effective_start = Day(2026, 1, 1);
  r.tier_min = D(min);
  r.unit_price = D(price);
  r.currency = "USD";
  r.tags = "Azure";
  r.publisher = "Microsoft";
  return r;
}

TEST(TierTable, AcceptsAConsistentTableInAnyOrder) {
  std::vector<PriceRow> rows = {Tier("50", "0.05"), Tier("0", "0.10"), Tier("10", "0.08")};
  rows[1].tags = "azure";
  rows[2].tags = "Azure;azure";
  rows[0].publisher = "MICROSOFT";
  EXPECT_TRUE(ValidateTierTable(rows).ok());
  EXPECT_TRUE(ValidateTierTable(std::vector<PriceRow>{Tier("0", "1")}).ok());
}

TEST(TierTable, RejectsATableWhoseLowestTierIsNotZero) {
  const Status st = ValidateTierTable(std::vector<PriceRow>{Tier("10", "0.08"), Tier("50", "1")});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "lowest PricingTierRangeMin is 10.000000000, not 0");
}

TEST(TierTable, RejectsRowsThatDisagree) {
  {
    std::vector<PriceRow> rows = {Tier("0", "1"), Tier("10", "0.5")};
    rows[1].effective_end = Day(2026, 12, 31);
    EXPECT_EQ(ValidateTierTable(rows).message(),
              "tiers disagree on EffectiveEndDate: (open) vs 2026-12-31");
  }
  {
    std::vector<PriceRow> rows = {Tier("0", "1"), Tier("10", "0.5")};
    rows[1].tags = "Azure;Third Party";
    EXPECT_EQ(ValidateTierTable(rows).message(),
              "tiers disagree on Tags: {azure} vs {azure, third party}");
  }
  {
    std::vector<PriceRow> rows = {Tier("0", "1"), Tier("10", "0.5")};
    rows[0].publisher = "Contoso";
    EXPECT_FALSE(ValidateTierTable(rows).ok());
  }
  {
    std::vector<PriceRow> rows = {Tier("0", "1"), Tier("0", "0.5")};
    EXPECT_FALSE(ValidateTierTable(rows).ok());
  }
  {
    std::vector<PriceRow> rows = {Tier("0", "1"), Tier("10", "0.5")};
    rows[1].meter_id = "other";
    EXPECT_FALSE(ValidateTierTable(rows).ok());
  }
  EXPECT_FALSE(ValidateTierTable({}).ok());
}

}  // namespace
}  // namespace meterd::rating
