#include "daemon/core/engine_metrics.h"

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

namespace meterd::core {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

ClientMetric Value(double v, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  m.counter.value = v;
  m.gauge.value = v;
  return m;
}

MetricFamily Family(std::string name, std::string help, MetricType type,
                    std::vector<ClientMetric> metrics) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  f.metric = std::move(metrics);
  return f;
}

// Prometheus histograms from the writer's fixed-bucket atomic histograms.
MetricFamily HistogramFamily(std::string name, std::string help, const storage::Histogram& h,
                             double scale) {
  ClientMetric m;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h.bucket_count(); ++i) {
    cumulative += h.count(i);
    ClientMetric::Bucket b;
    b.cumulative_count = cumulative;
    b.upper_bound = h.bound(i) == UINT64_MAX ? std::numeric_limits<double>::infinity()
                                               : static_cast<double>(h.bound(i)) * scale;
    m.histogram.bucket.push_back(b);
  }
  m.histogram.sample_count = h.total_count();
  m.histogram.sample_sum = static_cast<double>(h.sum()) * scale;
  return Family(std::move(name), std::move(help), MetricType::Histogram, {m});
}

class EngineCollectable : public prometheus::Collectable {
 public:
  EngineCollectable(const Engine& engine, const storage::Writer& writer, storage::Env& env)
      : engine_(engine), writer_(writer), env_(env) {}

  std::vector<MetricFamily> Collect() const override {
    const Engine::Counters& c = engine_.counters();
    const storage::WriterStats& w = writer_.stats();
    auto d = [](const std::atomic<uint64_t>& a) { return static_cast<double>(a.load()); };
    std::vector<MetricFamily> out;
    out.push_back(Family("meterd_events_total", "Usage events by result.", MetricType::Counter,
                         {Value(d(c.events_accepted), {{"result", "accepted"}}),
                          Value(d(c.events_duplicate), {{"result", "duplicate"}}),
                          Value(d(c.events_rejected), {{"result", "rejected"}})}));
    out.push_back(Family("meterd_usage_requests_refused_total",
                         "Usage requests refused: busy queues (429) or failed commits (503).",
                         MetricType::Counter,
                         {Value(d(c.usage_rejected_busy), {{"reason", "busy"}}),
                          Value(d(c.usage_failed_storage), {{"reason", "storage"}}),
                          Value(d(c.usage_too_many_events), {{"reason", "too_many_events"}})}));
    std::vector<ClientMetric> by_reason;
    for (size_t i = 0; i < ingest::kUsageErrorCount; ++i) {
      const auto error = static_cast<ingest::UsageError>(i);
      by_reason.push_back(Value(d(c.events_rejected_by_reason[i]),
                                {{"reason", std::string(ingest::UsageErrorName(error))}}));
    }
    out.push_back(Family("meterd_events_rejected_total",
                         "Usage lines rejected, by error code (domain 8.1).", MetricType::Counter,
                         std::move(by_reason)));
    std::vector<ClientMetric> line_writes;
    for (size_t i = 0; i < kLineStatusCount; ++i) {
      const auto reason = static_cast<rating::UnratedReason>(i);
      line_writes.push_back(
          Value(d(c.line_writes[i]),
                {{"status", reason == rating::UnratedReason::kNone ? "rated" : "unrated"},
                 {"reason", std::string(rating::UnratedReasonName(reason))}}));
    }
    out.push_back(Family("meterd_line_writes_total",
                         "Daily lines written to the store (created or changed), by status and "
                         "unrated reason.",
                         MetricType::Counter, std::move(line_writes)));
    out.push_back(Family("meterd_lines_rerated_total", "Daily lines re-rated by reference loads.",
                         MetricType::Counter, {Value(d(c.lines_rerated))}));
    out.push_back(Family("meterd_alerts_total", "Alerts committed.", MetricType::Counter,
                         {Value(d(c.alerts_fired))}));
    out.push_back(HistogramFamily("meterd_usage_request_events",
                                  "Valid usage lines per POST /v1/usage handed to the shards.",
                                  c.usage_request_events, 1.0));
    out.push_back(Family("meterd_ingest_queue_depth",
                         "Usage work waiting: bodies parsing or waiting to parse, slices in the "
                         "shard queues (the writer's queue: meterd_storage_queue_depth).",
                         MetricType::Gauge,
                         {Value(static_cast<double>(c.usage_bodies_parsing.load()), {{"stage", "parse"}}),
                          Value(static_cast<double>(engine_.QueuedUsageSlices()), {{"stage", "shards"}})}));
    out.push_back(Family("meterd_dedupe_lookups_total",
                         "Dedupe look-ups of identities not in flight, by what answered: the "
                         "filter alone (a new identity) or the store's events tree.",
                         MetricType::Counter,
                         {Value(d(c.dedupe_filter_answers), {{"answered_by", "filter"}}),
                          Value(d(c.dedupe_store_lookups), {{"answered_by", "store"}})}));
    out.push_back(Family("meterd_dedupe_filter_false_positives_total",
                         "Store look-ups after the dedupe filter's \"maybe\" that found nothing.",
                         MetricType::Counter, {Value(d(c.dedupe_filter_false_positives))}));
    out.push_back(Family("meterd_dedupe_filter_builds_total",
                         "Dedupe filters built from the store, doubled from a full one, and "
                         "builds that failed.",
                         MetricType::Counter,
                         {Value(d(c.dedupe_filter_builds), {{"result", "built"}}),
                          Value(d(c.dedupe_filter_doublings), {{"result", "doubled"}}),
                          Value(d(c.dedupe_filter_build_failures), {{"result", "failed"}})}));
    out.push_back(Family("meterd_dedupe_filter_bytes", "Memory of the active dedupe filter.",
                         MetricType::Gauge, {Value(d(c.dedupe_filter_bytes))}));
    out.push_back(Family("meterd_dedupe_filter_capacity",
                         "Identities the active dedupe filter holds at its design error rate; "
                         "a larger one is built from the store when it is full.",
                         MetricType::Gauge, {Value(d(c.dedupe_filter_capacity))}));
    out.push_back(Family("meterd_cache_entries",
                         "What the shard workers hold in memory: month ledgers (customer, month) "
                         "and their daily lines.",
                         MetricType::Gauge,
                         {Value(static_cast<double>(engine_.CachedLedgers()), {{"kind", "ledgers"}}),
                          Value(static_cast<double>(engine_.CachedLines()), {{"kind", "lines"}})}));
    out.push_back(Family("meterd_storage_commits_total", "LMDB write transactions committed.",
                         MetricType::Counter, {Value(d(w.commits))}));
    out.push_back(Family("meterd_storage_jobs_total", "Writer jobs by outcome.", MetricType::Counter,
                         {Value(d(w.jobs_committed), {{"outcome", "committed"}}),
                          Value(d(w.jobs_failed), {{"outcome", "failed"}}),
                          Value(d(w.jobs_rejected), {{"outcome", "rejected"}})}));
    out.push_back(Family("meterd_storage_map_full_total", "Map-full or disk-full events.",
                         MetricType::Counter, {Value(d(w.map_full_events))}));
    out.push_back(Family("meterd_storage_map_growths_total",
                         "Times the LMDB map grew (each waits for open transactions to end).",
                         MetricType::Counter, {Value(d(w.map_growths))}));
    out.push_back(Family("meterd_storage_queue_depth", "Jobs waiting for the storage writer.",
                         MetricType::Gauge, {Value(static_cast<double>(w.queue_depth.load()))}));
    out.push_back(HistogramFamily("meterd_storage_commit_seconds",
                                  "mdb_txn_commit latency including fsync.", w.commit_micros, 1e-6));
    out.push_back(HistogramFamily("meterd_storage_batch_seconds",
                                  "Group-commit batch latency, first apply to commit.",
                                  w.batch_micros, 1e-6));
    out.push_back(HistogramFamily("meterd_storage_batch_jobs", "Jobs per group commit.",
                                  w.batch_jobs, 1.0));
    // The journal fold (storage/journal.h).
    out.push_back(Family("meterd_storage_fold_writes_total",
                         "Identity and line writes the journal fold applied to their B-trees "
                         "(the last of each key per window).",
                         MetricType::Counter, {Value(d(w.fold_ops))}));
    out.push_back(Family("meterd_storage_fold_records_total",
                         "Journal records (one per write job) folded and deleted by windows.",
                         MetricType::Counter, {Value(d(w.fold_records))}));
    out.push_back(Family("meterd_storage_fold_windows_total", "Fold windows fully applied.",
                         MetricType::Counter, {Value(d(w.fold_windows))}));
    out.push_back(Family("meterd_storage_fold_barriers_total",
                         "Whole-journal folds for readers that scan lines in bulk (exports, "
                         "re-rating).",
                         MetricType::Counter, {Value(d(w.fold_barriers))}));
    out.push_back(Family("meterd_storage_fold_throttled_total",
                         "Times a shard was refused a writer slot because the journal fold had "
                         "fallen a window behind ingest (usage waits, then 429).",
                         MetricType::Counter, {Value(d(w.fold_throttled))}));
    {
      const uint64_t last = w.last_txn_id.load(std::memory_order_relaxed);
      const uint64_t folded = writer_.folded_through();
      out.push_back(Family("meterd_storage_fold_lag_transactions",
                           "Commits whose journal is not folded into the B-trees yet.",
                           MetricType::Gauge,
                           {Value(static_cast<double>(last > folded ? last - folded : 0))}));
    }
    out.push_back(Family("meterd_storage_map_bytes", "LMDB map size and bytes in use.",
                         MetricType::Gauge,
                         {Value(static_cast<double>(env_.map_size()), {{"kind", "size"}}),
                          Value(static_cast<double>(env_.used_bytes()), {{"kind", "used"}}),
                          Value(static_cast<double>(env_.max_map_size()), {{"kind", "max"}})}));
    return out;
  }

 private:
  const Engine& engine_;
  const storage::Writer& writer_;
  storage::Env& env_;
};

}  // namespace

void RegisterEngineMetrics(metrics::Metrics& metrics, const Engine& engine,
                           const storage::Writer& writer, storage::Env& env) {
  metrics.AddCollectable(std::make_shared<EngineCollectable>(engine, writer, env));
}

}  // namespace meterd::core
