// The rating engine of the daemon: routes parsed usage to shard workers that own all mutable
// rating state (ledgers, budgets, fired marks) of the customers hashed to them, commits their
// effects through the single storage writer, and answers only after the commit. Reference data
// is an immutable snapshot swapped by pointer. Admin operations (reference loads, budgets) are
// blocking calls for a control thread; SubmitUsage never blocks. Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "daemon/ingest/reference_parser.h"
#include "daemon/ingest/usage_parser.h"
#include "rating/anomaly.h"
#include "rating/budget.h"
#include "rating/civil_time.h"
#include "rating/line_rating.h"
#include "rating/price_sheet.h"
#include "rating/reference.h"
#include "storage/env.h"
#include "storage/writer.h"

namespace meterd::core {

class IdentityFilter;
class Shard;

// Rated plus each rating::UnratedReason.
inline constexpr size_t kLineStatusCount = 5;
static_assert(static_cast<size_t>(rating::UnratedReason::kOverflow) + 1 == kLineStatusCount);

struct EngineOptions {
  int shards = 2;
  rating::RatingConfig rating;
  int32_t retention_days = 35;
  // Usage slices a shard may hold queued before SubmitUsage answers 429.
  size_t shard_queue_capacity = 256;
  std::function<rating::Timestamp()> now;  // the daemon's clock
  // How often each shard reviews forecasts for a month change and forgets cold cached months.
  std::chrono::milliseconds review_interval{30'000};
  // The `anomaly` alert's rule (docs/alerts.md); nullopt switches the alert off.
  std::optional<rating::AnomalyParams> anomaly = rating::AnomalyParams{};
  // After each commit that carried alerts (on the writer thread; return quickly).
  std::function<void()> on_alerts_committed;
  // The dedupe filter (identity_filter.h): at most this much memory; 0 turns it off. The first
  // filter holds at least filter_initial_keys; a full one is doubled, or (every other time)
  // rebuilt from the store for twice the identities stored.
  uint64_t dedupe_filter_max_bytes = uint64_t{256} << 20;
  uint64_t dedupe_filter_initial_keys = uint64_t{1} << 24;
};

// One POST /v1/usage: the parsed batch stays alive (owned here) until `done` ran.
struct UsageRequest {
  ingest::UsageBatch batch;
  std::string body;  // the buffer the batch may point into
  // Exactly once, from a shard or the calling thread. status: OK, ResourceExhausted (429:
  // queues full), Unavailable (503: storage full or recovering).
  std::function<void(const Status& status, uint64_t accepted, uint64_t duplicates)> done;

  // Filled by the engine.
  std::atomic<int> parts_pending{0};
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> duplicates{0};
  std::mutex error_mu;
  Status error;
};

struct LoadError {
  int line = 0;
  std::string error;
  std::string detail;
};

struct LoadResult {
  int upserted = 0;
  int rejected = 0;
  std::vector<LoadError> errors;
  uint64_t rerated_lines = 0;
  int currencies = 0;
};

struct BudgetChange {
  bool found = true;  // false: unknown customer
  std::optional<rating::Budget> budget;
};

class Engine {
 public:
  Engine(storage::Env* env, storage::Writer* writer, EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Loads the reference snapshot from the store, finishes an interrupted re-rating, starts the
  // shard threads.
  Status Start();
  // Drains the shards (everything queued is committed or failed) and joins them. Idempotent.
  void Stop();

  std::shared_ptr<const rating::ReferenceSnapshot> snapshot() const {
    return std::atomic_load_explicit(&snapshot_, std::memory_order_acquire);
  }
  rating::Timestamp Now() const { return options_.now(); }
  const EngineOptions& options() const { return options_; }

  // Splits the accepted events by owning shard and queues one slice per shard. The answer
  // (request->done) comes after every slice committed.
  void SubmitUsage(std::shared_ptr<UsageRequest> request);

  // Blocking admin operations (control thread). Each commits the reference records, publishes
  // the new snapshot and re-rates affected lines before returning.
  LoadResult LoadReference(const ingest::ReferenceBatch& batch);
  Result<LoadResult> LoadEntity(const ingest::ReferenceEntity& entity);
  LoadResult LoadPriceSheet(std::string_view csv);
  Result<LoadResult> LoadFx(rating::Month month, const ingest::FxBody& fx);

  // Budgets (blocking). NotFound when the customer is unknown.
  Result<rating::Budget> SetBudget(const std::string& customer_id, const rating::Budget& budget);
  Status RemoveBudget(const std::string& customer_id);
  Result<std::optional<rating::Budget>> GetBudget(const std::string& customer_id) const;

  // Alert sequence high-water mark: bumps after each commit carrying alerts; waiters of
  // GET /v1/alerts?wait= watch it.
  uint64_t alert_epoch() const { return alert_epoch_.load(std::memory_order_acquire); }
  // Waits until alert_epoch() differs from seen_epoch or `wait` passed; returns the epoch.
  uint64_t WaitForAlerts(uint64_t seen_epoch, std::chrono::milliseconds wait);
  void NotifyCommit();

  storage::Env* env() const { return env_; }
  size_t ShardOf(std::string_view owner_key) const;

  // Counters for metrics.
  struct Counters {
    std::atomic<uint64_t> events_accepted{0};
    std::atomic<uint64_t> events_duplicate{0};
    std::atomic<uint64_t> events_rejected{0};
    // By §8.1 error code, so an operator can tell a feed's bad JSON from its late events.
    std::array<std::atomic<uint64_t>, ingest::kUsageErrorCount> events_rejected_by_reason{};
    std::atomic<uint64_t> usage_rejected_busy{0};
    std::atomic<uint64_t> usage_too_many_events{0};  // 413: over max_events_per_request
    std::atomic<uint64_t> usage_failed_storage{0};
    std::atomic<uint64_t> lines_rerated{0};
    // Daily lines written to the store (created or changed), by the status they were written
    // with: index 0 is rated, the others are rating::UnratedReason values.
    std::array<std::atomic<uint64_t>, kLineStatusCount> line_writes{};
    // Valid usage lines per request handed to the shards (after the parse).
    storage::Histogram usage_request_events{1, 10, 100, 1000, 2000, 5000, 10000, 20000, 50000,
                                            100000, 500000};
    // Usage bodies parsing or waiting to parse (all intakes).
    std::atomic<int64_t> usage_bodies_parsing{0};
    std::atomic<uint64_t> alerts_fired{0};
    // Dedupe look-ups: answered by the filter alone, or by the store (after the filter's
    // "maybe", or with no filter yet); store look-ups that found nothing after a "maybe".
    std::atomic<uint64_t> dedupe_filter_answers{0};
    std::atomic<uint64_t> dedupe_store_lookups{0};
    std::atomic<uint64_t> dedupe_filter_false_positives{0};
    std::atomic<uint64_t> dedupe_filter_builds{0};     // from the store
    std::atomic<uint64_t> dedupe_filter_doublings{0};  // from the previous filter
    std::atomic<uint64_t> dedupe_filter_build_failures{0};
    std::atomic<uint64_t> dedupe_filter_bytes{0};     // the active filter's
    std::atomic<uint64_t> dedupe_filter_capacity{0};  // identities it holds at its error rate
  };
  const Counters& counters() const { return counters_; }
  // Month ledgers and their daily lines held in the shards' memory (any thread).
  uint64_t CachedLedgers() const;
  uint64_t CachedLines() const;
  // Usage slices waiting in the shards' queues (any thread).
  uint64_t QueuedUsageSlices() const;
  Counters& mutable_counters() { return counters_; }

 private:
  friend class Shard;
  struct RerateScope;

  // Commits reference records, swaps the snapshot, re-rates. REQUIRES: control_mu_ held.
  Status PublishReference(rating::ReferenceBuilder::Built built,
                          std::function<Status(storage::WriteTxn&)> persist, uint64_t* rerated);
  Status LoadSnapshotFromStore();
  Status RerateAllCustomers(uint64_t* rerated);
  Status Rerate(const rating::ReferenceChange& change, bool everything, uint64_t* rerated);
  // Runs fn on every shard thread and waits for all of them.
  Status Broadcast(const std::function<Status(Shard&)>& fn);
  Status RunOnShard(size_t shard, const std::function<Status(Shard&)>& fn);
  // The dedupe filter's builder thread: builds the first filter after Start, then a larger one
  // whenever a shard reports the active one full.
  void RunIdentityFilterBuilder();
  Status BuildIdentityFilter();
  // A new filter from every identity the store holds (the shards already insert into it).
  Status ScanIdentityFilter(std::shared_ptr<IdentityFilter>* built);
  // Any thread: the active filter holds its capacity.
  void RequestIdentityFilterRebuild();

  storage::Env* const env_;
  storage::Writer* const writer_;
  const EngineOptions options_;
  std::shared_ptr<const rating::ReferenceSnapshot> snapshot_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::mutex control_mu_;  // serializes admin operations (never taken on the ingest path)
  std::atomic<uint64_t> alert_epoch_{0};
  std::mutex alert_mu_;
  std::condition_variable alert_cv_;
  Counters counters_;
  bool started_ = false;
  std::thread filter_thread_;
  std::mutex filter_mu_;
  std::condition_variable filter_cv_;
  bool filter_wanted_ = false;
  std::atomic<bool> filter_stop_{false};
  std::shared_ptr<IdentityFilter> active_filter_;  // the builder thread's; what shards ask
};

}  // namespace meterd::core
