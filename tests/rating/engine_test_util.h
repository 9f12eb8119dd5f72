// Shared helpers for the reference / line rating / month ledger tests: terse constructors for
// decimals, dates and reference objects, and a fluent way to build a snapshot.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "rating/civil_time.h"
#include "rating/decimal.h"
#include "rating/line_rating.h"
#include "rating/month_ledger.h"
#include "rating/price_sheet.h"
#include "rating/reference.h"

namespace meterd::rating {
// Readable gtest output for ledger totals.
inline void PrintTo(const CategoryTotal& c, std::ostream* os) {
  *os << "{" << c.meter_category << ", " << c.list.ToString() << ", " << c.billed.ToString() << "}";
}
}  // namespace meterd::rating

namespace meterd::rating::testing {

inline Decimal Dec(std::string_view text) {
  Decimal d;
  EXPECT_EQ(Decimal::Parse(text, &d), DecimalError::kOk) << text;
  return d;
}

inline FxRate Fx(std::string_view text) {
  FxRate f;
  EXPECT_EQ(FxRate::Parse(text, &f), DecimalError::kOk) << text;
  return f;
}

inline Timestamp Ts(std::string_view rfc3339) {
  Timestamp t;
  EXPECT_TRUE(ParseRfc3339(rfc3339, &t)) << rfc3339;
  return t;
}

inline Date Day(std::string_view iso) {
  Date d;
  EXPECT_TRUE(ParseIsoDate(iso, &d)) << iso;
  return d;
}

inline Month Mon(std::string_view ym) {
  Month m;
  EXPECT_TRUE(ParseMonth(ym, &m)) << ym;
  return m;
}

struct TierSpec {
  std::string min;
  std::string price;
};

struct TableSpec {
  std::string market = "US";
  std::string meter_id;
  std::string start = "2026-01-01";
  std::optional<std::string> end;
  std::vector<TierSpec> tiers;
  std::string category = "Virtual Machines";
  std::string tags = "Azure";
  std::string publisher = "Microsoft";
  std::string currency = "USD";

  TableSpec& Start(std::string v) {
    start = std::move(v);
    return *this;
  }
  TableSpec& End(std::string v) {
    end = std::move(v);
    return *this;
  }
  TableSpec& Market(std::string v) {
    market = std::move(v);
    return *this;
  }
  TableSpec& Category(std::string v) {
    category = std::move(v);
    return *this;
  }
  TableSpec& Tags(std::string v) {
    tags = std::move(v);
    return *this;
  }
  TableSpec& Publisher(std::string v) {
    publisher = std::move(v);
    return *this;
  }
};

inline TableSpec Spec(std::string meter, std::vector<TierSpec> tiers) {
  TableSpec t;
  t.meter_id = std::move(meter);
  t.tiers = std::move(tiers);
  return t;
}

inline std::vector<PriceRow> RowsOf(const TableSpec& t, int first_line = 2) {
  std::vector<PriceRow> rows;
  for (const TierSpec& tier : t.tiers) {
    PriceRow r;
    r.line = first_line++;
    r.market = t.market;
    r.meter_id = t.meter_id;
    r.effective_start = Day(t.start);
    if (t.end) r.effective_end = Day(*t.end);
    r.unit_price = Dec(tier.price);
    r.tier_min = Dec(tier.min);
    r.currency = t.currency;
    r.meter_name = "meter " + t.meter_id;
    r.meter_category = t.category;
    r.unit_of_measure = "1 Hour";
    r.tags = t.tags;
    r.tag_flags = ParseTags(t.tags);
    r.publisher = t.publisher;
    rows.push_back(std::move(r));
  }
  return rows;
}

inline PriceSheet SheetOf(const std::vector<TableSpec>& tables) {
  PriceSheet sheet;
  int line = 2;
  for (const TableSpec& t : tables) {
    for (PriceRow& r : RowsOf(t, line)) sheet.rows.push_back(std::move(r));
    line += static_cast<int>(t.tiers.size());
  }
  return sheet;
}

// Fluent construction of a snapshot; every upsert must succeed.
class World {
 public:
  World() : builder_(std::make_shared<ReferenceBuilder>(ReferenceSnapshot::Empty())) {}
  explicit World(std::shared_ptr<const ReferenceSnapshot> base)
      : builder_(std::make_shared<ReferenceBuilder>(std::move(base))) {}

  World& Partner(std::string id, std::string mpn, bool active = true,
                 PartnerKind kind = PartnerKind::kDirect) {
    rating::Partner p;
    p.partner_id = std::move(id);
    p.name = "partner " + p.partner_id;
    p.mpn_id = std::move(mpn);
    p.kind = kind;
    p.mpn_active = active;
    Expect(builder_->UpsertPartner(std::move(p)));
    return *this;
  }
  World& Customer(std::string id, std::string country, std::string partner_id,
                  std::optional<std::string> reseller = std::nullopt,
                  std::optional<std::string> currency = std::nullopt) {
    rating::Customer c;
    c.customer_id = std::move(id);
    c.name = "customer " + c.customer_id;
    c.country = std::move(country);
    c.partner_id = std::move(partner_id);
    c.reseller_mpn_id = std::move(reseller);
    c.currency = std::move(currency);
    Expect(builder_->UpsertCustomer(std::move(c)));
    return *this;
  }
  World& Entitlement(std::string id, std::string customer_id, Offer offer = Offer::kAzurePlan,
                     bool aobo = true, std::string created_at = "2026-01-01T00:00:00Z") {
    rating::Entitlement e;
    e.entitlement_id = std::move(id);
    e.customer_id = std::move(customer_id);
    e.description = "subscription";
    e.offer = offer;
    e.created_at = Ts(created_at);
    e.aobo = aobo;
    Expect(builder_->UpsertEntitlement(std::move(e)));
    return *this;
  }
  World& Grant(std::string id, std::string entitlement_id, std::string scope, std::string principal,
               std::string role, std::string start, std::optional<std::string> end = std::nullopt) {
    Expect(
        builder_->UpsertGrant(MakeGrant(std::move(id), std::move(entitlement_id), std::move(scope),
                                        std::move(principal), std::move(role), start, end)));
    return *this;
  }
  World& Table(TableSpec spec) {
    PriceUploadResult r = builder_->ApplyPriceUpload(SheetOf({spec}));
    EXPECT_EQ(r.rejected, 0) << (r.errors.empty() ? "" : r.errors.front().detail);
    return *this;
  }
  World& FlatPrice(std::string meter, std::string price, std::string market = "US",
                   std::string category = "Virtual Machines") {
    TableSpec t;
    t.market = std::move(market);
    t.meter_id = std::move(meter);
    t.tiers = {{"0", std::move(price)}};
    t.category = std::move(category);
    return Table(std::move(t));
  }
  World& Rate(std::string currency, std::string month, std::string rate) {
    Expect(builder_->UpsertFx(currency, Mon(month), Fx(rate)));
    return *this;
  }
  ReferenceBuilder& builder() { return *builder_; }

  ReferenceBuilder::Built BuildWithChange() { return std::move(*builder_).Build(); }
  std::shared_ptr<const ReferenceSnapshot> Build() { return BuildWithChange().snapshot; }

  static rating::Grant MakeGrant(std::string id, std::string entitlement_id, std::string scope,
                                 std::string principal, std::string role, std::string_view start,
                                 std::optional<std::string> end) {
    rating::Grant g;
    g.grant_id = std::move(id);
    g.entitlement_id = std::move(entitlement_id);
    g.scope = std::move(scope);
    g.principal_mpn_id = std::move(principal);
    g.role = std::move(role);
    g.start = Ts(start);
    if (end) g.end = Ts(*end);
    return g;
  }

 private:
  static void Expect(const Status& s) { EXPECT_TRUE(s.ok()) << s.ToString(); }
  std::shared_ptr<ReferenceBuilder> builder_;  // shared: copies of a World are handles to it
};

}  // namespace meterd::rating::testing
