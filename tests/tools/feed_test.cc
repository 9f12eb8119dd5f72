#include "tools/loadgen/feed.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <map>
#include <set>
#include <string>

#include "rating/civil_time.h"
#include "rating/decimal.h"
#include "tests/tools/test_support.h"

namespace meterd::loadgen {
namespace {

using testing::FixedNow;
using testing::Lines;
using testing::MustBuild;
using testing::RawField;
using testing::SmallWorldOptions;
namespace json = boost::json;

constexpr int64_t kNanosPerHour = 3600 * rating::kNanosPerSecond;

FeedGenerator MustCreate(const World& w, FeedOptions o) {
  Result<FeedGenerator> f = FeedGenerator::Create(w, std::move(o));
  EXPECT_TRUE(f.ok()) << f.status().message();
  return std::move(*f);
}

std::string Generate(const World& w, FeedOptions o, size_t lines) {
  FeedGenerator feed = MustCreate(w, std::move(o));
  std::string body;
  feed.AppendBatch(lines, &body);
  return body;
}

TEST(Feed, EveryLineIsAUsageEventTheContractAccepts) {
  World w = MustBuild(SmallWorldOptions());
  FeedOptions o;
  o.duplicate_ppm = 20'000;
  o.late_ppm = 50'000;
  FeedGenerator feed = MustCreate(w, o);
  std::string body;
  feed.AppendBatch(static_cast<size_t>(feed.events_per_cycle()), &body);

  std::set<std::string> entitlements, meters;
  for (const Entitlement& e : w.entitlements) entitlements.insert(e.entitlement_id);
  for (const Meter& m : w.meters) meters.insert(m.meter_id);
  const rating::Timestamp now = FixedNow();
  size_t count = 0;
  for (std::string_view line : Lines(body)) {
    ++count;
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    ASSERT_FALSE(ec) << line;
    ASSERT_TRUE(v.is_object()) << line;
    const json::object& obj = v.as_object();
    ASSERT_EQ(obj.size(), 6u) << line;
    for (const char* f : {"id", "entitlement_id", "meter_id", "resource_uri", "timestamp"}) {
      ASSERT_TRUE(obj.contains(f) && obj.at(f).is_string()) << f << " in " << line;
      ASSERT_FALSE(obj.at(f).as_string().empty()) << f;
    }
    ASSERT_TRUE(obj.contains("quantity") &&
                (obj.at("quantity").is_string() || obj.at("quantity").is_number()));
    EXPECT_LE(obj.at("id").as_string().size(), 128u);
    const std::string entitlement(obj.at("entitlement_id").as_string());
    EXPECT_TRUE(entitlements.count(entitlement)) << line;
    EXPECT_TRUE(meters.count(std::string(obj.at("meter_id").as_string()))) << line;
    EXPECT_EQ(std::string(obj.at("resource_uri").as_string())
                  .rfind("/subscriptions/" + entitlement + "/resourceGroups/", 0),
              0u);
    // The quantity's own text is an exact decimal with at most 9 digits, 0 ≤ q ≤ 10^15.
    rating::Decimal q;
    ASSERT_EQ(rating::Decimal::Parse(RawField(line, "quantity"), &q), rating::DecimalError::kOk)
        << line;
    EXPECT_FALSE(q.IsNegative());
    EXPECT_LE(q, rating::kMaxAmount);
    rating::Timestamp t;
    ASSERT_TRUE(rating::ParseRfc3339(std::string(obj.at("timestamp").as_string()), &t)) << line;
    EXPECT_GE(t, w.first_hour);
    EXPECT_LE(t.nanos, now.nanos);
  }
  EXPECT_EQ(count, feed.events_per_cycle());
}

TEST(Feed, TheSameSeedGivesTheSameBytesAndAnotherSeedDoesNot) {
  FeedOptions o;
  o.duplicate_ppm = 10'000;
  o.late_ppm = 10'000;
  World a = MustBuild(SmallWorldOptions(7));
  World b = MustBuild(SmallWorldOptions(7));
  World c = MustBuild(SmallWorldOptions(8));
  std::string fa = Generate(a, o, 20'000);
  EXPECT_EQ(fa, Generate(b, o, 20'000));
  EXPECT_NE(fa, Generate(c, o, 20'000));
}

TEST(Feed, BatchBoundariesDoNotChangeTheFeed) {
  World w = MustBuild(SmallWorldOptions());
  FeedOptions o;
  o.duplicate_ppm = 30'000;
  o.late_ppm = 30'000;
  std::string whole = Generate(w, o, 10'000);
  FeedGenerator feed = MustCreate(w, o);
  std::string pieces;
  const size_t sizes[] = {1, 7, 999, 1000, 13};
  for (size_t i = 0, done = 0; done < 10'000; ++i) {
    size_t size = std::min<size_t>(sizes[i % 5], 10'000 - done);
    std::string batch;
    ASSERT_EQ(feed.AppendBatch(size, &batch), size);
    pieces += batch;
    done += size;
  }
  EXPECT_EQ(whole, pieces);
}

TEST(Feed, DuplicatesAreByteIdenticalResendsAtTheRequestedShare) {
  World w = MustBuild(SmallWorldOptions());
  FeedOptions o;
  o.duplicate_ppm = 50'000;  // 5% of all lines
  const size_t n = 200'000;
  FeedGenerator feed = MustCreate(w, o);
  std::string body;
  feed.AppendBatch(n, &body);
  std::set<std::string> identities;
  std::map<std::string, std::string> first_line;
  uint64_t duplicates = 0;
  for (std::string_view line : Lines(body)) {
    std::string identity = RawField(line, "entitlement_id") + "/" + RawField(line, "id");
    if (!identities.insert(identity).second) {
      ++duplicates;
      EXPECT_EQ(first_line[identity], line) << "a re-send must repeat the same bytes";
    } else {
      first_line[identity] = std::string(line);
    }
  }
  EXPECT_EQ(duplicates, feed.counters().duplicates);
  // 5% ± 0.3% of 200000 lines.
  EXPECT_GE(duplicates, n * 47 / 1000);
  EXPECT_LE(duplicates, n * 53 / 1000);
}

TEST(Feed, LateEventsArriveOneToThreeDaysAfterTheirHourAtTheRequestedShare) {
  World w = MustBuild(SmallWorldOptions());
  FeedOptions o;
  o.late_ppm = 40'000;  // 4% of the original events
  FeedGenerator feed = MustCreate(w, o);
  const uint64_t n = feed.events_per_cycle();
  int64_t newest = 0;
  uint64_t late = 0;
  for (uint64_t i = 0; i < n; ++i) {
    std::string line;
    feed.AppendLine(feed.Next(), &line);
    rating::Timestamp t;
    ASSERT_TRUE(rating::ParseRfc3339(RawField(line, "timestamp"), &t));
    if (t.nanos < newest) {
      ++late;
      // Its day is an earlier day than the feed's present, by one to three days.
      int64_t behind_hours = (newest - t.nanos) / kNanosPerHour;
      EXPECT_GE(behind_hours, 24) << line;
      EXPECT_LE(behind_hours, 72) << line;
      EXPECT_LT(rating::DateOf(t), rating::DateOf(rating::Timestamp{newest}));
    }
    newest = std::max(newest, t.nanos);
  }
  EXPECT_EQ(late, feed.counters().late);
  // 4% ± 0.5% (the draw is per event).
  EXPECT_GE(late, n * 35 / 1000);
  EXPECT_LE(late, n * 45 / 1000);
}

TEST(Feed, OnePassCarriesEveryStreamHourExactlyOnceWhateverIsLateOrResent) {
  World w = MustBuild(SmallWorldOptions());
  FeedOptions o;
  o.duplicate_ppm = 100'000;
  o.late_ppm = 100'000;
  FeedGenerator feed = MustCreate(w, o);
  const uint64_t originals = feed.events_per_cycle();
  std::set<std::pair<uint32_t, uint32_t>> seen;
  uint64_t lines = 0;
  while (seen.size() < originals && lines < 2 * originals) {
    FeedEvent e = feed.Next();
    ++lines;
    if (e.duplicate) continue;
    ASSERT_EQ(e.cycle, 0u);
    EXPECT_TRUE(seen.insert({e.stream, e.hour}).second) << "delivered twice";
  }
  EXPECT_EQ(seen.size(), originals);
  EXPECT_EQ(seen.size(), w.streams.size() * static_cast<size_t>(w.hours));
}

TEST(Feed, WithoutLateEventsTimestampsNeverGoBack) {
  World w = MustBuild(SmallWorldOptions());
  FeedOptions o;
  FeedGenerator feed = MustCreate(w, o);
  std::string body;
  feed.AppendBatch(static_cast<size_t>(feed.events_per_cycle()), &body);
  std::string previous;
  for (std::string_view line : Lines(body)) {
    std::string ts = RawField(line, "timestamp");
    EXPECT_LE(previous, ts);  // same-format RFC 3339 UTC text sorts like time
    previous = ts;
  }
}

TEST(Feed, ReadingsWithinAnHourAddUpToTheHourlyQuantityExactly) {
  World w = MustBuild(SmallWorldOptions());
  FeedOptions seven;
  seven.emissions_per_hour = 7;
  FeedGenerator hourly = MustCreate(w, {});
  FeedGenerator split = MustCreate(w, seven);
  EXPECT_EQ(split.events_per_cycle(), 7 * hourly.events_per_cycle());
  for (uint32_t s = 0; s < w.streams.size(); ++s) {
    if (w.meters[static_cast<size_t>(w.streams[s].meter)].model == QuantityModel::kBandwidthGb) {
      continue;  // drawn per reading
    }
    FeedEvent e;
    e.stream = s;
    e.hour = 5;
    int64_t sum = 0;
    for (e.slot = 0; e.slot < 7; ++e.slot) {
      EXPECT_GT(split.QuantityNanos(e), 0);
      sum += split.QuantityNanos(e);
    }
    e.slot = 0;
    EXPECT_EQ(sum, hourly.QuantityNanos(e)) << "stream " << s;
  }
  // Readings of one hour carry distinct ids and spread over the hour.
  std::string body;
  split.AppendBatch(w.streams.size() * 7, &body);
  std::set<std::string> ids, times;
  for (std::string_view line : Lines(body)) {
    ids.insert(RawField(line, "entitlement_id") + RawField(line, "id"));
    times.insert(RawField(line, "timestamp"));
  }
  EXPECT_EQ(ids.size(), w.streams.size() * 7);
  EXPECT_EQ(times.size(), 7u);
}

TEST(Feed, ASecondPassOverTheSpanUsesFreshIds) {
  World w = MustBuild(SmallWorldOptions());
  FeedGenerator feed = MustCreate(w, {});
  const size_t n = static_cast<size_t>(feed.events_per_cycle());
  std::string first, second;
  feed.AppendBatch(n, &first);
  feed.AppendBatch(n, &second);
  EXPECT_EQ(feed.counters().replays, 1u);
  std::set<std::string> ids;
  for (std::string_view line : Lines(first)) {
    ids.insert(RawField(line, "entitlement_id") + "/" + RawField(line, "id"));
  }
  for (std::string_view line : Lines(second)) {
    EXPECT_FALSE(ids.count(RawField(line, "entitlement_id") + "/" + RawField(line, "id")));
  }
}

TEST(Feed, AnIdPrefixMakesEveryIdNew) {
  World w = MustBuild(SmallWorldOptions());
  FeedOptions prefixed;
  prefixed.id_prefix = "run2-";
  std::string a = Generate(w, {}, 1000);
  std::string b = Generate(w, prefixed, 1000);
  auto la = Lines(a), lb = Lines(b);
  ASSERT_EQ(la.size(), lb.size());
  for (size_t i = 0; i < la.size(); ++i) {
    EXPECT_EQ("run2-" + RawField(la[i], "id"), RawField(lb[i], "id"));
  }
}

TEST(Feed, RejectsOptionsOutOfRange) {
  World w = MustBuild(SmallWorldOptions());
  FeedOptions o;
  o.duplicate_ppm = 600'000;
  EXPECT_FALSE(FeedGenerator::Create(w, o).ok());
  o = {};
  o.emissions_per_hour = 0;
  EXPECT_FALSE(FeedGenerator::Create(w, o).ok());
  o = {};
  o.id_prefix = "a\"b";
  EXPECT_FALSE(FeedGenerator::Create(w, o).ok());
}

}  // namespace
}  // namespace meterd::loadgen
