#include "daemon/core/identity_filter.h"

#include <algorithm>
#include <cstdlib>
#include <new>

namespace meterd::core {

IdentityFilter::IdentityFilter(uint64_t capacity_keys, uint64_t max_bytes) {
  capacity_ = std::max<uint64_t>(capacity_keys, 1);
  const uint64_t wanted = (capacity_ * kBitsPerKey + kBlockBytes * 8 - 1) / (kBlockBytes * 8);
  blocks_ = std::max<uint64_t>(1, std::min(wanted, max_bytes / kBlockBytes));
  void* memory = std::aligned_alloc(kBlockBytes, blocks_ * kBlockBytes);
  if (memory == nullptr) throw std::bad_alloc();
  words_ = static_cast<std::atomic<uint64_t>*>(memory);
  for (uint64_t i = 0; i < blocks_ * 8; ++i) new (&words_[i]) std::atomic<uint64_t>(0);
}

IdentityFilter::~IdentityFilter() { std::free(words_); }

}  // namespace meterd::core
