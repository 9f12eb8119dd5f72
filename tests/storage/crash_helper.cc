// Child process of the crash-atomicity test: opens a store with full sync and commits "units"
// through the Writer from four threads (each waits for its commit, so batches group 1-4 jobs
// and commits are frequent) until it is killed. A unit is one job: a header record naming how
// many item records it has, the items (1..300; 1..16 in the units whose values are large enough
// to span pages), an alert appended under the next sequence, and a bump of a global unit counter.
// After each commit returned it writes the unit number and "\n" to stdout (a pipe to the
// parent): the parent treats a number it read as acknowledged.
//
// usage: storage_crash_helper <data_dir> <first_unit> <seed>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "storage/env.h"
#include "storage/keys.h"
#include "storage/writer.h"

namespace {

using meterd::Result;
using meterd::Status;
using namespace meterd::storage;

std::string ItemKey(uint64_t unit, uint32_t i) {
  KeyBuilder k;
  k.AddU8('i').AddU64(unit).AddU32(i);
  return std::string(k.view());
}
std::string HeaderKey(uint64_t unit) {
  KeyBuilder k;
  k.AddU8('h').AddU64(unit);
  return std::string(k.view());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s <data_dir> <first_unit> <seed>\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const uint64_t first_unit = std::strtoull(argv[2], nullptr, 10);
  const uint32_t seed = static_cast<uint32_t>(std::strtoul(argv[3], nullptr, 10));

  EnvOptions options;
  options.map_size = uint64_t{256} << 20;
  options.max_map_size = uint64_t{4} << 30;
  options.map_growth_step = uint64_t{256} << 20;
  options.sync = SyncMode::kFull;
  Result<std::unique_ptr<Env>> env = Env::Open(dir, options);
  if (!env.ok()) {
    std::fprintf(stderr, "open: %s\n", env.status().ToString().c_str());
    return 1;
  }
  Result<std::unique_ptr<Writer>> writer = Writer::Start(env->get(), {});
  if (!writer.ok()) return 1;

  std::atomic<uint64_t> next_unit{first_unit};
  std::vector<std::thread> submitters;
  for (int t = 0; t < 4; ++t) {
    submitters.emplace_back([&, t] {
      std::mt19937 rng(seed * 7 + t);
      for (;;) {
        const uint64_t unit = next_unit.fetch_add(1);
        // Some units carry overflow-page values. Those stay small (≤ 16 items): the store
        // accumulates over every kill, and on a fast disk 300 such items per unit filled the
        // helper's 4 GiB map within 40 kills.
        const bool large = rng() % 10 == 0;
        const uint32_t items = 1 + rng() % (large ? 16 : 300);
        const size_t value_size = large ? 6000 : 64;
        Status committed = (*writer)->Execute([unit, items, value_size](WriteTxn& txn) -> Status {
          METERD_RETURN_IF_ERROR(txn.Put(Db::kLines, HeaderKey(unit), EncodeU64BE(items)));
          std::string value(value_size, static_cast<char>('a' + unit % 26));
          for (uint32_t i = 0; i < items; ++i) {
            std::memcpy(value.data(), &i, sizeof i);
            METERD_RETURN_IF_ERROR(txn.Put(Db::kLines, ItemKey(unit, i), value));
          }
          Result<uint64_t> seq = txn.AppendSequenced(Db::kAlerts, EncodeU64BE(unit));
          if (!seq.ok()) return seq.status();
          std::string v;
          uint64_t n = 0;
          if (txn.Get(Db::kTotals, "units", &v).ok()) n = GetU64BE(v.data());
          return txn.Put(Db::kTotals, "units", EncodeU64BE(n + 1));
        });
        if (!committed.ok()) {
          std::fprintf(stderr, "unit %llu: %s\n", static_cast<unsigned long long>(unit),
                       committed.ToString().c_str());
          _exit(4);
        }
        char line[32];
        const int n =
            std::snprintf(line, sizeof line, "%llu\n", static_cast<unsigned long long>(unit));
        // One write() of < PIPE_BUF bytes: the parent never sees half a number.
        if (write(STDOUT_FILENO, line, static_cast<size_t>(n)) != n) _exit(3);
      }
    });
  }
  for (auto& t : submitters) t.join();  // never returns: the parent kills us
  return 0;
}
