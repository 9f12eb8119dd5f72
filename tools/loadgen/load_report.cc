#include "tools/loadgen/load_report.h"

#include "tools/loadgen/number_text.h"

namespace meterd::loadgen {
namespace {

struct Percentiles {
  uint64_t p50_us, p99_us, p999_us, max_us;
};

uint64_t CeilMicros(int64_t ns) { return ns <= 0 ? 0 : static_cast<uint64_t>((ns + 999) / 1000); }

Percentiles Of(const LatencyHistogram& h) {
  return {CeilMicros(h.PercentileNanos(500'000)), CeilMicros(h.PercentileNanos(990'000)),
          CeilMicros(h.PercentileNanos(999'000)), CeilMicros(h.max_nanos())};
}

// "12.345 ms" from microseconds.
std::string Millis(uint64_t us) {
  std::string s;
  AppendUint(us / 1000, &s);
  s.push_back('.');
  std::string frac = std::to_string(us % 1000);
  s.append(3 - frac.size(), '0');
  return s + frac + " ms";
}

// "1.25%" of part in whole, two decimals, rounded down.
std::string Percent(uint64_t part, uint64_t whole) {
  if (whole == 0) return "0%";
  std::string s;
  AppendFixed(static_cast<__int128>(part) * 10000 / whole, 2, &s);
  return s + "%";
}

void Pad(std::string* out, size_t width) {
  size_t line_start = out->rfind('\n');
  size_t used = out->size() - (line_start == std::string::npos ? 0 : line_start + 1);
  if (used < width) out->append(width - used, ' ');
}

void JsonField(std::string_view key, uint64_t value, std::string* out, bool last = false) {
  out->push_back('"');
  out->append(key);
  out->append("\":");
  AppendUint(value, out);
  if (!last) out->push_back(',');
}

}  // namespace

uint64_t PerSecond(uint64_t events, int64_t elapsed_ns) {
  if (elapsed_ns <= 0) return 0;
  return static_cast<uint64_t>(static_cast<unsigned __int128>(events) * 1'000'000'000 /
                               static_cast<uint64_t>(elapsed_ns));
}

std::string FormatLoadReportText(const LoadReport& r, const FeedCounters& feed) {
  Percentiles p = Of(r.latency);
  std::string s;
  s += "elapsed        " + Millis(CeilMicros(r.elapsed_ns)) + " over " +
       std::to_string(r.connections) + " connection(s)\n";
  s += "sent           " + std::to_string(r.events_sent) + " events in " +
       std::to_string(r.batches_sent) + " batches";
  Pad(&s, 56);
  s += std::to_string(PerSecond(r.events_sent, r.elapsed_ns)) + " events/s\n";
  s += "acknowledged   " + std::to_string(r.events_acknowledged) + " events in " +
       std::to_string(r.batches_acknowledged) + " batches";
  Pad(&s, 56);
  s += std::to_string(PerSecond(r.events_acknowledged, r.elapsed_ns)) + " events/s\n";
  s += "answers        accepted " + std::to_string(r.accepted) + ", duplicates " +
       std::to_string(r.duplicates) + ", rejected " + std::to_string(r.rejected);
  if (r.unparsed_answers > 0) s += ", unreadable " + std::to_string(r.unparsed_answers);
  s += "\n";
  s += "retried        429: " + std::to_string(r.retries_429) +
       ", 503: " + std::to_string(r.retries_503) +
       ", transport errors: " + std::to_string(r.transport_errors) + "\n";
  s += "failed         http errors: " + std::to_string(r.http_errors) + " (4xx " +
       std::to_string(r.http_errors_by_class[4]) + ", 5xx " +
       std::to_string(r.http_errors_by_class[5]) +
       "), unacknowledged events: " + std::to_string(r.unacknowledged_events) + "\n";
  s += "ack latency    p50 " + Millis(p.p50_us) + ", p99 " + Millis(p.p99_us) + ", p99.9 " +
       Millis(p.p999_us) + ", max " + Millis(p.max_us) + "  (" + std::to_string(r.latency.count()) +
       " batches, first send to 200)\n";
  s += "feed           " + std::to_string(feed.lines) + " lines generated: duplicates " +
       std::to_string(feed.duplicates) + " (" + Percent(feed.duplicates, feed.lines) + "), late " +
       std::to_string(feed.late) + " (" + Percent(feed.late, feed.lines) + ")";
  if (feed.replays > 0) {
    s += ", span replayed " + std::to_string(feed.replays) + "x";
  }
  s += "\n";
  s += "generator      " + Millis(CeilMicros(r.generate_ns)) + " busy (" +
       Percent(static_cast<uint64_t>(r.generate_ns), static_cast<uint64_t>(r.elapsed_ns)) +
       " of elapsed)\n";
  for (const std::string& e : r.error_samples) s += "error sample   " + e + "\n";
  if (!r.fatal.empty()) s += "aborted        " + r.fatal + "\n";
  return s;
}

std::string FormatLoadReportJson(const LoadReport& r, const FeedCounters& feed) {
  Percentiles p = Of(r.latency);
  std::string s = "{";
  JsonField("elapsed_us", CeilMicros(r.elapsed_ns), &s);
  JsonField("connections", static_cast<uint64_t>(r.connections), &s);
  JsonField("events_sent", r.events_sent, &s);
  JsonField("batches_sent", r.batches_sent, &s);
  JsonField("events_acknowledged", r.events_acknowledged, &s);
  JsonField("batches_acknowledged", r.batches_acknowledged, &s);
  JsonField("sent_per_s", PerSecond(r.events_sent, r.elapsed_ns), &s);
  JsonField("acknowledged_per_s", PerSecond(r.events_acknowledged, r.elapsed_ns), &s);
  JsonField("accepted", r.accepted, &s);
  JsonField("duplicates", r.duplicates, &s);
  JsonField("rejected", r.rejected, &s);
  JsonField("unparsed_answers", r.unparsed_answers, &s);
  JsonField("retries_429", r.retries_429, &s);
  JsonField("retries_503", r.retries_503, &s);
  JsonField("transport_errors", r.transport_errors, &s);
  JsonField("http_errors", r.http_errors, &s);
  JsonField("http_errors_4xx", r.http_errors_by_class[4], &s);
  JsonField("http_errors_5xx", r.http_errors_by_class[5], &s);
  JsonField("unacknowledged_events", r.unacknowledged_events, &s);
  JsonField("generate_us", CeilMicros(r.generate_ns), &s);
  s += "\"latency_us\":{";
  JsonField("count", r.latency.count(), &s);
  JsonField("p50", p.p50_us, &s);
  JsonField("p99", p.p99_us, &s);
  JsonField("p999", p.p999_us, &s);
  JsonField("max", p.max_us, &s, true);
  s += "},\"feed\":{";
  JsonField("lines", feed.lines, &s);
  JsonField("duplicates", feed.duplicates, &s);
  JsonField("late", feed.late, &s);
  JsonField("replays", feed.replays, &s, true);
  s += "},\"fatal\":";
  if (r.fatal.empty()) {
    s += "null";
  } else {
    s += "\"";
    for (char c : r.fatal) {
      if (c == '"' || c == '\\') s.push_back('\\');
      if (static_cast<unsigned char>(c) >= 0x20) s.push_back(c);
    }
    s += "\"";
  }
  s += "}\n";
  return s;
}

}  // namespace meterd::loadgen
