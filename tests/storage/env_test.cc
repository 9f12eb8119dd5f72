#include "storage/env.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "storage/keys.h"
#include "storage/stats.h"
#include "test_util.h"

namespace meterd::storage {
namespace {

using namespace std::string_view_literals;
using testing::Cat;
using testing::TempDir;

EnvOptions SmallOptions() {
  EnvOptions o;
  o.map_size = uint64_t{64} << 20;
  o.max_map_size = uint64_t{256} << 20;
  o.map_growth_step = uint64_t{64} << 20;
  return o;
}

std::unique_ptr<Env> MustOpen(const std::string& dir, const EnvOptions& options = SmallOptions()) {
  Result<std::unique_ptr<Env>> env = Env::Open(dir, options);
  EXPECT_TRUE(env.ok()) << env.status().ToString();
  return env.ok() ? std::move(env).value() : nullptr;
}

void MustPut(Env& env, Db db, std::string_view key, std::string_view value) {
  Result<WriteTxn> txn = env.BeginWrite();
  ASSERT_TRUE(txn.ok()) << txn.status().ToString();
  ASSERT_TRUE(txn->Put(db, key, value).ok());
  ASSERT_TRUE(std::move(*txn).Commit().ok());
}

TEST(Env, AFreshStoreGetsTheCurrentSchemaVersionAndEveryDatabase) {
  TempDir dir;
  auto env = MustOpen(dir.path());
  ASSERT_NE(env, nullptr);
  EXPECT_EQ(env->schema_version(), kSchemaVersion);
  for (Db db : kAllDbs) EXPECT_TRUE(env->has_db(db)) << DbName(db);
  Result<ReadTxn> txn = env->BeginRead();
  ASSERT_TRUE(txn.ok());
  std::string v;
  ASSERT_TRUE(txn->Get(Db::kMeta, "schema_version", &v).ok());
  EXPECT_EQ(v, std::string("\0\0\0\x02", 4));
}

TEST(Env, AKeyProbeAnswersLikeContainsInAnyOrderOfKeys) {
  TempDir dir;
  auto env = MustOpen(dir.path());
  ASSERT_NE(env, nullptr);
  std::mt19937 rng(11);
  std::vector<std::string> stored;
  {
    Result<WriteTxn> txn = env->BeginWrite();
    ASSERT_TRUE(txn.ok());
    for (int i = 0; i < 5000; ++i) {
      stored.push_back(Cat("ent-", static_cast<int>(rng() % 50), std::string(1, '\0'), "id-",
                           static_cast<int>(rng() % 100000)));
      ASSERT_TRUE(txn->Put(Db::kEvents, stored.back(), "x").ok());
    }
    ASSERT_TRUE(std::move(*txn).Commit().ok());
  }
  std::vector<std::string> probes = stored;
  for (int i = 0; i < 5000; ++i) {  // absent keys: before, between and after the stored ones
    probes.push_back(Cat("ent-", static_cast<int>(rng() % 60), std::string(1, '\0'), "id-",
                         static_cast<int>(rng() % 100000), "x"));
  }
  probes.push_back("");            // refused like Contains refuses it
  probes.push_back("zzzz-after");  // past the last key
  probes.push_back("a");           // before the first
  Result<ReadTxn> txn = env->BeginRead();
  ASSERT_TRUE(txn.ok());
  for (bool sorted : {false, true}) {
    if (sorted) std::sort(probes.begin(), probes.end());
    std::shuffle(probes.begin(), probes.end() - (sorted ? probes.size() : 0), rng);
    KeyProbe probe(*txn, Db::kEvents);
    for (const std::string& key : probes) {
      Result<bool> want = txn->Contains(Db::kEvents, key);
      Result<bool> got = probe.Contains(key);
      ASSERT_EQ(got.ok(), want.ok()) << key;
      if (want.ok()) {
        EXPECT_EQ(*got, *want) << key;
      }
    }
  }
}

TEST(Env, AVersionOneStoreIsUpgradedToTheJournalSchemaOnARead_writeOpen) {
  TempDir dir;
  {
    auto env = MustOpen(dir.path());
    MustPut(*env, Db::kMeta, "schema_version", std::string_view("\0\0\0\x01", 4));
    MustPut(*env, Db::kTotals, "c", "v");
  }
  {
    EnvOptions ro = SmallOptions();
    ro.access = Access::kReadOnly;
    Result<std::unique_ptr<Env>> env = Env::Open(dir.path(), ro);  // read-only: left as it is
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    EXPECT_EQ((*env)->schema_version(), 1u);
  }
  auto env = MustOpen(dir.path());
  ASSERT_NE(env, nullptr);
  EXPECT_EQ(env->schema_version(), kSchemaVersion);
  Result<ReadTxn> txn = env->BeginRead();
  ASSERT_TRUE(txn.ok());
  std::string v;
  ASSERT_TRUE(txn->Get(Db::kMeta, "schema_version", &v).ok());
  EXPECT_EQ(v, std::string("\0\0\0\x02", 4));
  ASSERT_TRUE(txn->Get(Db::kTotals, "c", &v).ok());
  EXPECT_EQ(v, "v");
}

TEST(Env, RefusesToOpenAStoreWrittenByANewerSchemaVersion) {
  TempDir dir;
  {
    auto env = MustOpen(dir.path());
    char newer[4];
    PutU32BE(kSchemaVersion + 1, newer);
    MustPut(*env, Db::kMeta, "schema_version", std::string_view(newer, 4));
  }
  Result<std::unique_ptr<Env>> env = Env::Open(dir.path(), SmallOptions());
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(env.status().message().find("newer"), std::string::npos) << env.status().message();
  EXPECT_NE(env.status().message().find(std::to_string(kSchemaVersion + 1)), std::string::npos);
  // The refusal wrote nothing: the version is still the newer one.
  Result<StoreStats> stats = ReadStoreStats(dir.path());
  EXPECT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), StatusCode::kFailedPrecondition);
}

TEST(Env, RefusesAStoreThatHoldsDataButNoSchemaVersion) {
  TempDir dir;
  {
    auto env = MustOpen(dir.path());
    MustPut(*env, Db::kLines, "k", "v");
    Result<WriteTxn> txn = env->BeginWrite();
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(txn->Delete(Db::kMeta, "schema_version").ok());
    ASSERT_TRUE(std::move(*txn).Commit().ok());
  }
  Result<std::unique_ptr<Env>> env = Env::Open(dir.path(), SmallOptions());
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.status().code(), StatusCode::kCorruption);
}

TEST(Env, AnotherProcessCannotOpenTheStoreForWritingWhileItIsOpen) {
  TempDir dir;
  auto env = MustOpen(dir.path());
  // The crash helper opens the store read-write and reports the failure on stderr.
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    execl(METERD_CRASH_HELPER, METERD_CRASH_HELPER, dir.path().c_str(), "0", "0",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  std::string err;
  char buf[512];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) err.append(buf, n);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_NE(err.find("in use by another process"), std::string::npos) << err;
}

TEST(Env, ASecondOpenInTheSameProcessIsRefusedEvenReadOnly) {
  TempDir dir;
  auto env = MustOpen(dir.path());
  EnvOptions o = SmallOptions();
  o.access = Access::kReadOnly;
  Result<std::unique_ptr<Env>> second = Env::Open(dir.path(), o);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("already open in this process"), std::string::npos);
  EXPECT_FALSE(ReadStoreStats(dir.path()).ok());
  env.reset();
  EXPECT_TRUE(ReadStoreStats(dir.path()).ok());
}

TEST(Env, AReadOnlyOpenOfAMissingStoreFailsClearly) {
  TempDir dir;
  EnvOptions o = SmallOptions();
  o.access = Access::kReadOnly;
  Result<std::unique_ptr<Env>> env = Env::Open(dir.Sub("nothing"), o);
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.status().code(), StatusCode::kFailedPrecondition);
}

TEST(Txn, PutGetDeleteRoundTripAndNotFoundIsAValue) {
  TempDir dir;
  auto env = MustOpen(dir.path());
  MustPut(*env, Db::kBudgets, "c1", "budget-1");
  Result<ReadTxn> r = env->BeginRead();
  ASSERT_TRUE(r.ok());
  std::string v;
  ASSERT_TRUE(r->Get(Db::kBudgets, "c1", &v).ok());
  EXPECT_EQ(v, "budget-1");
  EXPECT_EQ(r->Get(Db::kBudgets, "c2", &v).code(), StatusCode::kNotFound);
  EXPECT_EQ(r->Get(Db::kLines, "c1", &v).code(), StatusCode::kNotFound);  // other database
  EXPECT_TRUE(*r->Contains(Db::kBudgets, "c1"));
  EXPECT_FALSE(*r->Contains(Db::kBudgets, "c2"));

  Result<WriteTxn> w = env->BeginWrite();
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(w->Delete(Db::kBudgets, "c1").ok());
  EXPECT_EQ(w->Delete(Db::kBudgets, "c1").code(), StatusCode::kNotFound);
  EXPECT_EQ(w->Get(Db::kBudgets, "c1", &v).code(), StatusCode::kNotFound);  // own write seen
  ASSERT_TRUE(std::move(*w).Commit().ok());
  // The older snapshot still sees the record (MVCC).
  ASSERT_TRUE(r->Get(Db::kBudgets, "c1", &v).ok());
}

TEST(Txn, ValueBufferHoldsSmallAndLargeValuesAndIsReusable) {
  TempDir dir;
  auto env = MustOpen(dir.path());
  const std::string big(5000, 'b');
  MustPut(*env, Db::kLines, "small", "s");
  MustPut(*env, Db::kLines, "big", big);
  Result<ReadTxn> r = env->BeginRead();
  ASSERT_TRUE(r.ok());
  ValueBuffer buf;
  ASSERT_TRUE(r->Get(Db::kLines, "big", &buf).ok());
  EXPECT_EQ(buf.view(), big);
  ASSERT_TRUE(r->Get(Db::kLines, "small", &buf).ok());
  EXPECT_EQ(buf.view(), "s");
  ASSERT_TRUE(r->Get(Db::kLines, "big", &buf).ok());
  EXPECT_EQ(buf.view(), big);
}

TEST(Txn, AnAbortedWriteLeavesNoTrace) {
  TempDir dir;
  auto env = MustOpen(dir.path());
  {
    Result<WriteTxn> w = env->BeginWrite();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->Put(Db::kLines, "k", "v").ok());
  }  // destroyed without Commit
  Result<ReadTxn> r = env->BeginRead();
  std::string v;
  EXPECT_EQ(r->Get(Db::kLines, "k", &v).code(), StatusCode::kNotFound);
}

TEST(Txn, CommitEndsTheTransactionSoLaterCallsFailCleanly) {
  TempDir dir;
  auto env = MustOpen(dir.path());
  Result<WriteTxn> w = env->BeginWrite();
  ASSERT_TRUE(w.ok());
  WriteTxn txn = std::move(*w);
  ASSERT_TRUE(txn.Put(Db::kLines, "k", "v").ok());
  ASSERT_TRUE(std::move(txn).Commit().ok());
  EXPECT_FALSE(txn.active());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_EQ(txn.Put(Db::kLines, "k2", "v").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(std::move(txn).Commit().code(), StatusCode::kFailedPrecondition);
  // A new write transaction can begin: the handle was released.
  Result<WriteTxn> again = env->BeginWrite();
  ASSERT_TRUE(again.ok());
}

TEST(Txn, RejectsEmptyAndOversizedKeysWithoutBreakingTheTransaction) {
  TempDir dir;
  auto env = MustOpen(dir.path());
  Result<WriteTxn> w = env->BeginWrite();
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->Put(Db::kLines, "", "v").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(w->Put(Db::kLines, std::string(kMaxKeySize + 1, 'k'), "v").code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(w->Put(Db::kLines, std::string(kMaxKeySize, 'k'), "v").ok());
  EXPECT_TRUE(std::move(*w).Commit().ok());
}

TEST(Txn, NoOverwriteReportsAlreadyExistsAndKeepsTheFirstValue) {
  TempDir dir;
  auto env = MustOpen(dir.path());
  Result<WriteTxn> w = env->BeginWrite();
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(w->Put(Db::kEvents, "ent\0e1"sv, "1111", PutMode::kNoOverwrite).ok());
  EXPECT_EQ(w->Put(Db::kEvents, "ent\0e1"sv, "2222", PutMode::kNoOverwrite).code(),
            StatusCode::kAlreadyExists);
  // The txn is still usable after the duplicate.
  EXPECT_TRUE(w->Put(Db::kEvents, "ent\0e2"sv, "3333", PutMode::kNoOverwrite).ok());
  ASSERT_TRUE(std::move(*w).Commit().ok());
  Result<ReadTxn> r = env->BeginRead();
  std::string v;
  ASSERT_TRUE(r->Get(Db::kEvents, "ent\0e1"sv, &v).ok());
  EXPECT_EQ(v, "1111");
}

TEST(Txn, DedupeIdentitiesSurviveReopen) {
  TempDir dir;
  KeyBuilder k;
  keys::Event(&k, "ent-1", "event-42");
  {
    auto env = MustOpen(dir.path());
    Result<WriteTxn> w = env->BeginWrite();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->Put(Db::kEvents, k.view(), "\0\0\x4f\x10"sv, PutMode::kNoOverwrite).ok());
    ASSERT_TRUE(std::move(*w).Commit().ok());
  }
  auto env = MustOpen(dir.path());
  Result<WriteTxn> w = env->BeginWrite();
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(w->Put(Db::kEvents, k.view(), "\0\0\0\0"sv, PutMode::kNoOverwrite).code(),
            StatusCode::kAlreadyExists);
}

TEST(Txn, UpdateReadsModifiesAndWritesARecordOrInsertsAMissingOne) {
  TempDir dir;
  auto env = MustOpen(dir.path());
  MustPut(*env, Db::kLines, "a", "0001");
  Result<WriteTxn> w = env->BeginWrite();
  ASSERT_TRUE(w.ok());
  std::string out;
  auto increment = [&out](const std::string_view* current) -> std::optional<std::string_view> {
    const int n = current == nullptr ? 0 : std::stoi(std::string(*current));
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d", n + 1);
    out = buf;
    return std::string_view(out);
  };
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(w->Update(Db::kLines, "a", increment).ok());
    // Interleaved writes through other paths move pages under the cached cursor.
    for (int j = 0; j < 50; ++j) {
      ASSERT_TRUE(w->Put(Db::kLines, Cat("b", i, "-", j), std::string(300, 'x')).ok());
    }
    ASSERT_TRUE(w->Put(Db::kLines, "0", "first").ok());
  }
  ASSERT_TRUE(w->Update(Db::kLines, "new", increment).ok());
  // nullopt leaves the record untouched; a different size replaces it.
  ASSERT_TRUE(w->Update(Db::kLines, "new", [](const std::string_view*) {
                 return std::optional<std::string_view>();
               }).ok());
  ASSERT_TRUE(w->Update(Db::kLines, "0", [](const std::string_view* current) {
                 EXPECT_EQ(*current, "first");
                 return std::optional<std::string_view>("a much longer value than before");
               }).ok());
  ASSERT_TRUE(std::move(*w).Commit().ok());
  Result<ReadTxn> r = env->BeginRead();
  std::string v;
  ASSERT_TRUE(r->Get(Db::kLines, "a", &v).ok());
  EXPECT_EQ(v, "0006");
  ASSERT_TRUE(r->Get(Db::kLines, "new", &v).ok());
  EXPECT_EQ(v, "0001");
  ASSERT_TRUE(r->Get(Db::kLines, "0", &v).ok());
  EXPECT_EQ(v, "a much longer value than before");
  EXPECT_EQ(*r->Count(Db::kLines), 3u + 250u);
}

TEST(Txn, AppendRequiresKeysInOrder) {
  TempDir dir;
  auto env = MustOpen(dir.path());
  Result<WriteTxn> w = env->BeginWrite();
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(w->Put(Db::kLines, "b", "1", PutMode::kAppend).ok());
  EXPECT_TRUE(w->Put(Db::kLines, "c", "1", PutMode::kAppend).ok());
  EXPECT_EQ(w->Put(Db::kLines, "a", "1", PutMode::kAppend).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(w->Put(Db::kLines, "d", "1", PutMode::kAppend).ok());
  ASSERT_TRUE(std::move(*w).Commit().ok());
  Result<ReadTxn> r = env->BeginRead();
  EXPECT_EQ(*r->Count(Db::kLines), 3u);
}

TEST(Txn, ScanVisitsAPrefixInKeyOrderAndStopsWhenAsked) {
  TempDir dir;
  auto env = MustOpen(dir.path());
  {
    Result<WriteTxn> w = env->BeginWrite();
    ASSERT_TRUE(w.ok());
    for (const char* key : {"a1", "b3", "b1", "b2", "c1", "b"}) {
      std::string value = "v";
      value += key;
      ASSERT_TRUE(w->Put(Db::kTotals, key, value).ok());
    }
    ASSERT_TRUE(std::move(*w).Commit().ok());
  }
  Result<ReadTxn> r = env->BeginRead();
  std::vector<std::string> seen;
  ASSERT_TRUE(r->ScanPrefix(Db::kTotals, "b", [&](std::string_view k, std::string_view v) {
                 seen.emplace_back(k);
                 std::string expected = "v";
                 expected += k;
                 EXPECT_EQ(v, expected);
                 return ScanStep::kContinue;
               }).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"b", "b1", "b2", "b3"}));

  seen.clear();
  ASSERT_TRUE(
      r->Scan(Db::kTotals, "b1", ScanBound::Before("c"), [&](std::string_view k, std::string_view) {
         seen.emplace_back(k);
         return seen.size() == 2 ? ScanStep::kStop : ScanStep::kContinue;
       }).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"b1", "b2"}));

  seen.clear();
  ASSERT_TRUE(
      r->Scan(Db::kTotals, "", ScanBound::None(), [&](std::string_view k, std::string_view) {
         seen.emplace_back(k);
         return ScanStep::kContinue;
       }).ok());
  EXPECT_EQ(seen.size(), 6u);
  EXPECT_EQ(seen.front(), "a1");
  EXPECT_EQ(seen.back(), "c1");
}

TEST(Txn, ScanDeleteRemovesExactlyTheChosenRecordsEvenAcrossPages) {
  TempDir dir;
  auto env = MustOpen(dir.path());
  {
    Result<WriteTxn> w = env->BeginWrite();
    ASSERT_TRUE(w.ok());
    for (uint32_t i = 0; i < 20000; ++i) {
      KeyBuilder k;
      k.AddU32(i);
      ASSERT_TRUE(w->Put(Db::kEvents, k.view(), std::string(40, 'x')).ok());
    }
    ASSERT_TRUE(std::move(*w).Commit().ok());
  }
  Result<WriteTxn> w = env->BeginWrite();
  ASSERT_TRUE(w.ok());
  uint32_t visited = 0;
  // Delete runs of consecutive records (page boundaries fall inside them) and keep every 7th.
  ASSERT_TRUE(
      w->ScanDelete(Db::kEvents, "", ScanBound::None(), [&](std::string_view k, std::string_view) {
         ++visited;
         return GetU32BE(k.data()) % 7 == 0 ? ScanAction::kKeep : ScanAction::kDelete;
       }).ok());
  EXPECT_EQ(visited, 20000u);
  ASSERT_TRUE(std::move(*w).Commit().ok());
  Result<ReadTxn> r = env->BeginRead();
  uint32_t expect = 0;
  ASSERT_TRUE(
      r->Scan(Db::kEvents, "", ScanBound::None(), [&](std::string_view k, std::string_view) {
         EXPECT_EQ(GetU32BE(k.data()), expect);
         expect += 7;
         return ScanStep::kContinue;
       }).ok());
  EXPECT_EQ(*r->Count(Db::kEvents), (20000u + 6) / 7);
}

TEST(Txn, LastReturnsTheGreatestRecordOrNotFound) {
  TempDir dir;
  auto env = MustOpen(dir.path());
  Result<ReadTxn> empty = env->BeginRead();
  std::string k, v;
  EXPECT_EQ(empty->Last(Db::kAlerts, &k, &v).code(), StatusCode::kNotFound);
  empty = env->BeginRead();  // move-assign ends the old snapshot
  MustPut(*env, Db::kAlerts, EncodeU64BE(3), "three");
  MustPut(*env, Db::kAlerts, EncodeU64BE(9), "nine");
  Result<ReadTxn> r = env->BeginRead();
  ASSERT_TRUE(r->Last(Db::kAlerts, &k, &v).ok());
  EXPECT_EQ(GetU64BE(k.data()), 9u);
  EXPECT_EQ(v, "nine");
}

TEST(Sequence, IsMonotonicAndGapFreeAcrossRestarts) {
  TempDir dir;
  std::vector<uint64_t> seqs;
  for (int run = 0; run < 3; ++run) {
    auto env = MustOpen(dir.path());
    for (int i = 0; i < 5; ++i) {
      Result<WriteTxn> w = env->BeginWrite();
      ASSERT_TRUE(w.ok());
      Result<uint64_t> a = w->AppendSequenced(Db::kAlerts, "alert");
      Result<uint64_t> b = w->AppendSequenced(Db::kAlerts, "alert");
      ASSERT_TRUE(a.ok() && b.ok());
      seqs.push_back(*a);
      seqs.push_back(*b);
      ASSERT_TRUE(std::move(*w).Commit().ok());
    }
  }
  for (size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], i + 1);
}

TEST(Sequence, ANumberFromAnAbortedTransactionIsAssignedAgain) {
  TempDir dir;
  auto env = MustOpen(dir.path());
  {
    Result<WriteTxn> w = env->BeginWrite();
    EXPECT_EQ(*w->AppendSequenced(Db::kAlerts, "x"), 1u);
    ASSERT_TRUE(std::move(*w).Commit().ok());
  }
  {
    Result<WriteTxn> w = env->BeginWrite();
    EXPECT_EQ(*w->AppendSequenced(Db::kAlerts, "lost"), 2u);
  }  // aborted
  Result<WriteTxn> w = env->BeginWrite();
  EXPECT_EQ(*w->AppendSequenced(Db::kAlerts, "y"), 2u);
}

TEST(Sequence, IsNeverReusedAfterTheNewestRecordsAreDeleted) {
  TempDir dir;
  auto env = MustOpen(dir.path());
  Result<WriteTxn> w = env->BeginWrite();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(w->AppendSequenced(Db::kOutbox, "row").ok());
  ASSERT_TRUE(w->Delete(Db::kOutbox, EncodeU64BE(3)).ok());
  ASSERT_TRUE(w->Delete(Db::kOutbox, EncodeU64BE(2)).ok());
  EXPECT_EQ(*w->AppendSequenced(Db::kOutbox, "row"), 4u);
  // Sequences are per database.
  EXPECT_EQ(*w->AppendSequenced(Db::kAlerts, "a"), 1u);
}

TEST(Stats, CountEntriesPerDatabaseAndWorkOnAClosedStore) {
  TempDir dir;
  {
    auto env = MustOpen(dir.path());
    Result<WriteTxn> w = env->BeginWrite();
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(w->Put(Db::kLines, Cat("line", i), std::string(200, 'l')).ok());
    }
    ASSERT_TRUE(w->Put(Db::kBudgets, "c", "b").ok());
    ASSERT_TRUE(std::move(*w).Commit().ok());
    Result<StoreStats> live = env->Stats();
    ASSERT_TRUE(live.ok()) << live.status().ToString();
    EXPECT_EQ(live->dbs[static_cast<int>(Db::kLines)].entries, 100u);
  }
  Result<StoreStats> s = ReadStoreStats(dir.path());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->schema_version, kSchemaVersion);
  EXPECT_EQ(s->dbs[static_cast<int>(Db::kLines)].entries, 100u);
  EXPECT_GE(s->dbs[static_cast<int>(Db::kLines)].leaf_pages, 5u);
  EXPECT_EQ(s->dbs[static_cast<int>(Db::kBudgets)].entries, 1u);
  EXPECT_EQ(s->dbs[static_cast<int>(Db::kMeta)].entries, 1u);
  EXPECT_EQ(s->dbs[static_cast<int>(Db::kLines)].name, "lines");
  EXPECT_GT(s->used_bytes, 0u);
  EXPECT_GE(s->map_size, s->used_bytes);
  EXPECT_GE(s->file_bytes, s->used_bytes - s->page_size);
  EXPECT_FALSE(s->oldest_reader.has_value());
  const std::string text = FormatStoreStats(*s);
  EXPECT_NE(text.find("lines"), std::string::npos);
}

TEST(Stats, ReportTheOldestReaderAndHowFarBehindItIs) {
  TempDir dir;
  auto env = MustOpen(dir.path());
  MustPut(*env, Db::kLines, "a", "1");
  Result<ReadTxn> old_reader = env->BeginRead();
  ASSERT_TRUE(old_reader.ok());
  const uint64_t pinned = old_reader->id();
  MustPut(*env, Db::kLines, "b", "2");
  MustPut(*env, Db::kLines, "c", "3");
  Result<StoreStats> s = env->Stats();
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_TRUE(s->oldest_reader.has_value());
  EXPECT_EQ(s->oldest_reader->txn_id, pinned);
  EXPECT_EQ(s->oldest_reader_lag, 2u);
  EXPECT_EQ(s->readers, 1u);
}

TEST(Env, ReopensAStoreOfAMillionLinesQuickly) {
  TempDir dir;
  constexpr int kLines = 1'000'000;
  {
    EnvOptions o = SmallOptions();
    o.sync = SyncMode::kNone;  // building the fixture only
    o.map_size = uint64_t{1} << 30;
    o.max_map_size = uint64_t{4} << 30;
    auto env = MustOpen(dir.path(), o);
    const std::string value(120, 'v');
    Result<WriteTxn> w = env->BeginWrite();
    ASSERT_TRUE(w.ok());
    for (int i = 0; i < kLines; ++i) {
      KeyBuilder k;
      keys::Line(&k, Cat("cust-", i / 100000), 24310, "meter-0001", 20400 + i % 30, "ent-0001",
                 Cat("/subscriptions/s/resourceGroups/rg/vm", i));
      ASSERT_TRUE(w->Put(Db::kLines, k.view(), value).ok());
    }
    ASSERT_TRUE(std::move(*w).Commit().ok());
    ASSERT_TRUE(env->Sync().ok());
  }
  const auto start = std::chrono::steady_clock::now();
  auto env = MustOpen(dir.path());
  ASSERT_NE(env, nullptr);
  Result<ReadTxn> r = env->BeginRead();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->Count(Db::kLines), static_cast<uint64_t>(kLines));
  KeyBuilder k;
  keys::Line(&k, "cust-5", 24310, "meter-0001", 20400 + 500000 % 30, "ent-0001",
             "/subscriptions/s/resourceGroups/rg/vm500000");
  std::string v;
  EXPECT_TRUE(r->Get(Db::kLines, k.view(), &v).ok());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  RecordProperty(
      "reopen_micros",
      std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count()));
  EXPECT_LT(elapsed, std::chrono::milliseconds(500));
}

TEST(MapGate, AGrowthGivesUpCleanlyWhileAReaderStaysOpen) {
  TempDir dir;
  auto env = MustOpen(dir.path());
  MustPut(*env, Db::kLines, "k", "v");
  const uint64_t before = env->map_size();
  Result<ReadTxn> reader = env->BeginRead();
  ASSERT_TRUE(reader.ok());
  Status grown = env->Grow(std::chrono::milliseconds(50));
  EXPECT_EQ(grown.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(env->map_size(), before);
  std::string v;
  EXPECT_TRUE(reader->Get(Db::kLines, "k", &v).ok());  // the reader's map is untouched
}

TEST(MapGate, AGrowthWaitsForAnOpenReaderThenRemapsWithDataIntact) {
  TempDir dir;
  auto env = MustOpen(dir.path());
  MustPut(*env, Db::kLines, "k", "v");
  const uint64_t before = env->map_size();
  std::optional<ReadTxn> reader;
  {
    Result<ReadTxn> r = env->BeginRead();
    ASSERT_TRUE(r.ok());
    reader.emplace(std::move(*r));
  }
  Status grown;
  std::thread grower([&] { grown = env->Grow(std::chrono::milliseconds(5000)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(env->map_size(), before);  // still waiting for the reader
  reader.reset();
  grower.join();
  EXPECT_TRUE(grown.ok()) << grown.ToString();
  EXPECT_EQ(env->map_size(), before + SmallOptions().map_growth_step);
  Result<ReadTxn> r = env->BeginRead();
  std::string v;
  ASSERT_TRUE(r->Get(Db::kLines, "k", &v).ok());
  EXPECT_EQ(v, "v");
}

TEST(MapGate, UsedBytesWaitsOutAGrowthInsteadOfReadingTheMapBeingReplaced) {
  // used_bytes (the metrics scrape, any thread) reads LMDB's meta pages through the map that a
  // growth on the writer thread unmaps and maps again: it must wait for the growth like a
  // transaction does (it once read env->me_metas without the gate).
  TempDir dir;
  auto env = MustOpen(dir.path());
  MustPut(*env, Db::kLines, "k", "v");
  const uint64_t before = env->map_size();
  std::optional<ReadTxn> reader;
  {
    Result<ReadTxn> r = env->BeginRead();
    ASSERT_TRUE(r.ok());
    reader.emplace(std::move(*r));
  }
  Status grown;
  std::thread grower([&] { grown = env->Grow(std::chrono::milliseconds(5000)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the growth waits for reader
  std::atomic<uint64_t> used{0};
  std::atomic<bool> answered{false};
  std::thread scrape([&] {
    used.store(env->used_bytes());
    answered.store(true);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(answered.load()) << "used_bytes read the map while a growth was pending";
  reader.reset();
  grower.join();
  scrape.join();
  EXPECT_TRUE(grown.ok()) << grown.ToString();
  EXPECT_EQ(env->map_size(), before + SmallOptions().map_growth_step);
  EXPECT_GT(used.load(), 0u);
  EXPECT_LE(used.load(), env->map_size());
}

TEST(MapGate, GrowthStopsAtTheConfiguredMaximum) {
  TempDir dir;
  EnvOptions o = SmallOptions();
  o.max_map_size = o.map_size + o.map_growth_step / 2;
  auto env = MustOpen(dir.path(), o);
  ASSERT_TRUE(env->Grow().ok());
  EXPECT_EQ(env->map_size(), o.max_map_size);
  Status again = env->Grow();
  EXPECT_EQ(again.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(again.message().find("map full"), std::string::npos);
  env->SetMaxMapSize(o.max_map_size + o.map_growth_step);
  EXPECT_TRUE(env->Grow().ok());
}

}  // namespace
}  // namespace meterd::storage
