// The LMDB environment of one data directory and its RAII transactions. Env is thread-safe.
// A ReadTxn or WriteTxn is used by one thread at a time (MDB_NOTLS: it may move between
// threads while idle) and never spans a suspension point; nothing handed to a caller points
// into the map after the call returns. Readers never block the writer (MVCC); map growth waits
// for open transactions to end (see docs/storage.md "Map growth").
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "common/status.h"
#include "storage/schema.h"
#include "storage/stats.h"

struct MDB_cursor;
struct MDB_env;
struct MDB_txn;

namespace meterd::storage {

// How a commit reaches the disk before Commit() returns.
enum class SyncMode {
  // Data pages fsync'd, then the meta page fsync'd: a committed txn survives power loss.
  kFull,
  // MDB_NOMETASYNC: data pages are fsync'd but the meta page is not; the next commit's fsync
  // (or Env::Sync) persists it. Gives up: after an OS crash or power loss the LAST committed
  // transaction(s) before the crash may be rolled back (never torn); a process crash loses
  // nothing. One fsync per commit instead of two.
  kNoMetaSync,
  // MDB_NOSYNC: nothing is fsync'd. For tests and offline bulk loads only: an OS crash can
  // lose any number of recent commits and, if the file system reorders writes, corrupt the
  // store. Never acknowledge client data in this mode.
  kNone,
};

enum class Access { kReadWrite, kReadOnly };

struct EnvOptions {
  uint64_t map_size = uint64_t{1} << 30;       // initial map; raised to the file's size
  uint64_t max_map_size = uint64_t{64} << 30;  // growth stops here
  uint64_t map_growth_step = uint64_t{1} << 30;
  SyncMode sync = SyncMode::kFull;
  uint32_t max_readers = 126;
  Access access = Access::kReadWrite;
  bool create_if_missing = true;
  // How long a map growth waits for open transactions to end before giving up (the batch then
  // fails with ResourceExhausted). New transactions wait at most this long for a growth.
  std::chrono::milliseconds growth_wait{1000};
};

enum class ScanStep { kContinue, kStop };
enum class ScanAction { kKeep, kDelete, kStop };

// Where a scan stops. The viewed bytes must outlive the Scan call.
class ScanBound {
 public:
  static ScanBound None() { return ScanBound(Kind::kNone, {}); }
  // Keys that start with prefix.
  static ScanBound Prefix(std::string_view prefix) { return ScanBound(Kind::kPrefix, prefix); }
  // Keys strictly less than end.
  static ScanBound Before(std::string_view end) { return ScanBound(Kind::kBefore, end); }
  bool Admits(std::string_view key) const;

 private:
  enum class Kind { kNone, kPrefix, kBefore };
  ScanBound(Kind kind, std::string_view key) : kind_(kind), key_(key) {}
  Kind kind_;
  std::string_view key_;
};

// A value copied out of the map: inline up to kInline bytes, else a heap block kept for reuse,
// so a reused buffer reads line records without allocating.
class ValueBuffer {
 public:
  static constexpr size_t kInline = 512;
  ValueBuffer() = default;
  ValueBuffer(const ValueBuffer&) = delete;
  ValueBuffer& operator=(const ValueBuffer&) = delete;

  void Assign(const void* data, size_t size);
  const char* data() const { return size_ > kInline ? heap_.get() : inline_; }
  char* mutable_data() { return size_ > kInline ? heap_.get() : inline_; }
  size_t size() const { return size_; }
  std::string_view view() const { return std::string_view(data(), size_); }

 private:
  char inline_[kInline];
  std::unique_ptr<char[]> heap_;  // for values above kInline; kept (and grown) for reuse
  size_t heap_capacity_ = 0;
  size_t size_ = 0;
};

class Env;

// Read operations shared by both transaction kinds. Every view passed to a scan callback is
// valid only during that callback.
class TxnBase {
 public:
  TxnBase(const TxnBase&) = delete;
  TxnBase& operator=(const TxnBase&) = delete;

  // NotFound when absent. Copies into *value, reusing its capacity.
  Status Get(Db db, std::string_view key, std::string* value) const;
  Status Get(Db db, std::string_view key, ValueBuffer* value) const;
  Result<bool> Contains(Db db, std::string_view key) const;
  // The last (greatest) record; NotFound when db is empty.
  Status Last(Db db, std::string* key, std::string* value) const;
  Result<uint64_t> Count(Db db) const;

  // Visits records with key >= from (from the first when empty) while bound admits them and fn
  // returns kContinue. fn: ScanStep(std::string_view key, std::string_view value).
  template <typename Fn>
  Status Scan(Db db, std::string_view from, ScanBound bound, Fn&& fn) const {
    return ScanRaw(db, from, bound, &fn, [](void* ctx, std::string_view k, std::string_view v) {
      return (*static_cast<std::remove_reference_t<Fn>*>(ctx))(k, v);
    });
  }
  template <typename Fn>
  Status ScanPrefix(Db db, std::string_view prefix, Fn&& fn) const {
    return Scan(db, prefix, ScanBound::Prefix(prefix), std::forward<Fn>(fn));
  }

  bool active() const { return txn_ != nullptr; }
  friend class KeyProbe;
  // LMDB's id of the snapshot (read) or of the transaction being written.
  uint64_t id() const;

 protected:
  using RawScanFn = ScanStep (*)(void* ctx, std::string_view key, std::string_view value);
  TxnBase(Env* env, MDB_txn* txn, bool holds_gate)
      : env_(env), txn_(txn), holds_gate_(holds_gate) {}
  TxnBase(TxnBase&& other) noexcept;
  ~TxnBase() = default;
  void MoveFrom(TxnBase&& other) noexcept;
  // Aborts the LMDB txn (if any) and leaves the map gate.
  void End() noexcept;
  Status ScanRaw(Db db, std::string_view from, ScanBound bound, void* ctx, RawScanFn fn) const;
  // Maps an LMDB result to a Status; errors that leave the txn unusable (map full, I/O) are
  // remembered so the writer can tell environment trouble from a job's own failure.
  Status Check(int rc) const;
  unsigned dbi(Db db) const;

  Env* env_ = nullptr;
  MDB_txn* txn_ = nullptr;
  bool holds_gate_ = false;
  mutable int fatal_rc_ = 0;
  // Write txns only: one cursor per database, opened on first Put/Update and freed by LMDB
  // when the txn ends (no malloc per call; a key next to the last one skips the descent from
  // the root). Never handed out.
  MDB_cursor* cursors_[kDbCount] = {};

  friend class Env;
  friend class Writer;
};

class ReadTxn : public TxnBase {
 public:
  ReadTxn(ReadTxn&& other) noexcept : TxnBase(std::move(other)) {}
  ReadTxn& operator=(ReadTxn&& other) noexcept;
  ~ReadTxn() { End(); }

 private:
  friend class Env;
  ReadTxn(Env* env, MDB_txn* txn) : TxnBase(env, txn, true) {}
};

// Membership tests of many keys in one read transaction through one cursor. When the next key
// lies on the leaf page the cursor rests on (keys that come near each other: one stream's
// event ids, one customer's lines), LMDB searches that page alone instead of descending from
// the root. Read transactions only; use it while the transaction lives. Not thread-safe.
class KeyProbe {
 public:
  KeyProbe(const ReadTxn& txn, Db db);
  ~KeyProbe();
  KeyProbe(const KeyProbe&) = delete;
  KeyProbe& operator=(const KeyProbe&) = delete;
  Result<bool> Contains(std::string_view key);

 private:
  const TxnBase* txn_;
  Db db_;
  MDB_cursor* cursor_ = nullptr;
};

enum class PutMode {
  kOverwrite,
  kNoOverwrite,  // AlreadyExists when the key is present (the stored value is kept)
  kAppend,       // the key must sort after every key of db (InvalidArgument otherwise)
};

class WriteTxn : public TxnBase {
 public:
  // Nonzero once an LMDB error left this transaction unusable (map full, I/O): trouble of the
  // environment, which the Writer handles for the whole batch, not the failure of one job.
  int fatal_rc() const { return fatal_rc_; }
  WriteTxn(WriteTxn&& other) noexcept : TxnBase(std::move(other)), borrowed_(other.borrowed_) {}
  WriteTxn& operator=(WriteTxn&& other) noexcept;
  ~WriteTxn() { End(); }  // aborts unless committed

  Status Put(Db db, std::string_view key, std::string_view value,
             PutMode mode = PutMode::kOverwrite);
  // NotFound when absent.
  Status Delete(Db db, std::string_view key);
  // Appends value under the next sequence number of db (8-byte BE key), returns it. The number
  // is one more than the highest ever assigned in db (kept in meta), so sequences are
  // monotonic and gap-free across restarts and survive deleting the newest records. A number
  // assigned in a transaction that aborts is assigned again.
  Result<uint64_t> AppendSequenced(Db db, std::string_view value);
  // Read-modify-write with a single B-tree search (Get then Put costs two). fn is called as
  // std::optional<std::string_view> fn(const std::string_view* current), current being null
  // when the key is absent and valid only during fn. It returns the new value, viewing storage
  // fn owns (never `current` itself) that stays valid until Update returns, or std::nullopt to
  // leave the record as it is.
  template <typename Fn>
  Status Update(Db db, std::string_view key, Fn&& fn) {
    return UpdateRaw(db, key, &fn, [](void* ctx, const std::string_view* current) {
      return std::optional<std::string_view>(
          (*static_cast<std::remove_reference_t<Fn>*>(ctx))(current));
    });
  }
  // Like Scan; fn returns kDelete to delete the visited record (ScanAction(key, value)).
  template <typename Fn>
  Status ScanDelete(Db db, std::string_view from, ScanBound bound, Fn&& fn) {
    return ScanDeleteRaw(db, from, bound, &fn,
                         [](void* ctx, std::string_view k, std::string_view v) {
                           return (*static_cast<std::remove_reference_t<Fn>*>(ctx))(k, v);
                         });
  }

  // Commits and ends the transaction; the handle is released even when the commit fails.
  // With SyncMode::kFull the data is on disk when this returns OK. A transaction lent to a
  // job by the Writer refuses (FailedPrecondition): the Writer commits the whole batch.
  Status Commit() &&;

 private:
  friend class Env;
  friend class Writer;
  using RawDeleteFn = ScanAction (*)(void* ctx, std::string_view key, std::string_view value);
  using RawUpdateFn = std::optional<std::string_view> (*)(void* ctx,
                                                          const std::string_view* current);
  Status UpdateRaw(Db db, std::string_view key, void* ctx, RawUpdateFn fn);
  // The txn's cursor on db, opened on first use.
  Status CachedCursor(Db db, MDB_cursor** cursor);
  WriteTxn(Env* env, MDB_txn* txn, bool holds_gate, bool borrowed)
      : TxnBase(env, txn, holds_gate), borrowed_(borrowed) {}
  Status ScanDeleteRaw(Db db, std::string_view from, ScanBound bound, void* ctx, RawDeleteFn fn);
  // A child transaction (LMDB nested txn) the Writer uses to isolate one job.
  Result<WriteTxn> BeginChild();
  // Commits regardless of borrowed_; for the Writer.
  Status CommitOwned();

  bool borrowed_ = false;
};

class Env {
 public:
  // Opens (creating when allowed) the store in dir: every named database, the schema version
  // check (a store written by a newer schema is refused with FailedPrecondition), stale reader
  // slots of dead processes cleared. A read-write open takes an exclusive lock on
  // dir/meterd.lock so two daemons never share a store.
  static Result<std::unique_ptr<Env>> Open(const std::string& dir, const EnvOptions& options);
  // REQUIRES: no transaction open, the Writer stopped.
  ~Env();
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;

  // Short read transaction: copy out what you need and drop it. Do not hold one while waiting
  // for a commit (a map growth would wait for it).
  Result<ReadTxn> BeginRead();
  // A standalone write transaction, for setup and offline tools. While a Writer runs, all
  // writes go through it instead (LMDB would serialize this one behind its batches).
  Result<WriteTxn> BeginWrite();

  // Hot, compacting copy of the current snapshot into dest_dir/data.mdb (written to a
  // temporary name, fsync'd and renamed, so a partial copy never looks like a backup). The
  // writer keeps committing meanwhile. dest_dir is created if missing; an existing data.mdb
  // there is an error.
  Status Backup(const std::string& dest_dir);

  // Forces everything committed so far to disk (for kNoMetaSync/kNone).
  Status Sync();

  Result<StoreStats> Stats();

  // Grows the map by one step, up to max_map_size. ResourceExhausted when already at the max
  // or when open transactions did not end within wait (default: options().growth_wait).
  // REQUIRES: the calling thread has no transaction open.
  Status Grow();
  Status Grow(std::chrono::milliseconds wait);
  // Changes the growth ceiling at run time (an operator freed disk or raised the limit).
  void SetMaxMapSize(uint64_t bytes);

  uint64_t map_size() const { return map_size_.load(std::memory_order_relaxed); }
  uint64_t max_map_size() const { return max_map_size_.load(std::memory_order_relaxed); }
  // Bytes of the map in use (up to the highest page ever written; free pages inside count).
  // Any thread: waits out a map growth like a transaction would; 0 when that wait fails.
  uint64_t used_bytes() const;
  const std::string& dir() const { return dir_; }
  const EnvOptions& options() const { return options_; }
  uint32_t schema_version() const { return schema_version_; }
  bool has_db(Db db) const { return present_[static_cast<int>(db)]; }
  // True when the data file system is nearly full or the file is near the process' file-size
  // limit. LMDB reports a short write at commit (the usual face of a full disk) as EIO; the
  // writer asks this to tell a full disk (ResourceExhausted, 503) from a failing one.
  bool LooksOutOfSpace() const;

 private:
  friend class TxnBase;
  friend class WriteTxn;
  friend class Writer;

  // Lets transactions and map growth exclude each other (mdb_env_set_mapsize remaps the file,
  // which must not happen under a live transaction of this process). Transactions hold it
  // shared for their lifetime; growth takes it exclusively and, while waiting, holds new
  // transactions back so readers cannot starve it.
  class MapGate {
   public:
    bool EnterShared(std::chrono::milliseconds wait);
    void ExitShared();
    bool EnterExclusive(std::chrono::milliseconds wait);
    void ExitExclusive();

   private:
    std::mutex mu_;
    std::condition_variable cv_;
    int holders_ = 0;
    bool exclusive_wanted_ = false;
    bool exclusive_held_ = false;
  };

  Env(std::string dir, const EnvOptions& options);
  Status OpenImpl();
  Status OpenDatabases();
  Result<MDB_txn*> BeginRaw(unsigned flags);
  // Remaps to new_size (0: adopt the size another process set). REQUIRES: grow_mu_ held.
  Status Remap(uint64_t new_size, std::chrono::milliseconds wait);
  void RefreshMapSize();

  const std::string dir_;
  const EnvOptions options_;
  MDB_env* env_ = nullptr;
  unsigned dbi_[kDbCount] = {};
  bool present_[kDbCount] = {};
  uint32_t schema_version_ = 0;
  int lock_fd_ = -1;
  std::pair<dev_t, ino_t> store_id_{};
  bool registered_ = false;
  uint32_t page_size_ = 4096;
  mutable MapGate gate_;  // mutable: used_bytes() const enters it too
  std::mutex grow_mu_;
  std::atomic<uint64_t> map_size_{0};
  std::atomic<uint64_t> max_map_size_{0};
};

}  // namespace meterd::storage
