// meterctl stats and backup on a real store: next to a running meterd (read-only, no lock) and
// after it stopped; a backup restores to the same spend; refusals exit 1.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/tools/meterctl/test_support.h"
#include "tools/meterctl/json.h"

namespace meterd::meterctl {
namespace {

using testing::ProcessResult;
using testing::ReadFile;

constexpr const char* kBasicCustomer = "c0ffee00-0000-4000-8000-000000000001";

std::string Describe(const ProcessResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

Json Parse(const std::string& text) {
  Result<Json> j = Json::Parse(text);
  EXPECT_TRUE(j.ok()) << j.status().ToString() << "\n" << text;
  return j.ok() ? std::move(*j) : Json();
}

// Entries per database name from `stats --json`.
std::map<std::string, std::string> Entries(const Json& stats) {
  std::map<std::string, std::string> out;
  for (const Json& db : stats.Find("databases")->items()) {
    out[*db.GetText("name")] = *db.GetText("entries");
  }
  return out;
}

class MeterctlStore : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<testing::Meterd>> d = testing::Meterd::Start(dir_.Join("data"));
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    meterd_ = std::move(*d);
    ctl_ = std::make_unique<testing::Meterctl>(meterd_->url(), meterd_->admin_token_file(),
                                               dir_.path());
    const std::string failure = testing::LoadExample(*ctl_, "basic");
    ASSERT_EQ(failure, "") << failure;
  }

  ProcessResult Ctl(const std::vector<std::string>& args) const { return ctl_->Run(args); }

  testing::TempDir dir_;
  std::unique_ptr<testing::Meterd> meterd_;
  std::unique_ptr<testing::Meterctl> ctl_;
};

TEST_F(MeterctlStore, ReadsStatsOfALiveStoreWithoutDisturbingTheDaemon) {
  // Just-acknowledged lines and identities may still sit in the journal; an idle daemon folds
  // it into the B-trees within milliseconds (storage/journal.h).
  ProcessResult r;
  Json s;
  std::map<std::string, std::string> entries;
  for (int attempt = 0; attempt < 100; ++attempt) {
    r = Ctl({"stats", "--data-dir", meterd_->data_dir(), "--json"});
    ASSERT_EQ(r.exit_code, 0) << Describe(r);
    s = Parse(r.out);
    entries = Entries(s);
    if (entries["journal"] == "0") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(entries["journal"], "0");
  EXPECT_EQ(entries["lines"], "4");   // the four daily lines of the example
  EXPECT_EQ(entries["events"], "7");  // seven accepted event identities
  EXPECT_EQ(entries["budgets"], "1");
  EXPECT_EQ(entries["alerts"], "3");
  EXPECT_NE(s.GetText("used_bytes"), "0");
  EXPECT_NE(s.GetText("last_txn_id"), "0");
  // The daemon keeps serving and accepting usage after the read-only open.
  ProcessResult spend = Ctl({"spend", kBasicCustomer, "--json"});
  EXPECT_EQ(spend.exit_code, 0) << Describe(spend);

  ProcessResult text = Ctl({"stats", "--data-dir", meterd_->data_dir()});
  ASSERT_EQ(text.exit_code, 0) << Describe(text);
  for (const char* want :
       {"schema version", "map used", "oldest reader", "database", "entries", "lines "}) {
    EXPECT_NE(text.out.find(want), std::string::npos) << want << "\n" << text.out;
  }
}

TEST_F(MeterctlStore, BacksUpALiveStoreAndTheCopyRestoresTheSameSpend) {
  ProcessResult before = Ctl({"spend", kBasicCustomer, "--json"});
  ASSERT_EQ(before.exit_code, 0) << Describe(before);

  // Online: the daemon runs and keeps committing while the copy is made.
  const std::string online = dir_.Join("online");
  ProcessResult b = Ctl({"backup", "--data-dir", meterd_->data_dir(), "--out", online});
  ASSERT_EQ(b.exit_code, 0) << Describe(b);
  EXPECT_NE(b.out.find("written to " + online + "/data.mdb"), std::string::npos) << b.out;
  EXPECT_TRUE(std::filesystem::exists(online + "/data.mdb"));
  EXPECT_FALSE(std::filesystem::exists(online + "/data.mdb.partial"));

  // Into a directory that already holds a backup: refused, the copy left as it was.
  const auto size = std::filesystem::file_size(online + "/data.mdb");
  ProcessResult again = Ctl({"backup", "--data-dir", meterd_->data_dir(), "--out", online});
  EXPECT_EQ(again.exit_code, 1) << Describe(again);
  EXPECT_NE(again.err.find("exists"), std::string::npos) << again.err;
  EXPECT_EQ(std::filesystem::file_size(online + "/data.mdb"), size);

  // Offline: stop the daemon, back up the closed store.
  ASSERT_EQ(meterd_->Stop(), 0);
  const std::string offline = dir_.Join("offline");
  ProcessResult off =
      Ctl({"backup", "--data-dir", meterd_->data_dir(), "--out", offline, "--json"});
  ASSERT_EQ(off.exit_code, 0) << Describe(off);
  Json offj = Parse(off.out);
  EXPECT_EQ(offj.GetText("backup"), offline + "/data.mdb");

  ProcessResult live_stats = Ctl({"stats", "--data-dir", meterd_->data_dir(), "--json"});
  ProcessResult copy_stats = Ctl({"stats", "--data-dir", offline, "--json"});
  ASSERT_EQ(copy_stats.exit_code, 0) << Describe(copy_stats);
  EXPECT_EQ(Entries(Parse(copy_stats.out)), Entries(Parse(live_stats.out)));

  // Restore: a meterd on the online copy answers the same spend; tokens live in the store, so
  // the original admin token still works.
  std::filesystem::copy_file(meterd_->admin_token_file(), online + "/admin.token");
  Result<std::unique_ptr<testing::Meterd>> restored = testing::Meterd::Start(online);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  testing::Meterctl on_copy((*restored)->url(), meterd_->admin_token_file(), dir_.path());
  ProcessResult after = on_copy.Run({"spend", kBasicCustomer, "--json"});
  ASSERT_EQ(after.exit_code, 0) << Describe(after);
  Json a = Parse(after.out);
  Json b4 = Parse(before.out);
  for (const char* field : {"list", "pec", "billed", "list_usd", "billed_usd", "percent",
                            "forecast", "unrated_lines"}) {
    EXPECT_EQ(a.GetText(field), b4.GetText(field)) << field;
  }
  EXPECT_EQ((*restored)->Stop(), 0);
}

TEST_F(MeterctlStore, RefusesADirectoryWithoutAStore) {
  std::filesystem::create_directories(dir_.Join("empty"));
  ProcessResult stats = Ctl({"stats", "--data-dir", dir_.Join("empty")});
  EXPECT_EQ(stats.exit_code, 1) << Describe(stats);
  EXPECT_NE(stats.err.find("data.mdb missing"), std::string::npos) << stats.err;
  ProcessResult backup =
      Ctl({"backup", "--data-dir", dir_.Join("nowhere"), "--out", dir_.Join("out")});
  EXPECT_EQ(backup.exit_code, 1) << Describe(backup);
  EXPECT_FALSE(std::filesystem::exists(dir_.Join("out/data.mdb")));
}

}  // namespace
}  // namespace meterd::meterctl
