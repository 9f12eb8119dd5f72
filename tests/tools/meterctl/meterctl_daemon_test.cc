// The meterctl binary against a real meterd (127.0.0.1 port 0, temporary data directory, fixed
// clock 2026-11-20T12:00:00Z): the worked examples loaded through meterctl reproduce their
// expected spend to the digit, tokens and budgets round-trip, exit codes follow the contract,
// and reconcile finds nothing in Microsoft's files built from the examples' lines but finds
// every planted discrepancy: a removed admin grant, a price change, a missing day, a quantity
// drift, an exchange rate, a line meterd cannot rate, an unknown customer.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "tests/tools/meterctl/test_support.h"
#include "tools/meterctl/http_client.h"
#include "tools/meterctl/json.h"

namespace meterd::meterctl {
namespace {

using testing::ExamplePath;
using testing::FixturePath;
using testing::ProcessResult;
using testing::ReadFile;
using testing::WriteFile;

constexpr const char* kBasicCustomer = "c0ffee00-0000-4000-8000-000000000001";
constexpr const char* kJpyCustomer = "c0ffee00-0000-4000-8000-0000000000a2";
constexpr const char* kBasicPartner = "7d3f1c2a-0000-4000-8000-000000000001";

std::string Describe(const ProcessResult& r) {
  return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

Json ParseOrDie(const std::string& text) {
  Result<Json> j = Json::Parse(text);
  EXPECT_TRUE(j.ok()) << j.status().ToString() << "\n" << text.substr(0, 2000);
  return j.ok() ? std::move(*j) : Json();
}

// Applies replacements to the CSV lines that contain marker; fails the test when none does.
std::string EditRows(std::string csv, std::string_view marker,
                     std::vector<std::pair<std::string, std::string>> edits) {
  size_t start = 0;
  bool found = false;
  while (start < csv.size()) {
    size_t end = csv.find('\n', start);
    if (end == std::string::npos) end = csv.size();
    std::string line = csv.substr(start, end - start);
    if (line.find(marker) != std::string::npos) {
      found = true;
      for (const auto& [from, to] : edits) {
        const size_t at = line.find(from);
        EXPECT_NE(at, std::string::npos) << "no \"" << from << "\" in " << line;
        if (at != std::string::npos) line.replace(at, from.size(), to);
      }
      csv.replace(start, end - start, line);
      end = start + line.size();
    }
    start = end + 1;
  }
  EXPECT_TRUE(found) << "no row with " << marker;
  return csv;
}

std::string DropRows(const std::string& csv, std::string_view marker) {
  std::string out;
  size_t start = 0;
  while (start < csv.size()) {
    size_t end = csv.find('\n', start);
    end = end == std::string::npos ? csv.size() : end + 1;
    std::string_view line(csv.data() + start, end - start);
    if (line.find(marker) == std::string_view::npos) out += line;
    start = end;
  }
  EXPECT_LT(out.size(), csv.size()) << "no row with " << marker;
  return out;
}

std::string RowWith(const std::string& csv, std::string_view marker) {
  const size_t at = csv.find(marker);
  const size_t start = csv.rfind('\n', at) + 1;
  return csv.substr(start, csv.find('\n', at) + 1 - start);
}

class MeterctlAgainstMeterd : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<testing::Meterd>> d = testing::Meterd::Start(dir_.Join("data"));
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    meterd_ = std::move(*d);
    ctl_ = std::make_unique<testing::Meterctl>(meterd_->url(), meterd_->admin_token_file(),
                                               dir_.path());
  }

  ProcessResult Ctl(const std::vector<std::string>& args) const { return ctl_->Run(args); }

  void Load(std::string_view example) {
    const std::string failure = testing::LoadExample(*ctl_, example);
    ASSERT_EQ(failure, "") << failure;
  }

  // Runs reconcile on file for month (plus extra arguments) and returns the parsed report.
  // A late event meterd got after Microsoft's cut: 0.25 h more on the 11-03 VM line of "basic".
  void LoadLateVmEvent() {
    WriteFile(dir_.Join("late.ndjson"),
              R"({"id":"late-1","entitlement_id":"e1000000-0000-4000-8000-000000000001",)"
              R"("meter_id":"0a3c6e2a-6d1f-4c55-9a43-5f1c2b7d9e01","resource_uri":)"
              R"("/subscriptions/e1000000-0000-4000-8000-000000000001/resourceGroups/web/)"
              R"(providers/Microsoft.Compute/virtualMachines/web-1","quantity":"0.25",)"
              R"("timestamp":"2026-11-03T12:00:00Z"})"
              "\n");
    ProcessResult late = Ctl({"load", "usage", dir_.Join("late.ndjson")});
    ASSERT_EQ(late.exit_code, 0) << Describe(late);
  }
  Json Reconcile(const std::string& file, const char* month, int want_exit,
                 std::vector<std::string> extra = {}) {
    const std::string report = dir_.Join("report.json");
    std::filesystem::remove(report);
    std::vector<std::string> args{"reconcile", "--file",   file,  "--month",
                                  month,       "--report", report};
    args.insert(args.end(), extra.begin(), extra.end());
    last_ = Ctl(args);
    EXPECT_EQ(last_.exit_code, want_exit) << Describe(last_);
    return ParseOrDie(ReadFile(report));
  }

  // Direct HTTP as the admin, for what meterctl has no command for.
  HttpResponse Admin(Method method, const std::string& target, const std::string& body) {
    std::string token = ReadFile(meterd_->admin_token_file());
    while (!token.empty() && (token.back() == '\n' || token.back() == ' ')) token.pop_back();
    HttpClient c(Endpoint{"127.0.0.1", std::to_string(meterd_->port()), ""}, token);
    Result<HttpResponse> r = c.Send(method, target, "application/json", body);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : HttpResponse{};
  }

  testing::TempDir dir_;
  std::unique_ptr<testing::Meterd> meterd_;
  std::unique_ptr<testing::Meterctl> ctl_;
  ProcessResult last_;
};

std::vector<std::string> Kinds(const Json& diff) {
  std::vector<std::string> out;
  for (const Json& k : diff.Find("kinds")->items()) out.push_back(k.text());
  return out;
}

// ------------------------------------------------------------------ loading and reading

TEST_F(MeterctlAgainstMeterd, LoadsTheWorkedExamplesSoEverySpendMatchesToTheDigit) {
  ProcessResult usage_before;
  for (const char* example : {"basic", "tiers-and-pec", "currencies"}) {
    Load(example);
  }
  for (const char* example : {"basic", "tiers-and-pec", "currencies"}) {
    Json expected = ParseOrDie(ReadFile(ExamplePath(example, "expected.json")));
    for (const auto& [customer, c] : expected.Find("customers")->members()) {
      for (const auto& [month, spend] : c.Find("spend")->members()) {
        ProcessResult r = Ctl({"spend", customer, "--month", month, "--json"});
        ASSERT_EQ(r.exit_code, 0) << Describe(r);
        Json got = ParseOrDie(r.out);
        for (const auto& [field, want] : spend.members()) {
          const Json* have = got.Find(field);
          ASSERT_NE(have, nullptr) << example << " " << customer << " " << month << " " << field;
          EXPECT_EQ(have->Dump(), want.Dump())
              << example << " " << customer << " " << month << " " << field;
        }
      }
    }
  }
}

TEST_F(MeterctlAgainstMeterd, ReportsUsageCountsAndPrintsAlignedTables) {
  ProcessResult ref = Ctl({"load", "reference", ExamplePath("basic", "reference.ndjson")});
  ASSERT_EQ(ref.exit_code, 0) << Describe(ref);
  EXPECT_EQ(ref.out, "reference: 4 upserted, 0 rejected, 0 lines re-rated\n");
  ASSERT_EQ(Ctl({"load", "pricesheet", ExamplePath("basic", "pricesheet.csv")}).exit_code, 0);
  ASSERT_EQ(Ctl({"load", "budgets", ExamplePath("basic", "budgets.json")}).exit_code, 0);
  ProcessResult usage = Ctl({"load", "usage", ExamplePath("basic", "usage.ndjson")});
  ASSERT_EQ(usage.exit_code, 0) << Describe(usage);
  EXPECT_EQ(usage.out, "usage: 7 accepted, 2 duplicates, 0 rejected\n");

  ProcessResult spend = Ctl({"spend", kBasicCustomer});
  ASSERT_EQ(spend.exit_code, 0) << Describe(spend);
  EXPECT_NE(spend.out.find("list      2.932000030  2.932000030"), std::string::npos) << spend.out;
  EXPECT_NE(spend.out.find("billed    2.693800026  2.693800026"), std::string::npos) << spend.out;
  EXPECT_NE(spend.out.find("117%"), std::string::npos) << spend.out;
  EXPECT_NE(spend.out.find("Virtual Machines  2.832000000  2.608800000"), std::string::npos)
      << spend.out;

  ProcessResult overview = Ctl({"overview", "--month", "2026-11"});
  ASSERT_EQ(overview.exit_code, 0) << Describe(overview);
  EXPECT_NE(overview.out.find(std::string(kBasicCustomer) +
                              "  Alpine Ski Shop  USD       "
                              "2.500000000  2.932000030  2.932000030         117%"),
            std::string::npos)
      << overview.out;

  ProcessResult lines = Ctl({"lines", kBasicCustomer, "--date", "2026-11-05", "--json"});
  ASSERT_EQ(lines.exit_code, 0) << Describe(lines);
  Json l = ParseOrDie(lines.out);
  ASSERT_EQ(l.Find("lines")->items().size(), 1u);
  EXPECT_EQ(l.Find("lines")->items()[0].GetText("quantity"), "1.000000125");

  ProcessResult alerts = Ctl({"alerts", "--json"});
  ASSERT_EQ(alerts.exit_code, 0) << Describe(alerts);
  Json a = ParseOrDie(alerts.out);
  std::vector<std::string> fired;
  for (const Json& al : a.Find("alerts")->items()) {
    fired.push_back(*al.GetText("kind") + ":" + al.GetText("threshold").value_or("-"));
  }
  EXPECT_EQ(fired, (std::vector<std::string>{"budget_actual:80", "budget_actual:100",
                                             "budget_forecast:100"}));
  // Nothing newer: a short long-poll comes back empty with a cursor to resume from.
  const std::string cursor = *a.GetText("next_cursor");
  ProcessResult later = Ctl({"alerts", "--after", cursor, "--wait", "1"});
  ASSERT_EQ(later.exit_code, 0) << Describe(later);
  EXPECT_NE(later.err.find("next: meterctl alerts --after " + cursor), std::string::npos)
      << later.err;
}

TEST_F(MeterctlAgainstMeterd, ReportsRejectedLinesWithTheirLineNumbersAndExitsOne) {
  Load("basic");
  ProcessResult bad = Ctl({"load", "usage", ExamplePath("basic", "bad_usage.ndjson")});
  EXPECT_EQ(bad.exit_code, 1) << Describe(bad);
  EXPECT_EQ(bad.out, "usage: 0 accepted, 1 duplicates, 10 rejected\n");
  EXPECT_NE(bad.err.find("line 1: bad_quantity (id b1)"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("line 8: too_large (id b8)"), std::string::npos) << bad.err;

  WriteFile(dir_.Join("bad_ref.ndjson"),
            "{\"type\":\"partner\",\"partner_id\":\"p9\",\"name\":\"P\",\"mpn_id\":\"9\","
            "\"kind\":\"direct\"}\n{\"type\":\"spaceship\"}\n");
  ProcessResult ref = Ctl({"load", "reference", dir_.Join("bad_ref.ndjson")});
  EXPECT_EQ(ref.exit_code, 1) << Describe(ref);
  EXPECT_EQ(ref.out, "reference: 1 upserted, 1 rejected, 0 lines re-rated\n");
  EXPECT_NE(ref.err.find("line 2:"), std::string::npos) << ref.err;
}

TEST_F(MeterctlAgainstMeterd, LoadsFxFromEveryFileFormAndReratesWaitingLines) {
  Load("currencies");
  // The SEK customer's line waits for a rate (fx_missing); a CSV for one month supplies it.
  WriteFile(dir_.Join("sek.csv"), "currency,rate\nSEK,10.75\n");
  ProcessResult fx = Ctl({"load", "fx", "2026-11", dir_.Join("sek.csv")});
  ASSERT_EQ(fx.exit_code, 0) << Describe(fx);
  EXPECT_EQ(fx.out, "fx 2026-11: 1 of 1 currencies, 1 lines re-rated\n");
  ProcessResult spend =
      Ctl({"spend", "c0ffee00-0000-4000-8000-0000000000a4", "--month", "2026-11", "--json"});
  Json s = ParseOrDie(spend.out);
  EXPECT_EQ(s.GetText("unrated_lines"), "0");
  EXPECT_EQ(s.GetText("list"), "10.320000000");  // 5 h x 0.192 USD x 10.75

  // {"rates":{...}} with MONTH, and the examples' {month:{...}} form picking one month.
  WriteFile(dir_.Join("rates.json"), R"({"rates":{"GBP":0.8}})");
  ProcessResult one = Ctl({"load", "fx", "2026-11", dir_.Join("rates.json")});
  ASSERT_EQ(one.exit_code, 0) << Describe(one);
  EXPECT_EQ(one.out, "fx 2026-11: 1 of 1 currencies, 1 lines re-rated\n");
  ProcessResult picked = Ctl({"load", "fx", "2026-10", ExamplePath("currencies", "fx.json")});
  ASSERT_EQ(picked.exit_code, 0) << Describe(picked);
  EXPECT_EQ(picked.out.rfind("fx 2026-10: 4 of 4 currencies", 0), 0u) << picked.out;
}

// ------------------------------------------------------------------ tokens, budgets, errors

TEST_F(MeterctlAgainstMeterd, CreatesAPartnerTokenThatSeesOnlyItsCustomersUntilRevoked) {
  Load("basic");
  Load("tiers-and-pec");
  ProcessResult created = Ctl({"token", "create", "--role", "partner", "--partner-id",
                               kBasicPartner, "--name", "t", "--json"});
  ASSERT_EQ(created.exit_code, 0) << Describe(created);
  Json t = ParseOrDie(created.out);
  const std::string token_id = *t.GetText("token_id");
  const std::string token = *t.GetText("token");
  ASSERT_FALSE(token.empty());

  ProcessResult own = Ctl({"--token", token, "spend", kBasicCustomer, "--json"});
  EXPECT_EQ(own.exit_code, 0) << Describe(own);
  ProcessResult other = Ctl({"--token", token, "spend", "c0ffee00-0000-4000-8000-000000000002"});
  EXPECT_EQ(other.exit_code, 1) << Describe(other);
  EXPECT_NE(other.err.find("meterd answered 404"), std::string::npos) << other.err;
  ProcessResult forbidden = Ctl({"--token", token, "token", "create", "--role", "admin"});
  EXPECT_EQ(forbidden.exit_code, 1) << Describe(forbidden);
  EXPECT_NE(forbidden.err.find("meterd answered 403"), std::string::npos) << forbidden.err;

  ProcessResult revoked = Ctl({"token", "revoke", token_id});
  ASSERT_EQ(revoked.exit_code, 0) << Describe(revoked);
  ProcessResult after = Ctl({"--token", token, "spend", kBasicCustomer});
  EXPECT_EQ(after.exit_code, 1) << Describe(after);
  EXPECT_NE(after.err.find("meterd answered 401"), std::string::npos) << after.err;
  EXPECT_NE(after.err.find("--token-file"), std::string::npos) << after.err;
}

TEST_F(MeterctlAgainstMeterd, SetsGetsAndRemovesBudgetsSinglyAndInBatches) {
  Load("currencies");
  ProcessResult set = Ctl({"budget", "set", kJpyCustomer, "--amount", "150.5", "--basis", "list",
                           "--thresholds", "100,50,50", "--forecast-thresholds", "120"});
  ASSERT_EQ(set.exit_code, 0) << Describe(set);
  EXPECT_EQ(set.out, std::string("budget ") + kJpyCustomer +
                         ": 150.500000000 (list basis; thresholds 50,100; forecast 120)\n");
  ProcessResult get = Ctl({"budget", "get", kJpyCustomer});
  EXPECT_EQ(get.out, set.out);

  ProcessResult batch = Ctl({"budget", "set", "c0ffee00-0000-4000-8000-0000000000a3",
                             "c0ffee00-0000-4000-8000-0000000000a5", "nobody", "--amount", "9"});
  EXPECT_EQ(batch.exit_code, 1) << Describe(batch);
  EXPECT_EQ(batch.out, "budgets set: 2\n");
  EXPECT_NE(batch.err.find("not found: [\"nobody\"]"), std::string::npos) << batch.err;
  ProcessResult a3 = Ctl({"budget", "get", "c0ffee00-0000-4000-8000-0000000000a3", "--json"});
  EXPECT_EQ(ParseOrDie(a3.out).GetText("amount"), "9.000000000");

  ProcessResult removed = Ctl({"budget", "remove", kJpyCustomer});
  ASSERT_EQ(removed.exit_code, 0) << Describe(removed);
  ProcessResult gone = Ctl({"budget", "get", kJpyCustomer});
  EXPECT_EQ(gone.exit_code, 1) << Describe(gone);
  ProcessResult batch_remove = Ctl({"budget", "remove", "c0ffee00-0000-4000-8000-0000000000a3",
                                    "c0ffee00-0000-4000-8000-0000000000a5"});
  EXPECT_EQ(batch_remove.exit_code, 0) << Describe(batch_remove);
  EXPECT_EQ(batch_remove.out, "budgets removed: 2\n");

  ProcessResult invalid = Ctl({"budget", "set", kJpyCustomer, "--amount", "-5"});
  EXPECT_EQ(invalid.exit_code, 1) << Describe(invalid);
  EXPECT_NE(invalid.err.find("meterd answered 422"), std::string::npos) << invalid.err;
}

TEST_F(MeterctlAgainstMeterd, ReadsSettingsFromTheConfigFileWhenNoFlagOrVariableIsGiven) {
  Load("basic");
  WriteFile(dir_.Join("home/meterctl.toml"), "url = \"" + meterd_->url() + "\"\ntoken_file = \"" +
                                                 meterd_->admin_token_file() + "\"\n");
  // No METERCTL_URL / METERCTL_TOKEN_FILE: only the file named by METERCTL_CONFIG.
  ProcessResult r = testing::RunProcess(
      METERCTL_BIN, {"spend", kBasicCustomer, "--json"},
      {"HOME=" + dir_.Join("home"), "METERCTL_CONFIG=" + dir_.Join("home/meterctl.toml")},
      dir_.path());
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  EXPECT_EQ(ParseOrDie(r.out).GetText("billed"), "2.693800026");
}

TEST_F(MeterctlAgainstMeterd, StreamsAnExportToTheFileOrLeavesNoFileOnRefusal) {
  Load("basic");
  const std::string out = dir_.Join("daily.csv");
  ProcessResult r = Ctl({"export", "daily", "--month", "2026-11", "--out", out});
  if (r.exit_code == 1 && r.err.find("no resource at /v1/exports/daily") != std::string::npos) {
    EXPECT_FALSE(std::filesystem::exists(out));
    EXPECT_FALSE(std::filesystem::exists(out + ".partial"));
    GTEST_SKIP() << "this meterd has no /v1/exports routes yet";
  }
  ASSERT_EQ(r.exit_code, 0) << Describe(r);
  const std::string csv = ReadFile(out);
  EXPECT_EQ(r.out, "wrote " + std::to_string(csv.size()) + " bytes to " + out + "\n");
  EXPECT_EQ(csv.rfind("PartnerId,", 0), 0u) << csv.substr(0, 200);
  EXPECT_FALSE(std::filesystem::exists(out + ".partial"));
  // The export is a daily-rated file: reconciling it against meterd finds nothing.
  Json report = Reconcile(out, "2026-11", 0);
  EXPECT_TRUE(report.Find("agree")->as_bool());
}

TEST_F(MeterctlAgainstMeterd, DownloadsStreamToTheFileExactly) {
  // The streaming path itself, on a route every meterd has.
  HttpClient client(Endpoint{"127.0.0.1", std::to_string(meterd_->port()), ""}, "");
  Result<HttpResponse> whole = client.Send(Method::kGet, "/v1/openapi.json");
  ASSERT_TRUE(whole.ok());
  ASSERT_EQ(whole->status, 200);
  const std::string path = dir_.Join("openapi.json");
  Result<HttpResponse> streamed = client.Download("/v1/openapi.json", path);
  ASSERT_TRUE(streamed.ok()) << streamed.status().ToString();
  EXPECT_EQ(streamed->status, 200);
  EXPECT_EQ(ReadFile(path), whole->body);
  EXPECT_EQ(streamed->body_bytes, whole->body.size());
  // A refusal is read into memory and writes nothing.
  Result<HttpResponse> refused = client.Download("/v1/spend", dir_.Join("nope.csv"));
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 401);
  EXPECT_FALSE(std::filesystem::exists(dir_.Join("nope.csv")));
  // The keep-alive connection is still usable after both.
  Result<HttpResponse> again = client.Send(Method::kGet, "/healthz");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, 200);
}

// ------------------------------------------------------------------ reconcile

TEST_F(MeterctlAgainstMeterd, ReconcileFindsNothingInFilesBuiltFromTheExamplesLines) {
  Load("basic");
  Load("tiers-and-pec");
  Load("currencies");
  Json basic = Reconcile(FixturePath("basic_daily_rated.csv"), "2026-11", 0);
  EXPECT_NE(last_.out.find("OK: all 4 lines agree."), std::string::npos) << last_.out;
  EXPECT_TRUE(basic.Find("agree")->as_bool());
  EXPECT_EQ(basic.GetText("matched"), "4");
  EXPECT_EQ(basic.GetText("file_rows"), "5");
  EXPECT_EQ(basic.GetText("file_rows_other_months"), "1");
  EXPECT_TRUE(basic.Find("differences")->items().empty());
  const Json& c = basic.Find("customers")->items().at(0);
  EXPECT_EQ(c.GetText("file_billed_usd"), "2.693800026");
  EXPECT_EQ(c.GetText("meterd_billed_usd"), "2.693800026");
  EXPECT_EQ(c.GetText("delta_billed_bc"), "0.000000000");
  EXPECT_EQ(c.GetText("name"), "Alpine Ski Shop");

  Json tiers = Reconcile(FixturePath("tiers_and_pec_daily_rated.csv"), "2026-11", 0);
  EXPECT_EQ(tiers.GetText("matched"), "9");
  EXPECT_EQ(tiers.Find("customers")->items().at(0).GetText("meterd_billed_usd"), "16.654000000");

  Json october = Reconcile(FixturePath("currencies_daily_rated.csv"), "2026-10", 0);
  EXPECT_EQ(october.GetText("matched"), "3");
  for (const Json& cust : october.Find("customers")->items()) {
    EXPECT_EQ(cust.GetText("delta_billed_bc"), "0.000000000") << cust.Dump();
  }
  // Without the JSON the text report says the same; exit 0 is the contract for scripts.
  ProcessResult plain = Ctl(
      {"reconcile", "--file", FixturePath("tiers_and_pec_daily_rated.csv"), "--month", "2026-11"});
  EXPECT_EQ(plain.exit_code, 0) << Describe(plain);
}

TEST_F(MeterctlAgainstMeterd, ReconcileShowsTheCreditAtStakeWhenAdminRightsWereRemoved) {
  Load("basic");
  // Microsoft's file (PEC on every E1 line) was cut before the partner lost its admin rights on
  // E1 at 11-04 00:00; meterd records the removal and re-rates the IP lines of 11-04 and 11-05.
  HttpResponse put = Admin(Method::kPut, "/v1/grants/aobo:e1000000-0000-4000-8000-000000000001",
                           R"({"end":"2026-11-04T00:00:00Z"})");
  ASSERT_EQ(put.status, 200) << put.body;
  Json r = Reconcile(FixturePath("basic_daily_rated.csv"), "2026-11", 4);
  EXPECT_EQ(r.Find("counts")->GetText("pec"), "2");
  const auto& diffs = r.Find("differences")->items();
  ASSERT_EQ(diffs.size(), 2u) << r.Pretty();
  for (const Json& d : diffs) {
    EXPECT_EQ(Kinds(d), std::vector<std::string>{"pec"});
    EXPECT_EQ(d.GetText("pec_applied_by"), "file");
    EXPECT_EQ(d.Find("meterd")->GetText("pec_rate"), "0.000000000");
    EXPECT_EQ(d.Find("file")->GetText("pec_rate"), "0.150000000");
  }
  EXPECT_EQ(diffs[0].GetText("usage_date"), "2026-11-04");
  EXPECT_EQ(diffs[0].GetText("credit_at_stake_usd"), "0.014400004");  // 0.096000030 - 0.081600026
  EXPECT_EQ(diffs[1].GetText("usage_date"), "2026-11-05");
  EXPECT_EQ(diffs[1].GetText("credit_at_stake_usd"), "0.000600000");  // 0.004 - 0.0034
  const Json& c = r.Find("customers")->items().at(0);
  EXPECT_EQ(c.GetText("credit_unexpected_in_file_usd"), "0.015000004");
  EXPECT_EQ(c.GetText("agreeing"), "2");
  EXPECT_NE(last_.out.find("PEC: file 15%, meterd 0%"), std::string::npos) << last_.out;
  EXPECT_NE(last_.out.find("Microsoft applied it; meterd did not expect it"), std::string::npos);
}

TEST_F(MeterctlAgainstMeterd, ReconcileShowsTheCreditToClaimWhenMicrosoftWithheldPec) {
  Load("basic");
  // Microsoft's file bills the 11-03 VM line at list: no PEC, though meterd saw full access.
  std::string csv =
      EditRows(ReadFile(FixturePath("basic_daily_rated.csv")), ",11/3/2026,",
               {{",1.264800000,USD,1.264800000,USD,", ",1.488000000,USD,1.488000000,USD,"},
                {",0.081600000,", ",0.096000000,"},
                {",Azure plan,15", ",Azure plan,0"}});
  WriteFile(dir_.Join("withheld.csv"), csv);
  Json r = Reconcile(dir_.Join("withheld.csv"), "2026-11", 4);
  const auto& diffs = r.Find("differences")->items();
  ASSERT_EQ(diffs.size(), 1u) << r.Pretty();
  EXPECT_EQ(Kinds(diffs[0]), std::vector<std::string>{"pec"});
  EXPECT_EQ(diffs[0].GetText("pec_applied_by"), "meterd");
  EXPECT_EQ(diffs[0].GetText("credit_at_stake_usd"), "0.223200000");
  EXPECT_EQ(diffs[0].GetText("credit_at_stake_bc"), "0.223200000");
  EXPECT_EQ(diffs[0].GetText("delta_billed_usd"), "0.223200000");
  const Json& c = r.Find("customers")->items().at(0);
  EXPECT_EQ(c.GetText("credit_missing_from_file_usd"), "0.223200000");
  EXPECT_EQ(c.GetText("delta_billed_usd"), "0.223200000");
  EXPECT_NE(last_.out.find("meterd expects it; Microsoft did not apply it"), std::string::npos)
      << last_.out;
}

TEST_F(MeterctlAgainstMeterd, ReconcileFindsAPriceChangeMeterdKnowsAndTheFileDoesNot) {
  Load("basic");
  // A new price version for the VM meter from 11-04: only the legacy 11-04 VM line is affected.
  WriteFile(dir_.Join("price.csv"),
            "ProductId,SkuId,MeterId,MeterName,MeterCategory,MeterSubCategory,MeterRegion,"
            "UnitOfMeasure,Market,Currency,UnitPrice,PricingTierRangeMin,PricingTierRangeMax,"
            "EffectiveStartDate,EffectiveEndDate,Tags,Publisher\n"
            "DZH318Z0VIRT,0001,0a3c6e2a-6d1f-4c55-9a43-5f1c2b7d9e01,D2s v3,Virtual Machines,,"
            "US East,1 Hour,US,USD,0.1,0,,2026-11-04,,Azure,Microsoft\n");
  ProcessResult load = Ctl({"load", "pricesheet", dir_.Join("price.csv")});
  ASSERT_EQ(load.exit_code, 0) << Describe(load);
  EXPECT_EQ(load.out.rfind("price sheet: 1 upserted, 0 rejected, ", 0), 0u) << load.out;
  Json r = Reconcile(FixturePath("basic_daily_rated.csv"), "2026-11", 4);
  const auto& diffs = r.Find("differences")->items();
  ASSERT_EQ(diffs.size(), 1u) << r.Pretty();
  EXPECT_EQ(Kinds(diffs[0]), std::vector<std::string>{"unit_price"});
  EXPECT_EQ(diffs[0].GetText("entitlement_id"), "e2000000-0000-4000-8000-000000000002");
  EXPECT_EQ(diffs[0].Find("file")->GetText("unit_price"), "0.096000000");
  EXPECT_EQ(diffs[0].Find("meterd")->GetText("unit_price"), "0.100000000");
  EXPECT_EQ(diffs[0].GetText("delta_billed_usd"), "-0.056000000");  // 1.344 - 1.400
  EXPECT_EQ(r.Find("customers")->items().at(0).GetText("delta_billed_usd"), "-0.056000000");
}

TEST_F(MeterctlAgainstMeterd, ReconcileFindsAMissingDayOnEitherSide) {
  Load("basic");
  const std::string original = ReadFile(FixturePath("basic_daily_rated.csv"));
  // Microsoft's file lacks 11-05: meterd has a line the file does not.
  WriteFile(dir_.Join("no_day.csv"), DropRows(original, ",11/5/2026,"));
  Json r = Reconcile(dir_.Join("no_day.csv"), "2026-11", 4);
  auto diffs = r.Find("differences")->items();
  ASSERT_EQ(diffs.size(), 1u) << r.Pretty();
  EXPECT_EQ(Kinds(diffs[0]), std::vector<std::string>{"missing_in_file"});
  EXPECT_EQ(diffs[0].GetText("usage_date"), "2026-11-05");
  EXPECT_TRUE(diffs[0].Find("file")->is_null());
  EXPECT_EQ(diffs[0].Find("meterd")->GetText("quantity"), "1.000000125");
  EXPECT_EQ(r.Find("customers")->items().at(0).GetText("delta_billed_usd"), "-0.003400000");

  // Microsoft billed a day meterd never saw: the file has a line meterd does not.
  std::string extra = RowWith(original, ",11/5/2026,");
  const size_t at = extra.find(",11/5/2026,");
  extra.replace(at, 11, ",11/6/2026,");
  WriteFile(dir_.Join("extra_day.csv"), original + extra);
  Json r2 = Reconcile(dir_.Join("extra_day.csv"), "2026-11", 4);
  auto diffs2 = r2.Find("differences")->items();
  ASSERT_EQ(diffs2.size(), 1u) << r2.Pretty();
  EXPECT_EQ(Kinds(diffs2[0]), std::vector<std::string>{"missing_in_meterd"});
  EXPECT_EQ(diffs2[0].GetText("usage_date"), "2026-11-06");
  EXPECT_EQ(diffs2[0].Find("file")->GetText("line"), "7");
  EXPECT_NE(last_.out.find("missing in meterd"), std::string::npos) << last_.out;
}

TEST_F(MeterctlAgainstMeterd, ReconcileFindsAQuantityDrift) {
  Load("basic");
  // A late event meterd received after Microsoft's cut: 0.25 h more on 11-03.
  ASSERT_NO_FATAL_FAILURE(LoadLateVmEvent());
  Json r = Reconcile(FixturePath("basic_daily_rated.csv"), "2026-11", 4);
  const auto& diffs = r.Find("differences")->items();
  ASSERT_EQ(diffs.size(), 1u) << r.Pretty();
  EXPECT_EQ(Kinds(diffs[0]), std::vector<std::string>{"quantity"});
  EXPECT_EQ(diffs[0].GetText("usage_date"), "2026-11-03");
  EXPECT_EQ(diffs[0].Find("file")->GetText("quantity"), "15.500000000");
  EXPECT_EQ(diffs[0].Find("meterd")->GetText("quantity"), "15.750000000");
  EXPECT_EQ(diffs[0].GetText("delta_billed_usd"), "-0.020400000");  // 1.2648 - 1.2852
  EXPECT_NE(last_.out.find("quantity: file 15.500000000, meterd 15.750000000"), std::string::npos)
      << last_.out;
}

TEST_F(MeterctlAgainstMeterd, ReconcileFindsEveryDiscrepancyPlantedAtOnceAndNoneInItsOwnExport) {
  Load("basic");
  // All four of issue #7's discrepancies in one month, each on its own line of the fixture:
  // (1) a late event meterd got after Microsoft's cut: 0.25 h more on the 11-03 VM line (E1);
  ASSERT_NO_FATAL_FAILURE(LoadLateVmEvent());
  // (2) a price version for the VM meter from 11-04 that Microsoft's file does not have (the
  //     11-04 legacy VM line, E2);
  WriteFile(dir_.Join("price.csv"),
            "ProductId,SkuId,MeterId,MeterName,MeterCategory,MeterSubCategory,MeterRegion,"
            "UnitOfMeasure,Market,Currency,UnitPrice,PricingTierRangeMin,PricingTierRangeMax,"
            "EffectiveStartDate,EffectiveEndDate,Tags,Publisher\n"
            "DZH318Z0VIRT,0001,0a3c6e2a-6d1f-4c55-9a43-5f1c2b7d9e01,D2s v3,Virtual Machines,,"
            "US East,1 Hour,US,USD,0.1,0,,2026-11-04,,Azure,Microsoft\n");
  ProcessResult price = Ctl({"load", "pricesheet", dir_.Join("price.csv")});
  ASSERT_EQ(price.exit_code, 0) << Describe(price);
  // (3) the admin grant on E1 removed from 11-04 on (the 11-04 public IP line loses PEC);
  HttpResponse put = Admin(Method::kPut, "/v1/grants/aobo:e1000000-0000-4000-8000-000000000001",
                           R"({"end":"2026-11-04T00:00:00Z"})");
  ASSERT_EQ(put.status, 200) << put.body;
  // (4) and a day missing from Microsoft's file (11-05).
  WriteFile(dir_.Join("planted.csv"),
            DropRows(ReadFile(FixturePath("basic_daily_rated.csv")), ",11/5/2026,"));

  Json r = Reconcile(dir_.Join("planted.csv"), "2026-11", 4);
  std::vector<std::string> found;
  for (const Json& d : r.Find("differences")->items()) {
    for (const std::string& kind : Kinds(d)) {
      found.push_back(kind + " " + *d.GetText("usage_date") + " " + *d.GetText("entitlement_id"));
    }
  }
  std::sort(found.begin(), found.end());
  EXPECT_EQ(found, (std::vector<std::string>{
                       "missing_in_file 2026-11-05 e1000000-0000-4000-8000-000000000001",
                       "pec 2026-11-04 e1000000-0000-4000-8000-000000000001",
                       "quantity 2026-11-03 e1000000-0000-4000-8000-000000000001",
                       "unit_price 2026-11-04 e2000000-0000-4000-8000-000000000002",
                   }))
      << r.Pretty();
  EXPECT_FALSE(r.Find("agree")->as_bool());

  // meterd's own daily-rated export of the same state is a matching file: nothing to report.
  const std::string own = dir_.Join("own.csv");
  ProcessResult exported = Ctl({"export", "daily", "--month", "2026-11", "--out", own});
  ASSERT_EQ(exported.exit_code, 0) << Describe(exported);
  Json same = Reconcile(own, "2026-11", 0);
  EXPECT_TRUE(same.Find("agree")->as_bool()) << same.Pretty();
  EXPECT_TRUE(same.Find("differences")->items().empty());
  EXPECT_EQ(same.GetText("matched"), "4");
}

TEST_F(MeterctlAgainstMeterd, ReconcileFindsAnExchangeRateDifferenceForOneCustomer) {
  Load("currencies");
  std::string csv = EditRows(ReadFile(FixturePath("currencies_daily_rated.csv")), ",2026-11-03,",
                             {{",185.436000000,JPY,", ",185.313600000,JPY,"},
                              {",151.500000000000,", ",151.400000000000,"}});
  WriteFile(dir_.Join("fx.csv"), csv);
  Json r = Reconcile(dir_.Join("fx.csv"), "2026-11", 4, {"--customer", kJpyCustomer});
  const auto& diffs = r.Find("differences")->items();
  ASSERT_EQ(diffs.size(), 1u) << r.Pretty();
  EXPECT_EQ(Kinds(diffs[0]), std::vector<std::string>{"fx"});
  EXPECT_EQ(diffs[0].Find("file")->GetText("fx"), "151.400000000000");
  EXPECT_EQ(diffs[0].Find("meterd")->GetText("fx"), "151.500000000000");
  EXPECT_EQ(diffs[0].GetText("delta_billed_bc"), "-0.122400000");
  EXPECT_EQ(diffs[0].GetText("delta_billed_usd"), "0.000000000");
  EXPECT_EQ(r.Find("customers")->items().size(), 1u);  // --customer kept only the JPY customer
}

TEST_F(MeterctlAgainstMeterd, ReconcileFlagsALineMeterdCouldNotRateAndAStrangerCustomer) {
  Load("currencies");
  std::string csv = ReadFile(FixturePath("currencies_daily_rated.csv"));
  std::string stranger = RowWith(csv, ",Thames Tea,");
  const size_t at = stranger.find("c0ffee00-0000-4000-8000-0000000000a3");
  stranger.replace(at, 36, "DEADBEEF-0000-4000-8000-000000000000");
  WriteFile(dir_.Join("unrated.csv"), csv + stranger);
  Json r = Reconcile(dir_.Join("unrated.csv"), "2026-11", 4);
  EXPECT_EQ(r.Find("counts")->GetText("unrated"), "1");
  EXPECT_EQ(r.Find("counts")->GetText("missing_in_meterd"), "1");
  const auto& diffs = r.Find("differences")->items();
  ASSERT_EQ(diffs.size(), 2u) << r.Pretty();
  EXPECT_EQ(Kinds(diffs[0]), std::vector<std::string>{"unrated"});
  EXPECT_EQ(diffs[0].Find("meterd")->GetText("reason"), "fx_missing");
  EXPECT_EQ(diffs[1].GetText("customer_id"), "deadbeef-0000-4000-8000-000000000000");
  bool saw_stranger = false;
  for (const Json& c : r.Find("customers")->items()) {
    if (*c.GetText("customer_id") == "deadbeef-0000-4000-8000-000000000000") {
      saw_stranger = true;
      EXPECT_FALSE(c.Find("known_to_meterd")->as_bool());
    }
  }
  EXPECT_TRUE(saw_stranger);
}

TEST_F(MeterctlAgainstMeterd, ReconcileWithAllCustomersFindsCustomersTheFileLacks) {
  Load("basic");
  Load("tiers-and-pec");
  Load("currencies");
  Json r = Reconcile(FixturePath("basic_daily_rated.csv"), "2026-11", 4, {"--all-customers"});
  // Every November line of the other two examples: 9 + 5 (one of them unrated).
  EXPECT_EQ(r.Find("counts")->GetText("missing_in_file"), "14");
  EXPECT_EQ(r.GetText("agreeing"), "4");
  ProcessResult shortened = Ctl({"reconcile", "--file", FixturePath("basic_daily_rated.csv"),
                                 "--month", "2026-11", "--all-customers", "--max-show", "2"});
  EXPECT_EQ(shortened.exit_code, 4);
  EXPECT_NE(shortened.out.find("... 12 more (all of them are in --report FILE)"), std::string::npos)
      << shortened.out;
}

TEST_F(MeterctlAgainstMeterd, ReconcileRefusesAFileThatIsNotADailyRatedFile) {
  WriteFile(dir_.Join("prices.csv"), ReadFile(ExamplePath("basic", "pricesheet.csv")));
  ProcessResult r = Ctl({"reconcile", "--file", dir_.Join("prices.csv"), "--month", "2026-11"});
  EXPECT_EQ(r.exit_code, 2) << Describe(r);
  EXPECT_NE(r.err.find("not a daily-rated usage file"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace meterd::meterctl
