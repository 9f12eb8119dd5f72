#include "daemon/auth/webhook_signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstdlib>
#include <span>

#include "daemon/auth/base64.h"
#include "daemon/auth/token.h"

namespace meterd::auth {

Result<std::string> GenerateWebhookSecret() {
  std::array<uint8_t, kGeneratedWebhookKeyBytes> key;
  METERD_RETURN_IF_ERROR(FillRandom(key));
  std::string secret(kWebhookSecretPrefix);
  secret += Base64Encode(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
  OPENSSL_cleanse(key.data(), key.size());
  return secret;
}

Result<std::string> DecodeWebhookSecret(std::string_view secret) {
  if (!secret.starts_with(kWebhookSecretPrefix)) {
    return Status::InvalidArgument("secret: must start with whsec_");
  }
  std::string key;
  if (!Base64Decode(secret.substr(kWebhookSecretPrefix.size()), &key)) {
    return Status::InvalidArgument("secret: not base64 after whsec_");
  }
  if (key.size() < kMinWebhookKeyBytes || key.size() > kMaxWebhookKeyBytes) {
    return Status::InvalidArgument("secret: must encode 24 to 64 bytes, not " +
                                   std::to_string(key.size()));
  }
  return key;
}

std::string SignWebhook(std::string_view key, std::string_view msg_id, int64_t timestamp_seconds,
                        std::string_view body) {
  std::string message;
  message.reserve(msg_id.size() + body.size() + 24);
  message.append(msg_id);
  message.push_back('.');
  message.append(std::to_string(timestamp_seconds));
  message.push_back('.');
  message.append(body);

  std::array<unsigned char, EVP_MAX_MD_SIZE> mac;
  unsigned int mac_length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac.data(),
           &mac_length) == nullptr) {
    // HMAC-SHA256 over memory cannot fail short of a broken OpenSSL: a broken invariant.
    std::abort();
  }
  return "v1," +
         Base64Encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac_length));
}

bool VerifyWebhookSignature(std::string_view key, std::string_view msg_id,
                            int64_t timestamp_seconds, std::string_view body,
                            std::string_view signature_header) {
  const std::string expected = SignWebhook(key, msg_id, timestamp_seconds, body);
  const auto expected_bytes =
      std::span(reinterpret_cast<const uint8_t*>(expected.data()), expected.size());
  bool match = false;
  while (!signature_header.empty()) {
    const size_t space = signature_header.find(' ');
    const std::string_view candidate = signature_header.substr(0, space);
    if (candidate.starts_with("v1,") &&
        ConstantTimeEquals(
            std::span(reinterpret_cast<const uint8_t*>(candidate.data()), candidate.size()),
            expected_bytes)) {
      match = true;  // keep scanning: the time taken does not depend on which one matched
    }
    if (space == std::string_view::npos) break;
    signature_header.remove_prefix(space + 1);
  }
  return match;
}

}  // namespace meterd::auth
