#include "storage/writer.h"

#include <lmdb.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <future>
#include <limits>
#include <system_error>

#include "common/thread_name.h"
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
  try {
    writer->thread_ = std::thread([w = writer.get()] {
      SetCurrentThreadName("meterd-writer");
      // The cause of a failure is process-wide (seccomp, a security module), so the embedding
      // process reports it once (meterd: daemon/main.cc, from its parse threads).
      (void)MarkCurrentThreadBackground();
      w->Run();
    });
  } catch (const std::system_error& e) {
    return Status::Internal(std::string("cannot start the writer thread: ") + e.what());
  }
  writer->thread_id_ = writer->thread_.get_id();
  return writer;
}

Writer::~Writer() { Stop(); }

bool Writer::TryReserve() {
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
    {
      std::unique_lock lock(mu_);
      if (n > 0) {
        // A finished batch is progress: jobs still queued have waited only since now. Done
        // here, in the lock taken anyway, so progress costs no extra lock per batch.
        waiting_since_.store(count_ > 0 ? Clock::now().time_since_epoch().count() : kNothingWaiting,
                             std::memory_order_relaxed);
      }
      cv_.wait(lock, [&] { return count_ > 0 || stopping_; });
      if (count_ == 0) return;  // stopping and drained
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
    ProcessBatch(0, n);
    for (size_t k = 0; k < n; ++k) batch_[k].job = WriteJob{};  // drop captures promptly
    MaybeGrowAhead();
  }
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
    stats_.last_txn_id.store(txn_id, std::memory_order_relaxed);
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
