#include "tools/loadgen/world.h"

#include <algorithm>
#include <array>
#include <set>

#include "tools/loadgen/number_text.h"

namespace meterd::loadgen {
namespace {

using rating::Date;
using rating::Month;
using rating::Timestamp;

constexpr int64_t kNano = 1'000'000'000;
constexpr int64_t kNanosPerHour = 3600 * rating::kNanosPerSecond;

// Hash domains, so that adding a field to one entity never shifts the draws of another.
enum Tag : uint64_t {
  kTagPartner = 1,
  kTagReseller,
  kTagCustomer,
  kTagEntitlement,
  kTagResource,
  kTagGrant,
  kTagFx,
  kTagId,
};

struct MarketSpec {
  std::string_view country;
  std::string_view currency;  // as data/markets.csv has it
  int uplift_per_mille;       // list prices differ a little per market
};
constexpr std::array<MarketSpec, 17> kMarkets = {{
    {"US", "USD", 0},
    {"NO", "NOK", 40},
    {"GB", "GBP", 30},
    {"JP", "JPY", 20},
    {"DE", "EUR", 10},
    {"SE", "SEK", 40},
    {"FR", "EUR", 10},
    {"DK", "DKK", 30},
    {"CA", "CAD", 20},
    {"AU", "AUD", 30},
    {"CH", "CHF", 50},
    {"IN", "INR", 0},
    {"NL", "EUR", 10},
    {"IE", "EUR", 10},
    {"FI", "EUR", 10},
    {"PL", "EUR", 10},
    {"BR", "USD", 60},
}};

struct FxSpec {
  std::string_view currency;
  int64_t cents;  // a plausible rate per USD, × 100
  int minor_units;
};
constexpr std::array<FxSpec, 11> kFx = {{
    {"USD", 100, 2},
    {"EUR", 92, 2},
    {"NOK", 1050, 2},
    {"GBP", 79, 2},
    {"JPY", 15012, 0},
    {"SEK", 1045, 2},
    {"DKK", 686, 2},
    {"CAD", 136, 2},
    {"AUD", 152, 2},
    {"CHF", 88, 2},
    {"INR", 8325, 2},
}};

enum MeterIndex { kVmD2s, kVmD4s, kDisk, kBandwidth, kPublicIp, kUbuntuPro, kMeterCount };

std::vector<Meter> Catalogue() {
  std::vector<Meter> m(kMeterCount);
  m[kVmD2s] = {"5f3c9a10-7d25-4c3e-8a01-0000000d2503",
               "DZH318Z0BQPS",
               "00TG",
               "D2s v3",
               "Virtual Machines",
               "Dsv3 Series",
               "US East",
               "1 Hour",
               "Azure",
               "Microsoft",
               QuantityModel::kHourly};
  m[kVmD4s] = {"5f3c9a10-7d45-4c3e-8a01-0000000d4505",
               "DZH318Z0BQPS",
               "00W6",
               "D4s v5",
               "Virtual Machines",
               "Dsv5 Series",
               "US East",
               "1 Hour",
               "Azure",
               "Microsoft",
               QuantityModel::kHourly};
  m[kDisk] = {"8b21e4c0-55d0-4f6a-9b12-00000000e510",
              "DZH318Z0BP04",
              "0006",
              "E10 LRS Data Stored",
              "Storage",
              "Standard SSD Managed Disks",
              "US East",
              "1 GB/Month",
              "Azure",
              "Microsoft",
              QuantityModel::kStorageGbMonth};
  m[kBandwidth] = {"9d0b7e33-1a2b-4c5d-8e6f-0000000000bd",
                   "DZH318Z0BNVX",
                   "0001",
                   "Data Transfer Out, Zone 1",
                   "Bandwidth",
                   "Rtn Preference: MGN",
                   "Zone 1",
                   "1 GB",
                   "Azure",
                   "Microsoft",
                   QuantityModel::kBandwidthGb};
  m[kPublicIp] = {"2c6a1f90-3e4d-4b5a-a6c7-000000001b04",
                  "DZH318Z0BNXH",
                  "0004",
                  "Standard IPv4 Static Public IP",
                  "Virtual Network",
                  "IP Addresses",
                  "US East",
                  "1 Hour",
                  "Azure",
                  "Microsoft",
                  QuantityModel::kHourly};
  m[kUbuntuPro] = {"7e8f9a0b-1c2d-4e3f-b405-0000000000e3",
                   "DZH318Z0BXKF",
                   "0002",
                   "Ubuntu Pro 2 vCPU",
                   "Virtual Machines Licenses",
                   "Ubuntu Pro",
                   "US East",
                   "1 Hour",
                   "Azure;Third Party",
                   "Canonical",
                   QuantityModel::kHourly};
  return m;
}

constexpr std::array<std::string_view, 8> kPartnerNames = {
    "Contoso Cloud",     "Northwind Distribution", "Litware Cloud",   "Fabrikam Services",
    "Tailspin Partners", "Proseware IT",           "Woodgrove Cloud", "Adventure Works CSP"};
constexpr std::array<std::string_view, 6> kResellerNames = {
    "Fourth Coffee IT", "Wingtip Toys IT",    "Lucerne Systems",
    "Trey Research IT", "Relecloud Services", "Coho Winery IT"};
constexpr std::array<std::string_view, 16> kFirstWords = {
    "Alpine", "Fjord",  "Sakura", "Thames", "Rhine", "Baltic",  "Maple",  "Outback",
    "Nordic", "Harbor", "Summit", "Cedar",  "Coral", "Granite", "Willow", "Aurora"};
constexpr std::array<std::string_view, 12> kSecondWords = {
    "Ski Shop", "Fisheries", "Robotics",  "Tea",   "Logistics", "Design",
    "Dental",   "Bakery",    "Analytics", "Foods", "Studios",   "Motors"};
constexpr std::array<std::string_view, 8> kResourceGroups = {
    "rg-web", "rg-data", "rg-net", "rg-apps", "rg-batch", "rg-shared", "rg-prod", "rg-dev"};
constexpr std::array<int64_t, 6> kDiskGb = {32, 64, 128, 256, 512, 1024};
// 1/730 of a month per hour, cut to 9 digits: quantities are exact decimal text by construction.
constexpr int64_t kGbMonthPerHourNanos = 1'369'863;

Timestamp AddNanos(Timestamp t, int64_t nanos) { return Timestamp{t.nanos + nanos}; }
Date AddDays(Date d, int days) { return Date{d.days + days}; }

std::string Slug(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c >= 'A' && c <= 'Z') out.push_back(static_cast<char>(c - 'A' + 'a'));
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) out.push_back(c);
  }
  return out;
}

std::string TwoDigits(int n) {
  std::string s;
  if (n < 10) s.push_back('0');
  AppendUint(static_cast<uint64_t>(n), &s);
  return s;
}

const MarketSpec* FindMarket(std::string_view country) {
  for (const MarketSpec& m : kMarkets) {
    if (m.country == country) return &m;
  }
  return nullptr;
}

const FxSpec* FindFx(std::string_view currency) {
  for (const FxSpec& f : kFx) {
    if (f.currency == currency) return &f;
  }
  return nullptr;
}

int64_t Uplift(int64_t price_nanos, int per_mille) {
  // Catalogue prices have at most 6 fractional digits, so the uplift stays exact at 9.
  return price_nanos * (1000 + per_mille) / 1000;
}

void BuildPriceTables(const World& w, const MarketSpec& spec, Market* market) {
  Date span_start = rating::DateOf(w.first_hour);
  // Version 1 starts well before the span so late events are always priced; version 2 (VM
  // meters only) starts mid-span, so part of the feed is rated on each.
  Date v1_start = rating::FirstDayOf(Month{rating::MonthOf(span_start).index - 2});
  Date v2_start = AddDays(span_start, w.options.span_days / 2);
  auto flat = [&](int meter, Date start, std::optional<Date> end, int64_t usd_nanos) {
    PriceTable t;
    t.meter = meter;
    t.start = start;
    t.end = end;
    t.tiers.push_back({0, std::nullopt, Uplift(usd_nanos, spec.uplift_per_mille)});
    market->tables.push_back(std::move(t));
  };
  flat(kVmD2s, v1_start, AddDays(v2_start, -1), 96'000'000);
  flat(kVmD2s, v2_start, std::nullopt, 100'000'000);
  flat(kVmD4s, v1_start, AddDays(v2_start, -1), 192'000'000);
  flat(kVmD4s, v2_start, std::nullopt, 200'000'000);
  flat(kDisk, v1_start, std::nullopt, 75'000'000);
  PriceTable bw;
  bw.meter = kBandwidth;
  bw.start = v1_start;
  bw.tiers = {{0, 10 * kNano, Uplift(87'000'000, spec.uplift_per_mille)},
              {10 * kNano, 100 * kNano, Uplift(83'000'000, spec.uplift_per_mille)},
              {100 * kNano, std::nullopt, Uplift(70'000'000, spec.uplift_per_mille)}};
  market->tables.push_back(std::move(bw));
  flat(kPublicIp, v1_start, std::nullopt, 5'000'000);
  flat(kUbuntuPro, v1_start, std::nullopt, 14'000'000);
}

Status Validate(const WorldOptions& o) {
  if (o.partners < 1 || o.partners > 1000) return Status::InvalidArgument("partners: 1..1000");
  if (o.customers < 1 || o.customers > 1'000'000) {
    return Status::InvalidArgument("customers: 1..1000000");
  }
  if (o.entitlements_per_customer < 1 || o.entitlements_per_customer > 100) {
    return Status::InvalidArgument("entitlements per customer: 1..100");
  }
  if (o.resources_per_entitlement < 1 || o.resources_per_entitlement > 1000) {
    return Status::InvalidArgument("resources per entitlement: 1..1000");
  }
  if (o.span_days < 1 || o.span_days > 35) {
    return Status::InvalidArgument("span days: 1..35 (older usage would be too_old)");
  }
  if (o.markets.empty()) return Status::InvalidArgument("markets: at least one");
  for (const std::string& m : o.markets) {
    if (FindMarket(m) == nullptr) {
      return Status::InvalidArgument("unknown market '" + m + "'");
    }
  }
  return Status::Ok();
}

}  // namespace

int MinorUnits(std::string_view currency) {
  const FxSpec* f = FindFx(currency);
  return f == nullptr ? 2 : f->minor_units;
}

std::vector<std::string> KnownMarkets() {
  std::vector<std::string> out;
  for (const MarketSpec& m : kMarkets) out.push_back(std::string(m.country));
  return out;
}

Result<World> BuildWorld(const WorldOptions& options) {
  METERD_RETURN_IF_ERROR(Validate(options));
  World w;
  w.options = options;
  const uint64_t seed = options.seed;
  w.hours = options.span_days * 24;
  int64_t now_hour =
      options.now.nanos - (options.now.nanos % kNanosPerHour + kNanosPerHour) % kNanosPerHour;
  w.first_hour = Timestamp{now_hour - int64_t{w.hours - 1} * kNanosPerHour};
  w.meters = Catalogue();

  for (const std::string& country : options.markets) {
    const MarketSpec* spec = FindMarket(country);
    Market m;
    m.country = country;
    m.currency = std::string(spec->currency);
    BuildPriceTables(w, *spec, &m);
    w.markets.push_back(std::move(m));
  }

  for (int p = 0; p < options.partners; ++p) {
    uint64_t h = HashOf(seed, kTagPartner, static_cast<uint64_t>(p));
    Partner partner;
    partner.partner_id = UuidFromHash(h, Mix64(h));
    partner.name = std::string(kPartnerNames[static_cast<size_t>(p) % kPartnerNames.size()]);
    if (p >= static_cast<int>(kPartnerNames.size())) {
      partner.name += " " + std::to_string(p / static_cast<int>(kPartnerNames.size()) + 1);
    }
    partner.mpn_id = std::to_string(2'000'000 + p * 10'007 + static_cast<int>(h % 10'000));
    partner.indirect_provider = p % 2 == 1;
    partner.mpn_active = p % 5 != 4;  // one partner in five has lost its MPN status: no PEC
    if (partner.indirect_provider) {
      for (int k = 0; k < 2; ++k) {
        int r = static_cast<int>(w.resellers.size());
        uint64_t rh = HashOf(seed, kTagReseller, static_cast<uint64_t>(r));
        Reseller reseller;
        reseller.mpn_id = std::to_string(6'000'000 + r * 10'007 + static_cast<int>(rh % 10'000));
        reseller.name = std::string(kResellerNames[static_cast<size_t>(r) % kResellerNames.size()]);
        if (r >= static_cast<int>(kResellerNames.size())) {
          reseller.name += " " + std::to_string(r / static_cast<int>(kResellerNames.size()) + 1);
        }
        reseller.partner = p;
        partner.resellers.push_back(r);
        w.resellers.push_back(std::move(reseller));
      }
    }
    w.partners.push_back(std::move(partner));
  }

  for (int i = 0; i < options.customers; ++i) {
    uint64_t h = HashOf(seed, kTagCustomer, static_cast<uint64_t>(i));
    Customer c;
    c.customer_id = UuidFromHash(h, Mix64(h ^ 0x5eed));
    // Distinct names for the first 192 customers; the hash only varies the pairing.
    const size_t first = static_cast<size_t>(i) % kFirstWords.size();
    const size_t second =
        (static_cast<size_t>(i) / kFirstWords.size() + h % 4 * 3) % kSecondWords.size();
    c.name = std::string(kFirstWords[first]) + " " + std::string(kSecondWords[second]);
    c.domain = Slug(c.name) + std::to_string(i + 1) + ".onmicrosoft.com";
    c.market = i % static_cast<int>(w.markets.size());
    c.partner = i % options.partners;
    const Partner& partner = w.partners[static_cast<size_t>(c.partner)];
    int round = i / options.partners;
    if (partner.indirect_provider && round % 2 == 1) {
      c.reseller = partner.resellers[static_cast<size_t>(round / 2) % partner.resellers.size()];
    }
    c.currency = w.markets[static_cast<size_t>(c.market)].currency;
    if (i % 11 == 5 && c.currency != "EUR" && c.currency != "USD") {
      c.currency = "EUR";  // billed in euros although priced in its own market
      c.currency_override = true;
    }
    w.customers.push_back(std::move(c));
  }

  const int64_t span_nanos = int64_t{w.hours} * kNanosPerHour;
  for (int i = 0; i < options.customers; ++i) {
    const Customer& customer = w.customers[static_cast<size_t>(i)];
    for (int j = 0; j < options.entitlements_per_customer; ++j) {
      int e = static_cast<int>(w.entitlements.size());
      uint64_t h = HashOf(seed, kTagEntitlement, static_cast<uint64_t>(e));
      Entitlement ent;
      ent.entitlement_id = UuidFromHash(h, Mix64(h ^ 0xe17));
      ent.customer = i;
      bool legacy = j > 0 && h % 10 == 0;
      ent.offer = legacy ? "legacy" : "azure_plan";
      ent.description = legacy ? "Pay-as-you-go (legacy)"
                               : (j == 0 ? "Azure plan" : "Azure plan " + std::to_string(j + 1));
      int64_t age_seconds = (400 + static_cast<int64_t>((h >> 8) % 300)) * 86'400 +
                            static_cast<int64_t>((h >> 20) % 86'400);
      ent.created_at = AddNanos(w.first_hour, -age_seconds * rating::kNanosPerSecond);
      // One azure_plan entitlement in five works without AOBO: only explicit grants earn PEC.
      ent.aobo = legacy || (h >> 40) % 5 != 0;

      const int groups = std::min(8, 1 + (options.resources_per_entitlement - 1) / 3);
      const size_t group_base = (h >> 4) % kResourceGroups.size();
      int vm = 0, disk = 0, pip = 0;
      for (int r = 0; r < options.resources_per_entitlement; ++r) {
        int res_index = static_cast<int>(w.resources.size());
        uint64_t rh = HashOf(seed, kTagResource, static_cast<uint64_t>(res_index));
        std::string_view rg = kResourceGroups[(group_base + static_cast<size_t>(r % groups)) %
                                              kResourceGroups.size()];
        std::string uri = "/subscriptions/" + ent.entitlement_id + "/resourceGroups/" +
                          std::string(rg) + "/providers/";
        int kind = static_cast<int>((static_cast<uint64_t>(r) + h) % 4);
        std::vector<int> meters;
        int64_t disk_gb = kDiskGb[rh % kDiskGb.size()];
        if (kind == 0 || kind == 3) {
          uri += "Microsoft.Compute/virtualMachines/vm-" + TwoDigits(++vm);
          meters.push_back(rh % 2 == 0 ? kVmD2s : kVmD4s);
          meters.push_back(kind == 0 ? kBandwidth : kUbuntuPro);
        } else if (kind == 1) {
          uri += "Microsoft.Compute/disks/disk-" + TwoDigits(++disk);
          meters.push_back(kDisk);
        } else {
          uri += "Microsoft.Network/publicIPAddresses/pip-" + TwoDigits(++pip);
          meters.push_back(kPublicIp);
        }
        w.resources.push_back({uri, e});
        for (int meter : meters) {
          Stream s;
          s.resource = res_index;
          s.meter = meter;
          s.entitlement = e;
          s.customer = i;
          switch (w.meters[static_cast<size_t>(meter)].model) {
            case QuantityModel::kHourly:
              s.hourly_nanos = kNano;
              break;
            case QuantityModel::kStorageGbMonth:
              s.hourly_nanos = disk_gb * kGbMonthPerHourNanos;
              break;
            case QuantityModel::kBandwidthGb:
              s.hourly_nanos = 0;
              break;
          }
          s.quantity_as_number = HashOf(rh, static_cast<uint64_t>(meter)) % 4 == 0;
          w.streams.push_back(s);
        }
      }

      if (!ent.aobo) {
        const Partner& partner = w.partners[static_cast<size_t>(customer.partner)];
        std::string principal = customer.reseller >= 0
                                    ? w.resellers[static_cast<size_t>(customer.reseller)].mpn_id
                                    : partner.mpn_id;
        std::string short_id = ent.entitlement_id.substr(0, 8);
        for (int g = 0; g < groups; ++g) {
          uint64_t gh = HashOf(seed, kTagGrant, static_cast<uint64_t>(e), static_cast<uint64_t>(g));
          Grant grant;
          grant.grant_id = "g-" + short_id + "-" + std::to_string(g + 1);
          grant.entitlement = e;
          grant.scope =
              "/subscriptions/" + ent.entitlement_id + "/resourceGroups/" +
              std::string(
                  kResourceGroups[(group_base + static_cast<size_t>(g)) % kResourceGroups.size()]);
          grant.principal_mpn_id = principal;
          grant.role = gh % 2 == 0 ? "Owner" : "Contributor";
          grant.start = ent.created_at;
          // Some admin rights are removed mid-span (mid-day): PEC is lost from that day on.
          if (g == 0 && (gh >> 8) % 3 == 0) {
            grant.end = AddNanos(w.first_hour, span_nanos / 2 + 7 * kNanosPerHour);
          }
          w.grants.push_back(std::move(grant));
        }
        if ((h >> 48) % 2 == 0) {  // a Reader grant on the whole subscription earns nothing
          Grant reader;
          reader.grant_id = "g-" + short_id + "-reader";
          reader.entitlement = e;
          reader.scope = "/subscriptions/" + ent.entitlement_id;
          reader.principal_mpn_id = partner.mpn_id;
          reader.role = "Reader";
          reader.start = ent.created_at;
          w.grants.push_back(std::move(reader));
        }
      }
      w.entitlements.push_back(std::move(ent));
    }
  }

  std::set<std::string> currencies;
  for (const Customer& c : w.customers) {
    if (c.currency != "USD") currencies.insert(c.currency);
  }
  Month first = rating::MonthOf(rating::DateOf(w.first_hour));
  Month last = rating::MonthOf(rating::DateOf(Timestamp{now_hour}));
  for (Month m = first; m <= last; m = rating::NextMonth(m)) {
    FxMonth fx;
    fx.month = m;
    for (const std::string& cur : currencies) {
      const FxSpec* spec = FindFx(cur);
      uint64_t h = HashOf(seed, kTagFx, static_cast<uint64_t>(m.index), Mix64(spec->cents));
      // ±2% a month around the plausible rate, with 12 significant fractional digits.
      __int128 base = __int128{spec->cents} * 10'000'000'000;  // picos
      __int128 drift = static_cast<__int128>(h % 40'001) - 20'000;
      __int128 rate =
          base * (1'000'000 + drift) / 1'000'000 + static_cast<__int128>((h >> 32) % 1000);
      fx.picos.emplace_back(cur, static_cast<int64_t>(rate));
    }
    w.fx.push_back(std::move(fx));
  }
  return w;
}

}  // namespace meterd::loadgen
