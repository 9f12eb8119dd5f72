// The synthetic usage feed: hourly emissions per (resource, meter) stream across the world's
// span, in time order, with a chosen share of re-sent duplicates (same id, same bytes) and of
// late events (delivered one to three days after their hour), rendered as the NDJSON lines of
// POST /v1/usage. Deterministic: a World and FeedOptions give the same lines every time.
// A FeedGenerator is a single-threaded value; the hot path (Next, AppendBatch) neither
// allocates (once the caller's buffer has grown) nor locks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "rating/civil_time.h"
#include "tools/loadgen/world.h"

namespace meterd::loadgen {

struct FeedOptions {
  // Share of all lines that re-send an earlier line, in parts per million (at most 500000).
  uint32_t duplicate_ppm = 0;
  // Share of original events held back and delivered 1–3 days after their hour (needs a span
  // of at least 2 days), in parts per million.
  uint32_t late_ppm = 0;
  // Readings per stream and hour (1..3600). More readings split each hour's quantity exactly;
  // use it when a run needs more events than streams × hours.
  int emissions_per_hour = 1;
  // Prepended to every event id (at most 64 bytes), so a rerun can send fresh events.
  std::string id_prefix;
};

// The coordinates of one line. Original events are unique per (cycle, hour, slot, stream).
struct FeedEvent {
  uint32_t stream = 0;
  uint32_t hour = 0;   // index into the span, 0 = oldest
  uint32_t slot = 0;   // reading within the hour
  uint32_t cycle = 0;  // passes over the whole span; ids differ per pass
  bool late = false;
  bool duplicate = false;
};

struct FeedCounters {
  uint64_t lines = 0;
  uint64_t duplicates = 0;
  uint64_t late = 0;
  uint64_t replays = 0;  // passes over the span after the first (replayed with new ids)
};

class FeedGenerator {
 public:
  // REQUIRES: `world` outlives the generator. InvalidArgument for out-of-range options.
  static Result<FeedGenerator> Create(const World& world, FeedOptions options);

  // The next line's coordinates. The feed never ends: after the last hour of the span it starts
  // another pass (cycle) with fresh ids.
  FeedEvent Next();
  // Appends the next `max_events` lines to *body and returns how many it appended.
  size_t AppendBatch(size_t max_events, std::string* body);
  // Appends the NDJSON line (with its '\n') of an event.
  void AppendLine(const FeedEvent& e, std::string* out) const;

  int64_t QuantityNanos(const FeedEvent& e) const;
  rating::Timestamp TimestampOf(const FeedEvent& e) const;
  // Original events in one pass over the span: streams × hours × emissions per hour.
  uint64_t events_per_cycle() const;
  const FeedCounters& counters() const { return counters_; }
  const World& world() const { return *world_; }

 private:
  struct PendingDuplicate {
    FeedEvent event;
    uint64_t due = 0;
  };
  static constexpr uint64_t kDuplicateGap = 1000;  // a re-send arrives ~1000 lines later
  static constexpr size_t kRingSize = 2048;        // > kDuplicateGap + 1: never overflows

  FeedGenerator(const World& world, FeedOptions options);
  uint64_t NaturalIndex(const FeedEvent& e) const;
  bool IsLate(const FeedEvent& e, uint32_t* delay_days) const;
  void FillPending();

  const World* world_;
  FeedOptions options_;
  uint32_t streams_ = 0;
  uint32_t hours_ = 0;
  uint32_t slots_ = 1;
  uint64_t late_threshold_ = 0;       // of 10^6, among events that can be late
  uint64_t duplicate_threshold_ = 0;  // of 10^6, per original event
  uint64_t late_salt_ = 0;
  uint64_t duplicate_salt_ = 0;
  uint64_t quantity_salt_ = 0;

  // Pre-rendered pieces of a line (see AppendLine).
  std::vector<std::string> id_head_;    // per stream: prefix "s<stream>-"
  std::vector<std::string> middle_;     // per stream: "\",\"entitlement_id\":…\"quantity\":\""
  std::vector<std::string> tail_head_;  // per stream: "\",\"timestamp\":\"" or without quote
  std::vector<uint64_t> absolute_hour_;
  std::vector<std::string> hour_text_;  // per hour: "2026-11-20T13:"
  std::vector<std::string> slot_text_;  // per slot: "00:00"

  // Cursor over original events, and what the current position delivers.
  FeedEvent cursor_;
  FeedEvent pending_[4];
  int pending_size_ = 0;
  int pending_head_ = 0;
  std::vector<PendingDuplicate> ring_;
  size_t ring_head_ = 0;
  size_t ring_size_ = 0;
  FeedCounters counters_;
};

}  // namespace meterd::loadgen
