#include "daemon/core/shard.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <utility>

#include "common/thread_name.h"
#include "daemon/core/records.h"
#include "daemon/http/json_writer.h"
#include "storage/schema.h"

namespace meterd::core {
namespace {

using rating::Decimal;
using storage::Db;
namespace keys = storage::keys;

uint32_t MonthKey(rating::Month m) { return static_cast<uint32_t>(m.index); }
uint32_t DateKey(rating::Date d) { return static_cast<uint32_t>(d.days); }

// customer\0month(4): into *k, reusing its capacity (the hot path looks ledgers up per event run).
void LedgerKeyInto(std::string* k, std::string_view customer, rating::Month month) {
  k->assign(customer);
  k->push_back('\0');
  char b[4];
  storage::PutU32BE(MonthKey(month), b);
  k->append(b, 4);
}

std::string LedgerKey(std::string_view customer, rating::Month month) {
  std::string k;
  LedgerKeyInto(&k, customer, month);
  return k;
}

// Retention horizon of an identity: first day of the month after the usage month + days.
uint32_t ExpiryDay(rating::Date usage_date, int32_t retention_days) {
  rating::Month next = rating::NextMonth(rating::MonthOf(usage_date));
  return static_cast<uint32_t>(rating::FirstDayOf(next).days + retention_days);
}

void AppendLength(std::string* out, std::string_view s) {
  uint32_t n = static_cast<uint32_t>(s.size());
  char b[4];
  std::memcpy(b, &n, 4);
  out->append(b, 4);
  out->append(s);
}

// Calls fn(identity) for the job's identities (each length-prefixed) until it returns true.
template <typename Fn>
bool AnyIdentity(std::string_view ids, Fn&& fn) {
  size_t pos = 0;
  while (pos + 4 <= ids.size()) {
    uint32_t n;
    std::memcpy(&n, ids.data() + pos, 4);
    if (fn(ids.substr(pos + 4, n))) return true;
    pos += 4 + n;
  }
  return false;
}

}  // namespace

// ---------------------------------------------------------------- WriteSet

void WriteSet::Add(Kind kind, Db db, std::string_view key, std::string_view value) {
  Op op{kind, db, static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(key.size()), 0,
        static_cast<uint32_t>(value.size())};
  arena_.append(key);
  op.val_off = static_cast<uint32_t>(arena_.size());
  arena_.append(value);
  ops_.push_back(op);
  if (kind == Kind::kAppendAlert) ++alerts_;
}

Status WriteSet::Apply(storage::WriteTxn& txn) const {
  for (const Op& op : ops_) {
    std::string_view key(arena_.data() + op.key_off, op.key_len);
    std::string_view value(arena_.data() + op.val_off, op.val_len);
    switch (op.kind) {
      case Kind::kPut:
        METERD_RETURN_IF_ERROR(txn.Put(op.db, key, value));
        break;
      case Kind::kDelete: {
        Status st = txn.Delete(op.db, key);
        if (!st.ok() && st.code() != StatusCode::kNotFound) return st;
        break;
      }
      case Kind::kAppendAlert: {
        Result<uint64_t> seq = txn.AppendSequenced(op.db, value);
        if (!seq.ok()) return seq.status();
        break;
      }
    }
  }
  return storage::AppendJournal(txn, journal_);
}

// ---------------------------------------------------------------- Shard lifecycle and queues

Shard::Shard(Engine* engine, size_t index)
    : engine_(engine), index_(index), anomaly_(engine->options().anomaly) {}

Shard::~Shard() {
  Stop();
  for (Job* job : unfolded_) delete job;
  unfolded_.clear();
}

void Shard::Start() {
  thread_ = std::thread([this] {
    SetCurrentThreadName("meterd-shard-" + std::to_string(index_));
    // The cause of a failure is process-wide (seccomp, a security module): daemon/main.cc
    // reports it once, from the parse threads.
    (void)MarkCurrentThreadBackground();
    Run();
  });
}

void Shard::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Shard::TryPostUsage(std::shared_ptr<UsageRequest> request, std::vector<uint32_t> events) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || usage_queue_.size() >= engine_->options().shard_queue_capacity) return false;
    usage_queue_.push_back(UsageItem{std::move(request), std::move(events)});
    queued_usage_.store(usage_queue_.size(), std::memory_order_relaxed);
  }
  cv_.notify_one();
  return true;
}

void Shard::PostControl(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    control_queue_.push_back(std::move(fn));
  }
  cv_.notify_one();
}

void Shard::Run() {
  // The month can change while no event arrives: the forecast review needs a timer.
  auto next_review = std::chrono::steady_clock::now();
  // A slice changes memory before its job can be submitted, so a refused Submit would leave
  // memory ahead of the store. A slice is therefore taken only with a writer slot in hand; while
  // the writer's queue is full, slices wait here, the shard queue fills and ingest answers 429.
  // The writer does not tell shards when room frees up: a blocked shard retries every 1 ms.
  constexpr auto kWriterRetry = std::chrono::milliseconds(1);
  constexpr auto kFoldPoll = std::chrono::milliseconds(20);
  // Slices waiting together become one job: one read snapshot, one settle of the touched
  // ledgers and one write job for all of them. Under load this is what keeps the cost per event
  // flat as requests get smaller (a settle costs per customer touched, not per event).
  constexpr size_t kMaxEventsPerJob = 20000;
  std::vector<UsageItem> usage;
  for (;;) {
    std::function<void()> control;
    usage.clear();
    MaybeFinishRecovery();  // first releases what the writer folded since the last turn
    if (std::chrono::steady_clock::now() >= next_review) {
      ReviewForecasts();
      EvictColdState();
      next_review = std::chrono::steady_clock::now() + engine_->options().review_interval;
    }
    bool usage_waiting;
    {
      std::lock_guard<std::mutex> lock(mu_);
      usage_waiting = !usage_queue_.empty();
    }
    if (usage_waiting && !writer_slot_) {
      writer_slot_ = engine_->writer_->TryReserve();
    } else if (!usage_waiting && writer_slot_) {
      engine_->writer_->CancelReservation();  // an idle shard must not sit on a slot
      writer_slot_ = false;
    }
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto wake = usage_waiting && !writer_slot_
                      ? std::min(next_review, std::chrono::steady_clock::now() + kWriterRetry)
                      : next_review;
      // The writer does not call back when it folds: a shard holding unfolded jobs looks again
      // soon (an atomic load), so their memory goes and a recovery can finish.
      if (!unfolded_.empty()) {
        wake = std::min(wake, std::chrono::steady_clock::now() + kFoldPoll);
      }
      bool ready = cv_.wait_until(lock, wake, [&] {
        if (!control_queue_.empty()) return true;
        // New usage wakes the loop to ask for a slot; refused, it waits for the retry timer.
        if (!usage_queue_.empty()) return writer_slot_ || !usage_waiting;
        return stopping_ && inflight_.empty();
      });
      if (!ready) continue;  // time for the review, or to ask the writer again
      if (!control_queue_.empty()) {
        control = std::move(control_queue_.front());
        control_queue_.pop_front();
      } else if (!usage_queue_.empty()) {
        if (!writer_slot_) continue;  // ask the writer first
        size_t events = 0;
        do {
          events += usage_queue_.front().events.size();
          usage.push_back(std::move(usage_queue_.front()));
          usage_queue_.pop_front();
        } while (!usage_queue_.empty() &&
                 events + usage_queue_.front().events.size() <= kMaxEventsPerJob);
        queued_usage_.store(usage_queue_.size(), std::memory_order_relaxed);
      } else {
        if (writer_slot_) engine_->writer_->CancelReservation();
        return;  // stopping, queues empty, nothing in flight
      }
    }
    if (control) {
      control();
    } else {
      ProcessUsage(usage);
    }
  }
}

void Shard::BeginIdentityFilter(std::shared_ptr<IdentityFilter> next) {
  next_filter_ = std::move(next);
  accepted_hashes_.clear();
  auto add = [&](const Job* job) {
    AnyIdentity(job->identities, [&](std::string_view id) {
      accepted_hashes_.push_back(storage::HashForKey(id));
      return false;
    });
  };
  for (const Job* job : inflight_) add(job);
  for (const Job* job : unfolded_) add(job);
  next_filter_->InsertAll(accepted_hashes_);
  accepted_hashes_.clear();
}

void Shard::ActivateIdentityFilter(std::shared_ptr<IdentityFilter> filter) {
  filter_ = std::move(filter);
  if (next_filter_ == filter_) next_filter_.reset();
}

void Shard::RunWhenIdle(std::function<void()> fn) {
  if (inflight_.empty()) {
    fn();
  } else {
    idle_waiters_.push_back(std::move(fn));
  }
}

// ---------------------------------------------------------------- usage

void Shard::FinishPart(const std::shared_ptr<UsageRequest>& request, const Status& status,
                       uint64_t accepted, uint64_t duplicates) {
  if (!status.ok()) {
    std::lock_guard<std::mutex> lock(request->error_mu);
    if (request->error.ok()) request->error = status;
  } else {
    request->accepted.fetch_add(accepted, std::memory_order_relaxed);
    request->duplicates.fetch_add(duplicates, std::memory_order_relaxed);
  }
  if (request->parts_pending.fetch_sub(1, std::memory_order_acq_rel) == 1) {
    Status final_status;
    {
      std::lock_guard<std::mutex> lock(request->error_mu);
      final_status = request->error;
    }
    request->done(final_status, request->accepted.load(), request->duplicates.load());
  }
}

bool Shard::InFlightContains(std::string_view identity, uint64_t hash, const Job* current) const {
  const HashCounts::Holder holder = pending_.HolderOf(hash);
  if (holder.owner != nullptr) {  // the one job holding this hash: one comparison
    std::string_view ids = static_cast<const Job*>(holder.owner)->identities;
    uint32_t n;
    std::memcpy(&n, ids.data() + holder.offset, 4);
    return ids.substr(holder.offset + 4, n) == identity;
  }
  // Two identities in flight share the 64-bit hash (or none holds it): search them all.
  auto scan = [&](const Job* job) {
    return AnyIdentity(job->identities, [&](std::string_view id) { return id == identity; });
  };
  if (current && scan(current)) return true;
  for (const Job* job : inflight_) {
    if (scan(job)) return true;
  }
  for (const Job* job : unfolded_) {
    if (scan(job)) return true;
  }
  return false;
}

void Shard::ProcessUsage(std::vector<UsageItem>& items) {
  // Answers every slice taken (each exactly once) with `failure`; the job is dropped.
  auto fail_all = [&](const Status& failure) {
    for (UsageItem& item : items) FinishPart(item.request, failure, 0, 0);
  };
  if (recovering_) {
    fail_all(Status::Unavailable("storage recovering from a failed commit"));
    return;
  }
  snapshot_ = engine_->snapshot();
  owners_.Use(snapshot_, engine_->shards_.size());
  Result<storage::ReadTxn> txn = engine_->env()->BeginRead();
  if (!txn.ok()) {
    fail_all(Status::Unavailable(txn.status().message()));
    return;
  }
  // The dedupe look-ups of the job share one cursor: a feed sends one stream's events close
  // together, and their identities sit side by side in `events`.
  storage::KeyProbe probe(*txn, Db::kEvents);
  IdentityFilter* const filter = filter_.get();
  uint64_t filter_answers = 0, store_lookups = 0, false_positives = 0;
  auto job = std::make_unique<Job>();
  // Memory may now be ahead of the store: drop the job and reload once idle.
  accepted_hashes_.clear();
  auto fail_job = [&](const Status& failure) {
    fail_all(Status::Unavailable(failure.message()));
    for (uint64_t h : job->identity_hashes) pending_.Decrement(h);
    recovering_ = true;
    MaybeFinishRecovery();
  };
  std::vector<uint32_t> forward[64];
  const size_t shard_count = std::min<size_t>(engine_->options().shards, 64);
  const int32_t retention = engine_->options().retention_days;
  LedgerEntry* last_entry = nullptr;
  std::string_view last_customer;
  rating::Month last_month{-1};
  char expiry[storage::kEventValueSize];
  std::optional<rating::Date> expiry_date;  // the date expiry and expiry_month are of
  rating::Month expiry_month{-1};

  for (UsageItem& item : items) {
    const std::shared_ptr<UsageRequest>& request = item.request;
    UsagePart& part = job->parts.emplace_back();
    part.request = request;
    // The identities' hashes first, so the in-flight table's slot and the filter's word of an
    // event can be prefetched a few events ahead: each is a likely cache miss, and overlapped
    // they cost a fraction of one after another.
    // Each identity key is built once, here, and kept for the loop below.
    identity_hashes_.clear();
    identity_keys_.clear();
    identity_key_ends_.clear();
    for (uint32_t index : item.events) {
      const ingest::UsageEvent& ev = request->batch.events()[index];
      kb_.Clear();
      keys::Event(&kb_, ev.entitlement_id, ev.id);
      identity_hashes_.push_back(storage::HashForKey(kb_.view()));
      identity_keys_.append(kb_.view());
      identity_key_ends_.push_back(static_cast<uint32_t>(identity_keys_.size()));
    }
    for (size_t pos = 0; pos < item.events.size(); ++pos) {
      if (pos + IdentityFilter::kPrefetchAhead < identity_hashes_.size()) {
        const storage::KeyHash& ahead = identity_hashes_[pos + IdentityFilter::kPrefetchAhead];
        pending_.Prefetch(ahead.lo);
        if (filter) filter->Prefetch(ahead);
      }
      const uint32_t index = item.events[pos];
      const ingest::UsageEvent& ev = request->batch.events()[index];
      const OwnerCache::Owner owner = owners_.Resolve(ev.entitlement_id);
      const rating::Customer* cust = owner.customer;
      const size_t owner_shard = owner.shard;
      if (owner_shard != index_) {  // the reference data moved it since routing
        forward[owner_shard % shard_count].push_back(index);
        continue;
      }
      const size_t key_begin = pos == 0 ? 0 : identity_key_ends_[pos - 1];
      const std::string_view identity(identity_keys_.data() + key_begin,
                                      identity_key_ends_[pos] - key_begin);
      const storage::KeyHash key_hash = identity_hashes_[pos];
      const uint64_t hash = key_hash.lo;
      bool duplicate = false;
      if (pending_.Contains(hash) && InFlightContains(identity, hash, job.get())) {
        duplicate = true;
      } else if (filter && !filter->MayContain(key_hash)) {
        ++filter_answers;  // never stored: no tree look-up
      } else {
        Result<bool> stored = probe.Contains(identity);
        if (!stored.ok()) {
          fail_job(stored.status());
          return;
        }
        duplicate = *stored;
        ++store_lookups;
        if (filter && !duplicate) ++false_positives;
      }
      if (duplicate) {
        ++job->duplicates;
        ++part.duplicates;
        continue;
      }
      // The job's identities string lives (at a stable offset) until pending_ forgets hash.
      const size_t offset = job->identities.size();
      AppendLength(&job->identities, identity);
      pending_.Increment(hash, offset <= UINT32_MAX
                                   ? HashCounts::Holder{job.get(), static_cast<uint32_t>(offset)}
                                   : HashCounts::Holder{});
      accepted_hashes_.push_back(key_hash);
      job->identity_hashes.push_back(hash);
      if (!expiry_date || ev.usage_date != *expiry_date) {  // a job's events share few dates
        expiry_date = ev.usage_date;
        storage::PutU32BE(ExpiryDay(ev.usage_date, retention), expiry);
        expiry_month = rating::MonthOf(ev.usage_date);
      }
      job->writes.Put(Db::kEvents, identity, std::string_view(expiry, sizeof expiry));
      ++job->accepted;
      ++part.accepted;

      if (cust) {
        const rating::Month month = expiry_month;
        LedgerEntry* entry = last_entry;
        if (!entry || month != last_month || last_customer != cust->customer_id) {
          Result<LedgerEntry*> got = GetLedger(*txn, cust->customer_id, month);
          if (!got.ok()) {
            fail_job(got.status());
            return;
          }
          entry = *got;
          last_entry = entry;
          last_customer = cust->customer_id;
          last_month = month;
        }
        entry->ledger.AddQuantity(
            rating::LineKey{ev.entitlement_id, ev.meter_id, ev.resource_uri, ev.usage_date},
            ev.quantity);
        if (!entry->touched) {
          entry->touched = true;
          touched_.push_back(entry);
        }
      } else {
        kb_.Clear();
        keys::UnknownLine(&kb_, ev.entitlement_id, ev.meter_id, DateKey(ev.usage_date),
                          ev.resource_uri);
        std::string key(kb_.view());
        auto it = unknown_.find(key);
        if (it == unknown_.end()) {
          Decimal stored_qty;
          Status st = ReadJournal()
                          ? storage::GetWithJournal(*txn, Db::kUnknownLines, key, &scratch_)
                          : txn->Get(Db::kUnknownLines, key, &scratch_);
          if (st.ok()) {
            std::string ignored_uri;
            st = DecodeUnknownLine(scratch_, &stored_qty, &ignored_uri);
          } else if (st.code() == StatusCode::kNotFound) {
            st = Status::Ok();
          }
          if (!st.ok()) {
            fail_job(st);
            return;
          }
          it = unknown_.emplace(key, stored_qty).first;
        }
        it->second += ev.quantity;
        EncodeUnknownLine(it->second, ev.resource_uri, &scratch_);
        job->writes.Put(Db::kUnknownLines, key, scratch_);
        ++job->line_writes[static_cast<size_t>(rating::UnratedReason::kUnknownEntitlement)];
      }
    }
    // Events the reference data moved to another shard since routing: their own slices there.
    for (size_t s = 0; s < shard_count; ++s) {
      if (forward[s].empty()) continue;
      request->parts_pending.fetch_add(1, std::memory_order_acq_rel);
      Shard* target = engine_->shards_[s].get();
      auto forwarded = std::make_shared<std::vector<UsageItem>>(1);
      (*forwarded)[0] = UsageItem{request, std::move(forward[s])};
      forward[s] = {};
      target->PostControl([target, forwarded] { target->ProcessUsage(*forwarded); });
    }
  }

  // Into the filters after rating rather than one by one amid it, where each locked OR waited
  // for the rating's stores to drain and that wait was most of the insert. The job's
  // identities stay in pending_ until folded, so nothing needs them in a filter sooner.
  if (filter) filter->InsertAll(accepted_hashes_);
  if (next_filter_) next_filter_->InsertAll(accepted_hashes_);
  accepted_hashes_.clear();
  auto& counters = engine_->counters_;
  counters.dedupe_filter_answers.fetch_add(filter_answers, std::memory_order_relaxed);
  counters.dedupe_store_lookups.fetch_add(store_lookups, std::memory_order_relaxed);
  counters.dedupe_filter_false_positives.fetch_add(false_positives, std::memory_order_relaxed);
  if (next_filter_) next_filter_->CountInserted(job->accepted);
  if (filter) {
    filter->CountInserted(job->accepted);
    if (filter->Full() && !next_filter_) engine_->RequestIdentityFilterRebuild();
  }

  uint64_t changed = 0;
  Status st = SettleTouched(*txn, job.get(), &changed);
  txn = Status::Internal("released");  // end the read txn before handing the job off
  if (!st.ok()) {
    fail_job(st);
    return;
  }
  if (job->writes.empty()) {
    // Nothing to commit (every event a duplicate): count them here, as OnCommitted would, or
    // a re-sent batch shows no duplicates in the metrics at all.
    engine_->counters_.events_duplicate.fetch_add(job->duplicates, std::memory_order_relaxed);
    for (const UsagePart& p : job->parts) {
      FinishPart(p.request, Status::Ok(), p.accepted, p.duplicates);
    }
    return;
  }
  Submit(std::move(job));
}

Result<Shard::LedgerEntry*> Shard::GetLedger(storage::ReadTxn& txn, std::string_view customer_id,
                                             rating::Month month) {
  LedgerKeyInto(&ledger_key_, customer_id, month);
  auto it = ledgers_.find(ledger_key_);
  if (it != ledgers_.end()) return it->second.get();
  std::string key = ledger_key_;
  auto entry = std::make_unique<LedgerEntry>(std::string(customer_id), month);
  kb_.Clear();
  keys::LineMonthPrefix(&kb_, customer_id, MonthKey(month));
  std::string prefix(kb_.view());
  Status decode_status;
  StoredLine stored;
  auto visit = [&](std::string_view k, std::string_view v) {
    storage::KeyReader reader(k.substr(prefix.size()));
    std::string meter, entitlement, resource;
    uint32_t date = 0;
    bool truncated = false;
    if (!reader.ReadString(&meter) || !reader.ReadU32(&date) || !reader.ReadString(&entitlement) ||
        !reader.ReadTrailingString(&resource, &truncated)) {
      decode_status = Status::Corruption("line key");
      return storage::ScanStep::kStop;
    }
    decode_status = DecodeLine(v, &stored);
    if (!decode_status.ok()) return storage::ScanStep::kStop;
    if (!stored.resource_uri.empty()) resource = stored.resource_uri;
    entry->ledger.LoadLine(
        rating::LineKey{entitlement, meter, resource, rating::Date{static_cast<int32_t>(date)}},
        stored.quantity, &stored.rated);
    return storage::ScanStep::kContinue;
  };
  Status st = ReadJournal() ? storage::ScanWithJournal(txn, Db::kLines, prefix,
                                                      storage::ScanBound::Prefix(prefix), visit)
                            : txn.ScanPrefix(Db::kLines, prefix, visit);
  if (!st.ok()) return st;
  if (!decode_status.ok()) return decode_status;
  // Fired budget marks of this (customer, month).
  std::vector<rating::FiredMark> marks;
  for (auto [fkind, akind] : {std::pair{storage::FiredKind::kBudgetActual, rating::AlertKind::kBudgetActual},
                              std::pair{storage::FiredKind::kBudgetForecast, rating::AlertKind::kBudgetForecast}}) {
    kb_.Clear();
    kb_.AddU8(static_cast<uint8_t>(fkind)).AddString(customer_id).AddU32(MonthKey(month));
    std::string fprefix(kb_.view());
    // A copy: clang before 16 cannot capture a structured binding in a lambda.
    const rating::AlertKind kind = akind;
    st = txn.ScanPrefix(Db::kFired, fprefix, [&](std::string_view k, std::string_view) {
      storage::KeyReader reader(k.substr(fprefix.size()));
      uint64_t nanos = 0;
      if (reader.ReadU64(&nanos)) {
        marks.push_back({kind, Decimal::FromNanos(static_cast<rating::int128>(nanos))});
      }
      return storage::ScanStep::kContinue;
    });
    if (!st.ok()) return st;
  }
  entry->fired = rating::FiredMarks(std::move(marks));
  entry->counted_lines = entry->ledger.line_count();
  lines_in_cache_ += entry->counted_lines;
  LedgerEntry* raw = entry.get();
  ledgers_.emplace(std::move(key), std::move(entry));
  PublishCacheSizes();
  return raw;
}

Result<const std::optional<rating::Budget>*> Shard::GetBudget(storage::ReadTxn& txn,
                                                              const std::string& customer_id) {
  auto it = budgets_.find(customer_id);
  if (it != budgets_.end()) return &it->second;
  kb_.Clear();
  kb_.AddTrailingString(customer_id);
  std::optional<rating::Budget> budget;
  Status st = txn.Get(Db::kBudgets, kb_.view(), &scratch_);
  if (st.ok()) {
    rating::Budget b;
    METERD_RETURN_IF_ERROR(DecodeBudget(scratch_, &b));
    budget = std::move(b);
  } else if (st.code() != StatusCode::kNotFound) {
    return st;
  }
  return &budgets_.emplace(customer_id, std::move(budget)).first->second;
}

void Shard::AddAlert(Job* job, rating::AlertKind kind, std::optional<rating::Basis> basis,
                     std::string_view customer_id, std::string json_members) {
  StoredAlert alert;
  alert.kind = kind;
  alert.basis = basis;
  alert.customer_id = std::string(customer_id);
  alert.json_members = std::move(json_members);
  EncodeAlert(alert, &scratch_);
  job->writes.AppendAlert(scratch_);
  ++job->alerts;
}

namespace {

// `"kind":…` members of an alert, without braces and without "id".
std::string AlertMembers(rating::AlertKind kind, std::string_view customer_id,
                         std::optional<std::string_view> entitlement_id, rating::Month month,
                         std::optional<rating::Date> date, std::optional<Decimal> threshold,
                         std::optional<Decimal> amount, std::optional<Decimal> spend,
                         std::optional<Decimal> percent, std::string_view currency,
                         std::string_view detail, rating::Timestamp created_at) {
  std::string out;
  http::JsonWriter w(&out);
  w.BeginObject();
  w.Field("kind", rating::AlertKindName(kind));
  w.Field("customer_id", customer_id);
  if (entitlement_id) w.Field("entitlement_id", *entitlement_id); else w.Field("entitlement_id", nullptr);
  w.Field("month", rating::FormatMonth(month));
  if (date) w.Field("date", rating::FormatDate(*date)); else w.Field("date", nullptr);
  w.Key("threshold");
  if (threshold) w.RawValue(rating::FormatThreshold(*threshold)); else w.Null();
  if (amount) w.Field("amount", *amount); else w.Field("amount", nullptr);
  if (spend) w.Field("spend", *spend); else w.Field("spend", nullptr);
  if (percent) w.Field("percent", *percent); else w.Field("percent", nullptr);
  w.Field("currency", currency);
  w.Field("detail", detail);
  w.Field("created_at", rating::FormatRfc3339(created_at));
  w.EndObject();
  // Strip the braces: the reader prepends "id".
  return out.substr(1, out.size() - 2);
}

}  // namespace

Status Shard::EvaluateBudget(storage::ReadTxn& txn, LedgerEntry* entry,
                             const rating::MonthTotals& totals, Job* job) {
  const std::string& customer = entry->ledger.customer_id();
  Result<const std::optional<rating::Budget>*> budget = GetBudget(txn, customer);
  if (!budget.ok()) return budget.status();
  if (!**budget) return Status::Ok();
  const rating::Budget& b = ***budget;
  rating::Month month = entry->ledger.month();
  rating::Timestamp now = engine_->Now();
  Decimal spend = rating::SpendOnBasis(b.basis, totals.list, totals.billed);
  Decimal forecast = rating::Forecast(spend, month, now).value_or(spend);
  rating::EvaluateThresholds(b, spend, forecast, entry->fired, &crossings_);
  std::string currency(totals.currency.view());
  if (currency.empty() && snapshot_) {
    if (const rating::Customer* c = snapshot_->FindCustomer(customer)) {
      currency = std::string(snapshot_->BillingCurrency(*c));
    }
  }
  for (const rating::BudgetCrossing& c : crossings_) {
    entry->fired.Insert(c.kind, c.threshold);
    kb_.Clear();
    keys::FiredThreshold(&kb_,
                         c.kind == rating::AlertKind::kBudgetActual ? storage::FiredKind::kBudgetActual
                                                                    : storage::FiredKind::kBudgetForecast,
                         customer, MonthKey(month), static_cast<uint64_t>(c.threshold.nanos()));
    job->writes.Put(Db::kFired, kb_.view(), {});
    std::string detail = std::string(c.kind == rating::AlertKind::kBudgetActual
                                         ? "month-to-date spend reached "
                                         : "forecast spend reaches ") +
                         rating::FormatThreshold(c.threshold) + "% of the " +
                         std::string(rating::BasisName(b.basis)) + " budget";
    AddAlert(job, c.kind, b.basis, customer,
             AlertMembers(c.kind, customer, std::nullopt, month, std::nullopt, c.threshold, c.amount,
                          c.spend, c.percent, currency, detail, now));
  }
  return Status::Ok();
}

Status Shard::SettleTouched(storage::ReadTxn& txn, Job* job, uint64_t* changed_lines) {
  Status result;
  rating::Timestamp now = engine_->Now();
  for (LedgerEntry* entry : touched_) {
    entry->touched = false;
    // Whatever happens below, the next submitted job may carry this ledger's changes.
    entry->last_job = next_job_seq_;
    entry->used_since_review = true;
    if (!result.ok()) continue;
    rating::MonthLedger& ledger = entry->ledger;
    settle_.Clear();
    ledger.Settle(snapshot_, engine_->options().rating, &settle_);
    lines_in_cache_ += ledger.line_count() - entry->counted_lines;
    entry->counted_lines = ledger.line_count();
    const std::string& customer = ledger.customer_id();
    uint32_t month = MonthKey(ledger.month());
    StoredLine stored;
    for (rating::LineId id : settle_.changed) {
      rating::LineView v = ledger.line(id);
      kb_.Clear();
      keys::Line(&kb_, customer, month, v.meter_id, DateKey(v.usage_date), v.entitlement_id,
                 v.resource_uri);
      stored.quantity = v.quantity;
      stored.rated = *v.rated;
      // Readers take the URI from the key unless the value has one: only a key that kept a
      // prefix of it needs it again, the rest would write it twice per line and commit.
      stored.resource_uri.assign(kb_.truncated() ? v.resource_uri : std::string_view());
      EncodeLine(stored, &scratch_);
      job->writes.Put(Db::kLines, kb_.view(), scratch_);
      ++job->line_writes[static_cast<size_t>(stored.rated.reason)];
    }
    *changed_lines += settle_.changed.size();
    anomaly_.OnSettled(ledger, settle_);
    ledger.Totals(&totals_.totals);
    totals_.as_of = now;
    kb_.Clear();
    keys::Totals(&kb_, customer, month);
    EncodeTotals(totals_, &scratch_);
    job->writes.Put(Db::kTotals, kb_.view(), scratch_);

    // pec_lost: once per (entitlement, day), on the first commit leaving a rated lost line.
    for (const rating::PecLostDay& day : settle_.pec_lost) {
      kb_.Clear();
      keys::FiredDay(&kb_, storage::FiredKind::kPecLost, day.entitlement_id, DateKey(day.date));
      std::string mark(kb_.view());
      if (pec_lost_fired_.count(mark)) continue;
      Result<bool> fired = txn.Contains(Db::kFired, mark);
      if (!fired.ok()) { result = fired.status(); break; }
      pec_lost_fired_.emplace(mark, next_job_seq_);
      if (*fired) continue;
      job->writes.Put(Db::kFired, mark, {});
      std::string detail = "partner earned credit lost on " + rating::FormatDate(day.date) +
                           " (no full-day admin access): " + day.lost_bc.ToString() + " " +
                           std::string(day.currency.view()) + " so far";
      AddAlert(job, rating::AlertKind::kPecLost, std::nullopt, customer,
               AlertMembers(rating::AlertKind::kPecLost, customer, day.entitlement_id,
                            ledger.month(), day.date, std::nullopt, std::nullopt, day.lost_bc,
                            std::nullopt, day.currency.view(), detail, now));
    }
    if (!result.ok()) continue;
    result = EvaluateBudget(txn, entry, totals_.totals, job);
  }
  touched_.clear();
  PublishCacheSizes();
  // Once every touched ledger settled: a day's history may lie in another month of this job.
  Status anomaly = anomaly_.Evaluate(txn, snapshot_.get(), now, &job->writes, &job->alerts);
  return result.ok() ? anomaly : result;
}

Status Shard::SettleTouchedIfOk(storage::ReadTxn& txn, Job* job, Status gathered) {
  if (!gathered.ok()) {
    for (LedgerEntry* e : touched_) e->touched = false;
    touched_.clear();
    return gathered;
  }
  uint64_t changed = 0;
  return SettleTouched(txn, job, &changed);
}

// ---------------------------------------------------------------- commits

void Shard::Submit(std::unique_ptr<Job> job) {
  Job* raw = job.release();
  raw->seq = next_job_seq_++;
  inflight_.push_back(raw);
  storage::WriteJob wj;
  wj.apply = [this, raw](storage::WriteTxn& txn) -> Status {
    if (broken_.load(std::memory_order_acquire)) {
      return Status::Unavailable("an earlier write of this shard failed");
    }
    Status st = raw->writes.Apply(txn);
    // A failure of the transaction itself (fatal_rc: a full map the writer grows and reruns the
    // batch for, or a broken store that fails the whole batch) is not this job's own: done
    // reports the final outcome. Marking the shard broken here would fail the rerun.
    if (!st.ok() && txn.fatal_rc() == 0) broken_.store(true, std::memory_order_release);
    return st;
  };
  wj.done = [this, raw](const storage::CommitResult& result) {
    if (!result.status.ok()) broken_.store(true, std::memory_order_release);
    Status status = result.status;
    if (result.status.ok() && raw->alerts > 0) engine_->NotifyCommit();
    PostControl([this, raw, status, txn_id = result.txn_id] { OnCommitted(raw, status, txn_id); });
  };
  // Usage jobs come with the slot Run reserved; other jobs (control work) are rare and may be
  // refused, which fails them like a failed commit.
  const bool reserved = std::exchange(writer_slot_, false);
  Status st = engine_->writer_->Submit(std::move(wj), reserved);
  if (!st.ok()) {
    // Never queued: done will not run. Memory already holds this job's effects.
    broken_.store(true, std::memory_order_release);
    OnCommitted(raw,
                st.code() == StatusCode::kResourceExhausted
                    ? Status::ResourceExhausted("storage writer queue full")
                    : Status::Unavailable(st.message()),
                0);
  }
}

void Shard::OnCommitted(Job* job, const Status& status, uint64_t txn_id) {
  std::unique_ptr<Job> owned(job);
  inflight_.erase(std::find(inflight_.begin(), inflight_.end(), job));
  if (!status.ok()) {
    for (uint64_t h : job->identity_hashes) pending_.Decrement(h);
  }
  if (status.ok()) {
    engine_->counters_.events_accepted.fetch_add(job->accepted, std::memory_order_relaxed);
    engine_->counters_.events_duplicate.fetch_add(job->duplicates, std::memory_order_relaxed);
    engine_->counters_.alerts_fired.fetch_add(job->alerts, std::memory_order_relaxed);
    for (size_t i = 0; i < kLineStatusCount; ++i) {
      if (job->line_writes[i] != 0) {
        engine_->counters_.line_writes[i].fetch_add(job->line_writes[i], std::memory_order_relaxed);
      }
    }
  } else {
    ++failures_;
    recovering_ = true;
    engine_->counters_.usage_failed_storage.fetch_add(1, std::memory_order_relaxed);
  }
  if (!job->parts.empty()) {
    // Any storage failure, a full one included, answers 503 (with Retry-After).
    const Status answer = status.ok() ? status : Status::Unavailable(status.message());
    for (const UsagePart& p : job->parts) FinishPart(p.request, answer, p.accepted, p.duplicates);
  }
  if (job->done) job->done(status);
  if (status.ok()) {
    // Its identities stay visible to dedupe, and its ledgers cached, until the journal record
    // holding its writes is folded; the rest of it can go now.
    job->txn_id = txn_id;
    job->writes = WriteSet{};
    job->parts = {};
    job->done = nullptr;
    unfolded_.push_back(owned.release());
  }
  ReleaseFolded();
  MaybeFinishRecovery();
  if (inflight_.empty()) {
    while (!idle_waiters_.empty()) {
      auto fn = std::move(idle_waiters_.front());
      idle_waiters_.pop_front();
      fn();
      if (!inflight_.empty()) break;  // the waiter submitted work: wait for it again
    }
  }
}

void Shard::ReleaseFolded() {
  const uint64_t folded = engine_->writer_->folded_through();
  while (!unfolded_.empty() && unfolded_.front()->txn_id <= folded) {
    std::unique_ptr<Job> job(unfolded_.front());
    unfolded_.pop_front();
    pending_.DecrementAll(job->identity_hashes);
  }
  if (read_journal_through_ != 0 && OldestUnfoldedSeq() > read_journal_through_) {
    read_journal_through_ = 0;
    anomaly_.set_read_journal(false);
  }
}

uint64_t Shard::OldestUnfoldedSeq() const {
  uint64_t oldest = inflight_.empty() ? UINT64_MAX : inflight_.front()->seq;
  if (!unfolded_.empty()) oldest = std::min(oldest, unfolded_.front()->seq);
  return oldest;
}

void Shard::MaybeFinishRecovery() {
  ReleaseFolded();
  if (!recovering_ || !inflight_.empty()) return;
  // Committed jobs whose journal is not folded yet keep their identities in pending_ (they are
  // the truth); what memory reloads meanwhile is read through the journal.
  if (!unfolded_.empty()) {
    read_journal_through_ = unfolded_.back()->seq;
    anomaly_.set_read_journal(true);
  }
  // Memory may hold effects the store lacks: forget everything and reload lazily.
  ledgers_.clear();
  lines_in_cache_ = 0;
  PublishCacheSizes();
  touched_.clear();
  budgets_.clear();
  pec_lost_fired_.clear();
  anomaly_.Clear();
  unknown_.clear();
  broken_.store(false, std::memory_order_release);
  recovering_ = false;
}

// ---------------------------------------------------------------- re-rating and budgets

void Shard::ReviewForecasts() {
  if (recovering_) return;
  const rating::Month month = rating::MonthOf(rating::DateOf(engine_->Now()));
  if (reviewed_month_ == month) return;
  snapshot_ = engine_->snapshot();
  Result<storage::ReadTxn> txn = engine_->env()->BeginRead();
  if (!txn.ok()) return;  // retried at the next tick
  std::vector<std::string> customers;
  Status st = txn->ScanPrefix(Db::kBudgets, {}, [&](std::string_view k, std::string_view) {
    std::string customer;
    bool truncated = false;
    if (!storage::KeyReader(k).ReadTrailingString(&customer, &truncated) || truncated ||
        engine_->ShardOf(customer) != index_) {
      return storage::ScanStep::kContinue;
    }
    customers.push_back(std::move(customer));
    return storage::ScanStep::kContinue;
  });
  auto job = std::make_unique<Job>();
  for (const std::string& customer : customers) {
    if (!st.ok()) break;
    kb_.Clear();
    keys::Totals(&kb_, customer, MonthKey(month));
    Result<bool> stored = txn->Contains(Db::kTotals, kb_.view());
    if (!stored.ok()) { st = stored.status(); break; }
    // No stored and no cached spend in the new month: nothing to forecast.
    if (!*stored && ledgers_.find(LedgerKey(customer, month)) == ledgers_.end()) continue;
    Result<LedgerEntry*> entry = GetLedger(*txn, customer, month);
    if (!entry.ok()) { st = entry.status(); break; }
    if (!(*entry)->touched) {
      (*entry)->touched = true;
      touched_.push_back(*entry);
    }
  }
  st = SettleTouchedIfOk(*txn, job.get(), std::move(st));
  txn = Status::Internal("released");
  if (!st.ok()) return;  // nothing submitted; the next tick tries again
  reviewed_month_ = month;
  if (!job->writes.empty()) Submit(std::move(job));
}

void Shard::PublishCacheSizes() {
  cached_ledgers_.store(ledgers_.size(), std::memory_order_relaxed);
  cached_lines_.store(lines_in_cache_, std::memory_order_relaxed);
}

void Shard::EvictColdState() {
  if (recovering_) return;
  const rating::Month keep_from = rating::PreviousMonth(rating::MonthOf(rating::DateOf(engine_->Now())));
  // A ledger whose last job is in flight, or committed but not folded from the journal, holds
  // changes the lines database lacks: reloading it now would lose them.
  const uint64_t oldest_inflight = OldestUnfoldedSeq();
  for (auto it = ledgers_.begin(); it != ledgers_.end();) {
    LedgerEntry& entry = *it->second;
    const rating::Month month = entry.ledger.month();
    if (month.index >= keep_from.index || entry.touched) {
      ++it;
      continue;
    }
    if (entry.used_since_review || entry.last_job >= oldest_inflight) {
      entry.used_since_review = false;
      ++it;
      continue;
    }
    // The anomaly history of a ledger-fed month indexes this ledger's line ids.
    anomaly_.ForgetMonth(entry.ledger.customer_id(), month);
    lines_in_cache_ -= entry.counted_lines;
    it = ledgers_.erase(it);
  }
  anomaly_.ForgetHistoryBefore(keep_from, [&](const std::string& customer, rating::Month month) {
    return ledgers_.count(LedgerKey(customer, month)) != 0;
  });
  // pec_lost marks are a cache of the fired table (date: the key's last 4 bytes); a mark whose
  // job is in flight is not in the table yet.
  const uint32_t keep_day = DateKey(rating::FirstDayOf(keep_from));
  for (auto it = pec_lost_fired_.begin(); it != pec_lost_fired_.end();) {
    const std::string& mark = it->first;
    if (mark.size() >= 4 && storage::GetU32BE(mark.data() + mark.size() - 4) < keep_day &&
        it->second < oldest_inflight) {
      it = pec_lost_fired_.erase(it);
    } else {
      ++it;
    }
  }
  PublishCacheSizes();
}

Result<std::vector<rating::Month>> Shard::MonthsOf(storage::ReadTxn& txn,
                                                   const std::string& customer) {
  std::vector<rating::Month> months;
  kb_.Clear();
  kb_.AddString(customer);
  std::string prefix(kb_.view());
  Status st = txn.ScanPrefix(Db::kTotals, prefix, [&](std::string_view k, std::string_view) {
    if (k.size() == prefix.size() + 4) {
      months.push_back(rating::Month{static_cast<int32_t>(storage::GetU32BE(k.data() + prefix.size()))});
    }
    return storage::ScanStep::kContinue;
  });
  if (!st.ok()) return st;
  std::string cached_prefix = customer;
  cached_prefix.push_back('\0');
  for (const auto& [key, entry] : ledgers_) {
    if (key.size() == cached_prefix.size() + 4 && key.compare(0, cached_prefix.size(), cached_prefix) == 0) {
      months.push_back(entry->ledger.month());
    }
  }
  std::sort(months.begin(), months.end());
  months.erase(std::unique(months.begin(), months.end()), months.end());
  return months;
}

Status Shard::Rerate(const std::vector<std::string>& customers,
                     const std::vector<std::string>& adopt, uint64_t* rerated) {
  snapshot_ = engine_->snapshot();
  Result<storage::ReadTxn> txn = engine_->env()->BeginRead();
  if (!txn.ok()) return txn.status();
  auto job = std::make_unique<Job>();
  Status st;
  // Adopting moves quantities into ledgers and out of unknown_ before anything commits: after
  // any failure memory may hold what the store lacks, so the shard reloads once idle.
  auto fail = [this](Status failure) {
    recovering_ = true;
    MaybeFinishRecovery();
    return failure;
  };
  auto touch = [&](const std::string& customer, rating::Month month) -> Result<LedgerEntry*> {
    Result<LedgerEntry*> entry = GetLedger(*txn, customer, month);
    if (entry.ok() && !(*entry)->touched) {
      (*entry)->touched = true;
      touched_.push_back(*entry);
    }
    return entry;
  };
  for (const std::string& customer : customers) {
    Result<std::vector<rating::Month>> months = MonthsOf(*txn, customer);
    if (!months.ok()) return fail(months.status());
    for (rating::Month m : *months) {
      Result<LedgerEntry*> entry = touch(customer, m);
      if (!entry.ok()) return fail(entry.status());
    }
  }
  // Usage of entitlements that just became known moves into their customers' ledgers.
  for (const std::string& ent_id : adopt) {
    const rating::Entitlement* ent = snapshot_->FindEntitlement(ent_id);
    const rating::Customer* cust = ent ? snapshot_->FindCustomer(ent->customer_id) : nullptr;
    if (!cust) continue;
    kb_.Clear();
    kb_.AddString(ent_id);
    std::string prefix(kb_.view());
    std::vector<std::pair<std::string, rating::LineRecord>> moved;
    st = txn->ScanPrefix(Db::kUnknownLines, prefix, [&](std::string_view k, std::string_view v) {
      storage::KeyReader reader(k.substr(prefix.size()));
      rating::LineRecord rec;
      rec.entitlement_id = ent_id;
      uint32_t date = 0;
      bool truncated = false;
      Decimal q;
      if (!reader.ReadString(&rec.meter_id) || !reader.ReadU32(&date) ||
          !reader.ReadTrailingString(&rec.resource_uri, &truncated) ||
          !DecodeUnknownLine(v, &q, &rec.resource_uri).ok()) {
        return storage::ScanStep::kContinue;  // unreadable record: left in place, logged by stats
      }
      rec.usage_date = rating::Date{static_cast<int32_t>(date)};
      rec.quantity = q;
      moved.emplace_back(std::string(k), std::move(rec));
      return storage::ScanStep::kContinue;
    });
    if (!st.ok()) return fail(st);
    for (auto& [key, rec] : moved) {
      Result<LedgerEntry*> entry = touch(cust->customer_id, rating::MonthOf(rec.usage_date));
      if (!entry.ok()) return fail(entry.status());
      (*entry)->ledger.AddQuantity(rec.key(), rec.quantity);
      job->writes.Delete(Db::kUnknownLines, key);
      unknown_.erase(key);
    }
  }
  // Cached ledgers of other customers re-resolve lazily at their next settle.
  uint64_t changed = 0;
  st = SettleTouched(*txn, job.get(), &changed);
  txn = Status::Internal("released");
  if (!st.ok()) return fail(st);
  *rerated += changed;
  if (!job->writes.empty()) Submit(std::move(job));
  return Status::Ok();
}

Result<std::optional<rating::Budget>> Shard::CachedBudget(const std::string& customer_id) {
  Result<storage::ReadTxn> txn = engine_->env()->BeginRead();
  if (!txn.ok()) return txn.status();
  Result<const std::optional<rating::Budget>*> b = GetBudget(*txn, customer_id);
  if (!b.ok()) return b.status();
  return **b;
}

void Shard::SetBudget(const std::string& customer_id, std::optional<rating::Budget> budget,
                      std::function<void(Status)> done) {
  if (recovering_) {
    done(Status::Unavailable("storage recovering from a failed commit"));
    return;
  }
  snapshot_ = engine_->snapshot();
  Result<storage::ReadTxn> txn = engine_->env()->BeginRead();
  if (!txn.ok()) { done(txn.status()); return; }
  Result<const std::optional<rating::Budget>*> previous_ptr = GetBudget(*txn, customer_id);
  if (!previous_ptr.ok()) { done(previous_ptr.status()); return; }
  std::optional<rating::Budget> previous = **previous_ptr;
  auto job = std::make_unique<Job>();
  kb_.Clear();
  kb_.AddTrailingString(customer_id);
  std::string budget_key(kb_.view());
  if (budget) {
    EncodeBudget(*budget, &scratch_);
    job->writes.Put(Db::kBudgets, budget_key, scratch_);
  } else {
    job->writes.Delete(Db::kBudgets, budget_key);
  }
  budgets_[customer_id] = budget;
  Status st;
  if (budget) {
    Result<std::vector<rating::Month>> months = MonthsOf(*txn, customer_id);
    if (!months.ok()) {  // budgets_ already moved ahead of the store
      recovering_ = true;
      MaybeFinishRecovery();
      done(months.status());
      return;
    }
    rating::Timestamp now = engine_->Now();
    for (rating::Month m : *months) {
      Result<LedgerEntry*> entry = GetLedger(*txn, customer_id, m);
      if (!entry.ok()) { st = entry.status(); break; }
      if (!(*entry)->touched) {
        (*entry)->touched = true;
        touched_.push_back(*entry);
      }
      // Re-arm before the settle evaluates thresholds (§8.16, §8.28, §8.38). Totals reflect
      // the last settle; a pending settle would only add to them, which the evaluation sees.
      rating::MonthTotals totals = (*entry)->ledger.Totals();
      Decimal spend = rating::SpendOnBasis(budget->basis, totals.list, totals.billed);
      Decimal forecast = rating::Forecast(spend, m, now).value_or(spend);
      std::vector<rating::FiredMark> rearmed;
      rating::RearmOnBudgetChange(previous, *budget, spend, forecast, &(*entry)->fired, &rearmed);
      for (const rating::FiredMark& mark : rearmed) {
        kb_.Clear();
        keys::FiredThreshold(&kb_,
                             mark.kind == rating::AlertKind::kBudgetActual
                                 ? storage::FiredKind::kBudgetActual
                                 : storage::FiredKind::kBudgetForecast,
                             customer_id, MonthKey(m), static_cast<uint64_t>(mark.threshold.nanos()));
        job->writes.Delete(Db::kFired, kb_.view());
      }
    }
    st = SettleTouchedIfOk(*txn, job.get(), std::move(st));
  }
  txn = Status::Internal("released");
  if (!st.ok()) {
    recovering_ = true;
    MaybeFinishRecovery();
    done(st);
    return;
  }
  job->done = std::move(done);
  Submit(std::move(job));
}

}  // namespace meterd::core
