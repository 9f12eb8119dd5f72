// One export in progress (daily-rated, reconciliation or FOCUS CSV) over the stored daily lines
// of a list of customers, produced chunk by chunk: each NextChunk reads at most
// `lines_per_chunk` lines, and stops once the chunk holds `chunk_bytes`, in one short LMDB read
// transaction, ended before it returns, and appends their rows. The job keeps only a resume key and
// per-meter sums between chunks, so its memory does not grow with the export; what the caller does
// with the chunks (buffer or stream) decides the rest. Lines written between two chunks may show in
// either state; a finished month exports exactly. An ExportJob is a single-threaded value (it may
// move between threads between chunks).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "daemon/core/records.h"
#include "daemon/exports/export_line.h"
#include "daemon/exports/recon.h"
#include "rating/civil_time.h"
#include "rating/reference.h"
#include "storage/env.h"

namespace meterd::exports {

enum class ExportFormat { kDailyRated, kRecon, kFocus };

// "daily", "recon", "focus": the path segment and file name stem.
std::string_view ExportFormatName(ExportFormat format);

struct ExportSpec {
  ExportFormat format = ExportFormat::kDailyRated;
  rating::Month month;
  std::optional<rating::Date> date;  // only the lines of this day (within month)
  Audience audience = Audience::kWholesale;
};

inline constexpr size_t kDefaultLinesPerChunk = 10'000;
// A streamed piece: large enough that per-piece costs (a read transaction, a task, a socket
// write) vanish, small enough that an export holds about a megabyte.
inline constexpr size_t kDefaultChunkBytes = size_t{1} << 20;

class ExportJob {
 public:
  // `customers` point into `snapshot` and are exported in the given order (callers pass them
  // sorted by id, as the snapshot lists them). REQUIRES: lines_per_chunk > 0.
  ExportJob(std::shared_ptr<const rating::ReferenceSnapshot> snapshot,
            std::vector<const rating::Customer*> customers, ExportSpec spec,
            size_t lines_per_chunk = kDefaultLinesPerChunk,
            size_t chunk_bytes = kDefaultChunkBytes);

  // Appends the header (on the first call) and the rows of up to lines_per_chunk further stored
  // lines to `out`, stopping early once this call appended chunk_bytes (so a chunk exceeds it
  // by at most one row, or one customer's reconciliation rows). Returns true once everything is
  // written (later calls append nothing).
  // Unavailable when no read transaction can be had; Corruption on an undecodable record.
  Result<bool> NextChunk(storage::Env* env, std::string* out);

  bool done() const { return done_; }
  uint64_t lines_read() const { return lines_read_; }
  uint64_t rows_written() const { return rows_written_; }

 private:
  void StartCustomer(const rating::Customer* customer);
  // Reads one line record (key relative to the customer-month prefix); false on corruption.
  bool ReadLine(const storage::ReadTxn& txn, std::string_view key_rest, std::string_view value,
                std::string* out);
  const PriceDescription* DescribeTable(const storage::ReadTxn& txn,
                                        const rating::TierTable* table);
  void FinishCustomer(std::string* out);

  std::shared_ptr<const rating::ReferenceSnapshot> snapshot_;
  std::vector<const rating::Customer*> customers_;
  ExportSpec spec_;
  size_t lines_per_chunk_;
  size_t chunk_bytes_;

  bool header_written_ = false;
  bool done_ = false;
  size_t next_customer_ = 0;  // index into customers_ of the customer being read
  bool customer_open_ = false;
  std::string prefix_;      // customer 0x00 month: the key prefix of the customer-month
  std::string resume_key_;  // where the next chunk starts reading
  uint64_t lines_read_ = 0;
  uint64_t rows_written_ = 0;

  // The current customer's context and per-line caches (lines come sorted by meter, date).
  LineContext context_;
  std::string meter_id_, entitlement_id_, resource_uri_;
  core::StoredLine line_;
  std::string cached_entitlement_id_;
  bool entitlement_cached_ = false;
  std::string cached_meter_id_;
  rating::Date cached_date_{-1};
  // Descriptions of the tables met so far: bounded by the price sheet, not by the export.
  std::unordered_map<const rating::TierTable*, PriceDescription> descriptions_;
  ReconWriter recon_;
};

}  // namespace meterd::exports
