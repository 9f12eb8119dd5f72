// Counts per 64-bit hash in one flat open-addressing table (linear probing, backward-shift
// deletion): the shards' filter of dedupe identities in flight. A node-based map allocated once
// per accepted event; this table allocates only when it doubles, so an event costs no
// allocation once the table has grown to the shard's in-flight peak. Not thread-safe (owned by
// one shard thread).
//
// Each hash also remembers where its one holder keeps the exact key (an owner pointer and an
// offset the caller defines), so a hit is confirmed with one comparison instead of a search of
// everything in flight. Once a second holder counts the same hash (a 64-bit collision) the
// hash has no single holder until it is forgotten: HolderOf answers null, the caller searches.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace meterd::core {

class HashCounts {
 public:
  HashCounts() { Rehash(kMinSlots); }

  bool Contains(uint64_t hash) const { return keys_[Find(Key(hash))] != kEmpty; }

  struct Holder {
    const void* owner = nullptr;  // null: none, or more than one
    uint32_t offset = 0;
  };

  void Increment(uint64_t hash) { Increment(hash, Holder{}); }
  void Increment(uint64_t hash, Holder holder) {
    const uint64_t key = Key(hash);
    size_t slot = Find(key);
    if (keys_[slot] == kEmpty) {
      if ((size_ + 1) * 2 > keys_.size()) {  // keep the load at most 1/2: short probes
        Rehash(keys_.size() * 2);
        slot = Find(key);
      }
      keys_[slot] = key;
      counts_[slot] = 0;
      holders_[slot] = holder;
      ++size_;
    } else {
      holders_[slot] = Holder{};
    }
    ++counts_[slot];
  }

  // The holder given when hash was counted, while it is the only one; else owner is null.
  Holder HolderOf(uint64_t hash) const {
    const size_t slot = Find(Key(hash));
    return keys_[slot] == kEmpty ? Holder{} : holders_[slot];
  }

  // Decrements the count of hash, forgetting it at zero; a hash not counted is ignored.
  void Decrement(uint64_t hash) {
    size_t slot = Find(Key(hash));
    if (keys_[slot] == kEmpty) return;
    if (--counts_[slot] > 0) return;
    // Backward-shift deletion: pull later entries of the probe run into the hole so that every
    // entry stays reachable from its home slot without tombstones.
    const size_t mask = keys_.size() - 1;
    size_t hole = slot;
    for (size_t next = (hole + 1) & mask; keys_[next] != kEmpty; next = (next + 1) & mask) {
      const size_t home = Home(keys_[next]);
      // Movable when its home is not in the cyclic range (hole, next].
      const bool home_in_range =
          hole <= next ? (home > hole && home <= next) : (home > hole || home <= next);
      if (home_in_range) continue;
      keys_[hole] = keys_[next];
      counts_[hole] = counts_[next];
      holders_[hole] = holders_[next];
      hole = next;
    }
    keys_[hole] = kEmpty;
    --size_;
  }

  // Starts loading hash's home slot into the cache (see IdentityFilter::Prefetch).
  void Prefetch(uint64_t hash) const { __builtin_prefetch(&keys_[Home(Key(hash))], 0, 3); }

  uint32_t Count(uint64_t hash) const {
    const size_t slot = Find(Key(hash));
    return keys_[slot] == kEmpty ? 0 : counts_[slot];
  }
  size_t size() const { return size_; }
  void Clear() {
    keys_.assign(keys_.size(), kEmpty);
    size_ = 0;
  }

 private:
  static constexpr uint64_t kEmpty = 0;
  static constexpr size_t kMinSlots = 1024;

  // 0 marks an empty slot, so the one hash equal to it is stored as another fixed value; two
  // hashes sharing a key only make the filter answer "maybe" (the caller checks exactly).
  static uint64_t Key(uint64_t hash) { return hash == kEmpty ? 1 : hash; }
  size_t Home(uint64_t key) const {
    // Fibonacci hashing spreads keys whose low bits repeat.
    return static_cast<size_t>((key * 0x9E3779B97F4A7C15ULL) >> shift_);
  }
  size_t Find(uint64_t key) const {
    const size_t mask = keys_.size() - 1;
    size_t slot = Home(key);
    while (keys_[slot] != kEmpty && keys_[slot] != key) slot = (slot + 1) & mask;
    return slot;
  }
  void Rehash(size_t slots) {
    std::vector<uint64_t> old_keys = std::move(keys_);
    std::vector<uint32_t> old_counts = std::move(counts_);
    std::vector<Holder> old_holders = std::move(holders_);
    keys_.assign(slots, kEmpty);
    counts_.assign(slots, 0);
    holders_.assign(slots, Holder{});
    shift_ = 64;
    for (size_t s = slots; s > 1; s >>= 1) --shift_;
    for (size_t i = 0; i < old_keys.size(); ++i) {
      if (old_keys[i] == kEmpty) continue;
      const size_t slot = Find(old_keys[i]);
      keys_[slot] = old_keys[i];
      counts_[slot] = old_counts[i];
      holders_[slot] = old_holders[i];
    }
  }

  std::vector<uint64_t> keys_;
  std::vector<uint32_t> counts_;
  std::vector<Holder> holders_;
  size_t size_ = 0;
  int shift_ = 64;
};

}  // namespace meterd::core
