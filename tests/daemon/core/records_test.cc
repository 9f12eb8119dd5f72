#include "daemon/core/records.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <string>

namespace meterd::core {
namespace {

using rating::Decimal;
using rating::int128;

Decimal Dec(std::string_view s) {
  Decimal d;
  EXPECT_EQ(Decimal::Parse(s, &d), rating::DecimalError::kOk) << s;
  return d;
}

StoredLine RatedLine() {
  StoredLine line;
  line.quantity = Dec("24.5");
  rating::RatedAmounts& r = line.rated;
  r.prices_shown = r.usd_shown = r.fx_shown = r.bc_shown = true;
  r.pec_lost = true;
  r.currency.chars = {'E', 'U', 'R'};
  r.unit_price = Dec("0.096");
  r.effective_unit_price = Dec("0.0816");
  r.pec_rate = Dec("0.15");
  r.list_usd = Dec("2.352");
  r.pec_usd = Dec("0");
  r.billed_usd = Dec("2.352");
  r.fx = rating::FxRate::FromPicos(int128{921456789012});
  r.list_bc = Dec("2.167265168");
  r.billed_bc = Dec("2.167265168");
  r.lost_pec_usd = Dec("0.3528");
  r.lost_pec_bc = Dec("-0.000000001");
  line.resource_uri = "/subscriptions/x/resourcegroups/rg/providers/microsoft.compute/vm-1";
  return line;
}

void ExpectSame(const StoredLine& a, const StoredLine& b) {
  EXPECT_EQ(a.quantity, b.quantity);
  EXPECT_TRUE(a.rated == b.rated);
  EXPECT_EQ(a.resource_uri, b.resource_uri);
}

TEST(LineRecord, RoundTripsEveryField) {
  StoredLine line = RatedLine();
  std::string bytes;
  EncodeLine(line, &bytes);
  StoredLine back;
  ASSERT_TRUE(DecodeLine(bytes, &back).ok());
  ExpectSame(line, back);
}

TEST(LineRecord, CompactFormIsFarSmallerThanFixedWidth) {
  std::string bytes;
  StoredLine line = RatedLine();
  EncodeLine(line, &bytes);
  // 13 amounts of 16 bytes plus the URI was the fixed-width form.
  EXPECT_LT(bytes.size(), 6 + 13 * 16 / 2 + line.resource_uri.size());
}

TEST(LineRecord, ExtremeAmountsRoundTrip) {
  StoredLine line = RatedLine();
  const int128 max = std::numeric_limits<int128>::max();
  const int128 min = std::numeric_limits<int128>::min();
  line.quantity = Decimal::FromNanos(max);
  line.rated.list_usd = Decimal::FromNanos(min);
  line.rated.pec_usd = Decimal::FromNanos(-1);
  line.rated.fx = rating::FxRate::FromPicos(max);
  line.resource_uri.assign(5000, 'r');
  std::string bytes;
  EncodeLine(line, &bytes);
  StoredLine back;
  ASSERT_TRUE(DecodeLine(bytes, &back).ok());
  ExpectSame(line, back);
}

// Every varint at its widest (19 bytes): the encoder's fixed buffer holds the longest record.
TEST(LineRecord, EveryAmountAtItsWidestRoundTrips) {
  StoredLine line = RatedLine();
  const Decimal min = Decimal::FromNanos(std::numeric_limits<int128>::min());
  rating::RatedAmounts& r = line.rated;
  for (Decimal* d : {&line.quantity, &r.unit_price, &r.effective_unit_price, &r.pec_rate,
                     &r.list_usd, &r.pec_usd, &r.billed_usd, &r.list_bc, &r.pec_bc, &r.billed_bc,
                     &r.lost_pec_usd, &r.lost_pec_bc}) {
    *d = min;
  }
  r.fx = rating::FxRate::FromPicos(std::numeric_limits<int128>::min());
  line.resource_uri.assign(3, 'r');
  std::string bytes;
  EncodeLine(line, &bytes);
  EXPECT_EQ(bytes.size(), 6 + 12 * 19 + 19 + 1 + 3u);  // 12 amounts and FX, URI length, URI
  StoredLine back;
  ASSERT_TRUE(DecodeLine(bytes, &back).ok());
  ExpectSame(line, back);
}

// Amounts on both sides of the 64-bit boundary of the varint writer's fast path.
TEST(LineRecord, AmountsAroundSixtyFourBitsRoundTrip) {
  const int128 two64 = static_cast<int128>(1) << 64;
  for (int128 v : {int128{0}, int128{-1}, int128{63}, int128{-64}, int128{64}, int128{-65},
                   static_cast<int128>(INT64_MAX), static_cast<int128>(INT64_MIN),
                   static_cast<int128>(INT64_MAX) + 1, static_cast<int128>(INT64_MIN) - 1,
                   two64 - 1, two64, two64 + 1, -two64, -two64 - 1, two64 << 6, -(two64 << 6)}) {
    StoredLine line = RatedLine();
    line.quantity = Decimal::FromNanos(v);
    line.rated.billed_bc = Decimal::FromNanos(-v);
    line.rated.fx = rating::FxRate::FromPicos(v);
    std::string bytes;
    EncodeLine(line, &bytes);
    StoredLine back;
    ASSERT_TRUE(DecodeLine(bytes, &back).ok());
    ExpectSame(line, back);
  }
}

// What stores hold: amounts as LEB128 of their zigzag, written here a byte at a time, against
// the encoder's word-assembled fast path and its 128-bit path, at every 7-bit boundary.
std::string ReferenceVarint(int128 v) {
  using u128 = unsigned __int128;
  u128 u = (static_cast<u128>(v) << 1) ^ static_cast<u128>(v >> 127);
  std::string out;
  do {
    uint8_t byte = static_cast<uint8_t>(u & 0x7F);
    u >>= 7;
    if (u != 0) byte |= 0x80;
    out.push_back(static_cast<char>(byte));
  } while (u != 0);
  return out;
}

TEST(LineRecord, AmountsAreStoredAsLeb128OfTheirZigzagAtEveryByteBoundary) {
  constexpr size_t kQuantityAt = 6;  // version, reason, flags, currency (3)
  for (int bits = 0; bits <= 126; ++bits) {
    const int128 edge = static_cast<int128>(1) << bits;
    for (int128 v : {edge - 1, edge, edge + 1, -edge, -edge - 1, -edge + 1}) {
      StoredLine line = RatedLine();
      line.quantity = Decimal::FromNanos(v);
      std::string bytes;
      EncodeLine(line, &bytes);
      const std::string want = ReferenceVarint(v);
      ASSERT_GE(bytes.size(), kQuantityAt + want.size());
      EXPECT_EQ(bytes.substr(kQuantityAt, want.size()), want) << "bits " << bits;
      // and the next field starts right after it
      const std::string price = ReferenceVarint(96'000'000);  // unit_price 0.096
      EXPECT_EQ(bytes.substr(kQuantityAt + want.size(), price.size()), price)
          << "bits " << bits;
    }
  }
}

// Stores written before the compact form hold version-1 records: they must still read.
TEST(LineRecord, ReadsTheFixedWidthVersionOne) {
  StoredLine line = RatedLine();
  std::string v1;
  v1.push_back(1);
  v1.push_back(static_cast<char>(line.rated.reason));
  v1.push_back(1 | 2 | 4 | 8 | 32);  // prices, usd, fx, bc shown; pec_lost
  v1.append(line.rated.currency.chars.data(), 3);
  auto put = [&](int128 v) {
    char b[16];
    std::memcpy(b, &v, 16);
    v1.append(b, 16);
  };
  const rating::RatedAmounts& r = line.rated;
  for (Decimal d : {line.quantity, r.unit_price, r.effective_unit_price, r.pec_rate, r.list_usd,
                    r.pec_usd, r.billed_usd}) {
    put(d.nanos());
  }
  put(r.fx.picos());
  for (Decimal d : {r.list_bc, r.pec_bc, r.billed_bc, r.lost_pec_usd, r.lost_pec_bc}) put(d.nanos());
  uint32_t n = static_cast<uint32_t>(line.resource_uri.size());
  char nb[4];
  std::memcpy(nb, &n, 4);
  v1.append(nb, 4);
  v1.append(line.resource_uri);

  StoredLine back;
  ASSERT_TRUE(DecodeLine(v1, &back).ok());
  ExpectSame(line, back);
}

TEST(LineRecord, TruncatedOrPaddedRecordsAreCorruption) {
  std::string bytes;
  EncodeLine(RatedLine(), &bytes);
  StoredLine back;
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_EQ(DecodeLine(bytes.substr(0, n), &back).code(), StatusCode::kCorruption) << n;
  }
  EXPECT_EQ(DecodeLine(bytes + "x", &back).code(), StatusCode::kCorruption);
}

TEST(LineRecord, AnOverlongVarintIsCorruption) {
  std::string bytes;
  EncodeLine(RatedLine(), &bytes);
  // Replace the quantity (right after version, reason, flags, currency) by 19 continuation
  // bytes: more than 128 bits.
  std::string bad = bytes.substr(0, 6) + std::string(19, '\xff') + bytes.substr(8);
  StoredLine back;
  EXPECT_EQ(DecodeLine(bad, &back).code(), StatusCode::kCorruption);
  bytes[0] = 9;
  EXPECT_EQ(DecodeLine(bytes, &back).code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace meterd::core
