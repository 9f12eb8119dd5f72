// export_fill: makes a store with millions of rated daily lines in seconds, for the export
// benchmark (bench/export_e2e.sh) and its memory smoke test. Ingesting them through POST
// /v1/usage would take minutes per million lines (every event is parsed, rated and
// group-committed); the export only reads the `lines` and `reference` databases, so this tool
// writes line records directly with the daemon's own key builder and record codec, in key order.
//
//   export_fill reference --out DIR --customers N --meters M
//       DIR/reference.ndjson (one partner, N US customers with one entitlement each) and
//       DIR/pricesheet.csv (M meters, US market, USD), to POST to a running meterd first.
//   export_fill lines --data-dir DIR --customers N --meters M --resources R
//                     [--month 2026-11] [--days D (all days of the month)]
//       N × M × R × D rated lines of that month into DIR's store. meterd must be stopped.
//
// The amounts are consistent (list = quantity × price, billed = list − PEC, USD at rate 1),
// but they were not produced by the rating engine: this is load, not a correctness fixture.
// Exit status 0 on success, 1 on a storage error, 64 on bad arguments.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <string_view>

#include "daemon/core/records.h"
#include "rating/civil_time.h"
#include "rating/decimal.h"
#include "storage/env.h"
#include "storage/keys.h"
#include "storage/schema.h"

namespace {

using meterd::Status;
using meterd::rating::Decimal;

constexpr int kExitError = 1;
constexpr int kExitUsage = 64;
constexpr const char* kPartnerId = "7d3f1c2a-0000-4000-8000-00000000e000";

std::string Id(char prefix, int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%c0000000-0000-4000-8000-%012d", prefix, n);
  return buf;
}
std::string CustomerId(int c) { return Id('c', c); }
std::string EntitlementId(int c) { return Id('e', c); }
std::string MeterId(int m) { return Id('a', m); }
// USD per unit, in nanos: 0.096, 0.097, ... (three decimals, so products stay exact).
int64_t PriceNanos(int m) { return 96'000'000 + int64_t{m % 50} * 1'000'000; }

std::map<std::string, std::string> ParseFlags(int argc, char** argv, int first) {
  std::map<std::string, std::string> flags;
  for (int i = first; i + 1 < argc; i += 2) {
    std::string name = argv[i];
    if (name.rfind("--", 0) != 0) break;
    flags[name.substr(2)] = argv[i + 1];
  }
  return flags;
}

int IntFlag(const std::map<std::string, std::string>& flags, const std::string& name, int dflt) {
  auto it = flags.find(name);
  return it == flags.end() ? dflt : std::atoi(it->second.c_str());
}

int WriteReference(const std::map<std::string, std::string>& flags) {
  auto out = flags.find("out");
  const int customers = IntFlag(flags, "customers", 0);
  const int meters = IntFlag(flags, "meters", 0);
  if (out == flags.end() || customers <= 0 || meters <= 0) return kExitUsage;
  std::ofstream ref(out->second + "/reference.ndjson");
  ref << R"({"type":"partner","partner_id":")" << kPartnerId
      << R"(","name":"Bench Partner","mpn_id":"4444444","kind":"direct","mpn_active":true})"
      << "\n";
  for (int c = 0; c < customers; ++c) {
    ref << R"({"type":"customer","customer_id":")" << CustomerId(c) << R"(","name":"Customer )" << c
        << R"(","domain":"customer)" << c << R"(.onmicrosoft.com","country":"US",)"
        << R"("partner_id":")" << kPartnerId << "\"}\n";
    ref << R"({"type":"entitlement","entitlement_id":")" << EntitlementId(c)
        << R"(","customer_id":")" << CustomerId(c)
        << R"(","description":"Azure plan","offer":"azure_plan",)"
        << R"("created_at":"2026-01-01T00:00:00Z","aobo":true})"
        << "\n";
  }
  std::ofstream prices(out->second + "/pricesheet.csv");
  prices << "ProductId,SkuId,MeterId,MeterName,MeterCategory,MeterSubCategory,MeterRegion,"
            "UnitOfMeasure,Market,Currency,UnitPrice,PricingTierRangeMin,PricingTierRangeMax,"
            "EffectiveStartDate,EffectiveEndDate,Tags,Publisher\n";
  for (int m = 0; m < meters; ++m) {
    prices << "DZH318Z0BENCH,000" << (m % 10) << "," << MeterId(m) << ",Meter " << m
           << ",Virtual Machines,D Series,US East,1 Hour,US,USD,"
           << Decimal::FromNanos(PriceNanos(m)).ToString() << ",0,,2026-01-01,,Azure,Microsoft\n";
  }
  if (!ref.good() || !prices.good()) {
    std::cerr << "export_fill: cannot write to " << out->second << "\n";
    return kExitError;
  }
  return 0;
}

int WriteLines(const std::map<std::string, std::string>& flags) {
  namespace storage = meterd::storage;
  namespace rating = meterd::rating;
  auto dir = flags.find("data-dir");
  const int customers = IntFlag(flags, "customers", 0);
  const int meters = IntFlag(flags, "meters", 0);
  const int resources = IntFlag(flags, "resources", 0);
  rating::Month month;
  auto month_flag = flags.find("month");
  if (!rating::ParseMonth(month_flag == flags.end() ? "2026-11" : month_flag->second, &month)) {
    return kExitUsage;
  }
  const int days = IntFlag(flags, "days", rating::DaysIn(month));
  if (dir == flags.end() || customers <= 0 || meters <= 0 || resources <= 0 || days <= 0 ||
      days > rating::DaysIn(month)) {
    return kExitUsage;
  }
  storage::EnvOptions options;
  options.map_size = uint64_t{16} << 30;    // no growth pauses in the middle of the load
  options.sync = storage::SyncMode::kNone;  // one Sync at the end: an offline bulk load
  auto env = storage::Env::Open(dir->second, options);
  if (!env.ok()) {
    std::cerr << "export_fill: " << env.status().ToString() << "\n";
    return kExitError;
  }
  const auto started = std::chrono::steady_clock::now();
  const rating::Date first = rating::FirstDayOf(month);
  const rating::Decimal pec_rate = rating::Decimal::FromNanos(150'000'000);
  meterd::core::StoredLine line;
  line.rated.reason = rating::UnratedReason::kNone;
  line.rated.prices_shown = line.rated.usd_shown = line.rated.fx_shown = line.rated.bc_shown = true;
  line.rated.currency = rating::CurrencyCode::Of("USD");
  line.rated.fx = rating::FxRate::One();
  storage::KeyBuilder kb;
  std::string value;
  uint64_t written = 0;
  constexpr uint64_t kPerTxn = 200'000;
  auto txn = (*env)->BeginWrite();
  // Customer ids, and within a customer meters, sort as they are numbered: keys come in order.
  for (int c = 0; c < customers && txn.ok(); ++c) {
    const std::string customer = CustomerId(c);
    const std::string entitlement = EntitlementId(c);
    for (int m = 0; m < meters && txn.ok(); ++m) {
      const std::string meter = MeterId(m);
      const int64_t price = PriceNanos(m);
      for (int d = 0; d < days && txn.ok(); ++d) {
        for (int r = 0; r < resources; ++r) {
          // Ten resource groups of consecutive resources, so the URIs sort as r does.
          char uri[160];
          std::snprintf(uri, sizeof uri,
                        "/subscriptions/%s/resourcegroups/rg%d/providers/microsoft.compute/"
                        "virtualmachines/vm-%06d",
                        entitlement.c_str(), r * 10 / resources, r);
          // 1 to 24 hours and a half: quantity × price has at most 4 decimals, exact in nanos.
          const int64_t quantity = (int64_t{(r + d) % 24} + 1) * 1'000'000'000 + 500'000'000;
          const int64_t list = quantity / 1'000'000 * price / 1'000;
          const bool pec = (c + r) % 2 == 0;
          const int64_t credit = pec ? list * 15 / 100 : 0;
          line.quantity = Decimal::FromNanos(quantity);
          line.rated.unit_price = Decimal::FromNanos(price);
          line.rated.pec_rate = pec ? pec_rate : Decimal();
          line.rated.effective_unit_price =
              Decimal::FromNanos(pec ? price - price * 15 / 100 : price);
          line.rated.list_usd = line.rated.list_bc = Decimal::FromNanos(list);
          line.rated.pec_usd = line.rated.pec_bc = Decimal::FromNanos(credit);
          line.rated.billed_usd = line.rated.billed_bc = Decimal::FromNanos(list - credit);
          line.resource_uri.clear();  // fits in the key
          value.clear();
          meterd::core::EncodeLine(line, &value);
          kb.Clear();
          storage::keys::Line(&kb, customer, static_cast<uint32_t>(month.index), meter,
                              static_cast<uint32_t>(first.days + d), entitlement, uri);
          Status st = txn->Put(storage::Db::kLines, kb.view(), value, storage::PutMode::kAppend);
          if (!st.ok()) {
            std::cerr << "export_fill: " << st.ToString() << "\n";
            return kExitError;
          }
          if (++written % kPerTxn == 0) {
            if (Status cst = std::move(*txn).Commit(); !cst.ok()) {
              std::cerr << "export_fill: " << cst.ToString() << "\n";
              return kExitError;
            }
            txn = (*env)->BeginWrite();
            if (!txn.ok()) break;
          }
        }
      }
    }
  }
  if (!txn.ok()) {
    std::cerr << "export_fill: " << txn.status().ToString() << "\n";
    return kExitError;
  }
  if (Status st = std::move(*txn).Commit(); !st.ok()) {
    std::cerr << "export_fill: " << st.ToString() << "\n";
    return kExitError;
  }
  if (Status st = (*env)->Sync(); !st.ok()) {
    std::cerr << "export_fill: " << st.ToString() << "\n";
    return kExitError;
  }
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
  std::cout << "wrote " << written << " lines in " << took.count() << " s\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  const auto flags = ParseFlags(argc, argv, 2);
  int rc = kExitUsage;
  if (command == "reference") rc = WriteReference(flags);
  if (command == "lines") rc = WriteLines(flags);
  if (rc == kExitUsage) {
    std::cerr << "usage: export_fill reference --out DIR --customers N --meters M\n"
                 "       export_fill lines --data-dir DIR --customers N --meters M "
                 "--resources R [--month YYYY-MM] [--days D]\n";
  }
  return rc;
}
