#include "daemon/core/identity_filter.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace meterd::core {

IdentityFilter::IdentityFilter(uint64_t capacity_keys, uint64_t max_bytes) {
  capacity_ = std::max<uint64_t>(capacity_keys, 1);
  const uint64_t wanted = (capacity_ * kBitsPerKey + 63) / 64;
  words_count_ = std::max<uint64_t>(1, std::min(wanted, max_bytes / sizeof(uint64_t)));
  Allocate();
}

namespace {

constexpr uint64_t kHugePage = uint64_t{2} << 20;
constexpr uint64_t kSmallPage = 4096;

}  // namespace

void IdentityFilter::Allocate() {
  // A whole number of huge pages at a huge-page boundary: the kernel can back all of it with
  // huge pages once MakeResident asks (it never does for a partial one).
  mapped_bytes_ = (words_count_ * sizeof(uint64_t) + kHugePage - 1) / kHugePage * kHugePage;
  const uint64_t reserve = mapped_bytes_ + kHugePage;
  void* memory = mmap(nullptr, reserve, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (memory == MAP_FAILED) throw std::bad_alloc();
  const auto start = reinterpret_cast<uintptr_t>(memory);
  const uintptr_t aligned = (start + kHugePage - 1) / kHugePage * kHugePage;
  if (aligned > start) munmap(memory, aligned - start);
  const uintptr_t end = aligned + mapped_bytes_;
  if (start + reserve > end) munmap(reinterpret_cast<void*>(end), start + reserve - end);
  words_ = reinterpret_cast<uint64_t*>(aligned);
}

bool IdentityFilter::DenseFor(uint64_t identities) const {
  // Each identity touches one word at random; with 8 identities per 4 KiB page on average,
  // a page is left untouched with probability e^-8 (0.03 %).
  return identities >= 8 * (mapped_bytes_ / kSmallPage);
}

void IdentityFilter::MakeResident() {
  // Both are hints: without them (an older kernel, THP off) the filter works the same and the
  // pages come in on first touch, as before.
  (void)madvise(words_, mapped_bytes_, MADV_HUGEPAGE);
#ifdef MADV_POPULATE_WRITE
  if (madvise(words_, mapped_bytes_, MADV_POPULATE_WRITE) == 0) return;
#endif
  // No other thread sees the filter yet: plain stores of the zero already there.
  for (uint64_t offset = 0; offset < mapped_bytes_; offset += kSmallPage) {
    words_[offset / sizeof(uint64_t)] = 0;
  }
}

std::unique_ptr<IdentityFilter> IdentityFilter::Doubled(const IdentityFilter& half) {
  std::unique_ptr<IdentityFilter> filter(new IdentityFilter());
  filter->words_count_ = 2 * half.words_count_;
  filter->capacity_ = 2 * half.capacity_;
  filter->doublings_ = half.doublings_ + 1;
  filter->Allocate();
  return filter;
}

void IdentityFilter::CopyFromHalf(const IdentityFilter& half) {
  if (words_count_ != 2 * half.words_count_) std::abort();  // a caller's bug, not input
  for (uint64_t i = 0; i < half.words_count_; ++i) {
    const uint64_t bits = std::atomic_ref<uint64_t>(half.words_[i]).load(std::memory_order_acquire);
    if (bits == 0) continue;
    std::atomic_ref<uint64_t>(words_[2 * i]).fetch_or(bits, std::memory_order_release);
    std::atomic_ref<uint64_t>(words_[2 * i + 1]).fetch_or(bits, std::memory_order_release);
  }
}

IdentityFilter::~IdentityFilter() {
  if (words_ != nullptr) munmap(words_, mapped_bytes_);
}

}  // namespace meterd::core
