#include "storage/stats.h"

#include <lmdb.h>
#include <sys/stat.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "storage/env.h"
#include "storage/lmdb_status.h"

namespace meterd::storage {
namespace {

constexpr MDB_dbi kFreeDbi = 0;  // LMDB's freelist: txn id -> list of freed pages

struct ReaderScan {
  uint32_t readers = 0;
  std::optional<ReaderSlot> oldest;
};

// mdb_reader_list prints a header, then "pid thread txnid" per slot ("-" when idle).
int OnReaderLine(const char* msg, void* ctx) {
  auto* scan = static_cast<ReaderScan*>(ctx);
  long long pid = 0;
  char thread[40];
  char txnid[40];
  if (std::sscanf(msg, "%lld %39s %39s", &pid, thread, txnid) != 3) return 0;  // header
  if (txnid[0] == '-') return 0;
  const uint64_t id = std::strtoull(txnid, nullptr, 10);
  ++scan->readers;
  if (!scan->oldest || id < scan->oldest->txn_id) scan->oldest = ReaderSlot{pid, id};
  return 0;
}

}  // namespace

Result<StoreStats> Env::Stats() {
  StoreStats out;
  out.schema_version = schema_version_;
  out.page_size = page_size_;

  // Readers first, so this call's own read txn is not counted.
  ReaderScan scan;
  mdb_reader_list(env_, &OnReaderLine, &scan);

  Result<ReadTxn> txn = BeginRead();
  if (!txn.ok()) return txn.status();
  MDB_txn* raw = txn->txn_;
  for (Db db : kAllDbs) {
    const int i = static_cast<int>(db);
    DbStats& d = out.dbs[i];
    d.name = DbName(db);
    d.present = present_[i];
    if (!d.present) continue;
    MDB_stat st;
    if (int rc = mdb_stat(raw, dbi_[i], &st); rc != MDB_SUCCESS) return LmdbStatus(rc, "stat");
    d.entries = st.ms_entries;
    d.depth = st.ms_depth;
    d.branch_pages = st.ms_branch_pages;
    d.leaf_pages = st.ms_leaf_pages;
    d.overflow_pages = st.ms_overflow_pages;
  }
  // Each freelist record's value is an ID list whose first word is its length.
  MDB_cursor* c = nullptr;
  if (int rc = mdb_cursor_open(raw, kFreeDbi, &c); rc == MDB_SUCCESS) {
    MDB_val k;
    MDB_val v;
    for (int r = mdb_cursor_get(c, &k, &v, MDB_FIRST); r == MDB_SUCCESS;
         r = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
      if (v.mv_size >= sizeof(size_t)) out.free_pages += *static_cast<const size_t*>(v.mv_data);
    }
    mdb_cursor_close(c);
  }

  MDB_envinfo info;
  if (int rc = mdb_env_info(env_, &info); rc != MDB_SUCCESS) return LmdbStatus(rc, "env info");
  out.map_size = info.me_mapsize;
  out.used_bytes = (static_cast<uint64_t>(info.me_last_pgno) + 1) * page_size_;
  out.last_txn_id = info.me_last_txnid;
  out.max_readers = info.me_maxreaders;
  out.readers = scan.readers;
  out.oldest_reader = scan.oldest;
  if (scan.oldest && out.last_txn_id >= scan.oldest->txn_id) {
    out.oldest_reader_lag = out.last_txn_id - scan.oldest->txn_id;
  }
  std::error_code ec;
  const auto size = std::filesystem::file_size(std::filesystem::path(dir_) / "data.mdb", ec);
  if (!ec) out.file_bytes = size;
  return out;
}

Result<StoreStats> ReadStoreStats(const std::string& dir) {
  EnvOptions options;
  options.access = Access::kReadOnly;
  options.create_if_missing = false;
  options.map_size = uint64_t{1} << 20;  // LMDB maps at least the file's size anyway
  Result<std::unique_ptr<Env>> env = Env::Open(dir, options);
  if (!env.ok()) return env.status();
  return (*env)->Stats();
}

std::string FormatStoreStats(const StoreStats& s) {
  std::string out;
  char line[256];
  auto mib = [](uint64_t bytes) { return static_cast<unsigned long long>(bytes >> 20); };
  std::snprintf(line, sizeof line,
                "schema version %u, page %u B, map %llu MiB, used %llu MiB, file %llu MiB, "
                "free pages %llu, last txn %llu\n",
                s.schema_version, s.page_size, mib(s.map_size), mib(s.used_bytes),
                mib(s.file_bytes), static_cast<unsigned long long>(s.free_pages),
                static_cast<unsigned long long>(s.last_txn_id));
  out += line;
  if (s.oldest_reader) {
    std::snprintf(line, sizeof line,
                  "readers %u of %u; oldest pid %lld at txn %llu (%llu commits behind)\n",
                  s.readers, s.max_readers, static_cast<long long>(s.oldest_reader->pid),
                  static_cast<unsigned long long>(s.oldest_reader->txn_id),
                  static_cast<unsigned long long>(s.oldest_reader_lag));
  } else {
    std::snprintf(line, sizeof line, "readers 0 of %u\n", s.max_readers);
  }
  out += line;
  std::snprintf(line, sizeof line, "%-14s %12s %6s %10s %10s %10s\n", "database", "entries",
                "depth", "branch", "leaf", "overflow");
  out += line;
  for (const DbStats& d : s.dbs) {
    if (!d.present) {
      std::snprintf(line, sizeof line, "%-14.*s %12s\n", static_cast<int>(d.name.size()),
                    d.name.data(), "(absent)");
    } else {
      std::snprintf(line, sizeof line, "%-14.*s %12llu %6u %10llu %10llu %10llu\n",
                    static_cast<int>(d.name.size()), d.name.data(),
                    static_cast<unsigned long long>(d.entries), d.depth,
                    static_cast<unsigned long long>(d.branch_pages),
                    static_cast<unsigned long long>(d.leaf_pages),
                    static_cast<unsigned long long>(d.overflow_pages));
    }
    out += line;
  }
  return out;
}

}  // namespace meterd::storage
