#include "daemon/ingest/usage_parser.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

#include "daemon/ingest/json_fields.h"

namespace meterd::ingest {

namespace ondemand = simdjson::ondemand;
using rating::Decimal;
using rating::DecimalError;
using rating::Timestamp;

std::string_view UsageErrorName(UsageError error) {
  switch (error) {
    case UsageError::kBadJson:
      return "bad_json";
    case UsageError::kMissingField:
      return "missing_field";
    case UsageError::kTooLong:
      return "too_long";
    case UsageError::kBadQuantity:
      return "bad_quantity";
    case UsageError::kTooLarge:
      return "too_large";
    case UsageError::kBadTimestamp:
      return "bad_timestamp";
    case UsageError::kInFuture:
      return "in_future";
    case UsageError::kTooOld:
      return "too_old";
  }
  return "bad_json";
}

void UsageBatch::Clear() {
  arena_used_ = 0;
  events_.clear();
  rejections_.clear();
  rejected_count_ = 0;
  rejected_by_error_.fill(0);
  line_count_ = 0;
}

namespace {

// Known fields; the first six are required.
enum Field : uint8_t {
  kId,
  kEntitlementId,
  kMeterId,
  kResourceUri,
  kQuantity,
  kTimestamp,
  kResourceGroup,
  kTags,
  kFieldCount,
  kUnknownField = kFieldCount,
};

Field Classify(std::string_view key) {
  // Dispatch on length first: one comparison per key on the hot path.
  switch (key.size()) {
    case 2:
      return key == "id" ? kId : kUnknownField;
    case 4:
      return key == "tags" ? kTags : kUnknownField;
    case 8:
      if (key == "meter_id") return kMeterId;
      return key == "quantity" ? kQuantity : kUnknownField;
    case 9:
      return key == "timestamp" ? kTimestamp : kUnknownField;
    case 12:
      return key == "resource_uri" ? kResourceUri : kUnknownField;
    case 14:
      if (key == "entitlement_id") return kEntitlementId;
      return key == "resource_group" ? kResourceGroup : kUnknownField;
    default:
      return kUnknownField;
  }
}

// Static details, so a rejection costs no allocation.
constexpr std::array<std::string_view, kFieldCount> kDuplicateDetail = {
    "field 'id' appears more than once",
    "field 'entitlement_id' appears more than once",
    "field 'meter_id' appears more than once",
    "field 'resource_uri' appears more than once",
    "field 'quantity' appears more than once",
    "field 'timestamp' appears more than once",
    "field 'resource_group' appears more than once",
    "field 'tags' appears more than once"};
constexpr std::array<std::string_view, kFieldCount> kMissingDetail = {
    "'id' is missing, null, empty or not a string",
    "'entitlement_id' is missing, null, empty or not a string",
    "'meter_id' is missing, null, empty or not a string",
    "'resource_uri' is missing, null, empty or not a string",
    "'quantity' is missing, null or empty",
    "'timestamp' is missing, null, empty or not a string",
    "",
    ""};
constexpr std::array<std::string_view, kFieldCount> kTooLongDetail = {
    "'id' is longer than 128 bytes",
    "'entitlement_id' is longer than 128 bytes",
    "'meter_id' is longer than 128 bytes",
    "'resource_uri' is longer than 1024 bytes",
    "",
    "",
    "",
    ""};

struct Slot {
  uint32_t count = 0;
  ScalarKind kind = ScalarKind::kNull;  // absent reads as null (§8.21)
  std::string_view text;                // decoded string or raw number text
};

// A rejected line's outcome before it is recorded.
struct Verdict {
  UsageError error;
  std::string_view detail;
};

// A century: far beyond any billing need, far below int64 nanosecond overflow.
constexpr int64_t kMaxRetentionDays = 36'500;

constexpr bool IsRequiredString(Field f) {
  return f == kId || f == kEntitlementId || f == kMeterId || f == kResourceUri || f == kTimestamp;
}

}  // namespace

struct UsageParser::Impl {
  ondemand::parser parser;
  std::array<Slot, kFieldCount> slots;

  Impl() {
    // Typical lines fit; longer ones grow the parser once and it keeps the capacity.
    simdjson::error_code err = parser.allocate(64 * 1024, kMaxJsonDepth + 2);
    // The depth limit is ours (ValidateJsonValue); simdjson's own depth only feeds the
    // assertions of its development checks (debug builds), which count one level more.
    (void)err;  // on failure iterate() retries the allocation and reports MEMALLOC per line
  }

  // Reads one line into `slots`; returns the JSON error, if any.
  simdjson::error_code Scan(std::string_view line, size_t capacity) {
    for (Slot& s : slots) s = Slot{};
    ondemand::document doc;
    if (auto err = parser.iterate(line.data(), line.size(), capacity).get(doc)) return err;
    ondemand::object object;
    if (auto err = doc.get_object().get(object)) return err;
    for (auto field : object) {
      std::string_view key;
      if (auto err = field.unescaped_key().get(key)) return err;
      ondemand::value value;
      if (auto err = field.value().get(value)) return err;
      Field f = Classify(key);
      if (f == kUnknownField) {
        if (auto err = ValidateJsonValue(value, 2)) return err;
        continue;
      }
      Slot& slot = slots[f];
      ++slot.count;
      if (auto err = ReadScalar(value, 2, &slot.kind, &slot.text)) return err;
    }
    // The object ended: anything after it ("{}{}", "{} x") is trailing content.
    if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
      return simdjson::TRAILING_CONTENT;
    }
    return simdjson::SUCCESS;
  }

  // The checks of §8.1 after the JSON is known to be well-formed; nullopt = accepted.
  std::optional<Verdict> Judge(const UsageParseOptions& options, Decimal* quantity,
                               Timestamp* timestamp) const {
    for (int f = 0; f < kFieldCount; ++f) {
      if (slots[f].count > 1) return Verdict{UsageError::kBadJson, kDuplicateDetail[f]};
    }
    // An escaped NUL (\u0000) decodes to a byte that storage keys use as their field separator:
    // identifiers that key lines may not hold it (the event id may: it is the raw last field).
    for (int f = kEntitlementId; f <= kResourceUri; ++f) {
      if (slots[f].kind == ScalarKind::kString &&
          slots[f].text.find('\0') != std::string_view::npos) {
        return Verdict{UsageError::kBadJson, "an identifier contains a NUL character (\\u0000)"};
      }
    }
    for (int f = kId; f <= kTimestamp; ++f) {
      const Slot& s = slots[f];
      bool missing;
      if (IsRequiredString(static_cast<Field>(f))) {
        missing = s.kind != ScalarKind::kString || s.text.empty();
      } else {  // quantity: a non-string is judged by bad_quantity
        missing = s.kind == ScalarKind::kNull || (s.kind == ScalarKind::kString && s.text.empty());
      }
      if (missing) return Verdict{UsageError::kMissingField, kMissingDetail[f]};
    }
    for (int f = kId; f <= kResourceUri; ++f) {
      size_t limit = f == kResourceUri ? kMaxResourceUriBytes : kMaxIdBytes;
      if (slots[f].text.size() > limit) return Verdict{UsageError::kTooLong, kTooLongDetail[f]};
    }

    const Slot& q = slots[kQuantity];
    if (q.kind != ScalarKind::kString && q.kind != ScalarKind::kNumber) {
      return Verdict{UsageError::kBadQuantity, "'quantity' must be a JSON number or a string"};
    }
    switch (Decimal::Parse(q.text, quantity)) {
      case DecimalError::kOk:
        break;
      case DecimalError::kSyntax:
        return Verdict{UsageError::kBadQuantity, "'quantity' is not a decimal number"};
      case DecimalError::kTooPrecise:
        return Verdict{UsageError::kBadQuantity, "'quantity' needs more than 9 fractional digits"};
      case DecimalError::kOutOfRange:
        if (q.text.front() == '-') {
          return Verdict{UsageError::kBadQuantity, "'quantity' is negative"};
        }
        return Verdict{UsageError::kTooLarge, "'quantity' is above 10^15"};
    }
    if (quantity->IsNegative()) return Verdict{UsageError::kBadQuantity, "'quantity' is negative"};
    if (*quantity > rating::kMaxAmount) {
      return Verdict{UsageError::kTooLarge, "'quantity' is above 10^15"};
    }

    if (!rating::ParseRfc3339(slots[kTimestamp].text, timestamp)) {
      return Verdict{UsageError::kBadTimestamp,
                     "'timestamp' is not an RFC 3339 date-time with an offset "
                     "(e.g. 2026-11-20T13:00:00Z)"};
    }
    if (timestamp->nanos > options.now.nanos + rating::kNanosPerDay) {
      return Verdict{UsageError::kInFuture, "'timestamp' is more than 24 h after now"};
    }
    // Clamped so a misconfigured retention cannot overflow the nanosecond arithmetic.
    int64_t retention_days = std::clamp<int64_t>(options.retention_days, 0, kMaxRetentionDays);
    int64_t retention = retention_days * rating::kNanosPerDay;
    // The horizon is later than timestamp + retention, so recent events (nearly all of them)
    // skip the calendar arithmetic.
    if (timestamp->nanos > options.now.nanos - retention) return std::nullopt;
    rating::Month month = rating::MonthOf(rating::DateOf(*timestamp));
    int64_t horizon = rating::StartOf(rating::NextMonth(month)).nanos + retention;
    if (options.now.nanos >= horizon) {
      return Verdict{UsageError::kTooOld,
                     "the usage month ended longer ago than the retention period"};
    }
    return std::nullopt;
  }
};

UsageParser::UsageParser() : impl_(std::make_unique<Impl>()) {}
UsageParser::~UsageParser() = default;

namespace {

// Appends to the batch arena without bounds growth: the caller sized it from the body.
std::string_view ArenaCopy(char* arena, size_t* used, std::string_view s) {
  char* dst = arena + *used;
  if (!s.empty()) std::memcpy(dst, s.data(), s.size());
  *used += s.size();
  return {dst, s.size()};
}

std::string_view ArenaCopyLower(char* arena, size_t* used, std::string_view s) {
  char* dst = arena + *used;
  CopyAsciiLower(s, dst);
  *used += s.size();
  return {dst, s.size()};
}

}  // namespace

Status UsageParser::Parse(std::string_view body, const UsageParseOptions& options,
                          UsageBatch* batch) {
  batch->Clear();

  // Count first, so an oversized request is refused before any work and the event vector is
  // sized once.
  size_t events = 0;
  {
    NdjsonLines lines(body);
    std::string_view line;
    uint32_t number;
    while (lines.Next(&line, &number)) {
      if (!IsBlank(line)) ++events;
    }
  }
  if (events > options.max_events_per_request) {
    return Status::ResourceExhausted(
        "the request has " + std::to_string(events) + " events; at most " +
        std::to_string(options.max_events_per_request) + " are accepted per request");
  }
  batch->events_.reserve(events);
  batch->rejections_.reserve(kMaxListedRejections);
  // Decoded strings are never longer than their JSON text, and every line copies at most its
  // own strings, so the body's size bounds the arena.
  if (batch->arena_capacity_ < body.size() || batch->arena_ == nullptr) {
    batch->arena_capacity_ = std::max(body.size(), size_t{4096});
    batch->arena_ = std::make_unique<char[]>(batch->arena_capacity_);
  }
  char* arena = batch->arena_.get();
  size_t* used = &batch->arena_used_;

  const char* body_end = body.data() + body.size();
  NdjsonLines lines(body);
  std::string_view line;
  uint32_t number = 0;
  while (lines.Next(&line, &number)) {
    if (IsBlank(line)) continue;
    size_t capacity = static_cast<size_t>(body_end - line.data()) + kJsonPadding;
    simdjson::error_code err = impl_->Scan(line, capacity);

    std::optional<Verdict> verdict;
    Decimal quantity;
    Timestamp timestamp;
    if (err) {
      verdict = Verdict{UsageError::kBadJson, JsonErrorDetail(err)};
    } else {
      verdict = impl_->Judge(options, &quantity, &timestamp);
    }

    const auto& slots = impl_->slots;
    if (!verdict) {
      UsageEvent& e = batch->events_.emplace_back();
      e.line = number;
      e.id = ArenaCopy(arena, used, slots[kId].text);
      e.entitlement_id = ArenaCopyLower(arena, used, slots[kEntitlementId].text);
      e.meter_id = ArenaCopyLower(arena, used, slots[kMeterId].text);
      e.resource_uri = ArenaCopyLower(arena, used, slots[kResourceUri].text);
      e.quantity = quantity;
      e.timestamp = timestamp;
      e.usage_date = rating::DateOf(timestamp);
      continue;
    }
    ++batch->rejected_by_error_[static_cast<size_t>(verdict->error)];
    if (batch->rejected_count_++ >= kMaxListedRejections) continue;
    UsageRejection& r = batch->rejections_.emplace_back();
    r.line = number;
    r.error = verdict->error;
    r.detail = verdict->detail;
    const Slot& id = slots[kId];
    // After a JSON error the slots hold whatever was read before it: not a trustworthy id.
    if (!err && id.count == 1 && id.kind == ScalarKind::kString && !id.text.empty()) {
      r.id = ArenaCopy(arena, used, id.text);
    }
  }
  batch->line_count_ = number;
  return Status::Ok();
}

}  // namespace meterd::ingest
