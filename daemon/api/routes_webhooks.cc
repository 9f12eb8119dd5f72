// PUT/GET/DELETE /v1/webhooks/{webhook_id}: partner-scoped alert receivers (Standard Webhooks).
#include <algorithm>

#include <simdjson.h>

#include "daemon/api/api_internal.h"

namespace meterd::api::internal {
namespace {

using http::Request;
using http::Responder;

std::string WebhookJson(const webhooks::Webhook& w, bool with_secret) {
  std::string out;
  http::JsonWriter j(&out);
  j.BeginObject().Field("webhook_id", w.webhook_id).Field("partner_id", w.partner_id);
  j.Field("url", w.url);
  j.Key("kinds").BeginArray();
  for (rating::AlertKind k : w.kinds) j.String(rating::AlertKindName(k));
  j.EndArray();
  j.Field("disabled", w.disabled);
  if (w.disabled) j.Field("disabled_reason", w.disabled_reason);
  if (with_secret) j.Field("secret", w.secret);
  j.EndObject();
  return out;
}

// The partner a webhook call acts for: a partner token's own; an admin names one.
std::optional<std::string> ScopePartner(const auth::Principal& p, const Request& req,
                                        std::string_view body_partner, Responder& responder) {
  std::string partner = p.role == auth::Role::kPartner ? p.partner_id
                        : !body_partner.empty()
                            ? LowerId(body_partner)
                            : LowerId(req.query().Get("partner_id").value_or(""));
  if (partner.empty()) {
    SendProblem(responder, 422, "an admin must name the partner_id the webhook belongs to");
    return std::nullopt;
  }
  // Storage keys separate partner and webhook id with NUL: one inside either could make two
  // partners' webhooks share a key (the same guard as ingest's on reference ids).
  if (partner.find('\0') != std::string::npos ||
      req.path_param("webhook_id").find('\0') != std::string_view::npos) {
    SendProblem(responder, 422, "partner_id and webhook id may not contain a NUL character");
    return std::nullopt;
  }
  return partner;
}

void HandlePut(ApiContext* ctx, Request& req, Responder responder) {
  auto principal = Authorize(ctx, req, responder, auth::Action::kManageWebhooks);
  if (!principal) return;
  simdjson::dom::parser parser;
  std::optional<simdjson::dom::object> object = ParseJsonObjectBody(parser, req.body(), responder);
  if (!object) return;
  std::string url, partner_field;
  std::optional<std::string> secret;
  std::vector<rating::AlertKind> kinds;
  // A known field given twice is malformed, as in every other body: "last one wins" would let
  // a proxy that reads the first url see another receiver than the one stored.
  std::vector<std::string_view> seen;
  for (auto [key, value] : *object) {
    std::string_view s;
    const bool known = key == "url" || key == "secret" || key == "partner_id" || key == "kinds";
    if (known) {
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
        return SendProblem(responder, 400, std::string(key) + " is given twice");
      }
      seen.push_back(key);
    }
    if (key == "url" || key == "secret" || key == "partner_id") {
      if (value.is_null()) continue;
      if (value.get_string().get(s) != simdjson::SUCCESS) {
        return SendProblem(responder, 422, std::string(key) + " must be a string");
      }
      if (key == "url") url = std::string(s);
      else if (key == "secret") secret = std::string(s);
      else partner_field = std::string(s);
    } else if (key == "kinds") {
      if (value.is_null()) continue;
      simdjson::dom::array arr;
      if (value.get_array().get(arr) != simdjson::SUCCESS) {
        return SendProblem(responder, 422, "kinds must be an array of alert kinds");
      }
      for (auto k : arr) {
        std::optional<rating::AlertKind> kind;
        if (k.get_string().get(s) == simdjson::SUCCESS) kind = rating::ParseAlertKind(s);
        if (!kind) return SendProblem(responder, 422, "unknown alert kind in kinds");
        kinds.push_back(*kind);
      }
    }
  }
  if (url.empty()) return SendProblem(responder, 422, "url is required");
  auto partner = ScopePartner(*principal, req, partner_field, responder);
  if (!partner) return;
  std::string id(req.path_param("webhook_id"));
  OnControl(ctx, [ctx, partner = *partner, id, url, secret, kinds,
                  responder = std::move(responder)]() mutable {
    bool had = ctx->webhooks->Get(partner, id).ok();
    Result<webhooks::Webhook> w = ctx->webhooks->Put(partner, id, url, secret, kinds);
    if (!w.ok()) return SendStatus(responder, w.status());
    // The secret is shown once: when the server generated it.
    SendJson(responder, had ? 200 : 201, WebhookJson(*w, !secret.has_value() && !had));
  });
}

void HandleGet(ApiContext* ctx, Request& req, Responder responder) {
  auto principal = Authorize(ctx, req, responder, auth::Action::kManageWebhooks);
  if (!principal) return;
  auto partner = ScopePartner(*principal, req, {}, responder);
  if (!partner) return;
  Result<webhooks::Webhook> w = ctx->webhooks->Get(*partner, std::string(req.path_param("webhook_id")));
  if (!w.ok()) return SendProblem(responder, 404, "no such webhook");
  SendJson(responder, 200, WebhookJson(*w, false));
}

void HandleDelete(ApiContext* ctx, Request& req, Responder responder) {
  auto principal = Authorize(ctx, req, responder, auth::Action::kManageWebhooks);
  if (!principal) return;
  auto partner = ScopePartner(*principal, req, {}, responder);
  if (!partner) return;
  OnControl(ctx, [ctx, partner = *partner, id = std::string(req.path_param("webhook_id")),
                  responder = std::move(responder)]() mutable {
    Status st = ctx->webhooks->Delete(partner, id);
    if (!st.ok()) return SendStatus(responder, st);
    responder.Send(http::Response::NoContent());
  });
}

}  // namespace

void RegisterWebhookRoutes(http::Router& router, ApiContext* ctx) {
  auto add = [&](http::Verb verb, auto fn) {
    Status st = router.Add(verb, "/v1/webhooks/{webhook_id}",
                           [ctx, fn](Request& req, Responder r) { fn(ctx, req, std::move(r)); });
    if (!st.ok()) std::abort();
  };
  add(http::Verb::put, HandlePut);
  add(http::Verb::get, HandleGet);
  add(http::Verb::delete_, HandleDelete);
}

}  // namespace meterd::api::internal
