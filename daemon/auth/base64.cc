#include "daemon/auth/base64.h"

#include <array>
#include <cstdint>

namespace meterd::auth {
namespace {

constexpr std::string_view kStandard =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view kUrl =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::array<int8_t, 256> ReverseTable(std::string_view alphabet) {
  std::array<int8_t, 256> table{};
  for (auto& v : table) v = -1;
  for (size_t i = 0; i < alphabet.size(); ++i) {
    table[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
  }
  return table;
}

constexpr std::array<int8_t, 256> kStandardReverse = ReverseTable(kStandard);
constexpr std::array<int8_t, 256> kUrlReverse = ReverseTable(kUrl);

std::string Encode(std::string_view bytes, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{static_cast<uint8_t>(bytes[i])} << 16) |
                       (uint32_t{static_cast<uint8_t>(bytes[i + 1])} << 8) |
                       uint32_t{static_cast<uint8_t>(bytes[i + 2])};
    out.push_back(alphabet[(v >> 18) & 63]);
    out.push_back(alphabet[(v >> 12) & 63]);
    out.push_back(alphabet[(v >> 6) & 63]);
    out.push_back(alphabet[v & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest == 0) return out;
  uint32_t v = uint32_t{static_cast<uint8_t>(bytes[i])} << 16;
  if (rest == 2) v |= uint32_t{static_cast<uint8_t>(bytes[i + 1])} << 8;
  out.push_back(alphabet[(v >> 18) & 63]);
  out.push_back(alphabet[(v >> 12) & 63]);
  if (rest == 2) out.push_back(alphabet[(v >> 6) & 63]);
  if (pad) out.append(rest == 1 ? "==" : "=");
  return out;
}

// Decodes unpadded text; a final group of 1 character cannot encode a byte.
bool DecodeUnpadded(std::string_view text, const std::array<int8_t, 256>& reverse,
                    std::string* out) {
  if (text.size() % 4 == 1) return false;
  out->clear();
  out->reserve(text.size() / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int8_t v = reverse[static_cast<unsigned char>(c)];
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return true;
}

}  // namespace

std::string Base64Encode(std::string_view bytes) { return Encode(bytes, kStandard, true); }

std::string Base64UrlEncode(std::string_view bytes) { return Encode(bytes, kUrl, false); }

bool Base64Decode(std::string_view text, std::string* out) {
  size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') {
    ++padding;
  }
  if (padding > 0 && text.size() % 4 != 0) return false;
  const std::string_view body = text.substr(0, text.size() - padding);
  // With padding, the body must end in a 2- (two '=') or 3-character (one '=') group.
  if (padding > 0 && body.size() % 4 != 4 - padding) return false;
  return DecodeUnpadded(body, kStandardReverse, out);
}

bool Base64UrlDecode(std::string_view text, std::string* out) {
  return DecodeUnpadded(text, kUrlReverse, out);
}

}  // namespace meterd::auth
