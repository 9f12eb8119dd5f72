#include "storage/retention.h"

#include <utility>

namespace meterd::storage {
namespace {

constexpr std::string_view kCheckpointKey = "purge/events";

}  // namespace

Result<PurgeStep> PurgeExpiredEvents(WriteTxn& txn, uint32_t cutoff_day,
                                     std::string_view resume_key, const PurgeLimits& limits) {
  PurgeStep step;
  bool stopped_early = false;
  Status scanned = txn.ScanDelete(
      Db::kEvents, resume_key, ScanBound::None(),
      [&](std::string_view key, std::string_view value) {
        if (step.scanned >= limits.max_scanned || step.deleted >= limits.max_deletes) {
          step.resume_key.assign(key);
          stopped_early = true;
          return ScanAction::kStop;
        }
        ++step.scanned;
        // A value too short to hold an expiry is not ours to judge: keep it.
        if (value.size() >= kEventValueSize && GetU32BE(value.data()) < cutoff_day) {
          ++step.deleted;
          return ScanAction::kDelete;
        }
        return ScanAction::kKeep;
      });
  METERD_RETURN_IF_ERROR(scanned);
  step.finished = !stopped_early;
  if (step.finished) {
    Status st = txn.Delete(Db::kMeta, kCheckpointKey);
    if (!st.ok() && st.code() != StatusCode::kNotFound) return st;
  } else {
    std::string checkpoint(4, '\0');
    PutU32BE(cutoff_day, checkpoint.data());
    checkpoint += step.resume_key;
    METERD_RETURN_IF_ERROR(txn.Put(Db::kMeta, kCheckpointKey, checkpoint));
  }
  return step;
}

Result<PurgeCheckpoint> ReadPurgeCheckpoint(const TxnBase& txn) {
  std::string value;
  PurgeCheckpoint checkpoint;
  Status st = txn.Get(Db::kMeta, kCheckpointKey, &value);
  if (st.code() == StatusCode::kNotFound) return checkpoint;
  METERD_RETURN_IF_ERROR(st);
  if (value.size() < 4) return Status::Corruption("bad purge checkpoint");
  checkpoint.present = true;
  checkpoint.cutoff_day = GetU32BE(value.data());
  checkpoint.resume_key = value.substr(4);
  return checkpoint;
}

EventPurger::EventPurger(Env* env, Writer* writer, PurgeLimits limits)
    : env_(env), writer_(writer), limits_(limits) {}

EventPurger::~EventPurger() {
  std::unique_lock lock(mu_);
  closing_ = true;
  cv_.wait(lock, [&] { return !in_flight_; });
}

Status EventPurger::Start(uint32_t cutoff_day) {
  std::string resume;
  {
    Result<ReadTxn> txn = env_->BeginRead();
    if (!txn.ok()) return txn.status();
    Result<PurgeCheckpoint> checkpoint = ReadPurgeCheckpoint(*txn);
    if (!checkpoint.ok()) return checkpoint.status();
    if (checkpoint->present && checkpoint->cutoff_day == cutoff_day) {
      resume = std::move(checkpoint->resume_key);
    }
  }
  std::lock_guard lock(mu_);
  if (closing_) return Status::Unavailable("purger closing");
  if (progress_.running) return Status::Ok();
  progress_.running = true;
  progress_.stalled = false;
  progress_.cutoff_day = cutoff_day;
  resume_key_ = std::move(resume);
  return SubmitStepLocked();
}

Status EventPurger::Poke() {
  std::lock_guard lock(mu_);
  if (!progress_.running || in_flight_ || closing_) return Status::Ok();
  return SubmitStepLocked();
}

EventPurger::Progress EventPurger::progress() const {
  std::lock_guard lock(mu_);
  return progress_;
}

void EventPurger::WaitUntilIdle() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !in_flight_ && (!progress_.running || progress_.stalled); });
}

Status EventPurger::SubmitStepLocked() {
  step_cutoff_ = progress_.cutoff_day;
  step_resume_ = resume_key_;
  WriteJob job;
  job.apply = [this](WriteTxn& txn) -> Status {
    Result<PurgeStep> step = PurgeExpiredEvents(txn, step_cutoff_, step_resume_, limits_);
    if (!step.ok()) return step.status();
    step_result_ = std::move(*step);  // overwritten if the batch re-runs
    return Status::Ok();
  };
  job.done = [this](const CommitResult& result) { OnStepDone(result); };
  Status submitted = writer_->Submit(std::move(job));
  in_flight_ = submitted.ok();
  progress_.stalled = !submitted.ok();
  if (!submitted.ok()) {
    progress_.last_error = submitted;
    cv_.notify_all();
  }
  return submitted;
}

void EventPurger::OnStepDone(const CommitResult& result) {
  std::lock_guard lock(mu_);
  in_flight_ = false;
  if (!result.status.ok()) {
    progress_.stalled = true;
    progress_.last_error = result.status;
  } else {
    ++progress_.steps;
    progress_.scanned += step_result_.scanned;
    progress_.deleted += step_result_.deleted;
    if (step_result_.finished) {
      progress_.running = false;
      ++progress_.passes_completed;
      resume_key_.clear();
    } else {
      resume_key_ = std::move(step_result_.resume_key);
      // Chained from here, one step per writer batch: ingest jobs queued meanwhile share the
      // next transaction instead of waiting for the pass.
      if (!closing_) (void)SubmitStepLocked();
    }
  }
  cv_.notify_all();
}

}  // namespace meterd::storage
