// POST /v1/usage: the HTTP source of the usage intake (daemon/core/usage_intake.h). Authorizes
// on the I/O thread and turns the intake's outcome into the answer: the JSON summary after the
// commit, 413, or 429/503 with Retry-After. Parsing, the parse bound and the hand-over to the
// shards belong to the intake, so a second source shares them instead of copying this file.
#include <boost/asio/post.hpp>

#include "daemon/api/api_internal.h"
#include "daemon/core/usage_intake.h"

namespace meterd::api::internal {
namespace {

void Answer(http::Responder& responder, const core::UsageOutcome& outcome) {
  switch (outcome.kind) {
    case core::UsageOutcome::Kind::kTooManyEvents:
      SendProblem(responder, 413, outcome.status.message());
      return;
    case core::UsageOutcome::Kind::kRetryLater:
      SendStatus(responder, outcome.status);  // 429 or 503, both with Retry-After
      return;
    case core::UsageOutcome::Kind::kCommitted:
      break;
  }
  const ingest::UsageBatch& batch = *outcome.batch;
  std::string out;
  out.reserve(128 + batch.rejections().size() * 96);
  http::JsonWriter w(&out);
  w.BeginObject();
  w.Field("accepted", outcome.accepted).Field("duplicates", outcome.duplicates);
  w.Field("rejected", static_cast<uint64_t>(batch.rejected_count()));
  w.Key("errors").BeginArray();
  for (const ingest::UsageRejection& r : batch.rejections()) {
    w.BeginObject().Field("line", r.line);
    if (r.id) w.Field("id", *r.id); else w.Field("id", nullptr);
    w.Field("error", ingest::UsageErrorName(r.error)).Field("detail", r.detail);
    w.EndObject();
  }
  w.EndArray().EndObject();
  SendJson(responder, 200, std::move(out));
}

void HandleUsage(ApiContext* ctx, core::UsageIntake* intake, http::Request& req,
                 http::Responder responder) {
  if (!Authorize(ctx, req, responder, auth::Action::kIngestUsage)) return;
  std::string body = std::move(req.body());  // keeps the padded capacity the parser reads into
  // The intake's callback must be copyable (std::function); the Responder is move-only.
  auto shared_responder = std::make_shared<http::Responder>(std::move(responder));
  intake->Submit(std::move(body), [shared_responder](const core::UsageOutcome& outcome) {
    Answer(*shared_responder, outcome);
  });
}

}  // namespace

void RegisterUsageRoutes(http::Router& router, ApiContext* ctx) {
  core::UsageIntakeOptions options;
  options.parse_queue_capacity = static_cast<size_t>(ctx->config->ingest.parse_queue_capacity);
  options.retention_days = ctx->config->rating.dedupe_retention_days;
  options.max_events_per_request = static_cast<size_t>(ctx->config->ingest.max_events_per_request);
  if (ctx->ingest != nullptr) {
    options.parse_executor = [pool = ctx->ingest](std::function<void()> task) {
      boost::asio::post(*pool, std::move(task));
    };
  }
  // The only intake of the daemon today, owned by the route (the router outlives every request
  // and main joins the parse pool before the router goes). Shared only because a Handler is a
  // copyable std::function; a second source will need it owned by main and passed to both.
  auto intake = std::make_shared<core::UsageIntake>(ctx->engine, std::move(options));
  Status st = router.Add(
      http::Verb::post, "/v1/usage",
      [ctx, intake](http::Request& req, http::Responder r) {
        HandleUsage(ctx, intake.get(), req, std::move(r));
      },
      http::RouteOptions{http::BodyLimit::kBulk});
  if (!st.ok()) std::abort();
}

}  // namespace meterd::api::internal
