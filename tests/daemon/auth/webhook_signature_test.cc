// Standard Webhooks secrets and signatures, pinned by the specification's published test vector.

#include "daemon/auth/webhook_signature.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "daemon/auth/base64.h"

namespace meterd::auth {
namespace {

// The test vector of the Standard Webhooks specification and its reference libraries
// (cross-checked with `openssl dgst -sha256 -mac HMAC -macopt hexkey:31f290f6…`).
constexpr std::string_view kSpecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view kSpecMsgId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr int64_t kSpecTimestamp = 1614265330;
constexpr std::string_view kSpecBody = R"({"test": 2432232314})";
constexpr std::string_view kSpecSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

TEST(SignWebhook, ReproducesTheStandardWebhooksTestVector) {
  auto key = DecodeWebhookSecret(kSpecSecret);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(key->size(), 24u);
  EXPECT_EQ(SignWebhook(*key, kSpecMsgId, kSpecTimestamp, kSpecBody), kSpecSignature);
}

TEST(SignWebhook, DependsOnEveryPartOfTheMessage) {
  const std::string key = *DecodeWebhookSecret(kSpecSecret);
  const std::string base = SignWebhook(key, kSpecMsgId, kSpecTimestamp, kSpecBody);
  EXPECT_NE(SignWebhook(key, "msg_other", kSpecTimestamp, kSpecBody), base);
  EXPECT_NE(SignWebhook(key, kSpecMsgId, kSpecTimestamp + 1, kSpecBody), base);
  EXPECT_NE(SignWebhook(key, kSpecMsgId, kSpecTimestamp, R"({"test":2432232314})"), base);
  EXPECT_NE(SignWebhook(key + "x", kSpecMsgId, kSpecTimestamp, kSpecBody), base);
}

TEST(VerifyWebhookSignature, AcceptsAMatchingSignatureAmongSeveral) {
  const std::string key = *DecodeWebhookSecret(kSpecSecret);
  EXPECT_TRUE(VerifyWebhookSignature(key, kSpecMsgId, kSpecTimestamp, kSpecBody, kSpecSignature));
  EXPECT_TRUE(VerifyWebhookSignature(key, kSpecMsgId, kSpecTimestamp, kSpecBody,
                                     "v1,bm9wZQ== " + std::string(kSpecSignature)));
  EXPECT_FALSE(VerifyWebhookSignature(key, kSpecMsgId, kSpecTimestamp, kSpecBody, "v1,bm9wZQ=="));
  EXPECT_FALSE(VerifyWebhookSignature(key, kSpecMsgId, kSpecTimestamp, "{}", kSpecSignature));
  EXPECT_FALSE(VerifyWebhookSignature(key, kSpecMsgId, kSpecTimestamp, kSpecBody, ""));
  // Another version tag with the same bytes is not a v1 signature.
  EXPECT_FALSE(VerifyWebhookSignature(key, kSpecMsgId, kSpecTimestamp, kSpecBody,
                                      "v1a," + std::string(kSpecSignature.substr(3))));
}

TEST(GenerateWebhookSecret, DrawsThirtyTwoFreshBytes) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    auto secret = GenerateWebhookSecret();
    ASSERT_TRUE(secret.ok());
    EXPECT_TRUE(secret->starts_with("whsec_"));
    EXPECT_EQ(secret->size(), 6u + 44u);
    auto key = DecodeWebhookSecret(*secret);
    ASSERT_TRUE(key.ok()) << *secret;
    EXPECT_EQ(key->size(), 32u);
    seen.insert(*secret);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(DecodeWebhookSecret, AcceptsTwentyFourToSixtyFourBytes) {
  for (size_t n : {24u, 25u, 32u, 63u, 64u}) {
    const std::string bytes(n, '\x5a');
    auto key = DecodeWebhookSecret("whsec_" + Base64Encode(bytes));
    ASSERT_TRUE(key.ok()) << n;
    EXPECT_EQ(*key, bytes);
  }
  for (size_t n : {0u, 1u, 23u, 65u, 100u}) {
    auto key = DecodeWebhookSecret("whsec_" + Base64Encode(std::string(n, '\x5a')));
    ASSERT_FALSE(key.ok()) << n;
    EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(DecodeWebhookSecret, AcceptsMissingPaddingButNotOtherText) {
  std::string padded = "whsec_" + Base64Encode(std::string(25, '\x01'));
  ASSERT_EQ(padded.back(), '=');
  std::string unpadded = padded;
  while (unpadded.back() == '=') unpadded.pop_back();
  EXPECT_TRUE(DecodeWebhookSecret(padded).ok());
  EXPECT_TRUE(DecodeWebhookSecret(unpadded).ok());
  EXPECT_FALSE(DecodeWebhookSecret(kSpecSecret.substr(6)).ok());  // no prefix
  EXPECT_FALSE(DecodeWebhookSecret("WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").ok());
  EXPECT_FALSE(DecodeWebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!").ok());
  EXPECT_FALSE(DecodeWebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8I LPZIo2LaLaSw").ok());
}

}  // namespace
}  // namespace meterd::auth
