#include "daemon/metrics/metrics.h"

#include <gtest/gtest.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <time.h>

#include <string>

#include "daemon/http/router.h"
#include "daemon/http/server.h"
#include "daemon/metrics/process_collector.h"
#include "tests/daemon/http/http_test_client.h"

namespace meterd::metrics {
namespace {

// The value of the first sample line starting with `prefix` ("meterd_x{...} "), or -1.
double SampleValue(const std::string& text, const std::string& prefix) {
  size_t at = 0;
  while ((at = text.find(prefix, at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') {
      const size_t end = text.find('\n', at);
      return std::stod(text.substr(at + prefix.size(), end - at - prefix.size()));
    }
    at += prefix.size();
  }
  return -1;
}

TEST(Metrics, ExposesBuildInfoWithTheVersion) {
  Metrics m("1.2.3");
  const std::string text = m.Scrape();
  EXPECT_NE(text.find("# TYPE meterd_build_info gauge"), std::string::npos);
  EXPECT_NE(text.find(R"(meterd_build_info{version="1.2.3"} 1)"), std::string::npos) << text;
}

TEST(Metrics, ExposesProcessMetricsReadFromProc) {
  Metrics m("x");
  const std::string text = m.Scrape();
  EXPECT_GT(SampleValue(text, "meterd_process_resident_memory_bytes "), 1e5);
  EXPECT_GT(SampleValue(text, "meterd_process_virtual_memory_bytes "), 1e5);
  EXPECT_GE(SampleValue(text, "meterd_process_open_fds "), 3);
  EXPECT_GT(SampleValue(text, "meterd_process_max_fds "), 0);
  EXPECT_GE(SampleValue(text, "meterd_process_cpu_seconds_total "), 0);
  EXPECT_NE(text.find("# TYPE meterd_process_cpu_seconds_total counter"), std::string::npos);
  const double start = SampleValue(text, "meterd_process_start_time_seconds ");
  const double now = static_cast<double>(::time(nullptr));
  EXPECT_LE(start, now + 1);
  EXPECT_GT(start, now - 86'400) << "this test process started within the last day";
}

TEST(Metrics, ShowsFamiliesOtherModulesRegisterAndCollectables) {
  Metrics m("x");
  auto& family = prometheus::BuildCounter()
                     .Name("meterd_ingest_events_total")
                     .Help("Usage events by outcome")
                     .Register(m.registry());
  prometheus::Counter& accepted = family.Add({{"outcome", "accepted"}});
  accepted.Increment(41);
  accepted.Increment();

  class Fixed : public prometheus::Collectable {
   public:
    std::vector<prometheus::MetricFamily> Collect() const override {
      prometheus::MetricFamily f;
      f.name = "meterd_storage_map_used_bytes";
      f.help = "Bytes of the LMDB map in use";
      f.type = prometheus::MetricType::Gauge;
      prometheus::ClientMetric c;
      c.gauge.value = 4096;
      f.metric.push_back(c);
      return {f};
    }
  };
  m.AddCollectable(std::make_shared<Fixed>());
  const std::string text = m.Scrape();
  EXPECT_NE(text.find(R"(meterd_ingest_events_total{outcome="accepted"} 42)"), std::string::npos);
  EXPECT_NE(text.find("meterd_storage_map_used_bytes 4096"), std::string::npos);
}

TEST(ProcessStats, ParsesStatLinesWhoseCommandHasSpacesAndParentheses) {
  // Fields after the command: state ppid pgrp session tty tpgid flags minflt cminflt majflt
  // cmajflt utime(14) stime(15) cutime cstime priority nice threads itreal starttime(22)
  // vsize(23) rss(24) ...
  const std::string stat =
      "1234 (we ird) (name)) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 150 0 0 20 0 3 0 "
      "500 104857600 2048 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  auto s = ParseProcStat(stat, /*ticks_per_second=*/100, /*page_size=*/4096,
                         /*boot_time_seconds=*/1'700'000'000);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_DOUBLE_EQ(s->cpu_seconds, 4.0);
  EXPECT_EQ(s->virtual_bytes, 104'857'600);
  EXPECT_EQ(s->resident_bytes, 2048 * 4096);
  EXPECT_DOUBLE_EQ(s->start_time_seconds, 1'700'000'005.0);
}

TEST(ProcessStats, RejectsTruncatedStatLines) {
  EXPECT_FALSE(ParseProcStat("1234 (x) S 1 2 3", 100, 4096, 0).ok());
  EXPECT_FALSE(ParseProcStat("no parenthesis", 100, 4096, 0).ok());
}

TEST(ProcessStats, ParsesAnonymousAndFileResidentMemoryFromStatus) {
  const std::string status =
      "Name:\tmeterd\nVmRSS:\t  12000 kB\nRssAnon:\t    3000 kB\nRssFile:\t    8900 kB\n"
      "RssShmem:\t     100 kB\n";
  int64_t anon = -1, file = -1;
  ASSERT_TRUE(ParseProcStatusRss(status, &anon, &file));
  EXPECT_EQ(anon, 3000 * 1024);
  EXPECT_EQ(file, 8900 * 1024);
  EXPECT_FALSE(ParseProcStatusRss("Name:\tx\nRssFile:\t1 kB\n", &anon, &file));
  EXPECT_FALSE(ParseProcStatusRss("RssAnon:\t kB\nRssFile:\t1 kB\n", &anon, &file));
}

TEST(ProcessStats, HeapInUseFollowsAllocations) {
  const HeapStats before = ReadHeapStats();
  auto block = std::make_unique<char[]>(8 << 20);
  block[0] = 1;
  const HeapStats during = ReadHeapStats();
  EXPECT_GE(during.in_use_bytes - before.in_use_bytes, 8 << 20);
  EXPECT_GE(during.held_bytes, during.in_use_bytes);
  block.reset();
  EXPECT_LT(ReadHeapStats().in_use_bytes, during.in_use_bytes);
}

TEST(MetricsRoute, ServesTheTextExpositionOverHttp) {
  Metrics m("9.9.9");
  http::Router router;
  ASSERT_TRUE(AddMetricsRoute(router, m).ok());
  config::ServerConfig cfg;
  cfg.listen_port = 0;
  cfg.io_threads = 1;
  http::Server server(cfg, std::move(router), &m.registry());
  ASSERT_TRUE(server.Start().ok());
  {
    http::testing::TestConnection c(server.port());
    auto r = c.Request(boost::beast::http::verb::get, "/metrics");
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_EQ(r[boost::beast::http::field::content_type], kExpositionContentType);
    EXPECT_NE(r.body().find(R"(meterd_build_info{version="9.9.9"} 1)"), std::string::npos);
    EXPECT_NE(r.body().find("meterd_http_connections_active 1"), std::string::npos);
    EXPECT_NE(r.body().find("meterd_process_open_fds"), std::string::npos);
    // The scrape itself is counted by route pattern once its write completes.
    std::string again;
    for (int i = 0; i < 100 && again.find(R"(route="/metrics"} 1)") == std::string::npos; ++i) {
      again = c.Request(boost::beast::http::verb::get, "/metrics").body();
    }
    EXPECT_NE(again.find(R"(meterd_http_requests_total{code="200",method="GET",route="/metrics"})"),
              std::string::npos);
  }
  server.Shutdown(std::chrono::milliseconds(0));
}

}  // namespace
}  // namespace meterd::metrics
