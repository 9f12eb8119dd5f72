// Allocation-free text writers for the generator's hot path and its reference files: integers,
// fixed-point values as short decimal text, UUID-shaped ids, CSV cells. Pure functions over a
// caller-owned std::string; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace meterd::loadgen {

// Appends the decimal digits of v.
void AppendUint(uint64_t v, std::string* out);

// Appends value / 10^scale as the shortest exact decimal text: "10", "0.096", "-1.5".
// REQUIRES: 0 <= scale <= 18.
void AppendFixed(__int128 value, int scale, std::string* out);
std::string FixedText(__int128 value, int scale);

// A version-4-shaped UUID drawn from two 64-bit hashes, lowercase hex (8-4-4-4-12).
std::string UuidFromHash(uint64_t hi, uint64_t lo);

// Appends a CSV cell, quoted per RFC 4180 only when it holds a comma, quote or line break.
void AppendCsvCell(std::string_view cell, std::string* out);

// splitmix64: the one mixing function behind every deterministic choice of the generator.
constexpr uint64_t Mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
// A hash of a tuple of integers, order-sensitive.
constexpr uint64_t HashOf(uint64_t a, uint64_t b) { return Mix64(a ^ Mix64(b)); }
constexpr uint64_t HashOf(uint64_t a, uint64_t b, uint64_t c) { return HashOf(HashOf(a, b), c); }
constexpr uint64_t HashOf(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  return HashOf(HashOf(a, b, c), d);
}

}  // namespace meterd::loadgen
