#include "storage/env.h"

#include <fcntl.h>
#include <lmdb.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>
#include <utility>

#include "storage/lmdb_status.h"

namespace meterd::storage {
namespace {

constexpr std::string_view kSchemaVersionKey = "schema_version";
constexpr std::string_view kSeqKeyPrefix = "seq/";
constexpr unsigned kMaxDbs = kDbCount + 4;

MDB_val Val(std::string_view s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }
std::string_view View(const MDB_val& v) {
  return std::string_view(static_cast<const char*>(v.mv_data), v.mv_size);
}

// Closes a cursor on every path out of a call: no cursor outlives the call that opened it.
class CursorGuard {
 public:
  explicit CursorGuard(MDB_cursor* c) : c_(c) {}
  ~CursorGuard() { mdb_cursor_close(c_); }
  CursorGuard(const CursorGuard&) = delete;
  CursorGuard& operator=(const CursorGuard&) = delete;

 private:
  MDB_cursor* c_;
};

bool KeySizeOk(std::string_view key) { return !key.empty() && key.size() <= kMaxKeySize; }

// LMDB must not open one environment twice in a process: POSIX record locks are per process,
// so the second open would believe it is alone, reset the shared reader table and, on close,
// drop the first one's locks. This process-wide set of open stores (by device and inode) turns
// that mistake into a clear error. It is the module's only global, for that reason.
class OpenStores {
 public:
  bool Add(std::pair<dev_t, ino_t> id) {
    std::lock_guard lock(mu_);
    return ids_.insert(id).second;
  }
  void Remove(std::pair<dev_t, ino_t> id) {
    std::lock_guard lock(mu_);
    ids_.erase(id);
  }

 private:
  std::mutex mu_;
  std::set<std::pair<dev_t, ino_t>> ids_;
};

OpenStores& TheOpenStores() {
  static OpenStores* stores = new OpenStores();  // never destroyed: Envs may outlive statics
  return *stores;
}

// Space below this on the data file system counts as "disk full" when a commit fails.
constexpr uint64_t kLowDiskBytes = uint64_t{64} << 20;

}  // namespace

// ---------------------------------------------------------------------------------------------
// Small value types.

bool ScanBound::Admits(std::string_view key) const {
  switch (kind_) {
    case Kind::kNone:
      return true;
    case Kind::kPrefix:
      return key.starts_with(key_);
    case Kind::kBefore:
      return key < key_;
  }
  return false;
}

void ValueBuffer::Assign(const void* data, size_t size) {
  if (size > kInline) {
    if (heap_capacity_ < size) {
      heap_capacity_ = std::max(size, heap_capacity_ * 2);
      heap_ = std::make_unique_for_overwrite<char[]>(heap_capacity_);
    }
    std::memcpy(heap_.get(), data, size);
  } else if (size > 0) {
    std::memcpy(inline_, data, size);
  }
  size_ = size;
}

// ---------------------------------------------------------------------------------------------
// Transactions.

TxnBase::TxnBase(TxnBase&& other) noexcept
    : env_(other.env_),
      txn_(std::exchange(other.txn_, nullptr)),
      holds_gate_(std::exchange(other.holds_gate_, false)),
      fatal_rc_(other.fatal_rc_) {
  std::copy(std::begin(other.cursors_), std::end(other.cursors_), cursors_);
  std::fill(std::begin(other.cursors_), std::end(other.cursors_), nullptr);
}

void TxnBase::MoveFrom(TxnBase&& other) noexcept {
  End();
  env_ = other.env_;
  txn_ = std::exchange(other.txn_, nullptr);
  holds_gate_ = std::exchange(other.holds_gate_, false);
  fatal_rc_ = other.fatal_rc_;
  std::copy(std::begin(other.cursors_), std::end(other.cursors_), cursors_);
  std::fill(std::begin(other.cursors_), std::end(other.cursors_), nullptr);
}

void TxnBase::End() noexcept {
  // Cached cursors exist only in write txns, where ending the txn frees them.
  std::fill(std::begin(cursors_), std::end(cursors_), nullptr);
  if (txn_ != nullptr) mdb_txn_abort(std::exchange(txn_, nullptr));
  if (holds_gate_) {
    holds_gate_ = false;
    env_->gate_.ExitShared();
  }
}

ReadTxn& ReadTxn::operator=(ReadTxn&& other) noexcept {
  if (this != &other) MoveFrom(std::move(other));
  return *this;
}

WriteTxn& WriteTxn::operator=(WriteTxn&& other) noexcept {
  if (this != &other) {
    MoveFrom(std::move(other));
    borrowed_ = other.borrowed_;
  }
  return *this;
}

unsigned TxnBase::dbi(Db db) const { return env_->dbi_[static_cast<int>(db)]; }

uint64_t TxnBase::id() const { return txn_ == nullptr ? 0 : mdb_txn_id(txn_); }

Status TxnBase::Check(int rc) const {
  switch (rc) {
    case MDB_SUCCESS:
      return Status::Ok();
    case MDB_NOTFOUND:
      return Status::NotFound("not found");
    case MDB_KEYEXIST:
      return Status::AlreadyExists("key exists");
    case MDB_BAD_VALSIZE:
      return Status::InvalidArgument("bad key or value size");
    default:
      // Anything else (map full, I/O, corruption) leaves the LMDB txn in an error state.
      if (fatal_rc_ == 0) fatal_rc_ = rc;
      return LmdbStatus(rc, "lmdb");
  }
}

Status TxnBase::Get(Db db, std::string_view key, std::string* value) const {
  if (txn_ == nullptr) return Status::FailedPrecondition("transaction ended");
  if (!KeySizeOk(key)) return Status::InvalidArgument("bad key size");
  MDB_val k = Val(key);
  MDB_val v;
  const int rc = mdb_get(txn_, dbi(db), &k, &v);
  if (rc != MDB_SUCCESS) return Check(rc);
  value->assign(static_cast<const char*>(v.mv_data), v.mv_size);
  return Status::Ok();
}

Status TxnBase::Get(Db db, std::string_view key, ValueBuffer* value) const {
  if (txn_ == nullptr) return Status::FailedPrecondition("transaction ended");
  if (!KeySizeOk(key)) return Status::InvalidArgument("bad key size");
  MDB_val k = Val(key);
  MDB_val v;
  const int rc = mdb_get(txn_, dbi(db), &k, &v);
  if (rc != MDB_SUCCESS) return Check(rc);
  value->Assign(v.mv_data, v.mv_size);
  return Status::Ok();
}

Result<bool> TxnBase::Contains(Db db, std::string_view key) const {
  if (txn_ == nullptr) return Status::FailedPrecondition("transaction ended");
  if (!KeySizeOk(key)) return Status::InvalidArgument("bad key size");
  MDB_val k = Val(key);
  MDB_val v;
  const int rc = mdb_get(txn_, dbi(db), &k, &v);
  if (rc == MDB_SUCCESS) return true;
  if (rc == MDB_NOTFOUND) return false;
  return Check(rc);
}

KeyProbe::KeyProbe(const ReadTxn& txn, Db db) : txn_(&txn), db_(db) {}

KeyProbe::~KeyProbe() {
  if (cursor_ != nullptr) mdb_cursor_close(cursor_);  // allowed after a read txn ended
}

Result<bool> KeyProbe::Contains(std::string_view key) {
  if (txn_->txn_ == nullptr) return Status::FailedPrecondition("transaction ended");
  if (!KeySizeOk(key)) return Status::InvalidArgument("bad key size");
  if (cursor_ == nullptr) {
    if (int rc = mdb_cursor_open(txn_->txn_, txn_->dbi(db_), &cursor_); rc != MDB_SUCCESS) {
      cursor_ = nullptr;
      return txn_->Check(rc);
    }
  }
  // MDB_SET_RANGE leaves the cursor on a page whatever the answer (MDB_SET would not), so the
  // next probe can start from it.
  MDB_val k = Val(key);
  MDB_val v;
  const int rc = mdb_cursor_get(cursor_, &k, &v, MDB_SET_RANGE);
  if (rc == MDB_NOTFOUND) return false;
  if (rc != MDB_SUCCESS) return txn_->Check(rc);
  return std::string_view(static_cast<const char*>(k.mv_data), k.mv_size) == key;
}

Status TxnBase::Last(Db db, std::string* key, std::string* value) const {
  if (txn_ == nullptr) return Status::FailedPrecondition("transaction ended");
  MDB_cursor* c = nullptr;
  if (int rc = mdb_cursor_open(txn_, dbi(db), &c); rc != MDB_SUCCESS) return Check(rc);
  CursorGuard guard(c);
  MDB_val k;
  MDB_val v;
  const int rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
  if (rc != MDB_SUCCESS) return Check(rc);
  if (key != nullptr) key->assign(static_cast<const char*>(k.mv_data), k.mv_size);
  if (value != nullptr) value->assign(static_cast<const char*>(v.mv_data), v.mv_size);
  return Status::Ok();
}

Result<uint64_t> TxnBase::Count(Db db) const {
  if (txn_ == nullptr) return Status::FailedPrecondition("transaction ended");
  MDB_stat st;
  if (int rc = mdb_stat(txn_, dbi(db), &st); rc != MDB_SUCCESS) return Check(rc);
  return static_cast<uint64_t>(st.ms_entries);
}

Status TxnBase::ScanRaw(Db db, std::string_view from, ScanBound bound, void* ctx,
                        RawScanFn fn) const {
  if (txn_ == nullptr) return Status::FailedPrecondition("transaction ended");
  if (from.size() > kMaxKeySize) return Status::InvalidArgument("bad key size");
  MDB_cursor* c = nullptr;
  if (int rc = mdb_cursor_open(txn_, dbi(db), &c); rc != MDB_SUCCESS) return Check(rc);
  CursorGuard guard(c);
  MDB_val k = Val(from);
  MDB_val v;
  int rc = mdb_cursor_get(c, &k, &v, from.empty() ? MDB_FIRST : MDB_SET_RANGE);
  while (rc == MDB_SUCCESS) {
    const std::string_view key = View(k);
    if (!bound.Admits(key)) break;
    if (fn(ctx, key, View(v)) == ScanStep::kStop) break;
    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
  }
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return Check(rc);
  return Status::Ok();
}

Status WriteTxn::ScanDeleteRaw(Db db, std::string_view from, ScanBound bound, void* ctx,
                               RawDeleteFn fn) {
  if (txn_ == nullptr) return Status::FailedPrecondition("transaction ended");
  if (from.size() > kMaxKeySize) return Status::InvalidArgument("bad key size");
  MDB_cursor* c = nullptr;
  if (int rc = mdb_cursor_open(txn_, dbi(db), &c); rc != MDB_SUCCESS) return Check(rc);
  CursorGuard guard(c);
  MDB_val k = Val(from);
  MDB_val v;
  int rc = mdb_cursor_get(c, &k, &v, from.empty() ? MDB_FIRST : MDB_SET_RANGE);
  while (rc == MDB_SUCCESS) {
    const std::string_view key = View(k);
    if (!bound.Admits(key)) break;
    const ScanAction action = fn(ctx, key, View(v));
    if (action == ScanAction::kStop) break;
    if (action == ScanAction::kDelete) {
      // After mdb_cursor_del the cursor rests on the following record, and MDB_NEXT returns
      // that record (LMDB marks the cursor C_DEL), so nothing is skipped.
      rc = mdb_cursor_del(c, 0);
      if (rc != MDB_SUCCESS) return Check(rc);
    }
    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
  }
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return Check(rc);
  return Status::Ok();
}

Status WriteTxn::Put(Db db, std::string_view key, std::string_view value, PutMode mode) {
  if (txn_ == nullptr) return Status::FailedPrecondition("transaction ended");
  if (!KeySizeOk(key)) return Status::InvalidArgument("bad key size");
  MDB_cursor* c = nullptr;
  METERD_RETURN_IF_ERROR(CachedCursor(db, &c));
  MDB_val k = Val(key);
  MDB_val v = Val(value);
  unsigned flags = 0;
  if (mode == PutMode::kNoOverwrite) flags = MDB_NOOVERWRITE;
  if (mode == PutMode::kAppend) flags = MDB_APPEND;
  // Through the txn's cursor rather than mdb_put: when the key lands on the page the cursor
  // already rests on (writes in key order), LMDB skips the descent from the root.
  const int rc = mdb_cursor_put(c, &k, &v, flags);
  if (rc == MDB_KEYEXIST && mode == PutMode::kAppend) {
    return Status::InvalidArgument("append key does not sort last");
  }
  return Check(rc);
}

Status WriteTxn::CachedCursor(Db db, MDB_cursor** cursor) {
  MDB_cursor*& c = cursors_[static_cast<int>(db)];
  if (c == nullptr) {
    if (int rc = mdb_cursor_open(txn_, dbi(db), &c); rc != MDB_SUCCESS) {
      c = nullptr;
      return Check(rc);
    }
  }
  *cursor = c;
  return Status::Ok();
}

Status WriteTxn::UpdateRaw(Db db, std::string_view key, void* ctx, RawUpdateFn fn) {
  if (txn_ == nullptr) return Status::FailedPrecondition("transaction ended");
  if (!KeySizeOk(key)) return Status::InvalidArgument("bad key size");
  MDB_cursor* c = nullptr;
  METERD_RETURN_IF_ERROR(CachedCursor(db, &c));
  MDB_val k = Val(key);
  MDB_val v;
  const int rc = mdb_cursor_get(c, &k, &v, MDB_SET_KEY);
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) return Check(rc);
  const bool found = rc == MDB_SUCCESS;
  const std::string_view current = found ? View(v) : std::string_view();
  const std::optional<std::string_view> next = fn(ctx, found ? &current : nullptr);
  if (!next) return Status::Ok();
  MDB_val nv = Val(*next);
  // MDB_CURRENT rewrites the record the cursor rests on: no second search.
  k = Val(key);
  return Check(mdb_cursor_put(c, &k, &nv, found ? MDB_CURRENT : 0));
}

Status WriteTxn::Delete(Db db, std::string_view key) {
  if (txn_ == nullptr) return Status::FailedPrecondition("transaction ended");
  if (!KeySizeOk(key)) return Status::InvalidArgument("bad key size");
  MDB_val k = Val(key);
  return Check(mdb_del(txn_, dbi(db), &k, nullptr));
}

Result<uint64_t> WriteTxn::AppendSequenced(Db db, std::string_view value) {
  if (txn_ == nullptr) return Status::FailedPrecondition("transaction ended");
  char meta_key[32];
  const std::string_view name = DbName(db);
  std::memcpy(meta_key, kSeqKeyPrefix.data(), kSeqKeyPrefix.size());
  std::memcpy(meta_key + kSeqKeyPrefix.size(), name.data(), name.size());
  const std::string_view hw_key(meta_key, kSeqKeyPrefix.size() + name.size());

  uint64_t high_water = 0;
  MDB_val k = Val(hw_key);
  MDB_val v;
  int rc = mdb_get(txn_, dbi(Db::kMeta), &k, &v);
  if (rc == MDB_SUCCESS) {
    if (v.mv_size != 8) return Status::Corruption("bad sequence high-water mark");
    high_water = GetU64BE(static_cast<const char*>(v.mv_data));
  } else if (rc != MDB_NOTFOUND) {
    return Check(rc);
  }

  uint64_t last = 0;
  {
    MDB_cursor* c = nullptr;
    if (rc = mdb_cursor_open(txn_, dbi(db), &c); rc != MDB_SUCCESS) return Check(rc);
    CursorGuard guard(c);
    MDB_val lk;
    MDB_val lv;
    rc = mdb_cursor_get(c, &lk, &lv, MDB_LAST);
    if (rc == MDB_SUCCESS) {
      if (lk.mv_size != 8) return Status::Corruption("sequence db holds a non-sequence key");
      last = GetU64BE(static_cast<const char*>(lk.mv_data));
    } else if (rc != MDB_NOTFOUND) {
      return Check(rc);
    }
  }

  const uint64_t next = std::max(high_water, last) + 1;
  char seq_key[8];
  PutU64BE(next, seq_key);
  METERD_RETURN_IF_ERROR(Put(db, std::string_view(seq_key, 8), value, PutMode::kAppend));
  METERD_RETURN_IF_ERROR(Put(Db::kMeta, hw_key, std::string_view(seq_key, 8)));
  return next;
}

Status WriteTxn::Commit() && {
  if (borrowed_) return Status::FailedPrecondition("the writer commits this transaction");
  return CommitOwned();
}

Status WriteTxn::CommitOwned() {
  if (txn_ == nullptr) return Status::FailedPrecondition("transaction ended");
  std::fill(std::begin(cursors_), std::end(cursors_), nullptr);  // freed by the commit
  // mdb_txn_commit frees the handle whatever it returns, so ownership is dropped first.
  const int rc = mdb_txn_commit(std::exchange(txn_, nullptr));
  if (holds_gate_) {
    holds_gate_ = false;
    env_->gate_.ExitShared();
  }
  if (rc == MDB_SUCCESS) return Status::Ok();
  if (fatal_rc_ == 0) fatal_rc_ = rc;
  return LmdbStatus(rc, "commit");
}

Result<WriteTxn> WriteTxn::BeginChild() {
  if (txn_ == nullptr) return Status::FailedPrecondition("transaction ended");
  MDB_txn* child = nullptr;
  const int rc = mdb_txn_begin(mdb_txn_env(txn_), txn_, 0, &child);
  if (rc != MDB_SUCCESS) return Check(rc);
  return WriteTxn(env_, child, /*holds_gate=*/false, /*borrowed=*/true);
}

// ---------------------------------------------------------------------------------------------
// The map gate.

bool Env::MapGate::EnterShared(std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  // A pending growth gives up after its own wait, so this bound is only a backstop.
  if (!cv_.wait_for(lock, wait, [&] { return !exclusive_wanted_ && !exclusive_held_; })) {
    return false;
  }
  ++holders_;
  return true;
}

void Env::MapGate::ExitShared() {
  std::lock_guard lock(mu_);
  if (--holders_ == 0 && exclusive_wanted_) cv_.notify_all();
}

bool Env::MapGate::EnterExclusive(std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  exclusive_wanted_ = true;
  const bool drained = cv_.wait_for(lock, wait, [&] { return holders_ == 0; });
  exclusive_wanted_ = false;
  if (!drained) {
    cv_.notify_all();  // let held-back transactions in
    return false;
  }
  exclusive_held_ = true;
  return true;
}

void Env::MapGate::ExitExclusive() {
  std::lock_guard lock(mu_);
  exclusive_held_ = false;
  cv_.notify_all();
}

// ---------------------------------------------------------------------------------------------
// Env.

Env::Env(std::string dir, const EnvOptions& options) : dir_(std::move(dir)), options_(options) {}

Env::~Env() {
  if (env_ != nullptr) mdb_env_close(env_);
  if (lock_fd_ >= 0) close(lock_fd_);  // releases the flock
  if (registered_) TheOpenStores().Remove(store_id_);
}

Result<std::unique_ptr<Env>> Env::Open(const std::string& dir, const EnvOptions& options) {
  if (options.map_size < (uint64_t{1} << 16)) {
    return Status::InvalidArgument("map_size must be at least 64 KiB");
  }
  std::unique_ptr<Env> env(new Env(dir, options));
  METERD_RETURN_IF_ERROR(env->OpenImpl());
  return env;
}

Status Env::OpenImpl() {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool read_only = options_.access == Access::kReadOnly;
  if (!read_only && options_.create_if_missing) {
    fs::create_directories(dir_, ec);
    if (ec) return Status::IoError("cannot create data directory " + dir_ + ": " + ec.message());
  }
  if (!fs::is_directory(dir_, ec)) {
    return Status::FailedPrecondition("data directory " + dir_ + " does not exist");
  }
  if (read_only && !fs::exists(fs::path(dir_) / "data.mdb", ec)) {
    return Status::FailedPrecondition("no store in " + dir_ + " (data.mdb missing)");
  }
  struct stat dir_stat;
  if (stat(dir_.c_str(), &dir_stat) != 0) return ErrnoStatus(errno, "stat " + dir_);
  store_id_ = {dir_stat.st_dev, dir_stat.st_ino};
  if (!TheOpenStores().Add(store_id_)) {
    return Status::FailedPrecondition("store " + dir_ +
                                      " is already open in this process; share that Env");
  }
  registered_ = true;
  if (!read_only) {
    const std::string lock_path = (fs::path(dir_) / "meterd.lock").string();
    lock_fd_ = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) return ErrnoStatus(errno, "open " + lock_path);
    if (flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) {
        return Status::FailedPrecondition("data directory " + dir_ +
                                          " is in use by another process");
      }
      return ErrnoStatus(errno, "flock " + lock_path);
    }
  }

  if (int rc = mdb_env_create(&env_); rc != MDB_SUCCESS) return LmdbStatus(rc, "mdb_env_create");
  if (int rc = mdb_env_set_maxdbs(env_, kMaxDbs); rc != MDB_SUCCESS) {
    return LmdbStatus(rc, "mdb_env_set_maxdbs");
  }
  if (int rc = mdb_env_set_maxreaders(env_, options_.max_readers); rc != MDB_SUCCESS) {
    return LmdbStatus(rc, "mdb_env_set_maxreaders");
  }
  const uint64_t os_page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t initial = (options_.map_size + os_page - 1) / os_page * os_page;
  if (int rc = mdb_env_set_mapsize(env_, initial); rc != MDB_SUCCESS) {
    return LmdbStatus(rc, "mdb_env_set_mapsize");
  }
  unsigned flags = MDB_NOTLS;
  if (options_.sync == SyncMode::kNoMetaSync) flags |= MDB_NOMETASYNC;
  if (options_.sync == SyncMode::kNone) flags |= MDB_NOSYNC;
  if (read_only) flags |= MDB_RDONLY;
  if (int rc = mdb_env_open(env_, dir_.c_str(), flags, 0600); rc != MDB_SUCCESS) {
    return LmdbStatus(rc, "open store " + dir_);
  }
  // Slots of readers that died (kill -9) would pin old snapshots and stop page reuse.
  int dead = 0;
  mdb_reader_check(env_, &dead);

  if (mdb_env_get_maxkeysize(env_) < static_cast<int>(kMaxKeySize)) {
    return Status::FailedPrecondition("LMDB built with a max key size below 511 bytes");
  }
  MDB_stat st;
  if (int rc = mdb_env_stat(env_, &st); rc != MDB_SUCCESS) return LmdbStatus(rc, "mdb_env_stat");
  page_size_ = st.ms_psize;
  RefreshMapSize();
  max_map_size_.store(std::max(options_.max_map_size, map_size()), std::memory_order_relaxed);
  return OpenDatabases();
}

Status Env::OpenDatabases() {
  const bool read_only = options_.access == Access::kReadOnly;
  Result<MDB_txn*> begun = BeginRaw(read_only ? MDB_RDONLY : 0);
  if (!begun.ok()) return begun.status();
  MDB_txn* txn = *begun;
  // Ends the raw txn (commit keeps the database handles; abort would close new ones).
  auto finish = [&](bool commit) -> int {
    const int rc = commit ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), MDB_SUCCESS);
    gate_.ExitShared();
    return rc;
  };

  for (Db db : kAllDbs) {
    const int i = static_cast<int>(db);
    const std::string name(DbName(db));
    const int rc = mdb_dbi_open(txn, name.c_str(), read_only ? 0 : MDB_CREATE, &dbi_[i]);
    if (rc == MDB_NOTFOUND && read_only) continue;
    if (rc != MDB_SUCCESS) {
      finish(false);
      return LmdbStatus(rc, "open database " + name);
    }
    present_[i] = true;
  }

  if (!present_[static_cast<int>(Db::kMeta)]) {  // read-only and not a meterd store yet
    finish(false);
    return Status::FailedPrecondition("no meterd store in " + dir_ + " (meta database missing)");
  }
  MDB_val k = Val(kSchemaVersionKey);
  MDB_val v;
  int rc = mdb_get(txn, dbi_[static_cast<int>(Db::kMeta)], &k, &v);
  if (rc == MDB_SUCCESS) {
    if (v.mv_size != 4) {
      finish(false);
      return Status::Corruption("schema version record has a bad size in " + dir_);
    }
    schema_version_ = GetU32BE(static_cast<const char*>(v.mv_data));
    if (schema_version_ > kSchemaVersion) {
      finish(false);
      return Status::FailedPrecondition(
          "store in " + dir_ + " has schema version " + std::to_string(schema_version_) +
          ", newer than this build's " + std::to_string(kSchemaVersion) +
          ": run a newer meterd or restore a backup made by this version");
    }
    if (schema_version_ == 1 && !read_only) {
      // Version 2 only added the journal database, created empty above.
      char version[4];
      PutU32BE(kSchemaVersion, version);
      MDB_val vv = Val(std::string_view(version, 4));
      if (rc = mdb_put(txn, dbi_[static_cast<int>(Db::kMeta)], &k, &vv, 0); rc != MDB_SUCCESS) {
        finish(false);
        return LmdbStatus(rc, "upgrade schema version");
      }
      schema_version_ = kSchemaVersion;
    }
    if (schema_version_ < kSchemaVersion && !(schema_version_ == 1 && read_only)) {
      finish(false);
      return Status::FailedPrecondition("store in " + dir_ + " has schema version " +
                                        std::to_string(schema_version_) + " and no migration to " +
                                        std::to_string(kSchemaVersion) + " exists");
    }
  } else if (rc == MDB_NOTFOUND) {
    for (Db db : kAllDbs) {
      const int i = static_cast<int>(db);
      if (!present_[i]) continue;
      MDB_stat st;
      if (mdb_stat(txn, dbi_[i], &st) == MDB_SUCCESS && st.ms_entries > 0) {
        finish(false);
        return Status::Corruption("store in " + dir_ + " holds data but no schema version");
      }
    }
    if (!read_only) {
      char version[4];
      PutU32BE(kSchemaVersion, version);
      MDB_val vv = Val(std::string_view(version, 4));
      rc = mdb_put(txn, dbi_[static_cast<int>(Db::kMeta)], &k, &vv, 0);
      if (rc != MDB_SUCCESS) {
        finish(false);
        return LmdbStatus(rc, "write schema version");
      }
      schema_version_ = kSchemaVersion;
    }
  } else {
    finish(false);
    return LmdbStatus(rc, "read schema version");
  }
  if (rc = finish(true); rc != MDB_SUCCESS) return LmdbStatus(rc, "commit schema");
  return Status::Ok();
}

Result<MDB_txn*> Env::BeginRaw(unsigned flags) {
  for (int attempt = 0; attempt < 4; ++attempt) {
    if (!gate_.EnterShared(options_.growth_wait * 4)) {
      return Status::Unavailable("store is remapping; retry");
    }
    MDB_txn* txn = nullptr;
    const int rc = mdb_txn_begin(env_, nullptr, flags, &txn);
    if (rc == MDB_SUCCESS) return txn;
    gate_.ExitShared();
    if (rc != MDB_MAP_RESIZED) return LmdbStatus(rc, "begin transaction");
    // Another process grew the map: adopt its size (needs the same exclusion as a growth).
    std::lock_guard lock(grow_mu_);
    METERD_RETURN_IF_ERROR(Remap(0, options_.growth_wait));
  }
  return Status::Unavailable("map kept changing size; retry");
}

Result<ReadTxn> Env::BeginRead() {
  Result<MDB_txn*> txn = BeginRaw(MDB_RDONLY);
  if (!txn.ok()) return txn.status();
  return ReadTxn(this, *txn);
}

Result<WriteTxn> Env::BeginWrite() {
  if (options_.access == Access::kReadOnly)
    return Status::FailedPrecondition("store opened read-only");
  Result<MDB_txn*> txn = BeginRaw(0);
  if (!txn.ok()) return txn.status();
  return WriteTxn(this, *txn, /*holds_gate=*/true, /*borrowed=*/false);
}

void Env::RefreshMapSize() {
  MDB_envinfo info;
  if (mdb_env_info(env_, &info) == MDB_SUCCESS) {
    map_size_.store(info.me_mapsize, std::memory_order_relaxed);
  }
}

uint64_t Env::used_bytes() const {
  // mdb_env_info reads the meta pages through the map, which a growth on the writer thread
  // unmaps and maps again (mdb_env_set_mapsize in Remap): the metrics thread calling this
  // without the gate could read env_->me_metas while it is being replaced, or read unmapped
  // memory. Hold the gate shared, as a transaction does.
  if (!gate_.EnterShared(options_.growth_wait * 4)) return 0;
  MDB_envinfo info;
  const int rc = mdb_env_info(env_, &info);
  gate_.ExitShared();
  if (rc != MDB_SUCCESS) return 0;
  return (static_cast<uint64_t>(info.me_last_pgno) + 1) * page_size_;
}

Status Env::Remap(uint64_t new_size, std::chrono::milliseconds wait) {
  if (!gate_.EnterExclusive(wait)) {
    return Status::ResourceExhausted("map growth timed out waiting for open transactions");
  }
  const int rc = mdb_env_set_mapsize(env_, new_size);
  gate_.ExitExclusive();
  RefreshMapSize();
  if (rc != MDB_SUCCESS) return LmdbStatus(rc, "mdb_env_set_mapsize");
  return Status::Ok();
}

Status Env::Grow() { return Grow(options_.growth_wait); }

Status Env::Grow(std::chrono::milliseconds wait) {
  std::lock_guard lock(grow_mu_);
  const uint64_t current = map_size();
  const uint64_t ceiling = max_map_size() / page_size_ * page_size_;
  uint64_t target = current + options_.map_growth_step;
  if (target > ceiling) target = ceiling;
  target = target / page_size_ * page_size_;
  if (options_.map_growth_step == 0 || target <= current) {
    return Status::ResourceExhausted("map full: " + std::to_string(current >> 20) +
                                     " MiB mapped, growth limit " +
                                     std::to_string(max_map_size() >> 20) + " MiB");
  }
  return Remap(target, wait);
}

bool Env::LooksOutOfSpace() const {
  struct statvfs fs_stat;
  if (statvfs(dir_.c_str(), &fs_stat) == 0 &&
      static_cast<uint64_t>(fs_stat.f_bavail) * fs_stat.f_frsize < kLowDiskBytes) {
    return true;
  }
  rlimit limit;
  if (getrlimit(RLIMIT_FSIZE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(std::filesystem::path(dir_) / "data.mdb", ec);
    if (!ec && size + kLowDiskBytes > limit.rlim_cur) return true;
  }
  return false;
}

void Env::SetMaxMapSize(uint64_t bytes) { max_map_size_.store(bytes, std::memory_order_relaxed); }

Status Env::Sync() {
  if (int rc = mdb_env_sync(env_, 1); rc != MDB_SUCCESS) return LmdbStatus(rc, "sync");
  return Status::Ok();
}

Status Env::Backup(const std::string& dest_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dest_dir, ec);
  if (ec) return Status::IoError("cannot create " + dest_dir + ": " + ec.message());
  const std::string final_path = (fs::path(dest_dir) / "data.mdb").string();
  const std::string partial_path = final_path + ".partial";
  if (fs::exists(final_path, ec)) {
    return Status::AlreadyExists(final_path + " exists; back up into an empty directory");
  }
  const int fd = open(partial_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(errno, "open " + partial_path);

  Status status;
  // The copy reads one snapshot through its own read txn; the gate keeps a growth from
  // remapping under it.
  if (!gate_.EnterShared(options_.growth_wait * 4)) {
    status = Status::Unavailable("store is remapping; retry");
  } else {
    const int rc = mdb_env_copyfd2(env_, fd, MDB_CP_COMPACT);
    gate_.ExitShared();
    if (rc != MDB_SUCCESS) status = LmdbStatus(rc, "backup copy");
  }
  if (status.ok() && fsync(fd) != 0) status = ErrnoStatus(errno, "fsync " + partial_path);
  if (close(fd) != 0 && status.ok()) status = ErrnoStatus(errno, "close " + partial_path);
  if (status.ok() && rename(partial_path.c_str(), final_path.c_str()) != 0) {
    status = ErrnoStatus(errno, "rename " + partial_path);
  }
  if (status.ok()) {
    const int dfd = open(dest_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      if (fsync(dfd) != 0) status = ErrnoStatus(errno, "fsync " + dest_dir);
      close(dfd);
    }
  }
  if (!status.ok()) unlink(partial_path.c_str());
  return status;
}

}  // namespace meterd::storage
