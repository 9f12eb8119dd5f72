// meterd's configuration: one immutable Config with documented defaults, read at start (and
// again on SIGHUP) from a TOML file, then METERD_* environment variables, then command-line
// flags (each layer overrides the one before). Each module receives only its slice
// (ServerConfig, ...). Bad input yields a one-line reason and exit code 78 (EX_CONFIG). Decimal
// settings stay text: the rating library parses them exactly. Loading is a pure function of its
// inputs; thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "rating/anomaly.h"
#include "rating/civil_time.h"

namespace meterd::config {

// sysexits.h EX_CONFIG: the exit status for any configuration error.
inline constexpr int kExitConfig = 78;

struct ServerConfig {
  std::string listen_host = "127.0.0.1";  // IP literal or host name; port 0 binds a free port
  uint16_t listen_port = 8787;
  std::string port_file;  // when set, the bound port is written here (atomically) after bind
  int io_threads = 2;
  bool io_realtime = false;  // I/O threads under SCHED_FIFO 1 (common/thread_name.h)
  int max_connections = 1024;           // beyond: 503 + close
  int max_pipelined = 16;               // responses queued per connection before reading pauses
  size_t max_header_bytes = 16 * 1024;  // request line + headers; beyond: 431
  size_t max_body_bytes = 1 << 20;      // api.md: 1 MiB; beyond: 413
  size_t max_bulk_body_bytes = size_t{64} << 20;       // api.md: 64 MiB for usage and bulk loads
  std::chrono::milliseconds header_timeout{10'000};    // first byte to end of headers
  std::chrono::milliseconds body_timeout{120'000};     // end of headers to end of body
  std::chrono::milliseconds write_timeout{60'000};     // one response, or one piece of a stream
  std::chrono::milliseconds idle_timeout{75'000};      // keep-alive wait for the next request
  std::chrono::milliseconds shutdown_timeout{25'000};  // in-flight grace on SIGTERM
};

enum class SyncMode { kFull, kNoMetaSync, kNoSync };

struct StorageConfig {
  std::string data_dir = "/var/lib/meterd";
  SyncMode sync_mode = SyncMode::kFull;  // kFull: fsync every commit (the durability promise)
  uint64_t map_size_bytes = uint64_t{1} << 30;    // initial LMDB map size
  uint64_t map_max_bytes = uint64_t{64} << 30;    // growth stops here: 503 storage full
  uint64_t map_growth_bytes = uint64_t{1} << 30;  // step when the map fills
  // The write journal's fold (storage/journal.h): a window at most this often under load, and
  // after this long without a write job when idle.
  std::chrono::milliseconds fold_interval{500};
  std::chrono::milliseconds fold_idle_delay{10};
};

struct IngestConfig {
  int workers = 2;  // shard workers
  int64_t max_events_per_request = 500'000;
  int shard_queue_capacity = 256;   // batches per shard queue; full: 429
  int parse_queue_capacity = 64;    // usage bodies parsing or waiting to parse; full: 429
  int writer_queue_capacity = 256;  // batches waiting for the storage writer; full: 429
  // The dedupe filter (daemon/core/identity_filter.h): at most this much memory, 0: off.
  uint64_t dedupe_filter_max_bytes = uint64_t{256} << 20;
  int64_t dedupe_filter_initial_keys = int64_t{1} << 24;
  // Shard workers' timer: forecast review on a month change, eviction of cold cached months.
  std::chrono::milliseconds review_interval{30'000};
};

struct RatingConfig {
  std::string pec_rate = "0.15";  // decimal text, 0..1, at most 9 fractional digits
  std::vector<std::string> eligible_roles = {"owner", "contributor"};  // lowercased
  int dedupe_retention_days = 35;  // event identities kept this long after the usage month
};

struct WebhookConfig {
  bool allow_private = false;  // allow loopback/private/link-local targets
  std::chrono::milliseconds timeout{10'000};
  std::chrono::milliseconds retry_initial{5'000};
  std::chrono::milliseconds retry_max{3'600'000};
  std::chrono::milliseconds give_up_after{259'200'000};  // 72 h
  int queue_capacity = 10'000;
};

// The `anomaly` rule's tunables (rating::AnomalyParams; the rule is in docs/alerts.md).
// Decimals stay text like every decimal setting; AnomalyParamsOf parses them exactly.
struct AnomalyConfig {
  bool enabled = true;
  int window_days = 14;          // complete days before the judged day that form its history
  int min_history_days = 7;      // fewer days of history never fire (a new customer)
  std::string min_score = "6";   // robust z-score needed
  std::string floor_amount = "10";  // minimum day spend, billing-currency units
  std::string min_ratio = "3";   // minimum multiple of the history's median
};

// The rule's parameters; InvalidArgument naming the setting when they do not parse or are
// inconsistent (LoadConfig already checked them, so main() only fails on a programming error).
Result<rating::AnomalyParams> AnomalyParamsOf(const AnomalyConfig& config);

enum class LogLevel { kDebug, kInfo, kWarning, kError };

struct LogConfig {
  LogLevel level = LogLevel::kInfo;
};

struct Config {
  std::string config_file;  // the TOML file read, if any
  ServerConfig server;
  StorageConfig storage;
  IngestConfig ingest;
  RatingConfig rating;
  WebhookConfig webhooks;
  AnomalyConfig anomaly;
  LogConfig log;
  std::optional<rating::Timestamp> fixed_clock;  // --fixed-clock: the frozen "now"
};

// METERD_* variables of the process environment (name -> value).
using Environment = std::map<std::string, std::string, std::less<>>;
Environment EnvironmentFromProcess();

struct Invocation {
  enum class Action { kRun, kPrintHelp, kPrintVersion };
  Action action = Action::kRun;
  Config config;                      // kRun
  std::string text;                   // kPrintHelp / kPrintVersion: what to print on stdout
  std::vector<std::string> warnings;  // e.g. unknown METERD_* variables (not fatal)
};

// Reads `args` (argv without argv[0]), `env` and the TOML file named by --config or
// METERD_CONFIG. Errors are InvalidArgument with a one-line reason naming the setting and its
// source, e.g. "server.io_threads (--io-threads): expected an integer in [1, 256], got \"x\"".
Result<Invocation> LoadConfig(std::span<const std::string> args, const Environment& env);
// Convenience for main(): argv as given to main.
Result<Invocation> LoadConfig(int argc, const char* const* argv, const Environment& env);

// The composition root's first step: prints help, version, warnings or the error reason and
// returns the exit code to leave with (0, or kExitConfig on error); nullopt means "run".
std::optional<int> ReportInvocation(const Result<Invocation>& invocation, std::FILE* out,
                                    std::FILE* err);

// All options with their TOML key, flag, environment variable, default and meaning.
std::string HelpText();

// A setting whose value differs between two configurations, both values shown as --help
// shows a default ("2MiB", "30s", "owner,contributor").
struct SettingChange {
  std::string key;  // the TOML key, e.g. "storage.map_max"
  std::string from;
  std::string to;
};

// Every setting whose value differs from `running` to `next`, in --help order. A reload
// (SIGHUP) compares the configuration it re-read with the one in effect through this, so
// each setting is named by the key an operator edits.
std::vector<SettingChange> ChangedSettings(const Config& running, const Config& next);

std::string_view ToString(SyncMode mode);
std::string_view ToString(LogLevel level);

}  // namespace meterd::config
