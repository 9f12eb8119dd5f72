#include "storage/journal.h"

#include <algorithm>
#include <cstring>

#include "storage/keys.h"

namespace meterd::storage {
namespace {

void AppendU32LE(std::string* out, uint32_t v) {
  char b[4] = {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16),
               static_cast<char>(v >> 24)};
  out->append(b, 4);
}

}  // namespace

void JournalRecord::Add(uint8_t kind, Db db, std::string_view key, std::string_view value) {
  bytes_.push_back(static_cast<char>(db));
  bytes_.push_back(static_cast<char>(kind));
  AppendU32LE(&bytes_, static_cast<uint32_t>(key.size()));
  AppendU32LE(&bytes_, static_cast<uint32_t>(value.size()));
  bytes_.append(key);
  bytes_.append(value);
  ++ops_;
}

Status AppendJournal(WriteTxn& txn, const JournalRecord& record) {
  if (record.empty()) return Status::Ok();
  Result<uint64_t> seq = txn.AppendSequenced(Db::kJournal, record.bytes());
  return seq.ok() ? Status::Ok() : seq.status();
}

Status BuildFoldPlan(const TxnBase& txn, uint64_t from_seq, size_t max_bytes, FoldPlan* plan) {
  plan->first_seq = 0;
  plan->last_seq = 0;
  plan->records = 0;
  plan->snapshot_txn = txn.id();
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
    if (plan->records == 0) plan->first_seq = seq;
    plan->last_seq = seq;
    ++plan->records;
    decode = ForEachJournalOp(v, [&](const JournalOp& op) {
      char head[8] = {};
      std::memcpy(head, op.key.data(), std::min<size_t>(op.key.size(), 8));
      FoldPlan::Op o{op.db,
                     op.is_delete,
                     static_cast<uint32_t>(plan->arena.size()),
                     static_cast<uint32_t>(op.key.size()),
                     0,
                     static_cast<uint32_t>(op.value.size()),
                     static_cast<uint32_t>(plan->ops.size()),
                     GetU64BE(head)};
      plan->arena.append(op.key);
      o.val_off = static_cast<uint32_t>(plan->arena.size());
      plan->arena.append(op.value);
      plan->ops.push_back(o);
    });
    if (!decode.ok()) return ScanStep::kStop;
    bytes += v.size();
    return bytes >= max_bytes ? ScanStep::kStop : ScanStep::kContinue;
  });
  if (!st.ok()) return st;
  if (!decode.ok()) return decode;
  if (plan->arena.size() > UINT32_MAX) return Status::ResourceExhausted("fold window too large");
  // Key order (LMDB's default order: bytes, then length) makes each applied slice a contiguous
  // run of pages; journal order breaks ties, since of the writes to one key only the last
  // counts. The 8-byte prefix settles most comparisons without touching the arena.
  std::vector<FoldPlan::Op>& ops = plan->ops;
  const std::string& arena = plan->arena;
  auto key_of = [&arena](const FoldPlan::Op& o) {
    return std::string_view(arena.data() + o.key_off, o.key_len);
  };
  std::sort(ops.begin(), ops.end(), [&](const FoldPlan::Op& a, const FoldPlan::Op& b) {
    if (a.db != b.db) return a.db < b.db;
    if (a.prefix != b.prefix) return a.prefix < b.prefix;
    const int c = key_of(a).compare(key_of(b));
    if (c != 0) return c < 0;
    return a.order < b.order;
  });
  size_t out = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    const bool superseded = i + 1 < ops.size() && ops[i + 1].db == ops[i].db &&
                            key_of(ops[i + 1]) == key_of(ops[i]);
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
  Status st = txn.Scan(Db::kJournal, {}, ScanBound::None(), [&](std::string_view, std::string_view v) {
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
  });
  if (!st.ok()) return st;
  return decode;
}

Status GetWithJournal(const TxnBase& txn, Db db, std::string_view key, std::string* value) {
  std::optional<std::optional<std::string>> written;  // outer: the journal wrote key at all
  Status decode;
  Status st = txn.Scan(Db::kJournal, {}, ScanBound::None(), [&](std::string_view, std::string_view v) {
    decode = ForEachJournalOp(v, [&](const JournalOp& op) {
      if (op.db != db || op.key != key) return;
      written = op.is_delete ? std::optional<std::string>() : std::optional<std::string>(op.value);
    });
    return decode.ok() ? ScanStep::kContinue : ScanStep::kStop;
  });
  if (!st.ok()) return st;
  if (!decode.ok()) return decode;
  if (!written) return txn.Get(db, key, value);
  if (!*written) return Status::NotFound("deleted in the journal");
  *value = std::move(**written);
  return Status::Ok();
}

Result<bool> JournalEmpty(const TxnBase& txn) {
  bool empty = true;
  Status st = txn.Scan(Db::kJournal, {}, ScanBound::None(), [&](std::string_view, std::string_view) {
    empty = false;
    return ScanStep::kStop;
  });
  if (!st.ok()) return st;
  return empty;
}

}  // namespace meterd::storage
