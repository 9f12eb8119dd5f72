#include "tools/loadgen/latency_histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "tools/loadgen/number_text.h"

namespace meterd::loadgen {
namespace {

constexpr int64_t kUs = 1000;

// Nearest rank over a sorted copy: the obviously correct reference.
int64_t ReferencePercentile(std::vector<int64_t> v, uint32_t ppm) {
  std::sort(v.begin(), v.end());
  uint64_t rank = (static_cast<uint64_t>(v.size()) * ppm + 999'999) / 1'000'000;
  rank = std::max<uint64_t>(rank, 1);
  return v[rank - 1];
}

TEST(LatencyHistogram, IsExactToTheMicrosecondBelowTwoMilliseconds) {
  LatencyHistogram h;
  for (int64_t us = 1; us <= 1000; ++us) h.Record(us * kUs);
  EXPECT_EQ(h.count(), 1000u);
  EXPECT_EQ(h.PercentileNanos(500'000), 500 * kUs + 999);
  EXPECT_EQ(h.PercentileNanos(990'000), 990 * kUs + 999);
  EXPECT_EQ(h.PercentileNanos(999'000), 999 * kUs + 999);
  EXPECT_EQ(h.PercentileNanos(1'000'000), 1000 * kUs);  // capped at the exact maximum
  EXPECT_EQ(h.max_nanos(), 1000 * kUs);
}

TEST(LatencyHistogram, StaysWithinATenthOfAPercentAboveAndNeverUnderReports) {
  std::vector<int64_t> values;
  uint64_t x = 42;
  for (int i = 0; i < 20'000; ++i) {
    x = Mix64(x);
    values.push_back(static_cast<int64_t>(x % (20'000'000'000ULL)));  // up to 20 s
  }
  LatencyHistogram h;
  for (int64_t v : values) h.Record(v);
  for (uint32_t ppm : {1u, 100'000u, 500'000u, 900'000u, 990'000u, 999'000u, 1'000'000u}) {
    int64_t exact = ReferencePercentile(values, ppm);
    int64_t got = h.PercentileNanos(ppm);
    EXPECT_GE(got, exact) << ppm;
    EXPECT_LE(got, exact + exact / 1000 + kUs) << ppm;
  }
  EXPECT_EQ(h.max_nanos(), *std::max_element(values.begin(), values.end()));
}

TEST(LatencyHistogram, MergingAddsTheCounts) {
  LatencyHistogram a, b;
  for (int i = 0; i < 99; ++i) a.Record(1 * kUs);
  b.Record(5'000'000 * kUs);
  a.Merge(b);
  EXPECT_EQ(a.count(), 100u);
  EXPECT_EQ(a.PercentileNanos(990'000), 1 * kUs + 999);
  EXPECT_EQ(a.PercentileNanos(999'000), 5'000'000 * kUs);
}

TEST(LatencyHistogram, AnEmptyHistogramReportsZero) {
  LatencyHistogram h;
  EXPECT_EQ(h.PercentileNanos(500'000), 0);
  h.Record(-5);
  EXPECT_EQ(h.PercentileNanos(500'000), 0);
}

}  // namespace
}  // namespace meterd::loadgen
