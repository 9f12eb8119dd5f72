#include "daemon/core/owner_cache.h"

#include <gtest/gtest.h>

#include <string>

#include "storage/keys.h"

namespace meterd::core {
namespace {

using rating::ReferenceBuilder;
using rating::ReferenceSnapshot;

// A snapshot where entitlement e1 belongs to `customer` (and e2 to c2).
std::shared_ptr<const ReferenceSnapshot> Snapshot(std::shared_ptr<const ReferenceSnapshot> base,
                                                  const std::string& customer) {
  ReferenceBuilder b(std::move(base));
  EXPECT_TRUE(b.UpsertPartner({"p1", "Partner", "1234567", {}, true}).ok());
  for (const std::string& c : {std::string("c1"), std::string("c2"), std::string("c3")}) {
    EXPECT_TRUE(b.UpsertCustomer({c, "Customer " + c, c + ".example", "US", "p1", {}, {}}).ok());
  }
  for (const auto& [entitlement, owner] : {std::pair<std::string, std::string>{"e1", customer},
                                           std::pair<std::string, std::string>{"e2", "c2"}}) {
    rating::Entitlement e;
    e.entitlement_id = entitlement;
    e.customer_id = owner;
    EXPECT_TRUE(b.UpsertEntitlement(std::move(e)).ok());
  }
  return std::move(b).Build().snapshot;
}

TEST(OwnerCache, ResolvesLikeTheSnapshotAndTheShardHash) {
  auto snap = Snapshot(ReferenceSnapshot::Empty(), "c1");
  OwnerCache cache;
  cache.Use(snap, 7);
  for (int round = 0; round < 2; ++round) {  // a miss, then a hit
    OwnerCache::Owner e1 = cache.Resolve("e1");
    ASSERT_NE(e1.customer, nullptr);
    EXPECT_EQ(e1.customer, snap->FindCustomer("c1"));
    EXPECT_EQ(e1.shard, storage::HashForKey("c1").lo % 7);
    EXPECT_EQ(ShardOfOwner("c1", 7), e1.shard);
    // Unknown: no customer, owned by the entitlement id's hash.
    OwnerCache::Owner unknown = cache.Resolve("nope");
    EXPECT_EQ(unknown.customer, nullptr);
    EXPECT_EQ(unknown.shard, storage::HashForKey("nope").lo % 7);
  }
}

TEST(OwnerCache, ANewSnapshotOrShardCountIsNotAnsweredFromTheOldOne) {
  auto first = Snapshot(ReferenceSnapshot::Empty(), "c1");
  auto moved = Snapshot(first, "c3");  // e1 moved from c1 to c3
  OwnerCache cache;
  cache.Use(first, 64);
  EXPECT_EQ(cache.Resolve("e1").customer->customer_id, "c1");
  cache.Use(moved, 64);
  EXPECT_EQ(cache.Resolve("e1").customer->customer_id, "c3");
  EXPECT_EQ(cache.Resolve("e1").shard, ShardOfOwner("c3", 64));
  cache.Use(moved, 5);
  EXPECT_EQ(cache.Resolve("e1").shard, ShardOfOwner("c3", 5));
}

TEST(OwnerCache, ManyUnknownIdsDoNotGrowItWithoutBoundAndAnswersStayRight) {
  auto snap = Snapshot(ReferenceSnapshot::Empty(), "c1");
  OwnerCache cache;
  cache.Use(snap, 3);
  for (int i = 0; i < 200'000; ++i) {
    const std::string id = "unknown-" + std::to_string(i);
    ASSERT_EQ(cache.Resolve(id).shard, ShardOfOwner(id, 3));
  }
  EXPECT_EQ(cache.Resolve("e1").customer, snap->FindCustomer("c1"));
}

}  // namespace
}  // namespace meterd::core
