// The `anomaly` alert in the daemon (rule: rating/anomaly.h, docs/alerts.md): keeps, for the
// customers of one shard, the daily list spend of the months they touched, and judges every
// (customer, day) whose spend a settle changed against that customer's own trailing days.
// Fed once per settled ledger and evaluated once per shard job, never per event. Owned by one
// Shard and used only on its thread (thread-compatible).
#pragma once

#include <array>
#include <functional>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "rating/anomaly.h"
#include "rating/civil_time.h"
#include "rating/decimal.h"
#include "rating/line_rating.h"
#include "rating/month_ledger.h"
#include "rating/reference.h"
#include "storage/env.h"
#include "storage/keys.h"

namespace meterd::core {

class WriteSet;

class AnomalyWatch {
 public:
  // nullopt: the alert is switched off (every call is a no-op).
  explicit AnomalyWatch(std::optional<rating::AnomalyParams> params);
  AnomalyWatch(const AnomalyWatch&) = delete;
  AnomalyWatch& operator=(const AnomalyWatch&) = delete;

  // After `ledger` settled into `settle`: moves the changed lines' list spend into the day
  // totals and remembers their days for Evaluate. The first call for a ledger reads all of its
  // lines (a loaded ledger reports only lines whose rating moved). Allocates only when a
  // customer, month or line is new to the watch.
  void OnSettled(const rating::MonthLedger& ledger, const rating::SettleResult& settle);

  // Judges every day remembered since the last call; a day that fires and never fired before
  // gets its fired mark and its alert added to `writes` (the same job, hence the same
  // transaction, as the spend that raised it) and counted in *alerts. Reads stored lines of
  // history months the watch has not seen yet and the stored fired marks through `txn`.
  // Forgets the remembered days, also on error.
  Status Evaluate(storage::ReadTxn& txn, const rating::ReferenceSnapshot* snapshot,
                  rating::Timestamp now, WriteSet* writes, uint64_t* alerts);

  // Forgets everything: the shard dropped its caches after a failed commit, and the store is
  // again the truth.
  void Clear();

  // While set, months are read from the store as if its journal were folded (after the shard
  // dropped its memory with commits still unfolded: storage/journal.h).
  void set_read_journal(bool on) { read_journal_ = on; }

  // The shard evicted this (customer, month) ledger: a month fed from it indexes its line ids,
  // so it is forgotten too (read again from the store, or rebuilt from a reloaded ledger).
  void ForgetMonth(std::string_view customer_id, rating::Month month);
  // Forgets months before `keep_from` that `cached(customer, month)` says have no cached
  // ledger, and customers left with nothing: history the store can give again when a late
  // event needs it. Fired days stay (one whose mark is still in flight is not in the store).
  void ForgetHistoryBefore(rating::Month keep_from,
                           const std::function<bool(const std::string&, rating::Month)>& cached);

 private:
  struct MonthDays {
    std::array<rating::Decimal, 31> spend{};  // list_bc of rated lines per day of the month
    int first_day = 31;                       // first day (0-based) with any line; 31: none
    bool from_ledger = false;  // kept up to date from settles (else read once from the store)
    // Ledger-fed months: what each line (by LineId) adds to `spend`, so a re-rated line moves
    // its day by the difference.
    std::vector<rating::Decimal> line_list;
    rating::CurrencyCode currency;  // of its rated lines
  };
  struct Customer {
    std::map<int32_t, MonthDays> months;    // by Month::index
    std::optional<int32_t> earliest_month;  // earliest month with stored or settled usage
    bool earliest_read = false;             // the store's months were scanned
    std::set<int32_t> fired;                // days (Date::days) known to have fired
    std::vector<int32_t> pending;           // days to judge at the next Evaluate
    bool queued = false;
  };

  void Rebuild(const rating::MonthLedger& ledger, MonthDays* days);
  Result<MonthDays*> Month(storage::ReadTxn& txn, const std::string& customer_id, Customer* c,
                           rating::Month month);
  Status Judge(storage::ReadTxn& txn, const rating::ReferenceSnapshot* snapshot,
               rating::Timestamp now, const std::string& customer_id, Customer* c, rating::Date day,
               WriteSet* writes, uint64_t* alerts);

  const std::optional<rating::AnomalyParams> params_;
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, Customer, Hash, std::equal_to<>> customers_;
  std::vector<std::pair<const std::string*, Customer*>> queued_;
  std::array<rating::Decimal, rating::kMaxAnomalyWindowDays> history_;
  storage::KeyBuilder kb_;
  std::string scratch_;
  bool read_journal_ = false;
};

}  // namespace meterd::core
