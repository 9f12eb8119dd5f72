// Crash atomicity: a child process (storage_crash_helper) commits units through the Writer and
// acknowledges each on a pipe; it is kill -9'ed at random moments, many times, on the same
// store. After every kill the store must reopen with every acknowledged unit whole, no unit
// partial, the unit counter equal to the units present, and the alert sequence gap-free.
// (kill -9 proves atomicity against process death; power loss is LMDB's fsync ordering, see
// docs/storage.md.) METERD_CRASH_ITERATIONS overrides the number of kills.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>

#include "storage/env.h"
#include "storage/keys.h"
#include "test_util.h"

#ifndef METERD_CRASH_HELPER
#error "METERD_CRASH_HELPER must name the helper binary"
#endif

namespace meterd::storage {
namespace {

using testing::Cat;
using testing::TempDir;
using Clock = std::chrono::steady_clock;

struct ChildRun {
  std::set<uint64_t> acked;
  int exit_signal = 0;
};

// Starts the helper, reads acknowledgements until `run_for` has passed, kills it with
// SIGKILL, then drains what it had already written to the pipe (those are acknowledged too).
ChildRun RunAndKill(const std::string& dir, uint64_t first_unit, uint32_t seed,
                    std::chrono::milliseconds run_for) {
  ChildRun out;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe";
    return out;
  }
  const std::string first = std::to_string(first_unit);
  const std::string seed_text = std::to_string(seed);
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);  // dup2 clears O_CLOEXEC on the new descriptor
    execl(METERD_CRASH_HELPER, METERD_CRASH_HELPER, dir.c_str(), first.c_str(), seed_text.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  std::string pending;
  auto consume = [&](const char* data, ssize_t n) {
    pending.append(data, static_cast<size_t>(n));
    size_t pos;
    while ((pos = pending.find('\n')) != std::string::npos) {
      out.acked.insert(std::strtoull(pending.substr(0, pos).c_str(), nullptr, 10));
      pending.erase(0, pos + 1);
    }
  };
  char buf[4096];
  const auto deadline = Clock::now() + run_for;
  while (Clock::now() < deadline) {
    pollfd p{fds[0], POLLIN, 0};
    const int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (poll(&p, 1, std::max(left, 0)) <= 0) continue;
    const ssize_t n = read(fds[0], buf, sizeof buf);
    if (n <= 0) break;  // the child died on its own: reported below
    consume(buf, n);
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) consume(buf, n);
  close(fds[0]);
  out.exit_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  EXPECT_TRUE(pending.empty()) << "half an acknowledgement: " << pending;
  return out;
}

// Verifies the store and returns the units it holds.
std::set<uint64_t> VerifyStore(const std::string& dir) {
  std::set<uint64_t> units;
  Result<std::unique_ptr<Env>> env = Env::Open(dir, EnvOptions{});
  EXPECT_TRUE(env.ok()) << env.status().ToString();
  if (!env.ok()) return units;
  Result<ReadTxn> r = (*env)->BeginRead();
  EXPECT_TRUE(r.ok());
  std::map<uint64_t, uint64_t> declared;  // unit -> item count from its header
  std::map<uint64_t, uint64_t> found;     // unit -> items present
  Status scanned =
      r->Scan(Db::kLines, "", ScanBound::None(), [&](std::string_view k, std::string_view v) {
        KeyReader kr(k);
        uint8_t tag = 0;
        uint64_t unit = 0;
        EXPECT_TRUE(kr.ReadU8(&tag) && kr.ReadU64(&unit));
        if (tag == 'h') {
          declared[unit] = GetU64BE(v.data());
        } else {
          uint32_t item = 0;
          EXPECT_TRUE(kr.ReadU32(&item));
          EXPECT_EQ(v[4], static_cast<char>('a' + unit % 26));
          ++found[unit];
        }
        return ScanStep::kContinue;
      });
  EXPECT_TRUE(scanned.ok()) << scanned.ToString();
  for (const auto& [unit, count] : found) {
    EXPECT_TRUE(declared.count(unit)) << "items of unit " << unit << " without its header";
  }
  for (const auto& [unit, count] : declared) {
    EXPECT_EQ(found[unit], count) << "unit " << unit << " is partial";
    units.insert(unit);
  }
  std::string v;
  const uint64_t counter = r->Get(Db::kTotals, "units", &v).ok() ? GetU64BE(v.data()) : 0;
  EXPECT_EQ(counter, units.size());
  // Alerts: sequence 1..n without gaps, one per unit present.
  uint64_t expect_seq = 1;
  std::set<uint64_t> alerted;
  EXPECT_TRUE(
      r->Scan(Db::kAlerts, "", ScanBound::None(), [&](std::string_view k, std::string_view a) {
         EXPECT_EQ(GetU64BE(k.data()), expect_seq);
         ++expect_seq;
         alerted.insert(GetU64BE(a.data()));
         return ScanStep::kContinue;
       }).ok());
  EXPECT_EQ(alerted, units);
  return units;
}

TEST(CrashAtomicity, EveryAcknowledgedBatchSurvivesKillNineAndNoBatchIsPartial) {
  int iterations = 40;
  if (const char* env = std::getenv("METERD_CRASH_ITERATIONS")) iterations = std::atoi(env);
  TempDir dir;
  std::mt19937 rng(12345);
  std::set<uint64_t> all_acked;
  size_t store_units = 0;
  for (int it = 0; it < iterations; ++it) {
    const auto run_for = std::chrono::milliseconds(30 + rng() % 370);
    ChildRun run = RunAndKill(dir.path(), uint64_t{1'000'000'000} * (it + 1), rng(), run_for);
    ASSERT_EQ(run.exit_signal, SIGKILL) << "the helper died by itself in iteration " << it;
    all_acked.insert(run.acked.begin(), run.acked.end());
    const std::set<uint64_t> present = VerifyStore(dir.path());
    for (uint64_t unit : all_acked) {
      ASSERT_TRUE(present.count(unit)) << "acknowledged unit " << unit << " lost after kill " << it;
    }
    // A kill may land after a commit and before its acknowledgement reached the pipe, so the
    // store may hold a few more units than were acknowledged, never fewer.
    EXPECT_GE(present.size(), all_acked.size());
    EXPECT_GE(present.size(), store_units);
    store_units = present.size();
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(all_acked.size(), 0u);
  RecordProperty("acknowledged_units", std::to_string(all_acked.size()));
  RecordProperty("units_in_store", std::to_string(store_units));
}

}  // namespace
}  // namespace meterd::storage
