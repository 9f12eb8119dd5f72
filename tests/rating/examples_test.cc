// The three worked examples (tests/fixtures/examples/*) reproduced at the library level, to the
// digit: reference data, price sheet and FX are loaded through ReferenceBuilder, the accepted
// usage events are added to month ledgers in file order (duplicates, as identified by
// (entitlement, id), are the daemon's to drop and are skipped here), ledgers are settled, and
// every line field, spend total (list/pec/billed, USD, unrated_lines, by_category) and pec_lost
// day of expected.json is compared. Budget fields (percent, forecast) belong to budget_test.

#include <gtest/gtest.h>
#include <simdjson.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "rating/month_ledger.h"
#include "rating/price_sheet.h"
#include "rating/reference.h"

namespace meterd::rating {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

Timestamp ParseTs(std::string_view s) {
  Timestamp t;
  EXPECT_TRUE(ParseRfc3339(s, &t)) << s;
  return t;
}

std::string Str(simdjson::dom::element e) { return std::string(std::string_view(e)); }

std::optional<std::string> OptStr(simdjson::dom::object o, std::string_view key) {
  simdjson::dom::element e;
  if (o[key].get(e) != simdjson::SUCCESS || e.is_null()) return std::nullopt;
  return Str(e);
}

bool OptBool(simdjson::dom::object o, std::string_view key, bool dflt) {
  simdjson::dom::element e;
  if (o[key].get(e) != simdjson::SUCCESS || e.is_null()) return dflt;
  return bool(e);
}

void LoadReference(ReferenceBuilder& b, const std::string& text) {
  simdjson::dom::parser parser;
  for (const std::string& line : Lines(text)) {
    simdjson::dom::object o = parser.parse(line);
    const std::string type = Str(o["type"]);
    Status s;
    if (type == "partner") {
      Partner p;
      p.partner_id = Str(o["partner_id"]);
      p.name = Str(o["name"]);
      p.mpn_id = Str(o["mpn_id"]);
      p.kind = *PartnerKindFromName(Str(o["kind"]));
      p.mpn_active = OptBool(o, "mpn_active", true);
      s = b.UpsertPartner(p);
    } else if (type == "reseller") {
      s = b.UpsertReseller(Reseller{Str(o["mpn_id"]), Str(o["name"]), Str(o["partner_id"])});
    } else if (type == "customer") {
      Customer c;
      c.customer_id = Str(o["customer_id"]);
      c.name = Str(o["name"]);
      c.domain = Str(o["domain"]);
      c.country = Str(o["country"]);
      c.partner_id = Str(o["partner_id"]);
      c.reseller_mpn_id = OptStr(o, "reseller_mpn_id");
      c.currency = OptStr(o, "currency");
      s = b.UpsertCustomer(c);
    } else if (type == "entitlement") {
      Entitlement e;
      e.entitlement_id = Str(o["entitlement_id"]);
      e.customer_id = Str(o["customer_id"]);
      e.description = Str(o["description"]);
      e.offer = *OfferFromName(Str(o["offer"]));
      e.created_at = ParseTs(Str(o["created_at"]));
      e.aobo = OptBool(o, "aobo", true);
      s = b.UpsertEntitlement(e);
    } else if (type == "grant") {
      Grant g;
      g.grant_id = Str(o["grant_id"]);
      g.entitlement_id = Str(o["entitlement_id"]);
      g.scope = Str(o["scope"]);
      g.principal_mpn_id = Str(o["principal_mpn_id"]);
      g.role = Str(o["role"]);
      g.start = ParseTs(Str(o["start"]));
      if (std::optional<std::string> end = OptStr(o, "end")) g.end = ParseTs(*end);
      s = b.UpsertGrant(g);
    } else {
      ADD_FAILURE() << "unknown type " << type;
    }
    EXPECT_TRUE(s.ok()) << line << ": " << s.ToString();
  }
}

void LoadFx(ReferenceBuilder& b, const std::string& text) {
  simdjson::dom::parser parser;
  simdjson::dom::object months = parser.parse(text);
  for (auto [month_text, rates] : months) {
    Month m;
    ASSERT_TRUE(ParseMonth(month_text, &m)) << month_text;
    for (auto [currency, rate] : simdjson::dom::object(rates)) {
      FxRate fx;
      ASSERT_EQ(FxRate::Parse(std::string_view(rate), &fx), DecimalError::kOk);
      ASSERT_TRUE(b.UpsertFx(currency, m, fx).ok());
    }
  }
}

struct Event {
  std::string id, entitlement_id, meter_id, resource_uri;
  Decimal quantity;
  Timestamp timestamp;
};

// Quantities come as JSON numbers or strings and are read from their text, never via double.
Event ParseEvent(const std::string& line) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(line);
  simdjson::ondemand::document doc = parser.iterate(padded);
  Event e;
  for (auto field : doc.get_object()) {
    std::string_view key = field.unescaped_key();
    simdjson::ondemand::value v = field.value();
    if (key == "quantity") {
      std::string_view text;
      if (v.type() == simdjson::ondemand::json_type::string) {
        text = v.get_string();
      } else {
        text = v.raw_json_token();
        while (!text.empty() && (text.back() == ' ' || text.back() == '}')) text.remove_suffix(1);
      }
      EXPECT_EQ(Decimal::Parse(text, &e.quantity), DecimalError::kOk) << text;
    } else {
      std::string s(std::string_view(v.get_string()));
      if (key == "id") e.id = s;
      if (key == "entitlement_id") e.entitlement_id = LowercaseAscii(s);
      if (key == "meter_id") e.meter_id = LowercaseAscii(s);
      if (key == "resource_uri") e.resource_uri = LowercaseAscii(s);
      if (key == "timestamp") e.timestamp = ParseTs(s);
    }
  }
  return e;
}

std::string Opt(bool shown, Decimal d) { return shown ? d.ToString() : "null"; }

// A line as the API prints it (api.md GET lines), as a field → text map.
std::map<std::string, std::string> Render(const LineView& v) {
  const RatedAmounts& r = *v.rated;
  std::map<std::string, std::string> m;
  m["entitlement_id"] = std::string(v.entitlement_id);
  m["meter_id"] = std::string(v.meter_id);
  m["resource_uri"] = std::string(v.resource_uri);
  m["usage_date"] = FormatDate(v.usage_date);
  m["quantity"] = v.quantity.ToString();
  m["status"] = r.rated() ? "rated" : "unrated";
  m["reason"] = r.rated() ? "null" : std::string(UnratedReasonName(r.reason));
  m["unit_price"] = Opt(r.prices_shown, r.unit_price);
  m["effective_unit_price"] = Opt(r.prices_shown, r.effective_unit_price);
  m["pec_rate"] = Opt(r.prices_shown, r.pec_rate);
  m["list_usd"] = Opt(r.usd_shown, r.list_usd);
  m["pec_usd"] = Opt(r.usd_shown, r.pec_usd);
  m["billed_usd"] = Opt(r.usd_shown, r.billed_usd);
  m["currency"] = r.currency.empty() ? "null" : std::string(r.currency.view());
  m["fx"] = r.fx_shown ? r.fx.ToString() : "null";
  m["fx_provisional"] = r.fx_provisional ? "true" : "false";
  m["list_bc"] = Opt(r.bc_shown, r.list_bc);
  m["pec_bc"] = Opt(r.bc_shown, r.pec_bc);
  m["billed_bc"] = Opt(r.bc_shown, r.billed_bc);
  return m;
}

std::string JsonText(simdjson::dom::element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::NULL_VALUE:
      return "null";
    case simdjson::dom::element_type::BOOL:
      return bool(e) ? "true" : "false";
    case simdjson::dom::element_type::STRING:
      return Str(e);
    case simdjson::dom::element_type::INT64:
      return std::to_string(int64_t(e));
    case simdjson::dom::element_type::UINT64:
      return std::to_string(uint64_t(e));
    default:
      return simdjson::to_string(e);
  }
}

struct PecLostKey {
  std::string customer_id, entitlement_id, date;
  friend auto operator<=>(const PecLostKey&, const PecLostKey&) = default;
};

void RunExample(const std::string& name) {
  SCOPED_TRACE(name);
  const std::string dir = std::string(METERD_FIXTURES_DIR) + "/examples/" + name + "/";

  ReferenceBuilder builder(ReferenceSnapshot::Empty());
  LoadReference(builder, ReadFile(dir + "reference.ndjson"));
  Result<PriceSheet> sheet = ParsePriceSheet(ReadFile(dir + "pricesheet.csv"));
  ASSERT_TRUE(sheet.ok()) << sheet.status().ToString();
  PriceUploadResult upload = builder.ApplyPriceUpload(*sheet);
  EXPECT_EQ(upload.rejected, 0);
  LoadFx(builder, ReadFile(dir + "fx.json"));
  std::shared_ptr<const ReferenceSnapshot> snap = std::move(builder).Build().snapshot;
  RatingConfig config;

  std::map<std::pair<std::string, int32_t>, std::unique_ptr<MonthLedger>> ledgers;
  std::set<std::pair<std::string, std::string>> seen;  // (entitlement, id): duplicates
  std::set<PecLostKey> pec_lost;
  SettleResult result;
  for (const std::string& line : Lines(ReadFile(dir + "usage.ndjson"))) {
    Event e = ParseEvent(line);
    if (!seen.insert({e.entitlement_id, e.id}).second) continue;
    const Entitlement* ent = snap->FindEntitlement(e.entitlement_id);
    ASSERT_NE(ent, nullptr) << "the examples have no unknown entitlements";
    const Date date = DateOf(e.timestamp);
    auto& ledger = ledgers[{ent->customer_id, MonthOf(date).index}];
    if (!ledger) ledger = std::make_unique<MonthLedger>(ent->customer_id, MonthOf(date));
    ledger->AddQuantity(LineKey{e.entitlement_id, e.meter_id, e.resource_uri, date}, e.quantity);
    // Settle after every event, as a daemon committing one event per batch would.
    ledger->Settle(snap, config, &result);
    for (const PecLostDay& d : result.pec_lost) {
      pec_lost.insert({ledger->customer_id(), std::string(d.entitlement_id), FormatDate(d.date)});
    }
  }

  simdjson::dom::parser parser;
  const std::string expected_text = ReadFile(dir + "expected.json");
  simdjson::dom::object expected = parser.parse(expected_text);
  std::vector<std::string> months;
  for (simdjson::dom::element m : simdjson::dom::array(expected["months"]))
    months.push_back(Str(m));

  for (auto [customer_id, customer] : simdjson::dom::object(expected["customers"])) {
    SCOPED_TRACE(std::string(customer_id));
    const Customer* c = snap->FindCustomer(customer_id);
    ASSERT_NE(c, nullptr);
    EXPECT_EQ(snap->BillingCurrency(*c), Str(customer["currency"]));
    for (const std::string& month_text : months) {
      SCOPED_TRACE(month_text);
      Month month;
      ASSERT_TRUE(ParseMonth(month_text, &month));
      auto it = ledgers.find({std::string(customer_id), month.index});
      const MonthLedger* ledger = it == ledgers.end() ? nullptr : it->second.get();

      // Lines, in canonical order.
      std::vector<std::map<std::string, std::string>> got;
      if (ledger != nullptr) {
        for (LineId id : ledger->CanonicalOrder()) got.push_back(Render(ledger->line(id)));
      }
      simdjson::dom::array want_lines;
      if (customer["lines"][month_text].get(want_lines) != simdjson::SUCCESS) {
        EXPECT_TRUE(got.empty());
      } else {
        ASSERT_EQ(got.size(), want_lines.size());
        size_t i = 0;
        for (simdjson::dom::object want : want_lines) {
          for (auto [field, value] : want) {
            EXPECT_EQ(got[i][std::string(field)], JsonText(value))
                << "line " << i << " field " << field;
          }
          ++i;
        }
      }

      // Spend totals.
      simdjson::dom::object spend = customer["spend"][month_text];
      MonthTotals t = ledger ? ledger->Totals() : MonthTotals();
      EXPECT_EQ(t.list.ToString(), Str(spend["list"]));
      EXPECT_EQ(t.pec.ToString(), Str(spend["pec"]));
      EXPECT_EQ(t.billed.ToString(), Str(spend["billed"]));
      EXPECT_EQ(t.list_usd.ToString(), Str(spend["list_usd"]));
      EXPECT_EQ(t.pec_usd.ToString(), Str(spend["pec_usd"]));
      EXPECT_EQ(t.billed_usd.ToString(), Str(spend["billed_usd"]));
      EXPECT_EQ(t.unrated_lines, int64_t(spend["unrated_lines"]));
      if (t.rated_lines > 0) {
        EXPECT_EQ(t.currency.view(), Str(spend["currency"]));
      }
      std::vector<std::string> want_cats, got_cats;
      for (simdjson::dom::object cat : simdjson::dom::array(spend["by_category"])) {
        want_cats.push_back(Str(cat["meter_category"]) + " " + Str(cat["list"]) + " " +
                            Str(cat["billed"]));
      }
      for (const CategoryTotal& cat : t.by_category) {
        got_cats.push_back(cat.meter_category + " " + cat.list.ToString() + " " +
                           cat.billed.ToString());
      }
      EXPECT_EQ(got_cats, want_cats);
    }
  }

  std::set<PecLostKey> want_pec_lost;
  for (simdjson::dom::object p : simdjson::dom::array(expected["pec_lost"])) {
    want_pec_lost.insert({Str(p["customer_id"]), Str(p["entitlement_id"]), Str(p["date"])});
  }
  EXPECT_EQ(pec_lost, want_pec_lost);
}

TEST(WorkedExamples, BasicMatchesExpectedToTheDigit) { RunExample("basic"); }
TEST(WorkedExamples, CurrenciesMatchesExpectedToTheDigit) { RunExample("currencies"); }
TEST(WorkedExamples, TiersAndPecMatchesExpectedToTheDigit) { RunExample("tiers-and-pec"); }

}  // namespace
}  // namespace meterd::rating
