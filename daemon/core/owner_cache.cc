#include "daemon/core/owner_cache.h"

#include "storage/keys.h"

namespace meterd::core {

size_t ShardOfOwner(std::string_view owner_key, size_t shards) {
  return storage::HashForKey(owner_key).lo % shards;
}

OwnerCache::Owner OwnerCache::Resolve(std::string_view entitlement_id) {
  auto it = entries_.find(entitlement_id);
  if (it != entries_.end()) return it->second;
  if (entries_.size() >= kMaxEntries) entries_.clear();
  const rating::Entitlement* ent = snapshot_->FindEntitlement(entitlement_id);
  const rating::Customer* cust = ent ? snapshot_->FindCustomer(ent->customer_id) : nullptr;
  const Owner owner{cust,
                    ShardOfOwner(cust ? std::string_view(cust->customer_id) : entitlement_id,
                                 shards_)};
  entries_.emplace(std::string(entitlement_id), owner);
  return owner;
}

}  // namespace meterd::core
