// The source-independent step of usage ingest (sources → intake → shards → writer): a source
// (POST /v1/usage today, a stream consumer such as NATS JetStream later) hands over one NDJSON
// body and gets exactly one UsageOutcome back, after the commit. The intake bounds the bodies
// waiting for or in the parse stage, parses and validates them line by line, counts the
// rejections, and hands the batch to the engine, which splits it by owning shard. A source keeps
// only its transport concerns (authentication, status codes or acks). Thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"
#include "daemon/core/engine.h"
#include "daemon/ingest/usage_parser.h"

namespace meterd::core {

// What became of one body. A source acks on kCommitted and redelivers on kRetryLater.
struct UsageOutcome {
  enum class Kind : uint8_t {
    // Every accepted event is committed or was already stored (a duplicate); rejected lines
    // are in `batch`. Nothing more will come of this body.
    kCommitted,
    // More events than max_events_per_request: nothing stored, and the same body would fail
    // again (HTTP 413). `status` says why.
    kTooManyEvents,
    // Refused for now: a bounded queue was full (status ResourceExhausted; HTTP 429) or storage
    // could not commit (Unavailable; HTTP 503). Slices bound for other shards may have
    // committed, so resend the whole body later: what committed comes back as duplicates.
    kRetryLater,
  };
  Kind kind = Kind::kCommitted;
  Status status;  // OK for kCommitted; its message is the detail a source may show
  uint64_t accepted = 0;
  uint64_t duplicates = 0;
  // kCommitted: rejections (the first ingest::kMaxListedRejections listed, all counted). Points
  // into the request, so it is valid only while `done` runs; null for the other kinds.
  const ingest::UsageBatch* batch = nullptr;
};

struct UsageIntakeOptions {
  // Bodies parsing or waiting to parse at most; beyond it Submit answers kRetryLater /
  // ResourceExhausted at once, as a full shard queue does.
  size_t parse_queue_capacity = 64;
  int32_t retention_days = 35;  // too_old horizon (UsageParseOptions)
  size_t max_events_per_request = 500'000;
  // Runs a parse task on the parse stage (the meterd-parse-N pool), so a multi-megabyte body
  // never holds a source's own thread. Empty: parse on the calling thread.
  std::function<void(std::function<void()>)> parse_executor;
};

// One per daemon, shared by every source, so the parse bound is one bound. The engine must
// outlive it, and the parse executor must have run every task before it is destroyed.
class UsageIntake {
 public:
  using Done = std::function<void(const UsageOutcome&)>;

  UsageIntake(Engine* engine, UsageIntakeOptions options);
  UsageIntake(const UsageIntake&) = delete;
  UsageIntake& operator=(const UsageIntake&) = delete;

  // Takes the body (its spare capacity is reused as the parser's padding when large enough)
  // and calls `done` exactly once: on the calling thread when the parse stage is full, else
  // from a parse thread or a shard thread. Any thread; never blocks.
  void Submit(std::string body, Done done);

  // Bodies parsing or waiting to parse right now (any thread; for tests and diagnostics).
  size_t parsing() const { return parsing_.load(std::memory_order_relaxed); }

 private:
  void Parse(std::shared_ptr<UsageRequest> request, Done done);

  Engine* const engine_;
  const UsageIntakeOptions options_;
  std::atomic<size_t> parsing_{0};
};

}  // namespace meterd::core
