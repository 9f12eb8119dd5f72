#include "rating/decimal.h"

#include <gtest/gtest.h>

#include <boost/multiprecision/cpp_int.hpp>
#include <cstdint>
#include <random>
#include <string>

namespace meterd::rating {
namespace {

using boost::multiprecision::cpp_int;

Decimal D(std::string_view text) {
  Decimal d;
  const DecimalError e = Decimal::Parse(text, &d);
  EXPECT_EQ(e, DecimalError::kOk) << text;
  return d;
}

FxRate Fx(std::string_view text) {
  FxRate f;
  const DecimalError e = FxRate::Parse(text, &f);
  EXPECT_EQ(e, DecimalError::kOk) << text;
  return f;
}

DecimalError ParseError(std::string_view text) {
  Decimal d = Decimal::FromInteger(7);
  const DecimalError e = Decimal::Parse(text, &d);
  if (e != DecimalError::kOk) {
    EXPECT_EQ(d, Decimal::FromInteger(7)) << "output written on error";
  }
  return e;
}

std::string Str(std::optional<Decimal> d) { return d ? d->ToString() : "nullopt"; }

constexpr int128 kInt128Max = static_cast<int128>(~uint128{0} >> 1);

// --- Parsing ---------------------------------------------------------------------------------

TEST(DecimalParse, ReadsPlainNumbersExactly) {
  EXPECT_EQ(D("0").nanos(), 0);
  EXPECT_EQ(D("1").nanos(), 1'000'000'000);
  EXPECT_EQ(D("2.5").nanos(), 2'500'000'000);
  EXPECT_EQ(D("-2.5").nanos(), -2'500'000'000);
  EXPECT_EQ(D("0.000000001").nanos(), 1);
  EXPECT_EQ(D("24.0000075").nanos(), 24'000'007'500);
  EXPECT_EQ(D("1.000000125").nanos(), 1'000'000'125);
  EXPECT_EQ(D("123456789.123456789").nanos(), int128{123456789123456789});
}

TEST(DecimalParse, TreatsNegativeZeroAsZero) {
  EXPECT_EQ(D("-0").nanos(), 0);
  EXPECT_EQ(D("-0.000").nanos(), 0);
  EXPECT_EQ(D("-0e5").nanos(), 0);
  EXPECT_FALSE(D("-0").IsNegative());
}

TEST(DecimalParse, AcceptsExponentsJudgedOnTheValue) {
  EXPECT_EQ(D("1e16"), Decimal::FromInteger(10'000'000'000'000'000));
  EXPECT_EQ(D("1E+2"), Decimal::FromInteger(100));
  EXPECT_EQ(D("1.5E-3").nanos(), 1'500'000);
  EXPECT_EQ(D("2e-9").nanos(), 2);
  EXPECT_EQ(D("15e-1").nanos(), 1'500'000'000);
  EXPECT_EQ(D("0.00000000100e0").nanos(), 1);
  EXPECT_EQ(D("100e-11").nanos(), 1);
  EXPECT_EQ(D("1e20"), D("100000000000000000000"));
  EXPECT_EQ(D("0e999999999999999999999999"), Decimal::Zero());
  EXPECT_EQ(D("0.0e-999999999999999999999999"), Decimal::Zero());
}

TEST(DecimalParse, AcceptsTrailingZerosBeyondNineDigits) {
  EXPECT_EQ(D("1.5000000000").nanos(), 1'500'000'000);
  EXPECT_EQ(D("1.000000001000000000000000000000").nanos(), 1'000'000'001);
  EXPECT_EQ(D("0.0000000000000000000000000000").nanos(), 0);
}

TEST(DecimalParse, RejectsValuesNeedingMoreThanNineFractionDigits) {
  EXPECT_EQ(ParseError("1.0000000001"), DecimalError::kTooPrecise);
  EXPECT_EQ(ParseError("1e-10"), DecimalError::kTooPrecise);
  EXPECT_EQ(ParseError("0.0000000005"), DecimalError::kTooPrecise);
  EXPECT_EQ(ParseError("-0.0000000001"), DecimalError::kTooPrecise);
  EXPECT_EQ(ParseError("1e-99999999999999999999999999"), DecimalError::kTooPrecise);
  EXPECT_EQ(ParseError("123e-12"), DecimalError::kTooPrecise);
}

TEST(DecimalParse, RejectsMagnitudesAboveTenToTheTwenty) {
  EXPECT_EQ(D("100000000000000000000").nanos(),
            int128{100'000'000'000'000'000} * 1000 * 1'000'000'000);
  EXPECT_EQ(D("-1e20").nanos(), -D("1e20").nanos());
  EXPECT_EQ(ParseError("100000000000000000000.000000001"), DecimalError::kOutOfRange);
  EXPECT_EQ(ParseError("100000000000000000001"), DecimalError::kOutOfRange);
  EXPECT_EQ(ParseError("1e21"), DecimalError::kOutOfRange);
  EXPECT_EQ(ParseError("-1e21"), DecimalError::kOutOfRange);
  EXPECT_EQ(ParseError("1e999999999999999999999999999999"), DecimalError::kOutOfRange);
  EXPECT_EQ(ParseError("99999999999999999999999999999999999999999999999999"),
            DecimalError::kOutOfRange);
}

TEST(DecimalParse, PrefersTooPreciseWhenAValueIsBothTooPreciseAndTooLarge) {
  EXPECT_EQ(ParseError("1000000000000000000000.0000000001"), DecimalError::kTooPrecise);
}

TEST(DecimalParse, RejectsEverythingOutsideTheJsonNumberGrammar) {
  for (const char* bad :
       {"",      "-",   "+1",       ".5",   "1.",    "01",    "-01",   "00",   "1e",    "1e+",
        "1E-",   "e5",  "1.e5",     "1.5e", " 1",    "1 ",    "1,5",   "0x10", "1.2.3", "--1",
        "1e5.5", "NaN", "Infinity", "-.5",  "1_000", "\"1\"", "1e+-5", "١"}) {
    EXPECT_EQ(ParseError(bad), DecimalError::kSyntax) << "'" << bad << "'";
  }
}

TEST(FxRateParse, KeepsTwelveFractionDigits) {
  EXPECT_EQ(Fx("150.123456789012").picos(), int128{150'123'456'789'012});
  EXPECT_EQ(Fx("0.913951469").picos(), int128{913'951'469'000});
  EXPECT_EQ(Fx("1e-12").picos(), 1);
  FxRate f;
  EXPECT_EQ(FxRate::Parse("0.0000000000001", &f), DecimalError::kTooPrecise);
  EXPECT_EQ(FxRate::Parse("1e21", &f), DecimalError::kOutOfRange);
  EXPECT_EQ(FxRate::Parse("1.", &f), DecimalError::kSyntax);
}

// --- Printing --------------------------------------------------------------------------------

TEST(DecimalFormat, PrintsAllNineFractionDigitsWithASignForNegatives) {
  EXPECT_EQ(D("12.5").ToString(), "12.500000000");
  EXPECT_EQ(D("-0.000000001").ToString(), "-0.000000001");
  EXPECT_EQ(Decimal::Zero().ToString(), "0.000000000");
  EXPECT_EQ(D("-12").ToString(), "-12.000000000");
  EXPECT_EQ(D("100000000000000000000").ToString(), "100000000000000000000.000000000");
  EXPECT_EQ(Decimal::FromNanos(kInt128Max).ToString(), "170141183460469231731687303715.884105727");
  EXPECT_EQ(Decimal::FromNanos(-kInt128Max - 1).ToString(),
            "-170141183460469231731687303715.884105728");
  EXPECT_EQ(D("18446744073.709551616").ToString(), "18446744073.709551616");
}

TEST(DecimalFormat, AppendToAddsToExistingText) {
  std::string out = "x=";
  D("1.25").AppendTo(&out);
  out += ",";
  D("-3").AppendTo(&out);
  EXPECT_EQ(out, "x=1.250000000,-3.000000000");
}

TEST(FxRateFormat, PrintsTwelveFractionDigits) {
  EXPECT_EQ(FxRate::One().ToString(), "1.000000000000");
  EXPECT_EQ(Fx("150.123456789012").ToString(), "150.123456789012");
  EXPECT_EQ(Fx("10.5").ToString(), "10.500000000000");
  std::string out;
  Fx("0.79").AppendTo(&out);
  EXPECT_EQ(out, "0.790000000000");
}

TEST(DecimalFormat, RoundTripsThroughParse) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 2000; ++i) {
    const int128 v = (static_cast<int128>(rng()) << 32) ^ static_cast<int128>(rng());
    const Decimal d = Decimal::FromNanos(i % 2 ? -v : v);
    EXPECT_EQ(D(d.ToString()), d);
  }
}

// --- Worked ties from the examples -----------------------------------------------------------

TEST(MulRound9, ProducesTheExampleAmounts) {
  EXPECT_EQ(Str(MulRound9(D("15.5"), D("0.096"))), "1.488000000");
  EXPECT_EQ(Str(MulRound9(D("1.488"), D("0.15"))), "0.223200000");
  EXPECT_EQ(Str(MulRound9(D("24.0000075"), D("0.004"))), "0.096000030");
}

TEST(MulRound9, RoundsTiesToEvenDownward) {
  // 0.096000030 × 0.15 = 0.0144000045: the 9th digit 4 is even, so the tie stays down.
  EXPECT_EQ(Str(MulRound9(D("0.09600003"), D("0.15"))), "0.014400004");
  // 1.000000125 × 0.004 = 0.004000000500: tie, 9th digit 0 even.
  EXPECT_EQ(Str(MulRound9(D("1.000000125"), D("0.004"))), "0.004000000");
}

TEST(MulRound9, RoundsTiesToEvenUpward) {
  // 0.000000015 × 0.1 = 0.0000000015: tie, 9th digit 1 is odd, so up to 2.
  EXPECT_EQ(Str(MulRound9(D("0.000000015"), D("0.1"))), "0.000000002");
  EXPECT_EQ(Str(MulRound9(D("0.000000025"), D("0.1"))), "0.000000002");
  EXPECT_EQ(Str(MulRound9(D("0.000000035"), D("0.1"))), "0.000000004");
}

TEST(MulRound9, RoundsNegativeTiesSymmetrically) {
  EXPECT_EQ(Str(MulRound9(D("-0.000000015"), D("0.1"))), "-0.000000002");
  EXPECT_EQ(Str(MulRound9(D("-0.000000025"), D("0.1"))), "-0.000000002");
  EXPECT_EQ(Str(MulRound9(D("0.000000025"), D("-0.1"))), "-0.000000002");
  EXPECT_EQ(Str(MulRound9(D("-0.000000035"), D("-0.1"))), "0.000000004");
  EXPECT_EQ(Str(MulRound9(D("-0.09600003"), D("0.15"))), "-0.014400004");
}

TEST(MulRound9, RoundsNonTiesToNearest) {
  EXPECT_EQ(Str(MulRound9(D("0.000000016"), D("0.1"))), "0.000000002");
  EXPECT_EQ(Str(MulRound9(D("0.000000014"), D("0.1"))), "0.000000001");
  EXPECT_EQ(Str(MulRound9(D("0.000000001"), D("0.000000001"))), "0.000000000");
  EXPECT_EQ(Str(MulRound9(D("0.000000001"), D("0.500000001"))), "0.000000001");
}

TEST(MulRound9, IsExactForTheLargestPromisedQuantitiesAndPrices) {
  // 10^15 × 999999.999999999 needs ~2^142 nano-nanos before rounding.
  EXPECT_EQ(Str(MulRound9(kMaxAmount, D("999999.999999999"))), "999999999999999000000.000000000");
  EXPECT_EQ(Str(MulRound9(D("999999999999999.999999999"), D("0.999999999"))),
            "999999998999999.999999999");  // 999999998999999.999999999000000001 → …999
}

TEST(MulRound9, ReportsOverflowInsteadOfWrapping) {
  const Decimal huge = Decimal::FromNanos(kInt128Max);
  EXPECT_FALSE(MulRound9(huge, D("2")).has_value());
  EXPECT_FALSE(MulRound9(huge, huge).has_value());
  EXPECT_FALSE(MulRound9(Decimal::FromNanos(-kInt128Max - 1), D("-1.000000001")).has_value());
  EXPECT_EQ(MulRound9(huge, D("1")), huge);
  EXPECT_EQ(MulRound9(huge, D("-1")), -huge);
  EXPECT_FALSE(MulRound9(D("1e20"), D("1e20")).has_value());
}

TEST(MulFxRound9, UsesAllTwelveRateDigits) {
  // The JPY example: 0.192 × 150.123456789012 = 28.823703703490304.
  EXPECT_EQ(Str(MulFxRound9(D("0.192"), Fx("150.123456789012"))), "28.823703703");
  EXPECT_EQ(Str(MulFxRound9(D("0.1632"), Fx("150.123456789012"))), "24.500148148");
  // round9(pec_usd × fx) = round9(4.3235555555235456): what pec_bc is *not* (it is a difference).
  EXPECT_EQ(Str(MulFxRound9(D("0.0288"), Fx("150.123456789012"))), "4.323555556");
  EXPECT_EQ(Str(MulFxRound9(D("1.92"), Fx("10.5"))), "20.160000000");
  EXPECT_EQ(Str(MulFxRound9(D("1.44"), Fx("151.5"))), "218.160000000");
  EXPECT_EQ(Str(MulFxRound9(D("0.6"), Fx("0.79"))), "0.474000000");
  EXPECT_EQ(MulFxRound9(D("123.456789012"), FxRate::One()), D("123.456789012"));
}

TEST(MulFxRound9, RoundsTiesToEvenAndReportsOverflow) {
  // 0.000000001 × 0.5 = 0.0000000005 → tie → 0; 0.000000003 × 0.5 → 0.0000000015 → 2.
  EXPECT_EQ(Str(MulFxRound9(D("0.000000001"), Fx("0.5"))), "0.000000000");
  EXPECT_EQ(Str(MulFxRound9(D("0.000000003"), Fx("0.5"))), "0.000000002");
  EXPECT_EQ(Str(MulFxRound9(D("-0.000000003"), Fx("0.5"))), "-0.000000002");
  EXPECT_FALSE(MulFxRound9(Decimal::FromNanos(kInt128Max), Fx("1.000000000001")).has_value());
}

TEST(DivRound9, DividesWithHalfEvenRounding) {
  EXPECT_EQ(Str(DivRound9(D("1"), D("3"))), "0.333333333");
  EXPECT_EQ(Str(DivRound9(D("2"), D("3"))), "0.666666667");
  EXPECT_EQ(Str(DivRound9(D("-2"), D("3"))), "-0.666666667");
  EXPECT_EQ(Str(DivRound9(D("2"), D("-3"))), "-0.666666667");
  EXPECT_EQ(Str(DivRound9(D("-2"), D("-3"))), "0.666666667");
  EXPECT_EQ(Str(DivRound9(D("0.000000001"), D("2"))), "0.000000000");  // tie → even 0
  EXPECT_EQ(Str(DivRound9(D("0.000000003"), D("2"))), "0.000000002");  // tie → even 2
  EXPECT_EQ(Str(DivRound9(D("4.85"), D("20"))), "0.242500000");
}

TEST(DivRound9, RejectsDivisionByZeroAndOverflow) {
  EXPECT_FALSE(DivRound9(D("1"), Decimal::Zero()).has_value());
  EXPECT_FALSE(DivRound9(Decimal::FromNanos(kInt128Max), D("0.5")).has_value());
}

TEST(DivRound9, HandlesDivisorsAboveTwoToTheSixtyFour) {
  // Divisor 10^15 units = 10^24 nanos > 2^64 takes the long-division path.
  EXPECT_EQ(Str(DivRound9(D("1e20"), D("1e15"))), "100000.000000000");
  EXPECT_EQ(Str(DivRound9(D("1"), D("3e14"))), "0.000000000");
  EXPECT_EQ(Str(DivRound9(D("99999999999999999999"), D("33333333333.333333333"))),
            "3000000000.000000000");
}

TEST(MulDivRound9, ComputesTheForecastOfTheBasicExample) {
  // 2.93200003 × 30 / 19.5 = 4.51076927692… (days as exact fractions: 30×2 / 39).
  EXPECT_EQ(Str(MulDivRound9(D("2.93200003"), 60, 39)), "4.510769277");
  EXPECT_EQ(Str(MulDivRound9(D("1"), 1, 3)), "0.333333333");
  EXPECT_EQ(Str(MulDivRound9(D("-1"), 2, 3)), "-0.666666667");
  EXPECT_EQ(Str(MulDivRound9(D("0.000000001"), 1, 2)), "0.000000000");
  EXPECT_EQ(Str(MulDivRound9(D("0.000000001"), 3, 2)), "0.000000002");
}

TEST(MulDivRound9, FormsTheProductExactlyBeyond128Bits) {
  // a × num overflows 128 bits but the quotient fits.
  const int128 big = int128{1} << 100;
  EXPECT_EQ(MulDivRound9(D("1e20"), big, big), D("1e20"));
  EXPECT_EQ(MulDivRound9(D("1e20"), big + 1, big + 1), D("1e20"));
}

TEST(MulDivRound9, RejectsNonPositiveDenominatorsAndOverflow) {
  EXPECT_FALSE(MulDivRound9(D("1"), 1, 0).has_value());
  EXPECT_FALSE(MulDivRound9(D("1"), 1, -1).has_value());
  EXPECT_FALSE(MulDivRound9(D("1e20"), int128{1} << 100, 1).has_value());
}

TEST(PercentRound9, MatchesTheBasicExample) {
  EXPECT_EQ(Str(PercentRound9(D("2.93200003"), D("2.50"))), "117.280001200");
  EXPECT_EQ(Str(PercentRound9(D("30.65"), D("200"))), "15.325000000");
  EXPECT_EQ(Str(PercentRound9(D("1"), D("3"))), "33.333333333");
  EXPECT_EQ(Str(PercentRound9(D("2"), D("3"))), "66.666666667");
  EXPECT_FALSE(PercentRound9(D("1"), Decimal::Zero()).has_value());
}

TEST(PercentRoundedHalfUp, RoundsHalfAwayFromZero) {
  EXPECT_EQ(PercentRoundedHalfUp(D("30.65"), D("200")), 15);
  EXPECT_EQ(PercentRoundedHalfUp(D("6.33"), D("20")), 32);  // 31.65
  EXPECT_EQ(PercentRoundedHalfUp(D("2.93200003"), D("2.5")), 117);
  EXPECT_EQ(PercentRoundedHalfUp(D("1"), D("200")), 1);    // 0.5 → 1
  EXPECT_EQ(PercentRoundedHalfUp(D("3"), D("200")), 2);    // 1.5 → 2
  EXPECT_EQ(PercentRoundedHalfUp(D("5"), D("200")), 3);    // 2.5 → 3 (not even)
  EXPECT_EQ(PercentRoundedHalfUp(D("-5"), D("200")), -3);  // away from zero
  EXPECT_EQ(PercentRoundedHalfUp(D("0.99"), D("200")), 0);
  // Exact quotient decides: 0.4999999995% rounds down even though it shows as 0.500000000.
  EXPECT_EQ(PercentRoundedHalfUp(D("0.999999999"), D("200")), 0);
  EXPECT_FALSE(PercentRoundedHalfUp(D("1"), Decimal::Zero()).has_value());
  EXPECT_FALSE(PercentRoundedHalfUp(D("1e20"), D("0.000000001")).has_value());
}

TEST(RoundToDigits, RoundsHalfEvenForDisplay) {
  EXPECT_EQ(RoundToDigits(D("28.823703703"), 0).ToString(), "29.000000000");
  EXPECT_EQ(RoundToDigits(D("2.5"), 0).ToString(), "2.000000000");
  EXPECT_EQ(RoundToDigits(D("3.5"), 0).ToString(), "4.000000000");
  EXPECT_EQ(RoundToDigits(D("-2.5"), 0).ToString(), "-2.000000000");
  EXPECT_EQ(RoundToDigits(D("-3.5"), 0).ToString(), "-4.000000000");
  EXPECT_EQ(RoundToDigits(D("1.005"), 2).ToString(), "1.000000000");
  EXPECT_EQ(RoundToDigits(D("1.015"), 2).ToString(), "1.020000000");
  EXPECT_EQ(RoundToDigits(D("1.0150001"), 2).ToString(), "1.020000000");
  EXPECT_EQ(RoundToDigits(D("1.123456789"), 9), D("1.123456789"));
  EXPECT_EQ(RoundToDigits(D("0.4"), 0), Decimal::Zero());
}

// --- Differential test against an arbitrary-precision reference ------------------------------

cpp_int ToCpp(int128 v) {
  const bool neg = v < 0;
  uint128 m = neg ? uint128{0} - static_cast<uint128>(v) : static_cast<uint128>(v);
  cpp_int r = static_cast<uint64_t>(m >> 64);
  r <<= 64;
  r += static_cast<uint64_t>(m);
  return neg ? cpp_int(-r) : r;
}

// round(n / d) half-even (or half away from zero), d > 0.
cpp_int RefRound(const cpp_int& n, const cpp_int& d, bool half_even) {
  const cpp_int mag = abs(n);
  cpp_int q = mag / d;
  const cpp_int r = mag % d;
  const cpp_int twice = r * 2;
  if (twice > d || (twice == d && (!half_even || (q & 1) != 0))) ++q;
  return n < 0 ? cpp_int(-q) : q;
}

std::optional<int128> RefFit(const cpp_int& v) {
  const cpp_int max = ToCpp(kInt128Max);
  if (v > max || v < -max) return std::nullopt;
  const bool neg = v < 0;
  const cpp_int m = abs(v);
  const uint64_t hi = static_cast<uint64_t>(m >> 64);
  const uint64_t lo = static_cast<uint64_t>(m & cpp_int(~uint64_t{0}));
  const int128 r = static_cast<int128>((uint128{hi} << 64) | lo);
  return neg ? -r : r;
}

// Random magnitudes spread over every bit length, so all division paths are exercised.
int128 RandomValue(std::mt19937_64& rng) {
  const int bits = static_cast<int>(rng() % 128);
  uint128 v = (uint128{rng()} << 64) | rng();
  v = bits == 0 ? 0 : v >> (128 - bits);
  if (v > static_cast<uint128>(kInt128Max)) v = static_cast<uint128>(kInt128Max);
  int128 s = static_cast<int128>(v);
  if (rng() % 2) s = -s;
  return s;
}

TEST(DecimalDifferential, MulRound9MatchesAnArbitraryPrecisionReference) {
  std::mt19937_64 rng(20261120);
  const cpp_int scale = Decimal::kScale;
  for (int i = 0; i < 100000; ++i) {
    const int128 a = RandomValue(rng);
    int128 b = RandomValue(rng);
    if (i % 4 == 0) b = b % 1'000'000'000'000;  // prices: mostly small
    if (i % 8 == 1) b = (b / 5) * 5 + 5;        // encourage ties
    const auto want = RefFit(RefRound(ToCpp(a) * ToCpp(b), scale, true));
    const auto got = MulRound9(Decimal::FromNanos(a), Decimal::FromNanos(b));
    ASSERT_EQ(got.has_value(), want.has_value()) << i;
    if (want) {
      ASSERT_EQ(got->nanos(), *want) << i;
    }
  }
}

TEST(DecimalDifferential, MulFxRound9MatchesAnArbitraryPrecisionReference) {
  std::mt19937_64 rng(7);
  const cpp_int scale = FxRate::kScale;
  for (int i = 0; i < 50000; ++i) {
    const int128 a = RandomValue(rng);
    const int128 f = RandomValue(rng);
    const auto want = RefFit(RefRound(ToCpp(a) * ToCpp(f), scale, true));
    const auto got = MulFxRound9(Decimal::FromNanos(a), FxRate::FromPicos(f));
    ASSERT_EQ(got.has_value(), want.has_value()) << i;
    if (want) {
      ASSERT_EQ(got->nanos(), *want) << i;
    }
  }
}

TEST(DecimalDifferential, MulDivRound9MatchesAnArbitraryPrecisionReference) {
  std::mt19937_64 rng(99);
  for (int i = 0; i < 100000; ++i) {
    const int128 a = RandomValue(rng);
    const int128 num = RandomValue(rng);
    int128 den = RandomValue(rng);
    if (den < 0) den = -den;
    if (den == 0) den = 1;
    if (i % 3 == 0) den = den % 100000 + 1;
    const auto want = RefFit(RefRound(ToCpp(a) * ToCpp(num), ToCpp(den), true));
    const auto got = MulDivRound9(Decimal::FromNanos(a), num, den);
    ASSERT_EQ(got.has_value(), want.has_value()) << i;
    if (want) {
      ASSERT_EQ(got->nanos(), *want) << i;
    }
  }
}

TEST(DecimalDifferential, DivisionsAndPercentsMatchAnArbitraryPrecisionReference) {
  std::mt19937_64 rng(5);
  for (int i = 0; i < 50000; ++i) {
    const int128 a = RandomValue(rng);
    const int128 b = RandomValue(rng);
    if (b == 0) continue;
    const cpp_int ca = ToCpp(a), cb = ToCpp(b);
    const cpp_int sign = b < 0 ? -1 : 1;
    {
      const auto want = RefFit(RefRound(ca * Decimal::kScale * sign, abs(cb), true));
      const auto got = DivRound9(Decimal::FromNanos(a), Decimal::FromNanos(b));
      ASSERT_EQ(got.has_value(), want.has_value()) << i;
      if (want) {
        ASSERT_EQ(got->nanos(), *want) << i;
      }
    }
    {
      const auto want = RefFit(RefRound(ca * Decimal::kScale * 100 * sign, abs(cb), true));
      const auto got = PercentRound9(Decimal::FromNanos(a), Decimal::FromNanos(b));
      ASSERT_EQ(got.has_value(), want.has_value()) << i;
      if (want) {
        ASSERT_EQ(got->nanos(), *want) << i;
      }
    }
    {
      const cpp_int want = RefRound(ca * 100 * sign, abs(cb), false);
      const auto got = PercentRoundedHalfUp(Decimal::FromNanos(a), Decimal::FromNanos(b));
      const bool fits = want <= INT64_MAX && want >= INT64_MIN;
      ASSERT_EQ(got.has_value(), fits) << i;
      if (fits) {
        ASSERT_EQ(cpp_int(*got), want) << i;
      }
    }
  }
}

TEST(DecimalDifferential, ParseMatchesAnArbitraryPrecisionReference) {
  std::mt19937_64 rng(11);
  const cpp_int limit = cpp_int(10);
  for (int i = 0; i < 30000; ++i) {
    // digits "." digits "e" exp, built so the exact value is known as mantissa × 10^exp10.
    std::string text;
    const bool neg = rng() % 2;
    if (neg) text += '-';
    const int int_digits = 1 + static_cast<int>(rng() % 25);
    const int frac_digits = static_cast<int>(rng() % 15);
    std::string digits;
    for (int k = 0; k < int_digits + frac_digits; ++k) {
      char c = static_cast<char>('0' + rng() % 10);
      if (rng() % 3 == 0) c = '0';
      digits += c;
    }
    if (int_digits > 1 && digits[0] == '0') digits[0] = '1';  // no leading zeros in JSON
    const int idig = int_digits;
    text += digits.substr(0, idig);
    if (frac_digits > 0) {
      text += '.';
      text.append(digits, idig, std::string::npos);
    }
    int exp = 0;
    if (rng() % 2) {
      exp = static_cast<int>(rng() % 41) - 20;
      text += rng() % 2 ? 'e' : 'E';
      text += std::to_string(exp);
    }
    // Reference: value × 10^9 = mantissa × 10^(exp - frac_digits + 9).
    const size_t nz = digits.find_first_not_of('0');  // cpp_int reads a leading 0 as octal
    cpp_int mantissa(nz == std::string::npos ? std::string("0") : digits.substr(nz));
    int shift = exp - frac_digits + 9;
    cpp_int nanos = mantissa;
    bool too_precise = false;
    for (; shift > 0; --shift) nanos *= 10;
    for (; shift < 0; ++shift) {
      if (nanos % 10 != 0) too_precise = true;
      nanos /= 10;
    }
    cpp_int max = pow(limit, 29);
    Decimal d;
    const DecimalError e = Decimal::Parse(text, &d);
    if (too_precise) {
      ASSERT_EQ(e, DecimalError::kTooPrecise) << text;
    } else if (nanos > max) {
      ASSERT_EQ(e, DecimalError::kOutOfRange) << text;
    } else {
      ASSERT_EQ(e, DecimalError::kOk) << text;
      ASSERT_EQ(ToCpp(d.nanos()), neg ? cpp_int(-nanos) : nanos) << text;
    }
  }
}

}  // namespace
}  // namespace meterd::rating
