#include "daemon/core/identity_filter.h"

#include <algorithm>
#include <cstdlib>
#include <new>

namespace meterd::core {

IdentityFilter::IdentityFilter(uint64_t capacity_keys, uint64_t max_bytes) {
  capacity_ = std::max<uint64_t>(capacity_keys, 1);
  const uint64_t wanted = (capacity_ * kBitsPerKey + 63) / 64;
  words_count_ = std::max<uint64_t>(1, std::min(wanted, max_bytes / sizeof(uint64_t)));
  // aligned_alloc wants a multiple of the alignment.
  const size_t bytes = (words_count_ * sizeof(uint64_t) + 63) / 64 * 64;
  void* memory = std::aligned_alloc(64, bytes);
  if (memory == nullptr) throw std::bad_alloc();
  words_ = static_cast<std::atomic<uint64_t>*>(memory);
  for (uint64_t i = 0; i < words_count_; ++i) new (&words_[i]) std::atomic<uint64_t>(0);
}

IdentityFilter::~IdentityFilter() { std::free(words_); }

}  // namespace meterd::core
