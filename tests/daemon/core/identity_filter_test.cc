#include "daemon/core/identity_filter.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
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

TEST(IdentityFilter, ADoubledFilterKeepsEveryIdentityOfItsHalf) {
  // 1,001 words: an odd count, so the split of a word into two is not a bit shift.
  IdentityFilter sized(4004, uint64_t{1} << 30);
  ASSERT_EQ(sized.bytes(), 1001 * sizeof(uint64_t));
  for (uint64_t i = 0; i < 4004; ++i) sized.Insert(HashOf("kept-", i));
  sized.CountInserted(4004);
  std::unique_ptr<IdentityFilter> doubled = IdentityFilter::Doubled(sized);
  EXPECT_EQ(doubled->bytes(), 2 * sized.bytes());
  EXPECT_EQ(doubled->capacity(), 2 * sized.capacity());
  EXPECT_EQ(doubled->doublings(), 1);
  EXPECT_EQ(doubled->inserted(), 0u);
  EXPECT_FALSE(doubled->MayContain(HashOf("kept-", 0)));  // empty until copied
  doubled->CopyFromHalf(sized);
  for (uint64_t i = 0; i < 4004; ++i) ASSERT_TRUE(doubled->MayContain(HashOf("kept-", i))) << i;
  EXPECT_EQ(IdentityFilter::Doubled(*doubled)->doublings(), 2);
}

TEST(IdentityFilter, ADoubledFilterAtCapacityErrsForFewerThanTwoInAHundred) {
  // The price of growing without a scan: a doubled filter starts as dense as its half was when
  // full. A simulation of the layout gives 1.4 % at capacity; 2 % would mean a broken copy.
  constexpr uint64_t kKeys = 200'000;
  IdentityFilter half(kKeys, uint64_t{1} << 30);
  for (uint64_t i = 0; i < kKeys; ++i) half.Insert(HashOf("old-", i));
  half.CountInserted(kKeys);
  ASSERT_TRUE(half.Full());
  std::unique_ptr<IdentityFilter> doubled = IdentityFilter::Doubled(half);
  doubled->CopyFromHalf(half);
  doubled->CountInserted(half.inserted());
  EXPECT_FALSE(doubled->Full());
  for (uint64_t i = 0; i < kKeys; ++i) doubled->Insert(HashOf("new-", i));
  doubled->CountInserted(kKeys);
  EXPECT_TRUE(doubled->Full());
  for (uint64_t i = 0; i < kKeys; ++i) {
    ASSERT_TRUE(doubled->MayContain(HashOf("old-", i)));
    ASSERT_TRUE(doubled->MayContain(HashOf("new-", i)));
  }
  uint64_t maybe = 0;
  for (uint64_t i = 0; i < 2 * kKeys; ++i) maybe += doubled->MayContain(HashOf("absent-", i));
  EXPECT_LT(maybe, 2 * kKeys * 2 / 100) << maybe;
  EXPECT_GT(maybe, 2 * kKeys * 8 / 1000) << "denser than a filter built at this size, or no copy";
}

TEST(IdentityFilter, InsertsDuringTheCopyReachTheDoubledFilter) {
  // The engine's order: shards insert into both filters, then the words are copied. Every
  // identity inserted into the half before, and into both during, must be in the new one.
  IdentityFilter half(300'000, uint64_t{1} << 30);
  for (uint64_t i = 0; i < 100'000; ++i) half.Insert(HashOf("before-", i));
  std::unique_ptr<IdentityFilter> doubled = IdentityFilter::Doubled(half);
  std::thread shard([&] {
    for (uint64_t i = 0; i < 100'000; ++i) {
      half.Insert(HashOf("during-", i));
      doubled->Insert(HashOf("during-", i));
    }
  });
  doubled->CopyFromHalf(half);
  shard.join();
  for (uint64_t i = 0; i < 100'000; ++i) {
    ASSERT_TRUE(doubled->MayContain(HashOf("before-", i))) << i;
    ASSERT_TRUE(doubled->MayContain(HashOf("during-", i))) << i;
  }
}

// Resident pages of this process, from /proc/self/statm.
uint64_t ResidentBytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long size = 0, resident = 0;
  const int got = std::fscanf(f, "%llu %llu", &size, &resident);
  std::fclose(f);
  return got == 2 ? resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE)) : 0;
}

TEST(IdentityFilter, TakesMemoryOnlyAsIdentitiesTouchItUnlessMadeResident) {
  // 64 MiB each. The lazy one is what a small feed's first filter is; the resident one is what
  // the builder hands the shards, so that their inserts never fault pages in on their threads.
  constexpr uint64_t kKeys = uint64_t{32} << 20;
  const uint64_t before = ResidentBytes();
  IdentityFilter lazy(kKeys, uint64_t{1} << 30);
  ASSERT_EQ(lazy.bytes(), uint64_t{64} << 20);
  for (uint64_t i = 0; i < 1000; ++i) lazy.Insert(HashOf("few-", i));
  const uint64_t after_lazy = ResidentBytes();
  EXPECT_LT(after_lazy - before, lazy.bytes() / 4);

  IdentityFilter resident(kKeys, uint64_t{1} << 30);
  resident.MakeResident();
  EXPECT_GE(ResidentBytes() - after_lazy, resident.bytes() * 9 / 10);
  // Resident, still empty, and a filter like any other.
  for (uint64_t i = 0; i < 1000; ++i) EXPECT_FALSE(resident.MayContain(HashOf("few-", i))) << i;
  for (uint64_t i = 0; i < 1000; ++i) resident.Insert(HashOf("few-", i));
  for (uint64_t i = 0; i < 1000; ++i) ASSERT_TRUE(resident.MayContain(HashOf("few-", i))) << i;
}

TEST(IdentityFilter, IsDenseForEightIdentitiesPerPageOfIt) {
  // 4,194,304 keys at 16 bits: 8 MiB, 2,048 pages of 4 KiB.
  IdentityFilter filter(uint64_t{4} << 20, uint64_t{1} << 30);
  ASSERT_EQ(filter.bytes(), uint64_t{8} << 20);
  EXPECT_FALSE(filter.DenseFor(0));
  EXPECT_FALSE(filter.DenseFor(8 * 2048 - 1));
  EXPECT_TRUE(filter.DenseFor(8 * 2048));
  // A filter of a few words still spans one huge page of address space, never less.
  IdentityFilter tiny(10, uint64_t{1} << 30);
  EXPECT_FALSE(tiny.DenseFor(8 * 512 - 1));
  EXPECT_TRUE(tiny.DenseFor(8 * 512));
}

TEST(IdentityFilter, AResidentDoubledFilterKeepsEveryIdentityOfItsHalf) {
  IdentityFilter half(100'000, uint64_t{1} << 30);
  for (uint64_t i = 0; i < 100'000; ++i) half.Insert(HashOf("kept-", i));
  std::unique_ptr<IdentityFilter> doubled = IdentityFilter::Doubled(half);
  doubled->MakeResident();
  doubled->CopyFromHalf(half);
  for (uint64_t i = 0; i < 100'000; ++i) ASSERT_TRUE(doubled->MayContain(HashOf("kept-", i))) << i;
}

}  // namespace
}  // namespace meterd::core
