// Map-full and disk-full behaviour: clean ResourceExhausted, an intact store that keeps
// serving reads, and writes that succeed again once space exists.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <filesystem>
#include <string>
#include <vector>

#include "storage/env.h"
#include "storage/writer.h"
#include "test_util.h"

namespace meterd::storage {
namespace {

using testing::Cat;
using testing::TempDir;

constexpr uint64_t kMiB = uint64_t{1} << 20;

EnvOptions TinyMap(uint64_t max_bytes) {
  EnvOptions o;
  o.map_size = kMiB;
  o.max_map_size = max_bytes;
  o.map_growth_step = kMiB;
  return o;
}

std::string KeyOf(int job, int i) {
  std::string key = "j";  // built by appends: GCC 12 misfires -Wrestrict on "lit" + string
  key += std::to_string(job);
  key += '-';
  key += std::to_string(i);
  return key;
}

// A job of 100 records of 1 KiB: 25 of them fill about a mebibyte.
std::function<Status(WriteTxn&)> BulkJob(int job, int* runs = nullptr) {
  return [job, runs](WriteTxn& txn) {
    if (runs != nullptr) ++*runs;
    const std::string value(1024, static_cast<char>('a' + job % 26));
    for (int i = 0; i < 100; ++i) METERD_RETURN_IF_ERROR(txn.Put(Db::kLines, KeyOf(job, i), value));
    return Status::Ok();
  };
}

int CountJobsPresent(Env& env, int jobs) {
  Result<ReadTxn> r = env.BeginRead();
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  int present = 0;
  for (int j = 0; j < jobs; ++j) {
    int found = 0;
    for (int i = 0; i < 100; ++i) found += *r->Contains(Db::kLines, KeyOf(j, i));
    EXPECT_TRUE(found == 0 || found == 100) << "job " << j << " is partial: " << found;
    present += found == 100;
  }
  return present;
}

TEST(MapFull, ATinyMapWithoutGrowthFailsWritesCleanlyAndKeepsServingReads) {
  TempDir dir;
  std::vector<int> acked;
  int failed_job = -1;
  {
    Result<std::unique_ptr<Env>> env = Env::Open(dir.path(), TinyMap(kMiB));
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    Result<std::unique_ptr<Writer>> writer = Writer::Start(env->get(), {});
    ASSERT_TRUE(writer.ok());
    for (int j = 0; j < 100 && failed_job < 0; ++j) {
      Status st = (*writer)->Execute(BulkJob(j));
      if (st.ok()) {
        acked.push_back(j);
      } else {
        EXPECT_EQ(st.code(), StatusCode::kResourceExhausted) << st.ToString();
        EXPECT_NE(st.message().find("map full"), std::string::npos) << st.message();
        failed_job = j;
      }
    }
    ASSERT_GE(failed_job, 1) << "the map never filled";
    EXPECT_GE((*writer)->stats().map_full_events.load(), 1u);
    EXPECT_EQ((*writer)->stats().map_growths.load(), 0u);
    // Reads keep working and see exactly the acknowledged jobs.
    EXPECT_EQ(CountJobsPresent(**env, 100), static_cast<int>(acked.size()));
    // The writer is still alive: a small write fits or fails cleanly, never crashes.
    Status small = (*writer)->Execute([](WriteTxn& t) { return t.Put(Db::kMeta, "probe", "1"); });
    EXPECT_TRUE(small.ok() || small.code() == StatusCode::kResourceExhausted) << small.ToString();
    // Space arrives (an operator raises the limit): the same job now commits.
    (*env)->SetMaxMapSize(8 * kMiB);
    Status retried = (*writer)->Execute(BulkJob(failed_job));
    EXPECT_TRUE(retried.ok()) << retried.ToString();
    EXPECT_GE((*writer)->stats().map_growths.load(), 1u);
    acked.push_back(failed_job);
  }
  // The store reopens (nothing corrupted) with every acknowledged job whole.
  Result<std::unique_ptr<Env>> env = Env::Open(dir.path(), TinyMap(8 * kMiB));
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  EXPECT_EQ(CountJobsPresent(**env, 100), static_cast<int>(acked.size()));
}

TEST(MapFull, TheMapGrowsByItsStepAndTheBatchIsReRun) {
  TempDir dir;
  Result<std::unique_ptr<Env>> env = Env::Open(dir.path(), TinyMap(32 * kMiB));
  ASSERT_TRUE(env.ok());
  WriterOptions wo;
  wo.grow_ahead_percent = 0;  // only growth on MDB_MAP_FULL is under test here
  Result<std::unique_ptr<Writer>> writer = Writer::Start(env->get(), std::move(wo));
  ASSERT_TRUE(writer.ok());
  std::vector<int> runs(80, 0);
  for (int j = 0; j < 80; ++j) {
    Status st = (*writer)->Execute(BulkJob(j, &runs[j]));
    ASSERT_TRUE(st.ok()) << j << ": " << st.ToString();
  }
  EXPECT_GT((*env)->map_size(), kMiB);
  EXPECT_LE((*env)->map_size(), 32 * kMiB);
  EXPECT_GE((*writer)->stats().map_growths.load(), 3u);
  EXPECT_EQ((*writer)->stats().map_full_events.load(), (*writer)->stats().map_growths.load());
  int reruns = 0;
  for (int r : runs) reruns += r > 1;
  EXPECT_GE(reruns, 1);  // jobs that hit MDB_MAP_FULL were applied again after growth
  EXPECT_EQ(CountJobsPresent(**env, 80), 80);
}

TEST(MapFull, GrowingAheadBetweenBatchesAvoidsMapFullMidBatch) {
  TempDir dir;
  Result<std::unique_ptr<Env>> env = Env::Open(dir.path(), TinyMap(64 * kMiB));
  ASSERT_TRUE(env.ok());
  WriterOptions wo;
  wo.grow_ahead_percent = 50;
  Result<std::unique_ptr<Writer>> writer = Writer::Start(env->get(), std::move(wo));
  ASSERT_TRUE(writer.ok());
  for (int j = 0; j < 40; ++j) ASSERT_TRUE((*writer)->Execute(BulkJob(j)).ok());
  EXPECT_GE((*writer)->stats().map_growths.load(), 1u);
  EXPECT_LT((*writer)->stats().map_full_events.load(), (*writer)->stats().map_growths.load());
}

// Caps the size any file of this process may reach (the kernel then fails writes with EFBIG,
// as a full disk fails them with ENOSPC) and restores the limit on destruction.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = signal(SIGXFSZ, SIG_IGN);
    Set(bytes);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &saved_);
    signal(SIGXFSZ, old_handler_);
  }
  void Set(rlim_t bytes) {
    rlimit lim = saved_;
    lim.rlim_cur = bytes;
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
  }
  void Lift() { setrlimit(RLIMIT_FSIZE, &saved_); }

 private:
  rlimit saved_{};
  sighandler_t old_handler_ = SIG_DFL;
};

TEST(DiskFull, AFullDiskFailsTheBatchWithResourceExhaustedAndWritesResumeWhenSpaceReturns) {
  TempDir dir;
  EnvOptions o;
  o.map_size = 64 * kMiB;
  Result<std::unique_ptr<Env>> env = Env::Open(dir.path(), o);
  ASSERT_TRUE(env.ok());
  Result<std::unique_ptr<Writer>> writer = Writer::Start(env->get(), {});
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Execute(BulkJob(0)).ok());
  const auto file_size = std::filesystem::file_size(dir.path() + "/data.mdb");
  std::vector<int> acked = {0};
  int failed_job = -1;
  {
    FileSizeLimit limit(file_size + 512 * 1024);
    for (int j = 1; j < 60 && failed_job < 0; ++j) {
      Status st = (*writer)->Execute(BulkJob(j));
      if (st.ok()) {
        acked.push_back(j);
      } else {
        EXPECT_EQ(st.code(), StatusCode::kResourceExhausted) << st.ToString();
        failed_job = j;
      }
    }
    ASSERT_GT(failed_job, 0) << "the file size limit was never reached";
    EXPECT_GE((*writer)->stats().map_full_events.load(), 1u);
    EXPECT_EQ(CountJobsPresent(**env, 60), static_cast<int>(acked.size()));
    // Still full: another attempt fails the same clean way.
    EXPECT_EQ((*writer)->Execute(BulkJob(failed_job)).code(), StatusCode::kResourceExhausted);
    limit.Lift();
    Status retried = (*writer)->Execute(BulkJob(failed_job));
    EXPECT_TRUE(retried.ok()) << retried.ToString();
    acked.push_back(failed_job);
  }
  (*writer)->Stop();
  writer->reset();
  env->reset();
  Result<std::unique_ptr<Env>> reopened = Env::Open(dir.path(), o);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ(CountJobsPresent(**reopened, 60), static_cast<int>(acked.size()));
}

}  // namespace
}  // namespace meterd::storage
