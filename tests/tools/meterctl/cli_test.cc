// meterctl's command line in-process: help, usage errors and the exit codes that need no
// server (the ones that do are in meterctl_daemon_test.cc).
#include "tools/meterctl/cli.h"

#include <gtest/gtest.h>

#include <sstream>

#include "tests/tools/meterctl/test_support.h"

namespace meterd::meterctl {
namespace {

struct CliRun {
  int code;
  std::string out;
  std::string err;
};

CliRun Meterctl(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  std::ostringstream out;
  std::ostringstream err;
  Io io{out, err, [env](const std::string& name) -> std::optional<std::string> {
          auto it = env.find(name);
          if (it == env.end()) return std::nullopt;
          return it->second;
        }};
  const int code = RunMeterctl(args, io);
  return {code, out.str(), err.str()};
}

TEST(MeterctlCli, PrintsHelpForEveryCommandAndExitsZero) {
  CliRun top = Meterctl({"--help"});
  EXPECT_EQ(top.code, kExitOk);
  EXPECT_NE(top.out.find("reconcile --file FILE --month YYYY-MM"), std::string::npos);
  EXPECT_NE(top.out.find("Exit codes: 0 ok"), std::string::npos);
  for (std::vector<std::string> cmd : {std::vector<std::string>{"load", "reference"},
                                       {"load", "pricesheet"},
                                       {"load", "fx"},
                                       {"load", "budgets"},
                                       {"load", "usage"},
                                       {"token", "create"},
                                       {"token", "revoke"},
                                       {"budget", "set"},
                                       {"budget", "get"},
                                       {"budget", "remove"},
                                       {"spend"},
                                       {"overview"},
                                       {"lines"},
                                       {"alerts"},
                                       {"export"},
                                       {"reconcile"},
                                       {"backup"},
                                       {"stats"}}) {
    std::vector<std::string> args = cmd;
    args.push_back("--help");
    CliRun r = Meterctl(args);
    EXPECT_EQ(r.code, kExitOk) << cmd[0];
    EXPECT_EQ(r.out.rfind("Usage: meterctl " + cmd[0], 0), 0u) << r.out;
    EXPECT_NE(r.out.find("--token-file"), std::string::npos) << cmd[0];
    CliRun via_help = Meterctl([&] {
      std::vector<std::string> a{"help"};
      a.insert(a.end(), cmd.begin(), cmd.end());
      return a;
    }());
    EXPECT_EQ(via_help.out, r.out) << cmd[0];
  }
  CliRun group = Meterctl({"load", "--help"});
  EXPECT_EQ(group.code, kExitOk);
  EXPECT_NE(group.out.find("load fx [MONTH] FILE"), std::string::npos);
  CliRun version = Meterctl({"--version"});
  EXPECT_EQ(version.code, kExitOk);
  EXPECT_EQ(version.out.rfind("meterctl ", 0), 0u);
}

TEST(MeterctlCli, AnswersUsageErrorsWithExitTwo) {
  struct Case {
    std::vector<std::string> args;
    const char* message;
  } cases[] = {
      {{}, "Usage: meterctl"},
      {{"frobnicate"}, "unknown command \"frobnicate\""},
      {{"load"}, "\"load\" needs a subcommand"},
      {{"load", "everything", "x"}, "unknown subcommand \"load everything\""},
      {{"spend"}, "wrong number of arguments"},
      {{"spend", "a", "b"}, "wrong number of arguments"},
      {{"spend", "c1", "--month", "2026-13"}, "--month must be YYYY-MM"},
      {{"spend", "c1", "--bogus"}, "unknown option --bogus"},
      {{"overview", "--month"}, "--month needs a value"},
      {{"budget", "set", "c1"}, "--amount is required"},
      {{"budget", "set", "c1", "--amount", "12,50"}, "--amount must be a decimal"},
      {{"budget", "set", "c1", "--amount", "5", "--thresholds", "80;100"}, "--thresholds"},
      {{"budget", "set", "c1", "--amount", "5", "--basis", "net"}, "--basis must be"},
      {{"token", "create"}, "--role is required"},
      {{"export", "weekly", "--month", "2026-11", "--out", "x"}, "daily, recon or focus"},
      {{"export", "daily", "--out", "x"}, "--month YYYY-MM is required"},
      {{"reconcile", "--month", "2026-11"}, "--file is required"},
      {{"reconcile", "--file", "x.csv"}, "--month YYYY-MM is required"},
      {{"load", "fx", "2026-1", "f.json"}, "MONTH must be YYYY-MM"},
      {{"load", "reference", "/nonexistent/ref.ndjson"}, "cannot read /nonexistent/ref.ndjson"},
      {{"stats"}, "--data-dir DIR is required"},
      {{"backup", "--data-dir", "d"}, "--out DIR is required"},
      {{"alerts", "--wait", "61"}, "--wait is at most 60"},
      {{"--url", "https://meterd", "overview"}, "https is not supported"},
      {{"--timeout", "0", "overview"}, "positive whole number of seconds"},
  };
  for (const Case& c : cases) {
    CliRun r = Meterctl(c.args);
    std::string line;
    for (const std::string& a : c.args) line += a + " ";
    EXPECT_EQ(r.code, kExitUsage) << line << "\n" << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << line << "\n" << r.err;
  }
}

TEST(MeterctlCli, ExitsThreeWhenNothingListensAtTheUrl) {
  // Port 1 (tcpmux) is privileged and unused on test machines: the connection is refused.
  testing::TempDir dir;
  CliRun r = Meterctl({"--url", "http://127.0.0.1:1", "overview"}, {{"HOME", dir.path()}});
  EXPECT_EQ(r.code, kExitUnreachable) << r.err;
  EXPECT_NE(r.err.find("cannot reach meterd at http://127.0.0.1:1"), std::string::npos) << r.err;
}

TEST(MeterctlCli, RefusesAnFxFileItCannotReadWithoutCallingTheServer) {
  testing::TempDir dir;
  testing::WriteFile(dir.Join("one.json"), R"({"EUR":"0.93"})");
  testing::WriteFile(dir.Join("bad.json"), R"({"EUR":{"x":1}})");
  testing::WriteFile(dir.Join("months.json"), R"({"2026-10":{"EUR":"0.92"}})");
  // Nothing listens on port 1: reaching the server would give exit 3, not 2.
  const std::map<std::string, std::string> env{{"HOME", dir.path()},
                                               {"METERCTL_URL", "http://127.0.0.1:1"}};
  CliRun no_month = Meterctl({"load", "fx", dir.Join("one.json")}, env);
  EXPECT_EQ(no_month.code, kExitUsage);
  EXPECT_NE(no_month.err.find("give MONTH"), std::string::npos) << no_month.err;
  EXPECT_EQ(Meterctl({"load", "fx", "2026-11", dir.Join("bad.json")}, env).code, kExitUsage);
  CliRun other_month = Meterctl({"load", "fx", "2026-11", dir.Join("months.json")}, env);
  EXPECT_EQ(other_month.code, kExitUsage);
  EXPECT_NE(other_month.err.find("no month 2026-11"), std::string::npos) << other_month.err;
  EXPECT_EQ(Meterctl({"load", "fx", dir.Join("months.json")}, env).code, kExitUnreachable);
}

}  // namespace
}  // namespace meterd::meterctl
