// Helpers shared by the route files of daemon/api (not part of the module's interface).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/post.hpp>
#include <simdjson.h>

#include "daemon/api/api.h"
#include "daemon/http/json_writer.h"
#include "daemon/http/problem.h"
#include "rating/civil_time.h"

namespace meterd::api::internal {

// Authenticates the request and checks the role may perform the route's action. On failure
// answers (401/403) through `responder` and returns nullopt.
std::optional<auth::Principal> Authorize(ApiContext* ctx, http::Request& req,
                                         http::Responder& responder, auth::Action action);

// The customer if it exists and the principal may see it; else answers 404 and returns null.
const rating::Customer* VisibleCustomer(const rating::ReferenceSnapshot& snap,
                                        const auth::Principal& principal, std::string_view id,
                                        http::Responder& responder);

// Sends a JSON answer.
void SendJson(http::Responder& responder, int status, std::string body);
void SendProblem(http::Responder& responder, int status, std::string_view detail,
                 std::string errors_json = {});
// Maps engine/storage failures: ResourceExhausted -> 429, Unavailable -> 503 (Retry-After),
// NotFound -> 404, InvalidArgument -> 422, others 500.
void SendStatus(http::Responder& responder, const Status& status);

// Before scanning the journaled databases (lines, unknown lines): waits until every commit so
// far is folded into them (storage/journal.h), so an acknowledged event is in the answer.
// Answers 503 and returns false when the fold does not finish in time.
bool AwaitFoldedStore(ApiContext* ctx, http::Responder& responder);

// ?month=YYYY-MM, default the month of now. Answers 400 and returns nullopt when malformed.
std::optional<rating::Month> MonthParam(const http::Request& req, rating::Timestamp now,
                                        http::Responder& responder);
// ?limit= (default 100, 1..10000). Answers 400 on a bad value.
std::optional<size_t> LimitParam(const http::Request& req, http::Responder& responder);
// Opaque cursors: hex of the last key returned.
std::string EncodeCursor(std::string_view key);
std::optional<std::string> DecodeCursor(std::string_view cursor);

// Parses a small JSON body that routes read through simdjson's DOM (tokens, webhooks) with the
// rules every body meets (docs/errors.md): at most ingest::kMaxJsonDepth levels of nesting and a
// JSON object at the top. Returns the object, which lives as long as `parser`; on failure
// answers 400 and returns nullopt. Callers still reject known fields given twice: the DOM keeps
// both, and "last one wins" would let two parsers on a request's path disagree about it.
std::optional<simdjson::dom::object> ParseJsonObjectBody(simdjson::dom::parser& parser,
                                                         std::string_view body,
                                                         http::Responder& responder);

// The lowercased form of a path id (ids are case-insensitive).
std::string LowerId(std::string_view id);

// Runs fn (move-only is fine) on the control thread.
template <typename Fn>
void OnControl(ApiContext* ctx, Fn&& fn) {
  boost::asio::post(*ctx->control, std::forward<Fn>(fn));
}

void RegisterAdminRoutes(http::Router& router, ApiContext* ctx);
void RegisterUsageRoutes(http::Router& router, ApiContext* ctx);
void RegisterCustomerRoutes(http::Router& router, ApiContext* ctx);
void RegisterAlertRoutes(http::Router& router, ApiContext* ctx);
// GET /v1/exports/daily, /v1/exports/recon, /v1/exports/focus (routes_exports.cc).
void RegisterExportRoutes(http::Router& router, ApiContext* ctx);

// The CSV form of GET /v1/customers/{id}/lines (Accept: text/csv): the customer's rated lines of
// `month` (of `date` alone when given) as the daily-rated usage file, whole (no cursor/limit),
// with the columns `principal` may see. REQUIRES: the caller already authorized kReadLines and
// checked the customer is visible to `principal`.
void RespondLinesCsv(ApiContext* ctx, const auth::Principal& principal,
                     const rating::Customer& customer, rating::Month month,
                     std::optional<rating::Date> date, http::Responder responder);
void RegisterWebhookRoutes(http::Router& router, ApiContext* ctx);
void RegisterOpenApiRoute(http::Router& router, ApiContext* ctx);

}  // namespace meterd::api::internal
