#include "storage/journal.h"

#include <algorithm>
#include <cstring>

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

// Orders the keys of a window that share their first 24 bytes: any function of the whole key
// does (equal keys must only end up adjacent), and this one costs a multiply per 8 bytes where
// the 128-bit MurmurHash3 of the store's keys cost 24 ns per identity, 1.3 % of ingest.
uint64_t TieBreak(std::string_view key) {
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ key.size();
  size_t i = 0;
  for (; i + 8 <= key.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, key.data() + i, 8);
    h = (h ^ w) * 0xBF58476D1CE4E5B9ULL;
    h ^= h >> 31;
  }
  uint64_t w = 0;
  std::memcpy(&w, key.data() + i, key.size() - i);
  h = (h ^ w) * 0x94D049BB133111EBULL;
  return h ^ (h >> 29);
}

}  // namespace

void JournalRecord::Add(uint8_t kind, Db db, std::string_view key, std::string_view value) {
  const size_t limit = std::min(key.size(), prev_key_.size());
  size_t shared = 0;
  while (shared < limit && key[shared] == prev_key_[shared]) ++shared;
  char head[1 + 3 * 10];
  char* p = head;
  *p++ = static_cast<char>(kind << 7 | static_cast<uint8_t>(db));
  p = PutVarint(shared, p);
  p = PutVarint(key.size() - shared, p);
  p = PutVarint(value.size(), p);
  bytes_.append(head, static_cast<size_t>(p - head));
  bytes_.append(key.substr(shared));
  bytes_.append(value);
  prev_key_.assign(key);
  ++ops_;
}

Status AppendJournal(WriteTxn& txn, JournalRecord& record) {
  if (record.empty()) return Status::Ok();
  // A job may be applied more than once (reruns): each time in the transaction at hand.
  PutU64BE(txn.id() | JournalRecord::kPrefixKeys, record.bytes_.data());
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
      char head[24] = {};
      std::memcpy(head, op.key.data(), std::min<size_t>(op.key.size(), sizeof head));
      FoldPlan::Op o{op.db,
                     op.is_delete,
                     static_cast<uint32_t>(plan->arena.size()),
                     static_cast<uint32_t>(op.key.size()),
                     0,
                     static_cast<uint32_t>(op.value.size()),
                     static_cast<uint32_t>(plan->ops.size()),
                     {GetU64BE(head), GetU64BE(head + 8), GetU64BE(head + 16)},
                     TieBreak(op.key)};
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
  // Nearly key order: by the first 24 bytes of the key (LMDB's order as far as they go), then
  // by a hash of the whole key, then journal order. Keys sharing 24 bytes — one entitlement's
  // identities, one customer's lines — sit on neighbouring pages anyway, so a slice is still a
  // contiguous run of pages; equal keys are adjacent, latest last, as the last-write-wins pass
  // below needs; and every comparison is between integers in the Op itself, where comparing
  // whole keys meant a memcmp of long shared prefixes in a 30 MB arena (the planner's cost).
  std::vector<FoldPlan::Op>& ops = plan->ops;
  const std::string& arena = plan->arena;
  auto key_of = [&arena](const FoldPlan::Op& o) {
    return std::string_view(arena.data() + o.key_off, o.key_len);
  };
  std::sort(ops.begin(), ops.end(), [](const FoldPlan::Op& a, const FoldPlan::Op& b) {
    if (a.db != b.db) return a.db < b.db;
    for (int i = 0; i < 3; ++i) {
      if (a.prefix[i] != b.prefix[i]) return a.prefix[i] < b.prefix[i];
    }
    if (a.hash != b.hash) return a.hash < b.hash;
    return a.order < b.order;
  });
  size_t out = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    // Different keys with the same prefix and hash may interleave; only adjacent equal keys
    // are folded into one, which a full hash collision between two live keys could defeat only
    // by leaving both writes in journal order: still correct, one redundant put.
    const bool superseded = i + 1 < ops.size() && ops[i + 1].db == ops[i].db &&
                            ops[i + 1].hash == ops[i].hash && key_of(ops[i + 1]) == key_of(ops[i]);
    if (!superseded) ops[out++] = ops[i];
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
