#include "daemon/core/maintenance.h"

#include "common/thread_name.h"
#include "daemon/lifecycle/log.h"

namespace meterd::core {

Maintenance::Maintenance(storage::Env* env, storage::Writer* writer,
                         std::function<rating::Timestamp()> now,
                         std::chrono::milliseconds first_delay, std::chrono::milliseconds interval)
    : purger_(env, writer), now_(std::move(now)), first_delay_(first_delay), interval_(interval) {}

Maintenance::~Maintenance() { Stop(); }

void Maintenance::Start() {
  thread_ = std::thread([this] {
    SetCurrentThreadName("meterd-maint");
    // The cause of a failure is process-wide (seccomp, a security module): daemon/main.cc
    // reports it once, from the parse threads.
    (void)MarkCurrentThreadBackground();
    Run();
  });
}

void Maintenance::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Maintenance::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  std::chrono::milliseconds wait = first_delay_;
  while (!cv_.wait_for(lock, wait, [&] { return stopping_; })) {
    wait = interval_;
    lock.unlock();
    uint32_t cutoff = static_cast<uint32_t>(rating::DateOf(now_()).days);
    Status st = purger_.Start(cutoff);
    if (st.ok()) st = purger_.Poke();
    if (!st.ok()) lifecycle::LogWarning("retention purge: " + st.ToString());
    lock.lock();
  }
}

}  // namespace meterd::core
