#include "daemon/core/records.h"

#include <bit>
#include <cstring>

namespace meterd::core {
namespace {

using rating::Decimal;
using rating::int128;

// Line records: version 1 held every amount as 16 raw bytes (≈ 315 bytes a line); version 2
// (written now) holds them as zigzag LEB128 varints — most amounts fit in 4–7 bytes and the
// zeros (PEC, lost credit) in one — so a line record is about half the size and a commit dirties
// fewer pages. Version 1 records are still read.
constexpr uint8_t kLineVersionFixed = 1;
constexpr uint8_t kLineVersion = 2;
constexpr uint8_t kTotalsVersion = 1;
constexpr uint8_t kBudgetVersion = 1;
constexpr uint8_t kAlertVersion = 1;

void PutU8(std::string* out, uint8_t v) { out->push_back(static_cast<char>(v)); }
void PutU32(std::string* out, uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);
  out->append(b, 4);
}
void PutI64(std::string* out, int64_t v) {
  char b[8];
  std::memcpy(b, &v, 8);
  out->append(b, 8);
}
void PutI128(std::string* out, int128 v) {
  char b[16];
  std::memcpy(b, &v, 16);
  out->append(b, 16);
}
void PutDec(std::string* out, Decimal d) { PutI128(out, d.nanos()); }
// Writes v as a zigzag LEB128 varint at p and returns the end. Writes up to 8 bytes past the
// varint's end (the caller's buffer has room): amounts below 2^56 (nearly all) are spread into
// their bytes branch-free and stored as one word, since a line record has thirteen of them and
// a byte loop mispredicted on every change of length.
char* PutVarI128(char* p, int128 v) {
  using u128 = unsigned __int128;
  u128 u = (static_cast<u128>(v) << 1) ^ static_cast<u128>(v >> 127);  // zigzag
  if (std::endian::native == std::endian::little && u < (u128{1} << 56)) {
    const uint64_t w = static_cast<uint64_t>(u);
    const int bits = 64 - std::countl_zero(w | 1);
    const int n = (bits + 6) / 7;  // 1..8 bytes
    uint64_t packed = 0;
    for (int i = 0; i < 8; ++i) packed |= (w << i) & (uint64_t{0x7F} << (8 * i));
    // Every byte but the last carries the continuation bit.
    packed |= uint64_t{0x8080808080808080} & ((uint64_t{1} << (8 * (n - 1))) - 1);
    std::memcpy(p, &packed, 8);  // little-endian: the first byte is the lowest
    return p + n;
  }
  while (u >= 0x80) {
    *p++ = static_cast<char>(static_cast<uint8_t>(u) | 0x80);
    u >>= 7;
  }
  *p++ = static_cast<char>(static_cast<uint8_t>(u));
  return p;
}
char* PutVarDec(char* p, Decimal d) { return PutVarI128(p, d.nanos()); }
void PutStr(std::string* out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

// Reads fields in order; any short read poisons the reader, checked once at the end.
class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  uint8_t U8() {
    if (!Need(1)) return 0;
    return static_cast<uint8_t>(b_[pos_++]);
  }
  uint32_t U32() {
    uint32_t v = 0;
    if (Need(4)) { std::memcpy(&v, b_.data() + pos_, 4); pos_ += 4; }
    return v;
  }
  int64_t I64() {
    int64_t v = 0;
    if (Need(8)) { std::memcpy(&v, b_.data() + pos_, 8); pos_ += 8; }
    return v;
  }
  int128 I128() {
    int128 v = 0;
    if (Need(16)) { std::memcpy(&v, b_.data() + pos_, 16); pos_ += 16; }
    return v;
  }
  Decimal Dec() { return Decimal::FromNanos(I128()); }
  int128 VarI128() {
    using u128 = unsigned __int128;
    u128 u = 0;
    for (int shift = 0; shift < 128; shift += 7) {
      if (!Need(1)) return 0;
      const uint8_t byte = static_cast<uint8_t>(b_[pos_++]);
      // The 19th byte may only carry the top two bits of the 128.
      if (shift == 126 && byte > 0x03) break;
      u |= static_cast<u128>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return static_cast<int128>((u >> 1) ^ (~(u & 1) + 1));
    }
    ok_ = false;
    return 0;
  }
  Decimal VarDec() { return Decimal::FromNanos(VarI128()); }
  uint32_t VarU32() {
    int128 v = VarI128();
    if (v < 0 || v > 0xffffffff) { ok_ = false; return 0; }
    return static_cast<uint32_t>(v);
  }
  std::string_view VarStr() { return Bytes(VarU32()); }
  std::string_view Str() { return Bytes(U32()); }
  std::string_view Bytes(uint32_t n) {
    if (!Need(n)) return {};
    std::string_view s = b_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  std::string_view Rest() {
    std::string_view s = b_.substr(pos_);
    pos_ = b_.size();
    return s;
  }
  bool ok() const { return ok_; }
  bool done() const { return ok_ && pos_ == b_.size(); }

 private:
  bool Need(size_t n) {
    if (!ok_ || b_.size() - pos_ < n) { ok_ = false; return false; }
    return true;
  }
  std::string_view b_;
  size_t pos_ = 0;
  bool ok_ = true;
};

void PutCurrency(std::string* out, const rating::CurrencyCode& c) { out->append(c.chars.data(), 3); }
rating::CurrencyCode ReadCurrency(Reader* r) {
  rating::CurrencyCode c;
  for (char& ch : c.chars) ch = static_cast<char>(r->U8());
  return c;
}

enum LineFlags : uint8_t {
  kPricesShown = 1, kUsdShown = 2, kFxShown = 4, kBcShown = 8, kFxProvisional = 16, kPecLost = 32,
};

}  // namespace

void EncodeLine(const StoredLine& line, std::string* out) {
  const rating::RatedAmounts& r = line.rated;
  constexpr size_t kVarints = 13;                      // amounts, FX and the URI's length
  char buf[3 + 3 + kVarints * 19 + 8];                 // ... at most 19 bytes each, + the slack
  char* p = buf;
  *p++ = static_cast<char>(kLineVersion);
  *p++ = static_cast<char>(r.reason);
  *p++ = static_cast<char>((r.prices_shown ? kPricesShown : 0) | (r.usd_shown ? kUsdShown : 0) |
                           (r.fx_shown ? kFxShown : 0) | (r.bc_shown ? kBcShown : 0) |
                           (r.fx_provisional ? kFxProvisional : 0) | (r.pec_lost ? kPecLost : 0));
  std::memcpy(p, r.currency.chars.data(), 3);
  p += 3;
  p = PutVarDec(p, line.quantity);
  p = PutVarDec(p, r.unit_price);
  p = PutVarDec(p, r.effective_unit_price);
  p = PutVarDec(p, r.pec_rate);
  p = PutVarDec(p, r.list_usd);
  p = PutVarDec(p, r.pec_usd);
  p = PutVarDec(p, r.billed_usd);
  p = PutVarI128(p, r.fx.picos());
  p = PutVarDec(p, r.list_bc);
  p = PutVarDec(p, r.pec_bc);
  p = PutVarDec(p, r.billed_bc);
  p = PutVarDec(p, r.lost_pec_usd);
  p = PutVarDec(p, r.lost_pec_bc);
  p = PutVarI128(p, static_cast<int128>(line.resource_uri.size()));
  out->assign(buf, static_cast<size_t>(p - buf));
  out->append(line.resource_uri);
}

Status DecodeLine(std::string_view bytes, StoredLine* out) {
  Reader rd(bytes);
  const uint8_t version = rd.U8();
  if (version != kLineVersion && version != kLineVersionFixed) {
    return Status::Corruption("line record: unknown version");
  }
  const bool fixed = version == kLineVersionFixed;
  auto dec = [&] { return fixed ? rd.Dec() : rd.VarDec(); };
  rating::RatedAmounts& r = out->rated;
  r = rating::RatedAmounts{};
  uint8_t reason = rd.U8();
  if (reason > static_cast<uint8_t>(rating::UnratedReason::kOverflow)) {
    return Status::Corruption("line record: bad reason");
  }
  r.reason = static_cast<rating::UnratedReason>(reason);
  uint8_t flags = rd.U8();
  r.prices_shown = flags & kPricesShown;
  r.usd_shown = flags & kUsdShown;
  r.fx_shown = flags & kFxShown;
  r.bc_shown = flags & kBcShown;
  r.fx_provisional = flags & kFxProvisional;
  r.pec_lost = flags & kPecLost;
  r.currency = ReadCurrency(&rd);
  out->quantity = dec();
  r.unit_price = dec();
  r.effective_unit_price = dec();
  r.pec_rate = dec();
  r.list_usd = dec();
  r.pec_usd = dec();
  r.billed_usd = dec();
  r.fx = rating::FxRate::FromPicos(fixed ? rd.I128() : rd.VarI128());
  r.list_bc = dec();
  r.pec_bc = dec();
  r.billed_bc = dec();
  r.lost_pec_usd = dec();
  r.lost_pec_bc = dec();
  out->resource_uri = std::string(fixed ? rd.Str() : rd.VarStr());
  if (!rd.done()) return Status::Corruption("line record: bad length");
  return Status::Ok();
}

void EncodeTotals(const StoredTotals& st, std::string* out) {
  out->clear();
  const rating::MonthTotals& t = st.totals;
  PutU8(out, kTotalsVersion);
  PutCurrency(out, t.currency);
  PutDec(out, t.list);
  PutDec(out, t.pec);
  PutDec(out, t.billed);
  PutDec(out, t.list_usd);
  PutDec(out, t.pec_usd);
  PutDec(out, t.billed_usd);
  PutI64(out, t.rated_lines);
  PutI64(out, t.unrated_lines);
  PutI64(out, st.as_of.nanos);
  PutU32(out, static_cast<uint32_t>(t.by_category.size()));
  for (const rating::CategoryTotal& c : t.by_category) {
    PutStr(out, c.meter_category);
    PutDec(out, c.list);
    PutDec(out, c.billed);
  }
}

Status DecodeTotals(std::string_view bytes, StoredTotals* out) {
  Reader rd(bytes);
  if (rd.U8() != kTotalsVersion) return Status::Corruption("totals record: unknown version");
  rating::MonthTotals& t = out->totals;
  t = rating::MonthTotals{};
  t.currency = ReadCurrency(&rd);
  t.list = rd.Dec();
  t.pec = rd.Dec();
  t.billed = rd.Dec();
  t.list_usd = rd.Dec();
  t.pec_usd = rd.Dec();
  t.billed_usd = rd.Dec();
  t.rated_lines = rd.I64();
  t.unrated_lines = rd.I64();
  out->as_of.nanos = rd.I64();
  uint32_t n = rd.U32();
  if (!rd.ok() || n > bytes.size()) return Status::Corruption("totals record: bad length");
  t.by_category.reserve(n);
  for (uint32_t i = 0; i < n && rd.ok(); ++i) {
    rating::CategoryTotal c;
    c.meter_category = std::string(rd.Str());
    c.list = rd.Dec();
    c.billed = rd.Dec();
    t.by_category.push_back(std::move(c));
  }
  if (!rd.done()) return Status::Corruption("totals record: bad length");
  return Status::Ok();
}

void EncodeQuantity(Decimal quantity, std::string* out) {
  out->clear();
  PutDec(out, quantity);
}

void EncodeUnknownLine(Decimal quantity, std::string_view resource_uri, std::string* out) {
  out->clear();
  PutDec(out, quantity);
  PutStr(out, resource_uri);
}

Status DecodeUnknownLine(std::string_view bytes, Decimal* quantity, std::string* resource_uri) {
  Reader rd(bytes);
  *quantity = rd.Dec();
  if (rd.done()) return Status::Ok();
  std::string_view uri = rd.Str();
  if (!rd.done()) return Status::Corruption("unknown line record: bad length");
  *resource_uri = std::string(uri);
  return Status::Ok();
}

Status DecodeQuantity(std::string_view bytes, Decimal* out) {
  Reader rd(bytes);
  *out = rd.Dec();
  if (!rd.done()) return Status::Corruption("quantity record: bad length");
  return Status::Ok();
}

void EncodeBudget(const rating::Budget& b, std::string* out) {
  out->clear();
  PutU8(out, kBudgetVersion);
  PutDec(out, b.amount);
  PutU8(out, static_cast<uint8_t>(b.basis));
  PutU32(out, static_cast<uint32_t>(b.thresholds.size()));
  for (Decimal d : b.thresholds) PutDec(out, d);
  PutU32(out, static_cast<uint32_t>(b.forecast_thresholds.size()));
  for (Decimal d : b.forecast_thresholds) PutDec(out, d);
}

Status DecodeBudget(std::string_view bytes, rating::Budget* out) {
  Reader rd(bytes);
  if (rd.U8() != kBudgetVersion) return Status::Corruption("budget record: unknown version");
  out->amount = rd.Dec();
  uint8_t basis = rd.U8();
  if (basis > 1) return Status::Corruption("budget record: bad basis");
  out->basis = static_cast<rating::Basis>(basis);
  for (auto* list : {&out->thresholds, &out->forecast_thresholds}) {
    uint32_t n = rd.U32();
    if (!rd.ok() || n > rating::kMaxThresholds) return Status::Corruption("budget record: bad list");
    list->clear();
    for (uint32_t i = 0; i < n; ++i) list->push_back(rd.Dec());
  }
  if (!rd.done()) return Status::Corruption("budget record: bad length");
  return Status::Ok();
}

void EncodeAlert(const StoredAlert& a, std::string* out) {
  out->clear();
  PutU8(out, kAlertVersion);
  PutU8(out, static_cast<uint8_t>(a.kind));
  PutU8(out, a.basis ? static_cast<uint8_t>(*a.basis) : 0xff);
  PutStr(out, a.customer_id);
  out->append(a.json_members);
}

Status DecodeAlert(std::string_view bytes, StoredAlert* out) {
  Reader rd(bytes);
  if (rd.U8() != kAlertVersion) return Status::Corruption("alert record: unknown version");
  uint8_t kind = rd.U8();
  if (kind > static_cast<uint8_t>(rating::AlertKind::kAnomaly)) {
    return Status::Corruption("alert record: bad kind");
  }
  out->kind = static_cast<rating::AlertKind>(kind);
  uint8_t basis = rd.U8();
  out->basis = basis == 0xff ? std::nullopt
                             : std::optional<rating::Basis>(static_cast<rating::Basis>(basis & 1));
  out->customer_id = std::string(rd.Str());
  out->json_members = std::string(rd.Rest());
  if (!rd.ok()) return Status::Corruption("alert record: bad length");
  return Status::Ok();
}

std::string AlertId(uint64_t seq) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "al_";
  for (int shift = 60; shift >= 0; shift -= 4) id.push_back(kHex[(seq >> shift) & 0xf]);
  return id;
}

std::optional<uint64_t> ParseAlertId(std::string_view id) {
  if (id.size() != 19 || id.substr(0, 3) != "al_") return std::nullopt;
  uint64_t v = 0;
  for (char c : id.substr(3)) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

}  // namespace meterd::core
