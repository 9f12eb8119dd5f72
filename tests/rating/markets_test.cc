#include "rating/markets.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "rating/csv.h"

namespace meterd::rating {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::string kDataDir = std::string(METERD_FIXTURES_DIR) + "/../../data";

TEST(Markets, KnowsTheCurrencyOfTheExampleCountries) {
  EXPECT_EQ(CurrencyForCountry("US"), "USD");
  EXPECT_EQ(CurrencyForCountry("NO"), "NOK");
  EXPECT_EQ(CurrencyForCountry("JP"), "JPY");
  EXPECT_EQ(CurrencyForCountry("GB"), "GBP");
  EXPECT_EQ(CurrencyForCountry("SE"), "SEK");
  EXPECT_EQ(CurrencyForCountry("DE"), "EUR");
  EXPECT_EQ(CurrencyForCountry("KR"), "KRW");
}

TEST(Markets, LooksUpCountriesCaseInsensitively) {
  EXPECT_EQ(CurrencyForCountry("no"), "NOK");
  EXPECT_EQ(CurrencyForCountry("No"), "NOK");
  EXPECT_EQ(CurrencyForCountry("nO"), "NOK");
}

TEST(Markets, RejectsUnknownOrMalformedCountries) {
  EXPECT_EQ(CurrencyForCountry("XX"), std::nullopt);
  EXPECT_EQ(CurrencyForCountry("ZZ"), std::nullopt);
  EXPECT_EQ(CurrencyForCountry(""), std::nullopt);
  EXPECT_EQ(CurrencyForCountry("U"), std::nullopt);
  EXPECT_EQ(CurrencyForCountry("USA"), std::nullopt);
  EXPECT_EQ(CurrencyForCountry("U1"), std::nullopt);
  EXPECT_EQ(CurrencyForCountry(std::string_view("U\0", 2)), std::nullopt);
}

TEST(Markets, KeepsTheRestOfTheRow) {
  const MarketInfo* kr = FindMarket("kr");
  ASSERT_NE(kr, nullptr);
  EXPECT_EQ(kr->country_name, "Korea, Republic of");
  EXPECT_EQ(kr->market, "korea");
  EXPECT_FALSE(kr->currency_filled);
  const MarketInfo* af = FindMarket("AF");
  ASSERT_NE(af, nullptr);
  EXPECT_TRUE(af->currency_filled);
}

TEST(Currencies, KnowsMinorUnits) {
  EXPECT_EQ(MinorUnits("USD"), 2);
  EXPECT_EQ(MinorUnits("JPY"), 0);
  EXPECT_EQ(MinorUnits("KRW"), 0);
  EXPECT_EQ(MinorUnits("nok"), 2);
  EXPECT_EQ(MinorUnits("XYZ"), std::nullopt);
  EXPECT_EQ(MinorUnits("US"), std::nullopt);
  EXPECT_EQ(MinorUnits(""), std::nullopt);
}

// The compiled table is generated (rating/generate_markets.py); this keeps it honest.
TEST(Markets, MatchesDataMarketsCsvRowForRow) {
  const std::string text = ReadFile(kDataDir + "/markets.csv");
  CsvReader reader(text);
  CsvRecord rec;
  ASSERT_TRUE(reader.Next(&rec));
  ASSERT_EQ(rec.size(), 5u);
  EXPECT_EQ(rec[0], "country_code");
  EXPECT_EQ(rec[3], "currency");
  std::map<std::string, std::vector<std::string>> rows;
  while (reader.Next(&rec)) {
    if (rec.IsBlank()) continue;
    ASSERT_EQ(rec.size(), 5u) << rec.line();
    rows[std::string(rec[0])] = {std::string(rec[1]), std::string(rec[2]), std::string(rec[3]),
                                 std::string(rec[4])};
  }
  ASSERT_TRUE(reader.status().ok()) << reader.status().ToString();
  EXPECT_EQ(rows.size(), 243u);
  ASSERT_EQ(AllMarkets().size(), rows.size()) << "rerun rating/generate_markets.py";
  for (const auto& [code, fields] : rows) {
    const MarketInfo* m = FindMarket(code);
    ASSERT_NE(m, nullptr) << code << ": rerun rating/generate_markets.py";
    EXPECT_EQ(m->country_name, fields[0]) << code;
    EXPECT_EQ(m->market, fields[1]) << code;
    EXPECT_EQ(m->currency, fields[2]) << code;
    EXPECT_EQ(m->currency_filled, fields[3] == "filled") << code;
    EXPECT_EQ(CurrencyForCountry(code), fields[2]) << code;
    EXPECT_TRUE(MinorUnits(fields[2]).has_value()) << code << " has an unknown currency";
  }
}

TEST(Currencies, MatchDataCurrenciesCsvRowForRow) {
  const std::string text = ReadFile(kDataDir + "/currencies.csv");
  CsvReader reader(text);
  CsvRecord rec;
  ASSERT_TRUE(reader.Next(&rec));
  EXPECT_EQ(rec[0], "code");
  size_t count = 0;
  while (reader.Next(&rec)) {
    if (rec.IsBlank()) continue;
    ASSERT_EQ(rec.size(), 2u);
    ++count;
    EXPECT_EQ(MinorUnits(rec[0]), std::stoi(std::string(rec[1]))) << rec[0];
  }
  ASSERT_TRUE(reader.status().ok());
  EXPECT_EQ(AllCurrencies().size(), count) << "rerun rating/generate_markets.py";
}

TEST(Markets, TablesAreSortedForBinarySearch) {
  const auto markets = AllMarkets();
  for (size_t i = 1; i < markets.size(); ++i) {
    EXPECT_LT(markets[i - 1].country_code, markets[i].country_code);
  }
  const auto currencies = AllCurrencies();
  for (size_t i = 1; i < currencies.size(); ++i) {
    EXPECT_LT(currencies[i - 1].code, currencies[i].code);
  }
}

}  // namespace
}  // namespace meterd::rating
