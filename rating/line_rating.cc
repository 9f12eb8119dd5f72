#include "rating/line_rating.h"

#include <algorithm>
#include <limits>

namespace meterd::rating {
namespace {

constexpr int64_t kNanoScale = Decimal::kScale;

char LowerChar(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (LowerChar(a[i]) != LowerChar(b[i])) return false;
  }
  return true;
}

// Iterates the non-empty '/'-separated segments of a path without allocating.
class SegmentCursor {
 public:
  explicit SegmentCursor(std::string_view path) : rest_(path) {}
  bool Next(std::string_view* seg) {
    while (!rest_.empty() && rest_.front() == '/') rest_.remove_prefix(1);
    if (rest_.empty()) return false;
    size_t j = rest_.find('/');
    if (j == std::string_view::npos) j = rest_.size();
    *seg = rest_.substr(0, j);
    rest_.remove_prefix(j);
    return true;
  }

 private:
  std::string_view rest_;
};

// Whether the resource lies under /subscriptions/{entitlement_id} (the implied grant's scope).
bool UnderSubscription(std::string_view entitlement_id, std::string_view resource_uri) {
  SegmentCursor r(resource_uri);
  std::string_view a, b;
  return r.Next(&a) && EqualsIgnoreCase(a, "subscriptions") && r.Next(&b) &&
         EqualsIgnoreCase(b, entitlement_id);
}

// --- Exact sums of products -------------------------------------------------------------------

using u128 = unsigned __int128;

struct U256 {
  u128 hi = 0;
  u128 lo = 0;
};

U256 MulWide(u128 a, u128 b) {
  const uint64_t a0 = static_cast<uint64_t>(a), a1 = static_cast<uint64_t>(a >> 64);
  const uint64_t b0 = static_cast<uint64_t>(b), b1 = static_cast<uint64_t>(b >> 64);
  u128 p00 = static_cast<u128>(a0) * b0;
  u128 p01 = static_cast<u128>(a0) * b1;
  u128 p10 = static_cast<u128>(a1) * b0;
  u128 p11 = static_cast<u128>(a1) * b1;
  u128 mid = (p00 >> 64) + static_cast<uint64_t>(p01) + static_cast<uint64_t>(p10);
  U256 r;
  r.lo = (mid << 64) | static_cast<uint64_t>(p00);
  r.hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
  return r;
}

void AddWide(U256* acc, U256 x) {
  u128 lo = acc->lo + x.lo;
  acc->hi += x.hi + (lo < acc->lo ? 1 : 0);
  acc->lo = lo;
}

bool LessWide(U256 a, U256 b) { return a.hi != b.hi ? a.hi < b.hi : a.lo < b.lo; }

U256 SubWide(U256 a, U256 b) {  // REQUIRES: a >= b
  U256 r;
  r.lo = a.lo - b.lo;
  r.hi = a.hi - b.hi - (a.lo < b.lo ? 1 : 0);
  return r;
}

// round(x / 1e9) half to even, for a magnitude x; false when the quotient exceeds int128.
bool RoundNanosWide(U256 x, int128* out) {
  uint64_t limbs[4] = {static_cast<uint64_t>(x.hi >> 64), static_cast<uint64_t>(x.hi),
                       static_cast<uint64_t>(x.lo >> 64), static_cast<uint64_t>(x.lo)};
  uint64_t q[4];
  u128 rem = 0;
  for (int i = 0; i < 4; ++i) {
    u128 cur = (rem << 64) | limbs[i];
    q[i] = static_cast<uint64_t>(cur / kNanoScale);
    rem = cur % kNanoScale;
  }
  if (q[0] != 0 || q[1] != 0) return false;
  u128 quot = (static_cast<u128>(q[2]) << 64) | q[3];
  if (2 * rem > static_cast<u128>(kNanoScale) ||
      (2 * rem == static_cast<u128>(kNanoScale) && (quot & 1))) {
    ++quot;
  }
  if (quot > static_cast<u128>(std::numeric_limits<int128>::max())) return false;
  *out = static_cast<int128>(quot);
  return true;
}

int128 RoundNanos(int128 x) {
  int128 q = x / kNanoScale;
  int128 r = x % kNanoScale;
  int128 ar = r < 0 ? -r : r;
  int sign = x < 0 ? -1 : 1;
  if (2 * ar > kNanoScale || (2 * ar == kNanoScale && (q % 2 != 0))) q += sign;
  return q;
}

int128 Abs(int128 x) { return x < 0 ? -x : x; }

struct Allocation {
  bool representable = false;  // list_usd fits in 128 bits
  Decimal list_usd;
  int tiers_used = 0;
  Decimal last_price;  // price of the highest tier the line touches
};

// §4.2: list_usd = round9(Σ q_t × p_t) over the parts of [cum, cum + q) in each tier.
Allocation Allocate(const TierTable& table, Decimal quantity, Decimal cum) {
  Allocation a;
  const int128 start = cum.nanos();
  const int128 end = start + quantity.nanos();
  const size_t n = table.tiers.size();
  int128 acc = 0;
  bool narrow = true;
  for (size_t i = 0; i < n; ++i) {
    const int128 lo = table.tiers[i].min.nanos();
    const bool last = i + 1 == n;
    const int128 hi = last ? end : table.tiers[i + 1].min.nanos();
    const int128 from = std::max(start, lo);
    const int128 to = std::min(end, hi);
    if (to <= from) continue;
    ++a.tiers_used;
    a.last_price = table.tiers[i].unit_price;
    int128 prod;
    if (narrow && (__builtin_mul_overflow(to - from, table.tiers[i].unit_price.nanos(), &prod) ||
                   __builtin_add_overflow(acc, prod, &acc))) {
      narrow = false;
    }
  }
  if (narrow) {
    a.representable = true;
    a.list_usd = Decimal::FromNanos(RoundNanos(acc));
    return a;
  }
  // Products beyond 128 bits: redo the sum exactly in 256 bits, positive and negative parts
  // apart (prices are not negative in practice, but nothing here relies on it).
  U256 pos, neg;
  for (size_t i = 0; i < n; ++i) {
    const int128 lo = table.tiers[i].min.nanos();
    const bool last = i + 1 == n;
    const int128 hi = last ? end : table.tiers[i + 1].min.nanos();
    const int128 from = std::max(start, lo);
    const int128 to = std::min(end, hi);
    if (to <= from) continue;
    const int128 price = table.tiers[i].unit_price.nanos();
    U256 p = MulWide(static_cast<u128>(to - from), static_cast<u128>(Abs(price)));
    AddWide(price < 0 ? &neg : &pos, p);
  }
  const bool negative = LessWide(pos, neg);
  U256 mag = negative ? SubWide(neg, pos) : SubWide(pos, neg);
  int128 rounded;
  if (!RoundNanosWide(mag, &rounded)) return a;
  a.representable = true;
  a.list_usd = Decimal::FromNanos(negative ? -rounded : rounded);
  return a;
}

// The unit price of the tier holding a cumulative position (§8.5).
Decimal PriceAt(const TierTable& table, Decimal position) {
  Decimal price = table.tiers.front().unit_price;
  for (const Tier& t : table.tiers) {
    if (t.min <= position) price = t.unit_price;
  }
  return price;
}

bool AboveMax(Decimal d) { return Abs(d.nanos()) > kMaxAmount.nanos(); }

}  // namespace

std::string_view UnratedReasonName(UnratedReason reason) {
  switch (reason) {
    case UnratedReason::kNone:
      return "";
    case UnratedReason::kUnknownEntitlement:
      return "unknown_entitlement";
    case UnratedReason::kUnpriced:
      return "unpriced";
    case UnratedReason::kFxMissing:
      return "fx_missing";
    case UnratedReason::kOverflow:
      return "overflow";
  }
  return "";
}

CurrencyCode CurrencyCode::Of(std::string_view code) {
  CurrencyCode c;
  for (size_t i = 0; i < 3 && i < code.size(); ++i) {
    char ch = code[i];
    c.chars[i] = (ch >= 'a' && ch <= 'z') ? static_cast<char>(ch - 'a' + 'A') : ch;
  }
  return c;
}

bool ScopeCovers(std::string_view scope, std::string_view resource_uri) {
  SegmentCursor s(scope), r(resource_uri);
  std::string_view a, b;
  bool any = false;
  while (s.Next(&a)) {
    if (!r.Next(&b) || !EqualsIgnoreCase(a, b)) return false;
    any = true;
  }
  return any;
}

bool HasFullDayAccess(const ReferenceSnapshot& snapshot, const RatingConfig& config,
                      const Entitlement& entitlement, const Customer& customer,
                      const Partner& partner, std::string_view resource_uri, Date date) {
  const int64_t day_start = StartOf(date).nanos;
  const int64_t day_end = day_start + kNanosPerDay;
  constexpr int64_t kOpen = std::numeric_limits<int64_t>::max();

  std::span<const Grant> grants = snapshot.ExplicitGrantsOf(entitlement.entitlement_id);
  std::optional<ReferenceSnapshot::ImpliedGrantWindow> implied;
  if (config.IsEligibleRole("owner") && !partner.mpn_id.empty() &&
      UnderSubscription(entitlement.entitlement_id, resource_uri)) {
    implied = snapshot.ImpliedGrantWindowOf(entitlement.entitlement_id);
  }
  auto eligible = [&](const Grant& g) {
    const bool principal =
        (!partner.mpn_id.empty() && EqualsIgnoreCase(g.principal_mpn_id, partner.mpn_id)) ||
        (customer.reseller_mpn_id.has_value() && !customer.reseller_mpn_id->empty() &&
         EqualsIgnoreCase(g.principal_mpn_id, *customer.reseller_mpn_id));
    return principal && config.IsEligibleRole(g.role) && ScopeCovers(g.scope, resource_uri);
  };

  // Sweep: extend the covered prefix [day_start, t) with any interval that starts inside it,
  // until the day is covered or nothing extends it. Grants are few per entitlement.
  int64_t t = day_start;
  bool progress = true;
  while (t < day_end && progress) {
    progress = false;
    if (implied.has_value() && implied->start.nanos <= t) {
      int64_t end = implied->end ? implied->end->nanos : kOpen;
      if (end > t) {
        t = end;
        progress = true;
      }
    }
    for (const Grant& g : grants) {
      if (t >= day_end) break;
      if (g.start.nanos > t) continue;
      int64_t end = g.end ? g.end->nanos : kOpen;
      if (end <= t || !eligible(g)) continue;
      t = end;
      progress = true;
    }
  }
  return t >= day_end;
}

LineTerms ResolveTerms(const ReferenceSnapshot& snapshot, const RatingConfig& config,
                       std::string_view entitlement_id, std::string_view meter_id,
                       std::string_view resource_uri, Date date) {
  LineTerms terms;
  const Entitlement* entitlement = snapshot.FindEntitlement(entitlement_id);
  const Customer* customer =
      entitlement ? snapshot.FindCustomer(entitlement->customer_id) : nullptr;
  if (customer == nullptr) {
    terms.reason = UnratedReason::kUnknownEntitlement;
    return terms;
  }
  const std::string_view currency = snapshot.BillingCurrency(*customer);
  terms.currency = CurrencyCode::Of(currency);
  terms.table = snapshot.FindTierTable(customer->country, meter_id, date);
  if (terms.table == nullptr) {
    terms.reason = UnratedReason::kUnpriced;
    return terms;
  }
  const Partner* partner = snapshot.FindPartner(customer->partner_id);
  const bool rules_1_to_3 = entitlement->offer == Offer::kAzurePlan &&
                            terms.table->pec_eligible_product && partner != nullptr &&
                            partner->mpn_active;
  if (rules_1_to_3 &&
      HasFullDayAccess(snapshot, config, *entitlement, *customer, *partner, resource_uri, date)) {
    terms.pec_rate = config.pec_rate;
  } else if (rules_1_to_3) {
    terms.pec_lost_candidate = true;
    terms.would_be_pec_rate = config.pec_rate;
  }
  std::optional<FxLookup> fx = snapshot.FindFx(currency, MonthOf(date));
  if (!fx.has_value()) {
    terms.reason = UnratedReason::kFxMissing;
    return terms;
  }
  terms.fx = fx->rate;
  terms.fx_provisional = fx->provisional;
  return terms;
}

void RateLine(const LineTerms& terms, Decimal quantity, Decimal cumulative_before,
              RatedAmounts* out) {
  *out = RatedAmounts();
  out->reason = terms.reason;
  if (terms.reason == UnratedReason::kUnknownEntitlement) return;
  out->currency = terms.currency;
  if (terms.reason == UnratedReason::kUnpriced || terms.table == nullptr) {
    out->reason = UnratedReason::kUnpriced;
    return;
  }
  const TierTable& table = *terms.table;
  const Allocation alloc = Allocate(table, quantity, cumulative_before);

  // §4.2 rule 5 and §8.5.
  Decimal unit_price;
  if (quantity.IsZero()) {
    unit_price = PriceAt(table, cumulative_before);
  } else if (alloc.tiers_used == 1) {
    unit_price = alloc.last_price;
  } else {
    std::optional<Decimal> avg =
        alloc.representable ? DivRound9(alloc.list_usd, quantity) : std::nullopt;
    // Only a list beyond 128 bits (an overflow line) lacks the average: show the marginal price.
    unit_price = avg.value_or(alloc.last_price);
  }
  const Decimal one = Decimal::FromInteger(1);
  const Decimal pec_rate = terms.pec_rate;
  std::optional<Decimal> effective = MulRound9(unit_price, one - pec_rate);
  out->prices_shown = true;
  out->unit_price = unit_price;
  out->effective_unit_price = effective.value_or(unit_price);
  out->pec_rate = pec_rate;

  const bool fx_missing = terms.reason == UnratedReason::kFxMissing;
  auto overflow = [&]() {
    // §8.24: prices and fx shown, amounts null. fx_missing outranks overflow (§8.4); such a
    // line shows no USD amounts either, since they exceed what the product keeps exact.
    out->reason = fx_missing ? UnratedReason::kFxMissing : UnratedReason::kOverflow;
    out->usd_shown = false;
    out->list_usd = out->pec_usd = out->billed_usd = Decimal();
    out->bc_shown = false;
    out->list_bc = out->pec_bc = out->billed_bc = Decimal();
    out->fx_shown = !fx_missing;
    out->fx = fx_missing ? FxRate() : terms.fx;
    out->fx_provisional = false;
  };
  if (!alloc.representable || AboveMax(alloc.list_usd)) {
    overflow();
    return;
  }
  const Decimal list_usd = alloc.list_usd;
  const std::optional<Decimal> pec_usd =
      pec_rate.IsZero() ? std::optional<Decimal>(Decimal()) : MulRound9(list_usd, pec_rate);
  if (!pec_usd.has_value()) {
    overflow();
    return;
  }
  out->usd_shown = true;
  out->list_usd = list_usd;
  out->pec_usd = *pec_usd;
  out->billed_usd = list_usd - *pec_usd;
  if (fx_missing) return;  // §8.4: USD fields shown, fx and *_bc null

  // USD lines (fx exactly 1) skip the conversion: it is the identity.
  const bool unit_fx = terms.fx == FxRate::One();
  const std::optional<Decimal> list_bc =
      unit_fx ? std::optional<Decimal>(list_usd) : MulFxRound9(list_usd, terms.fx);
  const std::optional<Decimal> billed_bc =
      unit_fx ? std::optional<Decimal>(out->billed_usd) : MulFxRound9(out->billed_usd, terms.fx);
  if (!list_bc.has_value() || !billed_bc.has_value() || AboveMax(*list_bc)) {
    overflow();
    return;
  }
  out->reason = UnratedReason::kNone;
  out->fx_shown = true;
  out->fx = terms.fx;
  out->fx_provisional = terms.fx_provisional;
  out->bc_shown = true;
  out->list_bc = *list_bc;
  out->billed_bc = *billed_bc;
  out->pec_bc = *list_bc - *billed_bc;

  if (terms.pec_lost_candidate) {
    // The PEC the line would have had with full access, by the same formulas as pec_usd and
    // pec_bc: pec_bc is list_bc minus the billing-currency billed amount.
    std::optional<Decimal> lost_usd = MulRound9(list_usd, terms.would_be_pec_rate);
    if (lost_usd.has_value()) {
      std::optional<Decimal> would_billed_bc = MulFxRound9(list_usd - *lost_usd, terms.fx);
      if (would_billed_bc.has_value()) {
        out->pec_lost = true;
        out->lost_pec_usd = *lost_usd;
        out->lost_pec_bc = *list_bc - *would_billed_bc;
      }
    }
  }
}

}  // namespace meterd::rating
