#include "tools/loadgen/latency_histogram.h"

#include <algorithm>
#include <bit>

namespace meterd::loadgen {

namespace {
constexpr int kMaxShift = 64 - 11;  // micros < 2^64
}

LatencyHistogram::LatencyHistogram()
    : counts_(kSubBuckets + static_cast<size_t>(kMaxShift) * kHalf, 0) {}

size_t LatencyHistogram::IndexOf(uint64_t micros) {
  if (micros < kSubBuckets) return static_cast<size_t>(micros);
  // Keep the top 11 bits: shift so the value lands in [1024, 2048).
  int shift = std::bit_width(micros) - kSubBucketBits;
  uint64_t top = micros >> shift;
  return static_cast<size_t>(kSubBuckets + static_cast<uint64_t>(shift - 1) * kHalf +
                             (top - kHalf));
}

uint64_t LatencyHistogram::UpperBoundMicros(size_t index) {
  if (index < kSubBuckets) return index;
  uint64_t rest = index - kSubBuckets;
  int shift = static_cast<int>(rest / kHalf) + 1;
  uint64_t top = rest % kHalf + kHalf;
  return ((top + 1) << shift) - 1;
}

void LatencyHistogram::Record(int64_t nanos) {
  if (nanos < 0) nanos = 0;
  ++counts_[IndexOf(static_cast<uint64_t>(nanos) / 1000)];
  ++count_;
  max_nanos_ = std::max(max_nanos_, nanos);
}

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  max_nanos_ = std::max(max_nanos_, other.max_nanos_);
}

int64_t LatencyHistogram::PercentileNanos(uint32_t ppm) const {
  if (count_ == 0) return 0;
  // Nearest rank: the smallest value with at least ceil(count × p) values at or below it.
  unsigned __int128 scaled = static_cast<unsigned __int128>(count_) * ppm;
  uint64_t rank = static_cast<uint64_t>((scaled + 999'999) / 1'000'000);
  rank = std::clamp<uint64_t>(rank, 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      int64_t upper = static_cast<int64_t>(UpperBoundMicros(i)) * 1000 + 999;
      return std::min(upper, max_nanos_);
    }
  }
  return max_nanos_;
}

}  // namespace meterd::loadgen
