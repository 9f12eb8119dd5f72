#include "tools/loadgen/http_load.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <string>

#include "tests/tools/fake_daemon.h"
#include "tests/tools/test_support.h"
#include "tools/loadgen/load_report.h"
#include "tools/loadgen/reference_files.h"

namespace meterd::loadgen {
namespace {

using testing::FakeDaemon;
using testing::FakeDaemonOptions;
using testing::MustBuild;
using testing::SmallWorldOptions;
namespace json = boost::json;

constexpr int64_t kMs = 1'000'000;

LoadOptions OptionsFor(const FakeDaemon& daemon, uint64_t events) {
  LoadOptions o;
  o.endpoint = {"127.0.0.1", std::to_string(daemon.port())};
  o.token = "test-token";
  o.connections = 3;
  o.batch = 500;
  o.max_events = events;
  o.request_timeout_ms = 10'000;
  o.drain_timeout_ms = 5'000;
  return o;
}

class LoadTest : public ::testing::Test {
 protected:
  LoadTest() : world_(MustBuild(SmallWorldOptions())) {}

  LoadReport Run(const LoadOptions& o, FeedOptions feed_options = {}) {
    Result<FeedGenerator> feed = FeedGenerator::Create(world_, feed_options);
    EXPECT_TRUE(feed.ok());
    Result<LoadReport> r = RunLoad(o, &*feed);
    EXPECT_TRUE(r.ok()) << r.status().message();
    counters_ = feed->counters();
    return r.ok() ? std::move(*r) : LoadReport{};
  }

  World world_;
  FeedCounters counters_;
};

TEST(HttpUrl, AcceptsHostAndPortAndRefusesTheRest) {
  auto e = ParseHttpUrl("http://127.0.0.1:8787");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, "8787");
  e = ParseHttpUrl("http://localhost/");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->port, "80");
  e = ParseHttpUrl("http://[::1]:9000");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->port, "9000");
  for (const char* bad : {"https://x:1", "127.0.0.1:8787", "http://:80", "http://h:0",
                          "http://h:70000", "http://h:80/v1"}) {
    EXPECT_FALSE(ParseHttpUrl(bad).ok()) << bad;
  }
}

TEST_F(LoadTest, CountsExactlyWhatTheDaemonAcknowledges) {
  FakeDaemon daemon;
  FeedOptions feed;
  feed.duplicate_ppm = 20'000;
  LoadReport r = Run(OptionsFor(daemon, 5'234), feed);
  auto seen = daemon.state();
  EXPECT_TRUE(r.fatal.empty()) << r.fatal;
  EXPECT_EQ(r.events_sent, 5'234u);
  EXPECT_EQ(r.batches_sent, 11u);  // 10 × 500 + 234
  EXPECT_EQ(r.events_acknowledged, 5'234u);
  EXPECT_EQ(r.batches_acknowledged, 11u);
  EXPECT_EQ(seen.usage_lines, 5'234u);
  EXPECT_EQ(seen.bad_lines, 0u) << (seen.problems.empty() ? "" : seen.problems[0]);
  EXPECT_EQ(r.accepted, seen.accepted);
  EXPECT_EQ(r.duplicates, seen.duplicates);
  EXPECT_EQ(r.accepted + r.duplicates, 5'234u);
  EXPECT_GT(r.duplicates, 0u);
  EXPECT_EQ(r.duplicates, counters_.duplicates) << "the fake daemon dedupes like meterd";
  EXPECT_EQ(r.rejected, 0u);
  EXPECT_EQ(r.http_errors, 0u);
  EXPECT_EQ(r.unacknowledged_events, 0u);
  EXPECT_EQ(r.latency.count(), 11u);
  EXPECT_GT(r.elapsed_ns, 0);
  EXPECT_LE(seen.connections, 3u) << "keep-alive: one connection each";
}

TEST_F(LoadTest, RetriesThrottledBatchesWithTheSameBodyAndNeverDropsThem) {
  FakeDaemonOptions options;
  options.throttle_every = 3;
  FakeDaemon daemon(options);
  LoadOptions o = OptionsFor(daemon, 6'000);
  o.connections = 1;  // the fake checks a retry on the connection that was refused
  LoadReport r = Run(o);
  auto seen = daemon.state();
  EXPECT_GT(seen.throttled, 0u);
  EXPECT_EQ(r.retries_429, seen.throttled);
  EXPECT_EQ(seen.retried_with_same_body, seen.throttled);
  EXPECT_EQ(r.events_acknowledged, 6'000u);
  EXPECT_EQ(seen.accepted, 6'000u) << "every event arrived exactly once";
  EXPECT_EQ(r.unacknowledged_events, 0u);
  EXPECT_EQ(r.http_errors, 0u);
  EXPECT_EQ(r.latency.count(), 12u);
}

TEST_F(LoadTest, RetriesUnavailableAnswersToo) {
  FakeDaemonOptions options;
  options.throttle_every = 2;
  options.throttle_status = 503;
  FakeDaemon daemon(options);
  LoadReport r = Run(OptionsFor(daemon, 2'000));
  EXPECT_EQ(r.retries_503, daemon.state().throttled);
  EXPECT_GT(r.retries_503, 0u);
  EXPECT_EQ(r.retries_429, 0u);
  EXPECT_EQ(daemon.state().accepted, 2'000u);
  EXPECT_EQ(r.unacknowledged_events, 0u);
}

TEST_F(LoadTest, LatencyIncludesTheDaemonsTimeToAnswer) {
  FakeDaemonOptions options;
  options.delay_ms = 30;
  FakeDaemon daemon(options);
  LoadOptions o = OptionsFor(daemon, 2'000);
  o.batch = 100;
  LoadReport r = Run(o);
  ASSERT_EQ(r.latency.count(), 20u);
  int64_t p50 = r.latency.PercentileNanos(500'000);
  int64_t p99 = r.latency.PercentileNanos(990'000);
  int64_t p999 = r.latency.PercentileNanos(999'000);
  EXPECT_GE(p50, 30 * kMs);
  EXPECT_LE(p50, p99);
  EXPECT_LE(p99, p999);
  EXPECT_LE(p999, r.latency.max_nanos());
  EXPECT_LT(r.latency.max_nanos(), 5'000 * kMs);
}

TEST_F(LoadTest, HoldsTheTargetRate) {
  FakeDaemon daemon;
  LoadOptions o = OptionsFor(daemon, 1'000);
  o.rate = 2'000;
  o.batch = 100;
  LoadReport r = Run(o);
  EXPECT_EQ(r.events_acknowledged, 1'000u);
  // Ten batches of 100 at 2000/s: the last may leave 450 ms after the first.
  EXPECT_GE(r.elapsed_ns, 440 * kMs);
  EXPECT_LT(r.elapsed_ns, 3'000 * kMs);
}

TEST_F(LoadTest, SendsSmallerBatchesWhenTheRateIsBelowTheBatchSize) {
  FakeDaemon daemon;
  LoadOptions o = OptionsFor(daemon, 60);
  o.rate = 100;
  o.batch = 1'000;
  LoadReport r = Run(o);
  EXPECT_EQ(r.batches_sent, 1u);  // 60 events fit one batch of at most 100 (= one second)
  o.max_events = 250;
  LoadReport r2 = Run(o);
  EXPECT_EQ(r2.batches_sent, 3u);
}

TEST_F(LoadTest, StopsIssuingBatchesWhenTheDurationEnds) {
  FakeDaemon daemon;
  LoadOptions o = OptionsFor(daemon, 0);
  o.rate = 1'000;
  o.batch = 100;
  o.duration_ms = 1'000;
  LoadReport r = Run(o);
  EXPECT_GE(r.events_sent, 900u);
  EXPECT_LE(r.events_sent, 1'100u);
  EXPECT_EQ(r.events_acknowledged, r.events_sent);
  EXPECT_LT(r.elapsed_ns, 2'000 * kMs);
}

TEST_F(LoadTest, ReconnectsWhenTheDaemonClosesEachConnection) {
  FakeDaemonOptions options;
  options.close_after_each = true;
  FakeDaemon daemon(options);
  LoadReport r = Run(OptionsFor(daemon, 3'000));
  EXPECT_EQ(r.events_acknowledged, 3'000u);
  EXPECT_EQ(daemon.state().accepted, 3'000u);
  EXPECT_EQ(daemon.state().connections, 6u);
  EXPECT_EQ(r.transport_errors, 0u);
}

TEST_F(LoadTest, AbortsOnAWrongTokenWithoutRetrying) {
  FakeDaemonOptions options;
  options.token = "another";
  FakeDaemon daemon(options);
  LoadReport r = Run(OptionsFor(daemon, 5'000));
  EXPECT_FALSE(r.fatal.empty());
  EXPECT_NE(r.fatal.find("401"), std::string::npos) << r.fatal;
  EXPECT_EQ(r.events_acknowledged, 0u);
  EXPECT_GE(r.http_errors, 1u);
  EXPECT_LE(r.http_errors, 3u);  // one per connection at most
  EXPECT_EQ(r.http_errors_by_class[4], r.http_errors);
  EXPECT_EQ(r.unacknowledged_events, r.events_sent);
}

TEST_F(LoadTest, GivesUpWhenNothingListens) {
  uint16_t port;
  {
    FakeDaemon gone;
    port = gone.port();
  }
  LoadOptions o;
  o.endpoint = {"127.0.0.1", std::to_string(port)};
  o.token = "t";
  o.connections = 1;
  o.max_events = 100;
  LoadReport r = Run(o);
  EXPECT_NE(r.fatal.find("cannot reach"), std::string::npos) << r.fatal;
  EXPECT_EQ(r.events_acknowledged, 0u);
  EXPECT_EQ(r.transport_errors, 3u);
}

TEST_F(LoadTest, ReportsRenderAsTextAndAsOneJsonObject) {
  FakeDaemonOptions options;
  options.throttle_every = 4;
  FakeDaemon daemon(options);
  FeedOptions feed;
  feed.duplicate_ppm = 10'000;
  LoadReport r = Run(OptionsFor(daemon, 4'000), feed);
  std::string text = FormatLoadReportText(r, counters_);
  EXPECT_NE(text.find("acknowledged   4000 events"), std::string::npos) << text;
  EXPECT_NE(text.find("ack latency    p50 "), std::string::npos) << text;
  json::value v = json::parse(FormatLoadReportJson(r, counters_));
  const json::object& o = v.as_object();
  EXPECT_EQ(o.at("events_acknowledged").as_int64(), 4000);
  EXPECT_EQ(o.at("accepted").as_int64() + o.at("duplicates").as_int64(), 4000);
  EXPECT_EQ(o.at("retries_429").as_int64(), static_cast<int64_t>(r.retries_429));
  EXPECT_GT(o.at("retries_429").as_int64(), 0);
  const json::object& latency = o.at("latency_us").as_object();
  EXPECT_EQ(latency.at("count").as_int64(), 8);
  EXPECT_LE(latency.at("p50").as_int64(), latency.at("p99").as_int64());
  EXPECT_LE(latency.at("p999").as_int64(), latency.at("max").as_int64());
  EXPECT_TRUE(o.at("fatal").is_null());
  EXPECT_EQ(PerSecond(1'000, 500 * kMs), 2'000u);
}

TEST(LoadReport, PrintsLatenciesInMillisecondsAndRatesAsWholeEventsPerSecond) {
  LoadReport r;
  r.connections = 2;
  r.events_sent = r.events_acknowledged = 3'000;
  r.batches_sent = r.batches_acknowledged = 3;
  r.accepted = 2'990;
  r.duplicates = 10;
  r.elapsed_ns = 1'500 * kMs;
  r.latency.Record(8'840'000);    // 8.840 ms
  r.latency.Record(12'000'000);   // 12.000 ms
  r.latency.Record(120'500'000);  // 120.5 ms (within 0.1% above 2.048 ms)
  FeedCounters feed;
  feed.lines = 3'000;
  feed.duplicates = 10;
  std::string text = FormatLoadReportText(r, feed);
  EXPECT_NE(text.find("2000 events/s"), std::string::npos) << text;
  // 12 ms falls in an 8 µs wide bucket (12000..12007 µs): reported at its upper bound.
  EXPECT_NE(text.find("p50 12.008 ms"), std::string::npos) << text;
  EXPECT_NE(text.find("max 120.500 ms"), std::string::npos) << text;
  EXPECT_NE(text.find("duplicates 10 (0.33%)"), std::string::npos) << text;
  json::value v = json::parse(FormatLoadReportJson(r, feed));
  EXPECT_EQ(v.at("acknowledged_per_s").as_int64(), 2'000);
  EXPECT_EQ(v.at("latency_us").at("max").as_int64(), 120'500);
  EXPECT_EQ(v.at("elapsed_us").as_int64(), 1'500'000);
}

TEST(Setup, PostsReferencePriceSheetFxAndBudgetsAsTheContractSays) {
  FakeDaemon daemon;
  World w = MustBuild(SmallWorldOptions());
  ReferenceFiles files = RenderReferenceFiles(w);
  Result<SetupReport> r =
      RunSetup({"127.0.0.1", std::to_string(daemon.port())}, "test-token", files);
  ASSERT_TRUE(r.ok()) << r.status().message();
  auto requests = daemon.state().other_requests;
  json::object fx = json::parse(files.fx_json).as_object();
  json::object budgets = json::parse(files.budgets_json).as_object();
  ASSERT_EQ(requests.size(), 2 + fx.size() + budgets.size());
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/v1/reference");
  EXPECT_EQ(requests[0].content_type, "application/x-ndjson");
  EXPECT_EQ(requests[0].body, files.reference_ndjson);
  EXPECT_EQ(requests[1].method, "POST");
  EXPECT_EQ(requests[1].target, "/v1/pricesheet");
  EXPECT_EQ(requests[1].content_type, "text/csv");
  EXPECT_EQ(requests[1].body, files.pricesheet_csv);
  size_t i = 2;
  for (const auto& month : fx) {
    EXPECT_EQ(requests[i].method, "PUT");
    EXPECT_EQ(requests[i].target, "/v1/fx/" + std::string(month.key()));
    json::value body = json::parse(requests[i].body);
    EXPECT_EQ(body.as_object().size(), 1u);
    EXPECT_EQ(body.at("rates"), month.value());  // rates stay strings, byte for byte
    ++i;
  }
  for (const auto& budget : budgets) {
    EXPECT_EQ(requests[i].method, "PUT");
    EXPECT_EQ(requests[i].target, "/v1/customers/" + std::string(budget.key()) + "/budget");
    EXPECT_EQ(requests[i].content_type, "application/json");
    EXPECT_EQ(json::parse(requests[i].body), budget.value());
    ++i;
  }
  EXPECT_EQ(r->reference_upserted,
            static_cast<uint64_t>(
                std::count(files.reference_ndjson.begin(), files.reference_ndjson.end(), '\n')));
  EXPECT_EQ(r->fx_months, fx.size());
  EXPECT_EQ(r->budgets, budgets.size());
  EXPECT_TRUE(r->warnings.empty());
}

TEST(Setup, FailsWithTheDaemonsAnswerOnARefusal) {
  FakeDaemonOptions options;
  options.token = "another";
  FakeDaemon daemon(options);
  World w = MustBuild(SmallWorldOptions());
  Result<SetupReport> r =
      RunSetup({"127.0.0.1", std::to_string(daemon.port())}, "test-token", RenderReferenceFiles(w));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("401"), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace meterd::loadgen
