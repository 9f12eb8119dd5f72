// libFuzzer target: rating/decimal.h. The first byte picks what to exercise; the rest is text.
// Every parse result is checked against an independent evaluation of the same text (a slow
// arbitrary-precision one written here, sharing no code with decimal.cc), every accepted value
// must survive ToString -> Parse unchanged, and the rounding functions are checked against
// exact big-integer arithmetic: round-half-even of the exact product or quotient. Money that is
// off by one nano-unit is a bug this target exists to find.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rating/decimal.h"

namespace {

using meterd::rating::Decimal;
using meterd::rating::DecimalError;
using meterd::rating::FxRate;
using meterd::rating::int128;
using meterd::rating::uint128;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

// A signed arbitrary-precision integer: little-endian base-2^32 magnitude. Deliberately naive
// (schoolbook, no shortcuts) so it cannot share a bug with the 256-bit code under test.
struct Big {
  bool negative = false;
  std::vector<uint32_t> mag;  // no trailing zero limbs; empty is zero

  static Big FromInt128(int128 v) {
    Big b;
    b.negative = v < 0;
    uint128 m = b.negative ? uint128(0) - uint128(v) : uint128(v);
    while (m != 0) {
      b.mag.push_back(static_cast<uint32_t>(m));
      m >>= 32;
    }
    return b;
  }
  bool IsZero() const { return mag.empty(); }
  void Trim() {
    while (!mag.empty() && mag.back() == 0) mag.pop_back();
    if (mag.empty()) negative = false;
  }
  void MulSmall(uint32_t f) {
    uint64_t carry = 0;
    for (uint32_t& limb : mag) {
      const uint64_t v = uint64_t{limb} * f + carry;
      limb = static_cast<uint32_t>(v);
      carry = v >> 32;
    }
    if (carry) mag.push_back(static_cast<uint32_t>(carry));
    Trim();
  }
  void AddSmall(uint32_t a) {  // magnitude += a
    uint64_t carry = a;
    for (size_t i = 0; carry && i < mag.size(); ++i) {
      const uint64_t v = uint64_t{mag[i]} + carry;
      mag[i] = static_cast<uint32_t>(v);
      carry = v >> 32;
    }
    if (carry) mag.push_back(static_cast<uint32_t>(carry));
  }
  // magnitude /= d; returns the remainder.
  uint32_t DivSmall(uint32_t d) {
    uint64_t rem = 0;
    for (size_t i = mag.size(); i-- > 0;) {
      const uint64_t cur = (rem << 32) | mag[i];
      mag[i] = static_cast<uint32_t>(cur / d);
      rem = cur % d;
    }
    Trim();
    return static_cast<uint32_t>(rem);
  }
  static Big Mul(const Big& a, const Big& b) {
    Big r;
    r.negative = a.negative != b.negative;
    r.mag.assign(a.mag.size() + b.mag.size(), 0);
    for (size_t i = 0; i < a.mag.size(); ++i) {
      uint64_t carry = 0;
      for (size_t j = 0; j < b.mag.size(); ++j) {
        const uint64_t v = uint64_t{a.mag[i]} * b.mag[j] + r.mag[i + j] + carry;
        r.mag[i + j] = static_cast<uint32_t>(v);
        carry = v >> 32;
      }
      r.mag[i + b.mag.size()] += static_cast<uint32_t>(carry);
    }
    r.Trim();
    return r;
  }
  static int CompareMag(const Big& a, const Big& b) {
    if (a.mag.size() != b.mag.size()) return a.mag.size() < b.mag.size() ? -1 : 1;
    for (size_t i = a.mag.size(); i-- > 0;) {
      if (a.mag[i] != b.mag[i]) return a.mag[i] < b.mag[i] ? -1 : 1;
    }
    return 0;
  }
  static Big SubMag(const Big& big, const Big& small) {  // |big| - |small|, |big| >= |small|
    Big r;
    r.mag = big.mag;
    int64_t borrow = 0;
    for (size_t i = 0; i < r.mag.size(); ++i) {
      int64_t v = int64_t{r.mag[i]} - borrow - (i < small.mag.size() ? int64_t{small.mag[i]} : 0);
      borrow = v < 0;
      if (v < 0) v += int64_t{1} << 32;
      r.mag[i] = static_cast<uint32_t>(v);
    }
    r.Trim();
    return r;
  }
  static Big Sub(const Big& a, const Big& b) {  // a - b
    Big nb = b;
    nb.negative = !b.negative && !b.IsZero();
    return Add(a, nb);
  }
  static Big Add(const Big& a, const Big& b) {
    if (a.negative == b.negative) {
      Big r;
      r.negative = a.negative;
      const size_t n = std::max(a.mag.size(), b.mag.size());
      uint64_t carry = 0;
      for (size_t i = 0; i < n; ++i) {
        const uint64_t v = uint64_t{i < a.mag.size() ? a.mag[i] : 0} +
                           (i < b.mag.size() ? b.mag[i] : 0) + carry;
        r.mag.push_back(static_cast<uint32_t>(v));
        carry = v >> 32;
      }
      if (carry) r.mag.push_back(static_cast<uint32_t>(carry));
      r.Trim();
      return r;
    }
    const int c = CompareMag(a, b);
    if (c == 0) return Big{};
    Big r = c > 0 ? SubMag(a, b) : SubMag(b, a);
    r.negative = c > 0 ? a.negative : b.negative;
    r.Trim();
    return r;
  }
};

// Independent evaluation of the JSON number grammar at `digits` fractional digits: what
// Decimal/FxRate::Parse must answer. Returns the error and, on kOk, the scaled value.
DecimalError Reference(std::string_view s, int digits, Big* out) {
  size_t i = 0;
  const bool negative = i < s.size() && s[i] == '-';
  if (negative) ++i;
  auto is_digit = [&](size_t k) { return k < s.size() && s[k] >= '0' && s[k] <= '9'; };
  if (!is_digit(i)) return DecimalError::kSyntax;
  std::string mantissa;
  if (s[i] == '0') {
    mantissa += '0';
    ++i;
  } else {
    while (is_digit(i)) mantissa += s[i++];
  }
  int64_t frac = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!is_digit(i)) return DecimalError::kSyntax;
    while (is_digit(i)) {
      mantissa += s[i++];
      ++frac;
    }
  }
  int64_t exp = 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool en = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) en = s[i++] == '-';
    if (!is_digit(i)) return DecimalError::kSyntax;
    while (is_digit(i)) {
      // Saturate: any exponent beyond 10^12 decides the answer by its sign alone.
      if (exp < 1'000'000'000'000) exp = exp * 10 + (s[i] - '0');
      ++i;
    }
    if (en) exp = -exp;
  }
  if (i != s.size()) return DecimalError::kSyntax;
  // value = mantissa × 10^(exp − frac); move trailing zeros of the mantissa into the exponent.
  mantissa.erase(0, std::min(mantissa.find_first_not_of('0'), mantissa.size()));
  if (mantissa.empty()) {
    *out = Big{};
    return DecimalError::kOk;
  }
  int64_t scale = exp - frac + digits;
  while (mantissa.back() == '0') {
    mantissa.pop_back();
    ++scale;
  }
  if (scale < 0) return DecimalError::kTooPrecise;
  // |value| ≤ 10^20 ⇔ scaled magnitude ≤ 10^(20 + digits); decide huge scales without
  // materializing them.
  if (static_cast<int64_t>(mantissa.size()) + scale > 20 + digits + 1) {
    return DecimalError::kOutOfRange;
  }
  Big v;
  for (char c : mantissa) {
    v.MulSmall(10);
    v.AddSmall(static_cast<uint32_t>(c - '0'));
  }
  for (int64_t k = 0; k < scale; ++k) v.MulSmall(10);
  Big limit = Big::FromInt128(1);
  for (int k = 0; k < 20 + digits; ++k) limit.MulSmall(10);
  if (Big::CompareMag(v, limit) > 0) return DecimalError::kOutOfRange;
  v.negative = negative;
  v.Trim();
  *out = v;
  return DecimalError::kOk;
}

bool EqualsInt128(const Big& b, int128 v) {
  const Big w = Big::FromInt128(v);
  return b.negative == w.negative && Big::CompareMag(b, w) == 0;
}

bool FitsInt128(const Big& b) {
  if (b.mag.size() > 4) return false;
  if (b.mag.size() < 4) return true;
  // |v| ≤ 2^127 − 1 (the library never produces −2^127).
  return (b.mag[3] & 0x80000000u) == 0;
}

int128 ToInt128(const Big& b) {
  uint128 m = 0;
  for (size_t i = b.mag.size(); i-- > 0;) m = (m << 32) | b.mag[i];
  return b.negative ? -static_cast<int128>(m) : static_cast<int128>(m);
}

// round-half-even(n / d) for d > 0, exactly (or away from zero on ties when half_up).
Big RoundDiv(const Big& n, const Big& d, bool half_up) {
  // Schoolbook long division by a multi-limb divisor, bit by bit: slow and obviously right.
  Big q, r;
  const size_t bits = n.mag.size() * 32;
  for (size_t k = bits; k-- > 0;) {
    r.MulSmall(2);
    if ((n.mag[k / 32] >> (k % 32)) & 1) r.AddSmall(1);
    r.Trim();
    q.MulSmall(2);
    if (Big::CompareMag(r, d) >= 0) {
      r = Big::SubMag(r, d);
      q.AddSmall(1);
    }
  }
  q.Trim();
  // Compare 2r with d.
  Big twice = r;
  twice.MulSmall(2);
  const int c = Big::CompareMag(twice, d);
  const bool odd = !q.mag.empty() && (q.mag[0] & 1);
  if (c > 0 || (c == 0 && (half_up || odd))) q.AddSmall(1);
  q.negative = n.negative;
  q.Trim();
  return q;
}

Big Pow10Big(int n) {
  Big b = Big::FromInt128(1);
  for (int i = 0; i < n; ++i) b.MulSmall(10);
  return b;
}

// Checks an optional result against the exact expectation: nullopt exactly when it overflows.
void CheckRounded(std::optional<int128> got, const Big& want, const char* what) {
  if (!FitsInt128(want)) {
    Check(!got.has_value(), what);
    return;
  }
  Check(got.has_value() && EqualsInt128(want, *got), what);
}

void CheckParse(std::string_view text) {
  Decimal d = Decimal::FromNanos(12345);  // sentinel: Parse must leave it alone on failure
  const DecimalError e = Decimal::Parse(text, &d);
  Big want;
  const DecimalError w = Reference(text, Decimal::kFractionDigits, &want);
  Check(e == w, "Decimal::Parse error differs from the reference");
  if (e != DecimalError::kOk) {
    Check(d.nanos() == 12345, "Parse wrote *out on failure");
  } else {
    Check(EqualsInt128(want, d.nanos()), "Decimal::Parse value differs from the reference");
    const std::string s = d.ToString();
    std::string appended = "x";
    d.AppendTo(&appended);
    Check(appended == "x" + s, "AppendTo differs from ToString");
    const size_t dot = s.find('.');
    Check(dot != std::string::npos && s.size() - dot - 1 == 9, "ToString: 9 fractional digits");
    Decimal back;
    Check(Decimal::Parse(s, &back) == DecimalError::kOk && back == d, "ToString round trip");
  }

  FxRate fx = FxRate::FromPicos(777);
  const DecimalError fe = FxRate::Parse(text, &fx);
  const DecimalError fw = Reference(text, FxRate::kFractionDigits, &want);
  Check(fe == fw, "FxRate::Parse error differs from the reference");
  if (fe == DecimalError::kOk) {
    Check(EqualsInt128(want, fx.picos()), "FxRate::Parse value differs from the reference");
    const std::string s = fx.ToString();
    FxRate back;
    Check(FxRate::Parse(s, &back) == DecimalError::kOk && back == fx, "FxRate round trip");
  } else {
    Check(fx.picos() == 777, "FxRate::Parse wrote *out on failure");
  }
}

std::optional<int128> Nanos(std::optional<Decimal> d) {
  if (!d) return std::nullopt;
  return d->nanos();
}

int128 Read128(const uint8_t*& p, const uint8_t* end) {
  uint128 v = 0;
  for (int i = 0; i < 16 && p != end; ++i) v = (v << 8) | *p++;
  return static_cast<int128>(v);
}

// Arithmetic on two raw 128-bit nano counts taken from the input bytes (the full range, not
// just parseable values, so the 256-bit paths and the overflow answers are reached).
void CheckArithmetic(const uint8_t* p, const uint8_t* end, uint8_t shift) {
  int128 x = Read128(p, end);
  int128 y = Read128(p, end);
  // Shifting right spreads the magnitudes over every size class, small ones included.
  x >>= (shift & 0x7f);
  y >>= ((shift >> 1) & 0x7f);
  // −2^127 has no positive counterpart; the library's domain is |v| ≤ 2^127 − 1.
  if (x == std::numeric_limits<int128>::min()) ++x;
  if (y == std::numeric_limits<int128>::min()) ++y;
  const Decimal a = Decimal::FromNanos(x), b = Decimal::FromNanos(y);
  const Big bx = Big::FromInt128(x), by = Big::FromInt128(y);
  const Big scale = Pow10Big(9);

  // MulRound9: round(x·y / 10^9).
  CheckRounded(Nanos(MulRound9(a, b)), RoundDiv(Big::Mul(bx, by), scale, false), "MulRound9");
  Check(Nanos(MulRound9(a, b)) == Nanos(MulRound9(b, a)), "MulRound9 commutes");
  // MulFxRound9: round(x·picos / 10^12), picos > 0 in practice but any sign must be exact.
  const FxRate fx = FxRate::FromPicos(y);
  CheckRounded(Nanos(MulFxRound9(a, fx)), RoundDiv(Big::Mul(bx, by), Pow10Big(12), false),
               "MulFxRound9");
  if (y != 0) {
    // DivRound9: round(x·10^9 / y) with the sign of x·y.
    Big n = Big::Mul(bx, scale);
    n.negative = (x < 0) != (y < 0) && x != 0;
    Big d = by;
    d.negative = false;
    CheckRounded(Nanos(DivRound9(a, b)), RoundDiv(n, d, false), "DivRound9");
    // PercentRound9: round(x·10^11 / y).
    Big np = Big::Mul(bx, Pow10Big(11));
    np.negative = n.negative;
    CheckRounded(Nanos(PercentRound9(a, b)), RoundDiv(np, d, false), "PercentRound9");
    // PercentRoundedHalfUp: round-half-away(x·100 / y) as int64.
    Big nh = Big::Mul(bx, Pow10Big(2));
    nh.negative = n.negative;
    const Big want = RoundDiv(nh, d, true);
    const auto got = meterd::rating::PercentRoundedHalfUp(a, b);
    const bool fits = FitsInt128(want) && ToInt128(want) <= std::numeric_limits<int64_t>::max() &&
                      ToInt128(want) >= std::numeric_limits<int64_t>::min();
    Check(fits ? (got.has_value() && EqualsInt128(want, *got)) : !got.has_value(),
          "PercentRoundedHalfUp");
  } else {
    Check(!DivRound9(a, b) && !PercentRound9(a, b) && !meterd::rating::PercentRoundedHalfUp(a, b),
          "division by zero answers nullopt");
  }
  // MulDivRound9(a, num, den): take num = y, den = |x| + 1 kept positive and small enough.
  const int128 den = (x < 0 ? -(x / 2) : x / 2) + 1;
  {
    Big nd = Big::Mul(bx, by);
    CheckRounded(Nanos(MulDivRound9(a, y, den)), RoundDiv(nd, Big::FromInt128(den), false),
                 "MulDivRound9");
  }
  Check(!MulDivRound9(a, y, 0) && !MulDivRound9(a, y, -1), "MulDivRound9 needs den > 0");

  // RoundToDigits: a multiple of 10^(9−digits) within half a unit (ties to even), except the
  // documented truncation within one unit of the int128 limit.
  // −1..10: clamping out-of-range digits is part of the contract.
  const int digits = static_cast<int>(shift % 12) - 1;
  const Decimal r = meterd::rating::RoundToDigits(a, digits);
  const int eff = std::clamp(digits, 0, 9);
  const Big unit = Pow10Big(9 - eff);
  Big want = RoundDiv(bx, unit, false);
  want = Big::Mul(want, unit);
  if (FitsInt128(want)) {
    Check(EqualsInt128(want, r.nanos()), "RoundToDigits");
  } else {
    // Truncation toward zero: |x| / unit × unit with x's sign.
    Big q = bx;
    q.negative = false;
    q.DivSmall(static_cast<uint32_t>(ToInt128(unit)));
    q = Big::Mul(q, unit);
    q.negative = x < 0;
    q.Trim();
    Check(EqualsInt128(q, r.nanos()),
          "RoundToDigits truncation near the limit");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (mode % 4 == 3) {
    if (size < 2) return 0;
    CheckArithmetic(data + 2, data + size, data[1]);
    return 0;
  }
  if (text.size() > 4096) return 0;  // the reference is quadratic; parsers are linear
  CheckParse(text);
  // Two parsed operands separated by a space: parse-level values through the arithmetic too.
  if (mode % 4 == 2) {
    const size_t sp = text.find(' ');
    if (sp == std::string_view::npos) return 0;
    Decimal a, b;
    if (Decimal::Parse(text.substr(0, sp), &a) != DecimalError::kOk ||
        Decimal::Parse(text.substr(sp + 1), &b) != DecimalError::kOk) {
      return 0;
    }
    uint8_t buf[34] = {};
    const uint128 ua = static_cast<uint128>(a.nanos()), ub = static_cast<uint128>(b.nanos());
    for (int i = 0; i < 16; ++i) {
      buf[i] = static_cast<uint8_t>(ua >> (8 * (15 - i)));
      buf[16 + i] = static_cast<uint8_t>(ub >> (8 * (15 - i)));
    }
    CheckArithmetic(buf, buf + 32, 0);
    Check(a + b - b == a, "addition round trip");
  }
  return 0;
}
