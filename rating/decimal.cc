// Exact decimal arithmetic. Every product is formed exactly in 256 bits and divided back with a
// single correctly rounded division, so no intermediate step ever loses a digit or overflows
// silently. The common case (operands below 2^64) stays on 64/128-bit machine arithmetic.

#include "rating/decimal.h"

#include <cstddef>
#include <cstring>
#include <limits>

namespace meterd::rating {
namespace {

constexpr uint128 kUint128Max = ~uint128{0};
constexpr uint128 kInt128Max = kUint128Max >> 1;
constexpr uint64_t kUint64Max = std::numeric_limits<uint64_t>::max();

constexpr uint128 Pow10(int n) {
  uint128 p = 1;
  for (int i = 0; i < n; ++i) p *= 10;
  return p;
}

constexpr uint64_t kPow10[20] = {1,
                                 10,
                                 100,
                                 1000,
                                 10000,
                                 100000,
                                 1000000,
                                 10000000,
                                 100000000,
                                 1000000000,
                                 10000000000,
                                 100000000000,
                                 1000000000000,
                                 10000000000000,
                                 100000000000000,
                                 1000000000000000,
                                 10000000000000000,
                                 100000000000000000,
                                 1000000000000000000,
                                 10000000000000000000u};

// An unsigned 256-bit value as two 128-bit halves; only what exact mul-then-div needs.
struct U256 {
  uint128 hi = 0;
  uint128 lo = 0;
};

U256 Mul128(uint128 x, uint128 y) {
  const uint64_t x0 = static_cast<uint64_t>(x);
  const uint64_t x1 = static_cast<uint64_t>(x >> 64);
  const uint64_t y0 = static_cast<uint64_t>(y);
  const uint64_t y1 = static_cast<uint64_t>(y >> 64);
  if (x1 == 0 && y1 == 0) return U256{0, uint128{x0} * y0};
  const uint128 p00 = uint128{x0} * y0;
  const uint128 p01 = uint128{x0} * y1;
  const uint128 p10 = uint128{x1} * y0;
  const uint128 p11 = uint128{x1} * y1;
  // Three 64-bit quantities cannot overflow 128 bits.
  const uint128 mid = (p00 >> 64) + static_cast<uint64_t>(p01) + static_cast<uint64_t>(p10);
  U256 r;
  r.lo = (mid << 64) | static_cast<uint64_t>(p00);
  r.hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
  return r;
}

enum class Rounding { kHalfEven, kHalfAwayFromZero };

// Rounds the quotient q with remainder r of a division by d (r < d) according to `mode`.
// Returns false when the rounded quotient would not fit in 128 bits.
bool RoundQuotient(uint128 d, uint128 r, Rounding mode, uint128* q) {
  if (r == 0) return true;
  const uint128 rest = d - r;  // r > rest ⇔ r > d/2, without computing 2r (which may overflow)
  bool up = r > rest;
  if (r == rest) up = mode == Rounding::kHalfAwayFromZero || (*q & 1) != 0;
  if (!up) return true;
  if (*q == kUint128Max) return false;
  ++*q;
  return true;
}

// Divides the 256-bit n by d (> 0). Returns false when the quotient needs more than 128 bits.
bool DivMod256(U256 n, uint128 d, uint128* q, uint128* r) {
  if (n.hi >= d) return false;  // quotient >= 2^128
  if (n.hi == 0) {
    if (n.lo <= kUint64Max && d <= kUint64Max) {
      // Plain 64-bit division: the overwhelmingly common case (quantities × prices).
      const uint64_t a = static_cast<uint64_t>(n.lo);
      const uint64_t b = static_cast<uint64_t>(d);
      *q = a / b;
      *r = a % b;
      return true;
    }
    *q = n.lo / d;
    *r = n.lo % d;
    return true;
  }
  if (d <= kUint64Max) {
    // Schoolbook division by one 64-bit digit; n.hi < d keeps every partial quotient < 2^64.
    const uint64_t dd = static_cast<uint64_t>(d);
    const uint128 top = n.hi;  // < d, so < 2^64
    const uint128 part1 = (top << 64) | static_cast<uint64_t>(n.lo >> 64);
    const uint64_t q1 = static_cast<uint64_t>(part1 / dd);
    const uint128 r1 = part1 % dd;
    const uint128 part0 = (r1 << 64) | static_cast<uint64_t>(n.lo);
    const uint64_t q0 = static_cast<uint64_t>(part0 / dd);
    *r = part0 % dd;
    *q = (uint128{q1} << 64) | q0;
    return true;
  }
  // Large divisors are rare (amounts above ~1.8e10 units); restoring binary division suffices.
  uint128 rem = n.hi;
  uint128 quo = 0;
  for (int bit = 127; bit >= 0; --bit) {
    const bool carry = (rem >> 127) != 0;
    rem = (rem << 1) | ((n.lo >> bit) & 1);
    quo <<= 1;
    if (carry || rem >= d) {
      rem -= d;  // wraps correctly when carry is set: the true value is rem + 2^128 >= d
      quo |= 1;
    }
  }
  *q = quo;
  *r = rem;
  return true;
}

uint128 Magnitude(int128 v) { return v < 0 ? uint128{0} - static_cast<uint128>(v) : uint128(v); }

// round(|x| × |y| / d) with the sign of x × y, which must fit in ±(2^127 − 1).
std::optional<int128> MulDivSigned(int128 x, int128 y, uint128 d, Rounding mode) {
  const bool negative = (x < 0) != (y < 0);
  U256 product = Mul128(Magnitude(x), Magnitude(y));
  uint128 q, r;
  if (!DivMod256(product, d, &q, &r)) return std::nullopt;
  if (!RoundQuotient(d, r, mode, &q)) return std::nullopt;
  if (q > kInt128Max) return std::nullopt;
  const int128 mag = static_cast<int128>(q);
  return negative ? -mag : mag;
}

// Parses the JSON number grammar into an integer count of 10^-kDigits units. Never allocates.
template <int kDigits>
DecimalError ParseScaled(std::string_view text, int128* out) {
  const char* p = text.data();
  const char* const end = p + text.size();
  bool negative = false;
  if (p != end && *p == '-') {
    negative = true;
    ++p;
  }
  // Integer part: "0" or [1-9][0-9]*.
  const char* int_begin = p;
  if (p == end) return DecimalError::kSyntax;
  if (*p == '0') {
    ++p;
  } else if (*p >= '1' && *p <= '9') {
    while (p != end && *p >= '0' && *p <= '9') ++p;
  } else {
    return DecimalError::kSyntax;
  }
  const char* int_end = p;
  const char* frac_begin = p;
  const char* frac_end = p;
  if (p != end && *p == '.') {
    ++p;
    frac_begin = p;
    while (p != end && *p >= '0' && *p <= '9') ++p;
    frac_end = p;
    if (frac_begin == frac_end) return DecimalError::kSyntax;
  }
  // The exponent saturates far beyond any meaningful value so huge exponents cannot overflow.
  constexpr int64_t kExponentCap = int64_t{1} << 50;
  int64_t exponent = 0;
  if (p != end && (*p == 'e' || *p == 'E')) {
    ++p;
    bool exp_negative = false;
    if (p != end && (*p == '+' || *p == '-')) {
      exp_negative = *p == '-';
      ++p;
    }
    if (p == end || *p < '0' || *p > '9') return DecimalError::kSyntax;
    while (p != end && *p >= '0' && *p <= '9') {
      if (exponent < kExponentCap) exponent = exponent * 10 + (*p - '0');
      ++p;
    }
    if (exp_negative) exponent = -exponent;
  }
  if (p != end) return DecimalError::kSyntax;

  const int64_t int_len = int_end - int_begin;
  const int64_t frac_len = frac_end - frac_begin;
  // Fast path for what feeds send ("2.5", "24.0000075"): no exponent, at most 19 digits (fits
  // uint64, below 10^19 so in range) and no more fraction digits than the scale keeps.
  if (exponent == 0 && int_len + frac_len <= 19 && frac_len <= kDigits) {
    uint64_t acc = 0;
    for (const char* q = int_begin; q != int_end; ++q) acc = acc * 10 + unsigned(*q - '0');
    for (const char* q = frac_begin; q != frac_end; ++q) acc = acc * 10 + unsigned(*q - '0');
    const uint128 v = uint128{acc} * kPow10[kDigits - frac_len];
    *out = negative ? -static_cast<int128>(v) : static_cast<int128>(v);
    return DecimalError::kOk;
  }

  // The digit sequence is int part followed by fraction part; value = digits × 10^scale.
  const int64_t total = int_len + frac_len;
  const auto nth = [&](int64_t i) -> char {
    return i < int_len ? int_begin[i] : frac_begin[i - int_len];
  };
  int64_t first = 0;
  while (first < total && nth(first) == '0') ++first;
  if (first == total) {  // every digit is zero: "-0", "0.000e999"
    *out = 0;
    return DecimalError::kOk;
  }
  int64_t last = total - 1;
  while (nth(last) == '0') --last;
  const int64_t significant = last - first + 1;
  // Value = S × 10^scale where S has `significant` digits and no trailing zero.
  const int64_t scale = exponent - frac_len + (total - 1 - last);
  if (scale + kDigits < 0) return DecimalError::kTooPrecise;
  // S ≥ 10^(significant-1), so significant + scale > 21 means the value is ≥ 10^21.
  if (significant + scale > 21) return DecimalError::kOutOfRange;
  // Now significant ≤ 21 − scale ≤ 21 + kDigits digits and the scaled value has at most
  // 21 + kDigits digits, which fits in 128 bits for kDigits ≤ 17.
  static_assert(kDigits <= 17);
  uint128 v = 0;
  for (int64_t i = first; i <= last; ++i) v = v * 10 + static_cast<unsigned>(nth(i) - '0');
  v *= Pow10(static_cast<int>(scale + kDigits));
  if (v > Pow10(20 + kDigits)) return DecimalError::kOutOfRange;
  *out = negative ? -static_cast<int128>(v) : static_cast<int128>(v);
  return DecimalError::kOk;
}

// Writes the digits of v (no sign) ending at `end`, returns the first written position.
char* WriteUnsigned(uint128 v, char* end) {
  constexpr uint64_t k19 = 10'000'000'000'000'000'000ull;
  // Peel 19-digit chunks so the inner loop runs on 64-bit integers.
  while (v > kUint64Max) {
    uint64_t chunk = static_cast<uint64_t>(v % k19);
    v /= k19;
    for (int i = 0; i < 19; ++i) {
      *--end = static_cast<char>('0' + chunk % 10);
      chunk /= 10;
    }
  }
  uint64_t small = static_cast<uint64_t>(v);
  do {
    *--end = static_cast<char>('0' + small % 10);
    small /= 10;
  } while (small != 0);
  return end;
}

template <int kDigits>
void AppendScaled(int128 value, std::string* out) {
  // 39 digits of int128, a sign and a point.
  char buf[48];
  char* const end = buf + sizeof(buf);
  const uint128 mag = Magnitude(value);
  constexpr uint64_t kScaleU = kPow10[kDigits];
  uint64_t frac;
  uint128 units;
  if (mag <= kUint64Max) {
    // 64-bit division by a constant compiles to a multiply; 128-bit would call __udivti3.
    const uint64_t m = static_cast<uint64_t>(mag);
    frac = m % kScaleU;
    units = m / kScaleU;
  } else {
    frac = static_cast<uint64_t>(mag % kScaleU);
    units = mag / kScaleU;
  }
  char* p = end;
  for (int i = 0; i < kDigits; ++i) {
    *--p = static_cast<char>('0' + frac % 10);
    frac /= 10;
  }
  *--p = '.';
  p = WriteUnsigned(units, p);
  if (value < 0) *--p = '-';
  out->append(p, static_cast<size_t>(end - p));
}

}  // namespace

std::string_view DecimalErrorName(DecimalError e) {
  switch (e) {
    case DecimalError::kOk:
      return "ok";
    case DecimalError::kSyntax:
      return "syntax";
    case DecimalError::kTooPrecise:
      return "too_precise";
    case DecimalError::kOutOfRange:
      return "out_of_range";
  }
  return "unknown";
}

DecimalError Decimal::Parse(std::string_view text, Decimal* out) {
  int128 v;
  const DecimalError e = ParseScaled<kFractionDigits>(text, &v);
  if (e == DecimalError::kOk) *out = Decimal(v);
  return e;
}

std::string Decimal::ToString() const {
  std::string s;
  AppendTo(&s);
  return s;
}

void Decimal::AppendTo(std::string* out) const { AppendScaled<kFractionDigits>(nanos_, out); }

DecimalError FxRate::Parse(std::string_view text, FxRate* out) {
  int128 v;
  const DecimalError e = ParseScaled<kFractionDigits>(text, &v);
  if (e == DecimalError::kOk) *out = FxRate(v);
  return e;
}

std::string FxRate::ToString() const {
  std::string s;
  AppendTo(&s);
  return s;
}

void FxRate::AppendTo(std::string* out) const { AppendScaled<kFractionDigits>(picos_, out); }

std::optional<Decimal> MulRound9(Decimal a, Decimal b) {
  const auto v = MulDivSigned(a.nanos(), b.nanos(), Decimal::kScale, Rounding::kHalfEven);
  if (!v) return std::nullopt;
  return Decimal::FromNanos(*v);
}

std::optional<Decimal> MulFxRound9(Decimal a, FxRate fx) {
  const auto v = MulDivSigned(a.nanos(), fx.picos(), FxRate::kScale, Rounding::kHalfEven);
  if (!v) return std::nullopt;
  return Decimal::FromNanos(*v);
}

std::optional<Decimal> DivRound9(Decimal a, Decimal b) {
  if (b.IsZero()) return std::nullopt;
  // a/b in nanos = a.nanos × 10^9 / b.nanos; the divisor's sign moves onto the multiplier.
  const int128 scale = b.IsNegative() ? -int128{Decimal::kScale} : int128{Decimal::kScale};
  const auto v = MulDivSigned(a.nanos(), scale, Magnitude(b.nanos()), Rounding::kHalfEven);
  if (!v) return std::nullopt;
  return Decimal::FromNanos(*v);
}

std::optional<Decimal> MulDivRound9(Decimal a, int128 num, int128 den) {
  if (den <= 0) return std::nullopt;
  const auto v = MulDivSigned(a.nanos(), num, static_cast<uint128>(den), Rounding::kHalfEven);
  if (!v) return std::nullopt;
  return Decimal::FromNanos(*v);
}

std::optional<int64_t> PercentRoundedHalfUp(Decimal a, Decimal b) {
  if (b.IsZero()) return std::nullopt;
  const int128 hundred = b.IsNegative() ? -100 : 100;
  const auto v =
      MulDivSigned(a.nanos(), hundred, Magnitude(b.nanos()), Rounding::kHalfAwayFromZero);
  if (!v || *v > std::numeric_limits<int64_t>::max() || *v < std::numeric_limits<int64_t>::min()) {
    return std::nullopt;
  }
  return static_cast<int64_t>(*v);
}

std::optional<Decimal> PercentRound9(Decimal a, Decimal b) {
  if (b.IsZero()) return std::nullopt;
  // a/b × 100 in nanos = a.nanos × 10^11 / b.nanos.
  constexpr int128 kHundredScale = int128{Decimal::kScale} * 100;
  const int128 mult = b.IsNegative() ? -kHundredScale : kHundredScale;
  const auto v = MulDivSigned(a.nanos(), mult, Magnitude(b.nanos()), Rounding::kHalfEven);
  if (!v) return std::nullopt;
  return Decimal::FromNanos(*v);
}

Decimal RoundToDigits(Decimal a, int digits) {
  if (digits >= Decimal::kFractionDigits) return a;
  if (digits < 0) digits = 0;
  const uint128 unit = Pow10(Decimal::kFractionDigits - digits);
  const uint128 mag = Magnitude(a.nanos());
  uint128 q = mag / unit;
  if (!RoundQuotient(unit, mag % unit, Rounding::kHalfEven, &q) || q > kInt128Max / unit) {
    q = mag / unit;  // only reachable within one unit of the int128 limit: truncate instead
  }
  const int128 rounded = static_cast<int128>(q * unit);
  return Decimal::FromNanos(a.IsNegative() ? -rounded : rounded);
}

}  // namespace meterd::rating
