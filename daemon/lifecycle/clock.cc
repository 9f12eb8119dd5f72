#include "daemon/lifecycle/clock.h"

#include <time.h>

namespace meterd::lifecycle {

rating::Timestamp SystemClock::Now() const {
  struct timespec ts {};
  clock_gettime(CLOCK_REALTIME, &ts);
  return rating::Timestamp{int64_t{ts.tv_sec} * rating::kNanosPerSecond + ts.tv_nsec};
}

std::unique_ptr<Clock> MakeClock(const std::optional<rating::Timestamp>& fixed) {
  if (fixed) return std::make_unique<FixedClock>(*fixed);
  return std::make_unique<SystemClock>();
}

}  // namespace meterd::lifecycle
