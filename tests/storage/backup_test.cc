#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "storage/env.h"
#include "storage/keys.h"
#include "storage/writer.h"
#include "test_util.h"

namespace meterd::storage {
namespace {

using testing::Cat;
using testing::TempDir;

constexpr int kKeysPerUnit = 10;

std::string UnitKey(uint64_t unit, int i) {
  KeyBuilder k;
  k.AddU64(unit).AddU32(static_cast<uint32_t>(i));
  return std::string(k.view());
}
std::string UnitValue(uint64_t unit, int i) {
  return Cat("unit ", unit, " item ", i) + std::string(100, '.');
}

// One unit = kKeysPerUnit lines + a bump of the unit counter, in one job.
WriteJob UnitJob(uint64_t unit, std::function<void(const CommitResult&)> done) {
  WriteJob job;
  job.apply = [unit](WriteTxn& txn) {
    for (int i = 0; i < kKeysPerUnit; ++i) {
      METERD_RETURN_IF_ERROR(txn.Put(Db::kLines, UnitKey(unit, i), UnitValue(unit, i)));
    }
    std::string v;
    uint64_t n = 0;
    if (txn.Get(Db::kTotals, "units", &v).ok()) n = GetU64BE(v.data());
    return txn.Put(Db::kTotals, "units", EncodeU64BE(n + 1));
  };
  job.done = std::move(done);
  return job;
}

// Every unit in the store, checked whole; returns unit -> values.
std::map<uint64_t, std::vector<std::string>> ReadUnits(Env& env, uint64_t* counter) {
  std::map<uint64_t, std::vector<std::string>> units;
  Result<ReadTxn> r = env.BeginRead();
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(
      r->Scan(Db::kLines, "", ScanBound::None(), [&](std::string_view k, std::string_view v) {
         units[GetU64BE(k.data())].emplace_back(v);
         return ScanStep::kContinue;
       }).ok());
  std::string v;
  *counter = r->Get(Db::kTotals, "units", &v).ok() ? GetU64BE(v.data()) : 0;
  return units;
}

TEST(Backup, ACopyTakenUnderWriteLoadIsAConsistentSnapshotThatReopens) {
  TempDir dir;
  const std::string live_dir = dir.Sub("live");
  const std::string backup_dir = dir.Sub("backup");
  Result<std::unique_ptr<Env>> env = Env::Open(live_dir, EnvOptions{});
  ASSERT_TRUE(env.ok());
  Result<std::unique_ptr<Writer>> writer = Writer::Start(env->get(), {});
  ASSERT_TRUE(writer.ok());

  // A store big enough that the copy takes a while, so commits land while it runs.
  ASSERT_TRUE((*writer)
                  ->Execute([](WriteTxn& txn) {
                    for (uint32_t i = 0; i < 300000; ++i) {
                      KeyBuilder k;
                      k.AddU32(i);
                      METERD_RETURN_IF_ERROR(
                          txn.Put(Db::kReference, k.view(), std::string(120, 'r')));
                    }
                    return Status::Ok();
                  })
                  .ok());

  std::mutex mu;
  std::set<uint64_t> acked;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> next_unit{0};
  std::vector<std::thread> loaders;
  for (int t = 0; t < 3; ++t) {
    loaders.emplace_back([&] {
      while (!stop.load()) {
        const uint64_t unit = next_unit.fetch_add(1);
        Status st = (*writer)->Execute(UnitJob(unit, nullptr).apply);
        if (st.ok()) {
          std::lock_guard lock(mu);
          acked.insert(unit);
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::set<uint64_t> acked_before;
  {
    std::lock_guard lock(mu);
    acked_before = acked;
  }
  const uint64_t commits_before = (*writer)->stats().commits.load();
  Status backed_up = (*env)->Backup(backup_dir);
  const uint64_t commits_during = (*writer)->stats().commits.load() - commits_before;
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  stop.store(true);
  for (auto& t : loaders) t.join();
  (*writer)->Stop();
  ASSERT_TRUE(backed_up.ok()) << backed_up.ToString();
  ASSERT_FALSE(acked_before.empty());
  RecordProperty("commits_during_backup", std::to_string(commits_during));
  EXPECT_GT(commits_during, 0u) << "the backup did not overlap any commit";

  EXPECT_TRUE(std::filesystem::exists(backup_dir + "/data.mdb"));
  EXPECT_FALSE(std::filesystem::exists(backup_dir + "/data.mdb.partial"));
  Result<std::unique_ptr<Env>> copy = Env::Open(backup_dir, EnvOptions{});
  ASSERT_TRUE(copy.ok()) << copy.status().ToString();
  EXPECT_EQ((*copy)->schema_version(), kSchemaVersion);

  uint64_t live_counter = 0;
  uint64_t copy_counter = 0;
  const auto live_units = ReadUnits(**env, &live_counter);
  const auto copy_units = ReadUnits(**copy, &copy_counter);
  // A snapshot: whole units only, the counter matching them, nothing the live store lacks.
  EXPECT_EQ(copy_counter, copy_units.size());
  EXPECT_EQ(live_counter, live_units.size());
  for (const auto& [unit, values] : copy_units) {
    ASSERT_EQ(values.size(), static_cast<size_t>(kKeysPerUnit)) << "partial unit " << unit;
    auto it = live_units.find(unit);
    ASSERT_NE(it, live_units.end()) << unit;
    EXPECT_EQ(it->second, values);
  }
  // Everything acknowledged before the backup began is in it.
  for (uint64_t unit : acked_before) EXPECT_TRUE(copy_units.count(unit)) << unit;
  EXPECT_LT(copy_units.size(), live_units.size());  // the live store moved on
  Result<ReadTxn> r = (*copy)->BeginRead();
  EXPECT_EQ(*r->Count(Db::kReference), 300000u);
}

TEST(Backup, RefusesToOverwriteAnExistingBackup) {
  TempDir dir;
  Result<std::unique_ptr<Env>> env = Env::Open(dir.Sub("live"), EnvOptions{});
  ASSERT_TRUE(env.ok());
  ASSERT_TRUE((*env)->Backup(dir.Sub("b")).ok());
  Status again = (*env)->Backup(dir.Sub("b"));
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(std::filesystem::exists(dir.Sub("b") + "/data.mdb"));
}

TEST(Backup, CompactsAwayFreedPages) {
  TempDir dir;
  Result<std::unique_ptr<Env>> env = Env::Open(dir.Sub("live"), EnvOptions{});
  ASSERT_TRUE(env.ok());
  {
    Result<WriteTxn> w = (*env)->BeginWrite();
    for (int i = 0; i < 20000; ++i) {
      ASSERT_TRUE(w->Put(Db::kLines, UnitKey(i, 0), std::string(200, 'x')).ok());
    }
    ASSERT_TRUE(std::move(*w).Commit().ok());
  }
  {
    Result<WriteTxn> w = (*env)->BeginWrite();
    for (int i = 0; i < 19000; ++i) ASSERT_TRUE(w->Delete(Db::kLines, UnitKey(i, 0)).ok());
    ASSERT_TRUE(std::move(*w).Commit().ok());
  }
  ASSERT_TRUE((*env)->Backup(dir.Sub("b")).ok());
  const auto live_size = std::filesystem::file_size(dir.Sub("live") + "/data.mdb");
  const auto copy_size = std::filesystem::file_size(dir.Sub("b") + "/data.mdb");
  EXPECT_LT(copy_size * 5, live_size);
  Result<std::unique_ptr<Env>> copy = Env::Open(dir.Sub("b"), EnvOptions{});
  ASSERT_TRUE(copy.ok());
  Result<ReadTxn> r = (*copy)->BeginRead();
  EXPECT_EQ(*r->Count(Db::kLines), 1000u);
}

TEST(Backup, WorksFromAReadOnlyEnvAsAnOperatorToolWouldTakeIt) {
  TempDir dir;
  {
    Result<std::unique_ptr<Env>> env = Env::Open(dir.Sub("live"), EnvOptions{});
    ASSERT_TRUE(env.ok());
    Result<WriteTxn> w = (*env)->BeginWrite();
    ASSERT_TRUE(w->Put(Db::kBudgets, "c1", "b").ok());
    ASSERT_TRUE(std::move(*w).Commit().ok());
  }
  EnvOptions ro;
  ro.access = Access::kReadOnly;
  Result<std::unique_ptr<Env>> env = Env::Open(dir.Sub("live"), ro);
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  ASSERT_TRUE((*env)->Backup(dir.Sub("b")).ok());
  env->reset();
  Result<std::unique_ptr<Env>> copy = Env::Open(dir.Sub("b"), EnvOptions{});
  ASSERT_TRUE(copy.ok());
  Result<ReadTxn> r = (*copy)->BeginRead();
  std::string v;
  EXPECT_TRUE(r->Get(Db::kBudgets, "c1", &v).ok());
}

}  // namespace
}  // namespace meterd::storage
