// The single writer: one thread owns every write to the store and commits many jobs per LMDB
// transaction (group commit). Submit is thread-safe and never blocks on I/O; a job's done runs on
// the writer thread only after the commit holding its writes returned (synced per SyncMode).
// Stats are plain atomics, safe to read from any thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "common/status.h"
#include "storage/env.h"
#include "storage/journal.h"

namespace meterd::storage {

struct CommitResult {
  // OK: the job's writes are committed (durable per the Env's SyncMode). Otherwise none of them
  // are: ResourceExhausted for a full map or disk (answer 503), the job's own error when its
  // apply failed, or the LMDB error of the commit.
  Status status;
  uint64_t txn_id = 0;      // LMDB id of the committing txn (orders commits; 0 on failure)
  uint32_t batch_jobs = 0;  // jobs committed in that txn
};

struct WriteJob {
  // Applies the job's writes. It may run more than once (after a map growth, or when another
  // job of its batch failed and the batch is re-run), always on a fresh view of the store: act
  // only through the txn, and overwrite (never accumulate) anything recorded outside it, e.g.
  // the sequence numbers it was given. An error fails this job only; its writes are dropped.
  // Runs on the writer thread: keep it to encoding and puts, no blocking.
  std::function<Status(WriteTxn&)> apply;
  // Called exactly once per accepted job, on the writer thread; hand off and return quickly.
  std::function<void(const CommitResult&)> done;
};

// Fixed-bucket histogram with atomic counters (Prometheus-style upper bounds, last bucket +Inf).
class Histogram {
 public:
  static constexpr size_t kMaxBounds = 20;
  Histogram(std::initializer_list<uint64_t> upper_bounds);
  void Observe(uint64_t value);
  size_t bucket_count() const { return num_bounds_ + 1; }
  // Upper bound of bucket i (UINT64_MAX for the last).
  uint64_t bound(size_t i) const;
  // Non-cumulative count of bucket i.
  uint64_t count(size_t i) const { return counts_[i].load(std::memory_order_relaxed); }
  uint64_t total_count() const { return total_.load(std::memory_order_relaxed); }
  uint64_t sum() const { return sum_.load(std::memory_order_relaxed); }

 private:
  std::array<uint64_t, kMaxBounds> bounds_{};
  size_t num_bounds_ = 0;
  std::array<std::atomic<uint64_t>, kMaxBounds + 1> counts_{};
  std::atomic<uint64_t> total_{0};
  std::atomic<uint64_t> sum_{0};
};

struct WriterStats {
  std::atomic<uint64_t> commits{0};
  std::atomic<uint64_t> jobs_committed{0};
  std::atomic<uint64_t> jobs_failed{0};      // their own apply failed
  std::atomic<uint64_t> jobs_rejected{0};    // Submit refused: queue full
  std::atomic<uint64_t> batches_failed{0};   // whole batch failed (map/disk full, I/O)
  std::atomic<uint64_t> batch_reruns{0};     // batch re-applied (growth, job isolation)
  std::atomic<uint64_t> map_full_events{0};  // MDB_MAP_FULL, ENOSPC or EFBIG met
  std::atomic<uint64_t> map_growths{0};
  std::atomic<int64_t> queue_depth{0};
  std::atomic<uint64_t> last_txn_id{0};
  Histogram commit_micros{
      100,   250,   500,   1000,   2500,   5000,
      10000, 25000, 50000, 100000, 250000, 1000000};  // mdb_txn_commit, including its fsyncs
  Histogram batch_micros{100,   250,   500,    1000,   2500,   5000, 10000,
                         25000, 50000, 100000, 250000, 1000000};  // first apply to commit return
  Histogram batch_jobs{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};
  // The journal fold (storage/journal.h).
  std::atomic<uint64_t> fold_windows{0};     // windows fully applied
  std::atomic<uint64_t> fold_ops{0};         // writes applied to the B-trees by folds
  std::atomic<uint64_t> fold_records{0};     // journal records folded and deleted
  std::atomic<uint64_t> fold_only_commits{0};  // commits that carried no job, only a fold
  std::atomic<uint64_t> fold_barriers{0};    // whole-journal folds for WaitFolded
  std::atomic<uint64_t> fold_throttled{0};   // reservations refused while the fold caught up
};

struct CommitInfo {
  uint64_t txn_id = 0;
  uint32_t jobs = 0;
};

struct WriterOptions {
  size_t queue_capacity = 4096;  // Submit answers ResourceExhausted beyond this
  size_t max_batch_jobs = 1024;  // jobs per transaction
  // Between batches, grow the map ahead of need once used bytes pass this share of it (only if
  // no transaction is open; 0 disables). Growing early avoids MDB_MAP_FULL mid-batch.
  uint32_t grow_ahead_percent = 90;
  // Post-commit listener, on the writer thread after every job's done (e.g. wake long-pollers).
  std::function<void(const CommitInfo&)> on_commit;
  // The journal fold (storage/journal.h). A window is planned (read and sorted off the writer
  // thread) at most every fold_interval while jobs keep coming, after fold_idle_delay once the
  // queue is empty; it is applied a slice per commit, riding in the batches' transactions.
  std::chrono::milliseconds fold_interval{500};
  std::chrono::milliseconds fold_idle_delay{10};
  size_t fold_window_bytes = size_t{128} << 20;  // journal record bytes per window
  // Writes applied per commit: a window's writes over this many commits, at least
  // fold_slice_ops each. Small slices keep each commit short; a window not finished when the
  // next is due delays it, so under heavier load windows grow and slices with them.
  size_t fold_slices_per_window = 32;
  size_t fold_slice_ops = 2048;
  // Test seam: called before each commit with a 1-based batch counter; a non-OK result aborts
  // that batch and fails all its jobs with it, as a failed commit would.
  std::function<Status(uint64_t batch)> fault_for_testing;
};

class Writer {
  using Clock = std::chrono::steady_clock;

 public:
  // Starts the writer thread. REQUIRES: env outlives the Writer; env is read-write.
  static Result<std::unique_ptr<Writer>> Start(Env* env, WriterOptions options);
  ~Writer();  // Stop()
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Queues a job. ResourceExhausted when the queue is full (answer 429), Unavailable once
  // stopping; in both cases done is never called. Never blocks on the writer. With `reserved`,
  // the job takes a slot TryReserve granted and is never refused for room.
  Status Submit(WriteJob job, bool reserved = false);
  // Back-pressure for producers that change memory before they can submit (the shards): a slot
  // is held for one later Submit(job, true), so that Submit cannot be refused for room. False
  // when queued jobs and held slots fill the queue, and while the journal fold is behind (its
  // last two windows were cut at fold_window_bytes: ingest outran the fold, so new usage waits
  // until a window takes the rest); true once stopping (Submit then answers Unavailable). Any
  // thread.
  bool TryReserve();
  // Gives back a slot TryReserve granted and no Submit used.
  void CancelReservation();
  // Submits apply and waits for its commit; returns its status. For setup, tools and tests;
  // FailedPrecondition when called on the writer thread.
  Status Execute(std::function<Status(WriteTxn&)> apply);
  // Refuses new jobs, commits everything already queued, folds the whole journal, joins the
  // thread. Idempotent.
  void Stop();

  // Every commit with an LMDB txn id up to this one has its journal folded: the journaled
  // databases (storage/journal.h) hold its writes. Any thread.
  uint64_t folded_through() const { return folded_through_.load(std::memory_order_acquire); }
  // Waits until every commit that returned before the call is folded, asking the writer to fold
  // the whole journal at once: for readers that scan the journaled databases. Unavailable
  // after timeout or once stopped. Not on the writer thread.
  Status WaitFolded(std::chrono::milliseconds timeout);

  const WriterStats& stats() const { return stats_; }

  // True when work has been waiting (jobs queued or a batch in progress) for longer than limit
  // without the writer finishing a batch: a wedged writer (hung I/O, an apply or done that
  // blocks). A finished batch counts as progress even when it failed (a full disk is answered
  // with 503s, which a restart would not fix). An idle writer is never stalled. Any thread; two
  // atomic loads and a clock read, no lock.
  bool Stalled(std::chrono::steady_clock::duration limit) const;

 private:
  struct Slot {
    WriteJob job;
    Status status;  // failure of this job's own apply
    bool failed = false;
  };

  Writer(Env* env, WriterOptions options);
  void Run();
  // Commits jobs [begin, end) of batch_ as one transaction (or splits it, see .cc).
  void ProcessBatch(size_t begin, size_t end);
  void FailAll(size_t begin, size_t end, const Status& status);
  void MaybeGrowAhead();
  // True when rc means the map or the disk is full; rewrites *status to ResourceExhausted when
  // LMDB's own code hid that.
  bool NoSpace(int rc, Status* status) const;

  // --- the journal fold (writer thread unless noted) ---
  // Runs apply in a write transaction of its own and commits it, growing the map and running
  // apply again when it fills. *txn_id: the transaction's id.
  Status CommitOwnTxn(const std::function<Status(WriteTxn&)>& apply, uint64_t* txn_id);
  // Folds the whole journal in one transaction of its own (start, stop, barriers).
  Status FoldEverything();
  // In txn (before its commit): the next slice of the active window, and the window's records
  // once the slice completes it. *slice_end: where the window's applied mark moves on commit.
  Status ApplyFoldSlice(WriteTxn& txn, size_t* slice_end);
  // After txn committed as txn_id: moves the applied mark, finishes a completed window.
  void AfterCommit(uint64_t txn_id, size_t slice_end, uint64_t journal_last_seq);
  // A commit carrying no job: applies a slice of the active window.
  void FoldOnly();
  // Asks the planner for the next window when one is owed and due.
  void MaybeRequestPlan(bool idle);
  void SetFoldedThrough(uint64_t txn_id);
  // Keeps an applied window's buffers for the planner's next window.
  void RecyclePlan(std::unique_ptr<FoldPlan> plan);
  bool FoldOwed() const { return journal_last_seq_ >= next_fold_seq_ || plan_ != nullptr; }
  void RunPlanner();

  Env* const env_;
  const WriterOptions options_;
  WriterStats stats_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<WriteJob> queue_;  // ring buffer of queue_capacity slots
  size_t head_ = 0;
  size_t count_ = 0;
  size_t reserved_ = 0;  // slots held by TryReserve; count_ + reserved_ <= queue_.size()
  bool stopping_ = false;
  // steady_clock ticks since work began to wait without progress: set by Submit when it queues
  // into an idle writer, moved to now when a batch finishes and jobs remain, kNothingWaiting when
  // the queue drains. Written under mu_ only (so Submit's check-and-set cannot race the writer's
  // reset); read lock-free by Stalled().
  static constexpr std::chrono::steady_clock::rep kNothingWaiting =
      std::numeric_limits<std::chrono::steady_clock::rep>::max();
  std::atomic<std::chrono::steady_clock::rep> waiting_since_{kNothingWaiting};

  // The fold: the planner thread reads windows; the writer applies them.
  std::atomic<uint64_t> folded_through_{0};
  std::atomic<bool> fold_behind_{false};  // the last two windows were cut at their byte budget
  std::condition_variable folded_cv_;  // with mu_: folded_through_ advanced or stopped
  bool urgent_ = false;                // under mu_: a WaitFolded is waiting
  uint64_t barrier_failures_ = 0;      // under mu_: whole-journal folds for WaitFolded that failed
  Status barrier_error_;               // under mu_: the last one's reason
  bool stopped_ = false;               // under mu_: the writer thread has finished
  std::condition_variable planner_cv_;  // with mu_
  bool plan_wanted_ = false;           // under mu_: the planner should read from plan_from_
  bool plan_answered_ = false;         // under mu_: the planner finished (ready_plan_ or failed)
  uint64_t plan_from_ = 0;             // under mu_
  uint64_t plan_generation_ = 0;       // under mu_: bumped when a whole-journal fold voids plans
  uint64_t wanted_generation_ = 0;     // under mu_
  std::unique_ptr<FoldPlan> ready_plan_;  // under mu_: read, not yet taken by the writer
  std::unique_ptr<FoldPlan> spare_plan_;  // under mu_: an applied window's buffers, for the next
  uint64_t ready_generation_ = 0;      // under mu_
  std::thread planner_;
  // Writer thread only.
  std::unique_ptr<FoldPlan> plan_;     // the window being applied
  bool plan_pending_ = false;          // asked the planner, no answer yet
  uint64_t next_fold_seq_ = 1;         // first journal sequence no window covers
  uint64_t journal_last_seq_ = 0;      // last journal sequence committed
  int cut_windows_ = 0;                // consecutive windows cut at their byte budget
  Clock::time_point last_plan_request_{};

  std::vector<Slot> batch_;  // writer thread only
  uint64_t batch_counter_ = 0;
  std::thread thread_;
  std::thread::id thread_id_;
};

}  // namespace meterd::storage
