// The HTTP side of meter-loadgen, speaking only the public contract (shared/spec/api.md):
// RunSetup posts reference data, the price sheet, FX months and budgets; RunLoad streams the
// feed as NDJSON batches to POST /v1/usage over N keep-alive connections at a target rate,
// retries 429/503 after Retry-After with the same body (never dropping a batch), and measures
// acknowledgement latency. Both run a private single-threaded Asio loop on the calling thread
// and return when done; they are not reentrant on one FeedGenerator.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "tools/loadgen/feed.h"
#include "tools/loadgen/latency_histogram.h"
#include "tools/loadgen/reference_files.h"

namespace meterd::loadgen {

struct HttpEndpoint {
  std::string host;
  std::string port;
};

// "http://HOST[:PORT][/]" (port 80 by default; IPv6 hosts in brackets). No TLS.
Result<HttpEndpoint> ParseHttpUrl(std::string_view url);

struct LoadOptions {
  HttpEndpoint endpoint;
  std::string token;
  int connections = 4;
  size_t batch = 1000;      // events per POST
  uint64_t rate = 0;        // target events per second; 0 = as fast as acknowledged
  int64_t duration_ms = 0;  // stop issuing batches after this long; 0 = no limit
  uint64_t max_events = 0;  // stop after this many events; 0 = no limit
  int64_t request_timeout_ms = 60'000;
  int64_t drain_timeout_ms = 30'000;  // after the stop, how long unacknowledged batches may take
  bool handle_signals = false;        // SIGINT/SIGTERM stop gracefully; a second one aborts
};

struct LoadReport {
  int connections = 0;
  uint64_t events_sent = 0;  // events in batches sent at least once
  uint64_t batches_sent = 0;
  uint64_t events_acknowledged = 0;  // events in batches answered 200
  uint64_t batches_acknowledged = 0;
  uint64_t accepted = 0;  // sums of the 200 answers
  uint64_t duplicates = 0;
  uint64_t rejected = 0;
  uint64_t unparsed_answers = 0;  // 200 answers without readable counts
  uint64_t retries_429 = 0;
  uint64_t retries_503 = 0;
  uint64_t transport_errors = 0;  // connect/read/write failures and timeouts (then retried)
  uint64_t http_errors = 0;       // other non-200 answers (the batch is not retried)
  std::array<uint64_t, 6> http_errors_by_class{};  // index = status / 100
  uint64_t unacknowledged_events = 0;              // sent but never answered 200
  int64_t elapsed_ns = 0;                          // from the start to the last answer
  int64_t generate_ns = 0;                         // time spent rendering batches
  LatencyHistogram latency;                // per acknowledged batch: first send → 200 answer
  std::vector<std::string> error_samples;  // the first few error answers, for the operator
  std::string fatal;  // why the run was aborted (401/403, unreachable), or empty
};

// Streams `feed` until max_events, duration or a signal. A Status error only when the run
// cannot start (resolution, options); trouble during the run is reported in LoadReport.
// REQUIRES: `feed` is not used by anyone else during the call.
Result<LoadReport> RunLoad(const LoadOptions& options, FeedGenerator* feed);

struct SetupReport {
  uint64_t reference_upserted = 0;
  uint64_t reference_rejected = 0;
  uint64_t prices_upserted = 0;
  uint64_t prices_rejected = 0;
  uint64_t fx_months = 0;
  uint64_t budgets = 0;
  std::vector<std::string> warnings;  // rejected lines and rows, as the daemon explained them
};

// POST /v1/reference, POST /v1/pricesheet, one PUT /v1/fx/{month} per month and one
// PUT /v1/customers/{id}/budget per budget, in that order, on one connection; 429/503 are
// retried. Empty files are skipped. An error for any other non-2xx answer.
Result<SetupReport> RunSetup(const HttpEndpoint& endpoint, const std::string& token,
                             const ReferenceFiles& files);

}  // namespace meterd::loadgen
