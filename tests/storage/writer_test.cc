#include "storage/writer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace meterd::storage {
namespace {

using testing::Cat;
using testing::TempDir;

EnvOptions Options() { return testing::SmallEnvOptions(); }

// Collects every done callback (they run on the writer thread).
struct Outcomes {
  std::mutex mu;
  std::vector<CommitResult> results;
  std::atomic<int> count{0};

  explicit Outcomes(size_t n) : results(n) {}
  std::function<void(const CommitResult&)> Done(size_t i) {
    return [this, i](const CommitResult& r) {
      {
        std::lock_guard lock(mu);
        results[i] = r;
      }
      count.fetch_add(1);
    };
  }
  void WaitFor(int n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (count.load() < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_EQ(count.load(), n);
  }
};

// Holds the writer inside a job's apply until released, so that jobs submitted meanwhile
// queue up and form the next batch.
class WriterBlocker {
 public:
  explicit WriterBlocker(Writer* writer) {
    WriteJob job;
    job.apply = [this](WriteTxn&) {
      entered_.store(true);
      release_.wait();
      return Status::Ok();
    };
    job.done = [this](const CommitResult&) { done_.store(true); };
    EXPECT_TRUE(writer->Submit(std::move(job)).ok());
    while (!entered_.load()) std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  void Release() { promise_.set_value(); }
  void WaitDone() {
    while (!done_.load()) std::this_thread::sleep_for(std::chrono::microseconds(100));
  }

 private:
  std::promise<void> promise_;
  std::shared_future<void> release_ = promise_.get_future().share();
  std::atomic<bool> entered_{false};
  std::atomic<bool> done_{false};
};

// The writer records progress when it goes back for more work, just after a batch's dones ran;
// waits (up to 30 s) until it has and nothing is waiting any more.
bool EventuallyIdle(const Writer& writer) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (writer.Stalled(std::chrono::nanoseconds(0)) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return !writer.Stalled(std::chrono::nanoseconds(0));
}

class WriterTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(WriterOptions{}); }
  void Open(WriterOptions options) {
    writer_.reset();
    if (!env_) {
      Result<std::unique_ptr<Env>> env = Env::Open(dir_.path(), Options());
      ASSERT_TRUE(env.ok()) << env.status().ToString();
      env_ = std::move(env).value();
    }
    Result<std::unique_ptr<Writer>> writer = Writer::Start(env_.get(), std::move(options));
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    writer_ = std::move(writer).value();
  }
  bool Has(Db db, std::string_view key) {
    Result<ReadTxn> r = env_->BeginRead();
    EXPECT_TRUE(r.ok());
    Result<bool> has = r->Contains(db, key);
    EXPECT_TRUE(has.ok());
    return has.ok() && *has;
  }

  TempDir dir_;
  std::unique_ptr<Env> env_;
  std::unique_ptr<Writer> writer_;
};

TEST_F(WriterTest, CallsDoneOnlyAfterTheCommitIsVisibleToNewReaders) {
  constexpr int kJobs = 200;
  std::atomic<int> visible_in_done{0};
  std::atomic<int> visible_in_apply{0};
  Outcomes outcomes(kJobs);
  for (int i = 0; i < kJobs; ++i) {
    const std::string key = Cat("k", i);
    WriteJob job;
    job.apply = [this, key, &visible_in_apply](WriteTxn& txn) {
      METERD_RETURN_IF_ERROR(txn.Put(Db::kLines, key, "v"));
      if (Has(Db::kLines, key)) visible_in_apply.fetch_add(1);  // a reader must not see it yet
      return Status::Ok();
    };
    auto record = outcomes.Done(i);
    job.done = [this, key, record, &visible_in_done](const CommitResult& r) {
      if (Has(Db::kLines, key)) visible_in_done.fetch_add(1);
      record(r);
    };
    ASSERT_TRUE(writer_->Submit(std::move(job)).ok());
  }
  outcomes.WaitFor(kJobs);
  EXPECT_EQ(visible_in_apply.load(), 0);
  EXPECT_EQ(visible_in_done.load(), kJobs);
  for (const CommitResult& r : outcomes.results) {
    EXPECT_TRUE(r.status.ok());
    EXPECT_GT(r.txn_id, 0u);
  }
}

TEST_F(WriterTest, CommitsJobsQueuedDuringACommitTogetherInOneTransaction) {
  WriterBlocker blocker(writer_.get());
  constexpr int kJobs = 500;
  Outcomes outcomes(kJobs);
  for (int i = 0; i < kJobs; ++i) {
    WriteJob job;
    job.apply = [i](WriteTxn& txn) { return txn.Put(Db::kLines, Cat("k", i), "v"); };
    job.done = outcomes.Done(i);
    ASSERT_TRUE(writer_->Submit(std::move(job)).ok());
  }
  EXPECT_EQ(writer_->stats().queue_depth.load(), kJobs);
  blocker.Release();
  outcomes.WaitFor(kJobs);
  const uint64_t txn_id = outcomes.results[0].txn_id;
  for (const CommitResult& r : outcomes.results) {
    EXPECT_TRUE(r.status.ok());
    EXPECT_EQ(r.txn_id, txn_id);
    EXPECT_EQ(r.batch_jobs, static_cast<uint32_t>(kJobs));
  }
  EXPECT_EQ(writer_->stats().commits.load(), 2u);
  EXPECT_EQ(writer_->stats().jobs_committed.load(), kJobs + 1u);
  EXPECT_EQ(writer_->stats().queue_depth.load(), 0);
  EXPECT_EQ(writer_->stats().batch_jobs.total_count(), 2u);
  EXPECT_EQ(writer_->stats().commit_micros.total_count(), 2u);
}

TEST_F(WriterTest, AFailingJobGetsItsOwnErrorAndDoesNotPoisonItsBatch) {
  WriterBlocker blocker(writer_.get());
  constexpr int kJobs = 10;
  Outcomes outcomes(kJobs);
  for (int i = 0; i < kJobs; ++i) {
    WriteJob job;
    job.apply = [i](WriteTxn& txn) {
      METERD_RETURN_IF_ERROR(txn.Put(Db::kLines, Cat("k", i), "v"));
      if (i == 4) return Status::InvalidArgument("job four is bad");
      return Status::Ok();
    };
    job.done = outcomes.Done(i);
    ASSERT_TRUE(writer_->Submit(std::move(job)).ok());
  }
  blocker.Release();
  outcomes.WaitFor(kJobs);
  for (int i = 0; i < kJobs; ++i) {
    const CommitResult& r = outcomes.results[i];
    if (i == 4) {
      EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
      EXPECT_EQ(r.status.message(), "job four is bad");
      EXPECT_FALSE(Has(Db::kLines, "k4"));
    } else {
      EXPECT_TRUE(r.status.ok()) << i << ": " << r.status.ToString();
      EXPECT_EQ(r.batch_jobs, static_cast<uint32_t>(kJobs - 1));
      EXPECT_TRUE(Has(Db::kLines, Cat("k", i)));
    }
  }
  EXPECT_EQ(writer_->stats().jobs_failed.load(), 1u);
  EXPECT_GE(writer_->stats().batch_reruns.load(), 1u);
}

TEST_F(WriterTest, ManyFailingJobsInOneBatchAreEachDroppedAlone) {
  WriterBlocker blocker(writer_.get());
  constexpr int kJobs = 100;
  Outcomes outcomes(kJobs);
  for (int i = 0; i < kJobs; ++i) {
    WriteJob job;
    job.apply = [i](WriteTxn& txn) {
      // Each job also updates a shared counter: only committed jobs may count.
      std::string v;
      uint64_t n = 0;
      if (txn.Get(Db::kTotals, "counter", &v).ok()) n = GetU64BE(v.data());
      METERD_RETURN_IF_ERROR(txn.Put(Db::kTotals, "counter", EncodeU64BE(n + 1)));
      METERD_RETURN_IF_ERROR(txn.Put(Db::kLines, Cat("k", i), "v"));
      return i % 3 == 0 ? Status::Internal("odd one out") : Status::Ok();
    };
    job.done = outcomes.Done(i);
    ASSERT_TRUE(writer_->Submit(std::move(job)).ok());
  }
  blocker.Release();
  outcomes.WaitFor(kJobs);
  int committed = 0;
  for (int i = 0; i < kJobs; ++i) {
    EXPECT_EQ(outcomes.results[i].status.ok(), i % 3 != 0) << i;
    EXPECT_EQ(Has(Db::kLines, Cat("k", i)), i % 3 != 0) << i;
    committed += i % 3 != 0;
  }
  Result<ReadTxn> r = env_->BeginRead();
  std::string v;
  ASSERT_TRUE(r->Get(Db::kTotals, "counter", &v).ok());
  EXPECT_EQ(GetU64BE(v.data()), static_cast<uint64_t>(committed));
}

TEST_F(WriterTest, UpdatesThroughCachedCursorsWorkInTheIsolationPass) {
  WriterBlocker blocker(writer_.get());
  constexpr int kJobs = 20;
  Outcomes outcomes(kJobs);
  for (int i = 0; i < kJobs; ++i) {
    WriteJob job;
    job.apply = [i](WriteTxn& txn) -> Status {
      std::string value;
      METERD_RETURN_IF_ERROR(txn.Update(Db::kTotals, "sum", [&](const std::string_view* current) {
        const uint64_t n = current == nullptr ? 0 : GetU64BE(current->data());
        value = EncodeU64BE(n + static_cast<uint64_t>(i));
        return std::optional<std::string_view>(value);
      }));
      return i == 7 ? Status::Internal("no") : Status::Ok();
    };
    job.done = outcomes.Done(i);
    ASSERT_TRUE(writer_->Submit(std::move(job)).ok());
  }
  blocker.Release();
  outcomes.WaitFor(kJobs);
  Result<ReadTxn> r = env_->BeginRead();
  std::string v;
  ASSERT_TRUE(r->Get(Db::kTotals, "sum", &v).ok());
  EXPECT_EQ(GetU64BE(v.data()), static_cast<uint64_t>(kJobs * (kJobs - 1) / 2 - 7));
}

TEST_F(WriterTest, ABatchWhoseJobsAllFailCommitsNothing) {
  const uint64_t commits_before = writer_->stats().commits.load();
  Status st = writer_->Execute([](WriteTxn& txn) {
    METERD_RETURN_IF_ERROR(txn.Put(Db::kLines, "k", "v"));
    return Status::FailedPrecondition("no");
  });
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(Has(Db::kLines, "k"));
  EXPECT_EQ(writer_->stats().commits.load(), commits_before);
}

TEST_F(WriterTest, AJobCannotCommitTheTransactionItWasLent) {
  Status inner;
  Status st = writer_->Execute([&inner](WriteTxn& txn) {
    METERD_RETURN_IF_ERROR(txn.Put(Db::kLines, "k", "v"));
    inner = std::move(txn).Commit();
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(inner.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Has(Db::kLines, "k"));
}

TEST_F(WriterTest, AFullQueueRefusesImmediatelyWithResourceExhausted) {
  WriterOptions o;
  o.queue_capacity = 4;
  Open(std::move(o));
  WriterBlocker blocker(writer_.get());
  std::atomic<int> done{0};
  for (int i = 0; i < 4; ++i) {
    WriteJob job;
    job.apply = [](WriteTxn&) { return Status::Ok(); };
    job.done = [&done](const CommitResult&) { done.fetch_add(1); };
    ASSERT_TRUE(writer_->Submit(std::move(job)).ok());
  }
  WriteJob extra;
  bool extra_done = false;
  extra.apply = [](WriteTxn&) { return Status::Ok(); };
  extra.done = [&extra_done](const CommitResult&) { extra_done = true; };
  const auto start = std::chrono::steady_clock::now();
  Status refused = writer_->Submit(std::move(extra));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(50));
  EXPECT_EQ(refused.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(writer_->stats().jobs_rejected.load(), 1u);
  blocker.Release();
  blocker.WaitDone();
  while (done.load() < 4) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  writer_->Stop();
  EXPECT_FALSE(extra_done);  // a refused job is never called back
}

TEST_F(WriterTest, AReservedSlotIsNeverRefusedAndCountsAgainstTheQueue) {
  WriterOptions o;
  o.queue_capacity = 2;
  Open(std::move(o));
  WriterBlocker blocker(writer_.get());
  auto job = [](std::atomic<int>* done) {
    WriteJob j;
    j.apply = [](WriteTxn&) { return Status::Ok(); };
    j.done = [done](const CommitResult& r) {
      if (r.status.ok()) done->fetch_add(1);
    };
    return j;
  };
  std::atomic<int> done{0};
  ASSERT_TRUE(writer_->TryReserve());
  ASSERT_TRUE(writer_->TryReserve());
  EXPECT_FALSE(writer_->TryReserve());  // two slots held: the queue is full
  // An unreserved job finds no room, although nothing is queued yet.
  EXPECT_EQ(writer_->Submit(job(&done)).code(), StatusCode::kResourceExhausted);
  // Held slots take their jobs.
  EXPECT_TRUE(writer_->Submit(job(&done), /*reserved=*/true).ok());
  EXPECT_TRUE(writer_->Submit(job(&done), /*reserved=*/true).ok());
  EXPECT_FALSE(writer_->TryReserve());  // now two jobs queued
  blocker.Release();
  blocker.WaitDone();
  while (done.load() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // A slot given back is free again.
  ASSERT_TRUE(writer_->TryReserve());
  writer_->CancelReservation();
  ASSERT_TRUE(writer_->TryReserve());
  ASSERT_TRUE(writer_->TryReserve());
  writer_->CancelReservation();
  writer_->CancelReservation();
  EXPECT_TRUE(writer_->Submit(job(&done)).ok());
  writer_->Stop();
  EXPECT_EQ(done.load(), 3);
}

TEST_F(WriterTest, StopCommitsWhatIsQueuedThenRefusesNewJobs) {
  WriterBlocker blocker(writer_.get());
  constexpr int kJobs = 50;
  Outcomes outcomes(kJobs);
  for (int i = 0; i < kJobs; ++i) {
    WriteJob job;
    job.apply = [i](WriteTxn& txn) { return txn.Put(Db::kLines, Cat("k", i), "v"); };
    job.done = outcomes.Done(i);
    ASSERT_TRUE(writer_->Submit(std::move(job)).ok());
  }
  std::thread stopper([this] { writer_->Stop(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  blocker.Release();
  stopper.join();
  EXPECT_EQ(outcomes.count.load(), kJobs);
  for (int i = 0; i < kJobs; ++i) EXPECT_TRUE(Has(Db::kLines, Cat("k", i)));
  WriteJob late;
  late.apply = [](WriteTxn&) { return Status::Ok(); };
  EXPECT_EQ(writer_->Submit(std::move(late)).code(), StatusCode::kUnavailable);
}

TEST_F(WriterTest, AnInjectedCommitFailureFailsThatBatchAndLaterBatchesSucceed) {
  WriterOptions o;
  o.fault_for_testing = [](uint64_t batch) {
    return batch == 2 ? Status::IoError("injected fsync failure") : Status::Ok();
  };
  Open(std::move(o));
  EXPECT_TRUE(writer_->Execute([](WriteTxn& t) { return t.Put(Db::kLines, "a", "1"); }).ok());
  Status failed = writer_->Execute([](WriteTxn& t) { return t.Put(Db::kLines, "b", "1"); });
  EXPECT_EQ(failed.code(), StatusCode::kIoError);
  EXPECT_TRUE(writer_->Execute([](WriteTxn& t) { return t.Put(Db::kLines, "c", "1"); }).ok());
  EXPECT_TRUE(Has(Db::kLines, "a"));
  EXPECT_FALSE(Has(Db::kLines, "b"));
  EXPECT_TRUE(Has(Db::kLines, "c"));
  EXPECT_EQ(writer_->stats().batches_failed.load(), 1u);
}

TEST_F(WriterTest, SequencesStayGapFreeWhenAJobOfTheBatchFails) {
  WriterBlocker blocker(writer_.get());
  constexpr int kJobs = 6;
  Outcomes outcomes(kJobs);
  std::vector<uint64_t> assigned(kJobs, 0);
  for (int i = 0; i < kJobs; ++i) {
    WriteJob job;
    job.apply = [i, &assigned](WriteTxn& txn) -> Status {
      Result<uint64_t> seq = txn.AppendSequenced(Db::kAlerts, Cat("alert ", i));
      if (!seq.ok()) return seq.status();
      assigned[i] = *seq;  // overwritten when the batch re-runs
      return i == 2 ? Status::Internal("fails") : Status::Ok();
    };
    job.done = outcomes.Done(i);
    ASSERT_TRUE(writer_->Submit(std::move(job)).ok());
  }
  blocker.Release();
  outcomes.WaitFor(kJobs);
  std::vector<uint64_t> committed;
  for (int i = 0; i < kJobs; ++i) {
    if (outcomes.results[i].status.ok()) committed.push_back(assigned[i]);
  }
  EXPECT_EQ(committed, (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  Result<ReadTxn> r = env_->BeginRead();
  std::string v;
  ASSERT_TRUE(r->Get(Db::kAlerts, EncodeU64BE(3), &v).ok());
  EXPECT_EQ(v, "alert 3");
}

TEST_F(WriterTest, TheCommitListenerRunsAfterTheDonesOfItsBatch) {
  std::atomic<int> dones{0};
  std::atomic<int> dones_seen_by_listener{-1};
  std::atomic<uint64_t> listener_txn{0};
  WriterOptions o;
  o.on_commit = [&](const CommitInfo& info) {
    dones_seen_by_listener.store(dones.load());
    listener_txn.store(info.txn_id);
  };
  Open(std::move(o));
  std::atomic<uint64_t> job_txn{0};
  WriteJob job;
  job.apply = [](WriteTxn& t) { return t.Put(Db::kLines, "a", "1"); };
  job.done = [&](const CommitResult& r) {
    job_txn.store(r.txn_id);
    dones.fetch_add(1);
  };
  ASSERT_TRUE(writer_->Submit(std::move(job)).ok());
  writer_->Stop();
  EXPECT_EQ(dones_seen_by_listener.load(), 1);
  EXPECT_EQ(listener_txn.load(), job_txn.load());
  EXPECT_GT(job_txn.load(), 0u);
}

TEST_F(WriterTest, ExecuteFromTheWriterThreadIsRefusedInsteadOfDeadlocking) {
  Status nested;
  Status outer = writer_->Execute([&](WriteTxn&) {
    nested = writer_->Execute([](WriteTxn&) { return Status::Ok(); });
    return Status::Ok();
  });
  EXPECT_TRUE(outer.ok());
  EXPECT_EQ(nested.code(), StatusCode::kFailedPrecondition);
}

TEST_F(WriterTest, ManySubmittersKeepEveryAcknowledgedWrite) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::atomic<int> acked{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        WriteJob job;
        const std::string key = Cat("t", t, "-", i);
        job.apply = [key](WriteTxn& txn) { return txn.Put(Db::kLines, key, key); };
        job.done = [&acked](const CommitResult& r) {
          if (r.status.ok()) acked.fetch_add(1);
        };
        while (writer_->Submit(WriteJob(job)).code() == StatusCode::kResourceExhausted) {
          std::this_thread::yield();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  writer_->Stop();
  EXPECT_EQ(acked.load(), kThreads * kPerThread);
  Result<ReadTxn> r = env_->BeginRead();
  EXPECT_EQ(*r->Count(Db::kLines), static_cast<uint64_t>(kThreads * kPerThread));
  // Group commit happened: far fewer commits than jobs.
  EXPECT_LT(writer_->stats().commits.load(), static_cast<uint64_t>(kThreads * kPerThread));
}

TEST_F(WriterTest, IsStalledWhileAJobBlocksPastTheLimitAndNotAfterItsCommit) {
  using std::chrono::milliseconds;
  EXPECT_FALSE(writer_->Stalled(std::chrono::nanoseconds(0)));
  WriterBlocker blocker(writer_.get());
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_TRUE(writer_->Stalled(milliseconds(10)));
  EXPECT_FALSE(writer_->Stalled(std::chrono::hours(1)));
  blocker.Release();
  blocker.WaitDone();
  EXPECT_TRUE(EventuallyIdle(*writer_));
  EXPECT_FALSE(writer_->Stalled(milliseconds(10)));
  EXPECT_EQ(writer_->stats().commits.load(), 1u);
}

TEST_F(WriterTest, TimeSpentIdleDoesNotCountTowardsAStall) {
  using std::chrono::milliseconds;
  std::this_thread::sleep_for(milliseconds(200));
  const auto before = std::chrono::steady_clock::now();
  WriterBlocker blocker(writer_.get());
  const bool stalled = writer_->Stalled(milliseconds(100));
  // Only a check made within the limit says anything; a machine this slow proves nothing.
  if (std::chrono::steady_clock::now() - before < milliseconds(100)) {
    EXPECT_FALSE(stalled);
  }
  blocker.Release();
  blocker.WaitDone();
  EXPECT_TRUE(EventuallyIdle(*writer_));
}

TEST_F(WriterTest, AFinishedBatchIsProgressForTheJobsQueuedBehindIt) {
  using std::chrono::milliseconds;
  WriterBlocker first(writer_.get());
  std::promise<void> release_second;
  std::shared_future<void> second_released = release_second.get_future().share();
  std::atomic<bool> second_entered{false};
  Outcomes outcomes(1);
  WriteJob second;
  second.apply = [&](WriteTxn&) {
    second_entered.store(true);
    second_released.wait();
    return Status::Ok();
  };
  second.done = outcomes.Done(0);
  ASSERT_TRUE(writer_->Submit(std::move(second)).ok());
  std::this_thread::sleep_for(milliseconds(100));
  EXPECT_TRUE(writer_->Stalled(milliseconds(50)));

  const auto before = std::chrono::steady_clock::now();
  first.Release();
  while (!second_entered.load()) std::this_thread::sleep_for(std::chrono::microseconds(100));
  const bool stalled = writer_->Stalled(milliseconds(50));
  // The second job has waited 100 ms, but only since the first batch's commit counts.
  if (std::chrono::steady_clock::now() - before < milliseconds(50)) {
    EXPECT_FALSE(stalled);
  }

  release_second.set_value();
  outcomes.WaitFor(1);
  EXPECT_TRUE(outcomes.results[0].status.ok());
  EXPECT_TRUE(EventuallyIdle(*writer_));
}

}  // namespace
}  // namespace meterd::storage
