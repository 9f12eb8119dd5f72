// Admin routes: tokens, reference data (bulk and single objects), price sheets, FX.
#include <simdjson.h>

#include "daemon/api/api_internal.h"
#include "daemon/core/engine.h"
#include "daemon/ingest/reference_parser.h"
#include "storage/schema.h"

namespace meterd::api::internal {
namespace {

using http::Request;
using http::Responder;
using http::Verb;

std::string LoadResultJson(const core::LoadResult& r, bool rerated, bool currencies) {
  std::string out;
  http::JsonWriter w(&out);
  w.BeginObject();
  if (currencies) {
    w.Field("currencies", r.currencies);
  } else {
    w.Field("upserted", r.upserted).Field("rejected", r.rejected);
    w.Key("errors").BeginArray();
    for (const core::LoadError& e : r.errors) {
      w.BeginObject().Field("line", e.line).Field("error", e.error).Field("detail", e.detail).EndObject();
    }
    w.EndArray();
  }
  if (rerated) w.Field("rerated_lines", r.rerated_lines);
  w.EndObject();
  return out;
}

ingest::ReferenceParser& Parser() {
  thread_local ingest::ReferenceParser parser;
  return parser;
}

void SendParseError(Responder& responder, const Status& st) {
  SendProblem(responder, st.code() == ingest::kMalformedBody ? 400 : 422, st.message());
}

struct TokenRequest {
  std::string role, partner_id, mpn_id, name;
};

// {"role":..,"partner_id":..,"mpn_id":..,"name":..} from a parsed body: InvalidArgument (400)
// for a field that is not a string or a known field given twice. A repeated "role" must not
// quietly mean its last value: a proxy or audit log reading the first would see another role.
Result<TokenRequest> ParseTokenRequest(simdjson::dom::object object) {
  TokenRequest out;
  bool seen[4] = {};
  for (auto [key, value] : object) {
    const int index = key == "role"         ? 0
                      : key == "partner_id" ? 1
                      : key == "mpn_id"     ? 2
                      : key == "name"       ? 3
                                            : -1;
    if (index < 0) continue;
    if (seen[index]) return Status::InvalidArgument(std::string(key) + " is given twice");
    seen[index] = true;
    if (value.is_null()) continue;
    std::string_view s;
    if (value.get_string().get(s) != simdjson::SUCCESS) {
      return Status::InvalidArgument(std::string(key) + " must be a string");
    }
    std::string* fields[] = {&out.role, &out.partner_id, &out.mpn_id, &out.name};
    *fields[index] = std::string(s);
  }
  return out;
}

void HandleCreateToken(ApiContext* ctx, Request& req, Responder responder) {
  if (!Authorize(ctx, req, responder, auth::Action::kManageTokens)) return;
  simdjson::dom::parser json;
  std::optional<simdjson::dom::object> object = ParseJsonObjectBody(json, req.body(), responder);
  if (!object) return;
  Result<TokenRequest> parsed = ParseTokenRequest(*object);
  if (!parsed.ok()) {
    SendProblem(responder, 400, parsed.status().message());
    return;
  }
  std::optional<auth::Role> role = auth::ParseRole(parsed->role);
  if (!role) {
    SendProblem(responder, 422, "role must be admin, ingest, partner or reseller");
    return;
  }
  auth::TokenSpec spec{*role, LowerId(parsed->partner_id), LowerId(parsed->mpn_id), parsed->name};
  Status st = auth::NormalizeTokenSpec(&spec);
  if (!st.ok()) {
    SendProblem(responder, 422, st.message());
    return;
  }
  OnControl(ctx, [ctx, spec = std::move(spec), responder = std::move(responder)]() mutable {
    Result<auth::IssuedToken> issued = auth::IssueToken(spec, ctx->engine->Now());
    if (!issued.ok()) return SendStatus(responder, issued.status());
    const auth::TokenRecord& record = issued->record;
    Status st = ctx->writer->Execute([&record](storage::WriteTxn& txn) {
      std::string by_hash(1, static_cast<char>(storage::TokenKey::kByHash));
      by_hash.append(reinterpret_cast<const char*>(record.hash.data()), record.hash.size());
      std::string by_id(1, static_cast<char>(storage::TokenKey::kById));
      by_id.append(record.token_id);
      METERD_RETURN_IF_ERROR(txn.Put(storage::Db::kTokens, by_hash, auth::EncodeTokenRecord(record)));
      return txn.Put(storage::Db::kTokens, by_id, by_hash.substr(1));
    });
    if (st.ok()) st = ctx->tokens->Add(record);
    if (!st.ok()) return SendStatus(responder, Status::Unavailable(st.message()));
    std::string out;
    http::JsonWriter w(&out);
    w.BeginObject().Field("token_id", record.token_id).Field("token", issued->secret);
    w.Field("role", auth::RoleName(record.role));
    if (!record.partner_id.empty()) w.Field("partner_id", record.partner_id);
    if (!record.mpn_id.empty()) w.Field("mpn_id", record.mpn_id);
    w.EndObject();
    SendJson(responder, 201, std::move(out));
  });
}

void HandleDeleteToken(ApiContext* ctx, Request& req, Responder responder) {
  if (!Authorize(ctx, req, responder, auth::Action::kManageTokens)) return;
  std::string token_id(req.path_param("token_id"));
  OnControl(ctx, [ctx, token_id, responder = std::move(responder)]() mutable {
    if (!ctx->tokens->Find(token_id)) return SendProblem(responder, 404, "no such token");
    Status st = ctx->writer->Execute([&token_id](storage::WriteTxn& txn) {
      std::string by_id(1, static_cast<char>(storage::TokenKey::kById));
      by_id.append(token_id);
      std::string hash;
      Status got = txn.Get(storage::Db::kTokens, by_id, &hash);
      if (!got.ok()) return got;
      std::string by_hash(1, static_cast<char>(storage::TokenKey::kByHash));
      by_hash.append(hash);
      METERD_RETURN_IF_ERROR(txn.Delete(storage::Db::kTokens, by_hash));
      return txn.Delete(storage::Db::kTokens, by_id);
    });
    if (st.ok() || st.code() == StatusCode::kNotFound) st = ctx->tokens->Revoke(token_id);
    if (!st.ok()) return SendStatus(responder, st);
    responder.Send(http::Response::NoContent());
  });
}

void HandleReference(ApiContext* ctx, Request& req, Responder responder) {
  if (!Authorize(ctx, req, responder, auth::Action::kManageReference)) return;
  auto body = std::make_shared<std::string>(std::move(req.body()));
  OnControl(ctx, [ctx, body, responder = std::move(responder)]() mutable {
    ingest::ReferenceBatch batch;
    Parser().ParseNdjson(*body, &batch);
    core::LoadResult r = ctx->engine->LoadReference(batch);
    SendJson(responder, 200, LoadResultJson(r, /*rerated=*/true, false));
  });
}

void HandleEntity(ApiContext* ctx, ingest::EntityType type, Request& req, Responder responder) {
  if (!Authorize(ctx, req, responder, auth::Action::kManageReference)) return;
  Result<ingest::ReferenceEntity> entity =
      Parser().ParseEntity(type, req.path_param("id"), req.body());
  if (!entity.ok()) return SendParseError(responder, entity.status());
  OnControl(ctx, [ctx, entity = std::move(*entity), responder = std::move(responder)]() mutable {
    Result<core::LoadResult> r = ctx->engine->LoadEntity(entity);
    if (!r.ok()) {
      if (r.status().code() == StatusCode::kInvalidArgument) {
        return SendProblem(responder, 422, r.status().message());
      }
      return SendStatus(responder, r.status());
    }
    std::string out;
    http::JsonWriter w(&out);
    w.BeginObject().Field("upserted", 1).Field("rerated_lines", r->rerated_lines).EndObject();
    SendJson(responder, 200, std::move(out));
  });
}

void HandlePriceSheet(ApiContext* ctx, Request& req, Responder responder) {
  if (!Authorize(ctx, req, responder, auth::Action::kManageReference)) return;
  auto body = std::make_shared<std::string>(std::move(req.body()));
  OnControl(ctx, [ctx, body, responder = std::move(responder)]() mutable {
    core::LoadResult r = ctx->engine->LoadPriceSheet(*body);
    SendJson(responder, 200, LoadResultJson(r, /*rerated=*/true, false));
  });
}

void HandleFx(ApiContext* ctx, Request& req, Responder responder) {
  if (!Authorize(ctx, req, responder, auth::Action::kManageReference)) return;
  rating::Month month;
  if (!rating::ParseMonth(req.path_param("month"), &month)) {
    return SendProblem(responder, 400, "the path must name a month as YYYY-MM");
  }
  Result<ingest::FxBody> fx = Parser().ParseFx(req.body());
  if (!fx.ok()) return SendParseError(responder, fx.status());
  OnControl(ctx, [ctx, month, fx = std::move(*fx), responder = std::move(responder)]() mutable {
    Result<core::LoadResult> r = ctx->engine->LoadFx(month, fx);
    if (!r.ok()) {
      if (r.status().code() == StatusCode::kInvalidArgument) {
        return SendProblem(responder, 422, r.status().message());
      }
      return SendStatus(responder, r.status());
    }
    SendJson(responder, 200, LoadResultJson(*r, /*rerated=*/true, /*currencies=*/true));
  });
}

}  // namespace

void RegisterAdminRoutes(http::Router& router, ApiContext* ctx) {
  http::RouteOptions bulk{http::BodyLimit::kBulk};
  auto add = [&](Verb verb, std::string_view pattern, auto fn, http::RouteOptions opts = {}) {
    Status st = router.Add(verb, pattern, [ctx, fn](Request& req, Responder r) { fn(ctx, req, std::move(r)); }, opts);
    if (!st.ok()) std::abort();  // a malformed pattern is a programming error
  };
  add(Verb::post, "/v1/tokens", HandleCreateToken);
  add(Verb::delete_, "/v1/tokens/{token_id}", HandleDeleteToken);
  add(Verb::post, "/v1/reference", HandleReference, bulk);
  add(Verb::post, "/v1/pricesheet", HandlePriceSheet, bulk);
  add(Verb::put, "/v1/fx/{month}", HandleFx);
  struct EntityRoute {
    std::string_view pattern;
    ingest::EntityType type;
  };
  for (EntityRoute r : {EntityRoute{"/v1/partners/{id}", ingest::EntityType::kPartner},
                        EntityRoute{"/v1/resellers/{id}", ingest::EntityType::kReseller},
                        EntityRoute{"/v1/customers/{id}", ingest::EntityType::kCustomer},
                        EntityRoute{"/v1/entitlements/{id}", ingest::EntityType::kEntitlement},
                        EntityRoute{"/v1/grants/{id}", ingest::EntityType::kGrant}}) {
    ingest::EntityType type = r.type;
    Status st = router.Add(Verb::put, r.pattern, [ctx, type](Request& req, Responder resp) {
      HandleEntity(ctx, type, req, std::move(resp));
    });
    if (!st.ok()) std::abort();
  }
}

}  // namespace meterd::api::internal
