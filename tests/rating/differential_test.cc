// Randomized differential test: thousands of random scenarios (reference data, price versions
// with tiers, grants, FX, usage batches, reference changes mid-stream, settles at random points)
// are rated by MonthLedger and, independently, by a slow reference rater written here with
// plain loops and arbitrary-precision integers (boost::multiprecision::cpp_int) straight from
// domain.md §4 and §8. After every settle the two must agree on every line field and every
// total, the lines reported as changed must be exactly enough to keep a stored copy in sync,
// and every reported pec_lost day must carry the day's exact lost credit.

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/multiprecision/cpp_int.hpp>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "rating/markets.h"
#include "rating/month_ledger.h"
#include "tests/rating/engine_test_util.h"

namespace meterd::rating {
namespace {

using BigInt = boost::multiprecision::cpp_int;
using testing::World;

// ---------------------------------------------------------------------------------------------
// Scenario description: plain data the reference rater reads directly.

struct TableDef {
  std::string market;
  std::string meter;
  int start_offset = 0;                                    // days from 2026-11-01
  std::optional<int> end_offset;                           // inclusive
  std::vector<std::pair<std::string, std::string>> tiers;  // (min, price) as decimal text
  std::string category;
  std::string tags;
  std::string publisher;
};

struct GrantDef {
  std::string id, ent, scope, principal, role;
  int64_t start = 0;
  std::optional<int64_t> end;
};

struct EntDef {
  std::string id;
  Offer offer = Offer::kAzurePlan;
  bool aobo = true;
  int64_t created = 0;
  std::optional<int64_t> aobo_end;
};

struct FxDef {
  std::string currency;
  int month_offset = 0;  // relative to 2026-11
  std::string rate;
};

struct Scenario {
  std::string country = "US";
  std::optional<std::string> currency_override;
  bool partner_known = true;
  bool partner_active = true;
  std::string partner_mpn = "111";
  std::optional<std::string> reseller_mpn;
  std::vector<EntDef> ents;
  std::vector<GrantDef> grants;  // unique ids
  std::vector<TableDef> tables;  // unique (market, meter, start)
  std::vector<FxDef> fx;         // last wins per (currency, month)
  RatingConfig config;
};

struct EventDef {
  std::string ent, meter, res;
  int day = 0;  // 0-based day of November 2026
  std::string quantity;
};

const Month kMonth = MonthFromYm(2026, 11);
const Date kFirst = FirstDayOf(kMonth);
const int64_t kT0 = StartOf(kFirst).nanos;
constexpr int64_t kHour = int64_t{3600} * kNanosPerSecond;

BigInt Nanos(const std::string& text) {  // decimal text → integer count of 1e-9
  Decimal d;
  EXPECT_EQ(Decimal::Parse(text, &d), DecimalError::kOk) << text;
  // Independent of Decimal's arithmetic: only its parser is trusted, and parsing is tested
  // elsewhere.
  return BigInt(static_cast<long long>(d.nanos() / 1'000'000'000'000'000'000)) *
             BigInt("1000000000000000000") +
         BigInt(static_cast<long long>(d.nanos() % 1'000'000'000'000'000'000));
}

BigInt Picos(const std::string& text) {
  FxRate f;
  EXPECT_EQ(FxRate::Parse(text, &f), DecimalError::kOk) << text;
  return BigInt(static_cast<long long>(f.picos() / 1'000'000'000'000'000'000)) *
             BigInt("1000000000000000000") +
         BigInt(static_cast<long long>(f.picos() % 1'000'000'000'000'000'000));
}

Decimal ToDecimal(const BigInt& nanos) {
  // Values here stay far inside int128.
  BigInt q = nanos / BigInt("1000000000000000000");
  BigInt r = nanos % BigInt("1000000000000000000");
  return Decimal::FromNanos(int128(q.convert_to<long long>()) * 1'000'000'000'000'000'000 +
                            r.convert_to<long long>());
}

BigInt RoundDiv(const BigInt& num, const BigInt& den) {  // half to even, den > 0
  const bool neg = num < 0;
  BigInt a = neg ? BigInt(-num) : num;
  BigInt q = a / den, r = a % den;
  if (2 * r > den || (2 * r == den && (q % 2) == 1)) ++q;
  return neg ? BigInt(-q) : q;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::vector<std::string> SplitSegments(const std::string& path) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : path + "/") {
    if (c == '/') {
      if (!cur.empty()) out.push_back(Lower(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  return out;
}

bool Covers(const std::string& scope, const std::string& resource) {
  std::vector<std::string> s = SplitSegments(scope), r = SplitSegments(resource);
  if (s.empty() || s.size() > r.size()) return false;
  return std::equal(s.begin(), s.end(), r.begin());
}

// ---------------------------------------------------------------------------------------------
// The reference rater.

struct RefLine {
  std::string ent, meter, res;
  int day = 0;
  BigInt qty;
  RatedAmounts rated;
  std::string category;
};

struct RefResult {
  std::map<std::tuple<std::string, std::string, std::string, int>, RefLine> lines;
  MonthTotals totals;
  std::map<std::pair<std::string, int>, std::pair<BigInt, BigInt>> lost;  // (ent, day) → bc, usd
};

const TableDef* RefTable(const Scenario& s, const std::string& meter, int day) {
  const TableDef* best = nullptr;
  for (const TableDef& t : s.tables) {
    if (t.market != s.country || t.meter != meter) continue;
    if (t.start_offset > day) continue;
    if (t.end_offset && *t.end_offset < day) continue;
    if (best == nullptr || t.start_offset > best->start_offset) best = &t;
  }
  return best;
}

std::string BillingCurrency(const Scenario& s) {
  if (s.currency_override) return *s.currency_override;
  return std::string(*CurrencyForCountry(s.country));
}

bool RefFullDay(const Scenario& s, const EntDef& e, const std::string& res, int day) {
  const int64_t d0 = kT0 + int64_t{day} * kNanosPerDay, d1 = d0 + kNanosPerDay;
  auto role_ok = [&](const std::string& role) {
    for (const std::string& r : s.config.eligible_roles) {
      if (Lower(r) == Lower(role)) return true;
    }
    return false;
  };
  std::vector<std::pair<int64_t, int64_t>> iv;
  const int64_t kInf = INT64_MAX;
  if (e.offer == Offer::kAzurePlan && e.aobo && role_ok("owner") &&
      Covers("/subscriptions/" + e.id, res)) {
    iv.push_back({e.created, e.aobo_end.value_or(kInf)});
  }
  for (const GrantDef& g : s.grants) {
    if (Lower(g.ent) != e.id) continue;
    const std::string p = Lower(g.principal);
    const bool principal = p == s.partner_mpn || (s.reseller_mpn && p == *s.reseller_mpn);
    if (!principal || !role_ok(g.role) || !Covers(g.scope, res)) continue;
    iv.push_back({g.start, g.end.value_or(kInf)});
  }
  std::sort(iv.begin(), iv.end());
  int64_t covered = d0;
  for (auto [a, b] : iv) {
    if (a > covered) break;
    covered = std::max(covered, b);
  }
  return covered >= d1;
}

RefResult RateReference(const Scenario& s, const std::vector<EventDef>& events) {
  RefResult out;
  for (const EventDef& ev : events) {
    RefLine& l = out.lines[{ev.ent, ev.meter, ev.res, ev.day}];
    l.ent = ev.ent;
    l.meter = ev.meter;
    l.res = ev.res;
    l.day = ev.day;
    l.qty += Nanos(ev.quantity);
  }
  const std::string currency = BillingCurrency(s);
  const BigInt kScale("1000000000"), kFxScale("1000000000000");
  const BigInt kMax = BigInt("1000000000000000") * kScale;
  const BigInt cfg_rate = Nanos(s.config.pec_rate.ToString());

  // Scopes: per meter, canonical order (day, entitlement, resource).
  std::map<std::string, std::vector<RefLine*>> scopes;
  for (auto& [key, l] : out.lines) scopes[l.meter].push_back(&l);
  for (auto& [meter, lines] : scopes) {
    std::sort(lines.begin(), lines.end(), [](const RefLine* a, const RefLine* b) {
      return std::tie(a->day, a->ent, a->res) < std::tie(b->day, b->ent, b->res);
    });
    BigInt cum = 0;
    for (RefLine* l : lines) {
      RatedAmounts& r = l->rated;
      r = RatedAmounts();
      const EntDef* e = nullptr;
      for (const EntDef& x : s.ents) {
        if (x.id == l->ent) e = &x;
      }
      const TableDef* t = RefTable(s, l->meter, l->day);
      r.currency = CurrencyCode::Of(currency);
      if (t == nullptr) {
        r.reason = UnratedReason::kUnpriced;
      } else {
        l->category = t->category;
        std::vector<std::pair<BigInt, BigInt>> tiers;
        for (auto& [mn, pr] : t->tiers) tiers.push_back({Nanos(mn), Nanos(pr)});
        std::sort(tiers.begin(), tiers.end());
        BigInt sum = 0, last_price = 0;
        int used = 0;
        const BigInt end = cum + l->qty;
        for (size_t i = 0; i < tiers.size(); ++i) {
          BigInt lo = tiers[i].first;
          BigInt hi = i + 1 < tiers.size() ? tiers[i + 1].first : end;
          BigInt a = std::max(cum, lo), b = std::min(end, hi);
          if (b <= a) continue;
          sum += (b - a) * tiers[i].second;
          ++used;
          last_price = tiers[i].second;
        }
        const BigInt list = RoundDiv(sum, kScale);
        BigInt unit;
        if (l->qty == 0) {
          for (auto& [mn, pr] : tiers) {
            if (mn <= cum) unit = pr;
          }
        } else if (used == 1) {
          unit = last_price;
        } else {
          unit = RoundDiv(list * kScale, l->qty);
        }
        bool product_ok = t->publisher.size() == 9 && Lower(t->publisher) == "microsoft";
        for (const std::string& w : {std::string("third party"), std::string("reservations")}) {
          std::string tags = Lower(t->tags);
          // Words separated by ';' or ','; trimmed.
          std::string cur;
          for (char c : tags + ";") {
            if (c == ';' || c == ',') {
              size_t a = cur.find_first_not_of(' '), b = cur.find_last_not_of(' ');
              if (a != std::string::npos && cur.substr(a, b - a + 1) == w) product_ok = false;
              cur.clear();
            } else {
              cur += c;
            }
          }
        }
        const bool rules13 =
            e->offer == Offer::kAzurePlan && product_ok && s.partner_known && s.partner_active;
        const bool access = rules13 && RefFullDay(s, *e, l->res, l->day);
        const BigInt rate = access ? cfg_rate : BigInt(0);
        r.prices_shown = true;
        r.unit_price = ToDecimal(unit);
        r.pec_rate = ToDecimal(rate);
        r.effective_unit_price = ToDecimal(RoundDiv(unit * (kScale - rate), kScale));
        // FX: the month's rate, else the latest earlier month's.
        std::optional<BigInt> fx;
        bool provisional = false;
        if (currency == "USD") {
          fx = kFxScale;
        } else {
          int best = INT32_MIN;
          for (const FxDef& f : s.fx) {
            if (f.currency != currency || f.month_offset > 0) continue;
            if (f.month_offset >= best) {
              best = f.month_offset;
              fx = Picos(f.rate);
              provisional = f.month_offset != 0;
            }
          }
        }
        const bool abs_over = (list < 0 ? BigInt(-list) : list) > kMax;
        if (abs_over) {
          r.reason = fx ? UnratedReason::kOverflow : UnratedReason::kFxMissing;
          if (fx) {
            r.fx_shown = true;
            r.fx = FxRate::FromPicos(int128(fx->convert_to<long long>()));
          }
        } else {
          const BigInt pec = RoundDiv(list * rate, kScale);
          const BigInt billed = list - pec;
          r.usd_shown = true;
          r.list_usd = ToDecimal(list);
          r.pec_usd = ToDecimal(pec);
          r.billed_usd = ToDecimal(billed);
          if (!fx) {
            r.reason = UnratedReason::kFxMissing;
          } else {
            const BigInt list_bc = RoundDiv(list * *fx, kFxScale);
            const FxRate fx_rate = FxRate::FromPicos(int128(fx->convert_to<long long>()));
            if ((list_bc < 0 ? BigInt(-list_bc) : list_bc) > kMax) {
              r = RatedAmounts();
              r.currency = CurrencyCode::Of(currency);
              r.reason = UnratedReason::kOverflow;
              r.prices_shown = true;
              r.unit_price = ToDecimal(unit);
              r.pec_rate = ToDecimal(rate);
              r.effective_unit_price = ToDecimal(RoundDiv(unit * (kScale - rate), kScale));
              r.fx_shown = true;
              r.fx = fx_rate;
            } else {
              const BigInt billed_bc = RoundDiv(billed * *fx, kFxScale);
              r.fx_shown = r.bc_shown = true;
              r.fx = fx_rate;
              r.fx_provisional = provisional;
              r.list_bc = ToDecimal(list_bc);
              r.billed_bc = ToDecimal(billed_bc);
              r.pec_bc = ToDecimal(list_bc - billed_bc);
              if (rules13 && !access) {
                const BigInt lost_usd = RoundDiv(list * cfg_rate, kScale);
                const BigInt lost_bc = list_bc - RoundDiv((list - lost_usd) * *fx, kFxScale);
                r.pec_lost = true;
                r.lost_pec_usd = ToDecimal(lost_usd);
                r.lost_pec_bc = ToDecimal(lost_bc);
                auto& day = out.lost[{l->ent, l->day}];
                day.first += lost_bc;
                day.second += lost_usd;
              }
            }
          }
        }
      }
      cum += l->qty;
    }
  }

  // Totals over rated lines.
  std::map<std::string, std::pair<BigInt, BigInt>> cats;
  BigInt sums[6];
  for (auto& [key, l] : out.lines) {
    const RatedAmounts& r = l.rated;
    if (!r.rated()) {
      ++out.totals.unrated_lines;
      continue;
    }
    ++out.totals.rated_lines;
    out.totals.currency = r.currency;
    Decimal parts[6] = {r.list_bc, r.pec_bc, r.billed_bc, r.list_usd, r.pec_usd, r.billed_usd};
    for (int i = 0; i < 6; ++i) sums[i] += Nanos(parts[i].ToString());
    auto& c = cats[l.category];
    c.first += Nanos(r.list_bc.ToString());
    c.second += Nanos(r.billed_bc.ToString());
  }
  out.totals.list = ToDecimal(sums[0]);
  out.totals.pec = ToDecimal(sums[1]);
  out.totals.billed = ToDecimal(sums[2]);
  out.totals.list_usd = ToDecimal(sums[3]);
  out.totals.pec_usd = ToDecimal(sums[4]);
  out.totals.billed_usd = ToDecimal(sums[5]);
  for (auto& [name, v] : cats) {
    out.totals.by_category.push_back({name, ToDecimal(v.first), ToDecimal(v.second)});
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Random generation.

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Chance(int percent) { return Int(1, 100) <= percent; }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(Int(0, static_cast<int>(v.size()) - 1))];
  }

 private:
  std::mt19937_64 rng_;
};

const std::vector<std::string> kEnts = {"e1", "e10", "e2"};
const std::vector<std::string> kMeters = {"m-a", "m-b", "m-c"};

std::vector<std::string> ResourcesOf(const std::string& ent) {
  return {"/subscriptions/" + ent + "/resourcegroups/rg1/providers/p/vm1",
          "/subscriptions/" + ent + "/resourcegroups/rg10/providers/p/vm2",
          "/subscriptions/" + ent + "/resourcegroups/rg1/providers/p/vm3",
          "/subscriptions/other/resourcegroups/rg1/providers/p/vm9"};
}

int64_t RandomInstant(Gen& g) {
  static const std::vector<int> kHours = {0, 0, 0, 6, 12, 23};
  int64_t t = kT0 + int64_t{g.Int(-3, 32)} * kNanosPerDay + g.Pick(kHours) * kHour;
  if (g.Chance(10)) t += g.Int(1, 59) * kNanosPerSecond;
  return t;
}

GrantDef RandomGrant(Gen& g, int n) {
  GrantDef d;
  d.id = "g" + std::to_string(n);
  d.ent = g.Pick(kEnts);
  const std::string res = ResourcesOf(d.ent)[0];
  const std::vector<std::string> scopes = {
      "/subscriptions/" + d.ent, "/Subscriptions/" + d.ent + "/resourceGroups/RG1/",
      "/subscriptions/" + d.ent + "/resourcegroups/rg10", "//subscriptions/" + d.ent + "//", res};
  d.scope = g.Pick(scopes);
  d.principal = g.Pick(std::vector<std::string>{"111", "333", "999", "111"});
  d.role = g.Pick(std::vector<std::string>{"Owner", "contributor", "Reader", "owner"});
  d.start = RandomInstant(g);
  if (g.Chance(50)) d.end = d.start + g.Int(1, 200) * kHour;
  return d;
}

TableDef RandomTable(Gen& g, const std::string& market, const std::string& meter, int start) {
  static const std::vector<std::string> kPrices = {
      "0.004",       "0.1", "0.096",       "0.192", "0.05", "0.15",
      "0.000000003", "1.5", "0.123456789", "7",     "0",    "0.000000001"};
  static const std::vector<std::string> kMins = {"0.5",          "1",  "2.5", "10",
                                                 "10.000000001", "20", "50",  "3.333333333"};
  TableDef t;
  t.market = market;
  t.meter = meter;
  t.start_offset = start;
  if (g.Chance(25)) t.end_offset = start + g.Int(0, 40);
  t.tiers.push_back({"0", g.Pick(kPrices)});
  const int n = g.Int(0, 3);
  std::set<std::string> mins;
  for (int i = 0; i < n; ++i) mins.insert(g.Pick(kMins));
  for (const std::string& m : mins) t.tiers.push_back({m, g.Pick(kPrices)});
  t.category = g.Pick(std::vector<std::string>{"Compute", "Bandwidth", "Storage"});
  t.tags = g.Pick(
      std::vector<std::string>{"Azure", "", "Azure;Third Party", "reservations", "azure, foo"});
  t.publisher = g.Pick(std::vector<std::string>{"Microsoft", "microsoft", "", "Canonical"});
  return t;
}

std::string RandomQuantity(Gen& g) {
  static const std::vector<std::string> kQ = {
      "0",           "1",  "2.5", "1.000000125", "24.0000075", "0.000000001",
      "3.333333333", "10", "45",  "0.5",         "7"};
  if (g.Chance(2)) return g.Chance(50) ? "1000000000000000" : "400000000000000";
  if (g.Chance(30)) {
    return std::to_string(g.Int(0, 60)) + "." + std::to_string(g.Int(0, 999999999));
  }
  return g.Pick(kQ);
}

void ApplyTable(World& w, const TableDef& t) {
  testing::TableSpec spec;
  spec.market = t.market;
  spec.meter_id = t.meter;
  spec.start = FormatDate(Date{kFirst.days + t.start_offset});
  if (t.end_offset) spec.end = FormatDate(Date{kFirst.days + *t.end_offset});
  for (auto& [mn, pr] : t.tiers) spec.tiers.push_back({mn, pr});
  spec.category = t.category;
  spec.tags = t.tags;
  spec.publisher = t.publisher;
  w.Table(spec);
}

Grant ToGrant(const GrantDef& d) {
  Grant g;
  g.grant_id = d.id;
  g.entitlement_id = d.ent;
  g.scope = d.scope;
  g.principal_mpn_id = d.principal;
  g.role = d.role;
  g.start = Timestamp{d.start};
  if (d.end) g.end = Timestamp{*d.end};
  return g;
}

Entitlement ToEnt(const EntDef& d) {
  Entitlement e;
  e.entitlement_id = d.id;
  e.customer_id = "c";
  e.offer = d.offer;
  e.created_at = Timestamp{d.created};
  e.aobo = d.aobo;
  return e;
}

void ApplyFx(World& w, const FxDef& f) {
  EXPECT_TRUE(w.builder()
                  .UpsertFx(f.currency, Month{kMonth.index + f.month_offset}, testing::Fx(f.rate))
                  .ok());
}

void ApplyAll(World& w, const Scenario& s) {
  if (s.partner_known) w.Partner("p", s.partner_mpn, s.partner_active);
  w.Customer("c", s.country, "p", s.reseller_mpn, s.currency_override);
  for (const EntDef& e : s.ents) {
    EXPECT_TRUE(w.builder().UpsertEntitlement(ToEnt(e)).ok());
    if (e.aobo_end) {
      Grant g;
      g.grant_id = "aobo:" + e.id;
      g.end = Timestamp{*e.aobo_end};
      EXPECT_TRUE(w.builder().UpsertGrant(g).ok());
    }
  }
  for (const GrantDef& g : s.grants) EXPECT_TRUE(w.builder().UpsertGrant(ToGrant(g)).ok());
  for (const TableDef& t : s.tables) ApplyTable(w, t);
  for (const FxDef& f : s.fx) ApplyFx(w, f);
}

Scenario RandomScenario(Gen& g) {
  Scenario s;
  s.country = g.Pick(std::vector<std::string>{"US", "US", "NO", "JP", "SE", "GB"});
  if (g.Chance(15)) s.currency_override = g.Pick(std::vector<std::string>{"EUR", "USD", "NOK"});
  s.partner_known = !g.Chance(10);
  s.partner_active = !g.Chance(10);
  if (g.Chance(50)) s.reseller_mpn = "333";
  for (const std::string& id : kEnts) {
    EntDef e;
    e.id = id;
    e.offer =
        g.Chance(80) ? Offer::kAzurePlan : (g.Chance(50) ? Offer::kLegacy : Offer::kSharedServices);
    e.aobo = g.Chance(60);
    e.created = g.Chance(70) ? kT0 - 40 * kNanosPerDay : RandomInstant(g);
    if (e.aobo && e.offer == Offer::kAzurePlan && g.Chance(30)) {
      e.aobo_end = std::max(e.created + kHour, RandomInstant(g));
    }
    s.ents.push_back(e);
  }
  const int grants = g.Int(0, 4);
  for (int i = 0; i < grants; ++i) s.grants.push_back(RandomGrant(g, i));
  for (const std::string& meter : kMeters) {
    if (g.Chance(15)) continue;  // unpriced meter
    std::set<int> starts = {g.Chance(80) ? -40 : g.Int(-5, 20)};
    if (g.Chance(40)) starts.insert(g.Int(-10, 28));
    for (int start : starts) s.tables.push_back(RandomTable(g, s.country, meter, start));
    if (g.Chance(20)) s.tables.push_back(RandomTable(g, "DE", meter, -40));
  }
  static const std::vector<std::string> kRates = {
      "10.5", "0.79", "150.123456789012", "0.000000000001", "1.000000000001", "151.5",
      "11",   "0.92"};
  for (const std::string cur : {"NOK", "JPY", "SEK", "GBP", "EUR"}) {
    for (int m = -2; m <= 0; ++m) {
      if (g.Chance(45)) s.fx.push_back({cur, m, g.Pick(kRates)});
    }
  }
  s.config.pec_rate =
      testing::Dec(g.Pick(std::vector<std::string>{"0.15", "0.15", "0.2", "0.333333333"}));
  if (g.Chance(10)) s.config.eligible_roles = {"Reader", "OWNER"};
  return s;
}

// A random reference change, applied to both the scenario and a builder.
void RandomChange(Gen& g, Scenario& s, World& w, int* grant_counter) {
  switch (g.Int(0, 6)) {
    case 0: {  // a final FX rate for the month
      FxDef f{BillingCurrency(s), 0, g.Pick(std::vector<std::string>{"11", "0.93", "151.5"})};
      if (f.currency == "USD") f.currency = "NOK";
      s.fx.push_back(f);
      ApplyFx(w, f);
      break;
    }
    case 1: {  // a new price version
      TableDef t = RandomTable(g, s.country, g.Pick(kMeters), g.Int(-3, 29));
      for (const TableDef& x : s.tables) {
        if (x.market == t.market && x.meter == t.meter && x.start_offset == t.start_offset) return;
      }
      s.tables.push_back(t);
      ApplyTable(w, t);
      break;
    }
    case 2: {  // a new or replaced grant
      GrantDef d = RandomGrant(g, (*grant_counter)++);
      s.grants.push_back(d);
      EXPECT_TRUE(w.builder().UpsertGrant(ToGrant(d)).ok());
      break;
    }
    case 3: {  // the partner's MPN status flips
      if (!s.partner_known) return;
      s.partner_active = !s.partner_active;
      w.Partner("p", s.partner_mpn, s.partner_active);
      break;
    }
    case 4: {  // admin rights removed or restored
      EntDef& e = s.ents[static_cast<size_t>(g.Int(0, 2))];
      if (!(e.aobo && e.offer == Offer::kAzurePlan)) return;
      Grant grant;
      grant.grant_id = "aobo:" + e.id;
      if (g.Chance(70)) {
        e.aobo_end = std::max(e.created + kHour, RandomInstant(g));
        grant.end = Timestamp{*e.aobo_end};
      } else {
        e.aobo_end.reset();
      }
      EXPECT_TRUE(w.builder().UpsertGrant(grant).ok());
      break;
    }
    case 5: {  // the entitlement's offer or AOBO flag changes
      EntDef& e = s.ents[static_cast<size_t>(g.Int(0, 2))];
      e.aobo = !e.aobo;
      if (!(e.aobo && e.offer == Offer::kAzurePlan)) e.aobo_end.reset();
      EXPECT_TRUE(w.builder().UpsertEntitlement(ToEnt(e)).ok());
      break;
    }
    default: {  // currency override changes
      s.currency_override = g.Chance(50) ? std::optional<std::string>("EUR") : std::nullopt;
      w.Customer("c", s.country, "p", s.reseller_mpn, s.currency_override);
      break;
    }
  }
}

// ---------------------------------------------------------------------------------------------

RatedAmounts StoredForm(RatedAmounts r) {
  r.pec_lost = false;
  r.lost_pec_bc = r.lost_pec_usd = Decimal();
  return r;
}

std::string Describe(const RatedAmounts& r) {
  std::string s =
      "reason=" + std::string(UnratedReasonName(r.reason)) + " unit=" + r.unit_price.ToString() +
      " eff=" + r.effective_unit_price.ToString() + " rate=" + r.pec_rate.ToString() +
      " list=" + r.list_usd.ToString() + " pec=" + r.pec_usd.ToString() + " fx=" + r.fx.ToString() +
      " list_bc=" + r.list_bc.ToString() + " billed_bc=" + r.billed_bc.ToString() +
      " prov=" + std::to_string(r.fx_provisional) + " shown=" + std::to_string(r.prices_shown) +
      std::to_string(r.usd_shown) + std::to_string(r.fx_shown) + std::to_string(r.bc_shown) +
      " lost=" + std::to_string(r.pec_lost) + "/" + r.lost_pec_bc.ToString();
  return s;
}

using StoredKey = std::tuple<std::string, std::string, std::string, int>;
struct Stored {
  Decimal quantity;
  RatedAmounts rated;
};

// Checks the ledger against the reference and the stored copy kept from change reports.
void Check(const MonthLedger& ledger, const Scenario& s, const std::vector<EventDef>& events,
           const SettleResult& result, std::map<StoredKey, Stored>* stored,
           std::set<std::pair<std::string, int>>* reported_days, uint64_t seed) {
  RefResult ref = RateReference(s, events);
  for (LineId id : result.changed) {
    LineView v = ledger.line(id);
    (*stored)[{std::string(v.entitlement_id), std::string(v.meter_id), std::string(v.resource_uri),
               v.usage_date.days - kFirst.days}] = Stored{v.quantity, *v.rated};
  }
  ASSERT_EQ(ledger.line_count(), ref.lines.size()) << "seed " << seed;
  ASSERT_EQ(stored->size(), ref.lines.size()) << "seed " << seed;
  for (auto& [key, want] : ref.lines) {
    std::optional<LineId> id =
        ledger.Find(LineKey{want.ent, want.meter, want.res, Date{kFirst.days + want.day}});
    ASSERT_TRUE(id.has_value()) << "seed " << seed;
    LineView v = ledger.line(*id);
    EXPECT_EQ(v.quantity, ToDecimal(want.qty)) << "seed " << seed;
    EXPECT_EQ(*v.rated, want.rated) << "seed " << seed << " line " << want.meter << " day "
                                    << want.day << " " << want.ent << " " << want.res << "\n got  "
                                    << Describe(*v.rated) << "\n want " << Describe(want.rated);
    const Stored& st = stored->at(key);
    EXPECT_EQ(st.quantity, v.quantity) << "seed " << seed << ": a changed line was not reported";
    EXPECT_EQ(StoredForm(st.rated), StoredForm(*v.rated))
        << "seed " << seed << ": a changed line was not reported";
  }
  MonthTotals t = ledger.Totals();
  EXPECT_EQ(t.list, ref.totals.list) << "seed " << seed;
  EXPECT_EQ(t.pec, ref.totals.pec) << "seed " << seed;
  EXPECT_EQ(t.billed, ref.totals.billed) << "seed " << seed;
  EXPECT_EQ(t.list_usd, ref.totals.list_usd) << "seed " << seed;
  EXPECT_EQ(t.pec_usd, ref.totals.pec_usd) << "seed " << seed;
  EXPECT_EQ(t.billed_usd, ref.totals.billed_usd) << "seed " << seed;
  EXPECT_EQ(t.rated_lines, ref.totals.rated_lines) << "seed " << seed;
  EXPECT_EQ(t.unrated_lines, ref.totals.unrated_lines) << "seed " << seed;
  EXPECT_EQ(t.by_category, ref.totals.by_category) << "seed " << seed;
  if (ref.totals.rated_lines > 0) {
    EXPECT_EQ(t.currency, ref.totals.currency) << "seed " << seed;
  }

  for (const PecLostDay& d : result.pec_lost) {
    auto it = ref.lost.find({std::string(d.entitlement_id), d.date.days - kFirst.days});
    ASSERT_NE(it, ref.lost.end()) << "seed " << seed << ": pec_lost day without lost lines";
    EXPECT_EQ(d.lost_bc, ToDecimal(it->second.first)) << "seed " << seed;
    EXPECT_EQ(d.lost_usd, ToDecimal(it->second.second)) << "seed " << seed;
    reported_days->insert({std::string(d.entitlement_id), d.date.days - kFirst.days});
  }
  // Every day that has a rated pec_lost line now was reported at some settle.
  for (auto& [day, amounts] : ref.lost) {
    EXPECT_TRUE(reported_days->count(day)) << "seed " << seed << ": pec_lost day never reported";
  }
}

void RunScenario(uint64_t seed) {
  Gen g(seed);
  Scenario s = RandomScenario(g);
  World w;
  ApplyAll(w, s);
  std::shared_ptr<const ReferenceSnapshot> snap = w.Build();
  int grant_counter = 100;

  MonthLedger ledger("c", kMonth);
  SettleResult result;
  std::vector<EventDef> events;
  std::map<StoredKey, Stored> stored;
  std::set<std::pair<std::string, int>> reported_days;

  // The changes since the ledger's snapshot: a Rebase must cover all of them.
  ReferenceChange since_ledger;
  const int steps = g.Int(1, 8);
  for (int step = 0; step < steps; ++step) {
    const int batch = g.Int(1, 10);
    for (int i = 0; i < batch; ++i) {
      EventDef e;
      e.ent = g.Pick(kEnts);
      e.meter = g.Pick(kMeters);
      e.res = g.Pick(ResourcesOf(e.ent));
      e.day = g.Int(0, 29);
      e.quantity = RandomQuantity(g);
      events.push_back(e);
      ledger.AddQuantity(LineKey{e.ent, e.meter, e.res, Date{kFirst.days + e.day}},
                         testing::Dec(e.quantity));
    }
    if (g.Chance(25)) {
      World change(snap);
      RandomChange(g, s, change, &grant_counter);
      ReferenceBuilder::Built built = change.BuildWithChange();
      const int mode = g.Int(0, 2);
      if (std::getenv("METERD_DIFF_SEED")) {
        std::cerr << "step " << step << " change mode " << mode << " entitlements:";
        for (auto& e : built.change.entitlement_ids) std::cerr << " " << e;
        std::cerr << " customers:";
        for (auto& c : built.change.customer_ids) std::cerr << " " << c;
        std::cerr << " prices " << built.change.price_keys.size() << " fx "
                  << built.change.fx.size() << "\n";
      }
      since_ledger.MergeFrom(built.change);
      switch (mode) {
        case 0:
          ledger.Rebase(built.snapshot, since_ledger, s.config);
          since_ledger = ReferenceChange();
          break;
        case 1:
          break;  // the next Settle, with a new snapshot, re-resolves everything
        default:
          ledger.RerateAll(built.snapshot, s.config, &result);
          since_ledger = ReferenceChange();
          Check(ledger, s, events, result, &stored, &reported_days, seed);
          break;
      }
      snap = built.snapshot;
    }
    if (g.Chance(70) || step + 1 == steps) {
      ledger.Settle(snap, s.config, &result);
      since_ledger = ReferenceChange();
      Check(ledger, s, events, result, &stored, &reported_days, seed);
      if (::testing::Test::HasFailure()) return;
    }
  }

  // Restart: a ledger loaded from the stored copy reports nothing and has the same totals.
  MonthLedger reloaded("c", kMonth);
  for (auto& [key, st] : stored) {
    auto& [ent, meter, res, day] = key;
    reloaded.LoadLine(LineKey{ent, meter, res, Date{kFirst.days + day}}, st.quantity, &st.rated);
  }
  reloaded.Settle(snap, s.config, &result);
  EXPECT_TRUE(result.changed.empty()) << "seed " << seed;
  EXPECT_EQ(reloaded.Totals().list, ledger.Totals().list) << "seed " << seed;
  EXPECT_EQ(reloaded.Totals().by_category, ledger.Totals().by_category) << "seed " << seed;

  // Moving an entitlement out re-allocates the rest like a ledger that never had it.
  if (g.Chance(30)) {
    const std::string gone = g.Pick(kEnts);
    std::vector<LineRecord> moved = ledger.RemoveEntitlement(gone);
    std::erase_if(events, [&](const EventDef& e) { return e.ent == gone; });
    std::erase_if(stored, [&](const auto& kv) { return std::get<0>(kv.first) == gone; });
    ledger.Settle(snap, s.config, &result);
    Check(ledger, s, events, result, &stored, &reported_days, seed);
  }
}

TEST(Differential, LedgerAgreesWithASlowReferenceRaterOnRandomScenarios) {
  // CPU time, not wall time: CI machines are often busy with other builds.
  const std::clock_t start = std::clock();
  constexpr int kScenarios = 3000;
  uint64_t first = 1, last = kScenarios;
  if (const char* only = std::getenv("METERD_DIFF_SEED")) first = last = std::stoull(only);
  for (uint64_t seed = first; seed <= last; ++seed) {
    RunScenario(seed);
    if (HasFailure()) {
      ADD_FAILURE() << "first failing seed " << seed;
      return;
    }
  }
  const double secs = static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
  EXPECT_LT(secs, 30.0);
  RecordProperty("scenarios", kScenarios);
}

}  // namespace
}  // namespace meterd::rating
