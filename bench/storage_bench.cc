// bench-links: meterd_storage
// Storage writer throughput with `full` sync on the machine's disk: commits/s and events/s per
// batch size, where one event = a dedupe NOOVERWRITE put into `events` + a read-modify-write of
// a ~200-byte line record in `lines` (3,000 active lines, keys laid out as the schema's). Also:
// many small jobs group-committed, concurrent submitters of 1,000-event batches group-committed
// (the daemon's shape), random (GUID-like) event ids, and reopen time of a large
// store. Set METERD_BENCH_DIR to choose the disk (default: the temp directory),
// METERD_BENCH_REOPEN_LINES for the reopen store size (default 100,000; docs use 10,000,000)
// and METERD_BENCH_SYNC to compare sync modes (default full). BM_JournalRecordJob times a
// shard building one job's journal record (no disk), BM_BuildFoldPlan the fold planner
// ordering one window of the journal.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "storage/env.h"
#include "storage/journal.h"
#include "storage/keys.h"
#include "storage/schema.h"
#include "storage/writer.h"

namespace meterd::storage {
namespace {

constexpr int kCustomers = 20;
constexpr int kMetersPerCustomer = 3;
constexpr int kResourcesPerMeter = 50;
constexpr int kLines = kCustomers * kMetersPerCustomer * kResourcesPerMeter;  // 3,000
constexpr int kEntitlementsPerCustomer = 2;
constexpr size_t kLineValueSize = 200;
constexpr uint32_t kMonth = 2026 * 12 + 10;  // 2026-11
constexpr uint32_t kDate = 20412;            // 2025-11-20 as days since the epoch
constexpr uint32_t kExpiryDay = 20500;

std::string BenchRoot() {
  const char* dir = std::getenv("METERD_BENCH_DIR");
  return dir != nullptr ? dir : std::filesystem::temp_directory_path().string();
}

// METERD_BENCH_SYNC=full|nometasync|none (default full, the product's default).
SyncMode BenchSyncMode() {
  const char* mode = std::getenv("METERD_BENCH_SYNC");
  if (mode == nullptr || std::string_view(mode) == "full") return SyncMode::kFull;
  if (std::string_view(mode) == "nometasync") return SyncMode::kNoMetaSync;
  return SyncMode::kNone;
}

std::string MakeTempDir() {
  std::string pattern = BenchRoot() + "/meterd-storage-bench-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) std::abort();
  return pattern;
}

std::string Guid(uint32_t kind, uint32_t n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-0000-4000-8000-%012x", kind, n);
  return buf;
}

struct Line {
  std::string key;
  std::string entitlement;
};

// The active set of daily lines a feed updates: customers x meters x resources, one day.
std::vector<Line> MakeLines() {
  std::vector<Line> lines;
  lines.reserve(kLines);
  for (int c = 0; c < kCustomers; ++c) {
    for (int m = 0; m < kMetersPerCustomer; ++m) {
      for (int r = 0; r < kResourcesPerMeter; ++r) {
        Line line;
        line.entitlement = Guid(0xE, c * kEntitlementsPerCustomer + r % kEntitlementsPerCustomer);
        const std::string uri =
            "/subscriptions/" + line.entitlement + "/resourcegroups/rg-" + std::to_string(r % 7) +
            "/providers/microsoft.compute/virtualmachines/vm-" + std::to_string(r);
        KeyBuilder k;
        keys::Line(&k, Guid(0xC, c), kMonth, Guid(0x3E7E4, m), kDate, line.entitlement, uri);
        line.key.assign(k.view());
        lines.push_back(std::move(line));
      }
    }
  }
  return lines;
}

// xorshift64*: no allocation, deterministic; seeded per batch so batches differ.
struct Rng {
  static Rng Seeded(uint64_t seed) {
    Rng r;
    r.s = (seed + 1) * 0x9E3779B97F4A7C15ULL;
    r.Next();
    return r;
  }
  uint64_t s = 0x9E3779B97F4A7C15ULL;
  uint64_t Next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 2685821657736338717ULL;
  }
};

enum class IdStyle { kSequential, kRandom };
enum class Order { kArrival, kKeyOrder };

// Bytes this process handed to write syscalls so far (/proc/self/io "wchar"): the pages each
// commit writes, since nothing else here writes.
uint64_t WrittenBytes() {
  FILE* f = std::fopen("/proc/self/io", "r");
  if (f == nullptr) return 0;
  char line[128];
  unsigned long long value = 0;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::sscanf(line, "wchar: %llu", &value) == 1) break;
  }
  std::fclose(f);
  return value;
}

uint64_t ThreadCpuNanos() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(ts.tv_nsec);
}

// A live store plus the writer and the feed state shared by the ingest benchmarks.
class Store {
 public:
  Store() : dir_(MakeTempDir()), lines_(MakeLines()) {
    std::vector<uint32_t> by_key(kLines);
    for (uint32_t i = 0; i < kLines; ++i) by_key[i] = i;
    std::sort(by_key.begin(), by_key.end(),
              [this](uint32_t a, uint32_t b) { return lines_[a].key < lines_[b].key; });
    line_rank_.resize(kLines);
    for (uint32_t r = 0; r < kLines; ++r) line_rank_[by_key[r]] = r;
    arena_.reserve(size_t{64} << 20);
    pending_.reserve(100000);
    EnvOptions o;
    o.sync = BenchSyncMode();
    o.map_size = uint64_t{1} << 30;
    o.max_map_size = uint64_t{64} << 30;
    Result<std::unique_ptr<Env>> env = Env::Open(dir_, o);
    if (!env.ok()) std::abort();
    env_ = std::move(env).value();
    Result<std::unique_ptr<Writer>> writer = Writer::Start(env_.get(), {});
    if (!writer.ok()) std::abort();
    writer_ = std::move(writer).value();
    Status filled = writer_->Execute([this](WriteTxn& txn) {
      char value[kLineValueSize] = {};
      for (const Line& line : lines_) {
        METERD_RETURN_IF_ERROR(
            txn.Put(Db::kLines, line.key, std::string_view(value, sizeof value)));
      }
      return Status::Ok();
    });
    if (!filled.ok()) std::abort();
  }
  ~Store() {
    writer_.reset();
    env_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Applies `count` events in txn: per event a NOOVERWRITE dedupe put, then (if new) a
  // read-modify-write of its line. With kKeyOrder the batch is applied as a daemon job should:
  // dedupe puts in event-key order (stable: the first of two equal ids wins, as in arrival
  // order), then line updates in line-key order. LMDB descends from the root for every
  // operation; in key order consecutive descents hit the same, cache-hot pages. Allocation-free
  // after warm-up: keys live in a reused arena, values in stack buffers.
  Status ApplyEvents(WriteTxn& txn, int count, IdStyle style, Order order, uint64_t first_seq,
                     Rng rng) {
    arena_.clear();
    pending_.clear();
    char id[40];
    for (int i = 0; i < count; ++i) {
      const uint16_t line = static_cast<uint16_t>(rng.Next() % kLines);
      // Ids as a feed sends them: "evt-" + 12 digits, or 32 random hex digits. Formatted by
      // hand: the daemon gets them parsed, printf would only measure printf.
      int id_len;
      if (style == IdStyle::kSequential) {
        std::memcpy(id, "evt-", 4);
        uint64_t n = first_seq + i;
        for (int d = 15; d >= 4; --d, n /= 10) id[d] = static_cast<char>('0' + n % 10);
        id_len = 16;
      } else {
        static constexpr char kHex[] = "0123456789abcdef";
        for (int half = 0; half < 2; ++half) {
          uint64_t r = rng.Next();
          for (int d = 0; d < 16; ++d, r >>= 4) id[half * 16 + d] = kHex[r & 15];
        }
        id_len = 32;
      }
      KeyBuilder event_key;
      keys::Event(&event_key, lines_[line].entitlement, std::string_view(id, id_len));
      pending_.push_back(Pending{static_cast<uint32_t>(arena_.size()),
                                 static_cast<uint16_t>(event_key.size()), line, false});
      arena_.append(event_key.view());
    }
    auto key_of = [this](const Pending& p) {
      return std::string_view(arena_).substr(p.offset, p.size);
    };
    if (order == Order::kKeyOrder) {
      std::stable_sort(pending_.begin(), pending_.end(),
                       [&](const Pending& a, const Pending& b) { return key_of(a) < key_of(b); });
    }
    char expiry[4];
    PutU32BE(kExpiryDay, expiry);
    for (Pending& p : pending_) {
      Status dedupe =
          txn.Put(Db::kEvents, key_of(p), std::string_view(expiry, 4), PutMode::kNoOverwrite);
      if (dedupe.code() == StatusCode::kAlreadyExists) {
        ++duplicates_;
        continue;
      }
      METERD_RETURN_IF_ERROR(dedupe);
      p.accepted = true;
      if (order == Order::kArrival) METERD_RETURN_IF_ERROR(UpdateLine(txn, p.line));
    }
    if (order == Order::kKeyOrder) {
      std::sort(pending_.begin(), pending_.end(), [this](const Pending& a, const Pending& b) {
        return line_rank_[a.line] < line_rank_[b.line];
      });
      for (const Pending& p : pending_) {
        if (p.accepted) METERD_RETURN_IF_ERROR(UpdateLine(txn, p.line));
      }
    }
    return Status::Ok();
  }

  // Read-modify-write of a line record in one B-tree search: adds 1.5 to its quantity.
  Status UpdateLine(WriteTxn& txn, uint16_t line) {
    char value[kLineValueSize];
    return txn.Update(Db::kLines, lines_[line].key,
                      [&value](const std::string_view* current) -> std::optional<std::string_view> {
                        if (current == nullptr || current->size() != kLineValueSize)
                          return std::nullopt;
                        std::memcpy(value, current->data(), kLineValueSize);
                        uint64_t quantity;
                        std::memcpy(&quantity, value, sizeof quantity);
                        quantity += 1'500'000'000;  // 1.5 units in nano-units
                        std::memcpy(value, &quantity, sizeof quantity);
                        return std::string_view(value, kLineValueSize);
                      });
  }

  // One commit of `count` events as a single job; blocks until its done ran.
  Status CommitBatch(int count, IdStyle style, Order order = Order::kKeyOrder) {
    const uint64_t first = next_seq_;
    next_seq_ += count;
    const Rng rng = Rng::Seeded(first);
    uint64_t cpu_start = 0;
    WriteJob job;
    job.apply = [this, count, style, order, first, rng, &cpu_start](WriteTxn& txn) {
      cpu_start = ThreadCpuNanos();
      return ApplyEvents(txn, count, style, order, first, rng);
    };
    std::atomic<bool> done{false};
    Status result;
    job.done = [this, &done, &result, &cpu_start](const CommitResult& r) {
      // Writer-thread CPU for apply + commit (fsync waits excluded): robust on a busy machine.
      writer_cpu_nanos_ += ThreadCpuNanos() - cpu_start;
      result = r.status;
      done.store(true);
      done.notify_one();
    };
    METERD_RETURN_IF_ERROR(writer_->Submit(std::move(job)));
    done.wait(false);
    return result;
  }

  uint64_t QuantityOf(int line) {
    Result<ReadTxn> r = env_->BeginRead();
    std::string v;
    if (!r.ok() || !r->Get(Db::kLines, lines_[line].key, &v).ok()) return 0;
    uint64_t q;
    std::memcpy(&q, v.data(), sizeof q);
    return q;
  }
  uint64_t EventCount() {
    Result<ReadTxn> r = env_->BeginRead();
    return r.ok() ? *r->Count(Db::kEvents) : 0;
  }
  uint64_t TotalQuantity() {
    uint64_t total = 0;
    for (int i = 0; i < kLines; ++i) total += QuantityOf(i);
    return total;
  }

  Writer& writer() { return *writer_; }
  Env& env() { return *env_; }
  uint64_t duplicates() const { return duplicates_; }
  uint64_t writer_cpu_nanos() const { return writer_cpu_nanos_; }

 private:
  std::string dir_;
  std::vector<Line> lines_;
  std::unique_ptr<Env> env_;
  std::unique_ptr<Writer> writer_;
  uint64_t next_seq_ = 1;
  uint64_t duplicates_ = 0;
  uint64_t writer_cpu_nanos_ = 0;
  // Writer thread only: the batch being applied.
  struct Pending {
    uint32_t offset;  // event key in arena_
    uint16_t size;
    uint16_t line;
    bool accepted;
  };
  std::string arena_;
  std::vector<Pending> pending_;
  std::vector<uint32_t> line_rank_;  // line index -> position in key order
};

// Verifies before timing: a batch lands whole (events counted, quantities summed) and a
// replayed batch is all duplicates.
bool Verify(Store& store, benchmark::State& state) {
  const uint64_t events_before = store.EventCount();
  const uint64_t quantity_before = store.TotalQuantity();
  if (!store.CommitBatch(100, IdStyle::kSequential).ok()) {
    state.SkipWithError("verification batch failed");
    return false;
  }
  if (store.EventCount() != events_before + 100 ||
      store.TotalQuantity() != quantity_before + 100 * uint64_t{1'500'000'000}) {
    state.SkipWithError("verification: batch not applied exactly once");
    return false;
  }
  return true;
}

void ReportRates(benchmark::State& state, uint64_t commits, uint64_t events) {
  state.counters["commits/s"] =
      benchmark::Counter(static_cast<double>(commits), benchmark::Counter::kIsRate);
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
  state.SetItemsProcessed(static_cast<int64_t>(events));
  // Logical bytes per event: the dedupe record and the rewritten line value.
  state.SetBytesProcessed(static_cast<int64_t>(events * (4 + 60 + kLineValueSize)));
}

void ReportWriterStats(benchmark::State& state, const WriterStats& stats) {
  const uint64_t commits = stats.commit_micros.total_count();
  if (commits > 0) {
    state.counters["commit_us"] = static_cast<double>(stats.commit_micros.sum()) / commits;
    state.counters["batch_us"] = static_cast<double>(stats.batch_micros.sum()) / commits;
  }
}

// The key hash of one dedupe identity (a 36-character entitlement id and an event id: 55
// bytes), computed for every event by the shards, the fold planner and the filter builder.
void BM_HashForKeyIdentity(benchmark::State& state) {
  KeyBuilder kb;
  keys::Event(&kb, "0b5d2c1e-3f4a-4b6c-8d7e-9f0a1b2c3d4e", "evt-2026-11-20T12-00042");
  const std::string key(kb.view());
  for (auto _ : state) {
    benchmark::DoNotOptimize(HashForKey(key));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HashForKeyIdentity);

// One shard job's journal record as ProcessUsage and SettleTouched build it: 500 identity puts
// (4-byte values) in arrival order, consecutive ones from different entitlements, then the 500
// daily lines they touched (~200-byte values), into a fresh record per job (fresh:1) or one
// record cleared and reused (fresh:0). Checked by decoding.
void BM_JournalRecordJob(benchmark::State& state) {
  constexpr int kEvents = 500;
  std::vector<std::string> identities, line_keys;
  KeyBuilder kb;
  for (int i = 0; i < kEvents; ++i) {
    char entitlement[37], event_id[40], customer[37], uri[160];
    std::snprintf(entitlement, sizeof entitlement, "0b5d2c1e-3f4a-4b6c-8d7e-%012d", i % 97);
    std::snprintf(event_id, sizeof event_id, "s%04d-2026112012-%d", i * 7 % 2400, i % 3);
    std::snprintf(customer, sizeof customer, "7c1f3a2b-5d4e-4f6a-9b8c-%012d", i % 41);
    std::snprintf(uri, sizeof uri,
                  "/subscriptions/%s/resourceGroups/rg-%d/providers/Microsoft.Compute/"
                  "virtualMachines/vm-%04d", entitlement, i % 5, i);
    kb.Clear();
    keys::Event(&kb, entitlement, event_id);
    identities.emplace_back(kb.view());
    kb.Clear();
    keys::Line(&kb, customer, kMonth, "meter-standard-d2s-v5", kDate, entitlement, uri);
    line_keys.emplace_back(kb.view());
  }
  std::sort(line_keys.begin(), line_keys.end());  // SettleTouched writes a ledger's lines in order
  const std::string expiry = EncodeU64BE(kExpiryDay).substr(4);
  std::string line_value(kLineValueSize, '\0');
  for (size_t i = 0; i < line_value.size(); ++i) line_value[i] = static_cast<char>(i * 31);

  auto build = [&](JournalRecord* record) {
    for (const std::string& id : identities) record->Put(Db::kEvents, id, expiry);
    for (const std::string& key : line_keys) record->Put(Db::kLines, key, line_value);
  };
  {
    JournalRecord record;
    build(&record);
    size_t n = 0;
    bool same = true;
    Status decoded = ForEachJournalOp(record.bytes(), [&](const JournalOp& op) {
      const bool identity = n < identities.size();
      const std::string& key = identity ? identities[n] : line_keys[n - identities.size()];
      same = same && !op.is_delete && op.db == (identity ? Db::kEvents : Db::kLines) &&
             op.key == key && op.value == (identity ? std::string_view(expiry) : line_value);
      ++n;
    });
    if (!decoded.ok() || !same || n != 2 * kEvents) {
      state.SkipWithError("journal record does not decode to its ops");
      return;
    }
  }
  JournalRecord reused;
  for (auto _ : state) {
    JournalRecord fresh;
    JournalRecord* record = &fresh;
    if (state.range(0) == 0) {
      reused.Clear();
      record = &reused;
    }
    build(record);
    benchmark::DoNotOptimize(record->bytes().data());
  }
  state.SetItemsProcessed(state.iterations() * 2 * kEvents);
}
// reused: the cost of the ops alone; fresh: with the buffer's growth, as a new job has it.
BENCHMARK(BM_JournalRecordJob)->ArgName("fresh")->Arg(0)->Arg(1);

// The fold planner reading one window of the daemon's journal and ordering it for the writer:
// 190 shard jobs of ~500 events each from meter-loadgen's default world (200 customers, 400
// entitlements, 2,400 meter streams, one event per stream and hour), so each job holds ~500
// identity puts and ~500 daily-line puts, and every line is rewritten once an hour. Items are
// journal ops read; the planned ops left after superseded writes are dropped are checked
// against a std::map of the window.
void BM_BuildFoldPlan(benchmark::State& state) {
  constexpr int kStreams = 2400, kEntitlements = 400, kJobs = 190, kEventsPerJob = 500;
  struct Stream {
    std::string entitlement, customer, meter, uri;
  };
  std::vector<Stream> streams;
  for (int s = 0; s < kStreams; ++s) {
    const int e = s * kEntitlements / kStreams;
    Stream st;
    st.entitlement = Guid(0xE, static_cast<uint32_t>(e));
    st.customer = Guid(0xC, static_cast<uint32_t>(e / 2));
    st.meter = Guid(0x3E7E4, static_cast<uint32_t>(s % 7));
    char uri[160];
    std::snprintf(uri, sizeof uri,
                  "/subscriptions/%s/resourcegroups/rg-%d/providers/microsoft.compute/"
                  "virtualmachines/vm-%d", st.entitlement.c_str(), e % 5, s % 6);
    st.uri = uri;
    streams.push_back(std::move(st));
  }
  const std::string dir = MakeTempDir();
  EnvOptions o;
  o.sync = SyncMode::kNone;
  o.map_size = uint64_t{1} << 30;
  Result<std::unique_ptr<Env>> env = Env::Open(dir, o);
  if (!env.ok()) std::abort();
  const std::string expiry = EncodeU64BE(kExpiryDay).substr(4);
  std::string line_value(60, '\0');
  std::map<std::pair<Db, std::string>, std::string> expected;
  uint64_t journal_ops = 0;
  {
    Result<WriteTxn> txn = (*env)->BeginWrite();
    if (!txn.ok()) std::abort();
    KeyBuilder kb;
    uint64_t event = 0;
    for (int job = 0; job < kJobs; ++job) {
      JournalRecord record;
      std::vector<std::string> line_keys;
      for (int i = 0; i < kEventsPerJob; ++i, ++event) {
        const Stream& st = streams[event % kStreams];
        const uint64_t hour = event / kStreams;
        char id[40];
        std::snprintf(id, sizeof id, "s%d-2026-11-2%dT%02d:00", static_cast<int>(event % kStreams),
                      static_cast<int>(hour / 24), static_cast<int>(hour % 24));
        kb.Clear();
        keys::Event(&kb, st.entitlement, id);
        record.Put(Db::kEvents, kb.view(), expiry);
        expected[{Db::kEvents, std::string(kb.view())}] = expiry;
        kb.Clear();
        keys::Line(&kb, st.customer, kMonth, st.meter, kDate + static_cast<uint32_t>(hour / 24),
                   st.entitlement, st.uri);
        line_keys.emplace_back(kb.view());
      }
      std::sort(line_keys.begin(), line_keys.end());  // a ledger's lines, written in order
      for (const std::string& key : line_keys) {
        std::memcpy(line_value.data(), &job, sizeof job);  // each rewrite differs
        record.Put(Db::kLines, key, line_value);
        expected[{Db::kLines, key}] = line_value;
      }
      journal_ops += 2 * kEventsPerJob;
      if (!AppendJournal(*txn, record).ok()) std::abort();
    }
    if (!std::move(*txn).Commit().ok()) std::abort();
  }
  FoldPlan plan;
  {
    Result<ReadTxn> txn = (*env)->BeginRead();
    if (!txn.ok() || !BuildFoldPlan(*txn, 0, SIZE_MAX, &plan).ok()) std::abort();
    bool same = plan.ops.size() == expected.size();
    auto it = expected.begin();
    for (size_t i = 0; same && i < plan.ops.size(); ++i, ++it) {
      const FoldPlan::Op& op = plan.ops[i];
      same = op.db == it->first.first && plan.key(op) == it->first.second &&
             plan.value(op) == it->second && !op.is_delete;
    }
    if (!same) state.SkipWithError("the plan is not the window's last writes in key order");
  }
  for (auto _ : state) {  // no iterations after SkipWithError; the store is removed below
    Result<ReadTxn> txn = (*env)->BeginRead();
    if (!txn.ok()) std::abort();
    Status st = BuildFoldPlan(*txn, 0, SIZE_MAX, &plan);
    if (!st.ok()) std::abort();
    benchmark::DoNotOptimize(plan.ops.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * journal_ops));
  state.counters["planned_ops"] = static_cast<double>(plan.ops.size());
  env->reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}
BENCHMARK(BM_BuildFoldPlan)->Unit(benchmark::kMillisecond);

void BM_IngestBatch(benchmark::State& state, IdStyle style, Order order = Order::kKeyOrder) {
  Store store;
  if (!Verify(store, state)) return;
  const int batch = static_cast<int>(state.range(0));
  const uint64_t cpu_before = store.writer_cpu_nanos();
  const uint64_t written_before = WrittenBytes();
  uint64_t commits = 0;
  for (auto _ : state) {
    Status st = store.CommitBatch(batch, style, order);
    if (!st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      break;
    }
    ++commits;
  }
  ReportRates(state, commits, commits * batch);
  ReportWriterStats(state, store.writer().stats());
  state.counters["duplicates"] = static_cast<double>(store.duplicates());
  if (Result<StoreStats> stats = store.env().Stats(); stats.ok()) {
    state.counters["line_pages"] =
        static_cast<double>(stats->dbs[static_cast<int>(Db::kLines)].leaf_pages);
    state.counters["event_pages"] =
        static_cast<double>(stats->dbs[static_cast<int>(Db::kEvents)].leaf_pages);
  }
  if (commits > 0) {
    state.counters["written_KiB/commit"] =
        static_cast<double>(WrittenBytes() - written_before) / 1024 / commits;
    state.counters["writer_cpu_ns/event"] =
        static_cast<double>(store.writer_cpu_nanos() - cpu_before) / (commits * batch);
  }
}

void BM_IngestBatchSequentialIds(benchmark::State& state) {
  BM_IngestBatch(state, IdStyle::kSequential);
}
void BM_IngestBatchRandomIds(benchmark::State& state) { BM_IngestBatch(state, IdStyle::kRandom); }
// The same work applied in arrival order, to show what key order buys.
void BM_IngestBatchArrivalOrder(benchmark::State& state) {
  BM_IngestBatch(state, IdStyle::kSequential, Order::kArrival);
}

BENCHMARK(BM_IngestBatchSequentialIds)
    ->ArgName("batch")
    ->Arg(1)
    ->Arg(100)
    ->Arg(1000)
    ->Arg(3000)
    ->Arg(10000)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_IngestBatchRandomIds)
    ->ArgName("batch")
    ->Arg(1000)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_IngestBatchArrivalOrder)
    ->ArgName("batch")
    ->Arg(1000)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// Many concurrent one-event jobs (e.g. small HTTP requests): the writer groups them. Reports
// commits per iteration of `jobs` submissions.
void BM_GroupCommitOfSmallJobs(benchmark::State& state) {
  Store store;
  if (!Verify(store, state)) return;
  const int jobs = static_cast<int>(state.range(0));
  const uint64_t commits_before = store.writer().stats().commits.load();
  uint64_t events = 0;
  uint64_t seq = 1'000'000'000;
  for (auto _ : state) {
    std::atomic<int> pending{jobs};
    for (int j = 0; j < jobs; ++j) {
      WriteJob job;
      const uint64_t first = seq++;
      const Rng job_rng = Rng::Seeded(first);
      job.apply = [&store, first, job_rng](WriteTxn& txn) {
        return store.ApplyEvents(txn, 1, IdStyle::kSequential, Order::kArrival, first, job_rng);
      };
      job.done = [&pending](const CommitResult&) {
        if (pending.fetch_sub(1) == 1) pending.notify_one();
      };
      while (store.writer().Submit(std::move(job)).code() == StatusCode::kResourceExhausted) {
      }
    }
    for (int left = pending.load(); left != 0; left = pending.load()) pending.wait(left);
    events += jobs;
  }
  const uint64_t commits = store.writer().stats().commits.load() - commits_before;
  ReportRates(state, commits, events);
  state.counters["jobs/commit"] = commits > 0 ? static_cast<double>(events) / commits : 0;
  ReportWriterStats(state, store.writer().stats());
}
BENCHMARK(BM_GroupCommitOfSmallJobs)
    ->ArgName("jobs")
    ->Arg(1000)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// Closed-loop submitters of 1,000-event batches, as HTTP connections feed the daemon's writer:
// each submitter hands a batch to the writer, waits until it is committed and synced, then
// sends the next. The writer group-commits whatever batches are waiting, so one transaction
// (and one fsync) carries several batches. Per iteration every submitter commits
// kRoundsPerIteration batches; reports events/s and the submit-to-committed latency of a batch.
void BM_GroupCommitOfBatches(benchmark::State& state) {
  Store store;
  if (!Verify(store, state)) return;
  const int submitters = static_cast<int>(state.range(0));
  const int batch = static_cast<int>(state.range(1));
  constexpr int kRoundsPerIteration = 20;
  std::atomic<uint64_t> next_seq{10'000'000'000};
  std::vector<std::vector<uint32_t>> latencies_us(submitters);
  std::atomic<bool> failed{false};
  const uint64_t commits_before = store.writer().stats().commits.load();
  const uint64_t written_before = WrittenBytes();
  const uint64_t events_before = store.EventCount();
  uint64_t batches = 0;
  for (auto _ : state) {
    std::vector<std::thread> threads;
    for (int t = 0; t < submitters; ++t) {
      threads.emplace_back([&, t] {
        for (int round = 0; round < kRoundsPerIteration && !failed.load(); ++round) {
          const uint64_t first = next_seq.fetch_add(batch);
          const Rng rng = Rng::Seeded(first);
          std::atomic<bool> done{false};
          Status result;
          WriteJob job;
          job.apply = [&store, batch, first, rng](WriteTxn& txn) {
            return store.ApplyEvents(txn, batch, IdStyle::kSequential, Order::kKeyOrder, first,
                                     rng);
          };
          job.done = [&done, &result](const CommitResult& r) {
            result = r.status;
            done.store(true);
            done.notify_one();
          };
          const auto start = std::chrono::steady_clock::now();
          Status submitted = store.writer().Submit(std::move(job));
          if (!submitted.ok()) {
            failed.store(true);
            return;
          }
          done.wait(false);
          if (!result.ok()) {
            failed.store(true);
            return;
          }
          latencies_us[t].push_back(static_cast<uint32_t>(
              std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::steady_clock::now() - start)
                  .count()));
        }
      });
    }
    for (std::thread& th : threads) th.join();
    if (failed.load()) {
      state.SkipWithError("a batch failed");
      return;
    }
    batches += uint64_t{static_cast<uint64_t>(submitters)} * kRoundsPerIteration;
  }
  const uint64_t commits = store.writer().stats().commits.load() - commits_before;
  const uint64_t events = batches * batch;
  // Every event of every batch is a new identity: none may be lost or counted twice.
  if (store.EventCount() - events_before != events) {
    state.SkipWithError("events stored differ from events committed");
    return;
  }
  ReportRates(state, commits, events);
  ReportWriterStats(state, store.writer().stats());
  state.counters["batches/commit"] = commits > 0 ? static_cast<double>(batches) / commits : 0;
  if (commits > 0) {
    state.counters["written_KiB/commit"] =
        static_cast<double>(WrittenBytes() - written_before) / 1024 / commits;
  }
  std::vector<uint32_t> all;
  for (const auto& v : latencies_us) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  if (!all.empty()) {
    state.counters["ack_p50_us"] = all[all.size() / 2];
    state.counters["ack_p99_us"] = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
}
BENCHMARK(BM_GroupCommitOfBatches)
    ->ArgNames({"submitters", "batch"})
    ->Args({4, 1000})
    ->Args({8, 1000})
    ->Args({16, 1000})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Reopen of a store holding N daily lines (LMDB needs no replay): open, check the schema,
// open every database, read one line, close.
class ReopenStore {
 public:
  explicit ReopenStore(int64_t lines) : dir_(MakeTempDir()), lines_(lines) {
    EnvOptions o;
    o.sync = SyncMode::kNone;  // building the fixture; synced once at the end
    o.map_size = uint64_t{1} << 30;
    o.max_map_size = uint64_t{64} << 30;
    o.map_growth_step = uint64_t{2} << 30;
    Result<std::unique_ptr<Env>> env = Env::Open(dir_, o);
    if (!env.ok()) std::abort();
    Result<std::unique_ptr<Writer>> writer = Writer::Start(env->get(), {});
    if (!writer.ok()) std::abort();
    const std::string value(kLineValueSize, 'v');
    constexpr int64_t kPerTxn = 200'000;
    for (int64_t start = 0; start < lines; start += kPerTxn) {
      Status st = (*writer)->Execute([&, start](WriteTxn& txn) {
        for (int64_t i = start; i < std::min(lines, start + kPerTxn); ++i) {
          KeyBuilder k;
          LineKey(i, &k);
          METERD_RETURN_IF_ERROR(txn.Put(Db::kLines, k.view(), value, PutMode::kAppend));
        }
        return Status::Ok();
      });
      if (!st.ok()) {
        std::fprintf(stderr, "building the reopen store: %s\n", st.ToString().c_str());
        std::abort();
      }
    }
    writer->reset();
    if (!(*env)->Sync().ok()) std::abort();
    file_bytes_ = std::filesystem::file_size(dir_ + "/data.mdb");
  }
  ~ReopenStore() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  // Keys in ascending order: 1,000 customers x 100 meters x 30 days x entitlement/resource.
  static void LineKey(int64_t i, KeyBuilder* k) {
    char uri[96];
    std::snprintf(uri, sizeof uri, "/subscriptions/s/resourcegroups/rg/providers/p/vm-%09lld",
                  static_cast<long long>(i));
    char customer[24];
    std::snprintf(customer, sizeof customer, "c%06lld", static_cast<long long>(i / 10'000));
    char meter[24];
    std::snprintf(meter, sizeof meter, "m%04lld", static_cast<long long>(i / 100 % 100));
    keys::Line(k, customer, kMonth, meter, kDate + static_cast<uint32_t>(i % 100 / 4), "ent", uri);
  }
  const std::string& dir() const { return dir_; }
  int64_t lines() const { return lines_; }
  uint64_t file_bytes() const { return file_bytes_; }

 private:
  std::string dir_;
  int64_t lines_;
  uint64_t file_bytes_ = 0;
};

int64_t ReopenLines() {
  const char* n = std::getenv("METERD_BENCH_REOPEN_LINES");
  return n != nullptr ? std::atoll(n) : 100'000;
}

// Built on first use, shared by the reopen and scan benchmarks, removed at exit.
ReopenStore& SharedReopenStore() {
  static std::unique_ptr<ReopenStore> store = std::make_unique<ReopenStore>(ReopenLines());
  return *store;
}

// Drops data.mdb's pages from the page cache, as after a reboot.
void EvictFromPageCache(const std::string& dir) {
  const int fd = open((dir + "/data.mdb").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  fdatasync(fd);
  posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  close(fd);
}

void BM_Reopen(benchmark::State& state) {
  const bool cold = state.range(0) != 0;
  ReopenStore* store = &SharedReopenStore();
  EnvOptions o;
  o.map_size = uint64_t{1} << 30;
  o.max_map_size = uint64_t{64} << 30;
  KeyBuilder probe;
  ReopenStore::LineKey(store->lines() / 2, &probe);
  for (auto _ : state) {
    if (cold) {
      state.PauseTiming();
      EvictFromPageCache(store->dir());
      state.ResumeTiming();
    }
    Result<std::unique_ptr<Env>> env = Env::Open(store->dir(), o);
    if (!env.ok()) {
      state.SkipWithError(env.status().ToString().c_str());
      break;
    }
    Result<ReadTxn> r = (*env)->BeginRead();
    std::string v;
    if (!r.ok() || !r->Get(Db::kLines, probe.view(), &v).ok() ||
        *r->Count(Db::kLines) != static_cast<uint64_t>(store->lines())) {
      state.SkipWithError("reopened store is missing lines");
      break;
    }
  }
  state.counters["lines"] = static_cast<double>(store->lines());
  state.counters["file_MiB"] = static_cast<double>(store->file_bytes() >> 20);
}
BENCHMARK(BM_Reopen)->ArgName("cold")->Arg(0)->Arg(1)->UseRealTime()->Unit(benchmark::kMillisecond);

// Full scan of every line (what an eager rebuild of in-memory state at start would cost).
void BM_ScanAllLines(benchmark::State& state) {
  ReopenStore* store = &SharedReopenStore();
  EnvOptions o;
  o.map_size = uint64_t{1} << 30;
  o.max_map_size = uint64_t{64} << 30;
  Result<std::unique_ptr<Env>> env = Env::Open(store->dir(), o);
  if (!env.ok()) {
    state.SkipWithError(env.status().ToString().c_str());
    return;
  }
  uint64_t scanned = 0;
  for (auto _ : state) {
    Result<ReadTxn> r = (*env)->BeginRead();
    uint64_t n = 0;
    uint64_t bytes = 0;
    Status st =
        r->Scan(Db::kLines, "", ScanBound::None(), [&](std::string_view k, std::string_view v) {
          ++n;
          bytes += k.size() + v.size();
          return ScanStep::kContinue;
        });
    benchmark::DoNotOptimize(bytes);
    if (!st.ok() || n != static_cast<uint64_t>(store->lines())) {
      state.SkipWithError("scan saw the wrong number of lines");
      break;
    }
    scanned += n;
  }
  state.counters["lines/s"] =
      benchmark::Counter(static_cast<double>(scanned), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ScanAllLines)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace meterd::storage

BENCHMARK_MAIN();
