#include "daemon/core/identity_filter.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace meterd::core {
namespace {

storage::KeyHash HashOf(const char* prefix, uint64_t i) {
  char key[64];
  const int n = std::snprintf(key, sizeof key, "%s%llu", prefix, static_cast<unsigned long long>(i));
  return storage::HashForKey(std::string_view(key, static_cast<size_t>(n)));
}

TEST(IdentityFilter, NeverAnswersNoForAnInsertedIdentity) {
  IdentityFilter filter(50'000, uint64_t{1} << 30);
  for (uint64_t i = 0; i < 50'000; ++i) filter.Insert(HashOf("ent/ev-", i));
  for (uint64_t i = 0; i < 50'000; ++i) {
    ASSERT_TRUE(filter.MayContain(HashOf("ent/ev-", i))) << i;
  }
}

TEST(IdentityFilter, AtCapacityErrsForAboutOneAbsentIdentityInTwoHundredAndFifty) {
  constexpr uint64_t kKeys = 200'000;
  IdentityFilter filter(kKeys, uint64_t{1} << 30);
  EXPECT_GE(filter.bytes() * 8, kKeys * IdentityFilter::kBitsPerKey);
  for (uint64_t i = 0; i < kKeys; ++i) filter.Insert(HashOf("present-", i));
  uint64_t maybe = 0;
  for (uint64_t i = 0; i < kKeys; ++i) maybe += filter.MayContain(HashOf("absent-", i));
  // 16 bits per key, 6 bits in one 64-bit word: about 0.4 % expected; 1 % would mean a broken
  // layout (or too few bits per key).
  EXPECT_LT(maybe, kKeys / 100) << maybe;
  EXPECT_GT(maybe, 0u) << "a Bloom filter that never errs at capacity is suspiciously large";
}

TEST(IdentityFilter, InsertAllKeepsEveryOneOfABatch) {
  IdentityFilter filter(100'000, uint64_t{1} << 30);
  std::vector<storage::KeyHash> batch;
  for (uint64_t i = 0; i < 20'003; ++i) batch.push_back(HashOf("batch-", i));  // not a multiple
  filter.InsertAll(batch);
  for (const storage::KeyHash& h : batch) ASSERT_TRUE(filter.MayContain(h));
  filter.InsertAll({});  // empty: nothing to do
  EXPECT_FALSE(filter.MayContain(HashOf("elsewhere-", 1)) && filter.MayContain(HashOf("x-", 2)) &&
               filter.MayContain(HashOf("y-", 3)));
}

TEST(IdentityFilter, AnEmptyFilterAnswersNo) {
  IdentityFilter filter(1000, 1 << 20);
  uint64_t maybe = 0;
  for (uint64_t i = 0; i < 10'000; ++i) maybe += filter.MayContain(HashOf("x", i));
  EXPECT_EQ(maybe, 0u);
}

TEST(IdentityFilter, AMemoryCapBoundsItsSizeAndItStillNeverForgets) {
  IdentityFilter filter(1'000'000, 64 * 1024);
  EXPECT_EQ(filter.bytes(), 64u * 1024);
  EXPECT_EQ(filter.capacity(), 1'000'000u);
  for (uint64_t i = 0; i < 100'000; ++i) filter.Insert(HashOf("k", i));
  for (uint64_t i = 0; i < 100'000; ++i) ASSERT_TRUE(filter.MayContain(HashOf("k", i)));
}

TEST(IdentityFilter, IsFullOnceTheCountedInsertsReachItsCapacity) {
  IdentityFilter filter(1000, 1 << 20);
  filter.CountInserted(999);
  EXPECT_FALSE(filter.Full());
  filter.CountInserted(1);
  EXPECT_TRUE(filter.Full());
  EXPECT_EQ(filter.inserted(), 1000u);
}

TEST(IdentityFilter, ConcurrentInsertsAreAllKept) {
  // Shards insert without a lock; a lost fetch_or would be a false "no": a counted duplicate.
  IdentityFilter filter(400'000, uint64_t{1} << 30);
  static constexpr const char* kPrefixes[4] = {"t0-", "t1-", "t2-", "t3-"};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&filter, t] {
      const char* prefix = kPrefixes[t];
      for (uint64_t i = 0; i < 100'000; ++i) filter.Insert(HashOf(prefix, i));
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < 4; ++t) {
    for (uint64_t i = 0; i < 100'000; ++i) {
      ASSERT_TRUE(filter.MayContain(HashOf(kPrefixes[t], i))) << t << " " << i;
    }
  }
}

}  // namespace
}  // namespace meterd::core
