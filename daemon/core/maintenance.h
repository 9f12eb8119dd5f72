// Background upkeep: purges dedupe identities past the retention horizon (domain §4.1) in small
// writer jobs, once shortly after start and then every interval. One thread; Stop() joins it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "rating/civil_time.h"
#include "storage/retention.h"

namespace meterd::core {

class Maintenance {
 public:
  // `now` is the daemon's clock; identities whose expiry day is before today are purged.
  Maintenance(storage::Env* env, storage::Writer* writer, std::function<rating::Timestamp()> now,
              std::chrono::milliseconds first_delay, std::chrono::milliseconds interval);
  ~Maintenance();
  void Start();
  void Stop();
  storage::EventPurger::Progress progress() const { return purger_.progress(); }

 private:
  void Run();

  storage::EventPurger purger_;
  std::function<rating::Timestamp()> now_;
  const std::chrono::milliseconds first_delay_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace meterd::core
