// Base64 (RFC 4648 §4, padded) and base64url (§5, unpadded) for token secrets and webhook
// secrets and signatures. Strict decoders: any byte outside the alphabet fails. Pure, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace meterd::auth {

std::string Base64Encode(std::string_view bytes);     // "+/", '=' padded
std::string Base64UrlEncode(std::string_view bytes);  // "-_", no padding

// Standard alphabet. Padding may be present (then it must be exactly right) or omitted, since
// Standard Webhooks secrets circulate both ways. Unused trailing bits are ignored, as the
// reference libraries do. Returns false on any other deviation; *out is then unspecified.
bool Base64Decode(std::string_view text, std::string* out);
// URL-safe alphabet, no padding; a length that cannot come from whole bytes fails.
bool Base64UrlDecode(std::string_view text, std::string* out);

}  // namespace meterd::auth
