#include "storage/writer.h"

#include <lmdb.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <future>
#include <limits>
#include <system_error>

#include "common/thread_name.h"
#include "storage/keys.h"
#include "storage/lmdb_status.h"

namespace meterd::storage {
namespace {

using Clock = std::chrono::steady_clock;

uint64_t MicrosSince(Clock::time_point start) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());
}

// A growth ahead of need must not stall ingest behind a long reader: it waits only briefly and
// is retried after the next batch.
constexpr std::chrono::milliseconds kGrowAheadWait{5};

}  // namespace

Histogram::Histogram(std::initializer_list<uint64_t> upper_bounds) {
  for (uint64_t b : upper_bounds) {
    if (num_bounds_ == kMaxBounds) break;
    bounds_[num_bounds_++] = b;
  }
}

void Histogram::Observe(uint64_t value) {
  size_t i = 0;
  while (i < num_bounds_ && value > bounds_[i]) ++i;
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  total_.fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

uint64_t Histogram::bound(size_t i) const {
  return i < num_bounds_ ? bounds_[i] : std::numeric_limits<uint64_t>::max();
}

Writer::Writer(Env* env, WriterOptions options) : env_(env), options_(std::move(options)) {
  queue_.resize(std::max<size_t>(options_.queue_capacity, 1));
  batch_.resize(std::max<size_t>(options_.max_batch_jobs, 1));
}

Result<std::unique_ptr<Writer>> Writer::Start(Env* env, WriterOptions options) {
  if (env->options().access != Access::kReadWrite) {
    return Status::FailedPrecondition("the writer needs a read-write store");
  }
  std::unique_ptr<Writer> writer(new Writer(env, std::move(options)));
  // A crash leaves committed journal records behind: fold them before anything reads the store.
  METERD_RETURN_IF_ERROR(writer->FoldEverything());
  writer->last_plan_request_ = Clock::now();  // the first window is due one interval from now
  // Both threads run background work at nice +5. The cause of a failure to lower priority is
  // process-wide (seccomp, a security module), so the embedding process reports it once
  // (meterd: daemon/main.cc, from its parse threads). The planner has the shards' and the
  // writer's priority: starved of CPU (tried: nice +15) it let the journal and the unfolded
  // identities grow without bound under full ingest.
  auto start = [](std::thread* thread, const char* name, void (Writer::*body)(), Writer* w) {
    try {
      *thread = std::thread([name, body, w] {
        SetCurrentThreadName(name);
        (void)MarkCurrentThreadBackground();
        (w->*body)();
      });
      return Status::Ok();
    } catch (const std::system_error& e) {
      return Status::Internal(std::string("cannot start thread ") + name + ": " + e.what());
    }
  };
  METERD_RETURN_IF_ERROR(start(&writer->thread_, "meterd-writer", &Writer::Run, writer.get()));
  writer->thread_id_ = writer->thread_.get_id();
  if (Status st = start(&writer->planner_, "meterd-fold", &Writer::RunPlanner, writer.get());
      !st.ok()) {
    writer->Stop();
    return st;
  }
  return writer;
}

Writer::~Writer() { Stop(); }

bool Writer::TryReserve() {
  if (fold_behind_.load(std::memory_order_relaxed)) {
    stats_.fold_throttled.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  std::lock_guard lock(mu_);
  if (stopping_) return true;  // the Submit will answer Unavailable: no point in waiting
  if (count_ + reserved_ >= queue_.size()) return false;
  ++reserved_;
  return true;
}

void Writer::CancelReservation() {
  std::lock_guard lock(mu_);
  if (reserved_ > 0) --reserved_;
}

Status Writer::Submit(WriteJob job, bool reserved) {
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (reserved && reserved_ > 0) {
      --reserved_;  // its slot is free from here on, whatever happens below
    } else {
      reserved = false;
    }
    if (stopping_) return Status::Unavailable("writer stopping");
    if (!reserved && count_ + reserved_ >= queue_.size()) {
      stats_.jobs_rejected.fetch_add(1, std::memory_order_relaxed);
      return Status::ResourceExhausted("write queue full");
    }
    if (waiting_since_.load(std::memory_order_relaxed) == kNothingWaiting) {
      // Only the idle-to-busy transition reads the clock; a busy writer already has a time.
      waiting_since_.store(Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    }
    queue_[(head_ + count_) % queue_.size()] = std::move(job);
    ++count_;
    wake = (count_ == 1);  // the writer sleeps only on an empty queue
    stats_.queue_depth.store(static_cast<int64_t>(count_), std::memory_order_relaxed);
  }
  if (wake) cv_.notify_one();
  return Status::Ok();
}

Status Writer::Execute(std::function<Status(WriteTxn&)> apply) {
  if (std::this_thread::get_id() == thread_id_) {
    return Status::FailedPrecondition("Execute on the writer thread would deadlock");
  }
  std::promise<Status> promise;
  std::future<Status> result = promise.get_future();
  WriteJob job;
  job.apply = std::move(apply);
  job.done = [&promise](const CommitResult& r) { promise.set_value(r.status); };
  METERD_RETURN_IF_ERROR(Submit(std::move(job)));
  return result.get();
}

void Writer::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable() && std::this_thread::get_id() != thread_id_) thread_.join();
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  planner_cv_.notify_all();
  folded_cv_.notify_all();
  if (planner_.joinable() && std::this_thread::get_id() != thread_id_) planner_.join();
}

Status Writer::WaitFolded(std::chrono::milliseconds timeout) {
  if (std::this_thread::get_id() == thread_id_) {
    return Status::FailedPrecondition("WaitFolded on the writer thread would deadlock");
  }
  const uint64_t target = stats_.last_txn_id.load(std::memory_order_acquire);
  if (folded_through() >= target) return Status::Ok();
  std::unique_lock lock(mu_);
  if (stopped_) return Status::Unavailable("writer stopped");
  urgent_ = true;
  cv_.notify_all();
  const uint64_t failures = barrier_failures_;
  const bool done = folded_cv_.wait_for(lock, timeout, [&] {
    return folded_through() >= target || stopped_ || barrier_failures_ != failures;
  });
  if (folded_through() >= target) return Status::Ok();
  if (!done) return Status::Unavailable("the journal fold did not finish in time");
  if (barrier_failures_ != failures) {
    return Status::Unavailable("cannot fold the journal: " + barrier_error_.message());
  }
  return Status::Unavailable("writer stopped");
}

// ---------------------------------------------------------------- the journal fold

void Writer::SetFoldedThrough(uint64_t txn_id) {
  if (txn_id <= folded_through_.load(std::memory_order_relaxed)) return;
  {
    std::lock_guard lock(mu_);
    folded_through_.store(txn_id, std::memory_order_release);
  }
  folded_cv_.notify_all();
}

namespace {
Result<uint64_t> JournalLastSeq(const WriteTxn& txn) {
  std::string key;
  Status st = txn.Last(Db::kJournal, &key, nullptr);
  if (st.code() == StatusCode::kNotFound) return uint64_t{0};
  if (!st.ok()) return st;
  if (key.size() != 8) return Status::Corruption("journal key is not a sequence");
  return GetU64BE(key.data());
}
}  // namespace

Status Writer::CommitOwnTxn(const std::function<Status(WriteTxn&)>& apply, uint64_t* txn_id) {
  for (int attempt = 0;; ++attempt) {
    Result<MDB_txn*> raw = env_->BeginRaw(0);
    if (!raw.ok()) return raw.status();
    WriteTxn txn(env_, *raw, /*holds_gate=*/true, /*borrowed=*/true);
    Status st = apply(txn);
    *txn_id = txn.id();
    if (st.ok()) st = txn.CommitOwned();
    if (st.ok()) return st;
    const int rc = txn.fatal_rc();
    txn.End();  // a growth needs it gone
    if (rc == MDB_MAP_FULL && attempt < 8 && env_->Grow().ok()) {
      stats_.map_growths.fetch_add(1, std::memory_order_relaxed);
      continue;  // apply runs again on the grown map
    }
    return st;
  }
}

Status Writer::FoldEverything() {
  uint64_t ops = 0;
  uint64_t txn_id = 0;
  METERD_RETURN_IF_ERROR(
      CommitOwnTxn([&](WriteTxn& txn) { return FoldWholeJournal(txn, &ops); }, &txn_id));
  stats_.fold_ops.fetch_add(ops, std::memory_order_relaxed);
  // A transaction that changed nothing commits nothing: LMDB gives its id to the next one.
  const uint64_t committed_id = ops > 0 ? txn_id : txn_id - 1;
  if (committed_id > stats_.last_txn_id.load(std::memory_order_relaxed)) {
    stats_.last_txn_id.store(committed_id, std::memory_order_release);
  }
  {
    std::lock_guard lock(mu_);
    ++plan_generation_;  // windows planned before this fold are void
  }
  plan_.reset();
  plan_pending_ = false;
  journal_last_seq_ = 0;  // empty now; later records get higher sequences than any planned
  cut_windows_ = 0;
  fold_behind_.store(false, std::memory_order_relaxed);
  SetFoldedThrough(committed_id);
  return Status::Ok();
}

Status Writer::ApplyFoldSlice(WriteTxn& txn, size_t* slice_end) {
  *slice_end = 0;
  if (!plan_ || plan_->fully_applied()) return Status::Ok();
  const size_t n =
      std::max(options_.fold_slice_ops,
               plan_->ops.size() / std::max<size_t>(options_.fold_slices_per_window, 1));
  const size_t end = std::min(plan_->ops.size(), plan_->applied + n);
  METERD_RETURN_IF_ERROR(ApplyFoldOps(txn, *plan_, plan_->applied, end));
  if (end == plan_->ops.size()) METERD_RETURN_IF_ERROR(DeleteJournalThrough(txn, plan_->last_seq));
  *slice_end = end;
  return Status::Ok();
}

void Writer::AfterCommit(uint64_t txn_id, size_t slice_end, uint64_t journal_last_seq) {
  journal_last_seq_ = journal_last_seq;
  if (plan_ && slice_end > plan_->applied) {
    stats_.fold_ops.fetch_add(slice_end - plan_->applied, std::memory_order_relaxed);
    plan_->applied = slice_end;
    if (plan_->fully_applied()) {
      stats_.fold_windows.fetch_add(1, std::memory_order_relaxed);
      stats_.fold_records.fetch_add(plan_->records, std::memory_order_relaxed);
      const uint64_t through = plan_->folds_through;
      RecyclePlan(std::move(plan_));
      SetFoldedThrough(through);
    }
  }
  // Nothing planned or unplanned is left: every commit so far, this one included, is folded.
  if (!plan_ && !plan_pending_ && journal_last_seq_ < next_fold_seq_) SetFoldedThrough(txn_id);
}

void Writer::RecyclePlan(std::unique_ptr<FoldPlan> plan) {
  std::lock_guard lock(mu_);
  if (!spare_plan_) spare_plan_ = std::move(plan);
}

void Writer::FoldOnly() {
  if (!plan_) return;
  size_t slice_end = 0;
  uint64_t last_seq = 0;
  uint64_t txn_id = 0;
  Status st = CommitOwnTxn(
      [&](WriteTxn& txn) {
        METERD_RETURN_IF_ERROR(ApplyFoldSlice(txn, &slice_end));
        Result<uint64_t> last = JournalLastSeq(txn);
        if (!last.ok()) return last.status();
        last_seq = *last;
        return Status::Ok();
      },
      &txn_id);
  if (!st.ok()) {  // retried after the next idle delay
    stats_.batches_failed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  stats_.commits.fetch_add(1, std::memory_order_relaxed);
  stats_.fold_only_commits.fetch_add(1, std::memory_order_relaxed);
  stats_.last_txn_id.store(txn_id, std::memory_order_release);
  AfterCommit(txn_id, slice_end, last_seq);
}

void Writer::MaybeRequestPlan(bool idle) {
  if (plan_ || plan_pending_ || journal_last_seq_ < next_fold_seq_) return;
  const Clock::time_point now = Clock::now();
  if (!idle && now - last_plan_request_ < options_.fold_interval) return;
  last_plan_request_ = now;
  plan_pending_ = true;
  {
    std::lock_guard lock(mu_);
    plan_wanted_ = true;
    plan_from_ = next_fold_seq_;
    wanted_generation_ = plan_generation_;
  }
  planner_cv_.notify_one();
}

void Writer::RunPlanner() {
  for (;;) {
    uint64_t from = 0;
    uint64_t generation = 0;
    {
      std::unique_lock lock(mu_);
      planner_cv_.wait(lock, [&] { return plan_wanted_ || stopped_; });
      if (stopped_) return;
      plan_wanted_ = false;
      from = plan_from_;
      generation = wanted_generation_;
    }
    // The buffers of an applied window are reused: a window's arena and ops are tens of MB,
    // and allocating them afresh every window fragments the heap (RssAnon crept up in a soak).
    std::unique_ptr<FoldPlan> plan;
    {
      std::lock_guard lock(mu_);
      plan = std::move(spare_plan_);
    }
    if (!plan) plan = std::make_unique<FoldPlan>();
    Status st;
    {
      Result<ReadTxn> txn = env_->BeginRead();
      st = txn.ok() ? BuildFoldPlan(*txn, from, options_.fold_window_bytes, plan.get())
                    : txn.status();
    }
    {
      std::lock_guard lock(mu_);
      ready_plan_ = st.ok() ? std::move(plan) : nullptr;
      ready_generation_ = generation;
      plan_answered_ = true;
    }
    cv_.notify_all();
  }
}

bool Writer::Stalled(Clock::duration limit) const {
  const Clock::rep since = waiting_since_.load(std::memory_order_relaxed);
  if (since == kNothingWaiting) return false;
  return Clock::now().time_since_epoch().count() - since > limit.count();
}

void Writer::Run() {
  // A store opened with less room than it fills (a smaller map_size than its file: LMDB maps
  // just the used pages) would fail its first batch with a full map: make room before any.
  MaybeGrowAhead();
  size_t n = 0;  // jobs of the batch just finished
  for (;;) {
    bool urgent = false;
    bool idle = false;  // no job came for fold_idle_delay while fold work was owed
    bool answered = false;
    std::unique_ptr<FoldPlan> answer;
    uint64_t answer_generation = 0;
    uint64_t generation = 0;
    {
      std::unique_lock lock(mu_);
      if (n > 0) {
        // A finished batch is progress: jobs still queued have waited only since now. Done
        // here, in the lock taken anyway, so progress costs no extra lock per batch.
        waiting_since_.store(count_ > 0 ? Clock::now().time_since_epoch().count() : kNothingWaiting,
                             std::memory_order_relaxed);
      }
      n = 0;
      auto ready = [&] { return count_ > 0 || stopping_ || urgent_ || plan_answered_; };
      if (FoldOwed() || plan_pending_) {
        idle = !cv_.wait_for(lock, options_.fold_idle_delay, ready);
      } else {
        cv_.wait(lock, ready);
      }
      if (plan_answered_) {
        answered = true;
        plan_answered_ = false;
        answer = std::move(ready_plan_);
        answer_generation = ready_generation_;
      }
      generation = plan_generation_;
      urgent = std::exchange(urgent_, false);
      if (count_ == 0 && stopping_) break;  // stopping and drained
      n = std::min(count_, batch_.size());
      for (size_t k = 0; k < n; ++k) {
        batch_[k].job = std::move(queue_[head_]);
        batch_[k].failed = false;
        batch_[k].status = Status::Ok();
        head_ = (head_ + 1) % queue_.size();
      }
      count_ -= n;
      stats_.queue_depth.store(static_cast<int64_t>(count_), std::memory_order_relaxed);
    }
    if (answered && answer_generation == generation) {
      plan_pending_ = false;
      // One cut window is a burst the next window absorbs; two in a row mean ingest outruns
      // the fold, and only then does ingest wait.
      cut_windows_ = answer && answer->cut ? cut_windows_ + 1 : 0;
      fold_behind_.store(cut_windows_ >= 2, std::memory_order_relaxed);
      if (answer && answer->records > 0) {
        next_fold_seq_ = answer->last_seq + 1;
        plan_ = std::move(answer);
      } else if (answer) {
        SetFoldedThrough(answer->folds_through);  // nothing was left to fold at its snapshot
      }
    }
    if (urgent) {
      stats_.fold_barriers.fetch_add(1, std::memory_order_relaxed);
      Status folded = FoldEverything();
      if (!folded.ok()) {  // a full map or disk: the waiters answer 503, the next one retries
        {
          std::lock_guard lock(mu_);
          ++barrier_failures_;
          barrier_error_ = folded;
        }
        folded_cv_.notify_all();
      }
    }
    if (n > 0) {
      ProcessBatch(0, n);
      for (size_t k = 0; k < n; ++k) batch_[k].job = WriteJob{};  // drop captures promptly
      MaybeGrowAhead();
    } else if (idle) {
      FoldOnly();
    }
    MaybeRequestPlan(idle);
  }
  // A clean stop leaves no journal behind: the next start has nothing to fold.
  (void)FoldEverything();
}

void Writer::FailAll(size_t begin, size_t end, const Status& status) {
  stats_.batches_failed.fetch_add(1, std::memory_order_relaxed);
  for (size_t i = begin; i < end; ++i) {
    Slot& slot = batch_[i];
    CommitResult result;
    if (slot.failed) {
      stats_.jobs_failed.fetch_add(1, std::memory_order_relaxed);
      result.status = slot.status;
    } else {
      result.status = status;
    }
    if (slot.job.done) slot.job.done(result);
  }
}

// One transaction for the whole range. The first pass applies every job directly to the batch
// txn (no per-job cost). If a job fails on its own, the batch is aborted and re-applied with
// each job in an LMDB child txn, so a failing job's writes are dropped alone; that costs page
// copies, paid only in the rare batch that holds a failing job. Environment trouble poisons
// the whole txn: a full map grows and re-runs the batch, a batch too large for one txn is
// split, anything else fails every job of the range.
void Writer::ProcessBatch(size_t begin, size_t end) {
  const Clock::time_point batch_start = Clock::now();
  bool isolate = false;
  for (;;) {
    Result<MDB_txn*> raw = env_->BeginRaw(0);
    if (!raw.ok()) {
      FailAll(begin, end, raw.status());
      return;
    }
    WriteTxn txn(env_, *raw, /*holds_gate=*/true, /*borrowed=*/true);
    int env_rc = 0;
    Status env_status;
    bool rerun = false;
    size_t live = 0;
    for (size_t i = begin; i < end && env_rc == 0 && !rerun; ++i) {
      Slot& slot = batch_[i];
      if (slot.failed) continue;
      if (!isolate) {
        Status st = slot.job.apply ? slot.job.apply(txn) : Status::Ok();
        if (txn.fatal_rc() != 0) {
          env_rc = txn.fatal_rc();
          env_status = st.ok() ? LmdbStatus(env_rc, "apply") : std::move(st);
        } else if (!st.ok()) {
          slot.failed = true;
          slot.status = std::move(st);
          isolate = true;
          rerun = true;
        } else {
          ++live;
        }
        continue;
      }
      Result<WriteTxn> child = txn.BeginChild();
      if (!child.ok()) {
        env_rc = txn.fatal_rc() != 0 ? txn.fatal_rc() : MDB_PANIC;
        env_status = child.status();
        break;
      }
      Status st = slot.job.apply ? slot.job.apply(*child) : Status::Ok();
      if (child->fatal_rc() != 0) {
        env_rc = child->fatal_rc();
        env_status = st.ok() ? LmdbStatus(env_rc, "apply") : std::move(st);
      } else if (!st.ok()) {
        slot.failed = true;  // the child aborts as it goes out of scope
        slot.status = std::move(st);
      } else if (Status cs = child->CommitOwned(); !cs.ok()) {
        env_rc = child->fatal_rc() != 0 ? child->fatal_rc() : MDB_PANIC;
        env_status = std::move(cs);
      } else {
        ++live;
      }
    }
    size_t slice_end = 0;
    uint64_t journal_last_seq = 0;
    if (!rerun && env_rc == 0 && live > 0) {
      // The fold rides in the batch's transaction: no commit (and no sync) of its own.
      Status fold = ApplyFoldSlice(txn, &slice_end);
      Result<uint64_t> last = fold.ok() ? JournalLastSeq(txn) : Result<uint64_t>(fold);
      if (last.ok()) {
        journal_last_seq = *last;
      } else {
        env_rc = txn.fatal_rc() != 0 ? txn.fatal_rc() : MDB_PANIC;
        env_status = last.status();
      }
    }
    if (rerun) {
      stats_.batch_reruns.fetch_add(1, std::memory_order_relaxed);
      continue;  // txn aborts at the end of this scope
    }
    if (env_rc != 0) {
      txn.End();  // the growth below needs this txn gone
      if (NoSpace(env_rc, &env_status)) {
        stats_.map_full_events.fetch_add(1, std::memory_order_relaxed);
      }
      if (env_rc == MDB_MAP_FULL) {
        Status grown = env_->Grow();
        if (grown.ok()) {
          stats_.map_growths.fetch_add(1, std::memory_order_relaxed);
          stats_.batch_reruns.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        FailAll(begin, end, grown);
        return;
      }
      if (env_rc == MDB_TXN_FULL && end - begin > 1) {
        const size_t mid = begin + (end - begin) / 2;
        ProcessBatch(begin, mid);
        ProcessBatch(mid, end);
        return;
      }
      FailAll(begin, end, env_status);
      return;
    }
    if (live == 0) {  // every job failed on its own: nothing to commit
      txn.End();
      for (size_t i = begin; i < end; ++i) {
        stats_.jobs_failed.fetch_add(1, std::memory_order_relaxed);
        CommitResult result;
        result.status = batch_[i].status;
        if (batch_[i].job.done) batch_[i].job.done(result);
      }
      return;
    }
    if (options_.fault_for_testing) {
      Status fault = options_.fault_for_testing(++batch_counter_);
      if (!fault.ok()) {
        txn.End();
        FailAll(begin, end, fault);
        return;
      }
    }
    const uint64_t txn_id = txn.id();
    const Clock::time_point commit_start = Clock::now();
    Status committed = txn.CommitOwned();
    if (!committed.ok()) {
      const int rc = txn.fatal_rc();
      if (NoSpace(rc, &committed)) stats_.map_full_events.fetch_add(1, std::memory_order_relaxed);
      // Saving the freelist at commit can itself need pages.
      if (rc == MDB_MAP_FULL) {
        Status grown = env_->Grow();
        if (grown.ok()) {
          stats_.map_growths.fetch_add(1, std::memory_order_relaxed);
          stats_.batch_reruns.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        committed = grown;
      }
      FailAll(begin, end, committed);
      return;
    }
    stats_.commit_micros.Observe(MicrosSince(commit_start));
    stats_.batch_micros.Observe(MicrosSince(batch_start));
    stats_.batch_jobs.Observe(live);
    stats_.commits.fetch_add(1, std::memory_order_relaxed);
    stats_.jobs_committed.fetch_add(live, std::memory_order_relaxed);
    stats_.last_txn_id.store(txn_id, std::memory_order_release);
    for (size_t i = begin; i < end; ++i) {
      Slot& slot = batch_[i];
      CommitResult result;
      if (slot.failed) {
        stats_.jobs_failed.fetch_add(1, std::memory_order_relaxed);
        result.status = slot.status;
      } else {
        result.txn_id = txn_id;
        result.batch_jobs = static_cast<uint32_t>(live);
      }
      if (slot.job.done) slot.job.done(result);
    }
    if (options_.on_commit) options_.on_commit(CommitInfo{txn_id, static_cast<uint32_t>(live)});
    AfterCommit(txn_id, slice_end, journal_last_seq);
    return;
  }
}

bool Writer::NoSpace(int rc, Status* status) const {
  if (IsNoSpace(rc)) return true;
  // A short write (LMDB's EIO) on a nearly full disk is a full disk, not a broken one.
  if (rc == EIO && env_->LooksOutOfSpace()) {
    *status = Status::ResourceExhausted("disk full: " + status->message());
    return true;
  }
  return false;
}

void Writer::MaybeGrowAhead() {
  const uint32_t percent = options_.grow_ahead_percent;
  if (percent == 0 || percent >= 100) return;
  const uint64_t map = env_->map_size();
  if (map >= env_->max_map_size()) return;
  if (env_->used_bytes() * 100 < map * percent) return;
  if (env_->Grow(kGrowAheadWait).ok()) {
    stats_.map_growths.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace meterd::storage
