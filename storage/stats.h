// Store statistics for operators (meterctl) and metrics: per-database entry counts and page
// usage, map size and use, free pages, and the oldest reader (a reader that pins an old
// snapshot keeps the file from reusing pages). Plain value types; ReadStoreStats is
// thread-safe and works on a closed data directory.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "storage/schema.h"

namespace meterd::storage {

struct DbStats {
  std::string_view name;
  bool present = false;  // false only in a read-only open of a store that lacks the database
  uint64_t entries = 0;
  uint32_t depth = 0;
  uint64_t branch_pages = 0;
  uint64_t leaf_pages = 0;
  uint64_t overflow_pages = 0;
};

struct ReaderSlot {
  int64_t pid = 0;
  uint64_t txn_id = 0;
};

struct StoreStats {
  uint32_t schema_version = 0;
  uint32_t page_size = 0;
  uint64_t map_size = 0;
  uint64_t used_bytes = 0;  // (highest page in use + 1) * page_size
  uint64_t file_bytes = 0;  // size of data.mdb on disk
  uint64_t free_pages = 0;  // pages inside used_bytes that the freelist holds for reuse
  uint64_t last_txn_id = 0;
  uint32_t max_readers = 0;
  uint32_t readers = 0;  // reader slots holding a snapshot now
  // The reader holding the oldest snapshot, and how many commits it is behind.
  std::optional<ReaderSlot> oldest_reader;
  uint64_t oldest_reader_lag = 0;
  std::array<DbStats, kDbCount> dbs;

  uint64_t total_pages(const DbStats& db) const {
    return db.branch_pages + db.leaf_pages + db.overflow_pages;
  }
};

// Opens dir read-only (no lock of meterd.lock; safe next to a running daemon) and reads the
// statistics. FailedPrecondition when dir holds no store.
Result<StoreStats> ReadStoreStats(const std::string& dir);

// A human-readable multi-line report (for meterctl).
std::string FormatStoreStats(const StoreStats& stats);

}  // namespace meterd::storage
