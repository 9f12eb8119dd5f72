// Partner-facing reads and budgets: customers, spend, the spending overview, lines, budgets,
// unknown usage. Reads copy out of short LMDB read transactions on the I/O thread.
#include <algorithm>
#include <functional>

#include "daemon/api/api_internal.h"
#include "daemon/core/records.h"
#include "daemon/ingest/reference_parser.h"
#include "storage/journal.h"
#include "storage/schema.h"

namespace meterd::api::internal {
namespace {

using http::Request;
using http::Responder;
using http::Verb;
using rating::Decimal;
namespace keys = storage::keys;

// ?cursor= decoded ("" when absent); answers 400 and returns nullopt when malformed.
std::optional<std::string> CursorParam(const Request& req, Responder& responder) {
  std::optional<std::string_view> text = req.query().Get("cursor");
  if (!text) return std::string();
  std::optional<std::string> decoded = DecodeCursor(*text);
  if (!decoded) SendProblem(responder, 400, "bad cursor");
  return decoded;
}

// The smallest key that sorts after `key`, where a scan resumes after a cursor. Appending a
// NUL is that key unless `key` already has the maximum size (a line key whose resource URI was
// truncated to fit): then no longer key exists, so the successor is `key` with its last
// non-0xFF byte incremented. nullopt when nothing can follow, or when `key` is longer than any
// stored key (a forged cursor: the scan would refuse it).
std::optional<std::string> KeyAfter(std::string key) {
  if (key.size() < storage::kMaxKeySize) {
    key.push_back('\0');
    return key;
  }
  if (key.size() > storage::kMaxKeySize) return std::nullopt;
  while (!key.empty() && static_cast<unsigned char>(key.back()) == 0xff) key.pop_back();
  if (key.empty()) return std::nullopt;
  key.back() = static_cast<char>(static_cast<unsigned char>(key.back()) + 1);
  return key;
}

void WriteBudgetObject(http::JsonWriter& w, const rating::Budget& b) {
  w.BeginObject();
  w.Field("amount", b.amount).Field("basis", rating::BasisName(b.basis));
  w.Key("thresholds").BeginArray();
  for (Decimal t : b.thresholds) w.RawValue(rating::FormatThreshold(t));
  w.EndArray();
  w.Key("forecast_thresholds").BeginArray();
  for (Decimal t : b.forecast_thresholds) w.RawValue(rating::FormatThreshold(t));
  w.EndArray();
  w.EndObject();
}

struct CustomerMonthState {
  core::StoredTotals totals;
  bool has_totals = false;
  std::optional<rating::Budget> budget;
};

Status ReadCustomerMonth(storage::ReadTxn& txn, const rating::Customer& c, rating::Month month,
                         CustomerMonthState* out) {
  storage::KeyBuilder kb;
  keys::Totals(&kb, c.customer_id, static_cast<uint32_t>(month.index));
  std::string value;
  Status st = txn.Get(storage::Db::kTotals, kb.view(), &value);
  if (st.ok()) {
    METERD_RETURN_IF_ERROR(core::DecodeTotals(value, &out->totals));
    out->has_totals = true;
  } else if (st.code() != StatusCode::kNotFound) {
    return st;
  }
  kb.Clear();
  kb.AddTrailingString(c.customer_id);
  st = txn.Get(storage::Db::kBudgets, kb.view(), &value);
  if (st.ok()) {
    rating::Budget b;
    METERD_RETURN_IF_ERROR(core::DecodeBudget(value, &b));
    out->budget = std::move(b);
  } else if (st.code() != StatusCode::kNotFound) {
    return st;
  }
  return Status::Ok();
}

// One page of the customers `principal` may see, in id order after the cursor `after` (advanced
// to the last customer written). Returns the next page's cursor, or nullopt on the last page;
// `write` may fail (a store read), which ends the page with that status.
Result<std::optional<std::string>> ForEachVisibleCustomer(
    const rating::ReferenceSnapshot& snap, const auth::Principal& principal, std::string* after,
    size_t limit, const std::function<Status(const rating::Customer&)>& write) {
  size_t n = 0;
  for (const rating::Customer* c : snap.Customers()) {
    if (!after->empty() && c->customer_id <= *after) continue;
    if (!auth::MayAccessCustomer(principal, *c)) continue;
    if (n == limit) return std::optional<std::string>(EncodeCursor(*after));
    METERD_RETURN_IF_ERROR(write(*c));
    *after = c->customer_id;
    ++n;
  }
  return std::optional<std::string>();
}

void HandleListCustomers(ApiContext* ctx, Request& req, Responder responder) {
  auto principal = Authorize(ctx, req, responder, auth::Action::kReadCustomers);
  if (!principal) return;
  auto limit = LimitParam(req, responder);
  if (!limit) return;
  std::optional<std::string> after = CursorParam(req, responder);
  if (!after) return;
  auto snap = ctx->engine->snapshot();
  std::string out;
  http::JsonWriter w(&out);
  w.BeginObject().Key("customers").BeginArray();
  Result<std::optional<std::string>> next = ForEachVisibleCustomer(
      *snap, *principal, &*after, *limit, [&](const rating::Customer& c) {
        w.BeginObject().Field("customer_id", c.customer_id).Field("name", c.name);
        w.Field("country", c.country).Field("currency", snap->BillingCurrency(c));
        w.Field("partner_id", c.partner_id);
        if (c.reseller_mpn_id) w.Field("reseller_mpn_id", *c.reseller_mpn_id);
        else w.Field("reseller_mpn_id", nullptr);
        w.EndObject();
        return Status::Ok();
      });
  if (!next.ok()) return SendStatus(responder, next.status());
  w.EndArray();
  if (*next) w.Field("next_cursor", **next); else w.Field("next_cursor", nullptr);
  w.EndObject();
  SendJson(responder, 200, std::move(out));
}

void HandleSpend(ApiContext* ctx, Request& req, Responder responder) {
  auto principal = Authorize(ctx, req, responder, auth::Action::kReadSpend);
  if (!principal) return;
  auto snap = ctx->engine->snapshot();
  const rating::Customer* c = VisibleCustomer(*snap, *principal, LowerId(req.path_param("id")), responder);
  if (!c) return;
  rating::Timestamp now = ctx->engine->Now();
  auto month = MonthParam(req, now, responder);
  if (!month) return;
  Result<storage::ReadTxn> txn = ctx->env->BeginRead();
  if (!txn.ok()) return SendStatus(responder, Status::Unavailable(txn.status().message()));
  CustomerMonthState state;
  Status st = ReadCustomerMonth(*txn, *c, *month, &state);
  txn = Status::Internal("released");
  if (!st.ok()) return SendStatus(responder, st);
  auth::FieldVisibility vis = auth::FieldVisibility::For(*principal);
  const rating::MonthTotals& t = state.totals.totals;
  std::optional<rating::Basis> budget_basis;
  if (state.budget) budget_basis = state.budget->basis;
  rating::Basis basis = vis.spend_basis(budget_basis);
  Decimal spend = rating::SpendOnBasis(basis, t.list, t.billed);
  std::string currency = state.has_totals && !t.currency.empty() ? std::string(t.currency.view())
                                                                   : std::string(snap->BillingCurrency(*c));
  std::string out;
  http::JsonWriter w(&out);
  w.BeginObject();
  w.Field("customer_id", c->customer_id).Field("month", rating::FormatMonth(*month));
  w.Field("currency", currency);
  w.Field("list", t.list);
  if (vis.wholesale()) w.Field("pec", t.pec).Field("billed", t.billed);
  w.Field("list_usd", t.list_usd);
  if (vis.wholesale()) w.Field("pec_usd", t.pec_usd).Field("billed_usd", t.billed_usd);
  w.Field("unrated_lines", t.unrated_lines);
  w.Field("days_remaining", rating::DaysRemaining(*month, now));
  bool figures = vis.budget_figures(budget_basis);
  std::optional<Decimal> forecast = rating::Forecast(spend, *month, now);
  if (figures && forecast) w.Field("forecast", *forecast); else w.Field("forecast", nullptr);
  w.Key("budget");
  if (state.budget) WriteBudgetObject(w, *state.budget); else w.Null();
  std::optional<Decimal> percent;
  std::optional<int64_t> rounded;
  if (state.budget && figures) {
    percent = rating::Percent(spend, state.budget->amount);
    rounded = rating::PercentRounded(spend, state.budget->amount);
  }
  if (percent) w.Field("percent", *percent); else w.Field("percent", nullptr);
  if (rounded) w.Field("percent_rounded", *rounded); else w.Field("percent_rounded", nullptr);
  w.Key("by_category").BeginArray();
  for (const rating::CategoryTotal& cat : t.by_category) {
    w.BeginObject().Field("meter_category", cat.meter_category).Field("list", cat.list);
    if (vis.wholesale()) w.Field("billed", cat.billed);
    w.EndObject();
  }
  w.EndArray();
  w.Field("as_of", rating::FormatRfc3339(state.has_totals ? state.totals.as_of : now));
  w.EndObject();
  SendJson(responder, 200, std::move(out));
}

void HandleOverview(ApiContext* ctx, Request& req, Responder responder) {
  auto principal = Authorize(ctx, req, responder, auth::Action::kReadSpend);
  if (!principal) return;
  rating::Timestamp now = ctx->engine->Now();
  auto month = MonthParam(req, now, responder);
  if (!month) return;
  auto limit = LimitParam(req, responder);
  if (!limit) return;
  std::optional<std::string> after = CursorParam(req, responder);
  if (!after) return;
  auto snap = ctx->engine->snapshot();
  Result<storage::ReadTxn> txn = ctx->env->BeginRead();
  if (!txn.ok()) return SendStatus(responder, Status::Unavailable(txn.status().message()));
  auth::FieldVisibility vis = auth::FieldVisibility::For(*principal);
  std::string out;
  http::JsonWriter w(&out);
  w.BeginObject().Key("rows").BeginArray();
  Result<std::optional<std::string>> next = ForEachVisibleCustomer(
      *snap, *principal, &*after, *limit, [&](const rating::Customer& customer) -> Status {
    const rating::Customer* c = &customer;
    CustomerMonthState state;
    METERD_RETURN_IF_ERROR(ReadCustomerMonth(*txn, *c, *month, &state));
    const rating::MonthTotals& t = state.totals.totals;
    std::optional<rating::Basis> budget_basis;
    if (state.budget) budget_basis = state.budget->basis;
    rating::Basis basis = vis.spend_basis(budget_basis);
    w.BeginObject().Field("customer_id", c->customer_id).Field("name", c->name);
    w.Field("currency", snap->BillingCurrency(*c));
    if (state.budget) w.Field("budget_amount", state.budget->amount);
    else w.Field("budget_amount", nullptr);
    Decimal spend = rating::SpendOnBasis(basis, t.list, t.billed);
    w.Field("spend", spend);
    w.Field("spend_usd", rating::SpendOnBasis(basis, t.list_usd, t.billed_usd));
    std::optional<int64_t> rounded;
    if (state.budget && vis.budget_figures(budget_basis)) {
      rounded = rating::PercentRounded(spend, state.budget->amount);
    }
    if (rounded) w.Field("percent_rounded", *rounded); else w.Field("percent_rounded", nullptr);
    w.EndObject();
    return Status::Ok();
  });
  if (!next.ok()) return SendStatus(responder, next.status());
  w.EndArray();
  if (*next) w.Field("next_cursor", **next); else w.Field("next_cursor", nullptr);
  w.EndObject();
  SendJson(responder, 200, std::move(out));
}

void WriteLine(http::JsonWriter& w, std::string_view meter, uint32_t date, std::string_view ent,
               std::string_view resource, const core::StoredLine& line,
               std::string_view customer_currency, bool wholesale) {
  const rating::RatedAmounts& r = line.rated;
  auto opt = [&](std::string_view key, bool shown, Decimal d) {
    if (shown) w.Field(key, d); else w.Field(key, nullptr);
  };
  w.BeginObject();
  w.Field("entitlement_id", ent).Field("meter_id", meter).Field("resource_uri", resource);
  w.Field("usage_date", rating::FormatDate(rating::Date{static_cast<int32_t>(date)}));
  w.Field("quantity", line.quantity);
  w.Field("status", r.rated() ? "rated" : "unrated");
  if (r.rated()) w.Field("reason", nullptr);
  else w.Field("reason", rating::UnratedReasonName(r.reason));
  opt("unit_price", r.prices_shown, r.unit_price);
  if (wholesale) {
    opt("effective_unit_price", r.prices_shown, r.effective_unit_price);
    opt("pec_rate", r.prices_shown, r.pec_rate);
  }
  opt("list_usd", r.usd_shown, r.list_usd);
  if (wholesale) {
    opt("pec_usd", r.usd_shown, r.pec_usd);
    opt("billed_usd", r.usd_shown, r.billed_usd);
  }
  w.Field("currency", r.currency.empty() ? customer_currency : r.currency.view());
  if (r.fx_shown) w.Key("fx").QuotedRaw(r.fx.ToString()); else w.Field("fx", nullptr);
  w.Field("fx_provisional", r.fx_provisional);
  opt("list_bc", r.bc_shown, r.list_bc);
  if (wholesale) {
    opt("pec_bc", r.bc_shown, r.pec_bc);
    opt("billed_bc", r.bc_shown, r.billed_bc);
  }
  w.EndObject();
}

void HandleLines(ApiContext* ctx, Request& req, Responder responder) {
  auto principal = Authorize(ctx, req, responder, auth::Action::kReadLines);
  if (!principal) return;
  auto snap = ctx->engine->snapshot();
  const rating::Customer* c = VisibleCustomer(*snap, *principal, LowerId(req.path_param("id")), responder);
  if (!c) return;
  auto month = MonthParam(req, ctx->engine->Now(), responder);
  if (!month) return;
  auto limit = LimitParam(req, responder);
  if (!limit) return;
  std::optional<rating::Date> date;
  if (auto d = req.query().Get("date")) {
    rating::Date parsed;
    if (!rating::ParseIsoDate(*d, &parsed) || rating::MonthOf(parsed) != *month) {
      if (!req.query().Get("month") && rating::ParseIsoDate(*d, &parsed)) {
        month = rating::MonthOf(parsed);
      } else {
        return SendProblem(responder, 400, "date must be YYYY-MM-DD within the month");
      }
    }
    date = parsed;
  }
  if (http::NegotiateMediaType(req.header("Accept"), {"application/json", "text/csv"}) ==
      std::optional<std::string_view>("text/csv")) {
    return RespondLinesCsv(ctx, *principal, *c, *month, date, std::move(responder));
  }
  storage::KeyBuilder kb;
  keys::LineMonthPrefix(&kb, c->customer_id, static_cast<uint32_t>(month->index));
  std::string prefix(kb.view());
  std::string from = prefix;
  if (auto cur = req.query().Get("cursor")) {
    auto decoded = DecodeCursor(*cur);
    std::optional<std::string> after = decoded ? KeyAfter(*decoded) : std::nullopt;
    if (!after || decoded->compare(0, prefix.size(), prefix) != 0) {
      return SendProblem(responder, 400, "bad cursor");
    }
    from = std::move(*after);
  }
  auth::FieldVisibility vis = auth::FieldVisibility::For(*principal);
  std::string currency(snap->BillingCurrency(*c));
  Result<storage::ReadTxn> txn = ctx->env->BeginRead();
  if (!txn.ok()) return SendStatus(responder, Status::Unavailable(txn.status().message()));
  std::string out;
  http::JsonWriter w(&out);
  w.BeginObject().Key("lines").BeginArray();
  size_t n = 0;
  std::optional<std::string> next;
  std::string last_key;
  Status decode_status;
  core::StoredLine line;
  Status st = storage::ScanWithJournal(*txn, storage::Db::kLines, from,
                                       storage::ScanBound::Prefix(prefix),
                                       [&](std::string_view k, std::string_view v) {
    storage::KeyReader reader(k.substr(prefix.size()));
    std::string meter, ent, resource;
    uint32_t d = 0;
    bool truncated = false;
    if (!reader.ReadString(&meter) || !reader.ReadU32(&d) || !reader.ReadString(&ent) ||
        !reader.ReadTrailingString(&resource, &truncated)) {
      decode_status = Status::Corruption("line key");
      return storage::ScanStep::kStop;
    }
    if (date && static_cast<int32_t>(d) != date->days) return storage::ScanStep::kContinue;
    if (n == *limit) {
      next = EncodeCursor(last_key);
      return storage::ScanStep::kStop;
    }
    decode_status = core::DecodeLine(v, &line);
    if (!decode_status.ok()) return storage::ScanStep::kStop;
    if (!line.resource_uri.empty()) resource = line.resource_uri;
    WriteLine(w, meter, d, ent, resource, line, currency, vis.wholesale());
    last_key.assign(k);
    ++n;
    return storage::ScanStep::kContinue;
  });
  txn = Status::Internal("released");
  if (!st.ok()) return SendStatus(responder, st);
  if (!decode_status.ok()) return SendStatus(responder, decode_status);
  w.EndArray();
  if (next) w.Field("next_cursor", *next); else w.Field("next_cursor", nullptr);
  w.EndObject();
  SendJson(responder, 200, std::move(out));
}

void HandleUnknownUsage(ApiContext* ctx, Request& req, Responder responder) {
  if (!Authorize(ctx, req, responder, auth::Action::kReadUnknownUsage)) return;
  auto limit = LimitParam(req, responder);
  if (!limit) return;
  std::string from;
  if (auto cur = req.query().Get("cursor")) {
    auto decoded = DecodeCursor(*cur);
    std::optional<std::string> after = decoded ? KeyAfter(*decoded) : std::nullopt;
    if (!after) return SendProblem(responder, 400, "bad cursor");
    from = std::move(*after);
  }
  Result<storage::ReadTxn> txn = ctx->env->BeginRead();
  if (!txn.ok()) return SendStatus(responder, Status::Unavailable(txn.status().message()));
  std::string out;
  http::JsonWriter w(&out);
  w.BeginObject().Key("lines").BeginArray();
  size_t n = 0;
  std::optional<std::string> next;
  std::string last_key;
  Status st = storage::ScanWithJournal(*txn, storage::Db::kUnknownLines, from,
                                       storage::ScanBound::None(),
                                       [&](std::string_view k, std::string_view v) {
    storage::KeyReader reader(k);
    std::string ent, meter, resource;
    uint32_t d = 0;
    bool truncated = false;
    Decimal q;
    if (!reader.ReadString(&ent) || !reader.ReadString(&meter) || !reader.ReadU32(&d) ||
        !reader.ReadTrailingString(&resource, &truncated) ||
        !core::DecodeUnknownLine(v, &q, &resource).ok()) {
      return storage::ScanStep::kContinue;
    }
    if (n == *limit) {
      next = EncodeCursor(last_key);
      return storage::ScanStep::kStop;
    }
    w.BeginObject().Field("entitlement_id", ent).Field("meter_id", meter);
    w.Field("resource_uri", resource);
    w.Field("usage_date", rating::FormatDate(rating::Date{static_cast<int32_t>(d)}));
    w.Field("quantity", q).EndObject();
    last_key.assign(k);
    ++n;
    return storage::ScanStep::kContinue;
  });
  txn = Status::Internal("released");
  if (!st.ok()) return SendStatus(responder, st);
  w.EndArray();
  if (next) w.Field("next_cursor", *next); else w.Field("next_cursor", nullptr);
  w.EndObject();
  SendJson(responder, 200, std::move(out));
}

// ---------------------------------------------------------------- budgets

ingest::ReferenceParser& Parser() {
  thread_local ingest::ReferenceParser parser;
  return parser;
}

std::string BudgetJson(const std::string& customer_id, const rating::Budget& b) {
  std::string out;
  http::JsonWriter w(&out);
  w.BeginObject().Field("customer_id", customer_id);
  w.Field("amount", b.amount).Field("basis", rating::BasisName(b.basis));
  w.Key("thresholds").BeginArray();
  for (Decimal t : b.thresholds) w.RawValue(rating::FormatThreshold(t));
  w.EndArray().Key("forecast_thresholds").BeginArray();
  for (Decimal t : b.forecast_thresholds) w.RawValue(rating::FormatThreshold(t));
  w.EndArray().EndObject();
  return out;
}

void HandleGetBudget(ApiContext* ctx, Request& req, Responder responder) {
  auto principal = Authorize(ctx, req, responder, auth::Action::kReadBudget);
  if (!principal) return;
  auto snap = ctx->engine->snapshot();
  const rating::Customer* c = VisibleCustomer(*snap, *principal, LowerId(req.path_param("id")), responder);
  if (!c) return;
  Result<std::optional<rating::Budget>> b = ctx->engine->GetBudget(c->customer_id);
  if (!b.ok()) return SendStatus(responder, b.status());
  if (!*b) return SendProblem(responder, 404, "no budget");
  SendJson(responder, 200, BudgetJson(c->customer_id, **b));
}

void HandlePutBudget(ApiContext* ctx, Request& req, Responder responder) {
  auto principal = Authorize(ctx, req, responder, auth::Action::kWriteBudget);
  if (!principal) return;
  Result<ingest::BudgetBody> body = Parser().ParseBudget(ingest::BudgetBodyKind::kSingle, req.body());
  if (!body.ok()) {
    return SendProblem(responder, body.status().code() == ingest::kMalformedBody ? 400 : 422,
                       body.status().message());
  }
  auto snap = ctx->engine->snapshot();
  const rating::Customer* c = VisibleCustomer(*snap, *principal, LowerId(req.path_param("id")), responder);
  if (!c) return;
  if (!auth::FieldVisibility::For(*principal).may_set_budget_basis(body->budget.basis)) {
    return SendProblem(responder, 403, "resellers may set list-basis budgets only");
  }
  OnControl(ctx, [ctx, id = c->customer_id, budget = body->budget,
                  responder = std::move(responder)]() mutable {
    Result<rating::Budget> set = ctx->engine->SetBudget(id, budget);
    if (!set.ok()) return SendStatus(responder, set.status());
    SendJson(responder, 200, BudgetJson(id, *set));
  });
}

void HandleDeleteBudget(ApiContext* ctx, Request& req, Responder responder) {
  auto principal = Authorize(ctx, req, responder, auth::Action::kWriteBudget);
  if (!principal) return;
  auto snap = ctx->engine->snapshot();
  const rating::Customer* c = VisibleCustomer(*snap, *principal, LowerId(req.path_param("id")), responder);
  if (!c) return;
  OnControl(ctx, [ctx, id = c->customer_id, responder = std::move(responder)]() mutable {
    Status st = ctx->engine->RemoveBudget(id);
    if (!st.ok()) return SendStatus(responder, st);
    responder.Send(http::Response::NoContent());
  });
}

void HandleBatchBudgets(ApiContext* ctx, bool set, Request& req, Responder responder) {
  auto principal = Authorize(ctx, req, responder, auth::Action::kWriteBudget);
  if (!principal) return;
  std::vector<std::string> ids;
  rating::Budget budget;
  if (set) {
    Result<ingest::BudgetBody> body = Parser().ParseBudget(ingest::BudgetBodyKind::kBatchSet, req.body());
    if (!body.ok()) {
      return SendProblem(responder, body.status().code() == ingest::kMalformedBody ? 400 : 422,
                         body.status().message());
    }
    if (!auth::FieldVisibility::For(*principal).may_set_budget_basis(body->budget.basis)) {
      return SendProblem(responder, 403, "resellers may set list-basis budgets only");
    }
    ids = std::move(body->customer_ids);
    budget = body->budget;
  } else {
    Result<std::vector<std::string>> parsed = Parser().ParseCustomerIds(req.body());
    if (!parsed.ok()) {
      return SendProblem(responder, parsed.status().code() == ingest::kMalformedBody ? 400 : 422,
                         parsed.status().message());
    }
    ids = std::move(*parsed);
  }
  auto snap = ctx->engine->snapshot();
  std::vector<std::string> visible, not_found;
  for (std::string& id : ids) {
    id = LowerId(id);
    const rating::Customer* c = snap->FindCustomer(id);
    if (c && auth::MayAccessCustomer(*principal, *c)) visible.push_back(id);
    else not_found.push_back(id);
  }
  OnControl(ctx, [ctx, set, budget, visible = std::move(visible), not_found = std::move(not_found),
                  responder = std::move(responder)]() mutable {
    uint64_t updated = 0;
    for (const std::string& id : visible) {
      Status st;
      if (set) {
        st = ctx->engine->SetBudget(id, budget).status();
      } else {
        st = ctx->engine->RemoveBudget(id);
        if (st.code() == StatusCode::kNotFound) {
          not_found.push_back(id);
          continue;
        }
      }
      if (!st.ok()) return SendStatus(responder, st);
      ++updated;
    }
    std::string out;
    http::JsonWriter w(&out);
    w.BeginObject().Field("updated", updated).Key("not_found").BeginArray();
    for (const std::string& id : not_found) w.String(id);
    w.EndArray().EndObject();
    SendJson(responder, 200, std::move(out));
  });
}

}  // namespace

void RegisterCustomerRoutes(http::Router& router, ApiContext* ctx) {
  auto add = [&](Verb verb, std::string_view pattern, auto fn) {
    Status st = router.Add(verb, pattern, [ctx, fn](Request& req, Responder r) { fn(ctx, req, std::move(r)); });
    if (!st.ok()) std::abort();
  };
  add(Verb::get, "/v1/customers", HandleListCustomers);
  add(Verb::get, "/v1/customers/{id}/spend", HandleSpend);
  add(Verb::get, "/v1/spend", HandleOverview);
  add(Verb::get, "/v1/customers/{id}/lines", HandleLines);
  add(Verb::get, "/v1/unknown-usage", HandleUnknownUsage);
  add(Verb::get, "/v1/customers/{id}/budget", HandleGetBudget);
  add(Verb::put, "/v1/customers/{id}/budget", HandlePutBudget);
  add(Verb::delete_, "/v1/customers/{id}/budget", HandleDeleteBudget);
  add(Verb::post, "/v1/budgets:batchSet",
      [](ApiContext* c, Request& req, Responder r) { HandleBatchBudgets(c, true, req, std::move(r)); });
  add(Verb::post, "/v1/budgets:batchRemove",
      [](ApiContext* c, Request& req, Responder r) { HandleBatchBudgets(c, false, req, std::move(r)); });
}

}  // namespace meterd::api::internal
