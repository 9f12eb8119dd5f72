#include "tools/loadgen/feed.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "tools/loadgen/number_text.h"

namespace meterd::loadgen {
namespace {

constexpr int64_t kNanosPerHour = 3600 * rating::kNanosPerSecond;
constexpr uint64_t kMillion = 1'000'000;

// Appends n's digits at p and returns the new end (no allocation, no bounds: callers size).
char* PutUint(uint64_t n, char* p) {
  char buf[20];
  int len = 0;
  do {
    buf[len++] = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  while (len > 0) *p++ = buf[--len];
  return p;
}

char* PutText(std::string_view s, char* p) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

// The shortest exact text of a non-negative count of nano-units.
char* PutNanos(int64_t nanos, char* p) {
  p = PutUint(static_cast<uint64_t>(nanos / 1'000'000'000), p);
  int64_t frac = nanos % 1'000'000'000;
  if (frac == 0) return p;
  int digits = 9;
  while (frac % 10 == 0) {
    frac /= 10;
    --digits;
  }
  *p++ = '.';
  for (int i = digits - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  return p + digits;
}

}  // namespace

Result<FeedGenerator> FeedGenerator::Create(const World& world, FeedOptions options) {
  if (options.duplicate_ppm > 500'000) {
    return Status::InvalidArgument("duplicates: at most 50% of the lines");
  }
  if (options.late_ppm > kMillion) return Status::InvalidArgument("late: at most 100%");
  if (options.emissions_per_hour < 1 || options.emissions_per_hour > 3600) {
    return Status::InvalidArgument("emissions per hour: 1..3600");
  }
  if (options.id_prefix.size() > 64) return Status::InvalidArgument("id prefix: at most 64 bytes");
  for (char c : options.id_prefix) {
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) {
      return Status::InvalidArgument("id prefix: no quotes, backslashes or control characters");
    }
  }
  if (world.streams.empty()) return Status::InvalidArgument("the world has no streams");
  return FeedGenerator(world, std::move(options));
}

FeedGenerator::FeedGenerator(const World& world, FeedOptions options)
    : world_(&world), options_(std::move(options)) {
  streams_ = static_cast<uint32_t>(world.streams.size());
  hours_ = static_cast<uint32_t>(world.hours);
  slots_ = static_cast<uint32_t>(options_.emissions_per_hour);
  const uint64_t seed = world.options.seed;
  late_salt_ = HashOf(seed, 0x1a7e);
  duplicate_salt_ = HashOf(seed, 0xd0b1e);
  quantity_salt_ = HashOf(seed, 0x9a17);

  // Only events at least a day before the span's end can arrive a day late; scaling the draw
  // over those keeps the share of late events equal to late_ppm over the whole span.
  if (hours_ > 24 && options_.late_ppm > 0) {
    late_threshold_ = std::min<uint64_t>(
        kMillion, (uint64_t{options_.late_ppm} * hours_ + (hours_ - 24) - 1) / (hours_ - 24));
  }
  // A share d of all lines being re-sends means each original is re-sent with chance d/(1-d).
  if (options_.duplicate_ppm > 0) {
    duplicate_threshold_ =
        uint64_t{options_.duplicate_ppm} * kMillion / (kMillion - options_.duplicate_ppm);
  }

  for (uint32_t s = 0; s < streams_; ++s) {
    const Stream& st = world.streams[s];
    std::string head = options_.id_prefix + "s";
    AppendUint(s, &head);
    head.push_back('-');
    id_head_.push_back(std::move(head));
    std::string mid = "\",\"entitlement_id\":\"";
    mid += world.entitlements[static_cast<size_t>(st.entitlement)].entitlement_id;
    mid += "\",\"meter_id\":\"";
    mid += world.meters[static_cast<size_t>(st.meter)].meter_id;
    mid += "\",\"resource_uri\":\"";
    mid += world.resources[static_cast<size_t>(st.resource)].uri;
    mid += st.quantity_as_number ? "\",\"quantity\":" : "\",\"quantity\":\"";
    middle_.push_back(std::move(mid));
    tail_head_.push_back(st.quantity_as_number ? ",\"timestamp\":\"" : "\",\"timestamp\":\"");
  }
  for (uint32_t h = 0; h < hours_; ++h) {
    rating::Timestamp t{world.first_hour.nanos + int64_t{h} * kNanosPerHour};
    absolute_hour_.push_back(static_cast<uint64_t>(t.nanos / kNanosPerHour));
    std::string text = rating::FormatRfc3339(t);  // "2026-11-20T13:00:00Z"
    hour_text_.push_back(text.substr(0, 14));
  }
  for (uint32_t k = 0; k < slots_; ++k) {
    uint32_t offset = k * 3600 / slots_;
    char buf[6] = {
        static_cast<char>('0' + offset / 600),     static_cast<char>('0' + offset / 60 % 10), ':',
        static_cast<char>('0' + offset % 60 / 10), static_cast<char>('0' + offset % 10),      0};
    slot_text_.emplace_back(buf, 5);
  }
  ring_.resize(kRingSize);
}

uint64_t FeedGenerator::events_per_cycle() const { return uint64_t{streams_} * hours_ * slots_; }

uint64_t FeedGenerator::NaturalIndex(const FeedEvent& e) const {
  return ((uint64_t{e.cycle} * hours_ + e.hour) * slots_ + e.slot) * streams_ + e.stream;
}

bool FeedGenerator::IsLate(const FeedEvent& e, uint32_t* delay_days) const {
  // The first reading of each hour is never held back: it always goes out before that hour's
  // late deliveries, so a late event is always for an earlier day than the feed's newest.
  if (late_threshold_ == 0 || e.hour + 24 > hours_ - 1) return false;
  if (e.stream == 0 && e.slot == 0) return false;
  uint64_t h = HashOf(late_salt_, NaturalIndex(e));
  if (h % kMillion >= late_threshold_) return false;
  uint32_t max_days = std::min<uint32_t>(3, (hours_ - 1 - e.hour) / 24);
  *delay_days = 1 + static_cast<uint32_t>((h >> 32) % max_days);
  return true;
}

void FeedGenerator::FillPending() {
  pending_size_ = 0;
  pending_head_ = 0;
  const FeedEvent here = cursor_;
  uint32_t delay = 0;
  if (!IsLate(here, &delay)) pending_[pending_size_++] = here;
  if (late_threshold_ != 0) {
    for (uint32_t days = 3; days >= 1; --days) {  // the oldest first
      if (here.hour < 24 * days) continue;
      FeedEvent held = here;
      held.hour = here.hour - 24 * days;
      if (IsLate(held, &delay) && delay == days) {
        held.late = true;
        pending_[pending_size_++] = held;
      }
    }
  }

  if (++cursor_.stream == streams_) {
    cursor_.stream = 0;
    if (++cursor_.slot == slots_) {
      cursor_.slot = 0;
      if (++cursor_.hour == hours_) {
        cursor_.hour = 0;
        ++cursor_.cycle;
      }
    }
  }
}

FeedEvent FeedGenerator::Next() {
  if (ring_size_ > 0 && ring_[ring_head_].due <= counters_.lines) {
    FeedEvent e = ring_[ring_head_].event;
    ring_head_ = (ring_head_ + 1) % kRingSize;
    --ring_size_;
    e.duplicate = true;
    ++counters_.lines;
    ++counters_.duplicates;
    return e;
  }
  while (pending_head_ == pending_size_) FillPending();
  FeedEvent e = pending_[pending_head_++];
  if (e.late) ++counters_.late;
  counters_.replays = std::max<uint64_t>(counters_.replays, e.cycle);
  if (duplicate_threshold_ != 0 &&
      HashOf(duplicate_salt_, NaturalIndex(e)) % kMillion < duplicate_threshold_) {
    assert(ring_size_ < kRingSize);
    ring_[(ring_head_ + ring_size_) % kRingSize] = {e, counters_.lines + kDuplicateGap};
    ++ring_size_;
  }
  ++counters_.lines;
  return e;
}

int64_t FeedGenerator::QuantityNanos(const FeedEvent& e) const {
  const Stream& st = world_->streams[e.stream];
  if (world_->meters[static_cast<size_t>(st.meter)].model == QuantityModel::kBandwidthGb) {
    FeedEvent natural = e;
    natural.late = natural.duplicate = false;
    uint64_t megabytes = HashOf(quantity_salt_, NaturalIndex(natural)) % 2001;  // 0 .. 2 GB
    return static_cast<int64_t>(megabytes * 1'000'000 / slots_);
  }
  // The hour's quantity split over its readings; the last one takes the remainder, so the
  // readings of an hour always add up to the hourly quantity exactly.
  int64_t part = st.hourly_nanos / slots_;
  if (e.slot == slots_ - 1) part += st.hourly_nanos % slots_;
  return part;
}

rating::Timestamp FeedGenerator::TimestampOf(const FeedEvent& e) const {
  return rating::Timestamp{world_->first_hour.nanos + int64_t{e.hour} * kNanosPerHour +
                           int64_t{e.slot * 3600 / slots_} * rating::kNanosPerSecond};
}

void FeedGenerator::AppendLine(const FeedEvent& e, std::string* out) const {
  // Every piece is pre-rendered but the numbers; one copy into the caller's buffer.
  char line[1536];
  char* p = line;
  p = PutText("{\"id\":\"", p);
  p = PutText(id_head_[e.stream], p);
  // Ids grow with emission order within a stream, as a live feed's do: a replayed span's ids
  // ("c" + the cycle, zero-padded) sort after every id of the cycles before it, so dedupe
  // identities land at the end of each stream's key range instead of between older ones.
  if (e.cycle > 0) {
    *p++ = 'c';
    for (uint32_t digit = 100'000'000; digit > 0; digit /= 10) {
      *p++ = static_cast<char>('0' + e.cycle / digit % 10);
    }
    *p++ = '-';
  }
  p = PutUint(absolute_hour_[e.hour], p);
  if (slots_ > 1) {
    *p++ = '-';
    p = PutUint(e.slot, p);
  }
  p = PutText(middle_[e.stream], p);
  p = PutNanos(QuantityNanos(e), p);
  p = PutText(tail_head_[e.stream], p);
  p = PutText(hour_text_[e.hour], p);
  p = PutText(slot_text_[e.slot], p);
  p = PutText("Z\"}\n", p);
  assert(p <= line + sizeof(line));
  out->append(line, static_cast<size_t>(p - line));
}

size_t FeedGenerator::AppendBatch(size_t max_events, std::string* body) {
  for (size_t i = 0; i < max_events; ++i) AppendLine(Next(), body);
  return max_events;
}

}  // namespace meterd::loadgen
