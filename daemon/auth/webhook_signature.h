// Webhook secrets and signatures in the Standard Webhooks format (api.md "Alerts and webhooks"),
// so receivers can verify deliveries with that specification's reference libraries:
// secret "whsec_" + base64(key), signature "v1,<base64 HMAC-SHA256(key, id.timestamp.body)>".
// Pure functions, thread-safe; key generation uses OpenSSL's CSPRNG.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace meterd::auth {

inline constexpr std::string_view kWebhookSecretPrefix = "whsec_";
inline constexpr size_t kGeneratedWebhookKeyBytes = 32;
inline constexpr size_t kMinWebhookKeyBytes = 24;
inline constexpr size_t kMaxWebhookKeyBytes = 64;

// "whsec_" + base64 of 32 fresh random bytes. Internal if the random generator fails.
Result<std::string> GenerateWebhookSecret();

// The key bytes of a secret given by a partner: "whsec_" + standard base64 (padding optional)
// of 24–64 bytes. InvalidArgument (the API answers 422) naming the problem otherwise.
Result<std::string> DecodeWebhookSecret(std::string_view secret);

// "v1," + base64(HMAC-SHA256(key, msg_id + "." + timestamp + "." + body)); `key` is the decoded
// secret, `timestamp_seconds` the value of the webhook-timestamp header.
std::string SignWebhook(std::string_view key, std::string_view msg_id, int64_t timestamp_seconds,
                        std::string_view body);

// True when any of the space-separated signatures of a webhook-signature header value is a
// "v1," signature of this message (compared in constant time). For tests and receivers.
bool VerifyWebhookSignature(std::string_view key, std::string_view msg_id,
                            int64_t timestamp_seconds, std::string_view body,
                            std::string_view signature_header);

}  // namespace meterd::auth
