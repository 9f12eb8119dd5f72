#include "daemon/core/identity_filter.h"

#include <algorithm>
#include <cstdlib>
#include <new>

namespace meterd::core {

IdentityFilter::IdentityFilter(uint64_t capacity_keys, uint64_t max_bytes) {
  capacity_ = std::max<uint64_t>(capacity_keys, 1);
  const uint64_t wanted = (capacity_ * kBitsPerKey + 63) / 64;
  words_count_ = std::max<uint64_t>(1, std::min(wanted, max_bytes / sizeof(uint64_t)));
  Allocate();
}

void IdentityFilter::Allocate() {
  static_assert(std::atomic_ref<uint64_t>::required_alignment <= alignof(std::max_align_t));
  void* memory = std::calloc(words_count_, sizeof(uint64_t));
  if (memory == nullptr) throw std::bad_alloc();
  words_ = static_cast<uint64_t*>(memory);
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

IdentityFilter::~IdentityFilter() { std::free(words_); }

}  // namespace meterd::core
