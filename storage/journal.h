// The write journal: why a commit writes about its own bytes instead of rewriting thousands of
// B-tree pages.
//
// Ingest updates dedupe identities (`events`) and daily lines (`lines`, `unknown_lines`) of
// thousands of concurrent meter streams, which sit on thousands of different leaf pages: written
// in place, every commit copied and synced almost all of them (docs/benchmarks.md). Instead, a
// job appends its writes to those databases as one record of the `journal` database (8-byte BE
// sequence key, appended at the tail: sequential pages). The writer later *folds* the journal
// into the B-trees: it sorts a large window of records by key, keeps the last write of each key
// and applies them in key order, a slice per commit, so each page is rewritten once per window
// rather than once per commit. Records are deleted only after their window is fully applied.
//
// Readers of the journaled databases see the state as of the last finished fold
// (Writer::folded_through): the daemon keeps what is committed but not folded in memory (shard
// ledgers and in-flight identities) and waits for a fold before scanning the store
// (Writer::WaitFolded). A store reopened after a crash folds everything before use
// (Writer::Start). Folding is idempotent: replaying records in sequence order, last write wins,
// gives the same state however much of a window was applied before a crash.
//
// Outside the journal, only writes that commute with it may touch these databases: retention
// deletes expired identities (an identity is journaled only when absent from `events`, so an
// identity deleted in place is never also pending in the journal).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/env.h"
#include "storage/keys.h"
#include "storage/schema.h"

namespace meterd::storage {

// The databases written through the journal.
inline constexpr bool IsJournaled(Db db) {
  return db == Db::kEvents || db == Db::kLines || db == Db::kUnknownLines;
}

// One journal record under construction: puts and deletes, in order. Reuses its buffer.
// Encoded: a header of 8 bytes, BE: kPrefixKeys | the LMDB id of the committing transaction
// (stamped by AppendJournal); then per op: tag (1: kind << 7 | db), shared, suffix length and
// value length (LEB128 varints), the key's suffix, the value. A key is stored as the length of
// the prefix it shares with the previous op's key plus the rest: a job's identities share their
// entitlement and its lines their customer, and the journal is about half of all the bytes a
// commit writes (docs/storage.md, "The write journal").
// Records whose header lacks kPrefixKeys (written before it existed, left by a crash) use the
// first layout: per op db (1) kind (1) key length (4, LE) value length (4, LE) key value.
class JournalRecord {
 public:
  JournalRecord() { Clear(); }
  JournalRecord(const JournalRecord& other);
  JournalRecord(JournalRecord&& other) noexcept;
  JournalRecord& operator=(JournalRecord other) noexcept;
  void Put(Db db, std::string_view key, std::string_view value) { Add(kPut, db, key, value); }
  void Delete(Db db, std::string_view key) { Add(kDelete, db, key, {}); }
  bool empty() const { return ops_ == 0; }
  size_t ops() const { return ops_; }
  std::string_view bytes() const { return {buffer_.get(), size_}; }
  void Clear() {
    if (capacity_ < kHeaderSize) Grow(kHeaderSize);
    PutU64BE(kPrefixKeys, buffer_.get());
    size_ = kHeaderSize;
    prev_key_.clear();
    ops_ = 0;
  }

  static constexpr uint8_t kPut = 0;
  static constexpr uint8_t kDelete = 1;
  static constexpr size_t kHeaderSize = 8;
  // Set in the header of a record whose keys are prefix-compressed (transaction ids stay far
  // below 2^63).
  static constexpr uint64_t kPrefixKeys = uint64_t{1} << 63;

 private:
  friend Status AppendJournal(WriteTxn& txn, JournalRecord& record);
  void Add(uint8_t kind, Db db, std::string_view key, std::string_view value);
  void Grow(size_t at_least);
  // A plain buffer rather than a std::string: an op's tag and varints are written straight
  // into it (a std::string would take them from a scratch array, whose byte-wise stores a
  // wider load then cannot forward from), and growth does not zero what is then overwritten.
  std::unique_ptr<char[]> buffer_;
  size_t size_ = 0;
  size_t capacity_ = 0;
  std::string prev_key_;
  size_t ops_ = 0;
};

struct JournalOp {
  Db db;
  bool is_delete;
  std::string_view key;
  std::string_view value;
};

// Calls fn(const JournalOp&) for every op of an encoded record, in order; Corruption when the
// bytes are not a record (fn may have seen a prefix of its ops).
template <typename Fn>
Status ForEachJournalOp(std::string_view record, Fn&& fn);

// Stamps txn's id into `record` and appends it to the journal under the next sequence number
// (nothing when it holds no op).
Status AppendJournal(WriteTxn& txn, JournalRecord& record);

// The id of the transaction that committed an encoded record; 0 when too short to have one.
uint64_t JournalRecordTxn(std::string_view record);

// A window of journal records, their ops sorted by (database, key) with only the last write of
// each key kept, copied out of the store (a map growth may move it while the window is applied
// over several transactions).
struct FoldPlan {
  uint64_t first_seq = 0;  // records [first_seq, last_seq] (none when records == 0)
  uint64_t last_seq = 0;
  uint64_t records = 0;
  // LMDB id of the snapshot the plan was read from.
  uint64_t snapshot_txn = 0;
  // Every commit with an id up to this one has all its records in the window, so once the plan
  // is applied they are folded: the snapshot, or, for a window cut at max_bytes, the commit of
  // its last record (a window never ends inside one commit's records).
  uint64_t folds_through = 0;
  bool cut = false;  // records past the budget were left for the next window
  struct Op {
    Db db;
    bool is_delete;
    bool superseded;  // a later write of the same key is in the window (planning only)
    uint32_t key_off, key_len, val_off, val_len;
    uint32_t order;  // position in the journal: among writes of one key, the last counts
    // 24 bytes of the key (big-endian words, zero-padded) at the depth the sort has reached:
    // every comparison is between integers in the Op itself.
    uint64_t window[3];
  };
  std::string arena;
  std::vector<Op> ops;
  std::vector<Op> scratch;  // the planner's sort buffer, kept between windows
  std::vector<uint64_t> hashes;  // the planner's key hashes and table, kept between windows
  std::vector<uint32_t> slots;
  size_t applied = 0;  // ops [0, applied) are committed into the B-trees

  std::string_view key(const Op& op) const { return {arena.data() + op.key_off, op.key_len}; }
  std::string_view value(const Op& op) const { return {arena.data() + op.val_off, op.val_len}; }
  bool fully_applied() const { return applied == ops.size(); }
};

// Reads the records with sequence >= from_seq (stopping after the records of the commit whose
// record passes max_bytes of record bytes) into *plan. Any transaction: a read snapshot off the
// writer thread, or the writer's own transaction.
Status BuildFoldPlan(const TxnBase& txn, uint64_t from_seq, size_t max_bytes, FoldPlan* plan);

// Applies ops [begin, end) of plan to their databases.
Status ApplyFoldOps(WriteTxn& txn, const FoldPlan& plan, size_t begin, size_t end);

// Deletes the journal records with sequence <= last_seq.
Status DeleteJournalThrough(WriteTxn& txn, uint64_t last_seq);

// Folds the whole journal inside txn (including records txn itself appended) and empties it.
// *ops: ops applied. For opening a store, shutting down and barriers.
Status FoldWholeJournal(WriteTxn& txn, uint64_t* ops);

// TxnBase::Scan of a journaled database as if its journal were folded: the records of db with
// key >= from that bound admits, journal writes overriding and deleting B-tree records, in key
// order. Reads every journal record of the snapshot (copying only the writes in range), so it
// suits paged reads, not bulk exports (those wait for a fold: Writer::WaitFolded).
// fn: ScanStep(std::string_view key, std::string_view value).
template <typename Fn>
Status ScanWithJournal(const TxnBase& txn, Db db, std::string_view from, ScanBound bound, Fn&& fn);

// Puts to db that the journal of txn's snapshot holds (reads every record).
Result<uint64_t> CountJournalPuts(const TxnBase& txn, Db db);

// The key of every put to db in the journal of txn's snapshot, in journal order (a key
// deleted or written again later comes too, and keys already folded into the B-tree again):
// with a scan of db's B-tree, a superset of db's keys, for building filters over db.
// fn: ScanStep(std::string_view key).
template <typename Fn>
Status ForEachJournalPut(const TxnBase& txn, Db db, Fn&& fn);

// ---------------------------------------------------------------- implementation

namespace journal_detail {
inline uint32_t ReadU32LE(const char* p) {
  return static_cast<uint32_t>(static_cast<unsigned char>(p[0])) |
         static_cast<uint32_t>(static_cast<unsigned char>(p[1])) << 8 |
         static_cast<uint32_t>(static_cast<unsigned char>(p[2])) << 16 |
         static_cast<uint32_t>(static_cast<unsigned char>(p[3])) << 24;
}
// LEB128; false when the record ends inside the varint or it exceeds 64 bits.
inline bool ReadVarint(std::string_view in, size_t* pos, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift < 64 && *pos < in.size(); shift += 7) {
    const uint8_t b = static_cast<uint8_t>(in[(*pos)++]);
    result |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}
}  // namespace journal_detail

template <typename Fn>
Status ForEachJournalOp(std::string_view record, Fn&& fn) {
  if (record.size() < JournalRecord::kHeaderSize) {
    return Status::Corruption("journal record without a header");
  }
  size_t pos = JournalRecord::kHeaderSize;
  if (GetU64BE(record.data()) & JournalRecord::kPrefixKeys) {
    // Keys are rebuilt here, so an op's key is only valid during fn.
    char key[kMaxKeySize];
    size_t key_len = 0;
    while (pos < record.size()) {
      const uint8_t tag = static_cast<uint8_t>(record[pos++]);
      const uint8_t db = tag & 0x7f;
      uint64_t shared, suffix_len, val_len;
      if (!journal_detail::ReadVarint(record, &pos, &shared) ||
          !journal_detail::ReadVarint(record, &pos, &suffix_len) ||
          !journal_detail::ReadVarint(record, &pos, &val_len)) {
        return Status::Corruption("journal record truncated");
      }
      if (db >= kDbCount || !IsJournaled(static_cast<Db>(db)) || shared > key_len ||
          suffix_len > kMaxKeySize - shared || val_len > record.size() ||
          record.size() - pos < suffix_len + val_len) {
        return Status::Corruption("journal record holds a bad op");
      }
      std::memcpy(key + shared, record.data() + pos, suffix_len);
      key_len = shared + suffix_len;
      pos += suffix_len;
      JournalOp op{static_cast<Db>(db), (tag >> 7) == JournalRecord::kDelete,
                   std::string_view(key, key_len), record.substr(pos, val_len)};
      pos += val_len;
      fn(op);
    }
    return Status::Ok();
  }
  while (pos < record.size()) {
    if (record.size() - pos < 10) return Status::Corruption("journal record truncated");
    const char* p = record.data() + pos;
    const uint8_t db = static_cast<uint8_t>(p[0]);
    const uint8_t kind = static_cast<uint8_t>(p[1]);
    const uint32_t key_len = journal_detail::ReadU32LE(p + 2);
    const uint32_t val_len = journal_detail::ReadU32LE(p + 6);
    pos += 10;
    if (db >= kDbCount || !IsJournaled(static_cast<Db>(db)) || kind > JournalRecord::kDelete ||
        record.size() - pos < static_cast<size_t>(key_len) + val_len) {
      return Status::Corruption("journal record holds a bad op");
    }
    JournalOp op{static_cast<Db>(db), kind == JournalRecord::kDelete, record.substr(pos, key_len),
                 record.substr(pos + key_len, val_len)};
    pos += static_cast<size_t>(key_len) + val_len;
    fn(op);
  }
  return Status::Ok();
}

// TxnBase::Get as if the journal were folded (reads every journal record of the snapshot).
Status GetWithJournal(const TxnBase& txn, Db db, std::string_view key, std::string* value);

// Writes of db in [from, bound) from the journal of txn's snapshot, last write per key
// (nullopt: deleted).
Status JournalOverlay(const TxnBase& txn, Db db, std::string_view from, const ScanBound& bound,
                      std::map<std::string, std::optional<std::string>, std::less<>>* overlay);

template <typename Fn>
Status ScanWithJournal(const TxnBase& txn, Db db, std::string_view from, ScanBound bound, Fn&& fn) {
  std::map<std::string, std::optional<std::string>, std::less<>> overlay;
  METERD_RETURN_IF_ERROR(JournalOverlay(txn, db, from, bound, &overlay));
  auto next = overlay.begin();
  bool stopped = false;
  // Emits overlay writes with keys below `limit` (all when null); false once fn stops.
  auto emit_below = [&](const std::string_view* limit) {
    // compare(), not operator<: clang 14 with libstdc++ 12 cannot rewrite string < string_view.
    for (; next != overlay.end() &&
           (limit == nullptr || std::string_view(next->first).compare(*limit) < 0);
         ++next) {
      if (next->second &&
          fn(std::string_view(next->first), std::string_view(*next->second)) == ScanStep::kStop) {
        ++next;
        return false;
      }
    }
    return true;
  };
  Status st = txn.Scan(db, from, bound, [&](std::string_view k, std::string_view v) {
    if (!emit_below(&k)) {
      stopped = true;
      return ScanStep::kStop;
    }
    // The journal's write wins.
    if (next != overlay.end() && std::string_view(next->first).compare(k) == 0) {
      const auto& written = next->second;
      ++next;
      if (!written) return ScanStep::kContinue;
      if (fn(k, std::string_view(*written)) == ScanStep::kStop) {
        stopped = true;
        return ScanStep::kStop;
      }
      return ScanStep::kContinue;
    }
    if (fn(k, v) == ScanStep::kStop) {
      stopped = true;
      return ScanStep::kStop;
    }
    return ScanStep::kContinue;
  });
  if (!st.ok() || stopped) return st;
  emit_below(nullptr);
  return Status::Ok();
}

template <typename Fn>
Status ForEachJournalPut(const TxnBase& txn, Db db, Fn&& fn) {
  bool stopped = false;
  Status decode;
  Status st = txn.Scan(Db::kJournal, {}, ScanBound::None(), [&](std::string_view,
                                                                 std::string_view v) {
    decode = ForEachJournalOp(v, [&](const JournalOp& op) {
      if (!stopped && op.db == db && !op.is_delete) stopped = fn(op.key) == ScanStep::kStop;
    });
    return decode.ok() && !stopped ? ScanStep::kContinue : ScanStep::kStop;
  });
  if (!st.ok()) return st;
  return decode;
}

}  // namespace meterd::storage
