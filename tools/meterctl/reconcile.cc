#include "tools/meterctl/reconcile.h"

#include <algorithm>
#include <set>

#include "tools/meterctl/table.h"

namespace meterd::meterctl {
namespace {

constexpr std::array<std::string_view, kDiffKindCount> kKindNames = {
    "missing_in_meterd", "missing_in_file", "quantity", "unit_price", "pec", "fx",
    "currency",          "unrated",         "amount"};

// Human labels, in the same order.
constexpr std::array<std::string_view, kDiffKindCount> kKindLabels = {
    "missing in meterd", "missing in file", "quantity", "unit price", "PEC", "FX",
    "currency",          "unrated",         "amount"};

int KindIndex(uint32_t bit) {
  int i = 0;
  while ((1u << i) != bit) ++i;
  return i;
}

Status Bad(std::string_view field, std::string_view why) {
  return Status::InvalidArgument("meterd line field \"" + std::string(field) + "\" " +
                                 std::string(why));
}

// A decimal member that must be present (as a string or a number) when `required`; null or
// absent otherwise leaves *out empty.
Status DecimalField(const Json& obj, std::string_view name, bool required,
                    std::optional<Decimal>* out) {
  const Json* v = obj.Find(name);
  if (v == nullptr || v->is_null()) {
    if (required) return Bad(name, "is missing");
    return Status::Ok();
  }
  if (!v->is_string() && !v->is_number()) return Bad(name, "is not a decimal");
  Decimal d;
  if (Decimal::Parse(v->text(), &d) != rating::DecimalError::kOk) {
    return Bad(name, "\"" + v->text() + "\" is not an exact decimal");
  }
  *out = d;
  return Status::Ok();
}

std::string PecText(const std::optional<Decimal>& rate) {
  if (!rate) return "?";
  // Rates are 0 or 0.15 in practice; print them as the file's percentage.
  std::optional<Decimal> pct = rating::MulDivRound9(*rate, 100, 1);
  std::string s = pct ? pct->ToString() : rate->ToString();
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s + "%";
}

std::string Opt(const std::optional<Decimal>& d) { return d ? d->ToString() : "-"; }
std::string Opt(const std::optional<FxRate>& r) { return r ? r->ToString() : "-"; }

Json DecJson(const std::optional<Decimal>& d) {
  return d ? Json::String(d->ToString()) : Json::Null();
}
Json FxJson(const std::optional<FxRate>& r) {
  return r ? Json::String(r->ToString()) : Json::Null();
}
Json TextOrNull(const std::string& s) { return s.empty() ? Json::Null() : Json::String(s); }

std::string_view PecSideName(PecSide side) {
  switch (side) {
    case PecSide::kNone:
      return "none";
    case PecSide::kFile:
      return "file";
    case PecSide::kMeterd:
      return "meterd";
    case PecSide::kBoth:
      return "both";
  }
  return "none";
}

// The file's PartnerEarnedCreditPercentage (0 or 15) as meterd's rate (0 or 0.15).
std::optional<Decimal> FileRate(const FileLine& f) {
  if (!f.pec_percent) return std::nullopt;
  return rating::MulDivRound9(*f.pec_percent, 1, 100);
}

void Compare(const FileLine& f, const MeterdLine& m, LineDiff* d) {
  if (f.quantity != m.quantity) d->kinds |= kQuantity;
  if (!m.rated) {
    d->kinds |= kUnrated;
    return;
  }
  if (f.unit_price && m.unit_price && *f.unit_price != *m.unit_price) d->kinds |= kUnitPrice;
  const std::optional<Decimal> file_rate = FileRate(f);
  if (file_rate && m.pec_rate && *file_rate != *m.pec_rate) {
    d->kinds |= kPec;
    const bool file_applied = !file_rate->IsZero();
    const bool meterd_applied = !m.pec_rate->IsZero();
    auto minus = [](const std::optional<Decimal>& a,
                    const std::optional<Decimal>& b) -> std::optional<Decimal> {
      if (!a || !b) return std::nullopt;
      return *a - *b;
    };
    if (file_applied && meterd_applied) {
      d->pec_side = PecSide::kBoth;
      d->credit_at_stake_usd = minus(m.billed_usd, f.pricing_total);
      d->credit_at_stake_bc = minus(m.billed_bc, f.billing_total);
    } else if (file_applied) {
      d->pec_side = PecSide::kFile;
      d->credit_at_stake_usd = minus(m.list_usd, f.pricing_total);
      d->credit_at_stake_bc = minus(m.list_bc, f.billing_total);
    } else {
      d->pec_side = PecSide::kMeterd;
      d->credit_at_stake_usd = m.pec_usd;
      d->credit_at_stake_bc = m.pec_bc;
    }
  }
  if (f.fx && m.fx && *f.fx != *m.fx) d->kinds |= kFx;
  if (!f.billing_currency.empty() && !m.currency.empty() && f.billing_currency != m.currency) {
    d->kinds |= kCurrency;
  }
  if (f.pricing_total && m.billed_usd) d->delta_billed_usd = *f.pricing_total - *m.billed_usd;
  if (f.billing_total && m.billed_bc) d->delta_billed_bc = *f.billing_total - *m.billed_bc;
  if (d->kinds == 0) {
    const bool eup_differs = f.effective_unit_price && m.effective_unit_price &&
                             *f.effective_unit_price != *m.effective_unit_price;
    if (eup_differs || (d->delta_billed_usd && !d->delta_billed_usd->IsZero()) ||
        (d->delta_billed_bc && !d->delta_billed_bc->IsZero())) {
      d->kinds |= kAmount;
    }
  }
}

}  // namespace

std::string_view DiffKindName(DiffKind kind) { return kKindNames[KindIndex(kind)]; }

Result<MeterdLine> MeterdLineFromJson(std::string_view customer_id, const Json& j) {
  if (!j.is_object()) return Status::InvalidArgument("a meterd line is not a JSON object");
  MeterdLine m;
  m.key.customer_id = AsciiLower(customer_id);
  auto text = [&](std::string_view name, std::string* out) -> Status {
    std::optional<std::string> v = j.GetText(name);
    if (!v) return Bad(name, "is missing");
    *out = std::move(*v);
    return Status::Ok();
  };
  std::string date;
  std::string status;
  METERD_RETURN_IF_ERROR(text("entitlement_id", &m.key.entitlement_id));
  METERD_RETURN_IF_ERROR(text("meter_id", &m.key.meter_id));
  METERD_RETURN_IF_ERROR(text("resource_uri", &m.key.resource_uri));
  METERD_RETURN_IF_ERROR(text("usage_date", &date));
  METERD_RETURN_IF_ERROR(text("status", &status));
  m.key.entitlement_id = AsciiLower(m.key.entitlement_id);
  m.key.meter_id = AsciiLower(m.key.meter_id);
  m.key.resource_uri = AsciiLower(m.key.resource_uri);
  if (!rating::ParseIsoDate(date, &m.key.usage_date)) return Bad("usage_date", "is not a date");
  m.rated = status == "rated";
  if (!m.rated) m.reason = j.GetText("reason").value_or("");
  std::optional<Decimal> quantity;
  METERD_RETURN_IF_ERROR(DecimalField(j, "quantity", true, &quantity));
  m.quantity = *quantity;
  METERD_RETURN_IF_ERROR(DecimalField(j, "unit_price", false, &m.unit_price));
  METERD_RETURN_IF_ERROR(DecimalField(j, "effective_unit_price", false, &m.effective_unit_price));
  METERD_RETURN_IF_ERROR(DecimalField(j, "pec_rate", false, &m.pec_rate));
  METERD_RETURN_IF_ERROR(DecimalField(j, "list_usd", false, &m.list_usd));
  METERD_RETURN_IF_ERROR(DecimalField(j, "pec_usd", false, &m.pec_usd));
  METERD_RETURN_IF_ERROR(DecimalField(j, "billed_usd", false, &m.billed_usd));
  METERD_RETURN_IF_ERROR(DecimalField(j, "list_bc", false, &m.list_bc));
  METERD_RETURN_IF_ERROR(DecimalField(j, "pec_bc", false, &m.pec_bc));
  METERD_RETURN_IF_ERROR(DecimalField(j, "billed_bc", false, &m.billed_bc));
  m.currency = AsciiUpper(j.GetText("currency").value_or(""));
  if (std::optional<std::string> fx = j.GetText("fx")) {
    FxRate r;
    if (FxRate::Parse(*fx, &r) != rating::DecimalError::kOk) return Bad("fx", "is not a rate");
    m.fx = r;
  }
  if (const Json* p = j.Find("fx_provisional")) m.fx_provisional = p->as_bool();
  if (m.rated && !m.pec_rate) {
    return Status::FailedPrecondition(
        "meterd's lines carry no pec_rate: the token cannot see wholesale fields (a reseller "
        "token); reconcile needs an admin or partner token");
  }
  return m;
}

ReconcileReport Reconcile(const DailyRatedFile& file,
                          const std::map<std::string, MeterdCustomer>& meterd) {
  ReconcileReport report;
  report.file_rows = file.rows;
  report.file_rows_other_months = file.rows_other_months;
  report.rounded_cells = file.rounded_cells;
  report.missing_columns = file.missing_columns;

  std::set<std::string> customer_ids = file.customers;
  for (const auto& [id, c] : meterd) {
    if (!c.lines.empty()) customer_ids.insert(id);
  }
  std::map<std::string, CustomerSummary> summaries;
  for (const std::string& id : customer_ids) {
    CustomerSummary& s = summaries[id];
    s.customer_id = id;
    auto it = meterd.find(id);
    if (it != meterd.end() && it->second.known) {
      s.known_to_meterd = true;
      s.name = it->second.name;
      s.currency = it->second.currency;
    }
  }

  // Both sides in key order; walk them together.
  std::map<LineKey, const FileLine*> file_lines;
  for (const FileLine& f : file.lines) file_lines.emplace(f.key, &f);
  std::map<LineKey, const MeterdLine*> meterd_lines;
  for (const auto& [id, c] : meterd) {
    for (const MeterdLine& m : c.lines) meterd_lines.emplace(m.key, &m);
  }

  auto add_diff = [&](LineDiff d) {
    CustomerSummary& s = summaries[d.key.customer_id];
    ++s.differing_lines;
    for (int i = 0; i < kDiffKindCount; ++i) {
      if (d.kinds & (1u << i)) {
        ++s.kind_counts[static_cast<size_t>(i)];
        ++report.kind_counts[static_cast<size_t>(i)];
      }
    }
    if (d.kinds & kPec) {
      const bool bc = d.credit_at_stake_bc.has_value();
      if (d.pec_side == PecSide::kMeterd) {
        if (d.credit_at_stake_usd) s.credit_missing_from_file_usd += *d.credit_at_stake_usd;
        if (bc) s.credit_missing_from_file_bc += *d.credit_at_stake_bc;
      } else if (d.pec_side == PecSide::kFile) {
        if (d.credit_at_stake_usd) s.credit_unexpected_in_file_usd += *d.credit_at_stake_usd;
        if (bc) s.credit_unexpected_in_file_bc += *d.credit_at_stake_bc;
      }
    }
    report.differences.push_back(std::move(d));
  };

  for (const auto& [key, f] : file_lines) {
    CustomerSummary& s = summaries[key.customer_id];
    ++s.file_lines;
    if (s.name.empty()) s.name = f->customer_name;
    if (s.currency.empty()) s.currency = f->billing_currency;
    if (f->pricing_total) s.file_billed_usd += *f->pricing_total;
    if (f->billing_total) s.file_billed_bc += *f->billing_total;
    auto it = meterd_lines.find(key);
    if (it == meterd_lines.end()) {
      LineDiff d;
      d.key = key;
      d.kinds = kMissingInMeterd;
      d.file = *f;
      add_diff(std::move(d));
      continue;
    }
    ++s.matched;
    ++report.matched;
    LineDiff d;
    d.key = key;
    Compare(*f, *it->second, &d);
    if (d.kinds == 0) {
      ++s.agreeing;
      ++report.agreeing;
      continue;
    }
    d.file = *f;
    d.meterd = *it->second;
    add_diff(std::move(d));
  }
  for (const auto& [key, m] : meterd_lines) {
    CustomerSummary& s = summaries[key.customer_id];
    ++s.meterd_lines;
    if (s.currency.empty()) s.currency = m->currency;
    if (m->rated && m->billed_usd) s.meterd_billed_usd += *m->billed_usd;
    if (m->rated && m->billed_bc) s.meterd_billed_bc += *m->billed_bc;
    if (file_lines.count(key) > 0) continue;
    LineDiff d;
    d.key = key;
    d.kinds = kMissingInFile;
    d.meterd = *m;
    add_diff(std::move(d));
  }
  std::sort(report.differences.begin(), report.differences.end(),
            [](const LineDiff& a, const LineDiff& b) { return a.key < b.key; });
  for (auto& [id, s] : summaries) report.customers.push_back(std::move(s));
  return report;
}

Json ReportToJson(const ReconcileReport& r) {
  Json out = Json::Object();
  out.Set("month", Json::String(rating::FormatMonth(r.month)));
  out.Set("file", Json::String(r.file_name));
  out.Set("agree", Json::Bool(r.agree()));
  out.Set("file_rows", Json::Number(std::to_string(r.file_rows)));
  out.Set("file_rows_other_months", Json::Number(std::to_string(r.file_rows_other_months)));
  out.Set("rounded_cells", Json::Number(std::to_string(r.rounded_cells)));
  Json missing = Json::Array();
  for (const std::string& c : r.missing_columns) missing.Append(Json::String(c));
  out.Set("missing_columns", std::move(missing));
  out.Set("matched", Json::Number(std::to_string(r.matched)));
  out.Set("agreeing", Json::Number(std::to_string(r.agreeing)));
  auto counts = [](const std::array<int, kDiffKindCount>& c) {
    Json o = Json::Object();
    for (int i = 0; i < kDiffKindCount; ++i) {
      o.Set(std::string(kKindNames[static_cast<size_t>(i)]),
            Json::Number(std::to_string(c[static_cast<size_t>(i)])));
    }
    return o;
  };
  out.Set("counts", counts(r.kind_counts));

  Json customers = Json::Array();
  for (const CustomerSummary& s : r.customers) {
    Json c = Json::Object();
    c.Set("customer_id", Json::String(s.customer_id));
    c.Set("name", TextOrNull(s.name));
    c.Set("currency", TextOrNull(s.currency));
    c.Set("known_to_meterd", Json::Bool(s.known_to_meterd));
    c.Set("file_lines", Json::Number(std::to_string(s.file_lines)));
    c.Set("meterd_lines", Json::Number(std::to_string(s.meterd_lines)));
    c.Set("matched", Json::Number(std::to_string(s.matched)));
    c.Set("agreeing", Json::Number(std::to_string(s.agreeing)));
    c.Set("differing_lines", Json::Number(std::to_string(s.differing_lines)));
    c.Set("counts", counts(s.kind_counts));
    c.Set("file_billed_usd", Json::String(s.file_billed_usd.ToString()));
    c.Set("meterd_billed_usd", Json::String(s.meterd_billed_usd.ToString()));
    c.Set("delta_billed_usd", Json::String((s.file_billed_usd - s.meterd_billed_usd).ToString()));
    c.Set("file_billed_bc", Json::String(s.file_billed_bc.ToString()));
    c.Set("meterd_billed_bc", Json::String(s.meterd_billed_bc.ToString()));
    c.Set("delta_billed_bc", Json::String((s.file_billed_bc - s.meterd_billed_bc).ToString()));
    c.Set("credit_missing_from_file_usd", Json::String(s.credit_missing_from_file_usd.ToString()));
    c.Set("credit_missing_from_file_bc", Json::String(s.credit_missing_from_file_bc.ToString()));
    c.Set("credit_unexpected_in_file_usd",
          Json::String(s.credit_unexpected_in_file_usd.ToString()));
    c.Set("credit_unexpected_in_file_bc", Json::String(s.credit_unexpected_in_file_bc.ToString()));
    customers.Append(std::move(c));
  }
  out.Set("customers", std::move(customers));

  Json diffs = Json::Array();
  for (const LineDiff& d : r.differences) {
    Json o = Json::Object();
    Json kinds = Json::Array();
    for (int i = 0; i < kDiffKindCount; ++i) {
      if (d.kinds & (1u << i))
        kinds.Append(Json::String(std::string(kKindNames[static_cast<size_t>(i)])));
    }
    o.Set("kinds", std::move(kinds));
    o.Set("customer_id", Json::String(d.key.customer_id));
    o.Set("entitlement_id", Json::String(d.key.entitlement_id));
    o.Set("meter_id", Json::String(d.key.meter_id));
    o.Set("resource_uri", Json::String(d.key.resource_uri));
    o.Set("usage_date", Json::String(rating::FormatDate(d.key.usage_date)));
    if (d.file) {
      const FileLine& f = *d.file;
      Json fj = Json::Object();
      fj.Set("line", Json::Number(std::to_string(f.line)));
      fj.Set("rows", Json::Number(std::to_string(f.rows)));
      fj.Set("quantity", Json::String(f.quantity.ToString()));
      fj.Set("unit_price", DecJson(f.unit_price));
      fj.Set("effective_unit_price", DecJson(f.effective_unit_price));
      fj.Set("pec_rate", DecJson(FileRate(f)));
      fj.Set("billed_usd", DecJson(f.pricing_total));
      fj.Set("billing_currency", TextOrNull(f.billing_currency));
      fj.Set("fx", FxJson(f.fx));
      fj.Set("billed_bc", DecJson(f.billing_total));
      o.Set("file", std::move(fj));
    } else {
      o.Set("file", Json::Null());
    }
    if (d.meterd) {
      const MeterdLine& m = *d.meterd;
      Json mj = Json::Object();
      mj.Set("status", Json::String(m.rated ? "rated" : "unrated"));
      mj.Set("reason", TextOrNull(m.reason));
      mj.Set("quantity", Json::String(m.quantity.ToString()));
      mj.Set("unit_price", DecJson(m.unit_price));
      mj.Set("effective_unit_price", DecJson(m.effective_unit_price));
      mj.Set("pec_rate", DecJson(m.pec_rate));
      mj.Set("list_usd", DecJson(m.list_usd));
      mj.Set("billed_usd", DecJson(m.billed_usd));
      mj.Set("currency", TextOrNull(m.currency));
      mj.Set("fx", FxJson(m.fx));
      mj.Set("fx_provisional", Json::Bool(m.fx_provisional));
      mj.Set("list_bc", DecJson(m.list_bc));
      mj.Set("billed_bc", DecJson(m.billed_bc));
      o.Set("meterd", std::move(mj));
    } else {
      o.Set("meterd", Json::Null());
    }
    o.Set("delta_billed_usd", DecJson(d.delta_billed_usd));
    o.Set("delta_billed_bc", DecJson(d.delta_billed_bc));
    if (d.kinds & kPec) {
      o.Set("pec_applied_by", Json::String(std::string(PecSideName(d.pec_side))));
      o.Set("credit_at_stake_usd", DecJson(d.credit_at_stake_usd));
      o.Set("credit_at_stake_bc", DecJson(d.credit_at_stake_bc));
    }
    diffs.Append(std::move(o));
  }
  out.Set("differences", std::move(diffs));
  return out;
}

std::string FormatReport(const ReconcileReport& r, size_t max_details) {
  std::string out;
  out += "reconcile " + rating::FormatMonth(r.month) + ": " + r.file_name + " (" +
         std::to_string(r.file_rows) + " rows";
  if (r.file_rows_other_months > 0) {
    out += ", " + std::to_string(r.file_rows_other_months) + " of other months left out";
  }
  out += ") against meterd\n";
  if (r.rounded_cells > 0) {
    out += "note: " + std::to_string(r.rounded_cells) +
           " cells had more digits than meterd keeps and were rounded half-even first\n";
  }
  if (!r.missing_columns.empty()) {
    out += "note: the file has no column";
    for (const std::string& c : r.missing_columns) out += " " + c;
    out += "; those comparisons were skipped\n";
  }
  out += "\n";

  using A = Table::Align;
  Table t({{"customer"},
           {"name"},
           {"cur"},
           {"file billed", A::kRight},
           {"meterd billed", A::kRight},
           {"file - meterd", A::kRight},
           {"lines file/meterd", A::kRight},
           {"agree", A::kRight},
           {"differ", A::kRight},
           {"PEC credit claim", A::kRight}});
  for (const CustomerSummary& s : r.customers) {
    std::string name = s.name;
    if (!s.known_to_meterd) name += " (unknown to meterd)";
    t.AddRow({s.customer_id, name, s.currency, s.file_billed_bc.ToString(),
              s.meterd_billed_bc.ToString(), (s.file_billed_bc - s.meterd_billed_bc).ToString(),
              std::to_string(s.file_lines) + "/" + std::to_string(s.meterd_lines),
              std::to_string(s.agreeing), std::to_string(s.differing_lines),
              s.credit_missing_from_file_bc.ToString()});
  }
  out += t.Render();
  out +=
      "(amounts in each customer's billing currency; \"PEC credit claim\": credit meterd "
      "expects that Microsoft's file does not apply)\n\n";

  if (r.agree()) {
    out += "OK: all " + std::to_string(r.matched) + " lines agree.\n";
    return out;
  }
  std::string counts;
  for (int i = 0; i < kDiffKindCount; ++i) {
    const int n = r.kind_counts[static_cast<size_t>(i)];
    if (n == 0) continue;
    counts += (counts.empty() ? "" : ", ") + std::to_string(n) + " " +
              std::string(kKindLabels[static_cast<size_t>(i)]);
  }
  out += "DIFFERENCES: " + std::to_string(r.differences.size()) + " lines (" + counts + "); " +
         std::to_string(r.agreeing) + " of " + std::to_string(r.matched) +
         " matched lines agree.\n";
  size_t shown = 0;
  for (const LineDiff& d : r.differences) {
    if (shown == max_details) {
      out += "... " + std::to_string(r.differences.size() - shown) +
             " more (all of them are in --report FILE)\n";
      break;
    }
    ++shown;
    std::string kinds;
    for (int i = 0; i < kDiffKindCount; ++i) {
      if (d.kinds & (1u << i)) {
        kinds += (kinds.empty() ? "" : ", ") + std::string(kKindLabels[static_cast<size_t>(i)]);
      }
    }
    out += "\n" + rating::FormatDate(d.key.usage_date) + "  " + kinds + "\n";
    out += "  customer " + d.key.customer_id + "  entitlement " + d.key.entitlement_id +
           "  meter " + d.key.meter_id + "\n";
    out += "  resource " + d.key.resource_uri + "\n";
    if (d.file) out += "  file line " + std::to_string(d.file->line) + "\n";
    const FileLine* f = d.file ? &*d.file : nullptr;
    const MeterdLine* m = d.meterd ? &*d.meterd : nullptr;
    auto pair = [&](std::string_view what, const std::string& fv, const std::string& mv) {
      out += "  " + std::string(what) + ": file " + fv + ", meterd " + mv + "\n";
    };
    if (!f && m) {
      out += "  meterd: quantity " + m->quantity.ToString() + ", billed " + Opt(m->billed_usd) +
             " USD" + (m->rated ? "" : " (unrated: " + m->reason + ")") + "\n";
      continue;
    }
    if (f && !m) {
      out += "  file: quantity " + f->quantity.ToString() + ", billed " + Opt(f->pricing_total) +
             " USD\n";
      continue;
    }
    if (d.kinds & kUnrated) out += "  meterd holds the line unrated: " + m->reason + "\n";
    if (d.kinds & kQuantity) pair("quantity", f->quantity.ToString(), m->quantity.ToString());
    if (d.kinds & kUnitPrice) pair("unit price", Opt(f->unit_price), Opt(m->unit_price));
    if (d.kinds & kPec) {
      pair("PEC", PecText(FileRate(*f)), PecText(m->pec_rate));
      out += "  credit at stake: " + Opt(d.credit_at_stake_usd) + " USD, " +
             Opt(d.credit_at_stake_bc) + " " + m->currency +
             (d.pec_side == PecSide::kMeterd ? " (meterd expects it; Microsoft did not apply it)"
              : d.pec_side == PecSide::kFile ? " (Microsoft applied it; meterd did not expect it)"
                                             : " (both applied PEC at different rates)") +
             "\n";
    }
    if (d.kinds & kFx) pair("exchange rate", Opt(f->fx), Opt(m->fx));
    if (d.kinds & kCurrency) pair("billing currency", f->billing_currency, m->currency);
    if (d.kinds & kAmount) {
      pair("effective unit price", Opt(f->effective_unit_price), Opt(m->effective_unit_price));
    }
    if (d.delta_billed_usd || d.delta_billed_bc) {
      pair("billed USD", Opt(f->pricing_total), Opt(m->billed_usd));
      pair("billed " + m->currency, Opt(f->billing_total), Opt(m->billed_bc));
    }
  }
  return out;
}

}  // namespace meterd::meterctl
