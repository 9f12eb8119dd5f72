// Exact decimal arithmetic for money, quantities, prices and rates. No binary floating point.
// Decimal holds a signed 128-bit count of nano-units (9 fractional digits); FxRate holds 12
// fractional digits. Products are formed exactly in 256 bits before rounding half-to-even.
// All types are trivially copyable values; all functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace meterd::rating {

using int128 = __int128;
using uint128 = unsigned __int128;

// Why a value could not be parsed. kTooPrecise: exact value needs more fractional digits than
// allowed (judged on the value: "1.5000000000" is fine at 9 digits, "1.0000000001" is not).
enum class DecimalError { kOk, kSyntax, kTooPrecise, kOutOfRange };
// "ok", "syntax", "too_precise", "out_of_range": stable names for error details and logs.
std::string_view DecimalErrorName(DecimalError e);

class Decimal {
 public:
  static constexpr int kFractionDigits = 9;
  static constexpr int64_t kScale = 1'000'000'000;

  constexpr Decimal() = default;
  static constexpr Decimal FromNanos(int128 nanos) { return Decimal(nanos); }
  static constexpr Decimal FromInteger(int64_t units) { return Decimal(int128(units) * kScale); }
  static constexpr Decimal Zero() { return Decimal(0); }

  // Parses the JSON number grammar (-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?), exactly.
  // "-0" is zero. '+1', '.5', '1.', '01' and anything else are kSyntax. Values whose magnitude
  // exceeds 10^20 are kOutOfRange (stored values never come close). When a value is both too
  // precise and too large, kTooPrecise wins (ingest checks bad_quantity before too_large).
  // Never allocates; *out is written only on kOk.
  static DecimalError Parse(std::string_view text, Decimal* out);

  constexpr int128 nanos() const { return nanos_; }
  constexpr bool IsZero() const { return nanos_ == 0; }
  constexpr bool IsNegative() const { return nanos_ < 0; }

  // Exactly 9 fractional digits: "12.500000000", "-0.000000001", "0.000000000".
  std::string ToString() const;
  // Appends ToString() to out without intermediate allocation (hot path of JSON writers).
  void AppendTo(std::string* out) const;

  friend constexpr Decimal operator+(Decimal a, Decimal b) { return Decimal(a.nanos_ + b.nanos_); }
  friend constexpr Decimal operator-(Decimal a, Decimal b) { return Decimal(a.nanos_ - b.nanos_); }
  friend constexpr Decimal operator-(Decimal a) { return Decimal(-a.nanos_); }
  Decimal& operator+=(Decimal b) {
    nanos_ += b.nanos_;
    return *this;
  }
  Decimal& operator-=(Decimal b) {
    nanos_ -= b.nanos_;
    return *this;
  }
  friend constexpr auto operator<=>(Decimal a, Decimal b) = default;

 private:
  constexpr explicit Decimal(int128 nanos) : nanos_(nanos) {}
  int128 nanos_ = 0;
};

// A currency conversion rate with 12 fractional digits (billing-currency units per 1 USD).
class FxRate {
 public:
  static constexpr int kFractionDigits = 12;
  static constexpr int64_t kScale = 1'000'000'000'000;

  constexpr FxRate() = default;
  static constexpr FxRate FromPicos(int128 picos) { return FxRate(picos); }
  static constexpr FxRate One() { return FxRate(kScale); }
  static DecimalError Parse(std::string_view text, FxRate* out);

  constexpr int128 picos() const { return picos_; }
  std::string ToString() const;  // exactly 12 fractional digits
  // Appends ToString() to out without intermediate allocation.
  void AppendTo(std::string* out) const;
  friend constexpr auto operator<=>(FxRate a, FxRate b) = default;

 private:
  constexpr explicit FxRate(int128 picos) : picos_(picos) {}
  int128 picos_ = 0;
};

// "Fits" below means a magnitude of at most 2^127 − 1 nano-units; nullopt otherwise, never UB.
// round9(a × b), half to even, exact. nullopt when the result does not fit in 128 bits.
std::optional<Decimal> MulRound9(Decimal a, Decimal b);
// round9(a × fx), half to even, exact. nullopt on overflow.
std::optional<Decimal> MulFxRound9(Decimal a, FxRate fx);
// round9(a / b), half to even. nullopt when b is zero or on overflow.
std::optional<Decimal> DivRound9(Decimal a, Decimal b);
// round9(a × num / den), half to even, with the product formed exactly. den > 0 (nullopt
// otherwise, and on overflow).
std::optional<Decimal> MulDivRound9(Decimal a, int128 num, int128 den);
// The exact quotient a × 100 / b rounded half-up (away from zero on ties) to an integer.
// nullopt when b is zero or the result does not fit in int64.
std::optional<int64_t> PercentRoundedHalfUp(Decimal a, Decimal b);
// round9(a / b × 100), half to even. nullopt when b is zero or on overflow.
std::optional<Decimal> PercentRound9(Decimal a, Decimal b);
// Rounds to `digits` fractional digits (0..9; outside that range clamped), half to even; for
// *_display fields only. Within one unit of the int128 limit it truncates instead of wrapping.
Decimal RoundToDigits(Decimal a, int digits);

// 10^15 currency units: the largest quantity or amount the product promises to keep exact.
inline constexpr Decimal kMaxAmount =
    Decimal::FromNanos(int128(1'000'000'000'000'000) * 1'000'000'000);

}  // namespace meterd::rating
