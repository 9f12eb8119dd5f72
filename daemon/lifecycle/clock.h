// The daemon's notion of "now", injected wherever time matters (current month, forecasts,
// too_old, as_of): the system clock in production, a frozen instant under --fixed-clock
// (tests and replays). Implementations are immutable and thread-safe; Now() makes no syscall
// (CLOCK_REALTIME is served by the vDSO).
#pragma once

#include <memory>
#include <optional>

#include "rating/civil_time.h"

namespace meterd::lifecycle {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual rating::Timestamp Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  rating::Timestamp Now() const override;
};

class FixedClock final : public Clock {
 public:
  explicit FixedClock(rating::Timestamp now) : now_(now) {}
  rating::Timestamp Now() const override { return now_; }

 private:
  const rating::Timestamp now_;
};

// The clock the configuration asks for: fixed when `fixed` is set, else the system clock.
std::unique_ptr<Clock> MakeClock(const std::optional<rating::Timestamp>& fixed);

}  // namespace meterd::lifecycle
