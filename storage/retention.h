// Retention of dedupe identities: deletes `events` records whose expiry day (first 4 value
// bytes) is before a cutoff, in small steps that run as ordinary writer jobs between ingest
// batches, so ingest never waits behind a long purge. Progress is persisted in `meta`, so a
// restarted process resumes its pass. EventPurger is thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

#include "common/status.h"
#include "storage/env.h"
#include "storage/writer.h"

namespace meterd::storage {

struct PurgeLimits {
  uint32_t max_deletes = 5000;   // per step (one writer job)
  uint32_t max_scanned = 50000;  // per step, so a step stays short when little is expired
};

struct PurgeStep {
  uint64_t scanned = 0;
  uint64_t deleted = 0;
  bool finished = false;   // reached the end of `events`
  std::string resume_key;  // where the next step starts (when !finished)
};

// One step inside txn: visits `events` from resume_key (the start when empty), deletes records
// with expiry day < cutoff_day, and records the progress in `meta` (cleared when finished).
Result<PurgeStep> PurgeExpiredEvents(WriteTxn& txn, uint32_t cutoff_day,
                                     std::string_view resume_key, const PurgeLimits& limits);

// The persisted progress of an unfinished pass, if any.
struct PurgeCheckpoint {
  bool present = false;
  uint32_t cutoff_day = 0;
  std::string resume_key;
};
Result<PurgeCheckpoint> ReadPurgeCheckpoint(const TxnBase& txn);

class EventPurger {
 public:
  struct Progress {
    bool running = false;
    bool stalled = false;  // last step could not be queued or failed; Poke() retries
    uint32_t cutoff_day = 0;
    uint64_t scanned = 0;  // totals over this purger's life
    uint64_t deleted = 0;
    uint64_t steps = 0;
    uint64_t passes_completed = 0;
    Status last_error;
  };

  // REQUIRES: env and writer outlive the purger.
  EventPurger(Env* env, Writer* writer, PurgeLimits limits = {});
  // Waits for the step in flight, if any.
  ~EventPurger();
  EventPurger(const EventPurger&) = delete;
  EventPurger& operator=(const EventPurger&) = delete;

  // Starts a pass deleting identities with expiry day < cutoff_day; a pass with the same cutoff
  // that an earlier process left unfinished resumes where it stopped. While a pass runs this is
  // a no-op (OK): call it again later (e.g. daily) for a newer cutoff.
  Status Start(uint32_t cutoff_day);
  // Re-queues a stalled pass (queue was full, or a step failed, e.g. on a full map).
  Status Poke();
  Progress progress() const;
  // Blocks until no pass is running or the pass stalls. For tools and tests.
  void WaitUntilIdle();

 private:
  // REQUIRES: mu_ held, a pass running, no step in flight.
  Status SubmitStepLocked();
  void OnStepDone(const CommitResult& result);

  Env* const env_;
  Writer* const writer_;
  const PurgeLimits limits_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  Progress progress_;
  bool in_flight_ = false;
  bool closing_ = false;
  std::string resume_key_;  // guarded by mu_; copied into each step
  // Written by a step's apply, read by its done; both run on the writer thread.
  PurgeStep step_result_;
  uint32_t step_cutoff_ = 0;
  std::string step_resume_;
};

}  // namespace meterd::storage
