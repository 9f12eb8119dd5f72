// meterd's composition root: configuration, storage, engine, API, server, then the signal loop.
// Shutdown runs in reverse: stop accepting and finish in-flight requests, drain the shards,
// final commit, close the store.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iterator>
#include <latch>
#include <optional>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include "common/thread_name.h"
#include "daemon/api/api.h"
#include "daemon/auth/token_table.h"
#include "daemon/config/config.h"
#include "daemon/core/engine.h"
#include "daemon/core/engine_metrics.h"
#include "daemon/core/maintenance.h"
#include "daemon/http/health.h"
#include "daemon/http/router.h"
#include "daemon/http/server.h"
#include "daemon/lifecycle/clock.h"
#include "daemon/lifecycle/log.h"
#include "daemon/lifecycle/signals.h"
#include "daemon/lifecycle/systemd.h"
#include "daemon/metrics/metrics.h"
#include "daemon/webhooks/webhook_metrics.h"
#include "daemon/webhooks/webhooks.h"
#include "storage/env.h"
#include "storage/writer.h"

namespace {

using namespace meterd;

// How long queued writes may wait without the writer finishing a batch before meterd counts as
// unhealthy. A healthy batch takes milliseconds; a slow fsync or a map growth waiting out
// readers (EnvOptions::growth_wait, 1 s per try) takes seconds, so a minute means a wedged writer,
// which is then restarted within about 90 s (the minute, then WatchdogSec=30s without a ping).
// Not derived from WatchdogSec: the watchdog bounds how fast a hang is acted on, not how slow
// a disk may be before it counts as a hang.
constexpr std::chrono::seconds kWriterStallLimit{60};

int Fail(const std::string& what, const Status& st) {
  lifecycle::LogError(what + ": " + st.ToString());
  return 1;
}

storage::SyncMode ToStorage(config::SyncMode mode) {
  switch (mode) {
    case config::SyncMode::kFull: return storage::SyncMode::kFull;
    case config::SyncMode::kNoMetaSync: return storage::SyncMode::kNoMetaSync;
    case config::SyncMode::kNoSync: return storage::SyncMode::kNone;
  }
  return storage::SyncMode::kFull;
}

lifecycle::LogLevel ToLog(config::LogLevel level) {
  switch (level) {
    case config::LogLevel::kDebug: return lifecycle::LogLevel::kDebug;
    case config::LogLevel::kInfo: return lifecycle::LogLevel::kInfo;
    case config::LogLevel::kWarning: return lifecycle::LogLevel::kWarning;
    case config::LogLevel::kError: return lifecycle::LogLevel::kError;
  }
  return lifecycle::LogLevel::kInfo;
}

// The settings SIGHUP applies to the running daemon (docs/operations.md, "Reloading"). Each is
// read through an atomic by the code that uses it: the log filter, and the map's growth
// ceiling, which the writer reads at every growth. Every other setting is consumed once at
// start — it sizes threads, queues or the listener, or is copied into option structs that
// shards, handlers and the webhook sender read without synchronisation — so a change to it
// waits for a restart and is named in a warning.
constexpr std::string_view kReloadable[] = {"log.level", "storage.map_max"};

bool Reloadable(std::string_view key) {
  return std::find(std::begin(kReloadable), std::end(kReloadable), key) != std::end(kReloadable);
}

std::string Describe(const std::vector<config::SettingChange>& changes) {
  std::string out;
  for (const config::SettingChange& c : changes) {
    if (!out.empty()) out += ", ";
    out += c.key + " (" + c.from + " -> " + c.to + ")";
  }
  return out;
}

// SIGHUP: applies the reloadable settings of `next` and records them in *running; names the
// rest that differ. *running is what is in effect: the start configuration plus what earlier
// reloads applied. REQUIRES: the signal loop's thread (the only one touching *running).
void ApplyReload(const config::Config& next, config::Config* running, storage::Env* env) {
  std::vector<config::SettingChange> applied;
  std::vector<config::SettingChange> pending;
  for (config::SettingChange& c : config::ChangedSettings(*running, next)) {
    (Reloadable(c.key) ? applied : pending).push_back(std::move(c));
  }
  running->storage.map_max_bytes = next.storage.map_max_bytes;
  // As at open: a ceiling below the current map stops growth and never shrinks the map. The
  // writer reads the ceiling at its next growth, so a store refused for a full map takes
  // writes again from the next batch on.
  env->SetMaxMapSize(std::max(running->storage.map_max_bytes, env->map_size()));

  // The report passes the more verbose of the old and the new filter: an operator who turns
  // logging down still sees that the reload happened, one who turns it up sees it too.
  const config::LogLevel old_level = running->log.level;
  running->log.level = next.log.level;
  lifecycle::SetLogLevel(ToLog(std::min(old_level, running->log.level)));
  if (!applied.empty()) lifecycle::LogInfo("SIGHUP: applied " + Describe(applied));
  if (!pending.empty()) {
    lifecycle::LogWarning("SIGHUP: restart to apply: " + Describe(pending));
  }
  if (applied.empty() && pending.empty()) lifecycle::LogInfo("SIGHUP: configuration unchanged");
  lifecycle::SetLogLevel(ToLog(running->log.level));
}

// `reload` re-reads the configuration sources (SIGHUP); an error keeps the running config.
int Run(const config::Config& cfg, const std::function<Result<config::Config>()>& reload) {
  lifecycle::SignalLoop signals;  // before any thread starts
  lifecycle::SetLogLevel(ToLog(cfg.log.level));
  std::unique_ptr<lifecycle::Clock> clock = lifecycle::MakeClock(cfg.fixed_clock);

  std::error_code ec;
  std::filesystem::create_directories(cfg.storage.data_dir, ec);
  storage::EnvOptions env_options;
  env_options.map_size = cfg.storage.map_size_bytes;
  env_options.max_map_size = cfg.storage.map_max_bytes;
  env_options.map_growth_step = cfg.storage.map_growth_bytes;
  env_options.sync = ToStorage(cfg.storage.sync_mode);
  Result<std::unique_ptr<storage::Env>> env = storage::Env::Open(cfg.storage.data_dir, env_options);
  if (!env.ok()) return Fail("cannot open the store in " + cfg.storage.data_dir, env.status());
  storage::WriterOptions writer_options;
  writer_options.queue_capacity = static_cast<size_t>(cfg.ingest.writer_queue_capacity);
  writer_options.fold_interval = cfg.storage.fold_interval;
  writer_options.fold_idle_delay = cfg.storage.fold_idle_delay;
  Result<std::unique_ptr<storage::Writer>> writer = storage::Writer::Start(env->get(), writer_options);
  if (!writer.ok()) return Fail("cannot start the storage writer", writer.status());

  core::EngineOptions engine_options;
  engine_options.shards = cfg.ingest.workers;
  engine_options.shard_queue_capacity = static_cast<size_t>(cfg.ingest.shard_queue_capacity);
  engine_options.retention_days = cfg.rating.dedupe_retention_days;
  engine_options.review_interval = cfg.ingest.review_interval;
  engine_options.dedupe_filter_max_bytes = cfg.ingest.dedupe_filter_max_bytes;
  engine_options.dedupe_filter_initial_keys =
      static_cast<uint64_t>(cfg.ingest.dedupe_filter_initial_keys);
  if (rating::Decimal::Parse(cfg.rating.pec_rate, &engine_options.rating.pec_rate) !=
      rating::DecimalError::kOk) {
    lifecycle::LogError("bad rating.pec_rate");
    return 78;
  }
  engine_options.rating.eligible_roles = cfg.rating.eligible_roles;
  engine_options.anomaly = std::nullopt;
  if (cfg.anomaly.enabled) {
    Result<rating::AnomalyParams> anomaly = config::AnomalyParamsOf(cfg.anomaly);
    if (!anomaly.ok()) return Fail("bad anomaly settings", anomaly.status());
    engine_options.anomaly = *anomaly;
  }
  engine_options.now = [&clock] { return clock->Now(); };
  std::atomic<webhooks::WebhookService*> webhook_service{nullptr};
  engine_options.on_alerts_committed = [&webhook_service] {
    if (webhooks::WebhookService* w = webhook_service.load()) w->Wake();
  };
  core::Engine engine(env->get(), writer->get(), engine_options);
  Status st = engine.Start();
  if (!st.ok()) return Fail("cannot start the engine", st);

  webhooks::WebhookService webhook_delivery(&engine, env->get(), writer->get(), cfg.webhooks);
  st = webhook_delivery.Start();
  if (!st.ok()) return Fail("cannot start webhook delivery", st);
  webhook_service.store(&webhook_delivery);

  // Dedupe identities past the retention horizon go in small background batches.
  core::Maintenance maintenance(env->get(), writer->get(), engine_options.now,
                                std::chrono::minutes(1), std::chrono::hours(1));
  maintenance.Start();

  metrics::Metrics metrics(METERD_VERSION);
  core::RegisterEngineMetrics(metrics, engine, **writer, **env);
  webhooks::RegisterWebhookMetrics(metrics, webhook_delivery);

  auth::TokenTable tokens;
  boost::asio::thread_pool control(1);
  // As many parsing threads as I/O threads: parsing is what the I/O threads did before. Each
  // start-up task waits until all have begun, so every pool thread takes exactly one.
  const int parse_threads = std::max(1, cfg.server.io_threads);
  boost::asio::thread_pool ingest(static_cast<size_t>(parse_threads));
  std::latch parse_threads_named(parse_threads);
  // One slot per parse thread, written before it arrives at the latch, read after the wait.
  std::vector<Status> backgrounded(static_cast<size_t>(parse_threads));
  for (int i = 0; i < parse_threads; ++i) {
    boost::asio::post(ingest, [&parse_threads_named, &backgrounded, i] {
      SetCurrentThreadName("meterd-parse-" + std::to_string(i));
      backgrounded[static_cast<size_t>(i)] = MarkCurrentThreadBackground();
      parse_threads_named.arrive_and_wait();
    });
  }
  parse_threads_named.wait();
  // One warning per process: what denies these threads nice +5 (a seccomp filter without
  // setpriority, a security module) denies the writer, shards and webhooks the same way.
  if (auto failed = std::find_if(backgrounded.begin(), backgrounded.end(),
                                 [](const Status& s) { return !s.ok(); });
      failed != backgrounded.end()) {
    lifecycle::LogWarning(
        "background threads keep their priority (partners' reads no longer "
        "run first under CPU contention): " +
        failed->ToString());
  }
  api::ApiContext context;
  context.engine = &engine;
  context.env = env->get();
  context.writer = writer->get();
  context.tokens = &tokens;
  context.config = &cfg;
  context.control = &control;
  context.ingest = &ingest;
  context.webhooks = &webhook_delivery;
  Result<std::optional<std::string>> bootstrap = api::BootstrapTokens(&context);
  if (!bootstrap.ok()) return Fail("cannot load tokens", bootstrap.status());
  if (*bootstrap) lifecycle::LogInfo("created the bootstrap admin token in " + **bootstrap);

  http::Router router;
  std::atomic<bool> ready{false};
  // Unhealthy: /readyz answers 503 and the watchdog pings stop, so systemd restarts meterd.
  storage::Writer* const storage_writer = writer->get();
  auto healthy = [storage_writer] { return !storage_writer->Stalled(kWriterStallLimit); };
  st = http::AddHealthRoutes(router, [&ready, healthy] { return ready.load() && healthy(); });
  if (st.ok()) st = metrics::AddMetricsRoute(router, metrics);
  if (st.ok()) st = api::RegisterRoutes(router, &context);
  if (!st.ok()) return Fail("cannot build routes", st);

  http::Server server(cfg.server, std::move(router), &metrics.registry());
  context.io_executor = [&server] { return server.executor(); };
  st = server.Start();
  if (!st.ok()) return Fail("cannot listen on " + cfg.server.listen_host, st);
  ready.store(true);
  lifecycle::LogInfo("meterd " METERD_VERSION " ready; data in " + cfg.storage.data_dir);
  lifecycle::NotifyReady();

  lifecycle::SignalLoop::Hooks hooks;
  hooks.healthy = healthy;
  config::Config running = cfg;
  storage::Env* const store = env->get();
  hooks.on_reload = [&reload, &running, store] {
    Result<config::Config> next = reload();
    if (!next.ok()) {
      // An error, not a warning: the operator asked for a change and got none of it.
      lifecycle::LogError("SIGHUP: configuration refused, keeping the running one: " +
                          next.status().message());
      return;
    }
    ApplyReload(*next, &running, store);
  };
  signals.Run(hooks);

  lifecycle::LogInfo("shutting down: finishing in-flight requests");
  ready.store(false);
  lifecycle::NotifyStopping();
  server.Shutdown(cfg.server.shutdown_timeout);
  control.join();
  ingest.join();  // a body still parsing is submitted before the shards stop
  maintenance.Stop();
  webhook_service.store(nullptr);
  webhook_delivery.Stop();
  engine.Stop();
  (*writer)->Stop();
  lifecycle::LogInfo("stopped cleanly");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Kept for SIGHUP: a reload re-reads the TOML file, with the environment and flags the
  // daemon started with (neither can change from outside a running process).
  const meterd::config::Environment environment = meterd::config::EnvironmentFromProcess();
  auto invocation = meterd::config::LoadConfig(argc, argv, environment);
  if (std::optional<int> exit_code = meterd::config::ReportInvocation(invocation, stdout, stderr)) {
    return *exit_code;
  }
  auto reload = [argc, argv, &environment]() -> meterd::Result<meterd::config::Config> {
    auto next = meterd::config::LoadConfig(argc, argv, environment);
    if (!next.ok()) return next.status();
    // The action is kRun again: --help and --version are flags, and the flags are the same.
    return std::move(next->config);
  };
  return Run(invocation->config, reload);
}
