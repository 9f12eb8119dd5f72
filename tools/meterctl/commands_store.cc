// meterctl backup and stats: direct, read-only access to a data directory through
// meterd_storage. LMDB lets any number of processes read next to the daemon's single writer, so
// both work on a stopped store and on a live one: a read-only open takes no lock, and a backup
// copies one consistent snapshot while the daemon keeps committing.
#include <filesystem>

#include "storage/env.h"
#include "storage/stats.h"
#include "tools/meterctl/command.h"
#include "tools/meterctl/table.h"

namespace meterd::meterctl {
namespace {

using A = Table::Align;

// "12.3%" of part in whole, in integer arithmetic.
std::string Percent(uint64_t part, uint64_t whole) {
  if (whole == 0) return "-";
  const unsigned __int128 tenths =
      (static_cast<unsigned __int128>(part) * 1000 + whole / 2) / whole;
  return std::to_string(static_cast<uint64_t>(tenths / 10)) + "." +
         std::to_string(static_cast<uint64_t>(tenths % 10)) + "%";
}

// Bytes as "123.4 MiB" (integer arithmetic, one decimal).
std::string Size(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  uint64_t scale = 1;
  while (unit < 4 && bytes >= scale * 1024) {
    scale *= 1024;
    ++unit;
  }
  if (unit == 0) return std::to_string(bytes) + " B";
  const uint64_t tenths = (bytes * 10 + scale / 2) / scale;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " " + kUnits[unit];
}

std::string Num(uint64_t n) { return std::to_string(n); }

Json StatsJson(const std::string& dir, const storage::StoreStats& s) {
  Json o = Json::Object();
  o.Set("data_dir", Json::String(dir));
  o.Set("schema_version", Json::Number(Num(s.schema_version)));
  o.Set("page_size", Json::Number(Num(s.page_size)));
  o.Set("map_size", Json::Number(Num(s.map_size)));
  o.Set("used_bytes", Json::Number(Num(s.used_bytes)));
  o.Set("file_bytes", Json::Number(Num(s.file_bytes)));
  o.Set("free_pages", Json::Number(Num(s.free_pages)));
  o.Set("last_txn_id", Json::Number(Num(s.last_txn_id)));
  o.Set("max_readers", Json::Number(Num(s.max_readers)));
  o.Set("readers", Json::Number(Num(s.readers)));
  if (s.oldest_reader) {
    o.Set("oldest_reader",
          Json::Object({{"pid", Json::Number(std::to_string(s.oldest_reader->pid))},
                        {"txn_id", Json::Number(Num(s.oldest_reader->txn_id))},
                        {"commits_behind", Json::Number(Num(s.oldest_reader_lag))}}));
  } else {
    o.Set("oldest_reader", Json::Null());
  }
  Json dbs = Json::Array();
  for (const storage::DbStats& d : s.dbs) {
    Json j = Json::Object();
    j.Set("name", Json::String(std::string(d.name)));
    j.Set("present", Json::Bool(d.present));
    j.Set("entries", Json::Number(Num(d.entries)));
    j.Set("depth", Json::Number(Num(d.depth)));
    j.Set("branch_pages", Json::Number(Num(d.branch_pages)));
    j.Set("leaf_pages", Json::Number(Num(d.leaf_pages)));
    j.Set("overflow_pages", Json::Number(Num(d.overflow_pages)));
    j.Set("bytes", Json::Number(Num(s.total_pages(d) * s.page_size)));
    dbs.Append(std::move(j));
  }
  o.Set("databases", std::move(dbs));
  return o;
}

int RunStats(Context& ctx) {
  std::optional<std::string> dir = ctx.Get("data-dir");
  if (!dir) return ctx.Usage("--data-dir DIR is required");
  Result<storage::StoreStats> stats = storage::ReadStoreStats(*dir);
  if (!stats.ok())
    return ctx.Fail(kExitRefused,
                    "cannot read the store in " + *dir + ": " + stats.status().message());
  const storage::StoreStats& s = *stats;
  if (ctx.json()) {
    ctx.out() << StatsJson(*dir, s).Pretty();
    return kExitOk;
  }
  Table head({{"store"}, {"value", A::kRight}});
  head.AddRow({"data directory", *dir});
  head.AddRow({"schema version", Num(s.schema_version)});
  head.AddRow({"file size", Size(s.file_bytes)});
  head.AddRow({"map size", Size(s.map_size)});
  head.AddRow({"map used", Size(s.used_bytes) + " (" + Percent(s.used_bytes, s.map_size) + ")"});
  head.AddRow(
      {"free pages (reusable)", Num(s.free_pages) + " (" + Size(s.free_pages * s.page_size) + ")"});
  head.AddRow({"last transaction", Num(s.last_txn_id)});
  head.AddRow({"open readers", Num(s.readers) + " of " + Num(s.max_readers)});
  if (s.oldest_reader) {
    head.AddRow({"oldest reader", "pid " + std::to_string(s.oldest_reader->pid) + ", txn " +
                                      Num(s.oldest_reader->txn_id) + ", " +
                                      Num(s.oldest_reader_lag) + " commits behind"});
  } else {
    head.AddRow({"oldest reader", "none"});
  }
  ctx.out() << head.Render() << "\n";
  Table t({{"database"},
           {"entries", A::kRight},
           {"depth", A::kRight},
           {"pages", A::kRight},
           {"size", A::kRight},
           {"of used", A::kRight}});
  for (const storage::DbStats& d : s.dbs) {
    if (!d.present) {
      t.AddRow({std::string(d.name), "absent"});
      continue;
    }
    const uint64_t bytes = s.total_pages(d) * s.page_size;
    t.AddRow({std::string(d.name), Num(d.entries), Num(d.depth), Num(s.total_pages(d)), Size(bytes),
              Percent(bytes, s.used_bytes)});
  }
  ctx.out() << t.Render();
  return kExitOk;
}

int RunBackup(Context& ctx) {
  std::optional<std::string> dir = ctx.Get("data-dir");
  std::optional<std::string> out = ctx.Get("out");
  if (!dir) return ctx.Usage("--data-dir DIR is required");
  if (!out) return ctx.Usage("--out DIR is required");
  storage::EnvOptions options;
  options.access = storage::Access::kReadOnly;
  options.create_if_missing = false;
  options.map_size = uint64_t{1} << 20;  // LMDB maps at least the file's size anyway
  Result<std::unique_ptr<storage::Env>> env = storage::Env::Open(*dir, options);
  if (!env.ok()) {
    return ctx.Fail(kExitRefused,
                    "cannot open the store in " + *dir + ": " + env.status().message());
  }
  Result<storage::StoreStats> before = (*env)->Stats();
  Status st = (*env)->Backup(*out);
  if (!st.ok()) return ctx.Fail(kExitRefused, "backup failed: " + st.message());
  const std::string copy = (std::filesystem::path(*out) / "data.mdb").string();
  std::error_code ec;
  const uint64_t copy_bytes = std::filesystem::file_size(copy, ec);
  const uint64_t source_bytes = before.ok() ? before->file_bytes : 0;
  const uint64_t txn = before.ok() ? before->last_txn_id : 0;
  if (ctx.json()) {
    Json j = Json::Object({{"data_dir", Json::String(*dir)},
                           {"backup", Json::String(copy)},
                           {"bytes", Json::Number(Num(copy_bytes))},
                           {"source_bytes", Json::Number(Num(source_bytes))},
                           {"as_of_txn", Json::Number(Num(txn))}});
    ctx.out() << j.Dump() << "\n";
  } else {
    ctx.out() << "backup of " << *dir << " written to " << copy << ": " << Size(copy_bytes)
              << " (compacted from " << Size(source_bytes) << "; snapshot at or after txn " << txn
              << ")\n";
  }
  return kExitOk;
}

}  // namespace

std::vector<Command> StoreCommands() {
  std::vector<Command> v;
  v.push_back({{"backup"},
               "--data-dir DIR --out DIR",
               "compacting copy of a data directory (stopped or running daemon)",
               "Opens DIR read-only and writes one consistent snapshot of it, compacted, to\n"
               "OUT/data.mdb (as data.mdb.partial until complete and fsync'd). Works while meterd\n"
               "runs: the copy is a reader, so the daemon keeps committing. To restore, stop\n"
               "meterd and start it with --data-dir OUT. OUT must not hold a data.mdb already.",
               {{"data-dir", "DIR", "meterd's data directory"},
                {"out", "DIR", "where to write data.mdb (created if missing)"}},
               0,
               0,
               RunBackup});
  v.push_back({{"stats"},
               "--data-dir DIR",
               "store statistics: sizes, entries per database, map use, oldest reader",
               "Opens DIR read-only without a lock, so it is safe next to a running daemon. An\n"
               "oldest reader many commits behind keeps freed pages from being reused.",
               {{"data-dir", "DIR", "meterd's data directory"}},
               0,
               0,
               RunStats});
  return v;
}

}  // namespace meterd::meterctl
