#include "storage/journal.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <utility>

#include "storage/keys.h"

namespace meterd::storage {
namespace {

char* PutVarint(uint64_t v, char* out) {
  while (v >= 0x80) {
    *out++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *out++ = static_cast<char>(v);
  return out;
}

// Length of the prefix a and b share, eight bytes at a time: the shard calls this for every
// identity and line it journals.
size_t SharedPrefixLength(std::string_view a, std::string_view b) {
  const size_t limit = std::min(a.size(), b.size());
  size_t i = 0;
  if constexpr (std::endian::native == std::endian::little) {
    for (; i + 8 <= limit; i += 8) {
      uint64_t x, y;
      std::memcpy(&x, a.data() + i, 8);
      std::memcpy(&y, b.data() + i, 8);
      // The lowest set bit of x ^ y lies in the first byte that differs (little-endian).
      if (x != y) return i + static_cast<size_t>(std::countr_zero(x ^ y)) / 8;
    }
  }
  while (i < limit && a[i] == b[i]) ++i;
  return i;
}

constexpr size_t kWindowBytes = sizeof(FoldPlan::Op::window);
constexpr size_t kWindowWords = kWindowBytes / 8;

// Loads bytes [offset, offset + 24) of key into w as big-endian words, zero-padded: comparing
// the words compares those bytes in LMDB's order.
void LoadWindow(std::string_view key, size_t offset, uint64_t* w) {
  char bytes[kWindowBytes] = {};
  if (key.size() > offset) {
    std::memcpy(bytes, key.data() + offset, std::min(key.size() - offset, kWindowBytes));
  }
  for (size_t i = 0; i < kWindowWords; ++i) {
    uint64_t word;
    std::memcpy(&word, bytes + 8 * i, 8);
    w[i] = __builtin_bswap64(word);
  }
}

// The key's length as far as the window at offset tells: a key that ends inside it sorts
// before the longer keys it is a prefix of, and keys that go on past it tie (a deeper window
// orders them).
size_t Reach(const FoldPlan::Op& op, size_t offset) {
  return std::min<size_t>(op.key_len, offset + kWindowBytes + 1);
}

// (database, window, reach): how ops compare at one depth before journal order.
int CompareAtDepth(const FoldPlan::Op& a, const FoldPlan::Op& b, size_t offset) {
  if (a.db != b.db) return a.db < b.db ? -1 : 1;
  for (size_t i = 0; i < kWindowWords; ++i) {
    if (a.window[i] != b.window[i]) return a.window[i] < b.window[i] ? -1 : 1;
  }
  const size_t reach_a = Reach(a, offset);
  const size_t reach_b = Reach(b, offset);
  if (reach_a != reach_b) return reach_a < reach_b ? -1 : 1;
  return 0;
}

// Runs this long are ordered by bucketing on their (database, window, reach) instead of by
// comparisons: a window's ops fall into a few hundred such groups (entitlements, customers),
// and a hash pass plus one stable scatter costs less than log2(n) comparisons of every op.
constexpr size_t kBucketAtLeast = 4096;

// Orders [begin, end), whose ops are in journal order within every group of equal
// (database, window, reach), like the std::sort below: groups in order, journal order within
// each (the scatter is stable). scratch holds end - begin ops.
void BucketByWindow(size_t offset, FoldPlan::Op* begin, FoldPlan::Op* end,
                    FoldPlan::Op* scratch) {
  const size_t n = static_cast<size_t>(end - begin);
  struct Group {
    const FoldPlan::Op* first;
    size_t count = 0;
    size_t start = 0;
  };
  std::vector<Group> groups;
  std::vector<uint32_t> slots(64, 0);  // group index + 1, open addressing
  std::vector<uint32_t> group_of(n);
  auto hash_of = [offset](const FoldPlan::Op& op) {
    uint64_t h = (static_cast<uint64_t>(op.db) << 32 | Reach(op, offset)) * 0x9E3779B97F4A7C15ULL;
    for (size_t i = 0; i < kWindowWords; ++i) {
      h = (h ^ op.window[i]) * 0xBF58476D1CE4E5B9ULL;
      h ^= h >> 31;
    }
    return h;
  };
  for (size_t i = 0; i < n; ++i) {
    if (groups.size() * 2 >= slots.size()) {  // grow, keeping the table at most half full
      std::vector<uint32_t> bigger(slots.size() * 2, 0);
      for (uint32_t g = 0; g < groups.size(); ++g) {
        size_t at = hash_of(*groups[g].first) & (bigger.size() - 1);
        while (bigger[at] != 0) at = (at + 1) & (bigger.size() - 1);
        bigger[at] = g + 1;
      }
      slots.swap(bigger);
    }
    size_t at = hash_of(begin[i]) & (slots.size() - 1);
    while (slots[at] != 0 && CompareAtDepth(*groups[slots[at] - 1].first, begin[i], offset) != 0) {
      at = (at + 1) & (slots.size() - 1);
    }
    if (slots[at] == 0) {
      groups.push_back(Group{&begin[i]});
      slots[at] = static_cast<uint32_t>(groups.size());
    }
    group_of[i] = slots[at] - 1;
    ++groups[group_of[i]].count;
  }
  std::vector<uint32_t> ranked(groups.size());
  for (uint32_t g = 0; g < groups.size(); ++g) ranked[g] = g;
  std::sort(ranked.begin(), ranked.end(), [&](uint32_t a, uint32_t b) {
    return CompareAtDepth(*groups[a].first, *groups[b].first, offset) < 0;
  });
  size_t start = 0;
  for (uint32_t g : ranked) {
    groups[g].start = start;
    start += groups[g].count;
  }
  for (size_t i = 0; i < n; ++i) scratch[groups[group_of[i]].start++] = begin[i];
  std::copy(scratch, scratch + n, begin);
}

// Sorts ops [begin, end) — equal in their keys' bytes before offset, whose windows hold the
// bytes at offset — into exact (database, key, journal order) order: by the window's integers,
// then, within each run that ties there, by the next window, loaded from the arena only for
// that run (a radix sort by 24-byte digits). The writer applies a window in this order, so its
// cursor walks each B-tree page once instead of descending from the root for every key; and
// the planner reads each key's bytes past the first window once per window, where comparing
// whole keys read them from a 30 MB arena at every comparison. Writes superseded by a later
// write of the same key are marked. Ops within a run of equal (database, window, reach) come
// in journal order; scratch holds end - begin ops.
void SortExactly(const std::string& arena, size_t offset, FoldPlan::Op* begin,
                 FoldPlan::Op* end, FoldPlan::Op* scratch) {
  if (static_cast<size_t>(end - begin) >= kBucketAtLeast) {
    BucketByWindow(offset, begin, end, scratch);
  } else {
    std::sort(begin, end, [offset](const FoldPlan::Op& a, const FoldPlan::Op& b) {
      const int c = CompareAtDepth(a, b, offset);
      return c != 0 ? c < 0 : a.order < b.order;
    });
  }
  const size_t next = offset + kWindowBytes;
  for (FoldPlan::Op* run = begin; run != end;) {
    FoldPlan::Op* run_end = run + 1;
    while (run_end != end && CompareAtDepth(*run, *run_end, offset) == 0) ++run_end;
    if (run_end - run > 1) {
      if (Reach(*run, offset) > next) {  // longer keys: the next 24 bytes decide
        for (FoldPlan::Op* op = run; op != run_end; ++op) {
          if (op + 8 < run_end) __builtin_prefetch(arena.data() + op[8].key_off + next);
          LoadWindow(std::string_view(arena.data() + op->key_off, op->key_len), next, op->window);
        }
        SortExactly(arena, next, run, run_end, scratch + (run - begin));
      } else {  // one key written several times, in journal order: the last write counts
        for (FoldPlan::Op* op = run; op + 1 != run_end; ++op) op->superseded = true;
      }
    }
    run = run_end;
  }
}

// A 64-bit hash of (database, key), eight bytes at a time: the planner hashes every op of a
// window once, and equal hashes are confirmed by comparing the keys.
uint64_t OpKeyHash(Db db, std::string_view key) {
  uint64_t h = (static_cast<uint64_t>(db) << 32 ^ key.size()) * 0x9E3779B97F4A7C15ULL;
  size_t i = 0;
  for (; i + 8 <= key.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, key.data() + i, 8);
    h = (h ^ w) * 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 29;
  }
  if (i < key.size()) {
    uint64_t w = 0;
    std::memcpy(&w, key.data() + i, key.size() - i);
    h = (h ^ w) * 0xBF58476D1CE4E5B9ULL;
  }
  h ^= h >> 32;
  return h * 0x94D049BB133111EBULL;
}

// Drops every write that a later write of the same key in the window supersedes, keeping the
// rest in journal order, before the sort: a daily line is rewritten by every job that touches
// it (about once an hour per meter stream), so most of a window's line writes are superseded,
// and their keys, the longest of the window, are the ones the sort would otherwise order
// window by window down to their last bytes. A hash table of the window's ops finds them in
// one pass.
void DropSupersededWrites(FoldPlan* plan, std::vector<uint64_t>* hashes,
                          std::vector<uint32_t>* slots) {
  std::vector<FoldPlan::Op>& ops = plan->ops;
  const size_t n = ops.size();
  if (n < 2) return;
  size_t capacity = 16;
  while (capacity < 2 * n) capacity *= 2;
  slots->assign(capacity, 0);  // op index + 1; 0 is empty
  hashes->resize(n);
  const size_t mask = capacity - 1;
  for (size_t i = 0; i < n; ++i) (*hashes)[i] = OpKeyHash(ops[i].db, plan->key(ops[i]));
  // Every probe's first slot misses the cache: hashing first lets it load kAhead ops early.
  constexpr size_t kAhead = 16;
  bool any = false;
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) __builtin_prefetch(&(*slots)[(*hashes)[i + kAhead] & mask], 1, 3);
    FoldPlan::Op& op = ops[i];
    const std::string_view key = plan->key(op);
    const uint64_t h = (*hashes)[i];
    size_t at = h & mask;
    while (true) {
      uint32_t& slot = (*slots)[at];
      if (slot == 0) {
        slot = static_cast<uint32_t>(i + 1);
        break;
      }
      FoldPlan::Op& earlier = ops[slot - 1];
      if ((*hashes)[slot - 1] == h && earlier.db == op.db && plan->key(earlier) == key) {
        earlier.superseded = true;
        any = true;
        slot = static_cast<uint32_t>(i + 1);
        break;
      }
      at = (at + 1) & mask;
    }
  }
  if (!any) return;
  size_t out = 0;
  for (const FoldPlan::Op& op : ops) {
    if (!op.superseded) ops[out++] = op;
  }
  ops.resize(out);
}

}  // namespace

JournalRecord::JournalRecord(const JournalRecord& other)
    : prev_key_(other.prev_key_), ops_(other.ops_) {
  Grow(other.size_);
  if (other.size_ > 0) std::memcpy(buffer_.get(), other.buffer_.get(), other.size_);
  size_ = other.size_;
}

// The moved-from record is left empty and without a buffer until Clear().
JournalRecord::JournalRecord(JournalRecord&& other) noexcept
    : buffer_(std::move(other.buffer_)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)),
      prev_key_(std::move(other.prev_key_)),
      ops_(std::exchange(other.ops_, 0)) {}

JournalRecord& JournalRecord::operator=(JournalRecord other) noexcept {
  std::swap(buffer_, other.buffer_);
  std::swap(size_, other.size_);
  std::swap(capacity_, other.capacity_);
  std::swap(prev_key_, other.prev_key_);
  std::swap(ops_, other.ops_);
  return *this;
}

void JournalRecord::Grow(size_t at_least) {
  const size_t capacity = std::max({at_least, 2 * capacity_, size_t{4096}});
  std::unique_ptr<char[]> grown(new char[capacity]);
  if (size_ > 0) std::memcpy(grown.get(), buffer_.get(), size_);
  buffer_ = std::move(grown);
  capacity_ = capacity;
}

void JournalRecord::Add(uint8_t kind, Db db, std::string_view key, std::string_view value) {
  if (size_ == 0) Clear();  // moved from: the header first
  const size_t shared = SharedPrefixLength(key, prev_key_);
  const size_t suffix = key.size() - shared;
  constexpr size_t kMaxHead = 1 + 3 * 10;  // tag and three varints
  const size_t most = kMaxHead + suffix + value.size();
  if (capacity_ - size_ < most) Grow(size_ + most);
  char* p = buffer_.get() + size_;
  *p++ = static_cast<char>(kind << 7 | static_cast<uint8_t>(db));
  p = PutVarint(shared, p);
  p = PutVarint(suffix, p);
  p = PutVarint(value.size(), p);
  if (suffix > 0) std::memcpy(p, key.data() + shared, suffix);
  p += suffix;
  if (!value.empty()) std::memcpy(p, value.data(), value.size());
  p += value.size();
  size_ = static_cast<size_t>(p - buffer_.get());
  // Only the part that differs: the shared prefix is already there.
  prev_key_.resize(shared);
  prev_key_.append(key.data() + shared, suffix);
  ++ops_;
}

Status AppendJournal(WriteTxn& txn, JournalRecord& record) {
  if (record.empty()) return Status::Ok();
  // A job may be applied more than once (reruns): each time in the transaction at hand.
  PutU64BE(txn.id() | JournalRecord::kPrefixKeys, record.buffer_.get());
  Result<uint64_t> seq = txn.AppendSequenced(Db::kJournal, record.bytes());
  return seq.ok() ? Status::Ok() : seq.status();
}

uint64_t JournalRecordTxn(std::string_view record) {
  return record.size() < JournalRecord::kHeaderSize
             ? 0
             : GetU64BE(record.data()) & ~JournalRecord::kPrefixKeys;
}

Status BuildFoldPlan(const TxnBase& txn, uint64_t from_seq, size_t max_bytes, FoldPlan* plan) {
  plan->first_seq = 0;
  plan->last_seq = 0;
  plan->records = 0;
  plan->snapshot_txn = txn.id();
  plan->folds_through = plan->snapshot_txn;
  plan->cut = false;
  plan->arena.clear();
  plan->ops.clear();
  plan->applied = 0;
  char from[8];
  PutU64BE(from_seq, from);
  size_t bytes = 0;
  Status decode;
  Status st = txn.Scan(Db::kJournal, std::string_view(from, 8), ScanBound::None(),
                       [&](std::string_view k, std::string_view v) {
    if (k.size() != 8) {
      decode = Status::Corruption("journal key is not a sequence");
      return ScanStep::kStop;
    }
    const uint64_t seq = GetU64BE(k.data());
    const uint64_t record_txn = JournalRecordTxn(v);
    if (bytes >= max_bytes && record_txn != plan->folds_through) {
      plan->cut = true;  // the commit that crossed the budget ended: the rest is the next window's
      return ScanStep::kStop;
    }
    if (plan->records == 0) plan->first_seq = seq;
    plan->last_seq = seq;
    ++plan->records;
    decode = ForEachJournalOp(v, [&](const JournalOp& op) {
      FoldPlan::Op o{};
      o.db = op.db;
      o.is_delete = op.is_delete;
      o.key_off = static_cast<uint32_t>(plan->arena.size());
      o.key_len = static_cast<uint32_t>(op.key.size());
      o.val_len = static_cast<uint32_t>(op.value.size());
      o.order = static_cast<uint32_t>(plan->ops.size());
      LoadWindow(op.key, 0, o.window);
      plan->arena.append(op.key);
      o.val_off = static_cast<uint32_t>(plan->arena.size());
      plan->arena.append(op.value);
      plan->ops.push_back(o);
    });
    if (!decode.ok()) return ScanStep::kStop;
    bytes += v.size();
    // Past the budget, the window still takes the rest of this record's commit (its other
    // jobs' records), then ends: the commits it covers are whole.
    if (bytes >= max_bytes) plan->folds_through = record_txn;
    return ScanStep::kContinue;
  });
  if (!st.ok()) return st;
  if (!decode.ok()) return decode;
  if (!plan->cut) plan->folds_through = plan->snapshot_txn;  // every record of the snapshot
  if (plan->arena.size() > UINT32_MAX) return Status::ResourceExhausted("fold window too large");
  if (plan->ops.size() > UINT32_MAX - 1) return Status::ResourceExhausted("fold window too large");
  DropSupersededWrites(plan, &plan->hashes, &plan->slots);
  std::vector<FoldPlan::Op>& ops = plan->ops;
  plan->scratch.resize(ops.size());
  SortExactly(plan->arena, 0, ops.data(), ops.data() + ops.size(), plan->scratch.data());
  size_t out = 0;
  for (const FoldPlan::Op& op : ops) {
    if (!op.superseded) ops[out++] = op;
  }
  ops.resize(out);
  return Status::Ok();
}

Status ApplyFoldOps(WriteTxn& txn, const FoldPlan& plan, size_t begin, size_t end) {
  for (size_t i = begin; i < end; ++i) {
    const FoldPlan::Op& op = plan.ops[i];
    if (op.is_delete) {
      Status st = txn.Delete(op.db, plan.key(op));
      if (!st.ok() && st.code() != StatusCode::kNotFound) return st;
    } else {
      METERD_RETURN_IF_ERROR(txn.Put(op.db, plan.key(op), plan.value(op)));
    }
  }
  return Status::Ok();
}

Status DeleteJournalThrough(WriteTxn& txn, uint64_t last_seq) {
  return txn.ScanDelete(Db::kJournal, {}, ScanBound::None(),
                        [last_seq](std::string_view k, std::string_view) {
    if (k.size() == 8 && GetU64BE(k.data()) > last_seq) return ScanAction::kStop;
    return ScanAction::kDelete;
  });
}

Status FoldWholeJournal(WriteTxn& txn, uint64_t* ops) {
  FoldPlan plan;
  METERD_RETURN_IF_ERROR(BuildFoldPlan(txn, 0, SIZE_MAX, &plan));
  *ops = plan.ops.size();
  if (plan.records == 0) return Status::Ok();
  METERD_RETURN_IF_ERROR(ApplyFoldOps(txn, plan, 0, plan.ops.size()));
  return DeleteJournalThrough(txn, plan.last_seq);
}

Status JournalOverlay(const TxnBase& txn, Db db, std::string_view from, const ScanBound& bound,
                      std::map<std::string, std::optional<std::string>, std::less<>>* overlay) {
  Status decode;
  auto each_record = [&](std::string_view, std::string_view v) {
    decode = ForEachJournalOp(v, [&](const JournalOp& op) {
      if (op.db != db || op.key < from || !bound.Admits(op.key)) return;
      auto& slot = (*overlay)[std::string(op.key)];
      if (op.is_delete) {
        slot.reset();
      } else {
        slot = std::string(op.value);
      }
    });
    return decode.ok() ? ScanStep::kContinue : ScanStep::kStop;
  };
  Status st = txn.Scan(Db::kJournal, {}, ScanBound::None(), each_record);
  if (!st.ok()) return st;
  return decode;
}

Result<uint64_t> CountJournalPuts(const TxnBase& txn, Db db) {
  uint64_t puts = 0;
  METERD_RETURN_IF_ERROR(ForEachJournalPut(txn, db, [&](std::string_view) {
    ++puts;
    return ScanStep::kContinue;
  }));
  return puts;
}

Status GetWithJournal(const TxnBase& txn, Db db, std::string_view key, std::string* value) {
  std::optional<std::optional<std::string>> written;  // outer: the journal wrote key at all
  Status decode;
  auto each_record = [&](std::string_view, std::string_view v) {
    decode = ForEachJournalOp(v, [&](const JournalOp& op) {
      if (op.db != db || op.key != key) return;
      written = op.is_delete ? std::optional<std::string>() : std::optional<std::string>(op.value);
    });
    return decode.ok() ? ScanStep::kContinue : ScanStep::kStop;
  };
  Status st = txn.Scan(Db::kJournal, {}, ScanBound::None(), each_record);
  if (!st.ok()) return st;
  if (!decode.ok()) return decode;
  if (!written) return txn.Get(db, key, value);
  if (!*written) return Status::NotFound("deleted in the journal");
  *value = std::move(**written);
  return Status::Ok();
}

}  // namespace meterd::storage
