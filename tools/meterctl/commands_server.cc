// meterctl's everyday commands against a running meterd: tokens, budgets, spend, the overview,
// lines, alerts and exports. Human output is an aligned table of meterd's exact strings (no
// rounding, no floating point); --json prints meterd's answer itself.
#include <chrono>
#include <thread>

#include "tools/meterctl/command.h"
#include "tools/meterctl/table.h"

namespace meterd::meterctl {
namespace {

using A = Table::Align;

// A member as display text: strings and numbers as they are, null/absent as "-".
std::string Cell(const Json& j, std::string_view name) {
  const Json* v = j.Find(name);
  if (v == nullptr || v->is_null()) return "-";
  if (v->type() == Json::Type::kBool) return v->as_bool() ? "true" : "false";
  if (v->is_array() || v->is_object()) return v->Dump();
  return v->text();
}

std::string JoinNumbers(const Json* list) {
  if (list == nullptr || !list->is_array()) return "-";
  std::string out;
  for (const Json& i : list->items()) out += (out.empty() ? "" : ",") + i.text();
  return out;
}

std::string Query(std::initializer_list<std::string> parts) {
  std::string q;
  for (const std::string& p : parts) {
    if (p.empty()) continue;
    q += (q.empty() ? "?" : "&") + p;
  }
  return q;
}

// Validates --month when given.
bool MonthOk(Context& ctx, int* rc) {
  if (std::optional<std::string> m = ctx.Get("month"); m && !ValidMonth(*m)) {
    *rc = ctx.Usage("--month must be YYYY-MM, got \"" + *m + "\"");
    return false;
  }
  return true;
}

// Follows next_cursor until null, handing each page's array to fn.
template <typename Fn>
int Paged(Context& ctx, const std::string& path, const std::string& query,
          std::string_view array_name, Fn&& fn) {
  std::string cursor;
  while (true) {
    std::string target =
        path + Query({query, "limit=10000", cursor.empty() ? "" : "cursor=" + UrlEncode(cursor)});
    Answer a = ctx.Call(Method::kGet, target);
    if (!a.ok()) return a.exit_code;
    if (const Json* items = a.json.Find(array_name); items && items->is_array()) {
      for (const Json& item : items->items()) fn(item);
    }
    std::optional<std::string> next = a.json.GetText("next_cursor");
    if (!next || next->empty()) return kExitOk;
    cursor = *next;
  }
}

// ---------------------------------------------------------------- tokens

int RunTokenCreate(Context& ctx) {
  std::optional<std::string> role = ctx.Get("role");
  if (!role) return ctx.Usage("--role is required (admin, ingest, partner or reseller)");
  Json body = Json::Object();
  body.Set("role", Json::String(*role));
  if (auto p = ctx.Get("partner-id")) body.Set("partner_id", Json::String(*p));
  if (auto m = ctx.Get("mpn-id")) body.Set("mpn_id", Json::String(*m));
  if (auto n = ctx.Get("name")) body.Set("name", Json::String(*n));
  Answer a = ctx.Call(Method::kPost, "/v1/tokens", "application/json", body.Dump());
  if (!a.ok()) return a.exit_code;
  if (ctx.json()) {
    ctx.out() << a.response.body << "\n";
  } else {
    ctx.out() << "token_id " << Cell(a.json, "token_id") << "\ntoken    " << Cell(a.json, "token")
              << "\n";
    ctx.err() << "(the secret is shown only now; store it like a password)\n";
  }
  return kExitOk;
}

int RunTokenRevoke(Context& ctx) {
  Answer a = ctx.Call(Method::kDelete, "/v1/tokens/" + UrlEncode(ctx.positionals()[0]));
  if (!a.ok()) return a.exit_code;
  if (!ctx.json()) ctx.out() << "revoked " << ctx.positionals()[0] << "\n";
  return kExitOk;
}

// ---------------------------------------------------------------- budgets

void PrintBudget(Context& ctx, const std::string& customer, const Json& b) {
  ctx.out() << "budget " << customer << ": " << Cell(b, "amount") << " (" << Cell(b, "basis")
            << " basis; thresholds " << JoinNumbers(b.Find("thresholds")) << "; forecast "
            << JoinNumbers(b.Find("forecast_thresholds")) << ")\n";
}

// Posts a batch budget change; customers the server did not know make the exit status
// kExitRefused (the rest were applied).
int PostBudgetBatch(Context& ctx, const std::string& path, const Json& body,
                    std::string_view done_text) {
  Answer a = ctx.Call(Method::kPost, path, "application/json", body.Dump());
  if (!a.ok()) return a.exit_code;
  const Json* not_found = a.json.Find("not_found");
  const bool missing = not_found && not_found->is_array() && !not_found->items().empty();
  if (ctx.json()) {
    ctx.out() << a.response.body << "\n";
  } else {
    ctx.out() << done_text << ": " << Cell(a.json, "updated") << "\n";
    if (missing) ctx.err() << "not found: " << not_found->Dump() << "\n";
  }
  return missing ? kExitRefused : kExitOk;
}

int RunBudgetSet(Context& ctx) {
  std::optional<std::string> amount = ctx.Get("amount");
  if (!amount) return ctx.Usage("--amount is required");
  if (!IsJsonNumber(*amount))
    return ctx.Usage("--amount must be a decimal, got \"" + *amount + "\"");
  Json body = Json::Object();
  const auto& customers = ctx.positionals();
  if (customers.size() > 1) {
    Json ids = Json::Array();
    for (const std::string& c : customers) ids.Append(Json::String(c));
    body.Set("customer_ids", std::move(ids));
  }
  // The amount goes as a string: its digits reach meterd exactly.
  body.Set("amount", Json::String(*amount));
  if (auto basis = ctx.Get("basis")) {
    if (*basis != "list" && *basis != "billed") return ctx.Usage("--basis must be list or billed");
    body.Set("basis", Json::String(*basis));
  }
  for (auto [flag, field] : {std::pair{"thresholds", "thresholds"},
                             std::pair{"forecast-thresholds", "forecast_thresholds"}}) {
    if (auto t = ctx.Get(flag)) {
      std::optional<Json> list = NumberList(*t);
      if (!list) return ctx.Usage("--" + std::string(flag) + " must be numbers like 80,100");
      body.Set(field, std::move(*list));
    }
  }
  if (customers.size() == 1) {
    Answer a = ctx.Call(Method::kPut, "/v1/customers/" + UrlEncode(customers[0]) + "/budget",
                        "application/json", body.Dump());
    if (!a.ok()) return a.exit_code;
    if (ctx.json())
      ctx.out() << a.response.body << "\n";
    else
      PrintBudget(ctx, customers[0], a.json);
    return kExitOk;
  }
  return PostBudgetBatch(ctx, "/v1/budgets:batchSet", body, "budgets set");
}

int RunBudgetGet(Context& ctx) {
  const std::string& c = ctx.positionals()[0];
  Answer a = ctx.Call(Method::kGet, "/v1/customers/" + UrlEncode(c) + "/budget");
  if (!a.ok()) return a.exit_code;
  if (ctx.json())
    ctx.out() << a.response.body << "\n";
  else
    PrintBudget(ctx, c, a.json);
  return kExitOk;
}

int RunBudgetRemove(Context& ctx) {
  const auto& customers = ctx.positionals();
  if (customers.size() == 1) {
    Answer a = ctx.Call(Method::kDelete, "/v1/customers/" + UrlEncode(customers[0]) + "/budget");
    if (!a.ok()) return a.exit_code;
    if (!ctx.json()) ctx.out() << "budget of " << customers[0] << " removed\n";
    return kExitOk;
  }
  Json ids = Json::Array();
  for (const std::string& c : customers) ids.Append(Json::String(c));
  Json body = Json::Object({{"customer_ids", std::move(ids)}});
  return PostBudgetBatch(ctx, "/v1/budgets:batchRemove", body, "budgets removed");
}

// ---------------------------------------------------------------- spend, overview, lines

int RunSpend(Context& ctx) {
  int rc = kExitOk;
  if (!MonthOk(ctx, &rc)) return rc;
  const std::string& c = ctx.positionals()[0];
  Answer a =
      ctx.Call(Method::kGet, "/v1/customers/" + UrlEncode(c) + "/spend" + Query({MonthQuery(ctx)}));
  if (!a.ok()) return a.exit_code;
  if (ctx.json()) {
    ctx.out() << a.response.body << "\n";
    return kExitOk;
  }
  const Json& j = a.json;
  const std::string currency = Cell(j, "currency");
  Table head({{"customer"},
              {"month"},
              {"currency"},
              {"unrated lines", A::kRight},
              {"days remaining", A::kRight},
              {"as of"}});
  head.AddRow({Cell(j, "customer_id"), Cell(j, "month"), currency, Cell(j, "unrated_lines"),
               Cell(j, "days_remaining"), Cell(j, "as_of")});
  ctx.out() << head.Render() << "\n";

  Table amounts({{"spend"}, {"billing (" + currency + ")", A::kRight}, {"USD", A::kRight}});
  for (std::string_view k : {"list", "pec", "billed"}) {
    amounts.AddRow({std::string(k), Cell(j, k), Cell(j, std::string(k) + "_usd")});
  }
  ctx.out() << amounts.Render() << "\n";

  const Json* budget = j.Find("budget");
  Table b({{"budget", A::kRight},
           {"basis"},
           {"thresholds"},
           {"forecast thresholds"},
           {"forecast", A::kRight},
           {"percent", A::kRight},
           {"rounded", A::kRight}});
  if (budget != nullptr && budget->is_object()) {
    b.AddRow({Cell(*budget, "amount"), Cell(*budget, "basis"),
              JoinNumbers(budget->Find("thresholds")),
              JoinNumbers(budget->Find("forecast_thresholds")), Cell(j, "forecast"),
              Cell(j, "percent"), Cell(j, "percent_rounded") + "%"});
  } else {
    b.AddRow({"none", "list", "-", "-", Cell(j, "forecast"), "-", "-"});
  }
  ctx.out() << b.Render();
  if (const Json* cats = j.Find("by_category");
      cats && cats->is_array() && !cats->items().empty()) {
    Table t({{"meter category"}, {"list", A::kRight}, {"billed", A::kRight}});
    for (const Json& cat : cats->items()) {
      t.AddRow({Cell(cat, "meter_category"), Cell(cat, "list"), Cell(cat, "billed")});
    }
    ctx.out() << "\n" << t.Render();
  }
  return kExitOk;
}

int RunOverview(Context& ctx) {
  int rc = kExitOk;
  if (!MonthOk(ctx, &rc)) return rc;
  Table t({{"customer"},
           {"name"},
           {"currency"},
           {"budget", A::kRight},
           {"spend", A::kRight},
           {"spend USD", A::kRight},
           {"% of budget", A::kRight}});
  Json all = Json::Array();
  rc = Paged(ctx, "/v1/spend", MonthQuery(ctx), "rows", [&](const Json& row) {
    if (ctx.json()) {
      all.Append(row);
      return;
    }
    std::string pct = Cell(row, "percent_rounded");
    t.AddRow({Cell(row, "customer_id"), Cell(row, "name"), Cell(row, "currency"),
              Cell(row, "budget_amount"), Cell(row, "spend"), Cell(row, "spend_usd"),
              pct == "-" ? pct : pct + "%"});
  });
  if (rc != kExitOk) return rc;
  if (ctx.json())
    ctx.out() << Json::Object({{"rows", std::move(all)}}).Dump() << "\n";
  else
    ctx.out() << t.Render();
  return kExitOk;
}

int RunLines(Context& ctx) {
  int rc = kExitOk;
  if (!MonthOk(ctx, &rc)) return rc;
  const std::string& c = ctx.positionals()[0];
  std::string query = MonthQuery(ctx);
  if (auto d = ctx.Get("date")) query += (query.empty() ? "" : "&") + ("date=" + UrlEncode(*d));
  Table t({{"date"},
           {"entitlement"},
           {"meter"},
           {"resource"},
           {"quantity", A::kRight},
           {"status"},
           {"unit price", A::kRight},
           {"PEC", A::kRight},
           {"list", A::kRight},
           {"billed", A::kRight},
           {"cur"}});
  Json all = Json::Array();
  rc = Paged(ctx, "/v1/customers/" + UrlEncode(c) + "/lines", query, "lines", [&](const Json& l) {
    if (ctx.json()) {
      all.Append(l);
      return;
    }
    std::string status = Cell(l, "status");
    if (status == "unrated") status += " (" + Cell(l, "reason") + ")";
    t.AddRow({Cell(l, "usage_date"), Cell(l, "entitlement_id"), Cell(l, "meter_id"),
              Cell(l, "resource_uri"), Cell(l, "quantity"), status, Cell(l, "unit_price"),
              Cell(l, "pec_rate"), Cell(l, "list_bc"), Cell(l, "billed_bc"), Cell(l, "currency")});
  });
  if (rc != kExitOk) return rc;
  if (ctx.json())
    ctx.out() << Json::Object({{"lines", std::move(all)}}).Dump() << "\n";
  else
    ctx.out() << t.Render();
  return kExitOk;
}

// ---------------------------------------------------------------- alerts

void AddAlertRow(Table* t, const Json& al) {
  std::string pct = Cell(al, "percent");
  t->AddRow({Cell(al, "created_at"), Cell(al, "kind"), Cell(al, "customer_id"), Cell(al, "month"),
             Cell(al, "date"), Cell(al, "threshold"), Cell(al, "spend"), Cell(al, "amount"), pct,
             Cell(al, "currency"), Cell(al, "id")});
}

Table AlertTable() {
  return Table({{"created at"},
                {"kind"},
                {"customer"},
                {"month"},
                {"date"},
                {"threshold", A::kRight},
                {"spend", A::kRight},
                {"amount", A::kRight},
                {"percent", A::kRight},
                {"cur"},
                {"id"}});
}

int RunAlerts(Context& ctx) {
  std::string after = ctx.Get("after").value_or("");
  std::string wait = ctx.Get("wait").value_or("");
  const std::string limit = ctx.Get("limit").value_or("");
  const bool follow = ctx.Has("follow");
  for (const std::string* n : {static_cast<const std::string*>(&wait), &limit}) {
    if (!n->empty() && (n->size() > 5 || n->find_first_not_of("0123456789") != std::string::npos)) {
      return ctx.Usage("--wait and --limit take whole numbers");
    }
  }
  if (!wait.empty() && std::stoi(wait) > 60) return ctx.Usage("--wait is at most 60 seconds");
  if (follow && wait.empty()) wait = "30";
  while (true) {
    std::string target = "/v1/alerts" + Query({after.empty() ? "" : "after=" + UrlEncode(after),
                                               limit.empty() ? "" : "limit=" + limit,
                                               wait.empty() ? "" : "wait=" + wait});
    const auto extra = std::chrono::seconds(wait.empty() ? 0 : std::stoi(wait));
    Answer a = ctx.Call(Method::kGet, target, {}, {}, extra);
    if (!a.ok()) return a.exit_code;
    const Json* alerts = a.json.Find("alerts");
    std::optional<std::string> next = a.json.GetText("next_cursor");
    if (!follow) {
      if (ctx.json()) {
        ctx.out() << a.response.body << "\n";
      } else {
        Table t = AlertTable();
        if (alerts && alerts->is_array()) {
          for (const Json& al : alerts->items()) AddAlertRow(&t, al);
        }
        ctx.out() << t.Render();
        if (next) ctx.err() << "next: meterctl alerts --after " << *next << "\n";
      }
      return kExitOk;
    }
    // --follow: one alert per line as they come (NDJSON with --json), until interrupted.
    if (alerts && alerts->is_array()) {
      for (const Json& al : alerts->items()) {
        if (ctx.json()) {
          ctx.out() << al.Dump() << "\n";
        } else {
          ctx.out() << Cell(al, "created_at") << "  " << Cell(al, "kind") << "  "
                    << Cell(al, "customer_id") << "  " << Cell(al, "month") << "  threshold "
                    << Cell(al, "threshold") << "  spend " << Cell(al, "spend") << " of "
                    << Cell(al, "amount") << " " << Cell(al, "currency") << "  "
                    << Cell(al, "detail") << "\n";
        }
      }
      ctx.out().flush();
    }
    if (next) after = *next;
  }
}

// ---------------------------------------------------------------- exports

int RunExport(Context& ctx) {
  const std::string& kind = ctx.positionals()[0];
  if (kind != "daily" && kind != "recon" && kind != "focus") {
    return ctx.Usage("export kind must be daily, recon or focus, got \"" + kind + "\"");
  }
  std::optional<std::string> month = ctx.Get("month");
  std::optional<std::string> out = ctx.Get("out");
  if (!month || !ValidMonth(*month)) return ctx.Usage("--month YYYY-MM is required");
  if (!out) return ctx.Usage("--out FILE is required");
  Answer a = ctx.Download("/v1/exports/" + kind + "?month=" + UrlEncode(*month), *out);
  if (!a.ok()) return a.exit_code;
  if (ctx.json()) {
    ctx.out() << "{\"file\":" << QuoteJson(*out) << ",\"bytes\":" << a.response.body_bytes << "}\n";
  } else {
    ctx.out() << "wrote " << a.response.body_bytes << " bytes to " << *out << "\n";
  }
  return kExitOk;
}

}  // namespace

std::vector<Command> ServerCommands() {
  const OptionSpec month{"month", "YYYY-MM", "the month (default: meterd's current month)"};
  std::vector<Command> v;
  v.push_back({{"token", "create"},
               "--role ROLE",
               "create an API token (admin); prints its id and the secret, once",
               "ROLE is admin, ingest, partner (needs --partner-id) or reseller (needs --mpn-id).",
               {{"role", "ROLE", "admin, ingest, partner or reseller"},
                {"partner-id", "ID", "the partner a partner token is bound to"},
                {"mpn-id", "MPN", "the MPN ID a reseller token is bound to"},
                {"name", "TEXT", "a label for the token"}},
               0,
               0,
               RunTokenCreate});
  v.push_back(
      {{"token", "revoke"}, "TOKEN_ID", "revoke a token (admin)", "", {}, 1, 1, RunTokenRevoke});
  v.push_back({{"budget", "set"},
               "CUSTOMER... --amount AMOUNT",
               "set the monthly budget of one or more customers",
               "AMOUNT is in each customer's billing currency. One customer: PUT\n"
               "/v1/customers/ID/budget; several: POST /v1/budgets:batchSet (exit 1 when some\n"
               "were not found). Omitted settings take meterd's defaults (list basis, thresholds\n"
               "80,100, forecast threshold 100).",
               {{"amount", "AMOUNT", "monthly amount, a decimal"},
                {"basis", "list|billed", "spend compared: list (default) or billed (net of PEC)"},
                {"thresholds", "P,P", "percentages of the amount that alert (80,100)"},
                {"forecast-thresholds", "P,P", "percentages of the forecast that alert (100)"}},
               1,
               -1,
               RunBudgetSet});
  v.push_back(
      {{"budget", "get"}, "CUSTOMER", "show a customer's budget", "", {}, 1, 1, RunBudgetGet});
  v.push_back({{"budget", "remove"},
               "CUSTOMER...",
               "remove the budget of one or more customers",
               "Fired alerts stay fired for their month (domain §8.38).",
               {},
               1,
               -1,
               RunBudgetRemove});
  v.push_back({{"spend"},
               "CUSTOMER",
               "a customer's month-to-date spend, budget, forecast and categories",
               "",
               {month},
               1,
               1,
               RunSpend});
  v.push_back({{"overview"},
               "",
               "spend of every visible customer against its budget",
               "Follows the pages of GET /v1/spend to the end.",
               {month},
               0,
               0,
               RunOverview});
  v.push_back({{"lines"},
               "CUSTOMER",
               "a customer's daily-rated lines (canonical order)",
               "",
               {month, {"date", "YYYY-MM-DD", "only this day"}},
               1,
               1,
               RunLines});
  v.push_back({{"alerts"},
               "",
               "alerts in commit order; --follow keeps waiting for new ones",
               "Prints the alerts after --after (a cursor; from the start without it) and, on\n"
               "standard error, the cursor to resume from. --wait long-polls up to 60 s for the\n"
               "first alert. --follow prints each new alert as one line (NDJSON with --json)\n"
               "until interrupted.",
               {{"after", "CURSOR", "resume after this cursor"},
                {"wait", "SECONDS", "long-poll up to this long (at most 60)"},
                {"limit", "N", "at most N alerts per answer"},
                {"follow", "", "keep polling and print alerts as they arrive"}},
               0,
               0,
               RunAlerts});
  v.push_back({{"export"},
               "daily|recon|focus --month M --out FILE",
               "download an export CSV (daily-rated usage, invoice reconciliation, FOCUS)",
               "Streams GET /v1/exports/KIND?month=M into FILE (written as FILE.partial and\n"
               "renamed when complete, so FILE is never a truncated export).",
               {month, {"out", "FILE", "where to write the CSV"}},
               1,
               1,
               RunExport});
  return v;
}

}  // namespace meterd::meterctl
