// GET /v1/alerts: the alert feed in commit order with a resumable cursor and long-poll `wait`.
// Waiting runs on Asio timers, so a long-poller never holds an I/O thread.
#include <boost/asio/steady_timer.hpp>

#include "daemon/api/api_internal.h"
#include "daemon/core/records.h"
#include "storage/schema.h"

namespace meterd::api::internal {
namespace {

using http::Request;
using http::Responder;

struct AlertQuery {
  auth::Principal principal;
  uint64_t after = 0;
  size_t limit = 100;
};

// Appends visible alerts after q.after; returns how many and the new cursor.
Status ScanAlerts(ApiContext* ctx, const AlertQuery& q, std::string* out, size_t* count,
                  uint64_t* cursor) {
  auto snap = ctx->engine->snapshot();
  auth::FieldVisibility vis = auth::FieldVisibility::For(q.principal);
  Result<storage::ReadTxn> txn = ctx->env->BeginRead();
  if (!txn.ok()) return Status::Unavailable(txn.status().message());
  storage::KeyBuilder kb;
  storage::keys::Sequence(&kb, q.after + 1);
  *cursor = q.after;
  *count = 0;
  core::StoredAlert alert;
  Status decode_status;
  Status st = txn->Scan(storage::Db::kAlerts, kb.view(), storage::ScanBound::None(),
                        [&](std::string_view k, std::string_view v) {
    if (*count == q.limit || k.size() != 8) return storage::ScanStep::kStop;
    uint64_t seq = (uint64_t{storage::GetU32BE(k.data())} << 32) | storage::GetU32BE(k.data() + 4);
    decode_status = core::DecodeAlert(v, &alert);
    if (!decode_status.ok()) return storage::ScanStep::kStop;
    *cursor = seq;
    const rating::Customer* c = snap->FindCustomer(alert.customer_id);
    if (!c || !auth::MayAccessCustomer(q.principal, *c) || !vis.alert(alert.kind, alert.basis)) {
      return storage::ScanStep::kContinue;
    }
    if (*count > 0) out->push_back(',');
    out->append("{\"id\":\"");
    out->append(core::AlertId(seq));
    out->append("\",");
    out->append(alert.json_members);
    out->push_back('}');
    ++*count;
    return storage::ScanStep::kContinue;
  });
  if (!st.ok()) return st;
  return decode_status;
}

struct LongPoll : std::enable_shared_from_this<LongPoll> {
  ApiContext* ctx;
  AlertQuery query;
  Responder responder;
  std::chrono::steady_clock::time_point deadline;
  uint64_t epoch;
  std::unique_ptr<boost::asio::steady_timer> timer;

  void Answer(const std::string& body_items, uint64_t cursor) {
    std::string out = "{\"alerts\":[" + body_items + "],\"next_cursor\":\"" +
                      std::to_string(cursor) + "\"}";
    SendJson(responder, 200, std::move(out));
  }

  void Poll() {
    std::string items;
    size_t count = 0;
    uint64_t cursor = 0;
    Status st = ScanAlerts(ctx, query, &items, &count, &cursor);
    if (!st.ok()) return SendStatus(responder, st);
    if (count > 0 || std::chrono::steady_clock::now() >= deadline) return Answer(items, cursor);
    // Invisible alerts still advance where the next scan starts.
    query.after = cursor;
    epoch = ctx->engine->alert_epoch();
    Arm();
  }

  void Arm() {
    timer->expires_after(std::chrono::milliseconds(20));
    timer->async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (ec) return self->Answer("", self->query.after);
      if (self->ctx->engine->alert_epoch() == self->epoch &&
          std::chrono::steady_clock::now() < self->deadline) {
        return self->Arm();
      }
      self->Poll();
    });
  }
};

void HandleAlerts(ApiContext* ctx, Request& req, Responder responder) {
  auto principal = Authorize(ctx, req, responder, auth::Action::kReadAlerts);
  if (!principal) return;
  AlertQuery q;
  q.principal = std::move(*principal);
  auto limit = LimitParam(req, responder);
  if (!limit) return;
  q.limit = *limit;
  auto parse_uint = [](std::string_view s, uint64_t* v) {
    if (s.empty() || s.size() > 19) return false;
    *v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      *v = *v * 10 + static_cast<uint64_t>(c - '0');
    }
    return true;
  };
  if (auto after = req.query().Get("after"); after && !after->empty()) {
    if (!parse_uint(*after, &q.after)) return SendProblem(responder, 400, "bad cursor in after");
  }
  uint64_t wait = 0;
  if (auto w = req.query().Get("wait")) {
    if (!parse_uint(*w, &wait) || wait > 60) {
      return SendProblem(responder, 400, "wait must be whole seconds from 0 to 60");
    }
  }
  auto poll = std::make_shared<LongPoll>();
  poll->ctx = ctx;
  poll->query = std::move(q);
  poll->responder = std::move(responder);
  poll->deadline = std::chrono::steady_clock::now() + std::chrono::seconds(wait);
  poll->timer = std::make_unique<boost::asio::steady_timer>(ctx->io_executor());
  poll->Poll();
}

}  // namespace

void RegisterAlertRoutes(http::Router& router, ApiContext* ctx) {
  Status st = router.Add(http::Verb::get, "/v1/alerts",
                         [ctx](Request& req, Responder r) { HandleAlerts(ctx, req, std::move(r)); });
  if (!st.ok()) std::abort();
}

}  // namespace meterd::api::internal
