// A filter over the dedupe identities the store holds: a register-blocked Bloom filter (each
// identity sets 6 bits of one 64-bit word), so a shard asks LMDB's `events` tree only about an
// identity the filter may contain. Most events of a live feed are new, and the tree look-up of
// a new identity was the largest single cost of ingest (docs/benchmarks.md).
//
// It never forgets: a "no" is exact, a "maybe" is checked in the store. Words are atomic, so
// every shard inserts and asks without a lock (an identity's owning shard may change with the
// reference data); one word per identity means one locked OR per insert, where a filter with
// a bit in each of 8 words (tried first) took 8 and showed them in the profile. When this one
// holds its capacity the engine doubles it, or rebuilds a larger one from the store, which also
// drops identities purged since (docs/storage.md, "The dedupe filter").
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "storage/keys.h"

namespace meterd::core {

class IdentityFilter {
 public:
  // Bits per key at capacity: about 0.4 % false positives with 6 bits per 64-bit word (a
  // simulation gave 1.0 % at 12 bits per key, 0.40 % at 16).
  static constexpr uint64_t kBitsPerKey = 16;

  // Room for at least capacity_keys at kBitsPerKey, in at most max_bytes (when that is less,
  // the filter holds its capacity with more false positives).
  IdentityFilter(uint64_t capacity_keys, uint64_t max_bytes);
  ~IdentityFilter();
  IdentityFilter(const IdentityFilter&) = delete;
  IdentityFilter& operator=(const IdentityFilter&) = delete;

  void Insert(const storage::KeyHash& hash) {
    std::atomic_ref<uint64_t> word = Word(hash);
    const uint64_t mask = Mask(hash);
    // Read first: an identity whose bits are all set already costs no locked instruction.
    if ((word.load(std::memory_order_relaxed) & mask) != mask) {
      word.fetch_or(mask, std::memory_order_release);
    }
  }
  // False only when the identity was never inserted.
  bool MayContain(const storage::KeyHash& hash) const {
    const uint64_t mask = Mask(hash);
    return (Word(hash).load(std::memory_order_acquire) & mask) == mask;
  }

  // Starts loading the identity's word into the cache: a look-up or insert is a cache miss
  // (the filter is far larger than the caches), so callers with many identities at hand ask a
  // few ahead and let the misses overlap.
  void Prefetch(const storage::KeyHash& hash) const {
    __builtin_prefetch(&words_[WordIndex(hash)], 1, 3);
  }
  static constexpr size_t kPrefetchAhead = 8;

  // Insert of each, prefetching kPrefetchAhead ahead. Called in one tight loop, not amid other
  // work: a locked OR waits for every store before it to drain.
  void InsertAll(std::span<const storage::KeyHash> hashes) {
    for (size_t i = 0; i < hashes.size(); ++i) {
      if (i + kPrefetchAhead < hashes.size()) Prefetch(hashes[i + kPrefetchAhead]);
      Insert(hashes[i]);
    }
  }

  // An empty filter with twice the words and twice the capacity of `half`, to be filled by
  // CopyFromHalf: a filter grows by a pass over memory instead of a scan of the store. Its
  // identities then sit at the density `half` had when full, so it errs more often as it fills
  // (about 1.4 % at capacity against 0.4 %, in simulation); the engine doubles a filter once,
  // then builds the next from the store, which also drops identities purged since.
  static std::unique_ptr<IdentityFilter> Doubled(const IdentityFilter& half);
  // ORs every word of `half` (Doubled's argument) into the two words it splits into here: an
  // identity's word in a filter of 2W words is 2i or 2i+1 when it is i in one of W (both are
  // the high hash word scaled down), and its mask is the same. Safe while shards insert into
  // either filter; inserts into `half` after it read a word must also reach this filter.
  void CopyFromHalf(const IdentityFilter& half);
  // How many times this filter's content was doubled since it was built from the store.
  int doublings() const { return doublings_; }

  // Makes every page of the filter resident, in huge pages where the kernel has them, before
  // the filter is handed to the shards. A filter that will be dense anyway (a doubled one, or
  // one built for many stored identities) would otherwise take its page faults in the shards:
  // each shard inserts its unfolded identities into the new filter on its own thread, and
  // faulting in 256 MiB there held ingest up for 0.9 s (docs/storage.md). Huge pages also
  // spare the shards a page walk per look-up. Call before any other thread sees the filter.
  void MakeResident();
  // Whether a filter for `identities` keys of this size is worth MakeResident: true when the
  // identities would touch every page anyway.
  bool DenseFor(uint64_t identities) const;

  // Keys inserted so far (counted by the callers, per job): the engine rebuilds past capacity.
  void CountInserted(uint64_t keys) { inserted_.fetch_add(keys, std::memory_order_relaxed); }
  uint64_t inserted() const { return inserted_.load(std::memory_order_relaxed); }
  uint64_t capacity() const { return capacity_; }
  bool Full() const { return inserted() >= capacity_; }
  size_t bytes() const { return words_count_ * sizeof(uint64_t); }

 private:
  std::atomic_ref<uint64_t> Word(const storage::KeyHash& hash) const {
    return std::atomic_ref<uint64_t>(words_[WordIndex(hash)]);
  }
  // The high word picks the word (multiply-shift: no modulo, any size).
  uint64_t WordIndex(const storage::KeyHash& hash) const {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(hash.hi) * words_count_) >> 64);
  }
  // Six bit positions from six disjoint 6-bit fields of the low word.
  static uint64_t Mask(const storage::KeyHash& hash) {
    uint64_t mask = 0;
    for (int i = 0; i < 6; ++i) mask |= uint64_t{1} << ((hash.lo >> (6 * i)) & 63);
    return mask;
  }

  IdentityFilter() = default;
  void Allocate();

  uint64_t words_count_ = 0;
  uint64_t mapped_bytes_ = 0;
  uint64_t capacity_ = 0;
  int doublings_ = 0;
  // Anonymous memory, zeroed by the kernel and aligned to a huge page: pages no identity has
  // touched yet take no memory (a daemon with a small feed never pays for the whole first
  // filter) unless MakeResident asked for them. Every access goes through std::atomic_ref.
  uint64_t* words_ = nullptr;
  std::atomic<uint64_t> inserted_{0};
};

}  // namespace meterd::core
