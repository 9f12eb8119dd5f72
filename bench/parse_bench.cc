// bench-links: meterd_daemon
// The ingest parse stage: a realistic POST /v1/usage body of 1000 NDJSON events parsed into a
// reused UsageBatch (one ondemand::parser, no per-event allocation). Reports events/s and
// bytes/s; the output is verified before timing, so a wrong parser fails the smoke run.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "daemon/ingest/json_fields.h"
#include "daemon/ingest/usage_parser.h"

namespace {

using meterd::ingest::PaddedBuffer;
using meterd::ingest::UsageBatch;
using meterd::ingest::UsageParseOptions;
using meterd::ingest::UsageParser;

constexpr int kEvents = 1000;

// Shapes like a real feed: GUID ids, upper-case GUIDs that must be lowercased, ~150-byte
// resource URIs, quantities as numbers and strings, offsets, optional fields.
std::string MakeBody(int events, bool with_optional_fields, int bad_every) {
  std::string body;
  char line[1024];
  for (int i = 0; i < events; ++i) {
    int ent = i % 37, meter = i % 11, vm = i % 101;
    const char* quantity_fmt = (i % 2 == 0) ? "%d.%03d" : "\"%d.%03d\"";
    char quantity[32];
    std::snprintf(quantity, sizeof quantity, quantity_fmt, i % 24, (i * 7) % 1000);
    int n = std::snprintf(
        line, sizeof line,
        "{\"id\":\"evt-%08d-2026-11-20\",\"entitlement_id\":\"E%07d-0000-4000-8000-%012d\","
        "\"meter_id\":\"0A3C6E2A-6D1F-4C55-9A43-%012d\",\"resource_uri\":\"/subscriptions/"
        "E%07d-0000-4000-8000-%012d/resourceGroups/Web-%02d/providers/Microsoft.Compute/"
        "virtualMachines/web-%03d\",\"quantity\":%s,\"timestamp\":\"2026-11-20T%02d:%02d:%02d%s\"",
        i, ent, ent, meter, ent, ent, ent % 7, vm, quantity, (i / 60) % 12, i % 60, (i * 13) % 60,
        (i % 3 == 0) ? "+01:00" : "Z");
    body.append(line, static_cast<size_t>(n));
    if (with_optional_fields) {
      body += ",\"resource_group\":\"web\",\"tags\":{\"env\":\"prod\",\"team\":\"shop\"}";
    }
    if (bad_every > 0 && i % bad_every == 0) body += ",\"quantity\":1";  // duplicate: bad_json
    body += "}\n";
  }
  return body;
}

void RunParse(benchmark::State& state, bool with_optional_fields, int bad_every) {
  std::string text = MakeBody(kEvents, with_optional_fields, bad_every);
  PaddedBuffer body(text);
  UsageParseOptions options;
  if (!meterd::rating::ParseRfc3339("2026-11-20T12:00:00Z", &options.now)) std::abort();
  UsageParser parser;
  UsageBatch batch;

  // Verify before timing.
  if (!parser.Parse(body.view(), options, &batch).ok()) {
    state.SkipWithError("parse failed");
    return;
  }
  size_t want_rejected = bad_every > 0 ? (kEvents + bad_every - 1) / bad_every : 0;
  if (batch.events().size() + batch.rejected_count() != kEvents ||
      batch.rejected_count() != want_rejected || batch.events().empty() ||
      batch.events().back().entitlement_id.substr(0, 2) != "e0" ||
      batch.events().back().quantity.IsNegative()) {
    state.SkipWithError("unexpected parse result");
    return;
  }

  for (auto _ : state) {
    meterd::Status st = parser.Parse(body.view(), options, &batch);
    benchmark::DoNotOptimize(st);
    benchmark::DoNotOptimize(batch.events().data());
  }
  state.SetItemsProcessed(state.iterations() * kEvents);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
  state.counters["ns_per_event"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kEvents,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["body_bytes"] = static_cast<double>(text.size());
}

void BM_ParseUsage1000(benchmark::State& state) { RunParse(state, false, 0); }
void BM_ParseUsage1000WithTags(benchmark::State& state) { RunParse(state, true, 0); }
void BM_ParseUsage1000TenPercentBad(benchmark::State& state) { RunParse(state, false, 10); }

BENCHMARK(BM_ParseUsage1000);
BENCHMARK(BM_ParseUsage1000WithTags);
BENCHMARK(BM_ParseUsage1000TenPercentBad);

}  // namespace

BENCHMARK_MAIN();
