#include "daemon/core/hash_counts.h"

#include <gtest/gtest.h>

#include <random>
#include <unordered_map>
#include <vector>

namespace meterd::core {
namespace {

TEST(HashCounts, CountsIncrementsAndForgetsAtZero) {
  HashCounts c;
  EXPECT_FALSE(c.Contains(42));
  c.Increment(42);
  c.Increment(42);
  c.Increment(7);
  EXPECT_EQ(c.Count(42), 2u);
  EXPECT_EQ(c.size(), 2u);
  c.Decrement(42);
  EXPECT_TRUE(c.Contains(42));
  c.Decrement(42);
  EXPECT_FALSE(c.Contains(42));
  EXPECT_TRUE(c.Contains(7));
  c.Decrement(99);  // not counted: ignored
  EXPECT_EQ(c.size(), 1u);
  c.Clear();
  EXPECT_FALSE(c.Contains(7));
  EXPECT_EQ(c.size(), 0u);
}

TEST(HashCounts, ZeroIsAHashLikeAnyOther) {
  HashCounts c;
  c.Increment(0);
  EXPECT_TRUE(c.Contains(0));
  c.Decrement(0);
  EXPECT_FALSE(c.Contains(0));
}

// Random increments and decrements against std::unordered_map, on key sets that force long
// probe runs (many keys with one home slot: same high bits after the multiply are rare, so
// multiples of a large power of two are used) and across several growths.
TEST(HashCounts, AgreesWithAMapUnderRandomOperations) {
  for (uint64_t stride : {uint64_t{1}, uint64_t{1} << 54, uint64_t{0x9E3779B97F4A7C15ULL}}) {
    std::mt19937_64 rng(stride);
    HashCounts c;
    std::unordered_map<uint64_t, uint32_t> want;
    for (int op = 0; op < 200'000; ++op) {
      const uint64_t key = (rng() % 5000 + 2) * stride;  // never 0 or 1 (they share a slot key)
      if (rng() % 3 != 0) {
        c.Increment(key);
        ++want[key];
      } else {
        c.Decrement(key);
        auto it = want.find(key);
        if (it != want.end() && --it->second == 0) want.erase(it);
      }
      if (op % 997 == 0) {
        ASSERT_EQ(c.size(), want.size()) << "stride " << stride << " op " << op;
        for (const auto& [k, n] : want) ASSERT_EQ(c.Count(k), n) << k;
      }
    }
    for (int k = 2; k < 5002; ++k) {
      const uint64_t key = k * stride;
      auto it = want.find(key);
      ASSERT_EQ(c.Count(key), it == want.end() ? 0u : it->second) << key;
    }
  }
}

TEST(HashCounts, RemembersTheOneHolderOfAHashUntilASecondCountsIt) {
  HashCounts c;
  int a = 0, b = 0;
  c.Increment(42, {&a, 7});
  EXPECT_EQ(c.HolderOf(42).owner, &a);
  EXPECT_EQ(c.HolderOf(42).offset, 7u);
  EXPECT_EQ(c.HolderOf(43).owner, nullptr);  // not counted
  c.Increment(42, {&b, 9});                  // a second holder: ambiguous from now on
  EXPECT_EQ(c.HolderOf(42).owner, nullptr);
  c.Decrement(42);  // still ambiguous: which one left is not known
  EXPECT_EQ(c.HolderOf(42).owner, nullptr);
  c.Decrement(42);
  c.Increment(42, {&b, 9});  // forgotten, then counted afresh
  EXPECT_EQ(c.HolderOf(42).owner, &b);
  c.Increment(5);  // no holder given
  EXPECT_EQ(c.HolderOf(5).owner, nullptr);
}

// Holders move with their hashes through growth and backward-shift deletion.
TEST(HashCounts, HoldersFollowTheirHashesUnderRandomOperations) {
  struct Want {
    uint32_t count = 0;
    uint32_t holder = 0;  // 0: none (ambiguous)
  };
  static const int kOwner = 0;
  for (uint64_t stride : {uint64_t{1}, uint64_t{1} << 54}) {
    std::mt19937_64 rng(stride + 1);
    HashCounts c;
    std::unordered_map<uint64_t, Want> want;
    for (uint32_t op = 1; op <= 200'000; ++op) {
      const uint64_t key = (rng() % 5000 + 2) * stride;
      if (rng() % 3 != 0) {
        c.Increment(key, {&kOwner, op});
        Want& w = want[key];
        w.holder = w.count == 0 ? op : 0;
        ++w.count;
      } else {
        c.Decrement(key);
        auto it = want.find(key);
        if (it != want.end() && --it->second.count == 0) want.erase(it);
      }
      if (op % 997 == 0) {
        for (const auto& [k, w] : want) {
          const HashCounts::Holder h = c.HolderOf(k);
          ASSERT_EQ(h.owner, w.holder ? &kOwner : nullptr) << k;
          if (w.holder) {
            ASSERT_EQ(h.offset, w.holder) << k;
          }
        }
      }
    }
  }
}

// A shard releases a folded job's identities in one call: the same as one Decrement each,
// repeats and hashes never counted included, with holders kept for what is left.
TEST(HashCounts, DecrementAllIsOneDecrementOfEach) {
  std::mt19937_64 rng(20261121);
  HashCounts all, each;
  static const int kOwner = 0;
  std::vector<uint64_t> counted;
  for (uint32_t i = 0; i < 20'000; ++i) {
    const uint64_t key = rng() % 30'000 + 2;
    all.Increment(key, {&kOwner, i});
    each.Increment(key, {&kOwner, i});
    counted.push_back(key);
  }
  std::vector<uint64_t> release(counted.begin(), counted.begin() + 12'000);
  release.push_back(1'000'000);  // never counted: ignored
  all.DecrementAll(release);
  for (uint64_t key : release) each.Decrement(key);
  ASSERT_EQ(all.size(), each.size());
  ASSERT_LT(all.size(), 20'000u);
  for (uint64_t key : counted) {
    ASSERT_EQ(all.Count(key), each.Count(key)) << key;
    ASSERT_EQ(all.HolderOf(key).owner, each.HolderOf(key).owner) << key;
    ASSERT_EQ(all.HolderOf(key).offset, each.HolderOf(key).offset) << key;
  }
}

}  // namespace
}  // namespace meterd::core
