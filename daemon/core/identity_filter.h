// A filter over the dedupe identities the store holds: a split-block Bloom filter (one 64-byte
// block per key, one bit set in each of its eight words), so a shard asks LMDB's `events` tree
// only about an identity the filter may contain. Most events of a live feed are new, and the
// tree look-up of a new identity was the largest single cost of ingest (docs/benchmarks.md).
//
// It never forgets: a "no" is exact, a "maybe" is checked in the store. Bits are atomic words,
// so every shard inserts and asks without a lock (an identity's owning shard may change with
// the reference data). The engine rebuilds a larger filter from the store when this one holds
// its capacity, which also drops identities purged since (docs/storage.md, "The dedupe
// filter").
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "storage/keys.h"

namespace meterd::core {

class IdentityFilter {
 public:
  // Bits per key at capacity: under 0.5 % false positives for a split-block filter.
  static constexpr uint64_t kBitsPerKey = 12;
  static constexpr uint64_t kBlockBytes = 64;

  // Room for at least capacity_keys at kBitsPerKey, in at most max_bytes (when that is less,
  // the filter holds its capacity with more false positives).
  IdentityFilter(uint64_t capacity_keys, uint64_t max_bytes);
  ~IdentityFilter();
  IdentityFilter(const IdentityFilter&) = delete;
  IdentityFilter& operator=(const IdentityFilter&) = delete;

  void Insert(const storage::KeyHash& hash) {
    std::atomic<uint64_t>* block = Block(hash);
    for (int i = 0; i < 8; ++i) {
      block[i].fetch_or(Bit(hash, i), std::memory_order_release);
    }
  }
  // False only when the identity was never inserted.
  bool MayContain(const storage::KeyHash& hash) const {
    const std::atomic<uint64_t>* block = Block(hash);
    for (int i = 0; i < 8; ++i) {
      if ((block[i].load(std::memory_order_acquire) & Bit(hash, i)) == 0) return false;
    }
    return true;
  }

  // Starts loading the identity's block into the cache: a look-up or insert is a cache miss
  // (the filter is far larger than the caches), so callers with many identities at hand ask a
  // few ahead and let the misses overlap.
  void Prefetch(const storage::KeyHash& hash) const { __builtin_prefetch(Block(hash), 1, 3); }

  // Keys inserted so far (counted by the callers, per job): the engine rebuilds past capacity.
  void CountInserted(uint64_t keys) { inserted_.fetch_add(keys, std::memory_order_relaxed); }
  uint64_t inserted() const { return inserted_.load(std::memory_order_relaxed); }
  uint64_t capacity() const { return capacity_; }
  bool Full() const { return inserted() >= capacity_; }
  size_t bytes() const { return blocks_ * kBlockBytes; }

 private:
  std::atomic<uint64_t>* Block(const storage::KeyHash& hash) const {
    // The high word picks the block (multiply-shift: no modulo, any block count).
    const uint64_t index =
        static_cast<uint64_t>((static_cast<unsigned __int128>(hash.hi) * blocks_) >> 64);
    return words_ + index * 8;
  }
  // One bit per word from the low word, each word with its own odd multiplier (the
  // split-block layout of Putze et al. and Apache Parquet).
  static uint64_t Bit(const storage::KeyHash& hash, int word) {
    static constexpr uint64_t kSalt[8] = {0x47b6137b44974d91, 0x8824ad5ba2b7289d,
                                          0x705495c72df1424b, 0x9efc49475c6bfb31,
                                          0x1d3d4a5d9a3a8c67, 0xc2b2ae3d27d4eb4f,
                                          0x165667b19e3779f9, 0x27d4eb2f165667c5};
    return uint64_t{1} << ((hash.lo * kSalt[word]) >> 58);
  }

  uint64_t blocks_ = 0;
  uint64_t capacity_ = 0;
  std::atomic<uint64_t>* words_ = nullptr;  // blocks_ * 8, 64-byte aligned
  std::atomic<uint64_t> inserted_{0};
};

}  // namespace meterd::core
