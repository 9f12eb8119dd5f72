// The mutable rating state of one (customer, month): its daily lines, their tier scopes in
// canonical order (§4.2, §8.6), rated amounts and month totals kept incrementally (§8.12, §8.19).
// Thread-compatible, not thread-safe: one shard owns a ledger and calls every method on its own
// thread. AddQuantity is the hot path (no allocation once a line exists); Settle does the rating.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "rating/civil_time.h"
#include "rating/decimal.h"
#include "rating/line_rating.h"
#include "rating/reference.h"

namespace meterd::rating {

// Identity of a daily line within a customer. REQUIRES: strings ASCII-lowercased (the daemon
// normalizes ids while parsing; the ledger compares bytes).
struct LineKey {
  std::string_view entitlement_id;
  std::string_view meter_id;
  std::string_view resource_uri;
  Date usage_date;
};

// An owned line identity and quantity (moves between containers, restarts).
struct LineRecord {
  std::string entitlement_id;
  std::string meter_id;
  std::string resource_uri;
  Date usage_date;
  Decimal quantity;
  LineKey key() const { return {entitlement_id, meter_id, resource_uri, usage_date}; }
};

using LineId = uint32_t;

// A read-only view of one line; string views live as long as the ledger.
struct LineView {
  std::string_view entitlement_id;
  std::string_view meter_id;
  std::string_view resource_uri;
  Date usage_date;
  Decimal quantity;
  Decimal cumulative_before;        // tier scope position (valid after Settle)
  const RatedAmounts* rated;        // the stored form
  std::string_view meter_category;  // of the applicable table; empty when unpriced
};

struct CategoryTotal {
  std::string meter_category;
  Decimal list;    // billing currency
  Decimal billed;  // billing currency
  friend bool operator==(const CategoryTotal&, const CategoryTotal&) = default;
};

// Month-to-date spend over rated lines only (§5, §8.12).
struct MonthTotals {
  CurrencyCode currency;                  // of the rated lines (the customer's billing currency)
  Decimal list, pec, billed;              // billing currency
  Decimal list_usd, pec_usd, billed_usd;  // USD
  int64_t rated_lines = 0;
  int64_t unrated_lines = 0;
  // Every category with at least one rated line, zero amounts included, sorted by name (§8.26).
  std::vector<CategoryTotal> by_category;
};

// PEC lost on one (entitlement, day) so far: the sum over its rated pec_lost lines of the credit
// each would have earned with full access (RatedAmounts::lost_pec_*), in the billing currency
// and in USD. The daemon fires `pec_lost` once per (entitlement, day) (§5, §8.17, §8.31).
struct PecLostDay {
  std::string_view entitlement_id;  // lives as long as the ledger
  Date date;
  CurrencyCode currency;
  Decimal lost_bc;
  Decimal lost_usd;
};

// What one Settle changed. Reuse one instance across calls: its vectors keep their capacity.
struct SettleResult {
  // Lines whose stored form changed (quantity or rated amounts), sorted by id; these, and only
  // these, need writing.
  std::vector<LineId> changed;
  // (entitlement, day) pairs touched by this settle that have at least one rated pec_lost line,
  // with the day's total so far.
  std::vector<PecLostDay> pec_lost;
  void Clear() {
    changed.clear();
    pec_lost.clear();
  }
};

class MonthLedger {
 public:
  // REQUIRES: customer_id lowercased.
  MonthLedger(std::string customer_id, Month month);
  ~MonthLedger();
  MonthLedger(const MonthLedger&) = delete;
  MonthLedger& operator=(const MonthLedger&) = delete;
  MonthLedger(MonthLedger&&) noexcept;
  MonthLedger& operator=(MonthLedger&&) noexcept;

  const std::string& customer_id() const;
  Month month() const;

  // Adds usage to the line with this key, creating it (and merging equal keys). The line is
  // rated at the next Settle. REQUIRES: key lowercased, MonthOf(key.usage_date) == month(),
  // quantity >= 0. Hot path: appending to an existing line does not allocate.
  LineId AddQuantity(const LineKey& key, Decimal quantity);

  // Restart: restores a line with its stored quantity and, if known, its stored rated form.
  // Lines are re-rated at the next Settle and reported only when the result differs from
  // `stored` (always when `stored` is null).
  LineId LoadLine(const LineKey& key, Decimal quantity, const RatedAmounts* stored);

  // Rates what changed since the last Settle against `snapshot` and fills `out`. A snapshot
  // other than the one the ledger last used re-resolves every line (as RerateAll); use Rebase
  // first to limit that to the lines a ReferenceChange affects.
  void Settle(const std::shared_ptr<const ReferenceSnapshot>& snapshot, const RatingConfig& config,
              SettleResult* out);

  // Adopts a new snapshot: re-resolves the terms of lines `change` affects (rated at the next
  // Settle). REQUIRES: `change` covers every Build() between the ledger's snapshot and
  // `snapshot` (merge them when several).
  void Rebase(const std::shared_ptr<const ReferenceSnapshot>& snapshot,
              const ReferenceChange& change, const RatingConfig& config);

  // Re-resolves and re-rates every line (e.g. the rating config changed). Reports only lines
  // whose result changed.
  void RerateAll(const std::shared_ptr<const ReferenceSnapshot>& snapshot,
                 const RatingConfig& config, SettleResult* out);

  // Removes every line of an entitlement (its customer changed) and returns them so the daemon
  // can add them to the right ledger. Later lines of the affected scopes are re-rated at the
  // next Settle.
  std::vector<LineRecord> RemoveEntitlement(std::string_view entitlement_id);

  size_t line_count() const;
  bool has_unsettled_changes() const;
  std::optional<LineId> Find(const LineKey& key) const;
  LineView line(LineId id) const;
  // Lines in canonical order: meter, usage_date, entitlement, resource (byte-wise, §8.6).
  std::vector<LineId> CanonicalOrder() const;
  // Totals as of the last Settle.
  MonthTotals Totals() const;
  // The same into *out, reusing the capacity of its category list and names.
  void Totals(MonthTotals* out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Usage of entitlements that are not (yet) known, or whose customer is not (§8.3, §8.34): no
// customer, so no ledger. Kept by the daemon (one per shard) and moved into ledgers with
// AddQuantity when the reference data arrives. Thread-compatible.
class UnknownUsageBook {
 public:
  // REQUIRES: key lowercased.
  void Add(const LineKey& key, Decimal quantity);
  // Removes and returns the lines of one entitlement.
  std::vector<LineRecord> Take(std::string_view entitlement_id);
  // Ordered by (entitlement, meter, usage_date, resource).
  std::vector<LineRecord> Lines() const;
  bool Contains(std::string_view entitlement_id) const;
  size_t size() const { return lines_.size(); }

 private:
  using Key = std::tuple<std::string, std::string, int32_t, std::string>;
  std::map<Key, Decimal> lines_;
};

}  // namespace meterd::rating
