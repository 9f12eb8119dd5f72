#include "storage/retention.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "storage/keys.h"
#include "test_util.h"

namespace meterd::storage {
namespace {

using testing::Cat;
using testing::TempDir;

constexpr uint32_t kCutoff = 20500;
constexpr int kEvents = 12000;

std::string ExpiryValue(uint32_t day) {
  std::string v(4, '\0');
  PutU32BE(day, v.data());
  return v;
}

// Event i expires before the cutoff when i % 3 == 0 (4,000 of 12,000), spread over 40
// entitlements so expired identities are scattered through the key space.
uint32_t ExpiryOf(int i) { return i % 3 == 0 ? kCutoff - 1 - i % 50 : kCutoff + i % 50; }
std::string EventKeyOf(int i) {
  KeyBuilder k;
  keys::Event(&k, Cat("ent-", i % 40), Cat("event-", i));
  return std::string(k.view());
}

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override { OpenStore(); }
  void OpenStore() {
    Result<std::unique_ptr<Env>> env = Env::Open(dir_.path(), EnvOptions{});
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    env_ = std::move(env).value();
    Result<std::unique_ptr<Writer>> writer = Writer::Start(env_.get(), {});
    ASSERT_TRUE(writer.ok());
    writer_ = std::move(writer).value();
  }
  void CloseStore() {
    writer_.reset();
    env_.reset();
  }
  void Fill() {
    ASSERT_TRUE(writer_
                    ->Execute([](WriteTxn& txn) {
                      for (int i = 0; i < kEvents; ++i) {
                        METERD_RETURN_IF_ERROR(txn.Put(Db::kEvents, EventKeyOf(i),
                                                       ExpiryValue(ExpiryOf(i)),
                                                       PutMode::kNoOverwrite));
                      }
                      return Status::Ok();
                    })
                    .ok());
  }
  // Checks that exactly the unexpired identities remain.
  void ExpectOnlyUnexpiredRemain() {
    Result<ReadTxn> r = env_->BeginRead();
    ASSERT_TRUE(r.ok());
    int remaining = 0;
    for (int i = 0; i < kEvents; ++i) {
      const bool present = *r->Contains(Db::kEvents, EventKeyOf(i));
      EXPECT_EQ(present, ExpiryOf(i) >= kCutoff) << i;
      remaining += present;
    }
    EXPECT_EQ(remaining, kEvents - kEvents / 3);
    Result<PurgeCheckpoint> cp = ReadPurgeCheckpoint(*r);
    ASSERT_TRUE(cp.ok());
    EXPECT_FALSE(cp->present);
  }

  TempDir dir_;
  std::unique_ptr<Env> env_;
  std::unique_ptr<Writer> writer_;
};

TEST_F(RetentionTest, AStepDeletesAtMostItsLimitAndRecordsWhereToResume) {
  Fill();
  PurgeLimits limits;
  limits.max_deletes = 1000;
  PurgeStep step;
  ASSERT_TRUE(writer_
                  ->Execute([&](WriteTxn& txn) -> Status {
                    Result<PurgeStep> s = PurgeExpiredEvents(txn, kCutoff, "", limits);
                    if (!s.ok()) return s.status();
                    step = *s;
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(step.deleted, 1000u);
  EXPECT_FALSE(step.finished);
  EXPECT_FALSE(step.resume_key.empty());
  Result<ReadTxn> r = env_->BeginRead();
  EXPECT_EQ(*r->Count(Db::kEvents), static_cast<uint64_t>(kEvents - 1000));
  Result<PurgeCheckpoint> cp = ReadPurgeCheckpoint(*r);
  ASSERT_TRUE(cp.ok());
  EXPECT_TRUE(cp->present);
  EXPECT_EQ(cp->cutoff_day, kCutoff);
  EXPECT_EQ(cp->resume_key, step.resume_key);
}

TEST_F(RetentionTest, StepsRepeatedFromTheirResumeKeysPurgeExactlyTheExpired) {
  Fill();
  PurgeLimits limits;
  limits.max_deletes = 700;
  limits.max_scanned = 2000;
  std::string resume;
  int steps = 0;
  bool finished = false;
  while (!finished) {
    ASSERT_LT(++steps, 100);
    ASSERT_TRUE(writer_
                    ->Execute([&](WriteTxn& txn) -> Status {
                      Result<PurgeStep> s = PurgeExpiredEvents(txn, kCutoff, resume, limits);
                      if (!s.ok()) return s.status();
                      EXPECT_LE(s->deleted, 700u);
                      EXPECT_LE(s->scanned, 2000u);
                      resume = s->resume_key;
                      finished = s->finished;
                      return Status::Ok();
                    })
                    .ok());
  }
  EXPECT_GE(steps, 6);
  ExpectOnlyUnexpiredRemain();
}

TEST_F(RetentionTest, ThePurgerRunsAsSmallWriterJobsWhileIngestKeepsCommitting) {
  Fill();
  PurgeLimits limits;
  limits.max_deletes = 500;
  EventPurger purger(env_.get(), writer_.get(), limits);
  std::atomic<bool> stop{false};
  std::atomic<int> ingested{0};
  std::atomic<bool> ingest_running{false};
  std::thread ingest([&] {
    ingest_running.store(true);
    for (int i = 0; !stop.load() && i < 100000; ++i) {
      Status st = writer_->Execute(
          [i](WriteTxn& txn) { return txn.Put(Db::kLines, Cat("line-", i), "v"); });
      if (st.ok()) ingested.fetch_add(1);
    }
  });
  // On a loaded machine the ingest thread may not run at all before a fast purge ends: start
  // the purge once it runs, and give it a moment to commit before stopping it.
  while (!ingest_running.load()) std::this_thread::yield();
  ASSERT_TRUE(purger.Start(kCutoff).ok());
  purger.WaitUntilIdle();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (ingested.load() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  stop.store(true);
  ingest.join();
  const EventPurger::Progress p = purger.progress();
  EXPECT_FALSE(p.running);
  EXPECT_FALSE(p.stalled) << p.last_error.ToString();
  EXPECT_EQ(p.deleted, static_cast<uint64_t>(kEvents / 3));
  EXPECT_EQ(p.passes_completed, 1u);
  EXPECT_GE(p.steps, 8u);
  EXPECT_GT(ingested.load(), 0);
  ExpectOnlyUnexpiredRemain();
}

TEST_F(RetentionTest, APassInterruptedByARestartResumesWhereItStopped) {
  Fill();
  PurgeLimits limits;
  limits.max_scanned = 3000;
  ASSERT_TRUE(writer_
                  ->Execute([&](WriteTxn& txn) -> Status {
                    return PurgeExpiredEvents(txn, kCutoff, "", limits).status();
                  })
                  .ok());
  CloseStore();
  OpenStore();
  EventPurger purger(env_.get(), writer_.get(), limits);
  ASSERT_TRUE(purger.Start(kCutoff).ok());
  purger.WaitUntilIdle();
  // The resumed pass scanned only what the first step had not.
  EXPECT_EQ(purger.progress().scanned, static_cast<uint64_t>(kEvents - 3000));
  ExpectOnlyUnexpiredRemain();
}

TEST_F(RetentionTest, KeepsRecordsTooShortToCarryAnExpiry) {
  ASSERT_TRUE(
      writer_->Execute([](WriteTxn& txn) { return txn.Put(Db::kEvents, "odd", "x"); }).ok());
  EventPurger purger(env_.get(), writer_.get());
  ASSERT_TRUE(purger.Start(kCutoff).ok());
  purger.WaitUntilIdle();
  Result<ReadTxn> r = env_->BeginRead();
  EXPECT_TRUE(*r->Contains(Db::kEvents, "odd"));
}

}  // namespace
}  // namespace meterd::storage
