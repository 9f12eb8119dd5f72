// Acknowledgement latencies counted in integer buckets: exact to the microsecond below
// 2.048 ms and within 1/1024 (0.1%) above, over any range, in a fixed 440 KiB table that is
// allocated once. Percentiles are nearest-rank and never under-report (a bucket's upper bound,
// capped at the exact maximum). No floating point. A thread-compatible value: one per thread,
// merged at the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace meterd::loadgen {

class LatencyHistogram {
 public:
  LatencyHistogram();

  void Record(int64_t nanos);  // negative values count as 0
  void Merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  int64_t max_nanos() const { return max_nanos_; }
  // The nearest-rank percentile in nanoseconds (ppm: 500000 = p50, 999000 = p99.9); 0 when
  // empty. Resolution 1 µs, rounded up.
  int64_t PercentileNanos(uint32_t ppm) const;

 private:
  static constexpr int kSubBucketBits = 11;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;  // 2048
  static constexpr uint64_t kHalf = kSubBuckets / 2;
  static size_t IndexOf(uint64_t micros);
  static uint64_t UpperBoundMicros(size_t index);

  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  int64_t max_nanos_ = 0;
};

}  // namespace meterd::loadgen
