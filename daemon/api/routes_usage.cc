// POST /v1/usage: authorize on the I/O thread, parse on the ingest pool, hand the batch to the
// shards, answer after commit.
#include <boost/asio/post.hpp>

#include "daemon/api/api_internal.h"
#include "daemon/ingest/usage_parser.h"

namespace meterd::api::internal {
namespace {

void ParseAndSubmit(ApiContext* ctx, std::shared_ptr<core::UsageRequest> request,
                    http::Responder responder);

void HandleUsage(ApiContext* ctx, http::Request& req, http::Responder responder) {
  if (!Authorize(ctx, req, responder, auth::Action::kIngestUsage)) return;
  auto request = std::make_shared<core::UsageRequest>();
  request->body = std::move(req.body());  // keeps the padded capacity the parser reads into
  if (ctx->ingest == nullptr) {
    ParseAndSubmit(ctx, std::move(request), std::move(responder));
    return;
  }
  auto shared_responder = std::make_shared<http::Responder>(std::move(responder));
  boost::asio::post(*ctx->ingest, [ctx, request = std::move(request), shared_responder]() mutable {
    ParseAndSubmit(ctx, std::move(request), std::move(*shared_responder));
  });
}

void ParseAndSubmit(ApiContext* ctx, std::shared_ptr<core::UsageRequest> request,
                    http::Responder responder) {
  thread_local ingest::UsageParser parser;
  ingest::UsageParseOptions options;
  options.now = ctx->engine->Now();
  options.retention_days = ctx->config->rating.dedupe_retention_days;
  options.max_events_per_request = static_cast<size_t>(ctx->config->ingest.max_events_per_request);
  http::EnsureBodyPadding(request->body);
  Status st = parser.Parse(request->body, options, &request->batch);
  core::Engine::Counters& counters = ctx->engine->mutable_counters();
  if (!st.ok()) {
    counters.usage_too_many_events.fetch_add(1, std::memory_order_relaxed);
    SendProblem(responder, 413, st.message());
    return;
  }
  counters.events_rejected.fetch_add(request->batch.rejected_count(), std::memory_order_relaxed);
  for (size_t i = 0; i < ingest::kUsageErrorCount; ++i) {
    const size_t n = request->batch.rejected_count(static_cast<ingest::UsageError>(i));
    if (n > 0) counters.events_rejected_by_reason[i].fetch_add(n, std::memory_order_relaxed);
  }
  auto shared_responder = std::make_shared<http::Responder>(std::move(responder));
  core::UsageRequest* raw = request.get();
  request->done = [shared_responder, raw](const Status& status, uint64_t accepted,
                                          uint64_t duplicates) {
    if (!status.ok()) {
      SendStatus(*shared_responder, status);
      return;
    }
    std::string out;
    out.reserve(128 + raw->batch.rejections().size() * 96);
    http::JsonWriter w(&out);
    w.BeginObject();
    w.Field("accepted", accepted).Field("duplicates", duplicates);
    w.Field("rejected", static_cast<uint64_t>(raw->batch.rejected_count()));
    w.Key("errors").BeginArray();
    for (const ingest::UsageRejection& r : raw->batch.rejections()) {
      w.BeginObject().Field("line", r.line);
      if (r.id) w.Field("id", *r.id); else w.Field("id", nullptr);
      w.Field("error", ingest::UsageErrorName(r.error)).Field("detail", r.detail);
      w.EndObject();
    }
    w.EndArray().EndObject();
    SendJson(*shared_responder, 200, std::move(out));
  };
  ctx->engine->SubmitUsage(std::move(request));
}

}  // namespace

void RegisterUsageRoutes(http::Router& router, ApiContext* ctx) {
  Status st = router.Add(
      http::Verb::post, "/v1/usage",
      [ctx](http::Request& req, http::Responder r) { HandleUsage(ctx, req, std::move(r)); },
      http::RouteOptions{http::BodyLimit::kBulk});
  if (!st.ok()) std::abort();
}

}  // namespace meterd::api::internal
