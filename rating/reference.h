// Reference data (partners, resellers, customers, entitlements, grants, price tables, FX) as an
// immutable, versioned snapshot, and the builder that applies upserts to produce the next one.
// A ReferenceSnapshot is never mutated after Build(): share it freely across threads through
// std::shared_ptr<const ReferenceSnapshot>. A ReferenceBuilder is a single-threaded value.
// Ids are stored ASCII-lowercased, country and currency codes uppercased (domain.md §2).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "rating/civil_time.h"
#include "rating/decimal.h"

namespace meterd::rating {

struct PriceSheet;  // rating/price_sheet.h

// ASCII-only case folding (§8.2): ids are compared and returned lowercased; codes uppercased.
std::string LowercaseAscii(std::string_view s);
std::string UppercaseAscii(std::string_view s);

enum class PartnerKind { kDirect, kIndirectProvider };
enum class Offer { kAzurePlan, kLegacy, kSharedServices };

// Wire names: "direct", "indirect_provider"; "azure_plan", "legacy", "shared_services".
// Parsing is case-sensitive, as the API spells them.
std::optional<PartnerKind> PartnerKindFromName(std::string_view name);
std::string_view PartnerKindName(PartnerKind kind);
std::optional<Offer> OfferFromName(std::string_view name);
std::string_view OfferName(Offer offer);

struct Partner {
  std::string partner_id;
  std::string name;
  std::string mpn_id;
  PartnerKind kind = PartnerKind::kDirect;
  bool mpn_active = true;
  friend bool operator==(const Partner&, const Partner&) = default;
};

struct Reseller {
  std::string mpn_id;
  std::string name;
  std::string partner_id;  // its indirect provider
  friend bool operator==(const Reseller&, const Reseller&) = default;
};

struct Customer {
  std::string customer_id;
  std::string name;
  std::string domain;
  std::string country;  // ISO 3166 alpha-2, the pricing market
  std::string partner_id;
  std::optional<std::string> reseller_mpn_id;
  std::optional<std::string> currency;  // override of the country's currency
  friend bool operator==(const Customer&, const Customer&) = default;
};

struct Entitlement {
  std::string entitlement_id;
  std::string customer_id;
  std::string description;
  Offer offer = Offer::kAzurePlan;
  Timestamp created_at;
  bool aobo = true;
  friend bool operator==(const Entitlement&, const Entitlement&) = default;
};

// An access grant. The implied AOBO grant of an entitlement has grant_id "aobo:{entitlement_id}",
// role "owner", scope "/subscriptions/{entitlement_id}" and the partner's MPN as principal.
struct Grant {
  std::string grant_id;
  std::string entitlement_id;
  std::string scope;  // stored lowercased, without empty segments or trailing slash
  std::string principal_mpn_id;
  std::string role;  // stored lowercased
  Timestamp start;
  std::optional<Timestamp> end;  // exclusive
  friend bool operator==(const Grant&, const Grant&) = default;
};

inline constexpr std::string_view kAoboGrantPrefix = "aobo:";

// One tier of a tier table: prices cumulative quantity in [min, next tier's min).
struct Tier {
  Decimal min;
  Decimal unit_price;  // USD
};

// The rows of one (market, meter, effective_start), as rating needs them.
struct TierTable {
  std::string market;    // uppercase country code
  std::string meter_id;  // lowercase
  Date effective_start;
  std::optional<Date> effective_end;  // inclusive; nullopt = open
  std::vector<Tier> tiers;            // ascending min; tiers[0].min == 0; never empty
  std::string meter_name;             // of the lowest tier
  std::string meter_category;         // of the lowest tier (§8.19)
  std::string unit_of_measure;
  // §4.3 rule 2 / §8.10: no row tagged "Third Party" or "Reservations" and publisher Microsoft.
  bool pec_eligible_product = false;
  bool single_tier() const { return tiers.size() == 1; }
};

struct FxLookup {
  FxRate rate;
  Month month;       // the month whose rate is used
  bool provisional;  // month earlier than the usage month (§4.4 Decision)
};

// Rating knobs from the daemon's configuration.
struct RatingConfig {
  Decimal pec_rate = Decimal::FromNanos(150'000'000);                  // 0.15
  std::vector<std::string> eligible_roles = {"owner", "contributor"};  // compared lowercased
  // Case-insensitive membership test.
  bool IsEligibleRole(std::string_view role) const;
};

// What a Build() changed, so the daemon re-rates only affected lines (a line is affected when
// its customer, entitlement, (market, meter) or billing currency is listed).
struct ReferenceChange {
  struct PriceKey {
    std::string market;
    std::string meter_id;
    friend auto operator<=>(const PriceKey&, const PriceKey&) = default;
  };
  struct FxKey {
    std::string currency;
    Month from;  // lines of this currency in this month or later may rate differently
    friend auto operator<=>(const FxKey&, const FxKey&) = default;
  };
  // Each list is sorted and free of duplicates.
  std::vector<std::string> customer_ids;     // incl. customers of changed partners/resellers
  std::vector<std::string> entitlement_ids;  // incl. entitlements of changed grants
  std::vector<PriceKey> price_keys;
  std::vector<FxKey> fx;

  bool empty() const {
    return customer_ids.empty() && entitlement_ids.empty() && price_keys.empty() && fx.empty();
  }
  // Adds another change (e.g. of a later Build) so one Rebase covers both.
  void MergeFrom(const ReferenceChange& other);
  bool AffectsCustomer(std::string_view customer_id) const;
  bool AffectsEntitlement(std::string_view entitlement_id) const;
  bool AffectsPrice(std::string_view market, std::string_view meter_id) const;
  bool AffectsFx(std::string_view currency, Month month) const;
};

class ReferenceBuilder;

class ReferenceSnapshot {
 public:
  // An empty snapshot of version 0.
  static std::shared_ptr<const ReferenceSnapshot> Empty();

  ~ReferenceSnapshot();
  ReferenceSnapshot(const ReferenceSnapshot&) = delete;
  ReferenceSnapshot& operator=(const ReferenceSnapshot&) = delete;

  // Increases by one with every Build().
  uint64_t version() const { return version_; }

  // Lookups take ids in any case. Returned pointers live as long as the snapshot.
  const Partner* FindPartner(std::string_view partner_id) const;
  const Reseller* FindReseller(std::string_view mpn_id) const;
  const Customer* FindCustomer(std::string_view customer_id) const;
  const Entitlement* FindEntitlement(std::string_view entitlement_id) const;
  // Explicit grants and "aobo:{id}" (the implied grant, when there is one).
  std::optional<Grant> FindGrant(std::string_view grant_id) const;

  // The customer's currency override, else its country's currency (upsert guarantees one).
  std::string_view BillingCurrency(const Customer& customer) const;

  // The tier table for (market, meter) applicable on `date`: among the versions whose
  // [effective_start, effective_end] contains the date, the latest effective_start. nullptr
  // when none applies.
  const TierTable* FindTierTable(std::string_view market, std::string_view meter_id,
                                 Date date) const;

  // FX for (currency, month): the month's rate, else the latest earlier month's (provisional).
  // USD is always exactly 1, not provisional. nullopt when no rate exists at or before `month`.
  std::optional<FxLookup> FindFx(std::string_view currency, Month month) const;

  // The explicit grants of an entitlement (sorted by grant id), without the implied one.
  std::span<const Grant> ExplicitGrantsOf(std::string_view entitlement_id) const;
  // The implied AOBO grant of an entitlement (§4.3 Decision), if any: azure_plan with aobo true.
  // Its principal is the customer's partner's MPN ID (empty while the partner is unknown).
  std::optional<Grant> ImpliedGrantOf(std::string_view entitlement_id) const;
  // All grants of an entitlement: explicit ones, then the implied one.
  std::vector<Grant> GrantsOf(std::string_view entitlement_id) const;
  // The validity window of the implied grant, without building the Grant (rating hot path).
  struct ImpliedGrantWindow {
    Timestamp start;
    std::optional<Timestamp> end;
  };
  std::optional<ImpliedGrantWindow> ImpliedGrantWindowOf(std::string_view entitlement_id) const;

  // Sorted enumeration (by id) for listings.
  std::vector<const Customer*> Customers() const;
  std::vector<const Partner*> Partners() const;
  std::vector<const Entitlement*> EntitlementsOf(std::string_view customer_id) const;

  struct Data;  // defined in reference.cc

 private:
  friend class ReferenceBuilder;
  ReferenceSnapshot(uint64_t version, std::unique_ptr<const Data> data);

  uint64_t version_ = 0;
  std::unique_ptr<const Data> data_;
};

struct PriceUploadError {
  int line = 0;
  // A PriceRowErrorName for rows the parser rejected; "invalid_table" for rows of a table that
  // failed ValidateTierTable; "table_rejected" for rows rejected with a bad row of their table.
  std::string error;
  std::string detail;
};

struct PriceUploadResult {
  int upserted = 0;                      // rows
  int rejected = 0;                      // rows
  std::vector<PriceUploadError> errors;  // one per rejected row, in line order
};

// Applies upserts to a copy of a snapshot. Each Upsert returns OK or an InvalidArgument status
// whose message says why the object was rejected (nothing is changed then). Objects may refer
// to objects not (yet) known (§8.7).
class ReferenceBuilder {
 public:
  // `base` may be null: start from the empty snapshot.
  explicit ReferenceBuilder(std::shared_ptr<const ReferenceSnapshot> base);
  ~ReferenceBuilder();
  ReferenceBuilder(ReferenceBuilder&&) noexcept;
  ReferenceBuilder& operator=(ReferenceBuilder&&) noexcept;

  Status UpsertPartner(Partner partner);
  Status UpsertReseller(Reseller reseller);
  // Rejects a customer whose country has no currency in the market table, or whose override
  // is not a known currency code.
  Status UpsertCustomer(Customer customer);
  Status UpsertEntitlement(Entitlement entitlement);
  // Rejects scope not under /subscriptions/{entitlement_id} and end <= start. For the implied
  // record "aobo:{entitlement_id}" only `end` is taken (no end clears it, §8.23); it is accepted
  // and ignored while the entitlement has no implied grant.
  Status UpsertGrant(Grant grant);
  // A whole price sheet upload (§3, §8.22): rows are grouped into tier tables; a table is
  // rejected whole when any of its rows is bad or when the table as merged with what is stored
  // fails ValidateTierTable. The other tables apply.
  PriceUploadResult ApplyPriceUpload(const PriceSheet& sheet);
  // Rate for (currency, month), > 0. USD is accepted and ignored (§8.9).
  Status UpsertFx(std::string_view currency, Month month, FxRate rate);
  // The same from decimal text (a JSON number's or string's text): at most 12 fractional
  // digits, judged on the value (§4.5).
  Status UpsertFx(std::string_view currency, Month month, std::string_view rate_text);

  struct Built {
    std::shared_ptr<const ReferenceSnapshot> snapshot;
    ReferenceChange change;
  };
  // The next snapshot (version = base version + 1) and what changed relative to the base.
  Built Build() &&;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace meterd::rating
