#include "storage/journal.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "storage/writer.h"
#include "test_util.h"

namespace meterd::storage {
namespace {

using testing::Cat;
using testing::TempDir;

std::unique_ptr<Env> MustOpen(const std::string& dir) {
  Result<std::unique_ptr<Env>> env = Env::Open(dir, testing::SmallEnvOptions(uint64_t{512} << 20));
  EXPECT_TRUE(env.ok()) << env.status().ToString();
  return env.ok() ? std::move(*env) : nullptr;
}

// Appends one journal record in a transaction of its own (what a crash leaves behind).
void AppendRecord(Env& env, JournalRecord record) {
  Result<WriteTxn> txn = env.BeginWrite();
  ASSERT_TRUE(txn.ok()) << txn.status().ToString();
  ASSERT_TRUE(AppendJournal(*txn, record).ok());
  ASSERT_TRUE(std::move(*txn).Commit().ok());
}

std::optional<std::string> Read(Env& env, Db db, std::string_view key) {
  Result<ReadTxn> txn = env.BeginRead();
  EXPECT_TRUE(txn.ok());
  std::string v;
  Status st = txn->Get(db, key, &v);
  if (st.code() == StatusCode::kNotFound) return std::nullopt;
  EXPECT_TRUE(st.ok()) << st.ToString();
  return v;
}

uint64_t JournalRecords(Env& env) {
  Result<ReadTxn> txn = env.BeginRead();
  EXPECT_TRUE(txn.ok());
  return *txn->Count(Db::kJournal);
}

// An encoded record's ops as "<db>+key=value" (put) or "<db>-key=" (delete), in order.
std::vector<std::string> DecodedOps(std::string_view record) {
  std::vector<std::string> seen;
  Status st = ForEachJournalOp(record, [&](const JournalOp& op) {
    seen.push_back(Cat(static_cast<int>(op.db), op.is_delete ? "-" : "+", op.key, "=", op.value));
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  return seen;
}

TEST(Journal, ARecordDecodesToItsOpsInOrder) {
  JournalRecord r;
  r.Put(Db::kEvents, "e1", "x");
  r.Delete(Db::kUnknownLines, "u");
  r.Put(Db::kLines, std::string("k\0y", 3), "");
  EXPECT_EQ(r.ops(), 3u);
  EXPECT_EQ(DecodedOps(r.bytes()),
            (std::vector<std::string>{"1+e1=x", "3-u=", Cat("2+", std::string("k\0y", 3), "=")}));
}

TEST(Journal, KeysSharingPrefixesDecodeWholeAndTakeLessRoom) {
  // A job's identities share their entitlement, its lines their customer: each key is stored
  // as what it shares with the previous op's key plus the rest.
  JournalRecord r;
  std::vector<std::tuple<Db, bool, std::string, std::string>> want;
  size_t raw = 0;
  for (int i = 0; i < 200; ++i) {
    std::string key = Cat("e1000000-0000-4000-8000-00000000000", i % 3, std::string(1, '\0'),
                          "stream-", i / 3, "-h", i);
    const Db db = i % 5 == 4 ? Db::kLines : Db::kEvents;
    const bool del = i % 7 == 6;
    std::string value = del ? "" : Cat("v", i);
    if (del) {
      r.Delete(db, key);
    } else {
      r.Put(db, key, value);
    }
    raw += 10 + key.size() + value.size();
    want.emplace_back(db, del, key, value);
  }
  r.Put(Db::kUnknownLines, "", "empty key");  // shares nothing, has nothing
  want.emplace_back(Db::kUnknownLines, false, "", "empty key");
  r.Put(Db::kLines, std::string(kMaxKeySize, 'k'), std::string(70'000, 'v'));  // long varints
  want.emplace_back(Db::kLines, false, std::string(kMaxKeySize, 'k'), std::string(70'000, 'v'));
  r.Put(Db::kLines, std::string(kMaxKeySize, 'k'), "same key again");  // shares all of it
  want.emplace_back(Db::kLines, false, std::string(kMaxKeySize, 'k'), "same key again");
  std::vector<std::tuple<Db, bool, std::string, std::string>> seen;
  ASSERT_TRUE(ForEachJournalOp(r.bytes(), [&](const JournalOp& op) {
                seen.emplace_back(op.db, op.is_delete, std::string(op.key), std::string(op.value));
              }).ok());
  EXPECT_EQ(seen, want);
  const size_t first_200 = r.bytes().size() - JournalRecord::kHeaderSize - 70'000 - 8 -
                           (1 + 3 + 9) - (1 + 3 + kMaxKeySize + 4) - (1 + 3 + 14);
  EXPECT_LT(first_200 * 2, raw) << "shared prefixes should halve these keys at least";
}

size_t VarintSize(size_t v) {
  size_t n = 1;
  for (; v >= 0x80; v >>= 7) ++n;
  return n;
}

TEST(Journal, EachKeyIsStoredAsTheLongestPrefixItSharesPlusTheRestAlsoAfterClear) {
  // Keys that differ from the one before at every offset around the 8-byte steps the shared
  // length is measured in, are prefixes of it, or extend it; the record's exact size proves
  // each shared length was the longest one (a shorter one would still decode).
  std::mt19937_64 rng(7);
  JournalRecord r;
  for (int round = 0; round < 2; ++round) {
    r.Clear();  // the second round reuses the buffer: its first key must share nothing
    std::vector<std::pair<std::string, std::string>> want;
    std::string prev;
    size_t expected = JournalRecord::kHeaderSize;
    std::string key(round == 0 ? "" : "a different first key");
    for (int i = 0; i < 3000; ++i) {
      const size_t at = rng() % 40;
      switch (rng() % 4) {
        case 0:  // differs at `at`
          if (key.size() <= at) key.resize(at + 1, 'x');
          key[at] = static_cast<char>(key[at] + 1 + static_cast<int>(rng() % 200));
          break;
        case 1:  // a prefix of the previous key
          key.resize(std::min(key.size(), at));
          break;
        case 2:  // extends it
          key.append(at, static_cast<char>('a' + rng() % 3));
          break;
        default:  // equal
          break;
      }
      std::string value(rng() % 3 == 0 ? 5000 : rng() % 9, static_cast<char>(i));
      r.Put(Db::kEvents, key, value);
      want.emplace_back(key, value);
      size_t shared = 0;
      while (shared < std::min(key.size(), prev.size()) && key[shared] == prev[shared]) ++shared;
      expected += 1 + VarintSize(shared) + VarintSize(key.size() - shared) +
                  VarintSize(value.size()) + key.size() - shared + value.size();
      prev = key;
    }
    std::vector<std::pair<std::string, std::string>> seen;
    ASSERT_TRUE(ForEachJournalOp(r.bytes(), [&](const JournalOp& op) {
                  seen.emplace_back(std::string(op.key), std::string(op.value));
                }).ok());
    EXPECT_EQ(seen, want) << "round " << round;
    EXPECT_EQ(r.bytes().size(), expected) << "round " << round;
    EXPECT_EQ(r.ops(), want.size());
  }
}

TEST(Journal, ACopyIsTheSameRecordAndAMovedFromRecordStartsAgainWithItsHeader) {
  JournalRecord r;
  r.Put(Db::kEvents, "ent-1", "a");
  r.Put(Db::kEvents, "ent-2", std::string(10'000, 'b'));  // past the first buffer
  JournalRecord copy(r);
  EXPECT_EQ(copy.bytes(), r.bytes());
  EXPECT_EQ(copy.ops(), 2u);
  copy.Put(Db::kLines, "ent-3", "c");  // shares "ent-" with the copied previous key
  EXPECT_EQ(DecodedOps(copy.bytes()),
            (std::vector<std::string>{"1+ent-1=a", Cat("1+ent-2=", std::string(10'000, 'b')),
                                      "2+ent-3=c"}));
  JournalRecord moved(std::move(r));
  EXPECT_EQ(moved.ops(), 2u);
  EXPECT_TRUE(r.empty());  // NOLINT(bugprone-use-after-move): the documented moved-from state
  r.Put(Db::kEvents, "ent-9", "z");
  EXPECT_EQ(DecodedOps(r.bytes()), (std::vector<std::string>{"1+ent-9=z"}));
  JournalRecord assigned;
  assigned = copy;
  EXPECT_EQ(assigned.bytes(), copy.bytes());
}

TEST(Journal, RecordsOfTheFirstLayoutStillDecode) {
  // What a crash of an earlier build left unfolded: header without kPrefixKeys, then per op
  // db, kind, key length and value length (4 bytes LE each), key, value.
  std::string old(8, '\0');
  old[7] = 42;  // transaction 42
  auto op = [&](Db db, uint8_t kind, std::string_view key, std::string_view value) {
    old.push_back(static_cast<char>(db));
    old.push_back(static_cast<char>(kind));
    for (uint32_t n : {static_cast<uint32_t>(key.size()), static_cast<uint32_t>(value.size())}) {
      for (int b = 0; b < 4; ++b) old.push_back(static_cast<char>(n >> (8 * b)));
    }
    old.append(key);
    old.append(value);
  };
  op(Db::kEvents, 0, "ent/e1", "1111");
  op(Db::kLines, 1, "line/a", "");
  EXPECT_EQ(JournalRecordTxn(old), 42u);
  EXPECT_EQ(DecodedOps(old), (std::vector<std::string>{"1+ent/e1=1111", "2-line/a="}));
}

TEST(Journal, APrefixLongerThanThePreviousKeyIsCorruption) {
  JournalRecord r;
  r.Put(Db::kEvents, "abc", "x");
  std::string bytes(r.bytes());
  // The first op shares nothing: claiming 2 shared bytes with no previous key is corrupt.
  ASSERT_EQ(bytes[JournalRecord::kHeaderSize + 1], 0);
  bytes[JournalRecord::kHeaderSize + 1] = 2;
  Status st = ForEachJournalOp(bytes, [](const JournalOp&) {});
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  // A suffix that would make the key longer than LMDB takes, and a varint that never ends.
  JournalRecord one;
  one.Put(Db::kEvents, "k", "");
  std::string too_long(one.bytes());
  too_long[JournalRecord::kHeaderSize + 2] = static_cast<char>(0x80);  // 512 = 0x80 0x04
  too_long.insert(JournalRecord::kHeaderSize + 3, 1, '\x04');
  too_long += std::string(600, 'k');
  EXPECT_EQ(ForEachJournalOp(too_long, [](const JournalOp&) {}).code(), StatusCode::kCorruption);
  std::string endless(JournalRecord().bytes());
  endless += std::string(1, static_cast<char>(Db::kEvents)) + std::string(12, '\xff');
  EXPECT_EQ(ForEachJournalOp(endless, [](const JournalOp&) {}).code(), StatusCode::kCorruption);
}

TEST(Journal, ATruncatedOrForeignRecordIsCorruption) {
  JournalRecord r;
  r.Put(Db::kEvents, "e1", "x");
  std::string bytes(r.bytes());
  auto count = [](std::string_view b) {
    int n = 0;
    Status st = ForEachJournalOp(b, [&](const JournalOp&) { ++n; });
    return st.code();
  };
  EXPECT_EQ(count(bytes.substr(0, bytes.size() - 1)), StatusCode::kCorruption);
  EXPECT_EQ(count(bytes.substr(0, 5)), StatusCode::kCorruption);   // not even a header
  EXPECT_EQ(count(bytes.substr(0, 12)), StatusCode::kCorruption);  // half an op
  std::string foreign = bytes;
  foreign[JournalRecord::kHeaderSize] = static_cast<char>(Db::kTotals);  // not journaled
  EXPECT_EQ(count(foreign), StatusCode::kCorruption);
}

TEST(Journal, APlanKeepsTheLastWriteOfEachKeyInKeyOrder) {
  TempDir dir;
  auto env = MustOpen(dir.path());
  JournalRecord a;
  a.Put(Db::kLines, "b", "1");
  a.Put(Db::kEvents, "z", "e");
  a.Put(Db::kLines, "a", "1");
  AppendRecord(*env, a);
  JournalRecord b;
  b.Put(Db::kLines, "b", "2");
  b.Delete(Db::kLines, "a");
  AppendRecord(*env, b);
  Result<ReadTxn> txn = env->BeginRead();
  ASSERT_TRUE(txn.ok());
  FoldPlan plan;
  ASSERT_TRUE(BuildFoldPlan(*txn, 0, SIZE_MAX, &plan).ok());
  EXPECT_EQ(plan.records, 2u);
  EXPECT_EQ(plan.last_seq, plan.first_seq + 1);
  EXPECT_EQ(plan.snapshot_txn, txn->id());
  std::vector<std::string> ops;
  for (const FoldPlan::Op& op : plan.ops) {
    ops.push_back(Cat(std::string(DbName(op.db)), ":", plan.key(op), op.is_delete ? "-" : "=",
                      plan.value(op)));
  }
  EXPECT_EQ(ops, (std::vector<std::string>{"events:z=e", "lines:a-", "lines:b=2"}));

  FoldPlan from_second;
  ASSERT_TRUE(BuildFoldPlan(*txn, plan.last_seq, SIZE_MAX, &from_second).ok());
  EXPECT_EQ(from_second.records, 1u);
  FoldPlan first_only;
  ASSERT_TRUE(BuildFoldPlan(*txn, 0, 1, &first_only).ok());  // stops after the first record
  EXPECT_EQ(first_only.records, 1u);
  EXPECT_EQ(first_only.ops.size(), 3u);
}

TEST(Journal, APlanIsInExactKeyOrderWhateverTheKeysShare) {
  // The writer walks a window's ops with one cursor per tree, so the plan must be in LMDB's
  // byte order exactly: keys sharing 24, 48 or 100 bytes, keys that are prefixes of others,
  // bytes 0x00 and 0xFF, several writes and deletes of one key in several records. Odd rounds
  // have windows of over 4,096 writes, which the planner orders by bucketing, not by sorting.
  std::mt19937_64 rng(20261121);
  const std::string shared_long(100, 'p');
  const std::string entitlement = "3f2504e0-4f89-11d3-9a0c-0305e82c3301";
  auto random_key = [&]() {
    std::string key;
    switch (rng() % 4) {
      case 0: key = entitlement + '\0' + "s" + std::to_string(rng() % 40) + "-"; break;
      case 1: key = shared_long.substr(0, 20 + rng() % 30); break;
      case 2: key = shared_long; break;
      default: break;
    }
    const size_t tail = rng() % 30;
    for (size_t i = 0; i < tail; ++i) {
      const char alphabet[] = {'\0', 'a', 'b', static_cast<char>(0xFF), '-', 'p'};
      key.push_back(alphabet[rng() % sizeof alphabet]);
    }
    return key.empty() ? std::string("k") : key;
  };
  for (int round = 0; round < 5; ++round) {
    TempDir dir;
    auto env = MustOpen(dir.path());
    std::map<std::pair<Db, std::string>, std::optional<std::string>> expected;
    std::vector<std::string> keys;
    const bool big = round % 2 == 1;
    for (int i = 0; i < (big ? 3000 : 300); ++i) keys.push_back(random_key());
    for (int record = 0; record < (big ? 120 : 20); ++record) {
      JournalRecord r;
      for (int op = 0; op < 50; ++op) {
        const Db db = rng() % 3 == 0 ? Db::kEvents : Db::kLines;
        const std::string& key = keys[rng() % keys.size()];
        if (rng() % 5 == 0) {
          r.Delete(db, key);
          expected[{db, key}] = std::nullopt;
        } else {
          std::string value = Cat("r", record, "o", op);
          r.Put(db, key, value);
          expected[{db, key}] = value;
        }
      }
      AppendRecord(*env, std::move(r));
    }
    Result<ReadTxn> txn = env->BeginRead();
    ASSERT_TRUE(txn.ok());
    FoldPlan plan;
    ASSERT_TRUE(BuildFoldPlan(*txn, 0, SIZE_MAX, &plan).ok());
    ASSERT_EQ(plan.ops.size(), expected.size()) << "round " << round;
    size_t i = 0;
    for (const auto& [db_key, value] : expected) {
      const FoldPlan::Op& op = plan.ops[i++];
      EXPECT_EQ(op.db, db_key.first);
      EXPECT_EQ(plan.key(op), db_key.second) << "round " << round << " op " << i;
      EXPECT_EQ(op.is_delete, !value.has_value());
      if (value) {
        EXPECT_EQ(plan.value(op), *value);
      }
    }
  }
}

TEST(Journal, AWindowCutAtItsByteBudgetEndsWithWholeCommitsAndSaysWhichOnes) {
  // Records carry the id of the transaction that committed them. A window that stops at its
  // byte budget takes the rest of the crossing record's commit and no more, and only the
  // commits it holds whole count as folded once it is applied.
  TempDir dir;
  auto env = MustOpen(dir.path());
  std::vector<uint64_t> txn_ids;
  for (int commit = 0; commit < 3; ++commit) {
    Result<WriteTxn> txn = env->BeginWrite();
    ASSERT_TRUE(txn.ok());
    txn_ids.push_back(txn->id());
    for (int job = 0; job < 2; ++job) {
      JournalRecord r;
      r.Put(Db::kLines, Cat("c", commit, "j", job), std::string(100, 'x'));
      ASSERT_TRUE(AppendJournal(*txn, r).ok());
      EXPECT_EQ(JournalRecordTxn(r.bytes()), txn->id());
    }
    ASSERT_TRUE(std::move(*txn).Commit().ok());
  }
  Result<ReadTxn> txn = env->BeginRead();
  ASSERT_TRUE(txn.ok());
  FoldPlan plan;
  ASSERT_TRUE(BuildFoldPlan(*txn, 0, 1, &plan).ok());  // the first record crosses the budget
  EXPECT_EQ(plan.records, 2u);                         // ... and its commit's other record
  EXPECT_EQ(plan.folds_through, txn_ids[0]);
  EXPECT_TRUE(plan.cut);
  FoldPlan rest;
  ASSERT_TRUE(BuildFoldPlan(*txn, plan.last_seq + 1, SIZE_MAX, &rest).ok());
  EXPECT_EQ(rest.records, 4u);
  EXPECT_EQ(rest.folds_through, txn->id());  // everything up to the snapshot
  EXPECT_FALSE(rest.cut);
  FoldPlan last_over_budget;  // over budget, but nothing was left out
  ASSERT_TRUE(BuildFoldPlan(*txn, plan.last_seq + 3, 1, &last_over_budget).ok());
  EXPECT_EQ(last_over_budget.records, 2u);
  EXPECT_FALSE(last_over_budget.cut);
  EXPECT_EQ(last_over_budget.folds_through, txn->id());
  FoldPlan middle;
  ASSERT_TRUE(BuildFoldPlan(*txn, plan.last_seq + 1, 150, &middle).ok());
  EXPECT_EQ(middle.records, 2u);
  EXPECT_EQ(middle.folds_through, txn_ids[1]);
}

TEST(Journal, FoldingTheWholeJournalAppliesItAndEmptiesIt) {
  TempDir dir;
  auto env = MustOpen(dir.path());
  {
    Result<WriteTxn> txn = env->BeginWrite();
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(txn->Put(Db::kLines, "gone", "old").ok());
    ASSERT_TRUE(std::move(*txn).Commit().ok());
  }
  JournalRecord r;
  r.Put(Db::kLines, "k", "1");
  r.Put(Db::kLines, "k", "2");
  r.Delete(Db::kLines, "gone");
  r.Delete(Db::kLines, "never-there");  // a delete of an absent key is no error
  AppendRecord(*env, r);
  EXPECT_EQ(Read(*env, Db::kLines, "k"), std::nullopt);  // not folded yet
  Result<WriteTxn> txn = env->BeginWrite();
  ASSERT_TRUE(txn.ok());
  uint64_t ops = 0;
  ASSERT_TRUE(FoldWholeJournal(*txn, &ops).ok());
  ASSERT_TRUE(std::move(*txn).Commit().ok());
  EXPECT_EQ(ops, 3u);
  EXPECT_EQ(Read(*env, Db::kLines, "k"), "2");
  EXPECT_EQ(Read(*env, Db::kLines, "gone"), std::nullopt);
  EXPECT_EQ(JournalRecords(*env), 0u);
}

TEST(Journal, ThePutsOfADatabaseInTheJournalAreListedAndCounted) {
  TempDir dir;
  auto env = MustOpen(dir.path());
  JournalRecord r;
  r.Put(Db::kEvents, "journal-1", "x");
  r.Put(Db::kLines, "journal-line", "x");  // another database: not listed
  r.Delete(Db::kEvents, "deleted");        // a delete is not a key of the database
  AppendRecord(*env, r);
  JournalRecord r2;
  r2.Put(Db::kEvents, "journal-2", "x");
  r2.Put(Db::kEvents, "journal-1", "y");  // written again: listed again
  AppendRecord(*env, r2);

  Result<ReadTxn> txn = env->BeginRead();
  ASSERT_TRUE(txn.ok());
  std::vector<std::string> seen;
  ASSERT_TRUE(ForEachJournalPut(*txn, Db::kEvents, [&](std::string_view k) {
    seen.emplace_back(k);
    return ScanStep::kContinue;
  }).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"journal-1", "journal-2", "journal-1"}));
  EXPECT_EQ(*CountJournalPuts(*txn, Db::kEvents), 3u);
  EXPECT_EQ(*CountJournalPuts(*txn, Db::kLines), 1u);
  EXPECT_EQ(*CountJournalPuts(*txn, Db::kUnknownLines), 0u);

  // Stopping, within a record or at its end, stops.
  for (size_t stop_after : {1u, 2u}) {
    seen.clear();
    ASSERT_TRUE(ForEachJournalPut(*txn, Db::kEvents, [&](std::string_view k) {
      seen.emplace_back(k);
      return seen.size() == stop_after ? ScanStep::kStop : ScanStep::kContinue;
    }).ok());
    EXPECT_EQ(seen.size(), stop_after);
  }
}

TEST(Journal, ReplayingAPartlyAppliedWindowGivesTheSameState) {
  // A crash between two slices of a window leaves some keys applied and every record in place;
  // the next start folds the whole journal again, in sequence order.
  TempDir dir;
  auto env = MustOpen(dir.path());
  for (int round = 0; round < 3; ++round) {
    JournalRecord r;
    for (int k = 0; k < 10; ++k) r.Put(Db::kLines, Cat("key", k), Cat("r", round));
    AppendRecord(*env, r);
  }
  FoldPlan plan;
  {
    Result<ReadTxn> txn = env->BeginRead();
    ASSERT_TRUE(BuildFoldPlan(*txn, 0, SIZE_MAX, &plan).ok());
  }
  JournalRecord later;  // committed after the window was read
  later.Put(Db::kLines, "key3", "later");
  AppendRecord(*env, later);
  {
    Result<WriteTxn> txn = env->BeginWrite();
    ASSERT_TRUE(ApplyFoldOps(*txn, plan, 0, 4).ok());  // one slice, then the "crash"
    ASSERT_TRUE(std::move(*txn).Commit().ok());
  }
  EXPECT_EQ(Read(*env, Db::kLines, "key3"), "r2");
  EXPECT_EQ(Read(*env, Db::kLines, "key7"), std::nullopt);
  Result<WriteTxn> txn = env->BeginWrite();
  uint64_t ops = 0;
  ASSERT_TRUE(FoldWholeJournal(*txn, &ops).ok());
  ASSERT_TRUE(std::move(*txn).Commit().ok());
  for (int k = 0; k < 10; ++k) {
    EXPECT_EQ(Read(*env, Db::kLines, Cat("key", k)), k == 3 ? "later" : "r2") << k;
  }
  EXPECT_EQ(JournalRecords(*env), 0u);
}

TEST(Journal, WriterStartFoldsWhatACrashLeftAndStopLeavesNoJournal) {
  TempDir dir;
  auto env = MustOpen(dir.path());
  JournalRecord r;
  r.Put(Db::kEvents, "ent\0id", "day1");
  AppendRecord(*env, r);
  Result<std::unique_ptr<Writer>> writer = Writer::Start(env.get(), WriterOptions{});
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  EXPECT_EQ(Read(*env, Db::kEvents, "ent\0id"), "day1");
  EXPECT_EQ(JournalRecords(*env), 0u);
  EXPECT_GT((*writer)->folded_through(), 0u);

  ASSERT_TRUE((*writer)
                  ->Execute([](WriteTxn& txn) {
                    JournalRecord rec;
                    rec.Put(Db::kLines, "line", "v");
                    return AppendJournal(txn, rec);
                  })
                  .ok());
  (*writer)->Stop();
  EXPECT_EQ(Read(*env, Db::kLines, "line"), "v");
  EXPECT_EQ(JournalRecords(*env), 0u);
}

TEST(Journal, WaitFoldedMakesEveryAcknowledgedWriteReadable) {
  TempDir dir;
  auto env = MustOpen(dir.path());
  WriterOptions options;
  options.fold_interval = std::chrono::hours(1);  // only the barrier folds while jobs keep coming
  options.fold_idle_delay = std::chrono::hours(1);
  Result<std::unique_ptr<Writer>> writer = Writer::Start(env.get(), options);
  ASSERT_TRUE(writer.ok());
  uint64_t txn_id = 0;
  std::promise<void> committed;
  WriteJob job;
  job.apply = [](WriteTxn& txn) {
    JournalRecord rec;
    rec.Put(Db::kLines, "k", "acked");
    return AppendJournal(txn, rec);
  };
  job.done = [&](const CommitResult& r) {
    txn_id = r.txn_id;
    committed.set_value();
  };
  ASSERT_TRUE((*writer)->Submit(std::move(job)).ok());
  committed.get_future().wait();
  EXPECT_LT((*writer)->folded_through(), txn_id);
  EXPECT_EQ(Read(*env, Db::kLines, "k"), std::nullopt);  // committed, in the journal only
  ASSERT_TRUE((*writer)->WaitFolded(std::chrono::seconds(10)).ok());
  EXPECT_GE((*writer)->folded_through(), txn_id);
  EXPECT_EQ(Read(*env, Db::kLines, "k"), "acked");
  EXPECT_EQ((*writer)->stats().fold_barriers.load(), 1u);
}

TEST(Journal, TheWriterFoldsWindowsInSlicesWhileJobsKeepComingAndLastWriteWins) {
  // Many small jobs over a few keys, windows planned every few milliseconds and applied a few
  // writes per commit: whatever interleaving results, the B-trees end with each key's last
  // write, and an idle writer folds without being asked.
  TempDir dir;
  auto env = MustOpen(dir.path());
  WriterOptions options;
  options.fold_interval = std::chrono::milliseconds(2);
  options.fold_idle_delay = std::chrono::milliseconds(1);
  options.fold_slice_ops = 3;
  Result<std::unique_ptr<Writer>> writer = Writer::Start(env.get(), options);
  ASSERT_TRUE(writer.ok());
  std::map<std::string, std::string> want;
  std::mt19937 rng(7);
  std::vector<std::future<Status>> pending;
  for (int i = 0; i < 600; ++i) {
    const std::string key = Cat("k", static_cast<int>(rng() % 40));
    const std::string value = Cat("v", i);
    want[key] = value;
    auto promise = std::make_shared<std::promise<Status>>();
    pending.push_back(promise->get_future());
    WriteJob job;
    job.apply = [key, value](WriteTxn& txn) {
      JournalRecord rec;
      rec.Put(Db::kLines, key, value);
      return AppendJournal(txn, rec);
    };
    job.done = [promise](const CommitResult& r) { promise->set_value(r.status); };
    Status st;
    while ((st = (*writer)->Submit(std::move(job))).code() == StatusCode::kResourceExhausted) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_TRUE(st.ok());
    if (i % 50 == 0) {
      for (auto& f : pending) ASSERT_TRUE(f.get().ok());
      pending.clear();
    }
  }
  for (auto& f : pending) ASSERT_TRUE(f.get().ok());
  // Idle now: the writer folds the rest by itself.
  const uint64_t last = (*writer)->stats().last_txn_id.load();
  for (int i = 0; i < 2000 && (*writer)->folded_through() < last; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GE((*writer)->folded_through(), last);
  EXPECT_GT((*writer)->stats().fold_windows.load(), 1u);
  for (const auto& [key, value] : want) EXPECT_EQ(Read(*env, Db::kLines, key), value) << key;
  EXPECT_EQ(JournalRecords(*env), 0u);
}

TEST(Journal, IngestIsHeldBackWhileTheFoldIsAWindowBehind) {
  // Windows cut at their byte budget twice in a row mean the journal outgrew the fold: the writer
  // refuses reservations (usage waits in the shard queues, then 429) until a window takes the rest.
  // With a budget of one byte every window that meets two commits is cut.
  TempDir dir;
  auto env = MustOpen(dir.path());
  WriterOptions options;
  options.fold_window_bytes = 1;
  options.fold_interval = std::chrono::milliseconds(1);
  options.fold_idle_delay = std::chrono::milliseconds(1);
  Result<std::unique_ptr<Writer>> writer = Writer::Start(env.get(), options);
  ASSERT_TRUE(writer.ok());
  std::vector<std::future<Status>> done;
  int jobs = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while ((*writer)->stats().fold_throttled.load() == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    auto promise = std::make_shared<std::promise<Status>>();
    done.push_back(promise->get_future());
    WriteJob job;
    job.apply = [n = jobs](WriteTxn& txn) {
      JournalRecord rec;
      rec.Put(Db::kLines, Cat("b", n), "v");
      return AppendJournal(txn, rec);
    };
    job.done = [promise](const CommitResult& r) { promise->set_value(r.status); };
    Status st;
    while ((st = (*writer)->Submit(job)).code() == StatusCode::kResourceExhausted) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_TRUE(st.ok()) << st.ToString();
    ++jobs;
    if ((*writer)->TryReserve()) (*writer)->CancelReservation();
  }
  EXPECT_GT((*writer)->stats().fold_throttled.load(), 0u) << "no window was ever behind";
  for (auto& f : done) ASSERT_TRUE(f.get().ok());
  // Once the fold has taken the rest, reservations are granted again.
  bool granted = false;
  for (int i = 0; i < 5000 && !(granted = (*writer)->TryReserve()); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_TRUE(granted);
  if (granted) (*writer)->CancelReservation();
  (*writer)->Stop();
  for (int n = 0; n < jobs; ++n) EXPECT_EQ(Read(*env, Db::kLines, Cat("b", n)), "v") << n;
}

}  // namespace
}  // namespace meterd::storage
