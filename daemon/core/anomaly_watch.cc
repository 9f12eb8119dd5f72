#include "daemon/core/anomaly_watch.h"

#include <algorithm>
#include <climits>
#include <span>

#include "daemon/core/records.h"
#include "daemon/core/shard.h"
#include "daemon/http/json_writer.h"
#include "storage/journal.h"
#include "storage/schema.h"

namespace meterd::core {
namespace {

using rating::Decimal;
using storage::Db;

// What a line adds to its day's spend: the list amount in the billing currency of rated lines
// (spend is over rated lines only, domain §5), so an unrated line counts as usage but 0 spend.
Decimal ListOf(const rating::RatedAmounts* rated) {
  return rated != nullptr && rated->rated() ? rated->list_bc : Decimal::Zero();
}

int DayIndex(rating::Date d) { return d.days - rating::FirstDayOf(rating::MonthOf(d)).days; }

std::string Detail(rating::Date day, Decimal spend, std::string_view currency,
                   const rating::AnomalyAssessment& a) {
  std::string out = "list spend on " + rating::FormatDate(day) + " of " + spend.ToString() + " " +
                    std::string(currency);
  const std::string days = std::to_string(a.history_days) + " days before";
  switch (a.spread) {
    case rating::AnomalySpread::kMad:
      out += " is " + (a.score ? a.score->ToString() : std::string("?")) +
             " robust deviations above the median " + a.median.ToString() + " of the " + days +
             " (MAD " + a.mad.ToString() + ")";
      break;
    case rating::AnomalySpread::kMeanAbsoluteDeviation:
      out += " is " + (a.score ? a.score->ToString() : std::string("?")) +
             " robust deviations above the median " + a.median.ToString() + " of the " + days +
             " (MAD 0: mean absolute deviation used)";
      break;
    case rating::AnomalySpread::kNone:
      out += " rises above the " + days + ", every one of them " + a.median.ToString();
      break;
  }
  return out;
}

}  // namespace

AnomalyWatch::AnomalyWatch(std::optional<rating::AnomalyParams> params)
    : params_(std::move(params)) {}

void AnomalyWatch::Clear() {
  customers_.clear();
  queued_.clear();
}

void AnomalyWatch::ForgetMonth(std::string_view customer_id, rating::Month month) {
  auto it = customers_.find(customer_id);
  if (it != customers_.end()) it->second.months.erase(month.index);
}

void AnomalyWatch::ForgetHistoryBefore(
    rating::Month keep_from, const std::function<bool(const std::string&, rating::Month)>& cached) {
  if (!queued_.empty()) return;  // only between jobs (Evaluate empties the queue)
  for (auto it = customers_.begin(); it != customers_.end();) {
    Customer& c = it->second;
    for (auto m = c.months.begin(); m != c.months.end() && m->first < keep_from.index;) {
      m = cached(it->first, rating::Month{m->first}) ? std::next(m) : c.months.erase(m);
    }
    // Fired days stay: a mark whose job is still in flight is not in the store yet.
    if (c.months.empty() && c.fired.empty() && c.pending.empty()) {
      it = customers_.erase(it);
    } else {
      ++it;
    }
  }
}

void AnomalyWatch::Rebuild(const rating::MonthLedger& ledger, MonthDays* days) {
  *days = MonthDays{};
  days->from_ledger = true;
  for (rating::LineId id : ledger.CanonicalOrder()) {
    rating::LineView v = ledger.line(id);
    const Decimal list = ListOf(v.rated);
    if (days->line_list.size() <= id) days->line_list.resize(id + 1);
    days->line_list[id] = list;
    const int i = DayIndex(v.usage_date);
    days->spend[i] += list;
    days->first_day = std::min(days->first_day, i);
    if (v.rated != nullptr && v.rated->rated()) days->currency = v.rated->currency;
  }
}

void AnomalyWatch::OnSettled(const rating::MonthLedger& ledger,
                             const rating::SettleResult& settle) {
  if (!params_ || settle.changed.empty()) return;
  auto it = customers_.find(std::string_view(ledger.customer_id()));
  if (it == customers_.end()) it = customers_.emplace(ledger.customer_id(), Customer{}).first;
  Customer& c = it->second;
  const int32_t month = ledger.month().index;
  if (!c.earliest_month || month < *c.earliest_month) c.earliest_month = month;
  MonthDays& days = c.months[month];
  if (!days.from_ledger) {
    // First settle of this ledger in the watch: take every line as it now stands (a history
    // read from the store earlier is replaced; the ledger is the newer truth).
    Rebuild(ledger, &days);
  }
  for (rating::LineId id : settle.changed) {
    rating::LineView v = ledger.line(id);
    const Decimal list = ListOf(v.rated);
    if (days.line_list.size() <= id) days.line_list.resize(id + 1);
    const int i = DayIndex(v.usage_date);
    days.spend[i] += list - days.line_list[id];
    days.line_list[id] = list;
    days.first_day = std::min(days.first_day, i);
    if (v.rated != nullptr && v.rated->rated()) days.currency = v.rated->currency;
    const int32_t d = v.usage_date.days;
    if (std::find(c.pending.begin(), c.pending.end(), d) == c.pending.end()) {
      c.pending.push_back(d);
    }
  }
  if (!c.queued && !c.pending.empty()) {
    c.queued = true;
    queued_.emplace_back(&it->first, &c);
  }
}

Result<AnomalyWatch::MonthDays*> AnomalyWatch::Month(storage::ReadTxn& txn,
                                                     const std::string& customer_id, Customer* c,
                                                     rating::Month month) {
  auto found = c->months.find(month.index);
  if (found != c->months.end()) return &found->second;
  // A month this process has not settled for the customer: nothing of it is in flight (every
  // change goes through a settle), so the stored lines are current.
  MonthDays days;
  kb_.Clear();
  storage::keys::LineMonthPrefix(&kb_, customer_id, static_cast<uint32_t>(month.index));
  const std::string prefix(kb_.view());
  const int32_t first = rating::FirstDayOf(month).days;
  StoredLine stored;
  std::string meter;
  Status decode;
  auto visit = [&](std::string_view k, std::string_view v) {
    storage::KeyReader reader(k.substr(prefix.size()));
    uint32_t date = 0;
    if (!reader.ReadString(&meter) || !reader.ReadU32(&date)) {
      decode = Status::Corruption("line key");
      return storage::ScanStep::kStop;
    }
    decode = DecodeLine(v, &stored);
    if (!decode.ok()) return storage::ScanStep::kStop;
    const int i = static_cast<int32_t>(date) - first;
    if (i < 0 || i >= 31) {
      decode = Status::Corruption("line date outside its month");
      return storage::ScanStep::kStop;
    }
    days.spend[i] += ListOf(&stored.rated);
    days.first_day = std::min(days.first_day, i);
    if (stored.rated.rated()) days.currency = stored.rated.currency;
    return storage::ScanStep::kContinue;
  };
  Status st = read_journal_ ? storage::ScanWithJournal(txn, Db::kLines, prefix,
                                                       storage::ScanBound::Prefix(prefix), visit)
                            : txn.ScanPrefix(Db::kLines, prefix, visit);
  if (!st.ok()) return st;
  if (!decode.ok()) return decode;
  return &c->months.emplace(month.index, std::move(days)).first->second;
}

Status AnomalyWatch::Evaluate(storage::ReadTxn& txn, const rating::ReferenceSnapshot* snapshot,
                              rating::Timestamp now, WriteSet* writes, uint64_t* alerts) {
  Status result;
  for (auto& [customer_id, c] : queued_) {
    if (result.ok()) {
      std::sort(c->pending.begin(), c->pending.end());
      for (int32_t d : c->pending) {
        result = Judge(txn, snapshot, now, *customer_id, c, rating::Date{d}, writes, alerts);
        if (!result.ok()) break;
      }
    }
    c->pending.clear();
    c->queued = false;
  }
  queued_.clear();
  return result;
}

Status AnomalyWatch::Judge(storage::ReadTxn& txn, const rating::ReferenceSnapshot* snapshot,
                           rating::Timestamp now, const std::string& customer_id, Customer* c,
                           rating::Date day, WriteSet* writes, uint64_t* alerts) {
  const rating::AnomalyParams& params = *params_;
  const rating::Month month = rating::MonthOf(day);
  Result<MonthDays*> own = Month(txn, customer_id, c, month);
  if (!own.ok()) return own.status();
  const Decimal spend = (*own)->spend[DayIndex(day)];
  // Cheap exits before any history is gathered: a day that fired stays fired, and the rule's
  // floor comes first anyway (a big customer's busy day is judged on every job, so this
  // matters).
  if (c->fired.count(day.days) || spend < params.floor_amount || spend.IsZero()) {
    return Status::Ok();
  }

  if (!c->earliest_read) {
    kb_.Clear();
    kb_.AddString(customer_id);
    const std::string prefix(kb_.view());
    Status st = txn.ScanPrefix(Db::kTotals, prefix, [&](std::string_view k, std::string_view) {
      if (k.size() != prefix.size() + 4) return storage::ScanStep::kContinue;
      const int32_t m = static_cast<int32_t>(storage::GetU32BE(k.data() + prefix.size()));
      if (!c->earliest_month || m < *c->earliest_month) c->earliest_month = m;
      return storage::ScanStep::kStop;  // keys sort by month: the first is the earliest
    });
    if (!st.ok()) return st;
    c->earliest_read = true;
  }

  // History: the window's days before `day`, leaving out days before the first usage.
  int32_t from = day.days - params.window_days;
  const rating::Month from_month = rating::MonthOf(rating::Date{from});
  if (!c->earliest_month || *c->earliest_month >= from_month.index) {
    int32_t first_usage = day.days;
    for (rating::Month m = from_month; m.index <= month.index; m = rating::NextMonth(m)) {
      Result<MonthDays*> md = Month(txn, customer_id, c, m);
      if (!md.ok()) return md.status();
      if ((*md)->first_day < 31) {
        first_usage = rating::FirstDayOf(m).days + (*md)->first_day;
        break;
      }
    }
    from = std::max(from, first_usage);
  }
  int n = 0;
  MonthDays* md = nullptr;
  int32_t md_index = INT32_MIN;
  for (int32_t d = from; d < day.days; ++d) {
    const rating::Month m = rating::MonthOf(rating::Date{d});
    if (m.index != md_index) {
      Result<MonthDays*> got = Month(txn, customer_id, c, m);
      if (!got.ok()) return got.status();
      md = *got;
      md_index = m.index;
    }
    history_[n++] = md->spend[DayIndex(rating::Date{d})];
  }
  const rating::AnomalyAssessment verdict = rating::AssessDailySpend(
      spend, std::span<const Decimal>(history_.data(), static_cast<size_t>(n)), params);
  if (!verdict.fires()) return Status::Ok();

  // At most once per (customer, day): the mark is stored with the alert.
  kb_.Clear();
  storage::keys::FiredDay(&kb_, storage::FiredKind::kAnomaly, customer_id,
                          static_cast<uint32_t>(day.days));
  Result<bool> fired = txn.Contains(Db::kFired, kb_.view());
  if (!fired.ok()) return fired.status();
  c->fired.insert(day.days);
  if (*fired) return Status::Ok();
  writes->Put(Db::kFired, kb_.view(), {});

  std::string currency((*own)->currency.view());
  if (currency.empty() && snapshot != nullptr) {
    if (const rating::Customer* cust = snapshot->FindCustomer(customer_id)) {
      currency = std::string(snapshot->BillingCurrency(*cust));
    }
  }
  std::string members;
  http::JsonWriter w(&members);
  w.BeginObject();
  w.Field("kind", rating::AlertKindName(rating::AlertKind::kAnomaly));
  w.Field("customer_id", customer_id);
  w.Field("entitlement_id", nullptr);
  w.Field("month", rating::FormatMonth(month));
  w.Field("date", rating::FormatDate(day));
  w.Field("threshold", nullptr);
  w.Field("amount", nullptr);
  w.Field("spend", spend);
  w.Field("percent", nullptr);
  w.Field("currency", currency);
  w.Field("detail", Detail(day, spend, currency, verdict));
  w.Field("created_at", rating::FormatRfc3339(now));
  w.EndObject();
  StoredAlert alert;
  alert.kind = rating::AlertKind::kAnomaly;
  alert.customer_id = customer_id;
  alert.json_members = members.substr(1, members.size() - 2);  // the reader prepends "id"
  EncodeAlert(alert, &scratch_);
  writes->AppendAlert(scratch_);
  ++*alerts;
  return Status::Ok();
}

}  // namespace meterd::core
