// What a usage event's entitlement id, as the feed spells it, resolves to in one reference
// snapshot: its customer (null when the entitlement is unknown) and the shard owning it (by
// customer, or by the entitlement id when unknown). Routing and the shards ask this for every
// event; two ordered-map look-ups with string compares and a key hash per event were ≈ 5 % of
// ingest, one hash-table hit is a fraction of that. Not thread-safe: one per thread.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "rating/reference.h"

namespace meterd::core {

// The shard (of `shards`) owning a customer id, or an unknown entitlement's id.
size_t ShardOfOwner(std::string_view owner_key, size_t shards);

class OwnerCache {
 public:
  struct Owner {
    const rating::Customer* customer = nullptr;  // points into the snapshot
    size_t shard = 0;
  };
  // Starts answering for `snapshot` and `shards` shards (a no-op when it already does). The
  // cache holds the snapshot until then, so the pointers it hands out stay valid and its
  // address is not reused while cached.
  void Use(const std::shared_ptr<const rating::ReferenceSnapshot>& snapshot, size_t shards) {
    if (snapshot_ == snapshot && shards_ == shards) return;
    entries_.clear();
    snapshot_ = snapshot;
    shards_ = shards;
  }
  // REQUIRES: Use() was called.
  Owner Resolve(std::string_view entitlement_id);

 private:
  struct TransparentHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
  };
  // A feed of ever new unknown ids must not grow the cache without bound.
  static constexpr size_t kMaxEntries = size_t{1} << 16;

  std::shared_ptr<const rating::ReferenceSnapshot> snapshot_;
  size_t shards_ = 1;
  std::unordered_map<std::string, Owner, TransparentHash, std::equal_to<>> entries_;
};

}  // namespace meterd::core
