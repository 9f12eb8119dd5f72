// The NDJSON parser of POST /v1/usage (domain §4.1, §8.1, §8.2, §8.21): splits a request body
// into lines, validates each event with simdjson on-demand and produces accepted events and
// per-line rejections in a reusable UsageBatch, with no heap allocation per event.
// A UsageParser and a UsageBatch are each used by one thread at a time (one of each per worker);
// neither is internally synchronized.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "rating/civil_time.h"
#include "rating/decimal.h"

namespace meterd::ingest {

// Rejection codes, in the order their checks run (§8.1): the first failing check wins.
enum class UsageError : uint8_t {
  kBadJson,
  kMissingField,
  kTooLong,
  kBadQuantity,
  kTooLarge,
  kBadTimestamp,
  kInFuture,
  kTooOld,
};
inline constexpr size_t kUsageErrorCount = static_cast<size_t>(UsageError::kTooOld) + 1;

// The wire name: "bad_json", "missing_field", ..., "too_old".
std::string_view UsageErrorName(UsageError error);

// Limits of §8.1 / §8.21, in bytes of the decoded UTF-8 string.
inline constexpr size_t kMaxIdBytes = 128;  // id, entitlement_id, meter_id
inline constexpr size_t kMaxResourceUriBytes = 1024;
// The answer lists at most this many rejections; all are counted.
inline constexpr size_t kMaxListedRejections = 100;

// One accepted event. The string views point into the UsageBatch that holds the event and stay
// valid until that batch is cleared or parsed into again.
struct UsageEvent {
  uint32_t line = 0;                // 1-based line of the body
  std::string_view id;              // decoded bytes, case kept (compared byte for byte)
  std::string_view entitlement_id;  // ASCII-lowercased
  std::string_view meter_id;        // ASCII-lowercased
  std::string_view resource_uri;    // ASCII-lowercased
  rating::Decimal quantity;         // 0 <= quantity <= 10^15
  rating::Timestamp timestamp;      // UTC
  rating::Date usage_date;          // the UTC date of `timestamp`
};

// One rejected line. `id` is the event's id when the line was well-formed JSON with a single,
// non-empty string `id` (it points into the batch, like UsageEvent's views); otherwise none.
// `detail` is static text.
struct UsageRejection {
  uint32_t line = 0;
  std::optional<std::string_view> id;
  UsageError error = UsageError::kBadJson;
  std::string_view detail;
};

// The result of parsing one request body, reused across requests so that steady-state parsing
// allocates nothing: Clear() keeps every buffer's capacity. Not copyable or movable, because
// events point into its own storage.
class UsageBatch {
 public:
  UsageBatch() = default;
  UsageBatch(const UsageBatch&) = delete;
  UsageBatch& operator=(const UsageBatch&) = delete;

  void Clear();

  // Accepted events in line order.
  const std::vector<UsageEvent>& events() const { return events_; }
  // The first kMaxListedRejections rejections in line order.
  const std::vector<UsageRejection>& rejections() const { return rejections_; }
  // Every rejected line, listed or not.
  size_t rejected_count() const { return rejected_count_; }
  // Every rejected line with this error, listed or not (for metrics by reason).
  size_t rejected_count(UsageError error) const {
    return rejected_by_error_[static_cast<size_t>(error)];
  }
  // Lines seen, blank lines included (the number of the last line).
  uint32_t line_count() const { return line_count_; }

 private:
  friend class UsageParser;

  // Decoded strings of the events and rejections; sized from the body before parsing starts,
  // which bounds everything that can be copied into it, so it never moves during a parse.
  std::unique_ptr<char[]> arena_;
  size_t arena_capacity_ = 0;
  size_t arena_used_ = 0;
  std::vector<UsageEvent> events_;
  std::vector<UsageRejection> rejections_;
  size_t rejected_count_ = 0;
  std::array<size_t, kUsageErrorCount> rejected_by_error_{};
  uint32_t line_count_ = 0;
};

struct UsageParseOptions {
  // The daemon's clock: `in_future` is a timestamp after now + 24 h; `too_old` is
  // now >= the first instant of the month after the usage month + retention_days.
  rating::Timestamp now;
  int32_t retention_days = 35;  // clamped to [0, 36500]
  // More non-blank lines than this refuses the whole request.
  size_t max_events_per_request = 1'000'000;
};

// Parses POST /v1/usage bodies.
//
// Lines are split on '\n'; a '\r' before it is dropped, the last line needs no '\n'. A blank
// line (empty or JSON whitespace only) is skipped: it is neither an event nor a rejection, but
// it still consumes a line number, so error line numbers match what an editor shows.
//
// Each line must be one JSON object. Known fields: id, entitlement_id, meter_id, resource_uri,
// quantity, timestamp, resource_group, tags; others are ignored (but must be well-formed JSON).
// A known field given twice, malformed JSON of any kind (invalid UTF-8, unescaped control
// characters such as a raw NUL, bad escapes, unpaired surrogates, truncation, trailing content,
// nesting beyond 32 levels) or a non-object line is `bad_json`. `null` counts as absent.
// An escaped "\u0000" is a valid character and is kept.
class UsageParser {
 public:
  UsageParser();
  ~UsageParser();
  UsageParser(const UsageParser&) = delete;
  UsageParser& operator=(const UsageParser&) = delete;

  // Clears `batch` and parses `body` into it.
  // REQUIRES: kJsonPadding (json_fields.h) readable bytes follow body.data() + body.size()
  // (their content does not matter). The HTTP layer's body buffers guarantee it; PaddedBuffer
  // provides it elsewhere.
  // Returns OK, with per-line outcomes in `batch`, or — the only error — ResourceExhausted when
  // the body has more than options.max_events_per_request events (HTTP 413); `batch` is then
  // left empty.
  Status Parse(std::string_view body, const UsageParseOptions& options, UsageBatch* batch);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace meterd::ingest
