#include "daemon/core/usage_intake.h"

#include <memory>
#include <utility>

#include "daemon/ingest/json_fields.h"

namespace meterd::core {

UsageIntake::UsageIntake(Engine* engine, UsageIntakeOptions options)
    : engine_(engine), options_(std::move(options)) {}

void UsageIntake::Submit(std::string body, Done done) {
  // Take the slot first and give it back when over: two racing submitters may both be refused
  // at the edge, never both admitted beyond it.
  if (parsing_.fetch_add(1, std::memory_order_acq_rel) >= options_.parse_queue_capacity) {
    parsing_.fetch_sub(1, std::memory_order_acq_rel);
    engine_->mutable_counters().usage_rejected_busy.fetch_add(1, std::memory_order_relaxed);
    UsageOutcome outcome;
    outcome.kind = UsageOutcome::Kind::kRetryLater;
    outcome.status = Status::ResourceExhausted("usage parse queue full");
    done(outcome);
    return;
  }
  engine_->mutable_counters().usage_bodies_parsing.fetch_add(1, std::memory_order_relaxed);
  auto request = std::make_shared<UsageRequest>();
  request->body = std::move(body);
  if (!options_.parse_executor) {
    Parse(std::move(request), std::move(done));
    return;
  }
  // std::function needs a copyable task, hence the shared request rather than a unique one.
  options_.parse_executor([this, request = std::move(request), done = std::move(done)]() mutable {
    Parse(std::move(request), std::move(done));
  });
}

void UsageIntake::Parse(std::shared_ptr<UsageRequest> request, Done done) {
  thread_local ingest::UsageParser parser;
  ingest::UsageParseOptions options;
  options.now = engine_->Now();
  options.retention_days = options_.retention_days;
  options.max_events_per_request = options_.max_events_per_request;
  std::string& body = request->body;
  if (body.capacity() - body.size() < ingest::kJsonPadding) {
    body.reserve(body.size() + ingest::kJsonPadding);
  }
  Status st = parser.Parse(body, options, &request->batch);
  // Parsed: the slot goes back before the answer can, so a client that resends at once is not
  // refused by its own finished request.
  parsing_.fetch_sub(1, std::memory_order_acq_rel);
  Engine::Counters& counters = engine_->mutable_counters();
  counters.usage_bodies_parsing.fetch_sub(1, std::memory_order_relaxed);
  if (!st.ok()) {
    counters.usage_too_many_events.fetch_add(1, std::memory_order_relaxed);
    UsageOutcome outcome;
    outcome.kind = UsageOutcome::Kind::kTooManyEvents;
    outcome.status = std::move(st);
    done(outcome);
    return;
  }
  counters.events_rejected.fetch_add(request->batch.rejected_count(), std::memory_order_relaxed);
  for (size_t i = 0; i < ingest::kUsageErrorCount; ++i) {
    const size_t n = request->batch.rejected_count(static_cast<ingest::UsageError>(i));
    if (n > 0) counters.events_rejected_by_reason[i].fetch_add(n, std::memory_order_relaxed);
  }
  // The engine owns the request until its done ran, so the batch outlives this callback.
  const ingest::UsageBatch* batch = &request->batch;
  request->done = [done = std::move(done), batch](const Status& status, uint64_t accepted,
                                                  uint64_t duplicates) {
    UsageOutcome outcome;
    outcome.status = status;
    if (status.ok()) {
      outcome.kind = UsageOutcome::Kind::kCommitted;
      outcome.accepted = accepted;
      outcome.duplicates = duplicates;
      outcome.batch = batch;
    } else {
      outcome.kind = UsageOutcome::Kind::kRetryLater;
    }
    done(outcome);
  };
  engine_->SubmitUsage(std::move(request));
}

}  // namespace meterd::core
