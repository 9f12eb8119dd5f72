// A shard worker: one thread owning the mutable rating state of the customers (and unknown
// entitlements) hashed to it — month ledgers, budgets, fired marks, unknown-usage quantities,
// in-flight dedupe identities. Other threads talk to it only through its queues; its write
// jobs reach the storage writer in order, and a failed job poisons the later in-flight ones so
// memory and store never diverge (the shard then drops its caches and reloads from LMDB).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "daemon/core/anomaly_watch.h"
#include "daemon/core/engine.h"
#include "daemon/core/hash_counts.h"
#include "daemon/core/identity_filter.h"
#include "daemon/core/owner_cache.h"
#include "daemon/core/records.h"
#include "rating/budget.h"
#include "rating/month_ledger.h"
#include "storage/env.h"
#include "storage/journal.h"
#include "storage/keys.h"

namespace meterd::core {

// Writes of one shard job, packed into one arena (one allocation per job, not per event).
// Writes to the journaled databases (identities, lines) go to the job's journal record
// (storage/journal.h), the rest straight to their B-trees.
class WriteSet {
 public:
  enum class Kind : uint8_t { kPut, kDelete, kAppendAlert };
  void Put(storage::Db db, std::string_view key, std::string_view value) {
    if (storage::IsJournaled(db)) {
      journal_.Put(db, key, value);
    } else {
      Add(Kind::kPut, db, key, value);
    }
  }
  void Delete(storage::Db db, std::string_view key) {
    if (storage::IsJournaled(db)) {
      journal_.Delete(db, key);
    } else {
      Add(Kind::kDelete, db, key, {});
    }
  }
  void AppendAlert(std::string_view value) { Add(Kind::kAppendAlert, storage::Db::kAlerts, {}, value); }
  bool empty() const { return ops_.empty() && journal_.empty(); }
  size_t size() const { return ops_.size() + journal_.ops(); }
  size_t alert_count() const { return alerts_; }
  Status Apply(storage::WriteTxn& txn) const;

 private:
  struct Op {
    Kind kind;
    storage::Db db;
    uint32_t key_off, key_len, val_off, val_len;
  };
  void Add(Kind kind, storage::Db db, std::string_view key, std::string_view value);
  std::string arena_;
  std::vector<Op> ops_;
  size_t alerts_ = 0;
  // Mutable: Apply stamps the committing transaction's id into it (storage/journal.h).
  mutable storage::JournalRecord journal_;
};

class Shard {
 public:
  Shard(Engine* engine, size_t index);
  ~Shard();

  void Start();
  // Runs what is queued, waits for in-flight commits, joins the thread.
  void Stop();

  // Any thread. False when the usage queue is full (answer 429).
  bool TryPostUsage(std::shared_ptr<UsageRequest> request, std::vector<uint32_t> events);
  // Any thread; never refused (completions, control work, forwarded slices).
  void PostControl(std::function<void()> fn);

  // --- shard thread only ---
  // Runs fn once no job of this shard is in flight (immediately if none is).
  void RunWhenIdle(std::function<void()> fn);
  // Failures of this shard's jobs since the last call (and resets the count).
  uint64_t TakeFailures() {
    uint64_t f = failures_;
    failures_ = 0;
    return f;
  }
  // Re-rates the given customers' months (all stored and cached ones) and adopts the unknown
  // usage of `adopt` entitlements (their customers are owned here), then submits one job.
  Status Rerate(const std::vector<std::string>& customers, const std::vector<std::string>& adopt,
                uint64_t* rerated);
  // Budgets: set (with re-arm and immediate evaluation) or remove; one job, answered via done.
  void SetBudget(const std::string& customer_id, std::optional<rating::Budget> budget,
                 std::function<void(Status)> done);
  Result<std::optional<rating::Budget>> CachedBudget(const std::string& customer_id);
  // The dedupe filter (identity_filter.h), switched by the engine's builder. Begin: identities
  // accepted from now on go to `next` too, and so at once do those of jobs not yet folded (the
  // builder's store scan starts after every shard ran Begin). Activate: `next` answers from now
  // on. Abandon: the build failed; forget `next`.
  void BeginIdentityFilter(std::shared_ptr<IdentityFilter> next);
  void ActivateIdentityFilter(std::shared_ptr<IdentityFilter> filter);
  void AbandonIdentityFilter() { next_filter_.reset(); }

  // Any thread: what this shard holds in memory (published by the shard thread).
  uint64_t cached_ledgers() const { return cached_ledgers_.load(std::memory_order_relaxed); }
  uint64_t cached_lines() const { return cached_lines_.load(std::memory_order_relaxed); }
  uint64_t queued_usage() const { return queued_usage_.load(std::memory_order_relaxed); }

 private:
  struct LedgerEntry {
    explicit LedgerEntry(std::string customer, rating::Month month)
        : ledger(std::move(customer), month) {}
    rating::MonthLedger ledger;
    rating::FiredMarks fired;
    bool touched = false;
    bool used_since_review = true;  // settled or loaded since the last eviction review
    uint64_t last_job = 0;          // seq of the last job that may carry its changes
    size_t counted_lines = 0;       // its lines as counted in cached_lines_
  };
  struct UsagePart {
    std::shared_ptr<UsageRequest> request;
    uint64_t accepted = 0, duplicates = 0;
  };
  struct UsageItem {
    std::shared_ptr<UsageRequest> request;
    std::vector<uint32_t> events;
  };
  struct Job {
    WriteSet writes;
    std::string identities;                 // dedupe keys of this job, each length-prefixed
    std::vector<uint64_t> identity_hashes;  // removed from pending_ on completion
    std::vector<UsagePart> parts;           // the usage slices answered by this job, if any
    uint64_t accepted = 0, duplicates = 0;  // over all parts
    std::function<void(Status)> done;       // control jobs
    uint64_t alerts = 0;
    uint64_t seq = 0;                       // submission order within this shard
    uint64_t txn_id = 0;                    // LMDB txn that committed it
    std::array<uint64_t, kLineStatusCount> line_writes{};  // by rating::UnratedReason
  };

  void Run();
  // Rates the slices (taken from the queue together: one settle, one write job for all) and
  // submits their job; answers each slice once.
  void ProcessUsage(std::vector<UsageItem>& items);
  void FinishPart(const std::shared_ptr<UsageRequest>& request, const Status& status,
                  uint64_t accepted, uint64_t duplicates);
  // Settles touched ledgers into `job`: changed lines, totals, budget and pec_lost alerts.
  Status SettleTouched(storage::ReadTxn& txn, Job* job, uint64_t* changed_lines);
  // SettleTouched when gathering the ledgers succeeded (`gathered` ok); else forgets the
  // touched ledgers and returns `gathered`.
  Status SettleTouchedIfOk(storage::ReadTxn& txn, Job* job, Status gathered);
  Status EvaluateBudget(storage::ReadTxn& txn, LedgerEntry* entry, const rating::MonthTotals& totals,
                        Job* job);
  Result<LedgerEntry*> GetLedger(storage::ReadTxn& txn, std::string_view customer_id,
                                 rating::Month month);
  Result<const std::optional<rating::Budget>*> GetBudget(storage::ReadTxn& txn,
                                                         const std::string& customer_id);
  Result<std::vector<rating::Month>> MonthsOf(storage::ReadTxn& txn, const std::string& customer);
  void AddAlert(Job* job, rating::AlertKind kind, std::optional<rating::Basis> basis,
                std::string_view customer_id, std::string json_members);
  // Whether identity (of the given hash, which pending_ counts) is held by a job in flight,
  // committed and not folded, or `current`.
  bool InFlightContains(std::string_view identity, uint64_t hash, const Job* current) const;
  void Submit(std::unique_ptr<Job> job);
  void OnCommitted(Job* job, const Status& status, uint64_t txn_id);
  // Forgets committed jobs whose journal the writer has folded: the store now answers for
  // their identities and lines.
  void ReleaseFolded();
  // Seq of the oldest job whose writes the journaled databases may still lack (in flight, or
  // committed and not folded); UINT64_MAX when none.
  uint64_t OldestUnfoldedSeq() const;
  void MaybeFinishRecovery();
  // Forecasts fall as a month's days pass, except when a month with spend stops lying in the
  // future (§8.15: its forecast was its spend): then spend × days_in(m) may cross a forecast
  // threshold without any event. Runs when the current month differs from the last review's
  // (the first time at start), evaluating the budgets of this shard's customers that have
  // spend in the new month.
  void ReviewForecasts();
  // Bounds memory over a long uptime: forgets the cached ledgers of months before the previous
  // one that no settle used since the last review and whose last job has committed (they reload
  // from LMDB if a late event still comes), with their anomaly history and pec_lost marks. Runs
  // on the review timer.
  void EvictColdState();
  void PublishCacheSizes();

  Engine* const engine_;
  const size_t index_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<UsageItem> usage_queue_;
  std::deque<std::function<void()>> control_queue_;
  bool stopping_ = false;
  std::thread thread_;

  // Shard-thread state.
  std::shared_ptr<const rating::ReferenceSnapshot> snapshot_;
  OwnerCache owners_;  // of snapshot_ while a usage job runs
  std::unordered_map<std::string, std::unique_ptr<LedgerEntry>> ledgers_;  // customer\0month
  std::vector<LedgerEntry*> touched_;
  std::unordered_map<std::string, std::optional<rating::Budget>> budgets_;
  // pec_lost marks known fired (entitlement\0date(4)) -> seq of the job that may carry the mark:
  // forgetting one whose job is still in flight would let the day fire twice.
  std::unordered_map<std::string, uint64_t> pec_lost_fired_;
  std::unordered_map<std::string, rating::Decimal> unknown_;  // unknown_lines key -> quantity
  HashCounts pending_;  // identity hash -> count in flight (no allocation per event)
  std::shared_ptr<IdentityFilter> filter_;       // null until the first build
  std::shared_ptr<IdentityFilter> next_filter_;  // being built
  std::vector<Job*> inflight_;  // in submission (and hence commit) order
  // Committed, journal not folded yet, in commit order: they keep their identities (and their
  // ledgers' eviction guard) until Writer::folded_through passes their txn.
  std::deque<Job*> unfolded_;
  // After a recovery dropped memory while jobs up to this seq were unfolded, loads read the
  // store through the journal until they are folded (0: not needed). Without a recovery a
  // ledger or unknown line missing from memory has no unfolded writes: the eviction guard and
  // the fold at start see to that.
  uint64_t read_journal_through_ = 0;
  bool ReadJournal() const { return read_journal_through_ != 0; }
  uint64_t next_job_seq_ = 1;
  bool writer_slot_ = false;  // a writer queue slot held for the next job (see Run)
  size_t lines_in_cache_ = 0;
  std::atomic<uint64_t> cached_ledgers_{0};
  std::atomic<uint64_t> cached_lines_{0};
  std::atomic<uint64_t> queued_usage_{0};  // usage_queue_.size(), for metrics
  std::deque<std::function<void()>> idle_waiters_;
  std::atomic<bool> broken_{false};  // a job failed: later in-flight jobs must fail too
  bool recovering_ = false;
  uint64_t failures_ = 0;
  storage::KeyBuilder kb_;
  std::vector<storage::KeyHash> identity_hashes_;  // of the slice ProcessUsage is on, reused
  std::string identity_keys_;                      // ... and its identity keys, end to end
  std::vector<uint32_t> identity_key_ends_;
  // New identities of the job (or of unfolded jobs, in BeginIdentityFilter), for the filters.
  std::vector<storage::KeyHash> accepted_hashes_;
  std::string scratch_;
  StoredTotals totals_;  // SettleTouched's, reused
  std::string ledger_key_;  // GetLedger's lookup key, reused
  rating::SettleResult settle_;
  std::vector<rating::BudgetCrossing> crossings_;
  std::optional<rating::Month> reviewed_month_;  // ReviewForecasts ran for this month
  AnomalyWatch anomaly_;  // anomaly alerts of this shard's customers (anomaly_watch.h)
};

}  // namespace meterd::core
