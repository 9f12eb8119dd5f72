#include "daemon/core/engine.h"

#include <algorithm>
#include <future>
#include <set>

#include "common/thread_name.h"
#include "daemon/core/identity_filter.h"
#include "daemon/core/owner_cache.h"
#include "daemon/core/records.h"
#include "daemon/core/reference_codec.h"
#include "daemon/core/shard.h"
#include "daemon/ingest/json_fields.h"
#include "daemon/lifecycle/log.h"
#include "storage/journal.h"
#include "storage/schema.h"

namespace meterd::core {
namespace {

using storage::Db;
namespace keys = storage::keys;

constexpr std::string_view kRerateMarker = "rerate_pending";
// A dedupe filter is doubled this many times in a row before the next is built from the store.
constexpr int kFilterDoublingsBetweenScans = 1;
// Keys the dedupe filter's builder reads per read transaction (well under a millisecond).
constexpr size_t kFilterScanKeysPerTxn = 4096;
// How long a re-rating waits for the writer to fold the journal before it gives up.
constexpr std::chrono::seconds kFoldWait{30};

// Blocks until `count` shard tasks reported; keeps the first error.
class Latch {
 public:
  explicit Latch(size_t count) : remaining_(count) {}
  void Done(const Status& st) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!st.ok() && status_.ok()) status_ = st;
    if (--remaining_ == 0) cv_.notify_all();
  }
  Status Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return remaining_ == 0; });
    return status_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  size_t remaining_;
  Status status_;
};

std::string MetaKey(std::string_view name) { return std::string(name); }

Status UpsertInto(rating::ReferenceBuilder& builder, const ingest::ReferenceEntity& entity) {
  return std::visit(
      [&](const auto& e) -> Status {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, rating::Partner>) return builder.UpsertPartner(e);
        else if constexpr (std::is_same_v<T, rating::Reseller>) return builder.UpsertReseller(e);
        else if constexpr (std::is_same_v<T, rating::Customer>) return builder.UpsertCustomer(e);
        else if constexpr (std::is_same_v<T, rating::Entitlement>) return builder.UpsertEntitlement(e);
        else return builder.UpsertGrant(e);
      },
      entity);
}


}  // namespace

Engine::Engine(storage::Env* env, storage::Writer* writer, EngineOptions options)
    : env_(env), writer_(writer), options_(std::move(options)),
      snapshot_(rating::ReferenceSnapshot::Empty()) {
  for (int i = 0; i < std::max(1, options_.shards); ++i) {
    shards_.push_back(std::make_unique<Shard>(this, static_cast<size_t>(i)));
  }
}

Engine::~Engine() { Stop(); }

size_t Engine::ShardOf(std::string_view owner_key) const {
  return ShardOfOwner(owner_key, shards_.size());
}

Status Engine::Start() {
  METERD_RETURN_IF_ERROR(LoadSnapshotFromStore());
  for (auto& s : shards_) s->Start();
  started_ = true;
  // A re-rating interrupted by a crash is finished before anything is served.
  Result<storage::ReadTxn> txn = env_->BeginRead();
  if (!txn.ok()) return txn.status();
  Result<bool> pending = txn->Contains(Db::kMeta, MetaKey(kRerateMarker));
  txn = Status::Internal("released");
  if (!pending.ok()) return pending.status();
  if (*pending) {
    std::lock_guard<std::mutex> lock(control_mu_);
    uint64_t rerated = 0;
    METERD_RETURN_IF_ERROR(Rerate(rating::ReferenceChange{}, /*everything=*/true, &rerated));
    METERD_RETURN_IF_ERROR(writer_->Execute([](storage::WriteTxn& w) {
      Status st = w.Delete(Db::kMeta, MetaKey(kRerateMarker));
      return st.code() == StatusCode::kNotFound ? Status::Ok() : st;
    }));
  }
  if (options_.dedupe_filter_max_bytes > 0) {
    filter_stop_.store(false);
    filter_wanted_ = true;
    filter_thread_ = std::thread([this] { RunIdentityFilterBuilder(); });
  }
  return Status::Ok();
}

void Engine::Stop() {
  if (!started_) return;
  started_ = false;
  // The builder first: it waits on the shards.
  {
    std::lock_guard<std::mutex> lock(filter_mu_);
    filter_stop_.store(true);
  }
  filter_cv_.notify_all();
  if (filter_thread_.joinable()) filter_thread_.join();
  for (auto& s : shards_) s->Stop();
}

// ---------------------------------------------------------------- dedupe filter

void Engine::RequestIdentityFilterRebuild() {
  {
    std::lock_guard<std::mutex> lock(filter_mu_);
    if (filter_wanted_) return;
    filter_wanted_ = true;
  }
  filter_cv_.notify_all();
}

void Engine::RunIdentityFilterBuilder() {
  SetCurrentThreadName("meterd-dedupe");
  (void)MarkCurrentThreadBackground();  // a failure is reported once by main's parse threads
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(filter_mu_);
      filter_cv_.wait(lock, [&] { return filter_wanted_ || filter_stop_.load(); });
      if (filter_stop_.load()) return;
    }
    Status st = BuildIdentityFilter();
    if (filter_stop_.load()) return;
    std::unique_lock<std::mutex> lock(filter_mu_);
    if (st.ok()) {
      filter_wanted_ = false;
      continue;
    }
    // The shards keep asking the store (or the previous filter): correct, only slower.
    counters_.dedupe_filter_build_failures.fetch_add(1, std::memory_order_relaxed);
    lifecycle::LogWarning("dedupe filter build failed (retrying in 10 s): " + st.ToString());
    filter_cv_.wait_for(lock, std::chrono::seconds(10), [&] { return filter_stop_.load(); });
  }
}

Status Engine::BuildIdentityFilter() {
  std::shared_ptr<IdentityFilter> filter;
  bool doubled = false;
  // A full filter is doubled once by copying its words (a pass over memory), and built from
  // the store the time after (a scan of every identity, which also drops purged ones): the
  // doubled filter errs more often, the scan costs far more (docs/storage.md).
  if (active_filter_ && active_filter_->doublings() < kFilterDoublingsBetweenScans &&
      2 * active_filter_->bytes() <= options_.dedupe_filter_max_bytes) {
    filter = IdentityFilter::Doubled(*active_filter_);
    filter->MakeResident();  // the copy fills every word: fault it in here, not in the shards
    // As for a scan: from here the shards' new identities reach the new filter too, so none
    // accepted while the words are copied is missed; every earlier one is in the active one.
    METERD_RETURN_IF_ERROR(Broadcast([&](Shard& s) {
      s.BeginIdentityFilter(filter);
      return Status::Ok();
    }));
    filter->CopyFromHalf(*active_filter_);
    filter->CountInserted(active_filter_->inserted());
    doubled = true;
  } else {
    METERD_RETURN_IF_ERROR(ScanIdentityFilter(&filter));
  }
  METERD_RETURN_IF_ERROR(Broadcast([&](Shard& s) {
    s.ActivateIdentityFilter(filter);
    return Status::Ok();
  }));
  active_filter_ = filter;
  (doubled ? counters_.dedupe_filter_doublings : counters_.dedupe_filter_builds)
      .fetch_add(1, std::memory_order_relaxed);
  counters_.dedupe_filter_bytes.store(filter->bytes(), std::memory_order_relaxed);
  counters_.dedupe_filter_capacity.store(filter->capacity(), std::memory_order_relaxed);
  return Status::Ok();
}

Status Engine::ScanIdentityFilter(std::shared_ptr<IdentityFilter>* built) {
  uint64_t stored = 0;
  {
    Result<storage::ReadTxn> txn = env_->BeginRead();
    if (!txn.ok()) return txn.status();
    Result<uint64_t> count = txn->Count(Db::kEvents);
    if (!count.ok()) return count.status();
    Result<uint64_t> journaled = storage::CountJournalPuts(*txn, Db::kEvents);
    if (!journaled.ok()) return journaled.status();
    stored = *count + *journaled;
  }
  // Twice what the store holds: the filter then takes as many new identities again before
  // the next rebuild, so rebuilding costs a constant share of ingest.
  auto filter = std::make_shared<IdentityFilter>(
      std::max(options_.dedupe_filter_initial_keys, 2 * stored), options_.dedupe_filter_max_bytes);
  // The scan will touch every page of a filter sized for many identities: fault them in on
  // this thread before the shards insert into it (a small store's filter stays lazy).
  if (filter->DenseFor(stored)) filter->MakeResident();
  // From here every identity a shard accepts reaches the new filter, and so do at once those
  // of its jobs not yet folded; the scan below covers everything folded before.
  METERD_RETURN_IF_ERROR(Broadcast([&](Shard& s) {
    s.BeginIdentityFilter(filter);
    return Status::Ok();
  }));
  auto abandon = [&](Status failure) {
    Status ignored = Broadcast([](Shard& s) {
      s.AbandonIdentityFilter();
      return Status::Ok();
    });
    (void)ignored;
    return failure;
  };
  // Every identity folded before the shards began is in the tree, and stays there unless purged;
  // the rest are in their unfolded jobs. So the tree may be read in short transactions, each
  // resuming after the last key of the previous one: a long one would hold up a map growth,
  // and with it every commit and read.
  auto stop = [&] { return filter_stop_.load(std::memory_order_relaxed); };
  uint64_t scanned = 0;
  // Each insert misses the cache: insert kLag keys behind the scan, their blocks prefetched.
  constexpr size_t kLag = 16;
  std::array<storage::KeyHash, kLag> lagging;
  auto insert = [&](std::string_view key) {
    const storage::KeyHash h = storage::HashForKey(key);
    filter->Prefetch(h);
    storage::KeyHash& slot = lagging[scanned % kLag];
    if (scanned >= kLag) filter->Insert(slot);
    slot = h;
    ++scanned;
  };
  std::string resume;
  for (bool more = true; more && !stop();) {
    Result<storage::ReadTxn> txn = env_->BeginRead();
    if (!txn.ok()) return abandon(txn.status());
    more = false;
    size_t in_txn = 0;
    const bool skip_resume = !resume.empty();
    Status st = txn->Scan(Db::kEvents, resume, storage::ScanBound::None(),
                          [&](std::string_view key, std::string_view) {
      if (skip_resume && in_txn == 0 && key == resume) return storage::ScanStep::kContinue;
      insert(key);
      if (++in_txn < kFilterScanKeysPerTxn) {
        return stop() ? storage::ScanStep::kStop : storage::ScanStep::kContinue;
      }
      resume.assign(key);
      more = true;
      return storage::ScanStep::kStop;
    });
    if (!st.ok()) return abandon(st);
  }
  // Belt and braces: the journal's identities are also in the shards' unfolded jobs.
  if (!stop()) {
    Result<storage::ReadTxn> txn = env_->BeginRead();
    if (!txn.ok()) return abandon(txn.status());
    Status st = storage::ForEachJournalPut(*txn, Db::kEvents, [&](std::string_view key) {
      insert(key);
      return storage::ScanStep::kContinue;
    });
    if (!st.ok()) return abandon(st);
  }
  for (size_t i = scanned > kLag ? scanned - kLag : 0; i < scanned; ++i) {
    filter->Insert(lagging[i % kLag]);
  }
  if (stop()) return abandon(Status::Unavailable("stopping"));
  filter->CountInserted(scanned);
  *built = std::move(filter);
  return Status::Ok();
}

void Engine::NotifyCommit() {
  {
    std::lock_guard<std::mutex> lock(alert_mu_);
    alert_epoch_.fetch_add(1, std::memory_order_acq_rel);
  }
  alert_cv_.notify_all();
  if (options_.on_alerts_committed) options_.on_alerts_committed();
}

uint64_t Engine::WaitForAlerts(uint64_t seen_epoch, std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(alert_mu_);
  alert_cv_.wait_for(lock, wait, [&] { return alert_epoch_.load() != seen_epoch; });
  return alert_epoch_.load();
}

// ---------------------------------------------------------------- usage

void Engine::SubmitUsage(std::shared_ptr<UsageRequest> request) {
  const auto& events = request->batch.events();
  counters_.usage_request_events.Observe(events.size());
  if (events.empty()) {
    request->done(Status::Ok(), 0, 0);
    return;
  }
  // One cache per calling thread (the parse pool's). It keeps the last snapshot it saw alive
  // until that thread's next request: one old snapshot per thread at most.
  thread_local OwnerCache owners;
  owners.Use(snapshot(), shards_.size());
  std::vector<std::vector<uint32_t>> parts(shards_.size());
  for (uint32_t i = 0; i < events.size(); ++i) {
    parts[owners.Resolve(events[i].entitlement_id).shard].push_back(i);
  }
  int non_empty = 0;
  for (const auto& p : parts) non_empty += p.empty() ? 0 : 1;
  // One extra count held while posting, so no part can finish the request early.
  request->parts_pending.store(non_empty + 1, std::memory_order_release);
  auto finish_one = [&](const Status& st) {
    if (!st.ok()) {
      std::lock_guard<std::mutex> lock(request->error_mu);
      if (request->error.ok()) request->error = st;
    }
    if (request->parts_pending.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      Status final_status;
      {
        std::lock_guard<std::mutex> lock(request->error_mu);
        final_status = request->error;
      }
      request->done(final_status, request->accepted.load(), request->duplicates.load());
    }
  };
  for (size_t s = 0; s < parts.size(); ++s) {
    if (parts[s].empty()) continue;
    if (!shards_[s]->TryPostUsage(request, std::move(parts[s]))) {
      counters_.usage_rejected_busy.fetch_add(1, std::memory_order_relaxed);
      finish_one(Status::ResourceExhausted("ingest queue full"));
    }
  }
  finish_one(Status::Ok());
}

// ---------------------------------------------------------------- control plumbing

Status Engine::RunOnShard(size_t shard, const std::function<Status(Shard&)>& fn) {
  Latch latch(1);
  Shard* s = shards_[shard].get();
  s->PostControl([&latch, s, &fn] { latch.Done(fn(*s)); });
  return latch.Wait();
}

Status Engine::Broadcast(const std::function<Status(Shard&)>& fn) {
  Latch latch(shards_.size());
  for (auto& shard : shards_) {
    Shard* s = shard.get();
    s->PostControl([&latch, s, &fn] { latch.Done(fn(*s)); });
  }
  return latch.Wait();
}

// ---------------------------------------------------------------- reference data

Status Engine::LoadSnapshotFromStore() {
  Result<storage::ReadTxn> txn = env_->BeginRead();
  if (!txn.ok()) return txn.status();
  std::string ndjson;
  std::string csv(kPriceCsvHeader);
  csv.push_back('\n');
  std::vector<std::pair<std::string, rating::Month>> fx_keys;
  std::vector<std::string> fx_values;
  Status st = txn->Scan(Db::kReference, {}, storage::ScanBound::None(),
                        [&](std::string_view k, std::string_view v) {
    auto type = static_cast<storage::RefType>(static_cast<uint8_t>(k[0]));
    if (type == storage::RefType::kPriceRow) {
      csv.append(v);
      csv.push_back('\n');
    } else if (type == storage::RefType::kFx) {
      storage::KeyReader reader(k.substr(1));
      std::string currency;
      uint32_t month = 0;
      if (reader.ReadString(&currency) && reader.ReadU32(&month)) {
        fx_keys.emplace_back(currency, rating::Month{static_cast<int32_t>(month)});
        fx_values.emplace_back(v);
      }
    } else {
      ndjson.append(v);
      ndjson.push_back('\n');
    }
    return storage::ScanStep::kContinue;
  });
  txn = Status::Internal("released");
  if (!st.ok()) return st;

  rating::ReferenceBuilder builder(rating::ReferenceSnapshot::Empty());
  ingest::ReferenceParser parser;
  ndjson.append(ingest::kJsonPadding, ' ');
  ingest::ReferenceBatch batch;
  parser.ParseNdjson(std::string_view(ndjson.data(), ndjson.size() - ingest::kJsonPadding),
                     &batch);
  if (batch.rejected > 0) return Status::Corruption("stored reference data does not parse");
  for (const ingest::ReferenceLine& line : batch.entities) {
    Status applied = UpsertInto(builder, line.entity);
    // Accepted once already; should a rule have tightened since, only that object is dropped.
    if (!applied.ok()) continue;
  }
  Result<rating::PriceSheet> sheet = rating::ParsePriceSheet(csv);
  if (!sheet.ok()) return sheet.status();
  (void)builder.ApplyPriceUpload(*sheet);
  for (size_t i = 0; i < fx_keys.size(); ++i) {
    rating::FxRate rate;
    if (rating::FxRate::Parse(fx_values[i], &rate) == rating::DecimalError::kOk) {
      (void)builder.UpsertFx(fx_keys[i].first, fx_keys[i].second, rate);
    }
  }
  rating::ReferenceBuilder::Built built = std::move(builder).Build();
  std::atomic_store_explicit(&snapshot_, built.snapshot, std::memory_order_release);
  return Status::Ok();
}

Status Engine::PublishReference(rating::ReferenceBuilder::Built built,
                                std::function<Status(storage::WriteTxn&)> persist,
                                uint64_t* rerated) {
  if (built.change.empty()) {
    // Nothing rates differently, but the records (e.g. names) may have changed.
    METERD_RETURN_IF_ERROR(writer_->Execute(persist));
    std::atomic_store_explicit(&snapshot_, built.snapshot, std::memory_order_release);
    return Status::Ok();
  }
  METERD_RETURN_IF_ERROR(writer_->Execute([&](storage::WriteTxn& txn) {
    METERD_RETURN_IF_ERROR(persist(txn));
    return txn.Put(Db::kMeta, MetaKey(kRerateMarker), "1");
  }));
  std::atomic_store_explicit(&snapshot_, built.snapshot, std::memory_order_release);
  METERD_RETURN_IF_ERROR(Rerate(built.change, /*everything=*/false, rerated));
  return writer_->Execute([](storage::WriteTxn& txn) {
    Status st = txn.Delete(Db::kMeta, MetaKey(kRerateMarker));
    return st.code() == StatusCode::kNotFound ? Status::Ok() : st;
  });
}

Status Engine::Rerate(const rating::ReferenceChange& change, bool everything, uint64_t* rerated) {
  std::shared_ptr<const rating::ReferenceSnapshot> snap = snapshot();
  // 1. Every shard finishes what it has in flight and the writer folds the journal, so the
  //    store holds all of it. Unknown usage of entitlements the new snapshot knows can no longer
  //    grow (events resolve against the snapshot when a shard takes them), so what the scan
  //    below finds is all of it; adopting moves it out of the shards' unknown caches.
  {
    Latch idle(shards_.size());
    for (auto& shard : shards_) {
      Shard* s = shard.get();
      s->PostControl([&idle, s] {
        s->RunWhenIdle([&idle, s] {
          s->TakeFailures();
          idle.Done(Status::Ok());
        });
      });
    }
    METERD_RETURN_IF_ERROR(idle.Wait());
  }
  METERD_RETURN_IF_ERROR(writer_->WaitFolded(kFoldWait));

  // 2. Affected customers and entitlements whose unknown usage can now be adopted.
  std::vector<std::vector<std::string>> customers(shards_.size());
  std::vector<std::vector<std::string>> adopt(shards_.size());
  std::set<std::string> affected;
  std::vector<const rating::Customer*> all = snap->Customers();
  for (const rating::Customer* c : all) {
    bool hit = everything || change.AffectsCustomer(c->customer_id);
    if (!hit) {
      std::string currency(snap->BillingCurrency(*c));
      for (const auto& fx : change.fx) hit = hit || fx.currency == currency;
      for (const auto& p : change.price_keys) hit = hit || p.market == c->country;
    }
    if (!hit) {
      for (const rating::Entitlement* e : snap->EntitlementsOf(c->customer_id)) {
        if (change.AffectsEntitlement(e->entitlement_id)) { hit = true; break; }
      }
    }
    if (hit) affected.insert(c->customer_id);
  }
  for (const std::string& c : affected) customers[ShardOf(c)].push_back(c);
  {
    Result<storage::ReadTxn> txn = env_->BeginRead();
    if (!txn.ok()) return txn.status();
    std::string last;
    Status st = txn->Scan(Db::kUnknownLines, {}, storage::ScanBound::None(),
                          [&](std::string_view k, std::string_view) {
      std::string_view ent = k.substr(0, k.find('\0'));
      if (ent == last) return storage::ScanStep::kContinue;
      last = std::string(ent);
      const rating::Entitlement* e = snap->FindEntitlement(ent);
      const rating::Customer* c = e ? snap->FindCustomer(e->customer_id) : nullptr;
      if (c) adopt[ShardOf(c->customer_id)].push_back(last);
      return storage::ScanStep::kContinue;
    });
    if (!st.ok()) return st;
  }

  // 3. Each shard re-rates its part and submits; then wait for those commits.
  std::atomic<uint64_t> total{0};
  std::vector<Status> results(shards_.size());
  {
    Latch done(shards_.size());
    for (size_t i = 0; i < shards_.size(); ++i) {
      Shard* s = shards_[i].get();
      s->PostControl([&, i, s] {
        uint64_t n = 0;
        Status st = s->Rerate(customers[i], adopt[i], &n);
        total.fetch_add(n);
        if (!st.ok()) { done.Done(st); return; }
        s->RunWhenIdle([&done, s] {
          done.Done(s->TakeFailures() == 0 ? Status::Ok()
                                           : Status::Unavailable("re-rating commit failed"));
        });
      });
    }
    METERD_RETURN_IF_ERROR(done.Wait());
  }
  *rerated += total.load();
  counters_.lines_rerated.fetch_add(total.load(), std::memory_order_relaxed);
  return Status::Ok();
}

namespace {

// An entitlement may not move to another customer: its lines live under the first one.
Status CheckEntitlementMove(const rating::ReferenceSnapshot& snap,
                            const ingest::ReferenceEntity& entity) {
  if (const auto* e = std::get_if<rating::Entitlement>(&entity)) {
    const rating::Entitlement* existing = snap.FindEntitlement(e->entitlement_id);
    if (existing && existing->customer_id != e->customer_id) {
      return Status::InvalidArgument("entitlement " + e->entitlement_id +
                                     " belongs to customer " + existing->customer_id +
                                     "; moving an entitlement to another customer is not supported");
    }
  }
  return Status::Ok();
}

}  // namespace

LoadResult Engine::LoadReference(const ingest::ReferenceBatch& batch) {
  std::lock_guard<std::mutex> lock(control_mu_);
  LoadResult result;
  for (const ingest::ReferenceLineError& e : batch.errors) {
    result.errors.push_back({static_cast<int>(e.line), std::string(ingest::ReferenceErrorName(e.error)), e.detail});
  }
  result.rejected = static_cast<int>(batch.rejected);
  std::shared_ptr<const rating::ReferenceSnapshot> base = snapshot();
  rating::ReferenceBuilder builder(base);
  std::vector<const ingest::ReferenceEntity*> accepted;
  for (const ingest::ReferenceLine& line : batch.entities) {
    Status st = CheckEntitlementMove(*base, line.entity);
    if (st.ok()) st = UpsertInto(builder, line.entity);
    if (st.ok()) {
      ++result.upserted;
      accepted.push_back(&line.entity);
    } else {
      ++result.rejected;
      result.errors.push_back({static_cast<int>(line.line), "invalid", st.message()});
    }
  }
  std::sort(result.errors.begin(), result.errors.end(),
            [](const LoadError& a, const LoadError& b) { return a.line < b.line; });
  if (accepted.empty()) return result;
  auto persist = [&accepted](storage::WriteTxn& txn) -> Status {
    storage::KeyBuilder kb;
    for (const ingest::ReferenceEntity* e : accepted) {
      kb.Clear();
      keys::Reference(&kb, static_cast<storage::RefType>(EntityRefType(*e)), EntityKey(*e));
      METERD_RETURN_IF_ERROR(txn.Put(Db::kReference, kb.view(), EntityToJson(*e)));
    }
    return Status::Ok();
  };
  Status st = PublishReference(std::move(builder).Build(), persist, &result.rerated_lines);
  if (!st.ok()) {
    result.errors.push_back({0, "storage", st.message()});
    result.rejected += result.upserted;
    result.upserted = 0;
  }
  return result;
}

Result<LoadResult> Engine::LoadEntity(const ingest::ReferenceEntity& entity) {
  ingest::ReferenceBatch batch;
  batch.entities.push_back({1, entity});
  {
    std::shared_ptr<const rating::ReferenceSnapshot> base = snapshot();
    METERD_RETURN_IF_ERROR(CheckEntitlementMove(*base, entity));
    rating::ReferenceBuilder probe(base);
    METERD_RETURN_IF_ERROR(UpsertInto(probe, entity));
  }
  LoadResult r = LoadReference(batch);
  if (r.upserted != 1) {
    return Status::Unavailable(r.errors.empty() ? "not stored" : r.errors.back().detail);
  }
  return r;
}

LoadResult Engine::LoadPriceSheet(std::string_view csv) {
  std::lock_guard<std::mutex> lock(control_mu_);
  LoadResult result;
  Result<rating::PriceSheet> sheet = rating::ParsePriceSheet(csv);
  if (!sheet.ok()) {
    // The reader names the physical line of broken quoting as "line N: …"; other whole-sheet
    // problems (empty body, missing or doubled columns) are the header's, line 1.
    const std::string& message = sheet.status().message();
    int line = 1;
    if (message.rfind("line ", 0) == 0) {
      int n = 0;
      size_t i = 5;
      while (i < message.size() && i < 14 && message[i] >= '0' && message[i] <= '9') {
        n = n * 10 + (message[i] - '0');
        ++i;
      }
      if (i > 5 && i < message.size() && message[i] == ':') line = n;
    }
    result.errors.push_back({line, "bad_csv", message});
    return result;
  }
  rating::ReferenceBuilder builder(snapshot());
  rating::PriceUploadResult upload = builder.ApplyPriceUpload(*sheet);
  result.upserted = upload.upserted;
  result.rejected = upload.rejected;
  std::set<int> rejected_lines;
  for (const rating::PriceUploadError& e : upload.errors) {
    rejected_lines.insert(e.line);
    result.errors.push_back({e.line, e.error, e.detail});
  }
  if (upload.upserted == 0) return result;
  std::vector<const rating::PriceRow*> accepted;
  for (const rating::PriceRow& r : sheet->rows) {
    if (!rejected_lines.count(r.line)) accepted.push_back(&r);
  }
  auto persist = [&accepted](storage::WriteTxn& txn) -> Status {
    storage::KeyBuilder kb;
    for (const rating::PriceRow* r : accepted) {
      kb.Clear();
      auto nanos = static_cast<rating::uint128>(r->tier_min.nanos());
      keys::PriceRow(&kb, r->market, r->meter_id, static_cast<uint32_t>(r->effective_start.days),
                     static_cast<uint64_t>(nanos >> 64), static_cast<uint64_t>(nanos));
      METERD_RETURN_IF_ERROR(txn.Put(Db::kReference, kb.view(), PriceRowToCsv(*r)));
    }
    return Status::Ok();
  };
  Status st = PublishReference(std::move(builder).Build(), persist, &result.rerated_lines);
  if (!st.ok()) {
    result.errors.push_back({0, "storage", st.message()});
    result.rejected += result.upserted;
    result.upserted = 0;
  }
  return result;
}

Result<LoadResult> Engine::LoadFx(rating::Month month, const ingest::FxBody& fx) {
  std::lock_guard<std::mutex> lock(control_mu_);
  LoadResult result;
  rating::ReferenceBuilder builder(snapshot());
  for (const ingest::FxRateEntry& e : fx.rates) {
    METERD_RETURN_IF_ERROR(builder.UpsertFx(e.currency, month, e.rate));
  }
  result.currencies = static_cast<int>(fx.rates.size());
  auto persist = [&](storage::WriteTxn& txn) -> Status {
    storage::KeyBuilder kb;
    for (const ingest::FxRateEntry& e : fx.rates) {
      if (e.currency == "USD") continue;
      kb.Clear();
      keys::Fx(&kb, e.currency, static_cast<uint32_t>(month.index));
      METERD_RETURN_IF_ERROR(txn.Put(Db::kReference, kb.view(), e.rate.ToString()));
    }
    return Status::Ok();
  };
  METERD_RETURN_IF_ERROR(PublishReference(std::move(builder).Build(), persist, &result.rerated_lines));
  return result;
}

// ---------------------------------------------------------------- budgets

Result<rating::Budget> Engine::SetBudget(const std::string& customer_id,
                                         const rating::Budget& budget) {
  if (!snapshot()->FindCustomer(customer_id)) return Status::NotFound("unknown customer");
  std::promise<Status> done;
  Shard* s = shards_[ShardOf(customer_id)].get();
  s->PostControl([&] { s->SetBudget(customer_id, budget, [&](Status st) { done.set_value(st); }); });
  Status st = done.get_future().get();
  if (!st.ok()) return st;
  return budget;
}

Status Engine::RemoveBudget(const std::string& customer_id) {
  Result<std::optional<rating::Budget>> existing = GetBudget(customer_id);
  if (!existing.ok()) return existing.status();
  if (!*existing) return Status::NotFound("no budget");
  std::promise<Status> done;
  Shard* s = shards_[ShardOf(customer_id)].get();
  s->PostControl(
      [&] { s->SetBudget(customer_id, std::nullopt, [&](Status st) { done.set_value(st); }); });
  return done.get_future().get();
}

Result<std::optional<rating::Budget>> Engine::GetBudget(const std::string& customer_id) const {
  if (!snapshot()->FindCustomer(customer_id)) return Status::NotFound("unknown customer");
  Result<storage::ReadTxn> txn = env_->BeginRead();
  if (!txn.ok()) return txn.status();
  storage::KeyBuilder kb;
  kb.AddTrailingString(customer_id);
  std::string value;
  Status st = txn->Get(Db::kBudgets, kb.view(), &value);
  if (st.code() == StatusCode::kNotFound) return std::optional<rating::Budget>();
  if (!st.ok()) return st;
  rating::Budget b;
  METERD_RETURN_IF_ERROR(DecodeBudget(value, &b));
  return std::optional<rating::Budget>(std::move(b));
}

uint64_t Engine::CachedLedgers() const {
  uint64_t n = 0;
  for (const auto& shard : shards_) n += shard->cached_ledgers();
  return n;
}

uint64_t Engine::QueuedUsageSlices() const {
  uint64_t n = 0;
  for (const auto& shard : shards_) n += shard->queued_usage();
  return n;
}

uint64_t Engine::CachedLines() const {
  uint64_t n = 0;
  for (const auto& shard : shards_) n += shard->cached_lines();
  return n;
}

}  // namespace meterd::core
