#include "rating/month_ledger.h"

#include <algorithm>
#include <cassert>
#include <climits>
#include <cstring>
#include <unordered_map>

namespace meterd::rating {
namespace {

constexpr uint32_t kNone = 0xffffffffu;
constexpr uint32_t kNotInterned = 0xfffffffeu;  // a string id not looked up yet

// A fast non-cryptographic hash for line keys (~200 bytes of ids and URI): four independent
// multiply-xorshift lanes over 32-byte blocks, so the multiplies overlap instead of forming
// one long dependency chain. Equality is always confirmed on the bytes.
inline uint64_t Mix(uint64_t h) {
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93ull;
  h ^= h >> 32;
  return h;
}

inline uint64_t Load64(const char* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

inline uint64_t HashBytes(std::string_view s, uint64_t seed) {
  constexpr uint64_t kMul = 0x9e3779b97f4a7c15ull;
  const char* p = s.data();
  size_t n = s.size();
  uint64_t a = seed ^ (n * kMul), b = seed + 0x632be59bd9b4e019ull, c = ~seed, d = seed * kMul;
  while (n >= 32) {
    a = (a ^ Load64(p)) * kMul;
    b = (b ^ Load64(p + 8)) * kMul;
    c = (c ^ Load64(p + 16)) * kMul;
    d = (d ^ Load64(p + 24)) * kMul;
    a ^= a >> 29;
    b ^= b >> 29;
    c ^= c >> 29;
    d ^= d >> 29;
    p += 32;
    n -= 32;
  }
  while (n >= 8) {
    a = (a ^ Load64(p)) * kMul;
    a ^= a >> 29;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    // The tail is read as the string's last 8 bytes (overlapping what was hashed) when the
    // string is that long: a variable-length memcpy into a word stalls store forwarding.
    uint64_t w;
    if (s.size() >= 8) {
      w = Load64(s.data() + s.size() - 8) >> (8 * (8 - n));
    } else {
      w = 0;
      for (size_t i = 0; i < n; ++i) w |= uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
    }
    b = (b ^ w) * kMul;
  }
  return Mix(a ^ (b * 31) ^ (c * 131) ^ (d * 1031));
}

// The last (up to) 8 bytes of a string as a word; ids and URIs of one customer mostly differ at
// their end (resource names, meter GUID tails), so comparing these first rejects a mismatch
// without a full memcmp.
inline uint64_t Tail64(std::string_view s) {
  if (s.size() >= 8) return Load64(s.data() + s.size() - 8);
  uint64_t w = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    w |= uint64_t{static_cast<unsigned char>(s[i])} << (8 * i);
  }
  return w;
}

inline uint64_t HashKey(const LineKey& k) {
  uint64_t h = HashBytes(k.resource_uri, 0x51ed270b2f1e3a4dull);
  h = HashBytes(k.entitlement_id, h);
  h = HashBytes(k.meter_id, h);
  return Mix(h ^ static_cast<uint32_t>(k.usage_date.days));
}

bool StoredFormEquals(const RatedAmounts& a, const RatedAmounts& b) {
  RatedAmounts x = a, y = b;
  x.pec_lost = y.pec_lost = false;
  x.lost_pec_bc = y.lost_pec_bc = x.lost_pec_usd = y.lost_pec_usd = Decimal();
  return x == y;
}

}  // namespace

struct MonthLedger::Impl {
  // Hot fields first: an append to an existing line touches only the first cache line.
  struct Line {
    std::string_view ent_v, meter_v, res_v;  // views of the interned strings below
    Decimal quantity;
    Date date;
    uint32_t scope = 0;
    bool queued = false;  // in dirty_
    bool qty_changed = false;
    uint64_t hash = 0;
    uint32_t ent = 0, meter = 0, res = 0;  // interned string ids
    uint32_t pos = 0;                      // position in the scope's canonical order
    Decimal cum_before;
    LineTerms terms;
    RatedAmounts rated;
    uint32_t category = kNone;  // interned category the totals hold this line under
    // terms.meter_category() interned, once per terms: lines of many tables interleave in a
    // settle, and interning by hash look-up for each was a sixth of the settle.
    uint32_t terms_category = kNotInterned;
    bool tiered = false;        // cached terms.tiered(); terms may point into a dropped snapshot
    bool has_rated = false;     // `rated` is a stored form (rated here or loaded)
    bool in_totals = false;     // `rated` is counted in the totals
    bool terms_dirty = true;
    bool removed = false;
  };
  struct Scope {
    std::vector<uint32_t> order;   // line ids in canonical order (date, entitlement, resource)
    uint32_t cum_valid_until = 0;  // cum_before is exact for positions below this
    uint32_t tiered_lines = 0;
    bool queued = false;
  };
  struct CategoryAcc {
    Decimal list, billed;
    int64_t rated = 0;
  };
  struct PecDayAcc {
    Decimal lost_bc, lost_usd;
    int64_t lines = 0;
    CurrencyCode currency;
    bool touched = false;
  };

  std::string customer_id;
  Month month;
  std::shared_ptr<const ReferenceSnapshot> snapshot;

  // Interned strings (ids, URIs, categories). Strings are never freed, so views are stable.
  std::vector<std::unique_ptr<std::string>> strings;
  std::unordered_map<std::string_view, uint32_t> string_ids;
  std::vector<uint32_t> scope_of_string;  // string id → scope id (meters), kNone otherwise

  std::vector<Line> lines;
  std::vector<Scope> scopes;
  std::vector<uint32_t> scope_meter;  // scope id → meter string id
  size_t live_lines = 0;

  // Open addressing over line ids; capacity a power of two. The tag (high hash bits) rejects
  // most mismatches without touching the line.
  struct Slot {
    uint32_t id_plus_one = 0;  // 0: empty
    uint32_t tag = 0;
  };
  std::vector<Slot> slots;
  uint32_t last_line = kNone;

  std::vector<uint32_t> dirty;
  std::vector<uint32_t> dirty_scopes;

  // Totals over lines with in_totals.
  MonthTotals totals;
  std::vector<CategoryAcc> categories;               // by string id (sparse)
  std::unordered_map<uint64_t, PecDayAcc> pec_days;  // (ent string id << 32 | date)
  std::vector<uint64_t> touched_days;

  uint32_t Intern(std::string_view s) {
    auto it = string_ids.find(s);
    if (it != string_ids.end()) return it->second;
    auto owned = std::make_unique<std::string>(s);
    std::string_view view = *owned;
    uint32_t id = static_cast<uint32_t>(strings.size());
    strings.push_back(std::move(owned));
    scope_of_string.push_back(kNone);
    string_ids.emplace(view, id);
    return id;
  }
  std::string_view Str(uint32_t id) const { return *strings[id]; }

  bool Matches(const Line& l, const LineKey& k) const {
    if (l.date != k.usage_date || l.res_v.size() != k.resource_uri.size() ||
        l.ent_v.size() != k.entitlement_id.size() || l.meter_v.size() != k.meter_id.size() ||
        Tail64(l.res_v) != Tail64(k.resource_uri) || Tail64(l.meter_v) != Tail64(k.meter_id)) {
      return false;
    }
    return l.res_v == k.resource_uri && l.ent_v == k.entitlement_id && l.meter_v == k.meter_id;
  }

  uint32_t Lookup(const LineKey& k, uint64_t h) const {
    if (slots.empty()) return kNone;
    const size_t mask = slots.size() - 1;
    const uint32_t tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      const Slot s = slots[i];
      if (s.id_plus_one == 0) return kNone;
      if (s.tag == tag && Matches(lines[s.id_plus_one - 1], k)) return s.id_plus_one - 1;
    }
  }

  void InsertSlot(uint32_t id) {
    const size_t mask = slots.size() - 1;
    const uint64_t h = lines[id].hash;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
      if (slots[i].id_plus_one == 0) {
        slots[i] = Slot{id + 1, static_cast<uint32_t>(h >> 32)};
        return;
      }
    }
  }

  void RebuildSlots(size_t min_capacity) {
    size_t cap = 16;
    while (cap < min_capacity * 2) cap *= 2;
    slots.assign(cap, Slot{});
    for (uint32_t id = 0; id < lines.size(); ++id) {
      if (!lines[id].removed) InsertSlot(id);
    }
  }

  int CompareInScope(const Line& a, const Line& b) const {
    if (a.date != b.date) return a.date < b.date ? -1 : 1;
    if (int c = a.ent_v.compare(b.ent_v); c != 0) return c;
    return a.res_v.compare(b.res_v);
  }

  void QueueScope(uint32_t scope_id) {
    Scope& s = scopes[scope_id];
    if (!s.queued) {
      s.queued = true;
      dirty_scopes.push_back(scope_id);
    }
  }

  void Queue(uint32_t id) {
    Line& l = lines[id];
    if (!l.queued) {
      l.queued = true;
      dirty.push_back(id);
    }
  }

  uint32_t CreateLine(const LineKey& k, uint64_t h) {
    const uint32_t id = static_cast<uint32_t>(lines.size());
    Line l;
    l.hash = h;
    l.ent = Intern(k.entitlement_id);
    l.meter = Intern(k.meter_id);
    l.res = Intern(k.resource_uri);
    l.ent_v = Str(l.ent);
    l.meter_v = Str(l.meter);
    l.res_v = Str(l.res);
    l.date = k.usage_date;
    uint32_t scope_id = scope_of_string[l.meter];
    if (scope_id == kNone) {
      scope_id = static_cast<uint32_t>(scopes.size());
      scopes.emplace_back();
      scope_meter.push_back(l.meter);
      scope_of_string[l.meter] = scope_id;
    }
    l.scope = scope_id;
    lines.push_back(std::move(l));
    ++live_lines;
    Scope& s = scopes[scope_id];
    auto pos = std::upper_bound(s.order.begin(), s.order.end(), id, [&](uint32_t a, uint32_t b) {
      return CompareInScope(lines[a], lines[b]) < 0;
    });
    const uint32_t p = static_cast<uint32_t>(pos - s.order.begin());
    s.order.insert(pos, id);
    for (uint32_t i = p; i < s.order.size(); ++i) lines[s.order[i]].pos = i;
    s.cum_valid_until = std::min(s.cum_valid_until, p);
    QueueScope(scope_id);
    if (slots.empty() || live_lines * 2 > slots.size()) {
      RebuildSlots(live_lines);
    } else {
      InsertSlot(id);
    }
    Queue(id);
    return id;
  }

  uint32_t FindOrCreate(const LineKey& k) {
    if (last_line != kNone && Matches(lines[last_line], k)) return last_line;
    const uint64_t h = HashKey(k);
    uint32_t id = Lookup(k, h);
    if (id == kNone) id = CreateLine(k, h);
    last_line = id;
    return id;
  }

  void QuantityChanged(uint32_t id) {
    Line& l = lines[id];
    l.qty_changed = true;
    Queue(id);
    const uint32_t scope_id = l.scope;
    Scope& s = scopes[scope_id];
    if (s.cum_valid_until > l.pos + 1) s.cum_valid_until = l.pos + 1;
    QueueScope(scope_id);
  }

  // Installs freshly resolved terms, keeping the scope's tiered-line count right.
  void SetTerms(uint32_t id, const LineTerms& terms) {
    Line& l = lines[id];
    const uint32_t scope_id = l.scope;
    Scope& s = scopes[scope_id];
    const bool tiered = terms.tiered();
    if (tiered != l.tiered) {
      if (tiered) {
        ++s.tiered_lines;
      } else {
        --s.tiered_lines;
      }
      l.tiered = tiered;
      QueueScope(scope_id);  // cum_before of a newly tiered line may be stale
    }
    l.terms = terms;
    l.terms_category = kNotInterned;
    l.terms_dirty = false;
    Queue(id);
  }

  void Resolve(uint32_t id, const RatingConfig& config) {
    const Line& l = lines[id];
    SetTerms(id, ResolveTerms(*snapshot, config, Str(l.ent), Str(l.meter), Str(l.res), l.date));
  }

  void ResolveAll(const RatingConfig& config) {
    for (uint32_t id = 0; id < lines.size(); ++id) {
      if (!lines[id].removed) Resolve(id, config);
    }
  }

  void WalkScope(Scope& s) {
    if (s.tiered_lines == 0 || s.cum_valid_until >= s.order.size()) return;
    uint32_t p = s.cum_valid_until;
    Decimal cum;
    if (p > 0) {
      const Line& prev = lines[s.order[p - 1]];
      cum = prev.cum_before + prev.quantity;
    }
    for (; p < s.order.size(); ++p) {
      const uint32_t id = s.order[p];
      Line& l = lines[id];
      if (l.cum_before != cum) {
        l.cum_before = cum;
        if (l.tiered) Queue(id);
      }
      cum += l.quantity;
    }
    s.cum_valid_until = static_cast<uint32_t>(s.order.size());
  }

  void RemoveFromTotals(const Line& l) {
    if (!l.in_totals) return;
    const RatedAmounts& r = l.rated;
    if (!r.rated()) {
      --totals.unrated_lines;
    } else {
      --totals.rated_lines;
      totals.list -= r.list_bc;
      totals.pec -= r.pec_bc;
      totals.billed -= r.billed_bc;
      totals.list_usd -= r.list_usd;
      totals.pec_usd -= r.pec_usd;
      totals.billed_usd -= r.billed_usd;
      if (l.category != kNone) {
        CategoryAcc& c = categories[l.category];
        c.list -= r.list_bc;
        c.billed -= r.billed_bc;
        --c.rated;
      }
    }
    if (r.pec_lost) {
      PecDayAcc& d = pec_days[DayKey(l)];
      d.lost_bc -= r.lost_pec_bc;
      d.lost_usd -= r.lost_pec_usd;
      --d.lines;
    }
  }

  void AddToTotals(Line& l, uint32_t category) {
    const RatedAmounts& r = l.rated;
    l.in_totals = true;
    l.category = category;
    if (!r.rated()) {
      ++totals.unrated_lines;
      return;
    }
    ++totals.rated_lines;
    totals.currency = r.currency;
    totals.list += r.list_bc;
    totals.pec += r.pec_bc;
    totals.billed += r.billed_bc;
    totals.list_usd += r.list_usd;
    totals.pec_usd += r.pec_usd;
    totals.billed_usd += r.billed_usd;
    if (categories.size() <= l.category) categories.resize(strings.size());
    CategoryAcc& c = categories[l.category];
    c.list += r.list_bc;
    c.billed += r.billed_bc;
    ++c.rated;
    if (r.pec_lost) {
      const uint64_t key = DayKey(l);
      PecDayAcc& d = pec_days[key];
      d.lost_bc += r.lost_pec_bc;
      d.lost_usd += r.lost_pec_usd;
      d.currency = r.currency;
      ++d.lines;
      if (!d.touched) {
        d.touched = true;
        touched_days.push_back(key);
      }
    }
  }

  static uint64_t DayKey(const Line& l) {
    return (uint64_t{l.ent} << 32) | static_cast<uint32_t>(l.date.days);
  }

  void Adopt(const std::shared_ptr<const ReferenceSnapshot>& snap, const RatingConfig& config) {
    if (snapshot == snap) return;
    const bool had = snapshot != nullptr;
    snapshot = snap;
    if (had) ResolveAll(config);
  }

  void DoSettle(const RatingConfig& config, SettleResult* out) {
    out->Clear();
    if (dirty.empty() && dirty_scopes.empty()) return;
    for (size_t i = 0; i < dirty.size(); ++i) {
      if (lines[dirty[i]].terms_dirty) Resolve(dirty[i], config);
    }
    for (uint32_t scope_id : dirty_scopes) {
      WalkScope(scopes[scope_id]);
      scopes[scope_id].queued = false;
    }
    dirty_scopes.clear();
    RatedAmounts fresh;
    for (uint32_t id : dirty) {
      Line& l = lines[id];
      l.queued = false;
      if (l.removed) continue;
      RateLine(l.terms, l.quantity, l.cum_before, &fresh);
      const bool same = l.has_rated && StoredFormEquals(fresh, l.rated);
      // A new price version may move an unchanged line to another category.
      uint32_t category = kNone;
      if (fresh.rated()) {
        if (l.terms_category == kNotInterned) l.terms_category = Intern(l.terms.meter_category());
        category = l.terms_category;
      }
      if (!(l.in_totals && fresh == l.rated && category == l.category)) {
        RemoveFromTotals(l);
        l.rated = fresh;
        l.has_rated = true;
        AddToTotals(l, category);
      } else if (fresh.pec_lost) {
        // Unchanged, but report the day if its quantity moved (credit so far may be the same).
        PecDayAcc& d = pec_days[DayKey(l)];
        if (!d.touched) {
          d.touched = true;
          touched_days.push_back(DayKey(l));
        }
      }
      if (!same || l.qty_changed) out->changed.push_back(id);
      l.qty_changed = false;
    }
    dirty.clear();
    std::sort(out->changed.begin(), out->changed.end());
    for (uint64_t key : touched_days) {
      PecDayAcc& d = pec_days[key];
      d.touched = false;
      if (d.lines <= 0) continue;
      out->pec_lost.push_back(PecLostDay{Str(static_cast<uint32_t>(key >> 32)),
                                         Date{static_cast<int32_t>(static_cast<uint32_t>(key))},
                                         d.currency, d.lost_bc, d.lost_usd});
    }
    touched_days.clear();
    std::sort(out->pec_lost.begin(), out->pec_lost.end(),
              [](const PecLostDay& a, const PecLostDay& b) {
                return std::tie(a.entitlement_id, a.date) < std::tie(b.entitlement_id, b.date);
              });
  }
};

MonthLedger::MonthLedger(std::string customer_id, Month month) : impl_(std::make_unique<Impl>()) {
  impl_->customer_id = std::move(customer_id);
  impl_->month = month;
}

MonthLedger::~MonthLedger() = default;
MonthLedger::MonthLedger(MonthLedger&&) noexcept = default;
MonthLedger& MonthLedger::operator=(MonthLedger&&) noexcept = default;

const std::string& MonthLedger::customer_id() const { return impl_->customer_id; }
Month MonthLedger::month() const { return impl_->month; }

LineId MonthLedger::AddQuantity(const LineKey& key, Decimal quantity) {
  assert(MonthOf(key.usage_date) == impl_->month);
  Impl& m = *impl_;
  const uint32_t id = m.FindOrCreate(key);
  Impl::Line& l = m.lines[id];
  l.quantity += quantity;
  if (l.queued && l.qty_changed) return id;  // already marked since the last Settle
  m.QuantityChanged(id);
  return id;
}

LineId MonthLedger::LoadLine(const LineKey& key, Decimal quantity, const RatedAmounts* stored) {
  Impl& m = *impl_;
  const uint32_t id = m.FindOrCreate(key);
  Impl::Line& l = m.lines[id];
  l.quantity += quantity;
  m.QuantityChanged(id);
  if (stored != nullptr && !l.has_rated) {
    // The baseline to compare the next Settle against; a line reported only if it differs.
    l.rated = *stored;
    l.has_rated = true;
    l.qty_changed = false;
  }
  l.terms_dirty = true;
  return id;
}

void MonthLedger::Settle(const std::shared_ptr<const ReferenceSnapshot>& snapshot,
                         const RatingConfig& config, SettleResult* out) {
  impl_->Adopt(snapshot, config);
  impl_->DoSettle(config, out);
}

void MonthLedger::Rebase(const std::shared_ptr<const ReferenceSnapshot>& snapshot,
                         const ReferenceChange& change, const RatingConfig& config) {
  Impl& m = *impl_;
  if (m.snapshot == snapshot) return;
  if (m.snapshot == nullptr) {
    m.snapshot = snapshot;
    return;
  }
  m.snapshot = snapshot;
  if (change.AffectsCustomer(m.customer_id)) {
    m.ResolveAll(config);
    return;
  }
  const Customer* customer = snapshot->FindCustomer(m.customer_id);
  const std::string_view market = customer ? std::string_view(customer->country) : "";
  // Per-string memo: most lines share few entitlements and meters.
  std::vector<int8_t> ent_hit(m.strings.size(), -1), meter_hit(m.strings.size(), -1);
  for (uint32_t id = 0; id < m.lines.size(); ++id) {
    Impl::Line& l = m.lines[id];
    if (l.removed) continue;
    if (l.terms_dirty) continue;  // resolved at the next Settle against the new snapshot
    if (ent_hit[l.ent] < 0) ent_hit[l.ent] = change.AffectsEntitlement(m.Str(l.ent)) ? 1 : 0;
    if (meter_hit[l.meter] < 0) {
      meter_hit[l.meter] = change.AffectsPrice(market, m.Str(l.meter)) ? 1 : 0;
    }
    const bool affected =
        ent_hit[l.ent] == 1 || meter_hit[l.meter] == 1 ||
        (!l.terms.currency.empty() && change.AffectsFx(l.terms.currency.view(), MonthOf(l.date)));
    if (affected) m.Resolve(id, config);
  }
}

void MonthLedger::RerateAll(const std::shared_ptr<const ReferenceSnapshot>& snapshot,
                            const RatingConfig& config, SettleResult* out) {
  Impl& m = *impl_;
  m.snapshot = snapshot;
  m.ResolveAll(config);
  m.DoSettle(config, out);
}

std::vector<LineRecord> MonthLedger::RemoveEntitlement(std::string_view entitlement_id) {
  Impl& m = *impl_;
  std::vector<LineRecord> out;
  auto it = m.string_ids.find(entitlement_id);
  if (it == m.string_ids.end()) return out;
  const uint32_t ent = it->second;
  for (uint32_t scope_id = 0; scope_id < m.scopes.size(); ++scope_id) {
    Impl::Scope& s = m.scopes[scope_id];
    uint32_t first = kNone;
    std::vector<uint32_t> kept;
    kept.reserve(s.order.size());
    for (uint32_t id : s.order) {
      Impl::Line& l = m.lines[id];
      if (l.ent != ent) {
        kept.push_back(id);
        continue;
      }
      if (first == kNone) first = l.pos;
      out.push_back(LineRecord{std::string(m.Str(l.ent)), std::string(m.Str(l.meter)),
                               std::string(m.Str(l.res)), l.date, l.quantity});
      m.RemoveFromTotals(l);
      if (l.tiered) --s.tiered_lines;
      l.removed = true;
      l.in_totals = false;
      --m.live_lines;
    }
    if (first == kNone) continue;
    s.order = std::move(kept);
    for (uint32_t i = first; i < s.order.size(); ++i) m.lines[s.order[i]].pos = i;
    s.cum_valid_until = std::min(s.cum_valid_until, first);
    m.QueueScope(scope_id);
  }
  std::erase_if(m.dirty, [&](uint32_t id) {
    if (!m.lines[id].removed) return false;
    m.lines[id].queued = false;
    return true;
  });
  m.last_line = kNone;
  m.RebuildSlots(m.live_lines);
  return out;
}

size_t MonthLedger::line_count() const { return impl_->live_lines; }

bool MonthLedger::has_unsettled_changes() const {
  return !impl_->dirty.empty() || !impl_->dirty_scopes.empty();
}

std::optional<LineId> MonthLedger::Find(const LineKey& key) const {
  const uint32_t id = impl_->Lookup(key, HashKey(key));
  if (id == kNone) return std::nullopt;
  return id;
}

LineView MonthLedger::line(LineId id) const {
  const Impl& m = *impl_;
  const Impl::Line& l = m.lines[id];
  LineView v;
  v.entitlement_id = m.Str(l.ent);
  v.meter_id = m.Str(l.meter);
  v.resource_uri = m.Str(l.res);
  v.usage_date = l.date;
  v.quantity = l.quantity;
  v.cumulative_before = l.cum_before;
  v.rated = &l.rated;
  v.meter_category = l.category != kNone ? m.Str(l.category) : std::string_view();
  return v;
}

std::vector<LineId> MonthLedger::CanonicalOrder() const {
  const Impl& m = *impl_;
  std::vector<uint32_t> scope_ids(m.scopes.size());
  for (uint32_t i = 0; i < scope_ids.size(); ++i) scope_ids[i] = i;
  std::sort(scope_ids.begin(), scope_ids.end(), [&](uint32_t a, uint32_t b) {
    return m.Str(m.scope_meter[a]) < m.Str(m.scope_meter[b]);
  });
  std::vector<LineId> out;
  out.reserve(m.live_lines);
  for (uint32_t s : scope_ids) {
    for (uint32_t id : m.scopes[s].order) out.push_back(id);
  }
  return out;
}

MonthTotals MonthLedger::Totals() const {
  MonthTotals t;
  Totals(&t);
  return t;
}

void MonthLedger::Totals(MonthTotals* out) const {
  const Impl& m = *impl_;
  // The categories' strings keep their capacity from the previous call: a shard asks for the
  // totals of every ledger each job touched.
  std::vector<CategoryTotal> categories = std::move(out->by_category);
  *out = m.totals;
  size_t n = 0;
  for (uint32_t id = 0; id < m.categories.size(); ++id) {
    const Impl::CategoryAcc& c = m.categories[id];
    if (c.rated <= 0) continue;
    if (n == categories.size()) categories.emplace_back();
    CategoryTotal& total = categories[n++];
    total.meter_category.assign(m.Str(id));
    total.list = c.list;
    total.billed = c.billed;
  }
  categories.resize(n);
  std::sort(categories.begin(), categories.end(),
            [](const CategoryTotal& a, const CategoryTotal& b) {
              return a.meter_category < b.meter_category;
            });
  out->by_category = std::move(categories);
}

// ---------------------------------------------------------------------------------------------

void UnknownUsageBook::Add(const LineKey& key, Decimal quantity) {
  lines_[Key{std::string(key.entitlement_id), std::string(key.meter_id), key.usage_date.days,
             std::string(key.resource_uri)}] += quantity;
}

std::vector<LineRecord> UnknownUsageBook::Take(std::string_view entitlement_id) {
  std::vector<LineRecord> out;
  auto it = lines_.lower_bound(Key{std::string(entitlement_id), "", INT32_MIN, ""});
  while (it != lines_.end() && std::get<0>(it->first) == entitlement_id) {
    const auto& [ent, meter, days, res] = it->first;
    out.push_back(LineRecord{ent, meter, res, Date{days}, it->second});
    it = lines_.erase(it);
  }
  return out;
}

std::vector<LineRecord> UnknownUsageBook::Lines() const {
  std::vector<LineRecord> out;
  out.reserve(lines_.size());
  for (const auto& [key, qty] : lines_) {
    const auto& [ent, meter, days, res] = key;
    out.push_back(LineRecord{ent, meter, res, Date{days}, qty});
  }
  return out;
}

bool UnknownUsageBook::Contains(std::string_view entitlement_id) const {
  auto it = lines_.lower_bound(Key{std::string(entitlement_id), "", INT32_MIN, ""});
  return it != lines_.end() && std::get<0>(it->first) == entitlement_id;
}

}  // namespace meterd::rating
