// The synthetic CSP world behind meter-loadgen: partners and resellers, customers spread over
// markets, entitlements, resources in resource groups and the meters they emit on, a USD price
// sheet (tiers, two price versions, a third-party row), monthly FX rates and budgets.
// BuildWorld is a pure function of WorldOptions (same options and seed, same world, same bytes);
// a World is an immutable value afterwards and may be read from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "rating/civil_time.h"

namespace meterd::loadgen {

struct WorldOptions {
  uint64_t seed = 1;
  int partners = 3;
  int customers = 20;
  int entitlements_per_customer = 2;
  int resources_per_entitlement = 4;
  // The feed covers the span_days × 24 hours ending with the hour that holds `now`. At most 35
  // days, so no event of a full span is ever older than the daemon's dedupe horizon.
  int span_days = 3;
  rating::Timestamp now;
  // Pricing markets (ISO 3166 alpha-2) the customers are spread over, round robin.
  std::vector<std::string> markets = {"US", "NO", "GB", "JP", "DE", "SE", "FR", "DK", "CA", "AU"};
};

// How a meter's hourly quantity is drawn; every quantity is an exact count of nano-units.
enum class QuantityModel {
  kHourly,          // 1 per hour (VM hours, IP hours, license hours)
  kStorageGbMonth,  // disk size × 0.001369863 (≈ 1/730 month) per hour
  kBandwidthGb,     // 0 to 2 GB per hour, in MB steps
};

struct PriceTier {
  int64_t min_nanos = 0;             // PricingTierRangeMin, in units × 10^9
  std::optional<int64_t> max_nanos;  // PricingTierRangeMax (informational)
  int64_t price_nanos = 0;           // UnitPrice in USD × 10^9
};

// One tier table: the rows of one (market, meter, effective_start).
struct PriceTable {
  int meter = 0;
  rating::Date start;
  std::optional<rating::Date> end;
  std::vector<PriceTier> tiers;
};

struct Meter {
  std::string meter_id;
  std::string product_id;
  std::string sku_id;
  std::string name;
  std::string category;
  std::string subcategory;
  std::string region;
  std::string unit;
  std::string tags;
  std::string publisher;
  QuantityModel model = QuantityModel::kHourly;
};

struct Market {
  std::string country;
  std::string currency;  // the country's currency (data/markets.csv)
  std::vector<PriceTable> tables;
};

struct Partner {
  std::string partner_id;
  std::string name;
  std::string mpn_id;
  bool indirect_provider = false;
  bool mpn_active = true;
  std::vector<int> resellers;
};

struct Reseller {
  std::string mpn_id;
  std::string name;
  int partner = 0;
};

struct Customer {
  std::string customer_id;
  std::string name;
  std::string domain;
  int market = 0;  // index into World::markets
  int partner = 0;
  int reseller = -1;               // index into World::resellers, -1 without one
  std::string currency;            // billing currency
  bool currency_override = false;  // sent as "currency" because it differs from the country's
};

struct Entitlement {
  std::string entitlement_id;
  int customer = 0;
  std::string description;
  std::string offer;  // "azure_plan" | "legacy"
  rating::Timestamp created_at;
  bool aobo = true;
};

struct Grant {
  std::string grant_id;
  int entitlement = 0;
  std::string scope;
  std::string principal_mpn_id;
  std::string role;
  rating::Timestamp start;
  std::optional<rating::Timestamp> end;
};

struct Resource {
  std::string uri;
  int entitlement = 0;
};

// One emitting (resource, meter) pair: one event per hour of the span (per emission slot).
struct Stream {
  int resource = 0;
  int meter = 0;
  int entitlement = 0;
  int customer = 0;
  int64_t hourly_nanos = 0;         // the fixed hourly quantity (kHourly, kStorageGbMonth)
  bool quantity_as_number = false;  // sent as a JSON number instead of a string
};

struct FxMonth {
  rating::Month month;
  std::vector<std::pair<std::string, int64_t>> picos;  // (currency, rate × 10^12), by currency
};

struct Budget {
  int customer = 0;
  int64_t amount_nanos = 0;  // in the customer's billing currency, whole minor units
  bool billed_basis = false;
  std::vector<int> thresholds;
};

struct World {
  WorldOptions options;
  rating::Timestamp first_hour;  // start of the span's first hour
  int hours = 0;                 // span_days × 24
  std::vector<Meter> meters;
  std::vector<Market> markets;
  std::vector<Partner> partners;
  std::vector<Reseller> resellers;
  std::vector<Customer> customers;
  std::vector<Entitlement> entitlements;
  std::vector<Grant> grants;
  std::vector<Resource> resources;
  std::vector<Stream> streams;
  std::vector<FxMonth> fx;      // every month of the span, every non-USD billing currency
  std::vector<Budget> budgets;  // filled by PlanBudgets (budget_plan.h)
};

// Builds the world; InvalidArgument for counts out of range, a span outside [1, 35] days or a
// market this generator has no currency for.
Result<World> BuildWorld(const WorldOptions& options);

// Minor units of a billing currency this generator uses (JPY 0, the others 2).
int MinorUnits(std::string_view currency);

// The markets (country → currency) the generator knows, for --help and validation.
std::vector<std::string> KnownMarkets();

}  // namespace meterd::loadgen
