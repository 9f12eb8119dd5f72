// bench-links: meterd_rating
// Exact-decimal hot paths: parsing quantities (ingest), quantity × price and amount × FX
// (rating), and printing amounts (serving). Each benchmark checks its result before timing
// and aborts on a wrong answer, so a fast-but-wrong build cannot pass the smoke test.

#include <benchmark/benchmark.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "rating/decimal.h"

namespace meterd::rating {
namespace {

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "decimal_bench: wrong result: %s\n", what);
    std::abort();
  }
}

Decimal D(std::string_view s) {
  Decimal d;
  Check(Decimal::Parse(s, &d) == DecimalError::kOk, "parse of a bench input");
  return d;
}

// Quantities as a usage feed sends them.
constexpr std::array<std::string_view, 8> kQuantities = {
    "10", "2.5", "24.0000075", "1.000000125", "0.5", "3600", "1.5E-3", "123456.789012345",
};

void BM_Parse(benchmark::State& state) {
  Check(D("24.0000075").nanos() == 24'000'007'500, "Parse(24.0000075)");
  Check(D("1.5E-3").nanos() == 1'500'000, "Parse(1.5E-3)");
  Decimal bad;
  Check(Decimal::Parse("1.0000000001", &bad) == DecimalError::kTooPrecise, "Parse precision");
  size_t bytes = 0;
  for (std::string_view q : kQuantities) bytes += q.size();
  for (auto _ : state) {
    for (std::string_view q : kQuantities) {
      Decimal d;
      benchmark::DoNotOptimize(Decimal::Parse(q, &d));
      benchmark::DoNotOptimize(d);
    }
  }
  state.SetItemsProcessed(state.iterations() * kQuantities.size());
  state.SetBytesProcessed(state.iterations() * bytes);
}
BENCHMARK(BM_Parse);

void BM_MulRound9(benchmark::State& state) {
  // The worked tie of the basic example and a product that needs more than 128 bits.
  Check(MulRound9(D("1.000000125"), D("0.004"))->ToString() == "0.004000000", "tie");
  Check(MulRound9(D("999999999999999.999999999"), D("0.999999999"))->ToString() ==
            "999999998999999.999999999",
        "wide product");
  const std::array<Decimal, 4> quantities = {D("15.5"), D("24.0000075"), D("3600"),
                                             D("1000000000000")};
  const std::array<Decimal, 4> prices = {D("0.096"), D("0.004"), D("0.15"), D("12345.678901234")};
  for (auto _ : state) {
    for (size_t i = 0; i < quantities.size(); ++i) {
      Decimal q = quantities[i];
      Decimal p = prices[i];
      benchmark::DoNotOptimize(q);
      benchmark::DoNotOptimize(p);
      benchmark::DoNotOptimize(MulRound9(q, p));
    }
  }
  state.SetItemsProcessed(state.iterations() * quantities.size());
}
BENCHMARK(BM_MulRound9);

void BM_MulFxRound9(benchmark::State& state) {
  FxRate fx;
  Check(FxRate::Parse("150.123456789012", &fx) == DecimalError::kOk, "fx parse");
  Check(MulFxRound9(D("0.192"), fx)->ToString() == "28.823703703", "JPY list_bc");
  Check(MulFxRound9(D("0.1632"), fx)->ToString() == "24.500148148", "JPY billed_bc");
  const std::array<Decimal, 4> amounts = {D("0.192"), D("0.1632"), D("1.488"),
                                          D("999999999999.123456789")};
  for (auto _ : state) {
    for (Decimal a : amounts) {
      benchmark::DoNotOptimize(a);
      benchmark::DoNotOptimize(fx);
      benchmark::DoNotOptimize(MulFxRound9(a, fx));
    }
  }
  state.SetItemsProcessed(state.iterations() * amounts.size());
}
BENCHMARK(BM_MulFxRound9);

void BM_AppendTo(benchmark::State& state) {
  std::string check;
  D("-0.000000001").AppendTo(&check);
  D("12.5").AppendTo(&check);
  Check(check == "-0.00000000112.500000000", "AppendTo");
  const std::array<Decimal, 4> amounts = {D("1.488"), D("0.014400004"), D("-2.5"),
                                          D("123456789012345.123456789")};
  std::string out;
  out.reserve(256);
  size_t bytes = 0;
  for (auto _ : state) {
    out.clear();
    for (Decimal a : amounts) a.AppendTo(&out);
    bytes += out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * amounts.size());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_AppendTo);

}  // namespace
}  // namespace meterd::rating

BENCHMARK_MAIN();
