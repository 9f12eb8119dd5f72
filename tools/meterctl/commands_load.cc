// meterctl load ...: reference data, price sheets, FX rates, budgets and usage files posted to
// meterd as they are (bodies are never re-encoded through floating point).
#include <algorithm>
#include <map>

#include "rating/csv.h"
#include "tools/meterctl/command.h"
#include "tools/meterctl/daily_rated_file.h"

namespace meterd::meterctl {
namespace {

// POST /v1/usage takes up to 64 MiB; smaller batches keep each answer quick and a retry cheap.
constexpr size_t kUsageBatchBytes = size_t{8} << 20;

int64_t IntField(const Json& j, std::string_view name) {
  std::optional<std::string> v = j.GetText(name);
  if (!v || v->empty() || v->size() > 18 ||
      v->find_first_not_of("0123456789") != std::string::npos) {
    return 0;
  }
  return std::stoll(*v);
}

// Prints the {"line","error","detail"} list of a load answer, lines shifted by line_offset.
void PrintRowErrors(Context& ctx, const Json& answer, int64_t line_offset) {
  const Json* errors = answer.Find("errors");
  if (errors == nullptr || !errors->is_array()) return;
  for (const Json& e : errors->items()) {
    ctx.err() << "  line " << IntField(e, "line") + line_offset << ": "
              << e.GetText("error").value_or("?");
    if (std::optional<std::string> id = e.GetText("id")) ctx.err() << " (id " << *id << ")";
    if (std::optional<std::string> d = e.GetText("detail"); d && !d->empty()) {
      ctx.err() << ": " << *d;
    }
    ctx.err() << "\n";
  }
}

// Shared by reference and price sheet loads: one POST, counts, row errors, exit 1 on rejects.
int PostLoad(Context& ctx, std::string_view what, const std::string& target,
             std::string_view content_type) {
  std::optional<std::string> body = ctx.ReadInput(ctx.positionals()[0]);
  if (!body) return kExitUsage;
  Answer a = ctx.Call(Method::kPost, target, content_type, std::move(*body));
  if (!a.ok()) return a.exit_code;
  const int64_t rejected = IntField(a.json, "rejected");
  if (ctx.json()) {
    ctx.out() << a.response.body << "\n";
  } else {
    ctx.out() << what << ": " << IntField(a.json, "upserted") << " upserted, " << rejected
              << " rejected";
    if (a.json.Find("rerated_lines")) {
      ctx.out() << ", " << IntField(a.json, "rerated_lines") << " lines re-rated";
    }
    ctx.out() << "\n";
  }
  PrintRowErrors(ctx, a.json, 0);
  return rejected > 0 ? kExitRefused : kExitOk;
}

int RunLoadReference(Context& ctx) {
  return PostLoad(ctx, "reference", "/v1/reference", "application/x-ndjson");
}

int RunLoadPriceSheet(Context& ctx) {
  return PostLoad(ctx, "price sheet", "/v1/pricesheet", "text/csv");
}

// {currency: rate} with rates as JSON strings or numbers, kept as their text.
std::optional<Json> RatesObject(const Json& j) {
  if (!j.is_object() || j.members().empty()) return std::nullopt;
  Json rates = Json::Object();
  for (const auto& [cur, rate] : j.members()) {
    if (!rate.is_string() && !rate.is_number()) return std::nullopt;
    rates.Set(cur, Json::String(rate.text()));
  }
  return rates;
}

// Reads an FX file into month -> rates. Forms: {"rates":{...}} and {cur: rate} (MONTH needed),
// {month: {cur: rate}} (the examples' fx.json; MONTH picks one), or CSV lines "CUR,rate".
Result<std::map<std::string, Json>> ReadFxFile(const std::string& text,
                                               const std::optional<std::string>& month) {
  std::map<std::string, Json> out;
  std::string_view trimmed = text;
  while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.front()))) {
    trimmed.remove_prefix(1);
  }
  auto need_month = [&](Json rates) -> Status {
    if (!month) {
      return Status::InvalidArgument("this FX file holds one month's rates: give MONTH");
    }
    out[*month] = std::move(rates);
    return Status::Ok();
  };
  if (!trimmed.empty() && trimmed.front() == '{') {
    Result<Json> j = Json::Parse(text);
    if (!j.ok()) return j.status();
    if (const Json* rates = j->Find("rates")) {
      std::optional<Json> r = RatesObject(*rates);
      if (!r) return Status::InvalidArgument("\"rates\" must map currencies to rates");
      METERD_RETURN_IF_ERROR(need_month(std::move(*r)));
      return out;
    }
    bool by_month = !j->members().empty();
    for (const auto& [key, value] : j->members())
      by_month = by_month && ValidMonth(key) && value.is_object();
    if (by_month) {
      for (const auto& [key, value] : j->members()) {
        if (month && key != *month) continue;
        std::optional<Json> r = RatesObject(value);
        if (!r) return Status::InvalidArgument("month " + key + " must map currencies to rates");
        out[key] = std::move(*r);
      }
      if (month && out.empty()) return Status::InvalidArgument("the file has no month " + *month);
      return out;
    }
    if (j->is_object() && j->members().empty()) return out;  // "{}": nothing to load
    std::optional<Json> r = RatesObject(*j);
    if (!r) {
      return Status::InvalidArgument(
          "unrecognised FX JSON: expected {\"rates\":{CUR:rate}}, {CUR:rate} or "
          "{YYYY-MM:{CUR:rate}}");
    }
    METERD_RETURN_IF_ERROR(need_month(std::move(*r)));
    return out;
  }
  rating::CsvReader reader(text);
  rating::CsvRecord rec;
  Json rates = Json::Object();
  while (reader.Next(&rec)) {
    if (rec.IsBlank()) continue;
    if (rec.size() != 2) {
      return Status::InvalidArgument("FX CSV line " + std::to_string(rec.line()) +
                                     ": expected CURRENCY,RATE");
    }
    if (AsciiLower(rec[0]) == "currency") continue;  // header
    rates.Set(AsciiUpper(rec[0]), Json::String(std::string(rec[1])));
  }
  if (!reader.status().ok()) return reader.status();
  METERD_RETURN_IF_ERROR(need_month(std::move(rates)));
  return out;
}

int RunLoadFx(Context& ctx) {
  const auto& pos = ctx.positionals();
  std::optional<std::string> month;
  if (pos.size() == 2) {
    if (!ValidMonth(pos[0])) return ctx.Usage("MONTH must be YYYY-MM, got \"" + pos[0] + "\"");
    month = pos[0];
  }
  std::optional<std::string> text = ctx.ReadInput(pos.back());
  if (!text) return kExitUsage;
  Result<std::map<std::string, Json>> months = ReadFxFile(*text, month);
  if (!months.ok()) return ctx.Usage(pos.back() + ": " + months.status().message());
  if (months->empty()) {
    ctx.out() << "fx: the file holds no rates; nothing loaded\n";
    return kExitOk;
  }
  for (auto& [m, rates] : *months) {
    const size_t n = rates.members().size();
    Json body = Json::Object();
    body.Set("rates", std::move(rates));
    Answer a = ctx.Call(Method::kPut, "/v1/fx/" + m, "application/json", body.Dump());
    if (!a.ok()) return a.exit_code;
    if (ctx.json()) {
      ctx.out() << a.response.body << "\n";
    } else {
      ctx.out() << "fx " << m << ": " << IntField(a.json, "currencies") << " of " << n
                << " currencies, " << IntField(a.json, "rerated_lines") << " lines re-rated\n";
    }
  }
  return kExitOk;
}

int RunLoadBudgets(Context& ctx) {
  std::optional<std::string> text = ctx.ReadInput(ctx.positionals()[0]);
  if (!text) return kExitUsage;
  Result<Json> j = Json::Parse(*text);
  if (!j.ok()) return ctx.Usage(ctx.positionals()[0] + ": " + j.status().message());
  if (!j->is_object()) return ctx.Usage("expected {customer_id: {amount, basis, thresholds}}");
  for (const auto& [customer, budget] : j->members()) {
    if (!budget.is_object()) return ctx.Usage("the budget of " + customer + " is not an object");
    Answer a = ctx.Call(Method::kPut, "/v1/customers/" + UrlEncode(customer) + "/budget",
                        "application/json", budget.Dump());
    if (!a.ok()) return a.exit_code;
    if (ctx.json()) {
      ctx.out() << a.response.body << "\n";
    } else {
      ctx.out() << "budget " << customer << ": " << a.json.GetText("amount").value_or("?") << " ("
                << a.json.GetText("basis").value_or("list") << ")\n";
    }
  }
  return kExitOk;
}

int RunLoadUsage(Context& ctx) {
  std::optional<std::string> text = ctx.ReadInput(ctx.positionals()[0]);
  if (!text) return kExitUsage;
  int64_t accepted = 0;
  int64_t duplicates = 0;
  int64_t rejected = 0;
  int64_t line_offset = 0;
  size_t pos = 0;
  while (pos < text->size()) {
    // Cut at a line end at or after the batch size so no event is split.
    size_t end = std::min(text->size(), pos + kUsageBatchBytes);
    if (end < text->size()) {
      const size_t nl = text->find('\n', end);
      end = nl == std::string::npos ? text->size() : nl + 1;
    }
    std::string batch = text->substr(pos, end - pos);
    const int64_t lines = std::count(batch.begin(), batch.end(), '\n') +
                          (batch.empty() || batch.back() == '\n' ? 0 : 1);
    Answer a = ctx.Call(Method::kPost, "/v1/usage", "application/x-ndjson", std::move(batch));
    if (!a.ok()) return a.exit_code;
    accepted += IntField(a.json, "accepted");
    duplicates += IntField(a.json, "duplicates");
    rejected += IntField(a.json, "rejected");
    PrintRowErrors(ctx, a.json, line_offset);
    line_offset += lines;
    pos = end;
  }
  if (ctx.json()) {
    ctx.out() << "{\"accepted\":" << accepted << ",\"duplicates\":" << duplicates
              << ",\"rejected\":" << rejected << "}\n";
  } else {
    ctx.out() << "usage: " << accepted << " accepted, " << duplicates << " duplicates, " << rejected
              << " rejected\n";
  }
  return rejected > 0 ? kExitRefused : kExitOk;
}

}  // namespace

std::vector<Command> LoadCommands() {
  std::vector<Command> v;
  v.push_back({{"load", "reference"},
               "FILE",
               "upsert partners, resellers, customers, entitlements and grants (NDJSON)",
               "Posts FILE (\"-\" for standard input) to POST /v1/reference: one JSON object per\n"
               "line with a \"type\". Exits 1 when meterd rejected any line (listed with its line\n"
               "number); the other lines are applied.",
               {},
               1,
               1,
               RunLoadReference});
  v.push_back({{"load", "pricesheet"},
               "FILE",
               "upsert Azure plan price rows (CSV with the price list's header)",
               "Posts FILE to POST /v1/pricesheet as text/csv. Lines whose price changed are\n"
               "re-rated before meterd answers. Exits 1 when rows were rejected.",
               {},
               1,
               1,
               RunLoadPriceSheet});
  v.push_back({{"load", "fx"},
               "[MONTH] FILE",
               "set monthly exchange rates (billing-currency units per 1 USD)",
               "FILE is {\"rates\":{\"EUR\":\"0.93\"}} or {\"EUR\":\"0.93\"} (MONTH required), or\n"
               "{\"2026-10\":{\"EUR\":\"0.92\"},...} (every month, or only MONTH), or CSV lines\n"
               "CURRENCY,RATE (MONTH required). Rates are sent digit for digit: one PUT\n"
               "/v1/fx/MONTH per month.",
               {},
               1,
               2,
               RunLoadFx});
  v.push_back({{"load", "budgets"},
               "FILE",
               "set budgets from {customer_id: {amount, basis, thresholds}}",
               "One PUT /v1/customers/ID/budget per customer of FILE (the examples' budgets.json\n"
               "form). Stops at the first refusal.",
               {},
               1,
               1,
               RunLoadBudgets});
  v.push_back({{"load", "usage"},
               "FILE",
               "post usage events (NDJSON) in batches of about 8 MiB",
               "Posts FILE to POST /v1/usage, cut at line ends. Re-posting is safe: events are\n"
               "identified by (entitlement_id, id) and duplicates are acknowledged, not applied.\n"
               "Error line numbers are lines of FILE. Exits 1 when events were rejected.",
               {},
               1,
               1,
               RunLoadUsage});
  return v;
}

}  // namespace meterd::meterctl
