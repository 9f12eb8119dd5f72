#include "tools/loadgen/budget_plan.h"

#include <algorithm>
#include <map>
#include <utility>

#include "tools/loadgen/number_text.h"

namespace meterd::loadgen {
namespace {

constexpr __int128 kNano = 1'000'000'000;
constexpr __int128 kPico = 1'000'000'000'000;

class SpendEstimator {
 public:
  explicit SpendEstimator(const World& w) : world_(w) {
    min_price_.assign(w.markets.size() * w.meters.size(), -1);
    for (size_t m = 0; m < w.markets.size(); ++m) {
      for (const PriceTable& t : w.markets[m].tables) {
        for (const PriceTier& tier : t.tiers) {
          int64_t& slot = min_price_[m * w.meters.size() + static_cast<size_t>(t.meter)];
          if (slot < 0 || tier.price_nanos < slot) slot = tier.price_nanos;
        }
      }
    }
  }

  // Adds one event: quantity × the meter's lowest price in the customer's market, exact.
  void Add(const Stream& s, int64_t quantity_nanos, rating::Month month) {
    const Customer& c = world_.customers[static_cast<size_t>(s.customer)];
    int64_t price = min_price_[static_cast<size_t>(c.market) * world_.meters.size() +
                               static_cast<size_t>(s.meter)];
    if (price <= 0) return;
    usd_e18_[{s.customer, month.index}] += __int128{quantity_nanos} * price;
  }

  // Lower bound of the list spend in the billing currency, in nanos, per (customer, month).
  std::map<std::pair<int, int>, __int128> BillingCurrencyNanos() const {
    std::map<std::pair<int, int>, __int128> out;
    for (const auto& [key, e18] : usd_e18_) {
      const Customer& c = world_.customers[static_cast<size_t>(key.first)];
      __int128 usd_nanos = e18 / kNano;  // flooring never over-states
      out[key] = usd_nanos * LowestRatePicos(c.currency) / kPico;
    }
    return out;
  }

 private:
  __int128 LowestRatePicos(const std::string& currency) const {
    if (currency == "USD") return kPico;
    __int128 lowest = -1;
    for (const FxMonth& m : world_.fx) {
      for (const auto& [cur, picos] : m.picos) {
        if (cur == currency && (lowest < 0 || picos < lowest)) lowest = picos;
      }
    }
    return lowest < 0 ? 0 : lowest;
  }

  const World& world_;
  std::vector<int64_t> min_price_;
  std::map<std::pair<int, int>, __int128> usd_e18_;
};

int64_t RoundDownToMinorUnits(__int128 nanos, const std::string& currency) {
  __int128 unit = 1;
  for (int i = MinorUnits(currency); i < 9; ++i) unit *= 10;
  __int128 amount = nanos / unit * unit;
  return static_cast<int64_t>(std::max(amount, unit));  // a budget must be above zero
}

}  // namespace

Status PlanBudgets(const FeedOptions& feed_options, BudgetPlan plan, World* world) {
  Result<FeedGenerator> feed = FeedGenerator::Create(*world, feed_options);
  if (!feed.ok()) return feed.status();
  SpendEstimator estimator(*world);
  const rating::Month now_month = rating::MonthOf(rating::DateOf(world->options.now));
  std::vector<Budget> budgets;

  if (plan.reach_within_lines > 0) {
    for (uint64_t i = 0; i < plan.reach_within_lines; ++i) {
      FeedEvent e = feed->Next();
      if (e.duplicate) continue;  // re-sends are never applied twice
      estimator.Add(world->streams[e.stream], feed->QuantityNanos(e),
                    rating::MonthOf(rating::DateOf(feed->TimestampOf(e))));
    }
    auto spend = estimator.BillingCurrencyNanos();
    for (int c = 0; c < static_cast<int>(world->customers.size()); ++c) {
      // Budgets are monthly: the month with the most spend is the one that must cross 100%.
      __int128 best = 0;
      for (const auto& [key, nanos] : spend) {
        if (key.first == c) best = std::max(best, nanos);
      }
      Budget b;
      b.customer = c;
      b.amount_nanos =
          RoundDownToMinorUnits(best, world->customers[static_cast<size_t>(c)].currency);
      b.thresholds = {80, 100};
      budgets.push_back(std::move(b));
    }
  } else {
    // One pass over the span, original events only, in the current month only. A stream's
    // price bound is one number, so its quantities can be summed first.
    std::vector<int64_t> quantity(world->streams.size(), 0);
    FeedEvent e;
    for (e.hour = 0; e.hour < static_cast<uint32_t>(world->hours); ++e.hour) {
      if (rating::MonthOf(rating::DateOf(feed->TimestampOf(e))) != now_month) continue;
      for (e.slot = 0; e.slot < static_cast<uint32_t>(feed_options.emissions_per_hour); ++e.slot) {
        for (e.stream = 0; e.stream < world->streams.size(); ++e.stream) {
          quantity[e.stream] += feed->QuantityNanos(e);
        }
      }
    }
    for (size_t s = 0; s < quantity.size(); ++s) {
      estimator.Add(world->streams[s], quantity[s], now_month);
    }
    auto spend = estimator.BillingCurrencyNanos();
    static constexpr int kFactorPercent[] = {50, 90, 150, 300};
    for (int c = 0; c < static_cast<int>(world->customers.size()); ++c) {
      uint64_t h = HashOf(world->options.seed, 0xb0d9e7, static_cast<uint64_t>(c));
      if (h % 5 == 4) continue;  // not every customer has a budget
      Budget b;
      b.customer = c;
      b.billed_basis = (h >> 8) % 5 == 0;
      auto it = spend.find({c, now_month.index});
      __int128 base = it == spend.end() ? 0 : it->second;
      if (b.billed_basis) base = base * 85 / 100;  // PEC takes at most 15% off list
      base = base * kFactorPercent[(h >> 16) % 4] / 100;
      b.amount_nanos =
          RoundDownToMinorUnits(base, world->customers[static_cast<size_t>(c)].currency);
      b.thresholds = (h >> 24) % 3 == 0 ? std::vector<int>{50, 80, 100} : std::vector<int>{80, 100};
      budgets.push_back(std::move(b));
    }
  }
  world->budgets = std::move(budgets);
  return Status::Ok();
}

}  // namespace meterd::loadgen
