#include "daemon/config/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace meterd::config {
namespace {

using std::chrono::milliseconds;

class ConfigTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const auto& f : files_) std::filesystem::remove(f);
  }

  std::string WriteToml(std::string_view text) {
    const std::string path =
        (std::filesystem::temp_directory_path() / ("meterd_config_" + std::to_string(::getpid()) +
                                                   "_" + std::to_string(files_.size()) + ".toml"))
            .string();
    std::ofstream(path) << text;
    files_.push_back(path);
    return path;
  }

  static Result<Invocation> Load(std::vector<std::string> args, Environment env = {}) {
    return LoadConfig(std::span<const std::string>(args), env);
  }

  // The one-line reason a bad configuration is reported with (and checks it is one line).
  static std::string Reason(const Result<Invocation>& r) {
    EXPECT_FALSE(r.ok());
    if (r.ok()) return "";
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message().find('\n'), std::string::npos);
    return r.status().message();
  }

  std::vector<std::string> files_;
};

TEST_F(ConfigTest, DefaultsAreTheDocumentedOnes) {
  auto r = Load({});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->action, Invocation::Action::kRun);
  const Config& c = r->config;
  EXPECT_EQ(c.server.listen_host, "127.0.0.1");
  EXPECT_EQ(c.server.listen_port, 8787);
  EXPECT_EQ(c.server.max_body_bytes, 1u << 20);
  EXPECT_EQ(c.server.max_bulk_body_bytes, 64u << 20);
  EXPECT_EQ(c.storage.data_dir, "/var/lib/meterd");
  EXPECT_EQ(c.storage.sync_mode, SyncMode::kFull);
  EXPECT_EQ(c.rating.pec_rate, "0.15");
  EXPECT_EQ(c.rating.dedupe_retention_days, 35);
  EXPECT_EQ(c.rating.eligible_roles, (std::vector<std::string>{"owner", "contributor"}));
  EXPECT_FALSE(c.webhooks.allow_private);
  EXPECT_FALSE(c.fixed_clock.has_value());
  EXPECT_TRUE(c.config_file.empty());
}

TEST_F(ConfigTest, FlagsOverrideTheEnvironmentWhichOverridesTheFile) {
  const std::string file = WriteToml(R"(
[server]
listen = "0.0.0.0:9000"
io_threads = 5
max_connections = 10

[ingest]
workers = 3
)");
  auto r = Load({"--config", file, "--workers", "7"},
                {{"METERD_WORKERS", "4"}, {"METERD_IO_THREADS", "6"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Config& c = r->config;
  EXPECT_EQ(c.ingest.workers, 7);           // flag beats environment and file
  EXPECT_EQ(c.server.io_threads, 6);        // environment beats file
  EXPECT_EQ(c.server.max_connections, 10);  // file beats default
  EXPECT_EQ(c.server.listen_host, "0.0.0.0");
  EXPECT_EQ(c.server.listen_port, 9000);
  EXPECT_EQ(c.config_file, file);
}

TEST_F(ConfigTest, FindsTheFileThroughTheEnvironmentAndTheFlagWins) {
  const std::string from_env = WriteToml("[ingest]\nworkers = 3\n");
  const std::string from_flag = WriteToml("[ingest]\nworkers = 9\n");
  auto r = Load({}, {{"METERD_CONFIG", from_env}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->config.ingest.workers, 3);
  r = Load({"--config=" + from_flag}, {{"METERD_CONFIG", from_env}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->config.ingest.workers, 9);
}

TEST_F(ConfigTest, ReadsEveryKindOfValue) {
  const std::string file = WriteToml(R"(
fixed_clock = "2026-11-20T13:05:00Z"

[server]
listen = "[::1]:0"
port_file = "/run/meterd/port"
max_header_bytes = "32KiB"
max_body_bytes = 2097152
max_bulk_body_bytes = "1GiB"
header_timeout = "1500ms"
idle_timeout = "2m"
shutdown_timeout = "0s"

[storage]
data_dir = "/srv/meterd"
sync_mode = "nometasync"
map_size = "4GiB"
map_max = "1TiB"

[rating]
pec_rate = "0.2"
eligible_roles = ["Owner", "Contributor", "owner", "Custom Role"]
dedupe_retention_days = 40

[webhooks]
allow_private = true
give_up_after = "3d"

[anomaly]
window_days = 21
min_history_days = 10
min_score = "4.5"
floor_amount = 25
min_ratio = "2.5"

[log]
level = "debug"
)");
  auto r = Load({"--config", file});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Config& c = r->config;
  EXPECT_EQ(c.server.listen_host, "::1");
  EXPECT_EQ(c.server.listen_port, 0);
  EXPECT_EQ(c.server.port_file, "/run/meterd/port");
  EXPECT_EQ(c.server.max_header_bytes, 32u * 1024);
  EXPECT_EQ(c.server.max_body_bytes, 2u << 20);
  EXPECT_EQ(c.server.max_bulk_body_bytes, size_t{1} << 30);
  EXPECT_EQ(c.server.header_timeout, milliseconds(1500));
  EXPECT_EQ(c.server.idle_timeout, milliseconds(120'000));
  EXPECT_EQ(c.server.shutdown_timeout, milliseconds(0));
  EXPECT_EQ(c.storage.data_dir, "/srv/meterd");
  EXPECT_EQ(c.storage.sync_mode, SyncMode::kNoMetaSync);
  EXPECT_EQ(c.storage.map_size_bytes, uint64_t{4} << 30);
  EXPECT_EQ(c.storage.map_max_bytes, uint64_t{1} << 40);
  EXPECT_EQ(c.rating.pec_rate, "0.2");
  EXPECT_EQ(c.rating.eligible_roles,
            (std::vector<std::string>{"contributor", "custom role", "owner"}));
  EXPECT_EQ(c.rating.dedupe_retention_days, 40);
  EXPECT_TRUE(c.webhooks.allow_private);
  EXPECT_EQ(c.webhooks.give_up_after, milliseconds(3LL * 86'400'000));
  EXPECT_EQ(c.anomaly.window_days, 21);
  EXPECT_EQ(c.anomaly.min_history_days, 10);
  EXPECT_EQ(c.anomaly.min_score, "4.5");
  EXPECT_EQ(c.anomaly.floor_amount, "25");
  EXPECT_EQ(c.anomaly.min_ratio, "2.5");
  EXPECT_EQ(c.log.level, LogLevel::kDebug);
  ASSERT_TRUE(c.fixed_clock.has_value());
  EXPECT_EQ(c.fixed_clock->nanos, int64_t{1'795'179'900} * 1'000'000'000);
}

TEST_F(ConfigTest, AcceptsTheFlagsOfTheCommandLineContract) {
  auto r = Load({"--listen", "127.0.0.1:0", "--data-dir", "/tmp/d", "--workers", "3",
                 "--fixed-clock", "2026-11-20T13:05:00Z", "--webhook-allow-private",
                 "--port-file=/tmp/p", "--eligible-roles", "Owner, Reader"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Config& c = r->config;
  EXPECT_EQ(c.server.listen_port, 0);
  EXPECT_EQ(c.storage.data_dir, "/tmp/d");
  EXPECT_EQ(c.ingest.workers, 3);
  EXPECT_TRUE(c.fixed_clock.has_value());
  EXPECT_TRUE(c.webhooks.allow_private);
  EXPECT_EQ(c.server.port_file, "/tmp/p");
  EXPECT_EQ(c.rating.eligible_roles, (std::vector<std::string>{"owner", "reader"}));
  r = Load({"--webhook-allow-private=false"}, {{"METERD_WEBHOOK_ALLOW_PRIVATE", "true"}});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->config.webhooks.allow_private);
}

TEST_F(ConfigTest, UsesSystemdsStateDirectoryUnlessTold) {
  auto r = Load({}, {{"STATE_DIRECTORY", "/var/lib/meterd-x"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->config.storage.data_dir, "/var/lib/meterd-x");
  r = Load({"--data-dir", "/elsewhere"}, {{"STATE_DIRECTORY", "/var/lib/meterd-x"}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->config.storage.data_dir, "/elsewhere");
}

TEST_F(ConfigTest, WarnsAboutUnknownEnvironmentVariablesWithoutFailing) {
  auto r = Load({}, {{"METERD_WROKERS", "3"}});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_NE(r->warnings[0].find("METERD_WROKERS"), std::string::npos);
}

TEST_F(ConfigTest, RejectsUnknownKeysNamingKeyAndFile) {
  const std::string file = WriteToml("[server]\nlisten = \"127.0.0.1:1\"\nlistne = \"x\"\n");
  const std::string reason = Reason(Load({"--config", file}));
  EXPECT_NE(reason.find("unknown setting server.listne"), std::string::npos) << reason;
  EXPECT_NE(reason.find(file + ":3"), std::string::npos) << reason;
  EXPECT_NE(Reason(Load({"--config", WriteToml("[nope]\nx = 1\n")})).find("nope.x"),
            std::string::npos);
  EXPECT_NE(Reason(Load({"--config", WriteToml("workers = 1\n")})).find("unknown setting workers"),
            std::string::npos);
}

TEST_F(ConfigTest, RejectsUnknownFlagsMissingValuesAndStrayArguments) {
  EXPECT_NE(Reason(Load({"--wrokers", "2"})).find("unknown option --wrokers"), std::string::npos);
  EXPECT_NE(Reason(Load({"--listen"})).find("--listen needs a value"), std::string::npos);
  EXPECT_NE(Reason(Load({"serve"})).find("unexpected argument \"serve\""), std::string::npos);
  EXPECT_NE(Reason(Load({"--config"})).find("--config needs a FILE"), std::string::npos);
}

TEST_F(ConfigTest, RejectsBadValuesWithTheSettingItsSourceAndTheExpectation) {
  std::string reason = Reason(Load({"--io-threads", "many"}));
  EXPECT_EQ(reason,
            "server.io_threads (--io-threads): expected an integer in [1, 256], got \"many\"");
  reason = Reason(Load({}, {{"METERD_WORKERS", "0"}}));
  EXPECT_EQ(reason, "ingest.workers (METERD_WORKERS): expected an integer in [1, 256], got \"0\"");
  EXPECT_NE(Reason(Load({"--header-timeout", "10"})).find("with a unit"), std::string::npos);
  EXPECT_NE(Reason(Load({"--max-body-bytes", "1MB"})).find("server.max_body_bytes"),
            std::string::npos);
  EXPECT_NE(Reason(Load({"--listen", "localhost"})).find("HOST:PORT"), std::string::npos);
  EXPECT_NE(Reason(Load({"--listen", "::1:80"})).find("brackets"), std::string::npos);
  EXPECT_NE(Reason(Load({"--listen", "h:70000"})).find("server.listen"), std::string::npos);
  EXPECT_NE(Reason(Load({"--fixed-clock", "2026-11-20 13:05"})).find("RFC 3339"),
            std::string::npos);
  EXPECT_NE(Reason(Load({"--sync-mode", "sometimes"})).find("full, nometasync, nosync"),
            std::string::npos);
  EXPECT_NE(Reason(Load({"--log-level", "loud"})).find("log.level"), std::string::npos);
  EXPECT_NE(Reason(Load({"--eligible-roles", "owner,,reader"})).find("rating.eligible_roles"),
            std::string::npos);
  EXPECT_NE(Reason(Load({"--webhook-allow-private=perhaps"})).find("true or false"),
            std::string::npos);
  EXPECT_NE(Reason(Load({"--io-realtime=sometimes"})).find("server.io_realtime"),
            std::string::npos);
  EXPECT_NE(Reason(Load({"--dedupe-filter-max", "lots"})).find("ingest.dedupe_filter_max"),
            std::string::npos);
  EXPECT_NE(Reason(Load({"--dedupe-filter-max", "65GiB"})).find("ingest.dedupe_filter_max"),
            std::string::npos);
  EXPECT_NE(Reason(Load({"--dedupe-filter-initial-keys", "0"}))
                .find("ingest.dedupe_filter_initial_keys"),
            std::string::npos);
}

TEST_F(ConfigTest, ReadsTheDedupeFilterAndRealtimeSettings) {
  auto r = Load({});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->config.ingest.dedupe_filter_max_bytes, uint64_t{256} << 20);
  EXPECT_EQ(r->config.ingest.dedupe_filter_initial_keys, int64_t{1} << 24);
  EXPECT_FALSE(r->config.server.io_realtime);
  r = Load({"--dedupe-filter-max", "0", "--dedupe-filter-initial-keys", "1500", "--io-realtime"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->config.ingest.dedupe_filter_max_bytes, 0u);  // off
  EXPECT_EQ(r->config.ingest.dedupe_filter_initial_keys, 1500);
  EXPECT_TRUE(r->config.server.io_realtime);
  r = Load({}, {{"METERD_DEDUPE_FILTER_MAX", "64MiB"}, {"METERD_IO_REALTIME", "false"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->config.ingest.dedupe_filter_max_bytes, uint64_t{64} << 20);
  EXPECT_FALSE(r->config.server.io_realtime);
}

TEST_F(ConfigTest, ChecksDecimalsExactlyAndNeverAsFloats) {
  EXPECT_TRUE(Load({"--pec-rate", "1"}).ok());
  EXPECT_TRUE(Load({"--pec-rate", "0.000000001"}).ok());
  EXPECT_TRUE(Load({"--pec-rate", "1.000000000"}).ok());
  EXPECT_NE(Reason(Load({"--pec-rate", "1.000000001"})).find("rating.pec_rate"), std::string::npos);
  EXPECT_FALSE(Load({"--pec-rate", "0.1234567891"}).ok());  // a 10th fractional digit
  EXPECT_FALSE(Load({"--pec-rate", "-0.1"}).ok());
  EXPECT_FALSE(Load({"--pec-rate", ".15"}).ok());
  EXPECT_FALSE(Load({"--anomaly-min-ratio", "three"}).ok());
  EXPECT_FALSE(Load({"--anomaly-min-score", "-1"}).ok());
  const std::string reason = Reason(Load({"--config", WriteToml("[rating]\npec_rate = 0.15\n")}));
  EXPECT_NE(reason.find("TOML float"), std::string::npos) << reason;
  EXPECT_NE(reason.find("as strings"), std::string::npos) << reason;
}

TEST_F(ConfigTest, RejectsWrongTomlTypes) {
  EXPECT_NE(Reason(Load({"--config", WriteToml("[server]\nio_threads = \"2\"\n")}))
                .find("server.io_threads"),
            std::string::npos);
  EXPECT_FALSE(Load({"--config", WriteToml("[webhooks]\nallow_private = 1\n")}).ok());
  EXPECT_FALSE(Load({"--config", WriteToml("[webhooks]\nallow_private = \"true\"\n")}).ok());
  EXPECT_FALSE(Load({"--config", WriteToml("[server]\nlisten = 8787\n")}).ok());
  EXPECT_FALSE(Load({"--config", WriteToml("[rating]\neligible_roles = [1, 2]\n")}).ok());
  EXPECT_FALSE(Load({"--config", WriteToml("[server]\nheader_timeout = 10\n")}).ok());
}

TEST_F(ConfigTest, ReportsTomlSyntaxErrorsAndMissingFilesInOneLine) {
  const std::string file = WriteToml("[server\nlisten = 1\n");
  std::string reason = Reason(Load({"--config", file}));
  EXPECT_NE(reason.find("cannot read config file " + file + ":1"), std::string::npos) << reason;
  reason = Reason(Load({"--config", "/nonexistent/meterd.toml"}));
  EXPECT_NE(reason.find("/nonexistent/meterd.toml"), std::string::npos) << reason;
}

TEST_F(ConfigTest, RejectsInconsistentCombinations) {
  EXPECT_NE(Reason(Load({"--max-body-bytes", "2MiB", "--max-bulk-body-bytes", "1MiB"}))
                .find("exceeds server.max_bulk_body_bytes"),
            std::string::npos);
  EXPECT_FALSE(Load({"--map-size", "2GiB", "--map-max", "1GiB"}).ok());
  EXPECT_FALSE(Load({"--webhook-retry-initial", "2h", "--webhook-retry-max", "1h"}).ok());
  EXPECT_NE(Reason(Load({"--anomaly-window-days", "5"})).find("exceeds anomaly.window_days"),
            std::string::npos);
  EXPECT_TRUE(Load({"--anomaly-window-days", "5", "--anomaly-min-history-days", "5"}).ok());
  EXPECT_FALSE(Load({"--anomaly-window-days", "63"}).ok());  // the rule's fixed buffers hold 62
}

TEST_F(ConfigTest, AnomalyDefaultsAreTheRuleOfTheAlertsPage) {
  auto r = Load({});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Result<rating::AnomalyParams> p = AnomalyParamsOf(r->config.anomaly);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const rating::AnomalyParams want;  // docs/alerts.md: 14, 7, 6, 10, 3
  EXPECT_TRUE(r->config.anomaly.enabled);
  EXPECT_EQ(p->window_days, want.window_days);
  EXPECT_EQ(p->min_history_days, want.min_history_days);
  EXPECT_EQ(p->min_score, want.min_score);
  EXPECT_EQ(p->floor_amount, want.floor_amount);
  EXPECT_EQ(p->min_ratio, want.min_ratio);

  auto set = Load({"--anomaly-min-score", "4.25", "--anomaly-floor-amount", "0.5",
                   "--anomaly-min-ratio", "2", "--anomaly-enabled=false"});
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  Result<rating::AnomalyParams> q = AnomalyParamsOf(set->config.anomaly);
  ASSERT_TRUE(q.ok());
  EXPECT_FALSE(set->config.anomaly.enabled);
  EXPECT_EQ(q->min_score, rating::Decimal::FromNanos(4'250'000'000));
  EXPECT_EQ(q->floor_amount, rating::Decimal::FromNanos(500'000'000));
  EXPECT_EQ(q->min_ratio, rating::Decimal::FromInteger(2));
}

TEST_F(ConfigTest, ExitsWith78AndOneLineOnABadConfig) {
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  const auto code = ReportInvocation(Load({"--workers", "x"}), out, err);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, kExitConfig);
  EXPECT_EQ(*code, 78);
  std::rewind(err);
  char buf[512] = {};
  const size_t n = std::fread(buf, 1, sizeof(buf) - 1, err);
  const std::string text(buf, n);
  EXPECT_EQ(text,
            "meterd: config: ingest.workers (--workers): expected an integer in [1, 256], got "
            "\"x\"\n");
  EXPECT_EQ(std::ftell(out), 0);
  std::fclose(out);
  std::fclose(err);
}

TEST_F(ConfigTest, PrintsHelpWithEveryOptionAndItsDefault) {
  auto r = Load({"--workers", "not-even-checked", "--help"});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->action, Invocation::Action::kPrintHelp);
  const std::string& help = r->text;
  for (const char* flag :
       {"--config FILE", "--listen HOST:PORT", "--data-dir DIR", "--workers N",
        "--fixed-clock RFC3339", "--webhook-allow-private", "--help", "--version", "--io-threads N",
        "--sync-mode MODE", "--max-body-bytes BYTES", "--pec-rate DECIMAL",
        "--dedupe-retention-days N", "--log-level LEVEL", "--port-file PATH"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
  EXPECT_NE(help.find("default: 127.0.0.1:8787"), std::string::npos);
  EXPECT_NE(help.find("default: 64MiB"), std::string::npos);
  EXPECT_NE(help.find("default: 0.15"), std::string::npos);
  EXPECT_NE(help.find("default: 35"), std::string::npos);
  EXPECT_NE(help.find("METERD_DATA_DIR"), std::string::npos);
  std::FILE* out = std::tmpfile();
  EXPECT_EQ(ReportInvocation(r, out, stderr), 0);
  EXPECT_EQ(static_cast<size_t>(std::ftell(out)), help.size());
  std::fclose(out);
}

TEST_F(ConfigTest, PrintsTheVersion) {
  auto r = Load({"--version"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->action, Invocation::Action::kPrintVersion);
  EXPECT_EQ(r->text, std::string("meterd ") + METERD_VERSION + "\n");
}

TEST_F(ConfigTest, TheExampleConfigFileLoads) {
  // METERD_FIXTURES_DIR is <source>/tests/fixtures.
  const std::string example = std::string(METERD_FIXTURES_DIR) + "/../../systemd/meterd.toml";
  if (!std::filesystem::exists(example)) GTEST_SKIP() << "no " << example;
  auto r = Load({"--config", example});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->config.storage.data_dir, "/var/lib/meterd");
}

TEST_F(ConfigTest, NamesNoChangeWhenTheSourcesAreTheSame) {
  const std::string path = WriteToml("[storage]\nmap_max = \"2MiB\"\nmap_size = \"1MiB\"\n");
  auto a = Load({"--config", path});
  auto b = Load({"--config", path});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(ChangedSettings(a->config, b->config).empty());
}

TEST_F(ConfigTest, NamesEachChangedSettingByItsKeyWithBothValuesInHelpOrder) {
  const std::string path = WriteToml("[storage]\nmap_max = \"2MiB\"\nmap_size = \"1MiB\"\n");
  auto before = Load({"--config", path});
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  // The operator edits the same file, as before a SIGHUP.
  std::ofstream(path) << "[storage]\nmap_max = \"64MiB\"\nmap_size = \"1MiB\"\n"
                         "[ingest]\nworkers = 4\n[log]\nlevel = \"debug\"\n";
  auto after = Load({"--config", path});
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  const std::vector<SettingChange> changes = ChangedSettings(before->config, after->config);
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].key, "storage.map_max");
  EXPECT_EQ(changes[0].from, "2MiB");
  EXPECT_EQ(changes[0].to, "64MiB");
  EXPECT_EQ(changes[1].key, "ingest.workers");
  EXPECT_EQ(changes[1].from, "2");
  EXPECT_EQ(changes[1].to, "4");
  EXPECT_EQ(changes[2].key, "log.level");
  EXPECT_EQ(changes[2].from, "info");
  EXPECT_EQ(changes[2].to, "debug");
}

TEST_F(ConfigTest, ARereadKeepsFlagsAndTheEnvironmentAboveTheEditedFile) {
  const std::string path = WriteToml("[storage]\nmap_max = \"2MiB\"\nmap_size = \"1MiB\"\n");
  const std::vector<std::string> args = {"--config", path, "--map-max", "4MiB"};
  const Environment env = {{"METERD_LOG_LEVEL", "warning"}};
  auto before = Load(args, env);
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  std::ofstream(path) << "[storage]\nmap_max = \"64MiB\"\nmap_size = \"1MiB\"\n"
                         "[log]\nlevel = \"debug\"\n";
  auto after = Load(args, env);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->config.storage.map_max_bytes, uint64_t{4} << 20);
  EXPECT_EQ(after->config.log.level, LogLevel::kWarning);
  EXPECT_TRUE(ChangedSettings(before->config, after->config).empty());
}

TEST_F(ConfigTest, ComparesListsAndTopLevelSettingsToo) {
  auto a = Load({});
  auto b = Load({"--eligible-roles", "owner", "--fixed-clock", "2026-11-20T12:00:00Z"});
  ASSERT_TRUE(a.ok() && b.ok());
  const std::vector<SettingChange> changes = ChangedSettings(a->config, b->config);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].key, "rating.eligible_roles");
  EXPECT_EQ(changes[1].key, "fixed_clock");
}

}  // namespace
}  // namespace meterd::config
