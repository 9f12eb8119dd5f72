#include "daemon/exports/recon.h"

#include "daemon/exports/csv_row.h"

namespace meterd::exports {

const std::array<std::string_view, 17> kReconColumns = {
    "CustomerId",
    "CustomerName",
    "MeterId",
    "MeterName",
    "MeterCategory",
    "Month",
    "PecApplied",
    "Days",
    "Quantity",
    "UnitPrice",
    "EffectiveUnitPrice",
    "PricingPreTaxTotal",
    "PricingCurrency",
    "BillingPreTaxTotal",
    "BillingCurrency",
    "PCToBCExchangeRate",
    "PriceAdjustmentDescription",
};

void AppendReconHeader(std::string* out) {
  CsvRowWriter row(out);
  for (std::string_view c : kReconColumns) row.Text(c);
  row.EndRow();
}

size_t ReconWriter::Add(const LineContext& context, const ExportLine& line, std::string* out) {
  const rating::RatedAmounts& r = line.line->rated;
  if (!r.rated()) return 0;
  size_t rows = 0;
  if (open_ && (line.meter_id != meter_id_ || context.customer != customer_)) rows = Finish(out);
  if (!open_) {
    open_ = true;
    meter_id_.assign(line.meter_id);
    month_ = rating::MonthOf(line.usage_date);
    customer_ = context.customer;
    table_ = context.table;
  }
  if (table_ == nullptr) table_ = context.table;
  Group& g = groups_[r.pec_rate.IsZero() ? 0 : 1];
  if (!g.present) {
    g.present = true;
    g.fx = r.fx;
    g.currency = r.currency;
  } else if (g.fx != r.fx) {
    g.fx_mixed = true;
  }
  int day = line.usage_date.days - rating::FirstDayOf(month_).days + 1;
  if (day >= 1 && day <= 31) g.day_mask |= uint32_t{1} << (day - 1);
  g.quantity += line.line->quantity;
  g.list_usd += r.list_usd;
  g.billed_usd += r.billed_usd;
  g.billed_bc += r.billed_bc;
  return rows;
}

size_t ReconWriter::Finish(std::string* out) {
  if (!open_) return 0;
  size_t rows = WriteGroup(groups_[0], false, out) + WriteGroup(groups_[1], true, out);
  open_ = false;
  customer_ = nullptr;
  table_ = nullptr;
  groups_[0] = Group();
  groups_[1] = Group();
  return rows;
}

size_t ReconWriter::WriteGroup(const Group& g, bool pec_applied, std::string* out) const {
  if (!g.present) return 0;
  // §8.36: prices weighted by quantity, i.e. the group's totals divided by its quantity; a
  // zero-quantity group shows 0 (§8.40).
  auto per_unit = [&](rating::Decimal total) {
    if (g.quantity.IsZero()) return rating::Decimal::Zero();
    return rating::DivRound9(total, g.quantity).value_or(rating::Decimal::Zero());
  };
  CsvRowWriter row(out);
  row.Text(customer_->customer_id);
  row.Text(customer_->name);
  row.Text(meter_id_);
  row.Text(table_ ? std::string_view(table_->meter_name) : std::string_view());
  row.Text(table_ ? std::string_view(table_->meter_category) : std::string_view());
  std::string* raw = row.Raw();
  AppendIsoDate(rating::FirstDayOf(month_), raw);
  raw->resize(raw->size() - 3);  // "YYYY-MM-DD" -> "YYYY-MM"
  row.Raw()->append(pec_applied ? "true" : "false");
  AppendDayRanges(g.day_mask, row.Raw());
  row.Money(g.quantity);
  row.Money(per_unit(g.list_usd));
  row.Money(per_unit(g.billed_usd));
  row.Money(g.billed_usd);
  row.Text("USD");
  row.Money(g.billed_bc);
  row.Text(g.currency.view());
  if (g.fx_mixed) {
    row.Empty();
  } else {
    row.Rate(g.fx);
  }
  row.Text(pec_applied ? kPecAdjustmentDescription : std::string_view());
  row.EndRow();
  return 1;
}

}  // namespace meterd::exports
