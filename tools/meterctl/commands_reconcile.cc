// meterctl reconcile: Microsoft's daily-rated usage file against meterd's own lines for the
// same customers and month (reconcile.h holds the comparison; this file fetches and reports).
#include <cstdio>
#include <fstream>
#include <set>

#include "tools/meterctl/command.h"
#include "tools/meterctl/reconcile.h"

namespace meterd::meterctl {
namespace {

constexpr size_t kDefaultShown = 50;

// Fetches every line of one customer and month, page by page. A 404 leaves the customer
// unknown (meterd does not have it, or the token may not see it).
int FetchCustomer(Context& ctx, const std::string& id, const std::string& month,
                  MeterdCustomer* out) {
  std::string cursor;
  while (true) {
    std::string target = "/v1/customers/" + UrlEncode(id) + "/lines?month=" + month +
                         "&limit=10000" + (cursor.empty() ? "" : "&cursor=" + UrlEncode(cursor));
    Answer a = ctx.CallTolerating(404, Method::kGet, target);
    if (!a.ok()) return a.exit_code;
    if (a.response.status == 404) {
      out->known = false;
      return kExitOk;
    }
    out->known = true;
    const Json* lines = a.json.Find("lines");
    if (lines == nullptr || !lines->is_array()) {
      return ctx.Fail(kExitRefused, "meterd's answer for " + id + " has no \"lines\"");
    }
    for (const Json& l : lines->items()) {
      Result<MeterdLine> m = MeterdLineFromJson(id, l);
      if (!m.ok()) return ctx.Fail(kExitRefused, "customer " + id + ": " + m.status().message());
      if (out->currency.empty()) out->currency = m->currency;
      out->lines.push_back(std::move(*m));
    }
    std::optional<std::string> next = a.json.GetText("next_cursor");
    if (!next || next->empty()) return kExitOk;
    cursor = *next;
  }
}

// Customer ids and names meterd lets this token see.
int ListCustomers(Context& ctx, std::map<std::string, std::string>* names) {
  std::string cursor;
  while (true) {
    Answer a = ctx.Call(Method::kGet, "/v1/customers?limit=10000" +
                                          (cursor.empty() ? "" : "&cursor=" + UrlEncode(cursor)));
    if (!a.ok()) return a.exit_code;
    if (const Json* cs = a.json.Find("customers"); cs && cs->is_array()) {
      for (const Json& c : cs->items()) {
        if (auto id = c.GetText("customer_id"))
          (*names)[AsciiLower(*id)] = c.GetText("name").value_or("");
      }
    }
    std::optional<std::string> next = a.json.GetText("next_cursor");
    if (!next || next->empty()) return kExitOk;
    cursor = *next;
  }
}

Status WriteFileAtomically(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".partial";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    out.flush();
    if (!out) return Status::IoError("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return Status::IoError("cannot rename " + tmp + " to " + path);
  }
  return Status::Ok();
}

int RunReconcile(Context& ctx) {
  std::optional<std::string> file = ctx.Get("file");
  std::optional<std::string> month_text = ctx.Get("month");
  if (!file) return ctx.Usage("--file is required (Partner Center's daily-rated usage CSV)");
  rating::Month month;
  if (!month_text || !rating::ParseMonth(*month_text, &month)) {
    return ctx.Usage("--month YYYY-MM is required");
  }
  size_t shown = kDefaultShown;
  if (auto s = ctx.Get("max-show")) {
    if (s->empty() || s->size() > 9 || s->find_first_not_of("0123456789") != std::string::npos) {
      return ctx.Usage("--max-show takes a whole number");
    }
    shown = static_cast<size_t>(std::stoul(*s));
  }
  FileReadOptions options;
  options.month = month;
  for (const std::string& c : ctx.args().GetAll("customer"))
    options.customers.insert(AsciiLower(c));

  std::optional<std::string> text = ctx.ReadInput(*file);
  if (!text) return kExitUsage;
  Result<DailyRatedFile> parsed = ReadDailyRatedFile(*text, options);
  if (!parsed.ok()) return ctx.Fail(kExitUsage, *file + ": " + parsed.status().message());

  std::set<std::string> ids = parsed->customers;
  ids.insert(options.customers.begin(), options.customers.end());
  std::map<std::string, std::string> names;
  if (ctx.Has("all-customers")) {
    if (int rc = ListCustomers(ctx, &names); rc != kExitOk) return rc;
    for (const auto& [id, name] : names) {
      if (options.customers.empty() || options.customers.count(id) > 0) ids.insert(id);
    }
  }
  std::map<std::string, MeterdCustomer> meterd;
  for (const std::string& id : ids) {
    MeterdCustomer& c = meterd[id];
    if (int rc = FetchCustomer(ctx, id, *month_text, &c); rc != kExitOk) return rc;
    if (auto it = names.find(id); it != names.end()) c.name = it->second;
  }

  ReconcileReport report = Reconcile(*parsed, meterd);
  report.month = month;
  report.file_name = *file;
  const Json json = ReportToJson(report);
  if (auto path = ctx.Get("report")) {
    Status st = WriteFileAtomically(*path, json.Pretty());
    if (!st.ok()) return ctx.Fail(kExitRefused, st.message());
  }
  if (ctx.json()) {
    ctx.out() << json.Pretty();
  } else {
    ctx.out() << FormatReport(report, shown);
  }
  return report.agree() ? kExitOk : kExitDifferences;
}

}  // namespace

std::vector<Command> ReconcileCommands() {
  std::vector<Command> v;
  v.push_back(
      {{"reconcile"},
       "--file FILE --month YYYY-MM",
       "compare Partner Center's daily-rated usage file with meterd's lines",
       "Reads Microsoft's daily-rated usage reconciliation CSV, fetches meterd's lines of the\n"
       "same customers and month, and matches them by (customer, entitlement, meter,\n"
       "lowercased resource URI, usage date). Reports lines missing on either side and, for\n"
       "matched lines, quantity, unit price, partner earned credit applied on one side only\n"
       "(with the credit at stake: list minus billed), exchange rate, billing currency, lines\n"
       "meterd holds unrated, and totals that differ for any other reason; then totals per\n"
       "customer. Comparisons are exact; cells finer than meterd's 9 digits (12 for the rate)\n"
       "are rounded half-even first. Exit 0 when everything agrees, 4 when not.",
       {{"file", "FILE", "Partner Center daily-rated usage CSV (\"-\" = stdin)"},
        {"month", "YYYY-MM", "the usage month; rows of other months are left out"},
        {"report", "OUT.json", "also write the machine-readable report there"},
        {"customer", "ID", "only this customer (repeatable)", true},
        {"all-customers", "", "also check customers meterd has and the file lacks"},
        {"max-show", "N", "differences printed in detail (default 50; all go to --report)"}},
       0,
       0,
       RunReconcile});
  return v;
}

}  // namespace meterd::meterctl
