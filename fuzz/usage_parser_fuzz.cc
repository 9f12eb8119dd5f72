// libFuzzer target: POST /v1/usage bodies. Besides memory safety (ASan, UBSan), checks the
// parser's promises on every input: each non-blank line is either an event or a rejection,
// events satisfy every rule of domain §8.1, and ids come out lowercased where they should.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "daemon/ingest/json_fields.h"
#include "daemon/ingest/usage_parser.h"

namespace {

using meterd::ingest::UsageBatch;
using meterd::ingest::UsageParseOptions;
using meterd::ingest::UsageParser;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

bool HasUpper(std::string_view s) {
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static UsageParser parser;
  static UsageBatch batch;
  static meterd::ingest::PaddedBuffer buffer;
  static const UsageParseOptions options = [] {
    UsageParseOptions o;
    if (!meterd::rating::ParseRfc3339("2026-11-20T12:00:00Z", &o.now)) std::abort();
    o.max_events_per_request = 100000;
    return o;
  }();

  std::string_view text(reinterpret_cast<const char*>(data), size);
  buffer.Assign(text);
  meterd::Status st = parser.Parse(buffer.view(), options, &batch);

  size_t non_blank = 0;
  meterd::ingest::NdjsonLines lines(buffer.view());
  std::string_view line;
  uint32_t number = 0, last = 0;
  while (lines.Next(&line, &number)) {
    if (!meterd::ingest::IsBlank(line)) ++non_blank;
    last = number;
  }
  if (!st.ok()) {
    Check(non_blank > options.max_events_per_request, "refused a request within the limit");
    Check(batch.events().empty() && batch.rejected_count() == 0, "refused request left output");
    return 0;
  }
  Check(batch.events().size() + batch.rejected_count() == non_blank, "lines lost or invented");
  Check(batch.line_count() == last, "line count");
  Check(batch.rejections().size() <= meterd::ingest::kMaxListedRejections, "too many listed");
  Check(batch.rejections().size() ==
            std::min(batch.rejected_count(), meterd::ingest::kMaxListedRejections),
        "listed rejections");

  uint32_t prev = 0;
  for (const meterd::ingest::UsageEvent& e : batch.events()) {
    Check(e.line > prev && e.line <= last, "event line order");
    prev = e.line;
    Check(!e.id.empty() && e.id.size() <= meterd::ingest::kMaxIdBytes, "id length");
    Check(!e.entitlement_id.empty() && e.entitlement_id.size() <= meterd::ingest::kMaxIdBytes,
          "entitlement_id length");
    Check(!e.meter_id.empty() && e.meter_id.size() <= meterd::ingest::kMaxIdBytes,
          "meter_id length");
    Check(!e.resource_uri.empty() && e.resource_uri.size() <= meterd::ingest::kMaxResourceUriBytes,
          "resource_uri length");
    Check(!HasUpper(e.entitlement_id) && !HasUpper(e.meter_id) && !HasUpper(e.resource_uri),
          "lowercasing");
    Check(!e.quantity.IsNegative() && e.quantity <= meterd::rating::kMaxAmount, "quantity range");
    Check(e.usage_date == meterd::rating::DateOf(e.timestamp), "usage date");
    Check(e.timestamp.nanos <= options.now.nanos + meterd::rating::kNanosPerDay, "in future");
  }
  prev = 0;
  for (const meterd::ingest::UsageRejection& r : batch.rejections()) {
    Check(r.line > prev && r.line <= last, "rejection line order");
    prev = r.line;
    Check(!r.detail.empty(), "rejection detail");
    Check(!r.id || !r.id->empty(), "empty reported id");
  }
  return 0;
}
