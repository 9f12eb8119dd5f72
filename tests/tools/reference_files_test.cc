#include "tools/loadgen/reference_files.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "rating/civil_time.h"
#include "rating/decimal.h"
#include "tests/tools/test_support.h"
#include "tools/loadgen/demo_preset.h"

namespace meterd::loadgen {
namespace {

using testing::FixedNow;
using testing::Lines;
using testing::MustBuild;
using testing::RawField;
using testing::SmallWorldOptions;
namespace json = boost::json;

std::string ReadText(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// RFC 4180 records, written independently of the generator's writer.
std::vector<std::vector<std::string>> ParseCsv(std::string_view text) {
  std::vector<std::vector<std::string>> rows(1, std::vector<std::string>(1));
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    std::string& cell = rows.back().back();
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        cell.push_back('"');
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cell.push_back(c);
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      rows.back().emplace_back();
    } else if (c == '\n') {
      rows.emplace_back(1);
    } else {
      cell.push_back(c);
    }
  }
  if (rows.back().size() == 1 && rows.back()[0].empty()) rows.pop_back();
  return rows;
}

std::vector<json::object> ReferenceObjects(const ReferenceFiles& files) {
  std::vector<json::object> out;
  for (std::string_view line : Lines(files.reference_ndjson)) {
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    EXPECT_FALSE(ec) << line;
    EXPECT_TRUE(v.is_object()) << line;
    if (!ec && v.is_object()) out.push_back(v.as_object());
  }
  return out;
}

std::string Str(const json::object& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return "";
  return std::string(it->value().as_string());
}

// Exactly the contract's field set for each type: required ones present, nothing unknown.
void ExpectFields(const json::object& o, std::set<std::string> required,
                  std::set<std::string> optional) {
  for (const std::string& f : required) {
    EXPECT_TRUE(o.contains(f)) << f << " missing in " << json::serialize(o);
  }
  for (const auto& kv : o) {
    std::string k(kv.key());
    EXPECT_TRUE(required.count(k) || optional.count(k)) << "unexpected " << k;
  }
}

class ReferenceFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    world_ = MustBuild(SmallWorldOptions());
    files_ = RenderReferenceFiles(world_);
  }
  World world_;
  ReferenceFiles files_;
};

TEST_F(ReferenceFilesTest, EveryReferenceLineIsAnObjectWithTheContractsFields) {
  std::map<std::string, int> types;
  for (const json::object& o : ReferenceObjects(files_)) {
    std::string type = Str(o, "type");
    ++types[type];
    if (type == "partner") {
      ExpectFields(o, {"type", "partner_id", "name", "mpn_id", "kind", "mpn_active"}, {});
      EXPECT_TRUE(Str(o, "kind") == "direct" || Str(o, "kind") == "indirect_provider");
      EXPECT_TRUE(o.at("mpn_active").is_bool());
    } else if (type == "reseller") {
      ExpectFields(o, {"type", "mpn_id", "name", "partner_id"}, {});
    } else if (type == "customer") {
      ExpectFields(o, {"type", "customer_id", "name", "domain", "country", "partner_id"},
                   {"reseller_mpn_id", "currency"});
      EXPECT_EQ(Str(o, "country").size(), 2u);
    } else if (type == "entitlement") {
      ExpectFields(
          o,
          {"type", "entitlement_id", "customer_id", "description", "offer", "created_at", "aobo"},
          {});
      EXPECT_TRUE(Str(o, "offer") == "azure_plan" || Str(o, "offer") == "legacy");
      rating::Timestamp t;
      EXPECT_TRUE(rating::ParseRfc3339(Str(o, "created_at"), &t));
      EXPECT_LT(t, world_.first_hour) << "an entitlement exists before its usage";
      EXPECT_TRUE(o.at("aobo").is_bool());
    } else if (type == "grant") {
      ExpectFields(
          o, {"type", "grant_id", "entitlement_id", "scope", "principal_mpn_id", "role", "start"},
          {"end"});
      rating::Timestamp start, end;
      EXPECT_TRUE(rating::ParseRfc3339(Str(o, "start"), &start));
      if (o.contains("end")) {
        EXPECT_TRUE(rating::ParseRfc3339(Str(o, "end"), &end));
        EXPECT_LT(start, end);
      }
    } else {
      ADD_FAILURE() << "unknown type " << type;
    }
    // Ids are generated lowercase already (the daemon lowercases them anyway).
    for (const char* id : {"partner_id", "customer_id", "entitlement_id"}) {
      std::string v = Str(o, id);
      for (char c : v) EXPECT_FALSE(c >= 'A' && c <= 'Z') << v;
    }
  }
  EXPECT_EQ(types["partner"], 5);
  EXPECT_GT(types["reseller"], 0);
  EXPECT_EQ(types["customer"], 24);
  EXPECT_EQ(types["entitlement"], 48);
  EXPECT_GT(types["grant"], 0);
}

TEST_F(ReferenceFilesTest, EveryReferenceBetweenObjectsResolves) {
  std::set<std::string> partners, resellers, customers, entitlements;
  std::vector<json::object> objects = ReferenceObjects(files_);
  for (const json::object& o : objects) {
    std::string type = Str(o, "type");
    if (type == "partner") partners.insert(Str(o, "partner_id"));
    if (type == "reseller") resellers.insert(Str(o, "mpn_id"));
    if (type == "customer") customers.insert(Str(o, "customer_id"));
    if (type == "entitlement") entitlements.insert(Str(o, "entitlement_id"));
  }
  int with_reseller = 0, with_override = 0, legacy = 0, without_aobo = 0;
  for (const json::object& o : objects) {
    std::string type = Str(o, "type");
    if (type == "reseller" || type == "customer") {
      EXPECT_TRUE(partners.count(Str(o, "partner_id")));
    }
    if (type == "customer" && o.contains("reseller_mpn_id")) {
      ++with_reseller;
      EXPECT_TRUE(resellers.count(Str(o, "reseller_mpn_id")));
    }
    if (type == "customer" && o.contains("currency")) ++with_override;
    if (type == "entitlement") {
      EXPECT_TRUE(customers.count(Str(o, "customer_id")));
      legacy += Str(o, "offer") == "legacy";
      without_aobo += !o.at("aobo").as_bool();
    }
    if (type == "grant") {
      std::string ent = Str(o, "entitlement_id");
      EXPECT_TRUE(entitlements.count(ent));
      // The contract rejects a grant whose scope is not under its own subscription.
      EXPECT_EQ(Str(o, "scope").rfind("/subscriptions/" + ent, 0), 0u) << Str(o, "scope");
    }
  }
  EXPECT_GT(with_reseller, 0);
  EXPECT_GT(with_override, 0);
  EXPECT_GT(legacy, 0);
  EXPECT_GT(without_aobo, 0);
}

TEST_F(ReferenceFilesTest, CustomerCurrenciesAgreeWithTheMarketsTable) {
  std::map<std::string, std::string> currency_of;
  auto rows = ParseCsv(ReadText(std::filesystem::path(METERD_REPO_DIR) / "data/markets.csv"));
  ASSERT_GT(rows.size(), 200u);
  for (const auto& row : rows) currency_of[row[0]] = row[3];
  for (const std::string& market : KnownMarkets()) {
    ASSERT_TRUE(currency_of.count(market)) << market;
  }
  for (const Market& m : world_.markets) EXPECT_EQ(m.currency, currency_of[m.country]);
  for (const json::object& o : ReferenceObjects(files_)) {
    if (Str(o, "type") != "customer" || !o.contains("currency")) continue;
    // An override is only sent when it differs from the country's currency.
    EXPECT_NE(Str(o, "currency"), currency_of[Str(o, "country")]);
  }
}

TEST_F(ReferenceFilesTest, PriceSheetHasTheContractsColumnsAndWellFormedRows) {
  auto rows = ParseCsv(files_.pricesheet_csv);
  ASSERT_GT(rows.size(), 1u);
  const std::vector<std::string> header = {"ProductId",
                                           "SkuId",
                                           "MeterId",
                                           "MeterName",
                                           "MeterCategory",
                                           "MeterSubCategory",
                                           "MeterRegion",
                                           "UnitOfMeasure",
                                           "Market",
                                           "Currency",
                                           "UnitPrice",
                                           "PricingTierRangeMin",
                                           "PricingTierRangeMax",
                                           "EffectiveStartDate",
                                           "EffectiveEndDate",
                                           "Tags",
                                           "Publisher"};
  EXPECT_EQ(rows[0], header);
  struct Table {
    std::vector<rating::Decimal> mins;
    std::set<std::string> ends, tags, publishers;
  };
  std::map<std::string, Table> tables;  // by market/meter/start
  for (size_t i = 1; i < rows.size(); ++i) {
    const auto& r = rows[i];
    ASSERT_EQ(r.size(), header.size()) << "row " << i;
    EXPECT_EQ(r[9], "USD");
    rating::Decimal price, min;
    EXPECT_EQ(rating::Decimal::Parse(r[10], &price), rating::DecimalError::kOk) << r[10];
    EXPECT_GT(price, rating::Decimal::Zero());
    EXPECT_EQ(rating::Decimal::Parse(r[11], &min), rating::DecimalError::kOk) << r[11];
    rating::Date start, end;
    EXPECT_TRUE(rating::ParsePriceSheetDate(r[13], &start)) << r[13];
    if (!r[14].empty()) {
      EXPECT_TRUE(rating::ParsePriceSheetDate(r[14], &end));
      EXPECT_LE(start, end);
    }
    Table& t = tables[r[8] + "/" + r[2] + "/" + r[13]];
    t.mins.push_back(min);
    t.ends.insert(r[14]);
    t.tags.insert(r[15]);
    t.publishers.insert(r[16]);
  }
  for (const auto& [key, t] : tables) {
    // A tier table starts at 0 and its rows agree, or the daemon rejects it whole.
    EXPECT_EQ(*std::min_element(t.mins.begin(), t.mins.end()), rating::Decimal::Zero()) << key;
    EXPECT_EQ(t.ends.size(), 1u) << key;
    EXPECT_EQ(t.tags.size(), 1u) << key;
    EXPECT_EQ(t.publishers.size(), 1u) << key;
  }
}

TEST_F(ReferenceFilesTest, PriceSheetHasTieredMetersTwoPriceVersionsAndAThirdPartyRow) {
  auto rows = ParseCsv(files_.pricesheet_csv);
  std::map<std::string, std::set<std::string>> starts;  // market/meter → effective starts
  std::map<std::string, int> tiers;                     // market/meter/start → rows
  bool third_party = false, quoted_name = false;
  for (size_t i = 1; i < rows.size(); ++i) {
    starts[rows[i][8] + "/" + rows[i][2]].insert(rows[i][13]);
    ++tiers[rows[i][8] + "/" + rows[i][2] + "/" + rows[i][13]];
    third_party |= rows[i][15].find("Third Party") != std::string::npos;
    quoted_name |= rows[i][3].find(',') != std::string::npos;
  }
  int versioned = 0, tiered = 0;
  for (const auto& [k, s] : starts) versioned += s.size() == 2;
  for (const auto& [k, n] : tiers) tiered += n >= 3;
  EXPECT_GT(versioned, 0);
  EXPECT_EQ(tiered, static_cast<int>(world_.markets.size()));
  EXPECT_TRUE(third_party);
  EXPECT_TRUE(quoted_name) << "a name with a comma exercises RFC 4180 quoting";
  EXPECT_NE(files_.pricesheet_csv.find("\"Data Transfer Out, Zone 1\""), std::string::npos);
}

TEST_F(ReferenceFilesTest, EveryEventIsPricedInItsCustomersMarketOnItsDate) {
  auto rows = ParseCsv(files_.pricesheet_csv);
  FeedOptions o;
  o.late_ppm = 50'000;
  Result<FeedGenerator> feed = FeedGenerator::Create(world_, o);
  ASSERT_TRUE(feed.ok());
  for (uint64_t i = 0; i < feed->events_per_cycle(); i += 7) {
    FeedEvent e = feed->Next();
    const Stream& s = world_.streams[e.stream];
    const Customer& c = world_.customers[static_cast<size_t>(s.customer)];
    const std::string& market = world_.markets[static_cast<size_t>(c.market)].country;
    const std::string& meter = world_.meters[static_cast<size_t>(s.meter)].meter_id;
    rating::Date day = rating::DateOf(feed->TimestampOf(e));
    bool priced = false;
    for (size_t r = 1; r < rows.size() && !priced; ++r) {
      if (rows[r][8] != market || rows[r][2] != meter) continue;
      rating::Date start, end;
      ASSERT_TRUE(rating::ParsePriceSheetDate(rows[r][13], &start));
      bool open = rows[r][14].empty();
      if (!open) {
        ASSERT_TRUE(rating::ParsePriceSheetDate(rows[r][14], &end));
      }
      priced = start <= day && (open || day <= end);
    }
    EXPECT_TRUE(priced) << market << " " << meter << " " << rating::FormatDate(day);
  }
}

TEST_F(ReferenceFilesTest, FxHasAnExactRateForEveryMonthAndBillingCurrencyOfTheFeed) {
  json::value fx = json::parse(files_.fx_json);
  ASSERT_TRUE(fx.is_object());
  std::set<std::string> currencies;
  for (const Customer& c : world_.customers) {
    if (c.currency != "USD") currencies.insert(c.currency);
  }
  ASSERT_FALSE(currencies.empty());
  rating::Month first = rating::MonthOf(rating::DateOf(world_.first_hour));
  rating::Month last = rating::MonthOf(rating::DateOf(FixedNow()));
  for (rating::Month m = first; m <= last; m = rating::NextMonth(m)) {
    std::string key = rating::FormatMonth(m);
    ASSERT_TRUE(fx.as_object().contains(key)) << key;
    const json::object& rates = fx.as_object().at(key).as_object();
    for (const std::string& cur : currencies) {
      ASSERT_TRUE(rates.contains(cur) && rates.at(cur).is_string()) << key << " " << cur;
      rating::FxRate rate;
      EXPECT_EQ(rating::FxRate::Parse(std::string(rates.at(cur).as_string()), &rate),
                rating::DecimalError::kOk);
      EXPECT_GT(rate, rating::FxRate());
    }
    EXPECT_FALSE(rates.contains("USD"));
  }
}

TEST_F(ReferenceFilesTest, BudgetsNameKnownCustomersWithAmountsInTheirMinorUnits) {
  json::value budgets = json::parse(files_.budgets_json);
  ASSERT_TRUE(budgets.is_object());
  std::map<std::string, std::string> currency;
  for (const Customer& c : world_.customers) currency[c.customer_id] = c.currency;
  EXPECT_GT(budgets.as_object().size(), world_.customers.size() / 2);
  for (const auto& kv : budgets.as_object()) {
    std::string id(kv.key());
    ASSERT_TRUE(currency.count(id)) << id;
    const json::object& b = kv.value().as_object();
    std::string amount(b.at("amount").as_string());
    rating::Decimal d;
    ASSERT_EQ(rating::Decimal::Parse(amount, &d), rating::DecimalError::kOk);
    EXPECT_GT(d, rating::Decimal::Zero());
    size_t dot = amount.find('.');
    size_t decimals = dot == std::string::npos ? 0 : amount.size() - dot - 1;
    EXPECT_EQ(static_cast<int>(decimals), MinorUnits(currency[id])) << amount;
    std::string basis(b.at("basis").as_string());
    EXPECT_TRUE(basis == "list" || basis == "billed");
    for (const json::value& t : b.at("thresholds").as_array()) EXPECT_TRUE(t.is_int64());
  }
}

TEST(ReferenceFiles, TheSameSeedWritesIdenticalFilesAndAnotherSeedDoesNot) {
  ReferenceFiles a = RenderReferenceFiles(MustBuild(SmallWorldOptions(3)));
  ReferenceFiles b = RenderReferenceFiles(MustBuild(SmallWorldOptions(3)));
  ReferenceFiles c = RenderReferenceFiles(MustBuild(SmallWorldOptions(4)));
  EXPECT_EQ(a.reference_ndjson, b.reference_ndjson);
  EXPECT_EQ(a.pricesheet_csv, b.pricesheet_csv);
  EXPECT_EQ(a.fx_json, b.fx_json);
  EXPECT_EQ(a.budgets_json, b.budgets_json);
  EXPECT_NE(a.reference_ndjson, c.reference_ndjson);
  EXPECT_NE(a.fx_json, c.fx_json);
}

TEST(ReferenceFiles, WritesAndReadsBackAFolder) {
  ReferenceFiles files = RenderReferenceFiles(MustBuild(SmallWorldOptions()));
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("loadgen-test-" + std::to_string(::getpid()));
  ASSERT_TRUE(WriteReferenceFiles(files, dir.string()).ok());
  Result<ReferenceFiles> back = ReadReferenceFiles(dir.string());
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->reference_ndjson, files.reference_ndjson);
  EXPECT_EQ(back->pricesheet_csv, files.pricesheet_csv);
  EXPECT_EQ(back->fx_json, files.fx_json);
  EXPECT_EQ(back->budgets_json, files.budgets_json);
  EXPECT_EQ(back->now_txt, "2026-11-20T12:00:00Z\n");
  std::filesystem::remove_all(dir);
  EXPECT_FALSE(ReadReferenceFiles(dir.string()).ok());
}

TEST(ReferenceFiles, RefusesWorldsOutsideTheContractsLimits) {
  WorldOptions o = SmallWorldOptions();
  o.span_days = 36;  // older usage would be too_old
  EXPECT_FALSE(BuildWorld(o).ok());
  o = SmallWorldOptions();
  o.markets = {"XX"};
  EXPECT_FALSE(BuildWorld(o).ok());
  o = SmallWorldOptions();
  o.customers = 0;
  EXPECT_FALSE(BuildWorld(o).ok());
}

// --- the demo data set --------------------------------------------------------------------

struct Demo {
  WorldOptions world;
  FeedOptions feed;
  LoadOptions load;
};

Demo DemoOptions() {
  Demo d;
  ApplyDemoPreset(&d.world, &d.feed, &d.load);
  EXPECT_TRUE(rating::ParseRfc3339(kDemoNow, &d.world.now));
  return d;
}

TEST(DemoData, TheCommittedDemoFilesAreWhatTheGeneratorWrites) {
  Demo d = DemoOptions();
  World w = MustBuild(d.world, d.feed, DemoBudgetPlan(d.load.rate));
  ReferenceFiles files = RenderReferenceFiles(w);
  Result<ReferenceFiles> committed =
      ReadReferenceFiles((std::filesystem::path(METERD_REPO_DIR) / "tools/demo").string());
  ASSERT_TRUE(committed.ok()) << committed.status().message();
  EXPECT_EQ(committed->reference_ndjson, files.reference_ndjson);
  EXPECT_EQ(committed->pricesheet_csv, files.pricesheet_csv);
  EXPECT_EQ(committed->fx_json, files.fx_json);
  EXPECT_EQ(committed->budgets_json, files.budgets_json);
  EXPECT_EQ(committed->now_txt, files.now_txt);
}

TEST(DemoData, CoversFiveBillingCurrencies) {
  Demo d = DemoOptions();
  World w = MustBuild(d.world, d.feed, DemoBudgetPlan(d.load.rate));
  std::set<std::string> currencies;
  for (const Customer& c : w.customers) currencies.insert(c.currency);
  EXPECT_EQ(currencies, (std::set<std::string>{"USD", "EUR", "NOK", "GBP", "JPY"}));
  EXPECT_EQ(w.budgets.size(), w.customers.size());
}

// The demo promise, checked from the committed files alone with exact arithmetic: at the lowest
// price of each meter and the lowest FX rate of each currency, the lines of the first 40
// seconds of the demo feed already put every customer at or above its budget in some month
// (a list-basis budget, so PEC plays no part), hence 80% and 100% fire within the first minute,
// and the forecast (never below the spend) reaches 100% no later.
TEST(DemoData, TheFirstFortySecondsOfTheDemoFeedReachEveryBudget) {
  const std::filesystem::path dir = std::filesystem::path(METERD_REPO_DIR) / "tools/demo";
  Result<ReferenceFiles> files = ReadReferenceFiles(dir.string());
  ASSERT_TRUE(files.ok());
  std::map<std::string, std::string> customer_of_entitlement, market_of, currency_of;
  std::map<std::string, std::string> country_currency = {
      {"US", "USD"}, {"DE", "EUR"}, {"NO", "NOK"}, {"GB", "GBP"}, {"JP", "JPY"}};
  for (const json::object& o : ReferenceObjects(*files)) {
    if (Str(o, "type") == "customer") {
      market_of[Str(o, "customer_id")] = Str(o, "country");
      currency_of[Str(o, "customer_id")] =
          o.contains("currency") ? Str(o, "currency") : country_currency[Str(o, "country")];
    }
    if (Str(o, "type") == "entitlement") {
      customer_of_entitlement[Str(o, "entitlement_id")] = Str(o, "customer_id");
    }
  }
  std::map<std::string, __int128> min_price;  // market/meter → nanos
  auto rows = ParseCsv(files->pricesheet_csv);
  for (size_t i = 1; i < rows.size(); ++i) {
    rating::Decimal p;
    ASSERT_EQ(rating::Decimal::Parse(rows[i][10], &p), rating::DecimalError::kOk);
    std::string key = rows[i][8] + "/" + rows[i][2];
    if (!min_price.count(key) || p.nanos() < min_price[key]) min_price[key] = p.nanos();
  }
  std::map<std::string, __int128> min_fx = {{"USD", rating::FxRate::kScale}};
  json::value fx_months = json::parse(files->fx_json);
  for (const auto& month : fx_months.as_object()) {
    for (const auto& rate : month.value().as_object()) {
      rating::FxRate fx;
      ASSERT_EQ(rating::FxRate::Parse(std::string(rate.value().as_string()), &fx),
                rating::DecimalError::kOk);
      std::string cur(rate.key());
      if (!min_fx.count(cur) || fx.picos() < min_fx[cur]) min_fx[cur] = fx.picos();
    }
  }

  Demo d = DemoOptions();
  World w = MustBuild(d.world, d.feed, DemoBudgetPlan(d.load.rate));
  Result<FeedGenerator> feed = FeedGenerator::Create(w, d.feed);
  ASSERT_TRUE(feed.ok());
  std::string body;
  feed->AppendBatch(static_cast<size_t>(d.load.rate * kDemoSeconds), &body);
  std::set<std::string> seen;
  std::map<std::string, __int128> usd_e18;  // customer/month → Σ quantity × price, 10^-18 USD
  for (std::string_view line : Lines(body)) {
    if (!seen.insert(RawField(line, "entitlement_id") + "/" + RawField(line, "id")).second) {
      continue;  // a duplicate is never applied
    }
    std::string customer = customer_of_entitlement[RawField(line, "entitlement_id")];
    ASSERT_FALSE(customer.empty());
    rating::Decimal q;
    ASSERT_EQ(rating::Decimal::Parse(RawField(line, "quantity"), &q), rating::DecimalError::kOk);
    std::string key = market_of[customer] + "/" + RawField(line, "meter_id");
    ASSERT_TRUE(min_price.count(key)) << key;
    usd_e18[customer + "/" + RawField(line, "timestamp").substr(0, 7)] +=
        q.nanos() * min_price[key];
  }
  constexpr __int128 kE21 = __int128{1'000'000'000'000} * 1'000'000'000;
  json::value budgets = json::parse(files->budgets_json);
  ASSERT_EQ(budgets.as_object().size(), 5u);
  for (const auto& kv : budgets.as_object()) {
    std::string customer(kv.key());
    const json::object& b = kv.value().as_object();
    EXPECT_EQ(std::string(b.at("basis").as_string()), "list");
    rating::Decimal amount;
    ASSERT_EQ(rating::Decimal::Parse(std::string(b.at("amount").as_string()), &amount),
              rating::DecimalError::kOk);
    bool reached = false;
    for (const auto& [key, e18] : usd_e18) {
      if (key.rfind(customer + "/", 0) != 0) continue;
      // Σ q·p · fx ≥ amount, all exact: (10^-18 USD) × (10^-12 rate) vs 10^-9 × 10^21.
      reached |= e18 * min_fx[currency_of[customer]] >= amount.nanos() * kE21;
    }
    EXPECT_TRUE(reached) << customer << " budget " << amount.ToString();
  }
}

}  // namespace
}  // namespace meterd::loadgen
