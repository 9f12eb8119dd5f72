#include "tools/loadgen/number_text.h"

namespace meterd::loadgen {

void AppendUint(uint64_t v, std::string* out) {
  char buf[20];
  char* end = buf + sizeof(buf);
  char* p = end;
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  out->append(p, static_cast<size_t>(end - p));
}

void AppendFixed(__int128 value, int scale, std::string* out) {
  unsigned __int128 mag =
      value < 0 ? static_cast<unsigned __int128>(-value) : static_cast<unsigned __int128>(value);
  if (value < 0) out->push_back('-');
  unsigned __int128 pow = 1;
  for (int i = 0; i < scale; ++i) pow *= 10;
  unsigned __int128 whole = mag / pow;
  unsigned __int128 frac = mag % pow;
  char buf[40];
  char* end = buf + sizeof(buf);
  char* p = end;
  do {
    *--p = static_cast<char>('0' + static_cast<int>(whole % 10));
    whole /= 10;
  } while (whole != 0);
  out->append(p, static_cast<size_t>(end - p));
  if (frac == 0) return;
  int digits = scale;
  while (frac % 10 == 0) {
    frac /= 10;
    --digits;
  }
  out->push_back('.');
  p = end;
  for (int i = 0; i < digits; ++i) {
    *--p = static_cast<char>('0' + static_cast<int>(frac % 10));
    frac /= 10;
  }
  out->append(p, static_cast<size_t>(end - p));
}

std::string FixedText(__int128 value, int scale) {
  std::string s;
  AppendFixed(value, scale, &s);
  return s;
}

std::string UuidFromHash(uint64_t hi, uint64_t lo) {
  static constexpr char kHex[] = "0123456789abcdef";
  // Version 4 in the 13th nibble, RFC 4122 variant (8..b) in the 17th.
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  std::string s;
  s.reserve(36);
  for (int i = 0; i < 32; ++i) {
    uint64_t word = i < 16 ? hi : lo;
    int shift = 60 - 4 * (i % 16);
    s.push_back(kHex[(word >> shift) & 0xf]);
    if (i == 7 || i == 11 || i == 15 || i == 19) s.push_back('-');
  }
  return s;
}

void AppendCsvCell(std::string_view cell, std::string* out) {
  if (cell.find_first_of(",\"\r\n") == std::string_view::npos) {
    out->append(cell);
    return;
  }
  out->push_back('"');
  for (char c : cell) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

}  // namespace meterd::loadgen
