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

  bool Contains(uint64_t hash) const { return slots_[Find(Key(hash))].key != kEmpty; }

  struct Holder {
    const void* owner = nullptr;  // null: none, or more than one
    uint32_t offset = 0;
  };

  void Increment(uint64_t hash) { Increment(hash, Holder{}); }
  void Increment(uint64_t hash, Holder holder) {
    const uint64_t key = Key(hash);
    size_t slot = Find(key);
    if (slots_[slot].key == kEmpty) {
      if ((size_ + 1) * 2 > slots_.size()) {  // keep the load at most 1/2: short probes
        Rehash(slots_.size() * 2);
        slot = Find(key);
      }
      slots_[slot] = Slot{key, holder.owner, holder.offset, 0};
      ++size_;
    } else {
      slots_[slot].owner = nullptr;
    }
    ++slots_[slot].count;
  }

  // The holder given when hash was counted, while it is the only one; else owner is null.
  Holder HolderOf(uint64_t hash) const {
    const Slot& s = slots_[Find(Key(hash))];
    return s.key == kEmpty || s.owner == nullptr ? Holder{} : Holder{s.owner, s.offset};
  }

  // Decrements the count of hash, forgetting it at zero; a hash not counted is ignored.
  void Decrement(uint64_t hash) {
    size_t slot = Find(Key(hash));
    if (slots_[slot].key == kEmpty) return;
    if (--slots_[slot].count > 0) return;
    // Backward-shift deletion: pull later entries of the probe run into the hole so that every
    // entry stays reachable from its home slot without tombstones.
    const size_t mask = slots_.size() - 1;
    size_t hole = slot;
    for (size_t next = (hole + 1) & mask; slots_[next].key != kEmpty; next = (next + 1) & mask) {
      const size_t home = Home(slots_[next].key);
      // Movable when its home is not in the cyclic range (hole, next].
      const bool home_in_range =
          hole <= next ? (home > hole && home <= next) : (home > hole || home <= next);
      if (home_in_range) continue;
      slots_[hole] = slots_[next];
      hole = next;
    }
    slots_[hole].key = kEmpty;
    --size_;
  }

  // Decrement of each, prefetching kPrefetchAhead ahead: a job's hashes are far apart in the
  // table, and each slot is a likely cache miss.
  static constexpr size_t kPrefetchAhead = 8;
  void DecrementAll(const std::vector<uint64_t>& hashes) {
    for (size_t i = 0; i < hashes.size(); ++i) {
      if (i + kPrefetchAhead < hashes.size()) Prefetch(hashes[i + kPrefetchAhead]);
      Decrement(hashes[i]);
    }
  }

  // Starts loading hash's home slot (key, count and holder) into the cache, for writing (see
  // IdentityFilter::Prefetch).
  void Prefetch(uint64_t hash) const { __builtin_prefetch(&slots_[Home(Key(hash))], 1, 3); }

  uint32_t Count(uint64_t hash) const {
    const Slot& s = slots_[Find(Key(hash))];
    return s.key == kEmpty ? 0 : s.count;
  }
  size_t size() const { return size_; }
  void Clear() {
    for (Slot& s : slots_) s.key = kEmpty;
    size_ = 0;
  }

 private:
  static constexpr uint64_t kEmpty = 0;
  static constexpr size_t kMinSlots = 1024;

  // A slot's fields side by side in one aligned 32 bytes: counting a new hash writes all of
  // them, and held in separate arrays they were three cache misses instead of one.
  struct alignas(32) Slot {
    uint64_t key = kEmpty;
    const void* owner = nullptr;
    uint32_t offset = 0;
    uint32_t count = 0;
  };

  // 0 marks an empty slot, so the one hash equal to it is stored as another fixed value; two
  // hashes sharing a key only make the filter answer "maybe" (the caller checks exactly).
  static uint64_t Key(uint64_t hash) { return hash == kEmpty ? 1 : hash; }
  size_t Home(uint64_t key) const {
    // Fibonacci hashing spreads keys whose low bits repeat.
    return static_cast<size_t>((key * 0x9E3779B97F4A7C15ULL) >> shift_);
  }
  size_t Find(uint64_t key) const {
    const size_t mask = slots_.size() - 1;
    size_t slot = Home(key);
    while (slots_[slot].key != kEmpty && slots_[slot].key != key) slot = (slot + 1) & mask;
    return slot;
  }
  void Rehash(size_t count) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(count, Slot{});
    shift_ = 64;
    for (size_t s = count; s > 1; s >>= 1) --shift_;
    for (const Slot& s : old) {
      if (s.key != kEmpty) slots_[Find(s.key)] = s;
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
  int shift_ = 64;
};

}  // namespace meterd::core
