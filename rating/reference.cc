#include "rating/reference.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <set>
#include <utility>

#include "rating/markets.h"
#include "rating/price_sheet.h"

namespace meterd::rating {
namespace {

char LowerChar(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
char UpperChar(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (LowerChar(a[i]) != LowerChar(b[i])) return false;
  }
  return true;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Path segments of a scope or resource id, skipping empty ones (§8.11).
std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string NormalizeScope(std::string_view scope) {
  std::string out;
  for (std::string_view seg : Segments(scope)) {
    out.push_back('/');
    out += LowercaseAscii(seg);
  }
  return out;
}

// Copy-on-write holder: readers share one immutable value; the first mutation in a builder
// clones it, so a Build() copies only the parts of the reference data that changed.
template <typename T>
class Cow {
 public:
  Cow() : shared_(std::make_shared<const T>()) {}
  explicit Cow(std::shared_ptr<const T> shared) : shared_(std::move(shared)) {}
  const T& get() const { return owned_ ? *owned_ : *shared_; }
  T& mut() {
    if (!owned_) owned_ = std::make_shared<T>(*shared_);
    return *owned_;
  }
  std::shared_ptr<const T> Freeze() const { return owned_ ? owned_ : shared_; }

 private:
  std::shared_ptr<const T> shared_;
  std::shared_ptr<T> owned_;
};

}  // namespace

std::string LowercaseAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = LowerChar(c);
  return out;
}

std::string UppercaseAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = UpperChar(c);
  return out;
}

std::optional<PartnerKind> PartnerKindFromName(std::string_view name) {
  if (name == "direct") return PartnerKind::kDirect;
  if (name == "indirect_provider") return PartnerKind::kIndirectProvider;
  return std::nullopt;
}

std::string_view PartnerKindName(PartnerKind kind) {
  return kind == PartnerKind::kDirect ? "direct" : "indirect_provider";
}

std::optional<Offer> OfferFromName(std::string_view name) {
  if (name == "azure_plan") return Offer::kAzurePlan;
  if (name == "legacy") return Offer::kLegacy;
  if (name == "shared_services") return Offer::kSharedServices;
  return std::nullopt;
}

std::string_view OfferName(Offer offer) {
  switch (offer) {
    case Offer::kAzurePlan:
      return "azure_plan";
    case Offer::kLegacy:
      return "legacy";
    case Offer::kSharedServices:
      return "shared_services";
  }
  return "azure_plan";
}

bool RatingConfig::IsEligibleRole(std::string_view role) const {
  for (const std::string& r : eligible_roles) {
    if (EqualsIgnoreCase(r, role)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// ReferenceChange

namespace {
template <typename T>
void MergeSorted(std::vector<T>* into, const std::vector<T>& from) {
  std::vector<T> out;
  out.reserve(into->size() + from.size());
  std::set_union(into->begin(), into->end(), from.begin(), from.end(), std::back_inserter(out));
  *into = std::move(out);
}
}  // namespace

void ReferenceChange::MergeFrom(const ReferenceChange& other) {
  MergeSorted(&customer_ids, other.customer_ids);
  MergeSorted(&entitlement_ids, other.entitlement_ids);
  MergeSorted(&price_keys, other.price_keys);
  for (const FxKey& k : other.fx) {
    auto it = std::find_if(fx.begin(), fx.end(),
                           [&](const FxKey& x) { return x.currency == k.currency; });
    if (it == fx.end()) {
      fx.push_back(k);
    } else if (k.from < it->from) {
      it->from = k.from;
    }
  }
  std::sort(fx.begin(), fx.end());
}

bool ReferenceChange::AffectsCustomer(std::string_view customer_id) const {
  auto it = std::lower_bound(customer_ids.begin(), customer_ids.end(), customer_id,
                             [](const std::string& a, std::string_view b) { return a < b; });
  return it != customer_ids.end() && *it == customer_id;
}

bool ReferenceChange::AffectsEntitlement(std::string_view entitlement_id) const {
  auto it = std::lower_bound(entitlement_ids.begin(), entitlement_ids.end(), entitlement_id,
                             [](const std::string& a, std::string_view b) { return a < b; });
  return it != entitlement_ids.end() && *it == entitlement_id;
}

bool ReferenceChange::AffectsPrice(std::string_view market, std::string_view meter_id) const {
  for (const PriceKey& k : price_keys) {
    if (k.market == market && k.meter_id == meter_id) return true;
  }
  return false;
}

bool ReferenceChange::AffectsFx(std::string_view currency, Month month) const {
  for (const FxKey& k : fx) {
    if (k.currency == currency && month >= k.from) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Snapshot data

namespace {

struct CustomerRecord {
  Customer customer;
  std::string billing_currency;
};

struct EntitlementRecord {
  Entitlement entitlement;
  std::optional<Timestamp> aobo_end;  // end recorded by PUT /v1/grants/aobo:{id}
  bool HasImpliedGrant() const {
    return entitlement.offer == Offer::kAzurePlan && entitlement.aobo;
  }
};

struct GrantIndex {
  std::map<std::string, Grant, std::less<>> by_id;
  std::map<std::string, std::vector<Grant>, std::less<>> by_entitlement;  // sorted by id
};

// One stored version of a (market, meter) price table: the merged rows as uploaded (for the
// §8.22 checks of later uploads) and the table rating uses. Shared by every snapshot until it
// changes, so TierTable pointers stay valid across unrelated reference changes.
struct PriceTableRecord {
  TierTable table;
  std::vector<PriceRow> rows;  // sorted by tier_min
};

using PriceVersions = std::vector<std::shared_ptr<const PriceTableRecord>>;  // by start
using MeterPrices = std::map<std::string, PriceVersions, std::less<>>;
using PriceIndex = std::map<std::string, MeterPrices, std::less<>>;  // market → meter → versions
using FxIndex = std::map<std::string, std::map<int32_t, FxRate>, std::less<>>;

using PartnerMap = std::map<std::string, Partner, std::less<>>;
using ResellerMap = std::map<std::string, Reseller, std::less<>>;
using CustomerMap = std::map<std::string, CustomerRecord, std::less<>>;
using EntitlementMap = std::map<std::string, EntitlementRecord, std::less<>>;

}  // namespace

struct ReferenceSnapshot::Data {
  std::shared_ptr<const PartnerMap> partners = std::make_shared<const PartnerMap>();
  std::shared_ptr<const ResellerMap> resellers = std::make_shared<const ResellerMap>();
  std::shared_ptr<const CustomerMap> customers = std::make_shared<const CustomerMap>();
  std::shared_ptr<const EntitlementMap> entitlements = std::make_shared<const EntitlementMap>();
  std::shared_ptr<const GrantIndex> grants = std::make_shared<const GrantIndex>();
  std::shared_ptr<const PriceIndex> prices = std::make_shared<const PriceIndex>();
  std::shared_ptr<const FxIndex> fx = std::make_shared<const FxIndex>();
};

ReferenceSnapshot::ReferenceSnapshot(uint64_t version, std::unique_ptr<const Data> data)
    : version_(version), data_(std::move(data)) {}

ReferenceSnapshot::~ReferenceSnapshot() = default;

std::shared_ptr<const ReferenceSnapshot> ReferenceSnapshot::Empty() {
  return std::shared_ptr<const ReferenceSnapshot>(
      new ReferenceSnapshot(0, std::make_unique<const Data>()));
}

namespace {

// Lookups accept ids in any case; the common case (already lowercase) does not allocate.
bool IsLowerAscii(std::string_view s) {
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') return false;
  }
  return true;
}

template <typename Map>
const typename Map::mapped_type* FindLower(const Map& map, std::string_view key) {
  if (IsLowerAscii(key)) {
    auto it = map.find(key);
    return it == map.end() ? nullptr : &it->second;
  }
  auto it = map.find(LowercaseAscii(key));
  return it == map.end() ? nullptr : &it->second;
}

}  // namespace

const Partner* ReferenceSnapshot::FindPartner(std::string_view partner_id) const {
  return FindLower(*data_->partners, partner_id);
}

const Reseller* ReferenceSnapshot::FindReseller(std::string_view mpn_id) const {
  return FindLower(*data_->resellers, mpn_id);
}

const Customer* ReferenceSnapshot::FindCustomer(std::string_view customer_id) const {
  const CustomerRecord* rec = FindLower(*data_->customers, customer_id);
  return rec ? &rec->customer : nullptr;
}

const Entitlement* ReferenceSnapshot::FindEntitlement(std::string_view entitlement_id) const {
  const EntitlementRecord* rec = FindLower(*data_->entitlements, entitlement_id);
  return rec ? &rec->entitlement : nullptr;
}

std::optional<Grant> ReferenceSnapshot::FindGrant(std::string_view grant_id) const {
  std::string id = LowercaseAscii(grant_id);
  if (id.starts_with(kAoboGrantPrefix)) {
    return ImpliedGrantOf(std::string_view(id).substr(kAoboGrantPrefix.size()));
  }
  auto it = data_->grants->by_id.find(id);
  if (it == data_->grants->by_id.end()) return std::nullopt;
  return it->second;
}

std::string_view ReferenceSnapshot::BillingCurrency(const Customer& customer) const {
  const CustomerRecord* rec = FindLower(*data_->customers, customer.customer_id);
  if (rec != nullptr && rec->customer == customer) return rec->billing_currency;
  // A customer value not (or no longer) stored in this snapshot: derive it the same way.
  if (customer.currency.has_value()) return *customer.currency;
  std::optional<std::string_view> c = CurrencyForCountry(customer.country);
  return c.value_or(std::string_view());
}

const TierTable* ReferenceSnapshot::FindTierTable(std::string_view market,
                                                  std::string_view meter_id, Date date) const {
  const PriceIndex& prices = *data_->prices;
  auto m = IsLowerAscii(market) ? prices.find(market) : prices.end();
  if (m == prices.end()) m = prices.find(UppercaseAscii(market));
  if (m == prices.end()) return nullptr;
  const PriceVersions* versions = FindLower(m->second, meter_id);
  if (versions == nullptr) return nullptr;
  // Latest effective_start first (§3 Decision).
  for (auto it = versions->rbegin(); it != versions->rend(); ++it) {
    const TierTable& t = (*it)->table;
    if (t.effective_start > date) continue;
    if (t.effective_end.has_value() && *t.effective_end < date) continue;
    return &t;
  }
  return nullptr;
}

std::optional<FxLookup> ReferenceSnapshot::FindFx(std::string_view currency, Month month) const {
  if (EqualsIgnoreCase(currency, "USD")) return FxLookup{FxRate::One(), month, false};
  const FxIndex& fx = *data_->fx;
  auto c = fx.find(currency);
  if (c == fx.end()) c = fx.find(UppercaseAscii(currency));
  if (c == fx.end()) return std::nullopt;
  auto it = c->second.upper_bound(month.index);
  if (it == c->second.begin()) return std::nullopt;
  --it;
  return FxLookup{it->second, Month{it->first}, it->first != month.index};
}

std::span<const Grant> ReferenceSnapshot::ExplicitGrantsOf(std::string_view entitlement_id) const {
  const std::vector<Grant>* grants = FindLower(data_->grants->by_entitlement, entitlement_id);
  if (grants == nullptr) return {};
  return *grants;
}

std::optional<Grant> ReferenceSnapshot::ImpliedGrantOf(std::string_view entitlement_id) const {
  const EntitlementRecord* rec = FindLower(*data_->entitlements, entitlement_id);
  if (rec == nullptr || !rec->HasImpliedGrant()) return std::nullopt;
  const Entitlement& e = rec->entitlement;
  Grant g;
  g.grant_id = std::string(kAoboGrantPrefix) + e.entitlement_id;
  g.entitlement_id = e.entitlement_id;
  g.scope = "/subscriptions/" + e.entitlement_id;
  if (const Customer* c = FindCustomer(e.customer_id)) {
    if (const Partner* p = FindPartner(c->partner_id)) g.principal_mpn_id = p->mpn_id;
  }
  g.role = "owner";
  g.start = e.created_at;
  g.end = rec->aobo_end;
  return g;
}

std::optional<ReferenceSnapshot::ImpliedGrantWindow> ReferenceSnapshot::ImpliedGrantWindowOf(
    std::string_view entitlement_id) const {
  const EntitlementRecord* rec = FindLower(*data_->entitlements, entitlement_id);
  if (rec == nullptr || !rec->HasImpliedGrant()) return std::nullopt;
  return ImpliedGrantWindow{rec->entitlement.created_at, rec->aobo_end};
}

std::vector<Grant> ReferenceSnapshot::GrantsOf(std::string_view entitlement_id) const {
  std::span<const Grant> explicit_grants = ExplicitGrantsOf(entitlement_id);
  std::vector<Grant> out(explicit_grants.begin(), explicit_grants.end());
  if (std::optional<Grant> implied = ImpliedGrantOf(entitlement_id)) {
    out.push_back(std::move(*implied));
  }
  return out;
}

std::vector<const Customer*> ReferenceSnapshot::Customers() const {
  std::vector<const Customer*> out;
  out.reserve(data_->customers->size());
  for (const auto& [id, rec] : *data_->customers) out.push_back(&rec.customer);
  return out;
}

std::vector<const Partner*> ReferenceSnapshot::Partners() const {
  std::vector<const Partner*> out;
  out.reserve(data_->partners->size());
  for (const auto& [id, p] : *data_->partners) out.push_back(&p);
  return out;
}

std::vector<const Entitlement*> ReferenceSnapshot::EntitlementsOf(
    std::string_view customer_id) const {
  std::string id = LowercaseAscii(customer_id);
  std::vector<const Entitlement*> out;
  for (const auto& [eid, rec] : *data_->entitlements) {
    if (rec.entitlement.customer_id == id) out.push_back(&rec.entitlement);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Builder

struct ReferenceBuilder::State {
  uint64_t base_version = 0;
  Cow<PartnerMap> partners;
  Cow<ResellerMap> resellers;
  Cow<CustomerMap> customers;
  Cow<EntitlementMap> entitlements;
  Cow<GrantIndex> grants;
  Cow<PriceIndex> prices;
  Cow<FxIndex> fx;

  std::set<std::string> changed_partners;
  std::set<std::string> changed_resellers;
  std::set<std::string> changed_customers;
  std::set<std::string> changed_entitlements;
  std::set<ReferenceChange::PriceKey> changed_prices;
  std::map<std::string, Month> changed_fx;  // currency → earliest month
};

ReferenceBuilder::ReferenceBuilder(std::shared_ptr<const ReferenceSnapshot> base)
    : state_(std::make_unique<State>()) {
  if (base == nullptr) return;
  const ReferenceSnapshot::Data& d = *base->data_;
  state_->base_version = base->version();
  state_->partners = Cow<PartnerMap>(d.partners);
  state_->resellers = Cow<ResellerMap>(d.resellers);
  state_->customers = Cow<CustomerMap>(d.customers);
  state_->entitlements = Cow<EntitlementMap>(d.entitlements);
  state_->grants = Cow<GrantIndex>(d.grants);
  state_->prices = Cow<PriceIndex>(d.prices);
  state_->fx = Cow<FxIndex>(d.fx);
}

ReferenceBuilder::~ReferenceBuilder() = default;
ReferenceBuilder::ReferenceBuilder(ReferenceBuilder&&) noexcept = default;
ReferenceBuilder& ReferenceBuilder::operator=(ReferenceBuilder&&) noexcept = default;

namespace {

Status Invalid(std::string message) { return Status::InvalidArgument(std::move(message)); }

Status RequireId(std::string_view what, const std::string& value) {
  if (value.empty()) return Invalid(std::string(what) + " is required");
  return Status::Ok();
}

std::optional<std::string> NormalizedOptional(const std::optional<std::string>& v, bool upper) {
  if (!v.has_value() || v->empty()) return std::nullopt;
  return upper ? UppercaseAscii(*v) : LowercaseAscii(*v);
}

}  // namespace

Status ReferenceBuilder::UpsertPartner(Partner partner) {
  partner.partner_id = LowercaseAscii(partner.partner_id);
  partner.mpn_id = LowercaseAscii(partner.mpn_id);
  METERD_RETURN_IF_ERROR(RequireId("partner_id", partner.partner_id));
  const PartnerMap& cur = state_->partners.get();
  auto it = cur.find(partner.partner_id);
  if (it != cur.end() && it->second == partner) return Status::Ok();
  state_->changed_partners.insert(partner.partner_id);
  state_->partners.mut()[partner.partner_id] = std::move(partner);
  return Status::Ok();
}

Status ReferenceBuilder::UpsertReseller(Reseller reseller) {
  reseller.mpn_id = LowercaseAscii(reseller.mpn_id);
  reseller.partner_id = LowercaseAscii(reseller.partner_id);
  METERD_RETURN_IF_ERROR(RequireId("mpn_id", reseller.mpn_id));
  const ResellerMap& cur = state_->resellers.get();
  auto it = cur.find(reseller.mpn_id);
  if (it != cur.end() && it->second == reseller) return Status::Ok();
  state_->changed_resellers.insert(reseller.mpn_id);
  state_->resellers.mut()[reseller.mpn_id] = std::move(reseller);
  return Status::Ok();
}

Status ReferenceBuilder::UpsertCustomer(Customer customer) {
  customer.customer_id = LowercaseAscii(customer.customer_id);
  customer.partner_id = LowercaseAscii(customer.partner_id);
  customer.country = UppercaseAscii(customer.country);
  customer.reseller_mpn_id = NormalizedOptional(customer.reseller_mpn_id, /*upper=*/false);
  customer.currency = NormalizedOptional(customer.currency, /*upper=*/true);
  METERD_RETURN_IF_ERROR(RequireId("customer_id", customer.customer_id));
  std::optional<std::string_view> country_currency = CurrencyForCountry(customer.country);
  if (!country_currency.has_value()) {
    return Invalid("customer " + customer.customer_id + ": unknown country '" + customer.country +
                   "' (not in the market table)");
  }
  std::string billing(country_currency->begin(), country_currency->end());
  if (customer.currency.has_value()) {
    if (customer.currency->size() != 3 || !MinorUnits(*customer.currency).has_value()) {
      return Invalid("customer " + customer.customer_id + ": unknown currency '" +
                     *customer.currency + "'");
    }
    billing = *customer.currency;
  }
  const CustomerMap& cur = state_->customers.get();
  auto it = cur.find(customer.customer_id);
  if (it != cur.end() && it->second.customer == customer) return Status::Ok();
  state_->changed_customers.insert(customer.customer_id);
  std::string id = customer.customer_id;
  state_->customers.mut()[id] = CustomerRecord{std::move(customer), std::move(billing)};
  return Status::Ok();
}

Status ReferenceBuilder::UpsertEntitlement(Entitlement entitlement) {
  entitlement.entitlement_id = LowercaseAscii(entitlement.entitlement_id);
  entitlement.customer_id = LowercaseAscii(entitlement.customer_id);
  METERD_RETURN_IF_ERROR(RequireId("entitlement_id", entitlement.entitlement_id));
  METERD_RETURN_IF_ERROR(RequireId("customer_id", entitlement.customer_id));
  const EntitlementMap& cur = state_->entitlements.get();
  auto it = cur.find(entitlement.entitlement_id);
  EntitlementRecord rec;
  if (it != cur.end()) {
    if (it->second.entitlement == entitlement) return Status::Ok();
    rec = it->second;
  }
  rec.entitlement = std::move(entitlement);
  // Re-putting with aobo false (or another offer) removes the implied grant altogether, with
  // its recorded end (§4.3 Decision).
  if (!rec.HasImpliedGrant()) rec.aobo_end.reset();
  state_->changed_entitlements.insert(rec.entitlement.entitlement_id);
  std::string id = rec.entitlement.entitlement_id;
  state_->entitlements.mut()[id] = std::move(rec);
  return Status::Ok();
}

Status ReferenceBuilder::UpsertGrant(Grant grant) {
  grant.grant_id = LowercaseAscii(grant.grant_id);
  METERD_RETURN_IF_ERROR(RequireId("grant_id", grant.grant_id));
  if (grant.grant_id.starts_with(kAoboGrantPrefix)) {
    std::string ent_id = grant.grant_id.substr(kAoboGrantPrefix.size());
    const EntitlementMap& cur = state_->entitlements.get();
    auto it = cur.find(ent_id);
    // Accepted and ignored while there is no implied grant (§8.23).
    if (it == cur.end() || !it->second.HasImpliedGrant()) return Status::Ok();
    if (it->second.aobo_end == grant.end) return Status::Ok();
    state_->entitlements.mut()[ent_id].aobo_end = grant.end;
    state_->changed_entitlements.insert(ent_id);
    return Status::Ok();
  }
  grant.entitlement_id = LowercaseAscii(grant.entitlement_id);
  grant.principal_mpn_id = LowercaseAscii(grant.principal_mpn_id);
  grant.role = LowercaseAscii(grant.role);
  grant.scope = NormalizeScope(grant.scope);
  METERD_RETURN_IF_ERROR(RequireId("entitlement_id", grant.entitlement_id));
  METERD_RETURN_IF_ERROR(RequireId("principal_mpn_id", grant.principal_mpn_id));
  METERD_RETURN_IF_ERROR(RequireId("role", grant.role));
  std::vector<std::string_view> segs = Segments(grant.scope);
  if (segs.size() < 2 || segs[0] != "subscriptions" || segs[1] != grant.entitlement_id) {
    return Invalid("grant " + grant.grant_id + ": scope '" + grant.scope +
                   "' is not under /subscriptions/" + grant.entitlement_id);
  }
  if (grant.end.has_value() && *grant.end <= grant.start) {
    return Invalid("grant " + grant.grant_id + ": end must be after start");
  }
  const GrantIndex& cur = state_->grants.get();
  auto it = cur.by_id.find(grant.grant_id);
  if (it != cur.by_id.end() && it->second == grant) return Status::Ok();
  GrantIndex& idx = state_->grants.mut();
  if (it != cur.by_id.end()) {
    const std::string old_ent = it->second.entitlement_id;
    state_->changed_entitlements.insert(old_ent);
    std::vector<Grant>& list = idx.by_entitlement[old_ent];
    std::erase_if(list, [&](const Grant& g) { return g.grant_id == grant.grant_id; });
    if (list.empty()) idx.by_entitlement.erase(old_ent);
  }
  state_->changed_entitlements.insert(grant.entitlement_id);
  std::vector<Grant>& list = idx.by_entitlement[grant.entitlement_id];
  auto pos =
      std::lower_bound(list.begin(), list.end(), grant.grant_id,
                       [](const Grant& g, const std::string& id) { return g.grant_id < id; });
  list.insert(pos, grant);
  std::string id = grant.grant_id;
  idx.by_id[id] = std::move(grant);
  return Status::Ok();
}

Status ReferenceBuilder::UpsertFx(std::string_view currency, Month month, FxRate rate) {
  std::string code = UppercaseAscii(TrimSpaces(currency));
  if (code.size() != 3) return Invalid("fx: bad currency code '" + code + "'");
  if (code == "USD") return Status::Ok();  // §8.9: USD lines always use fx = 1
  if (rate.picos() <= 0) return Invalid("fx: rate for " + code + " must be positive");
  const FxIndex& cur = state_->fx.get();
  auto c = cur.find(code);
  if (c != cur.end()) {
    auto m = c->second.find(month.index);
    if (m != c->second.end() && m->second == rate) return Status::Ok();
  }
  state_->fx.mut()[code][month.index] = rate;
  auto [it, inserted] = state_->changed_fx.emplace(code, month);
  if (!inserted && month < it->second) it->second = month;
  return Status::Ok();
}

Status ReferenceBuilder::UpsertFx(std::string_view currency, Month month,
                                  std::string_view rate_text) {
  FxRate rate;
  switch (FxRate::Parse(rate_text, &rate)) {
    case DecimalError::kOk:
      return UpsertFx(currency, month, rate);
    case DecimalError::kTooPrecise:
      return Invalid("fx: rate '" + std::string(rate_text) + "' for " + UppercaseAscii(currency) +
                     " has more than 12 fractional digits");
    case DecimalError::kSyntax:
    case DecimalError::kOutOfRange:
      break;
  }
  return Invalid("fx: rate '" + std::string(rate_text) + "' for " + UppercaseAscii(currency) +
                 " is not a decimal number");
}

// ---------------------------------------------------------------------------------------------
// Price sheet uploads

namespace {

struct TableKey {
  std::string market;
  std::string meter_id;
  int32_t start = 0;
  friend auto operator<=>(const TableKey&, const TableKey&) = default;
};

bool IsUsd(std::string_view currency) {
  currency = TrimSpaces(currency);
  return currency.empty() || EqualsIgnoreCase(currency, "USD");
}

TierTable MakeTierTable(const std::vector<PriceRow>& rows) {
  TierTable t;
  const PriceRow& low = rows.front();
  t.market = UppercaseAscii(low.market);
  t.meter_id = LowercaseAscii(low.meter_id);
  t.effective_start = low.effective_start;
  t.effective_end = low.effective_end;
  t.meter_name = low.meter_name;
  t.meter_category = low.meter_category;
  t.unit_of_measure = low.unit_of_measure;
  bool eligible = true;
  for (const PriceRow& r : rows) {
    t.tiers.push_back(Tier{r.tier_min, r.unit_price});
    if (ParseTags(r.tags).ExcludesPec()) eligible = false;
    if (!EqualsIgnoreCase(TrimSpaces(r.publisher), "microsoft")) eligible = false;
  }
  t.pec_eligible_product = eligible;
  return t;
}

}  // namespace

PriceUploadResult ReferenceBuilder::ApplyPriceUpload(const PriceSheet& sheet) {
  PriceUploadResult result;
  struct Group {
    std::vector<const PriceRow*> rows;  // in upload order
    std::vector<int> problem_lines;     // rows of this table the parser rejected
    std::string error;                  // first reason to reject the table
  };
  std::map<TableKey, Group> groups;
  std::vector<PriceUploadError> errors;

  for (const PriceRowProblem& p : sheet.problems) {
    errors.push_back({p.line, std::string(PriceRowErrorName(p.error)), p.detail});
    ++result.rejected;
    if (!p.HasTableKey()) continue;
    Group& g = groups[TableKey{UppercaseAscii(*p.market), LowercaseAscii(*p.meter_id),
                               p.effective_start->days}];
    g.problem_lines.push_back(p.line);
  }
  for (const PriceRow& r : sheet.rows) {
    Group& g = groups[TableKey{UppercaseAscii(r.market), LowercaseAscii(r.meter_id),
                               r.effective_start.days}];
    g.rows.push_back(&r);
  }

  for (auto& [key, group] : groups) {
    if (group.rows.empty()) continue;
    if (!group.problem_lines.empty()) {
      group.error = "line " + std::to_string(group.problem_lines.front()) +
                    " of the same tier table was rejected";
    }
    for (const PriceRow* r : group.rows) {
      if (!group.error.empty()) break;
      if (!IsUsd(r->currency)) {
        group.error =
            "line " + std::to_string(r->line) + ": currency '" + r->currency + "' is not USD";
      } else if (key.market.empty() || key.meter_id.empty()) {
        group.error = "line " + std::to_string(r->line) + ": market and meter id are required";
      }
    }
    const bool sibling_rejected = !group.error.empty();
    std::vector<PriceRow> merged;
    if (group.error.empty()) {
      // The table as it would be stored: earlier uploads, then this upload's rows in order
      // (a repeated tier_min is an upsert: the last row wins).
      const PriceIndex& prices = state_->prices.get();
      if (auto m = prices.find(key.market); m != prices.end()) {
        if (auto v = m->second.find(key.meter_id); v != m->second.end()) {
          for (const auto& rec : v->second) {
            if (rec->table.effective_start.days == key.start) merged = rec->rows;
          }
        }
      }
      for (const PriceRow* in : group.rows) {
        PriceRow row = *in;
        row.market = key.market;
        row.meter_id = key.meter_id;
        auto same = std::find_if(merged.begin(), merged.end(),
                                 [&](const PriceRow& x) { return x.tier_min == row.tier_min; });
        if (same != merged.end()) {
          *same = std::move(row);
        } else {
          merged.push_back(std::move(row));
        }
      }
      std::sort(merged.begin(), merged.end(),
                [](const PriceRow& a, const PriceRow& b) { return a.tier_min < b.tier_min; });
      Status valid = ValidateTierTable(merged);
      if (!valid.ok()) group.error = valid.message();
    }
    if (!group.error.empty()) {
      const std::string table = key.market + "/" + key.meter_id + "/" + FormatDate(Date{key.start});
      for (const PriceRow* r : group.rows) {
        errors.push_back({r->line, sibling_rejected ? "table_rejected" : "invalid_table",
                          "tier table " + table + " rejected: " + group.error});
        ++result.rejected;
      }
      continue;
    }
    auto rec = std::make_shared<PriceTableRecord>();
    rec->table = MakeTierTable(merged);
    rec->rows = std::move(merged);
    PriceVersions& versions = state_->prices.mut()[key.market][key.meter_id];
    auto pos = std::lower_bound(versions.begin(), versions.end(), key.start,
                                [](const std::shared_ptr<const PriceTableRecord>& r, int32_t s) {
                                  return r->table.effective_start.days < s;
                                });
    if (pos != versions.end() && (*pos)->table.effective_start.days == key.start) {
      *pos = std::move(rec);
    } else {
      versions.insert(pos, std::move(rec));
    }
    state_->changed_prices.insert({key.market, key.meter_id});
    result.upserted += static_cast<int>(group.rows.size());
  }
  std::stable_sort(
      errors.begin(), errors.end(),
      [](const PriceUploadError& a, const PriceUploadError& b) { return a.line < b.line; });
  result.errors = std::move(errors);
  return result;
}

// ---------------------------------------------------------------------------------------------

ReferenceBuilder::Built ReferenceBuilder::Build() && {
  State& s = *state_;
  auto data = std::make_unique<ReferenceSnapshot::Data>();
  data->partners = s.partners.Freeze();
  data->resellers = s.resellers.Freeze();
  data->customers = s.customers.Freeze();
  data->entitlements = s.entitlements.Freeze();
  data->grants = s.grants.Freeze();
  data->prices = s.prices.Freeze();
  data->fx = s.fx.Freeze();

  ReferenceChange change;
  std::set<std::string> customers = s.changed_customers;
  if (!s.changed_partners.empty() || !s.changed_resellers.empty()) {
    for (const auto& [id, rec] : *data->customers) {
      const Customer& c = rec.customer;
      if (s.changed_partners.count(c.partner_id) ||
          (c.reseller_mpn_id.has_value() && s.changed_resellers.count(*c.reseller_mpn_id))) {
        customers.insert(id);
      }
    }
  }
  change.customer_ids.assign(customers.begin(), customers.end());
  change.entitlement_ids.assign(s.changed_entitlements.begin(), s.changed_entitlements.end());
  change.price_keys.assign(s.changed_prices.begin(), s.changed_prices.end());
  for (const auto& [currency, month] : s.changed_fx) change.fx.push_back({currency, month});

  Built built;
  built.snapshot = std::shared_ptr<const ReferenceSnapshot>(
      new ReferenceSnapshot(s.base_version + 1, std::move(data)));
  built.change = std::move(change);
  state_.reset();
  return built;
}

}  // namespace meterd::rating
