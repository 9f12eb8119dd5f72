#include "daemon/api/api.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include <boost/asio/post.hpp>

#include "daemon/api/api_internal.h"
#include "daemon/ingest/json_fields.h"
#include "daemon/lifecycle/log.h"
#include "storage/schema.h"

namespace meterd::api {
namespace internal {

std::optional<auth::Principal> Authorize(ApiContext* ctx, http::Request& req,
                                         http::Responder& responder, auth::Action action) {
  Result<auth::Principal> principal = ctx->tokens->Authenticate(req.header("Authorization"));
  if (!principal.ok()) {
    responder.Send(http::MakeProblem(http::Problem{
                       401, "Unauthorized", "a valid bearer token is required", "about:blank", {}, {}})
                       .WithHeader("WWW-Authenticate", "Bearer"));
    return std::nullopt;
  }
  if (!auth::RoleMayPerform(principal->role, action)) {
    SendProblem(responder, 403,
                std::string("role ") + std::string(auth::RoleName(principal->role)) +
                    " may not " + std::string(auth::ActionName(action)));
    return std::nullopt;
  }
  return std::move(*principal);
}

const rating::Customer* VisibleCustomer(const rating::ReferenceSnapshot& snap,
                                        const auth::Principal& principal, std::string_view id,
                                        http::Responder& responder) {
  const rating::Customer* c = snap.FindCustomer(id);
  if (!c || !auth::MayAccessCustomer(principal, *c)) {
    SendProblem(responder, 404, "no such customer");
    return nullptr;
  }
  return c;
}

void SendJson(http::Responder& responder, int status, std::string body) {
  responder.Send(http::Response::Json(status, std::move(body)));
}

void SendProblem(http::Responder& responder, int status, std::string_view detail,
                 std::string errors_json) {
  http::Problem p;
  p.status = status;
  p.detail = std::string(detail);
  p.errors_json = std::move(errors_json);
  responder.Send(http::MakeProblem(p));
}

bool AwaitFoldedStore(ApiContext* ctx, http::Responder& responder) {
  if (ctx->writer == nullptr) return true;
  // Under full ingest a whole-journal fold takes a few hundred milliseconds; this bound only
  // catches a wedged writer.
  Status st = ctx->writer->WaitFolded(std::chrono::seconds(10));
  if (st.ok()) return true;
  SendStatus(responder, Status::Unavailable(st.message()));
  return false;
}

void SendStatus(http::Responder& responder, const Status& status) {
  switch (status.code()) {
    case StatusCode::kResourceExhausted:
      responder.Send(http::TooManyRequests(std::chrono::seconds(1), status.message()));
      return;
    case StatusCode::kUnavailable:
      responder.Send(http::ServiceUnavailable(std::chrono::seconds(1), status.message()));
      return;
    case StatusCode::kNotFound:
      SendProblem(responder, 404, status.message());
      return;
    case StatusCode::kInvalidArgument:
      SendProblem(responder, 422, status.message());
      return;
    default:
      SendProblem(responder, 500, status.message());
      return;
  }
}

std::optional<rating::Month> MonthParam(const http::Request& req, rating::Timestamp now,
                                        http::Responder& responder) {
  std::optional<std::string_view> text = req.query().Get("month");
  if (!text) return rating::MonthOf(rating::DateOf(now));
  rating::Month m;
  if (!rating::ParseMonth(*text, &m)) {
    SendProblem(responder, 400, "month must be YYYY-MM");
    return std::nullopt;
  }
  if (!rating::MonthHasTimestamps(m)) {
    SendProblem(responder, 400, "month must lie between 1677-10 and 2262-03");
    return std::nullopt;
  }
  return m;
}

std::optional<size_t> LimitParam(const http::Request& req, http::Responder& responder) {
  std::optional<std::string_view> text = req.query().Get("limit");
  if (!text) return 100;
  size_t v = 0;
  if (text->empty() || text->size() > 6) {
    SendProblem(responder, 400, "limit must be an integer from 1 to 10000");
    return std::nullopt;
  }
  for (char c : *text) {
    if (c < '0' || c > '9') {
      SendProblem(responder, 400, "limit must be an integer from 1 to 10000");
      return std::nullopt;
    }
    v = v * 10 + static_cast<size_t>(c - '0');
  }
  if (v < 1 || v > 10000) {
    SendProblem(responder, 400, "limit must be an integer from 1 to 10000");
    return std::nullopt;
  }
  return v;
}

std::string EncodeCursor(std::string_view key) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(key.size() * 2);
  for (unsigned char c : key) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::optional<std::string> DecodeCursor(std::string_view cursor) {
  if (cursor.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (size_t i = 0; i < cursor.size(); i += 2) {
    int hi = nibble(cursor[i]), lo = nibble(cursor[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

std::optional<simdjson::dom::object> ParseJsonObjectBody(simdjson::dom::parser& parser,
                                                         std::string_view body,
                                                         http::Responder& responder) {
  // allocate() sets the depth limit with the capacity; parse() keeps it (it would only grow).
  simdjson::dom::element doc;
  simdjson::dom::object object;
  if (parser.allocate(std::max<size_t>(body.size(), 64), ingest::kMaxJsonDepth) !=
          simdjson::SUCCESS ||
      parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(object) != simdjson::SUCCESS) {
    SendProblem(responder, 400,
                "body must be one JSON object (UTF-8, nested at most 32 levels deep)");
    return std::nullopt;
  }
  return object;
}

std::string LowerId(std::string_view id) { return rating::LowercaseAscii(id); }

}  // namespace internal

Status RegisterRoutes(http::Router& router, ApiContext* context) {
  internal::RegisterAdminRoutes(router, context);
  internal::RegisterUsageRoutes(router, context);
  internal::RegisterCustomerRoutes(router, context);
  internal::RegisterAlertRoutes(router, context);
  internal::RegisterWebhookRoutes(router, context);
  internal::RegisterOpenApiRoute(router, context);
  internal::RegisterExportRoutes(router, context);
  return Status::Ok();
}

Result<std::optional<std::string>> BootstrapTokens(ApiContext* ctx) {
  std::vector<auth::TokenRecord> records;
  {
    Result<storage::ReadTxn> txn = ctx->env->BeginRead();
    if (!txn.ok()) return txn.status();
    std::string prefix(1, static_cast<char>(storage::TokenKey::kByHash));
    Status decode_status;
    Status st = txn->ScanPrefix(storage::Db::kTokens, prefix, [&](std::string_view, std::string_view v) {
      Result<auth::TokenRecord> rec = auth::DecodeTokenRecord(v);
      if (!rec.ok()) {
        decode_status = rec.status();
        return storage::ScanStep::kStop;
      }
      records.push_back(std::move(*rec));
      return storage::ScanStep::kContinue;
    });
    if (!st.ok()) return st;
    if (!decode_status.ok()) return decode_status;
  }
  if (!records.empty()) {
    METERD_RETURN_IF_ERROR(ctx->tokens->Load(std::move(records)));
    return std::optional<std::string>();
  }
  Result<auth::IssuedToken> issued =
      auth::IssueToken(auth::TokenSpec{auth::Role::kAdmin, {}, {}, "bootstrap admin"}, ctx->engine->Now());
  if (!issued.ok()) return issued.status();
  std::string path = ctx->config->storage.data_dir + "/admin.token";
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError("cannot write " + tmp);
  std::string content = issued->secret + "\n";
  bool ok = ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) return Status::IoError("cannot write " + path);
  const auth::TokenRecord record = issued->record;
  METERD_RETURN_IF_ERROR(ctx->writer->Execute([&record](storage::WriteTxn& txn) {
    std::string by_hash(1, static_cast<char>(storage::TokenKey::kByHash));
    by_hash.append(reinterpret_cast<const char*>(record.hash.data()), record.hash.size());
    std::string by_id(1, static_cast<char>(storage::TokenKey::kById));
    by_id.append(record.token_id);
    METERD_RETURN_IF_ERROR(txn.Put(storage::Db::kTokens, by_hash, auth::EncodeTokenRecord(record)));
    return txn.Put(storage::Db::kTokens, by_id, by_hash.substr(1));
  }));
  METERD_RETURN_IF_ERROR(ctx->tokens->Add(record));
  return std::optional<std::string>(path);
}

}  // namespace meterd::api
