#include "daemon/core/usage_intake.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "storage/env.h"
#include "storage/writer.h"

namespace meterd::core {
namespace {

constexpr char kNow[] = "2026-11-20T12:00:00Z";

class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "meterd-intake-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) abort();
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// An event of an entitlement no reference knows: the engine keeps it as unknown usage, which is
// all these tests need (the intake does not care how events are rated).
std::string Event(int i) {
  return R"({"id":"ev-)" + std::to_string(i) +
         R"(","entitlement_id":"e1","meter_id":"m1","resource_uri":"/subscriptions/e1/vm",)"
         R"("quantity":"1","timestamp":"2026-11-20T10:00:00Z"})"
         "\n";
}

// What a source sees: the outcome, copied out of the callback (the batch is only valid there).
struct Seen {
  UsageOutcome::Kind kind = UsageOutcome::Kind::kCommitted;
  Status status;
  uint64_t accepted = 0, duplicates = 0, rejected = 0;
  std::vector<uint32_t> rejected_lines;
  bool on_calling_thread = false;
};

// Holds parse tasks until the test runs them: the parse stage is then "busy" for as long as the
// test wants, without threads or sleeps.
class HeldExecutor {
 public:
  std::function<void(std::function<void()>)> AsExecutor() {
    return [this](std::function<void()> task) { tasks_.push_back(std::move(task)); };
  }
  size_t size() const { return tasks_.size(); }
  void RunAll() {
    std::vector<std::function<void()>> tasks;
    tasks.swap(tasks_);
    for (auto& t : tasks) t();
  }

 private:
  std::vector<std::function<void()>> tasks_;
};

class UsageIntakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::EnvOptions env_options;
    env_options.sync = storage::SyncMode::kNone;
    env_options.map_size = uint64_t{16} << 20;
    env_options.max_map_size = uint64_t{256} << 20;
    env_options.map_growth_step = uint64_t{16} << 20;
    auto env = storage::Env::Open(dir_.path(), env_options);
    ASSERT_TRUE(env.ok()) << env.status().ToString();
    env_ = std::move(*env);
    auto writer = storage::Writer::Start(env_.get(), storage::WriterOptions{});
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    writer_ = std::move(*writer);
    rating::Timestamp now;
    ASSERT_TRUE(rating::ParseRfc3339(kNow, &now));
    EngineOptions options;
    options.now = [now] { return now; };
    engine_ = std::make_unique<Engine>(env_.get(), writer_.get(), options);
    ASSERT_TRUE(engine_->Start().ok());
  }

  void TearDown() override {
    if (engine_) engine_->Stop();
    if (writer_) writer_->Stop();
  }

  // Submits and returns a future of what `done` reported.
  std::future<Seen> Submit(UsageIntake& intake, std::string body) {
    auto promise = std::make_shared<std::promise<Seen>>();
    std::future<Seen> seen = promise->get_future();
    const std::thread::id caller = std::this_thread::get_id();
    intake.Submit(std::move(body), [promise, caller](const UsageOutcome& o) {
      Seen s;
      s.kind = o.kind;
      s.status = o.status;
      s.accepted = o.accepted;
      s.duplicates = o.duplicates;
      if (o.batch != nullptr) {
        s.rejected = o.batch->rejected_count();
        for (const auto& r : o.batch->rejections()) s.rejected_lines.push_back(r.line);
      }
      s.on_calling_thread = std::this_thread::get_id() == caller;
      promise->set_value(std::move(s));
    });
    return seen;
  }

  static Seen Wait(std::future<Seen>& f) {
    EXPECT_EQ(f.wait_for(std::chrono::seconds(30)), std::future_status::ready);
    return f.get();
  }

  TempDir dir_;
  std::unique_ptr<storage::Env> env_;
  std::unique_ptr<storage::Writer> writer_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(UsageIntakeTest, CommitsABodyAndReportsItsRejectionsThenItsDuplicates) {
  UsageIntake intake(engine_.get(), UsageIntakeOptions{});
  const std::string body = Event(1) + "{bad\n" + Event(2);
  auto first = Submit(intake, body);
  Seen s = Wait(first);
  EXPECT_EQ(s.kind, UsageOutcome::Kind::kCommitted);
  EXPECT_TRUE(s.status.ok());
  EXPECT_EQ(s.accepted, 2u);
  EXPECT_EQ(s.duplicates, 0u);
  EXPECT_EQ(s.rejected, 1u);
  EXPECT_EQ(s.rejected_lines, std::vector<uint32_t>{2});
  EXPECT_EQ(engine_->counters().events_rejected.load(), 1u);

  auto again = Submit(intake, body);
  s = Wait(again);
  EXPECT_EQ(s.kind, UsageOutcome::Kind::kCommitted);
  EXPECT_EQ(s.accepted, 0u);
  EXPECT_EQ(s.duplicates, 2u);
  EXPECT_EQ(intake.parsing(), 0u);
}

TEST_F(UsageIntakeTest, RefusesABodyBeyondTheParseQueueAtOnceAndAdmitsAgainWhenItDrains) {
  HeldExecutor parse_stage;
  UsageIntakeOptions options;
  options.parse_queue_capacity = 2;
  options.parse_executor = parse_stage.AsExecutor();
  UsageIntake intake(engine_.get(), std::move(options));

  auto a = Submit(intake, Event(10));
  auto b = Submit(intake, Event(11));
  EXPECT_EQ(intake.parsing(), 2u);
  auto refused = Submit(intake, Event(12));
  ASSERT_EQ(refused.wait_for(std::chrono::seconds(0)), std::future_status::ready)
      << "a refusal must not wait for the parse stage";
  Seen r = refused.get();
  EXPECT_EQ(r.kind, UsageOutcome::Kind::kRetryLater);
  EXPECT_EQ(r.status.code(), StatusCode::kResourceExhausted);  // the HTTP source answers 429
  EXPECT_TRUE(r.on_calling_thread);
  EXPECT_EQ(engine_->counters().usage_rejected_busy.load(), 1u);
  EXPECT_EQ(parse_stage.size(), 2u) << "the refused body never reached the parse stage";

  parse_stage.RunAll();
  EXPECT_EQ(Wait(a).accepted, 1u);
  EXPECT_EQ(Wait(b).accepted, 1u);
  EXPECT_EQ(intake.parsing(), 0u);

  auto resent = Submit(intake, Event(12));
  parse_stage.RunAll();
  Seen s = Wait(resent);
  EXPECT_EQ(s.kind, UsageOutcome::Kind::kCommitted);
  EXPECT_EQ(s.accepted, 1u);
  EXPECT_EQ(engine_->counters().usage_rejected_busy.load(), 1u);
}

TEST_F(UsageIntakeTest, TooManyEventsStoresNothingAndFreesItsSlot) {
  UsageIntakeOptions options;
  options.parse_queue_capacity = 1;
  options.max_events_per_request = 2;
  UsageIntake intake(engine_.get(), std::move(options));
  auto over = Submit(intake, Event(20) + Event(21) + Event(22));
  Seen s = Wait(over);
  EXPECT_EQ(s.kind, UsageOutcome::Kind::kTooManyEvents);
  EXPECT_EQ(s.status.code(), StatusCode::kResourceExhausted);
  EXPECT_FALSE(s.status.message().empty());
  EXPECT_EQ(engine_->counters().usage_too_many_events.load(), 1u);
  EXPECT_EQ(engine_->counters().usage_rejected_busy.load(), 0u);
  EXPECT_EQ(intake.parsing(), 0u);

  auto fits = Submit(intake, Event(20) + Event(21));
  s = Wait(fits);
  EXPECT_EQ(s.kind, UsageOutcome::Kind::kCommitted);
  EXPECT_EQ(s.accepted, 2u) << "nothing of the refused body was stored";
}

TEST_F(UsageIntakeTest, ParsesABodyWithoutSpareCapacity) {
  UsageIntake intake(engine_.get(), UsageIntakeOptions{});
  std::string body = Event(30);
  body.pop_back();  // no final newline: the parser reads to the very end
  body.shrink_to_fit();
  auto f = Submit(intake, std::move(body));
  Seen s = Wait(f);
  EXPECT_EQ(s.kind, UsageOutcome::Kind::kCommitted);
  EXPECT_EQ(s.accepted, 1u);
}

}  // namespace
}  // namespace meterd::core
