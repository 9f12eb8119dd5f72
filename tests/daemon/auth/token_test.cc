// Token issuing, hashing, comparison and the exact storage encoding of token records.

#include "daemon/auth/token.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "daemon/auth/base64.h"

namespace meterd::auth {
namespace {

std::string Hex(std::span<const uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

TokenRecord SampleRecord() {
  TokenRecord r;
  r.token_id = "tok_00112233445566778899aabbccddeeff";
  for (size_t i = 0; i < r.hash.size(); ++i) r.hash[i] = static_cast<uint8_t>(i);
  r.role = Role::kReseller;
  r.mpn_id = "3333333";
  r.name = "Fourth Coffee";
  r.created_at = rating::Timestamp{1'700'000'000'123'456'789};
  return r;
}

TEST(RoleName, RoundTripsEveryRole) {
  for (Role r : {Role::kAdmin, Role::kIngest, Role::kPartner, Role::kReseller}) {
    EXPECT_EQ(ParseRole(RoleName(r)), r);
  }
  EXPECT_EQ(ParseRole("Admin"), std::nullopt);
  EXPECT_EQ(ParseRole("operator"), std::nullopt);
}

TEST(IssueToken, ProducesAPrefixedSecretAndIdAndStoresOnlyTheHash) {
  TokenSpec spec;
  spec.role = Role::kPartner;
  spec.partner_id = "Contoso-Cloud";
  spec.name = "billing dashboard";
  auto issued = IssueToken(spec, rating::Timestamp{42});
  ASSERT_TRUE(issued.ok()) << issued.status().ToString();
  const std::string& secret = issued->secret;
  EXPECT_EQ(secret.size(), kTokenLength);
  EXPECT_TRUE(secret.starts_with("mtr_"));
  EXPECT_TRUE(IsWellFormedTokenSecret(secret));
  std::string raw;
  ASSERT_TRUE(Base64UrlDecode(secret.substr(4), &raw));
  EXPECT_EQ(raw.size(), 32u);

  const TokenRecord& r = issued->record;
  EXPECT_EQ(r.token_id.size(), kTokenIdLength);
  EXPECT_TRUE(r.token_id.starts_with("tok_"));
  EXPECT_EQ(r.token_id.find_first_not_of("0123456789abcdef", 4), std::string::npos);
  EXPECT_EQ(r.hash, HashTokenSecret(secret));
  EXPECT_EQ(r.role, Role::kPartner);
  EXPECT_EQ(r.partner_id, "contoso-cloud");  // ids are lowercased (domain §2)
  EXPECT_EQ(r.name, "billing dashboard");
  EXPECT_EQ(r.created_at.nanos, 42);
  // Nothing stored holds the secret.
  EXPECT_EQ(EncodeTokenRecord(r).find(secret.substr(4)), std::string::npos);
}

TEST(IssueToken, DrawsFreshSecretsAndIds) {
  std::set<std::string> secrets, ids;
  for (int i = 0; i < 200; ++i) {
    auto issued = IssueToken(TokenSpec{Role::kIngest, "", "", ""}, rating::Timestamp{});
    ASSERT_TRUE(issued.ok());
    secrets.insert(issued->secret);
    ids.insert(issued->record.token_id);
  }
  EXPECT_EQ(secrets.size(), 200u);
  EXPECT_EQ(ids.size(), 200u);
}

TEST(NormalizeTokenSpec, RequiresTheBindingOfScopedRoles) {
  TokenSpec partner{Role::kPartner, "", "1111111", ""};
  Status s = NormalizeTokenSpec(&partner);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("partner_id"), std::string::npos);

  TokenSpec reseller{Role::kReseller, "p1", "", ""};
  s = NormalizeTokenSpec(&reseller);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("mpn_id"), std::string::npos);
  EXPECT_FALSE(IssueToken(reseller, rating::Timestamp{}).ok());
}

TEST(NormalizeTokenSpec, ClearsBindingsTheRoleDoesNotUse) {
  TokenSpec admin{Role::kAdmin, "p1", "123", "ops"};
  ASSERT_TRUE(NormalizeTokenSpec(&admin).ok());
  EXPECT_EQ(admin.partner_id, "");
  EXPECT_EQ(admin.mpn_id, "");
  TokenSpec partner{Role::kPartner, "P1", "123", ""};
  ASSERT_TRUE(NormalizeTokenSpec(&partner).ok());
  EXPECT_EQ(partner.partner_id, "p1");
  EXPECT_EQ(partner.mpn_id, "");
  TokenSpec reseller{Role::kReseller, "P1", "ABC333", ""};
  ASSERT_TRUE(NormalizeTokenSpec(&reseller).ok());
  EXPECT_EQ(reseller.partner_id, "");
  EXPECT_EQ(reseller.mpn_id, "abc333");
}

TEST(NormalizeTokenSpec, LimitsLengths) {
  TokenSpec partner{Role::kPartner, std::string(128, 'p'), "", std::string(256, 'n')};
  EXPECT_TRUE(NormalizeTokenSpec(&partner).ok());
  partner.partner_id.push_back('p');
  EXPECT_FALSE(NormalizeTokenSpec(&partner).ok());
  partner.partner_id.pop_back();
  partner.name.push_back('n');
  EXPECT_FALSE(NormalizeTokenSpec(&partner).ok());
}

TEST(IsWellFormedTokenSecret, AcceptsOnlyTheCanonicalShape) {
  const std::string good = "mtr_" + Base64UrlEncode(std::string(32, '\x7f'));
  ASSERT_EQ(good.size(), 47u);
  EXPECT_TRUE(IsWellFormedTokenSecret(good));
  EXPECT_FALSE(IsWellFormedTokenSecret(""));
  EXPECT_FALSE(IsWellFormedTokenSecret("mtr_"));
  EXPECT_FALSE(IsWellFormedTokenSecret("MTR_" + good.substr(4)));
  EXPECT_FALSE(IsWellFormedTokenSecret("tok_" + good.substr(4)));
  EXPECT_FALSE(IsWellFormedTokenSecret(good.substr(0, 46)));
  EXPECT_FALSE(IsWellFormedTokenSecret(good + "A"));
  std::string plus = good;
  plus[10] = '+';  // standard alphabet character
  EXPECT_FALSE(IsWellFormedTokenSecret(plus));
  // 43 characters carry 2 bits too many; a set unused bit is a second spelling: refused.
  const std::string zeros = "mtr_" + Base64UrlEncode(std::string(32, '\0'));
  EXPECT_TRUE(IsWellFormedTokenSecret(zeros));
  std::string noncanonical = zeros;
  noncanonical.back() = 'B';
  EXPECT_FALSE(IsWellFormedTokenSecret(noncanonical));
}

TEST(HashTokenSecret, IsSha256) {
  EXPECT_EQ(Hex(HashTokenSecret("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(HashTokenSecret("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(ConstantTimeEquals, ComparesContentAndLength) {
  const uint8_t a[] = {1, 2, 3};
  const uint8_t b[] = {1, 2, 3};
  const uint8_t c[] = {1, 2, 4};
  const uint8_t d[] = {1, 2};
  EXPECT_TRUE(ConstantTimeEquals(a, b));
  EXPECT_FALSE(ConstantTimeEquals(a, c));
  EXPECT_FALSE(ConstantTimeEquals(a, d));
  EXPECT_TRUE(ConstantTimeEquals(std::span<const uint8_t>(), std::span<const uint8_t>()));
}

TEST(EncodeTokenRecord, WritesTheDocumentedVersionOneLayout) {
  const std::string bytes = EncodeTokenRecord(SampleRecord());
  std::string expected;
  expected += '\x01';  // version
  expected += '\x03';  // reseller
  for (int i = 0; i < 32; ++i) expected += static_cast<char>(i);
  // 1'700'000'000'123'456'789 = 0x17979CFE3D85CD15
  expected += std::string("\x17\x97\x9c\xfe\x3d\x85\xcd\x15", 8);
  expected += std::string("\x00\x24", 2) + "tok_00112233445566778899aabbccddeeff";
  expected += std::string("\x00\x00", 2);
  expected += std::string("\x00\x07", 2) + "3333333";
  expected += std::string("\x00\x0d", 2) + "Fourth Coffee";
  EXPECT_EQ(Hex(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size())),
            Hex(std::span(reinterpret_cast<const uint8_t*>(expected.data()), expected.size())));
}

TEST(DecodeTokenRecord, RoundTripsExactly) {
  TokenRecord r = SampleRecord();
  auto decoded = DecodeTokenRecord(EncodeTokenRecord(r));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(*decoded, r);
  r.created_at.nanos = -5;  // before the epoch survives too
  r.name = std::string(256, '\xe9');
  r.role = Role::kAdmin;
  decoded = DecodeTokenRecord(EncodeTokenRecord(r));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, r);
}

TEST(DecodeTokenRecord, RejectsEveryTruncationAndTrailingBytes) {
  const std::string bytes = EncodeTokenRecord(SampleRecord());
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = DecodeTokenRecord(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  }
  EXPECT_EQ(DecodeTokenRecord(bytes + "x").status().code(), StatusCode::kCorruption);
}

TEST(DecodeTokenRecord, RejectsUnknownVersionsAndRoles) {
  std::string bytes = EncodeTokenRecord(SampleRecord());
  bytes[0] = '\x02';
  EXPECT_EQ(DecodeTokenRecord(bytes).status().code(), StatusCode::kCorruption);
  bytes[0] = '\x01';
  bytes[1] = '\x04';
  EXPECT_EQ(DecodeTokenRecord(bytes).status().code(), StatusCode::kCorruption);
}

}  // namespace
}  // namespace meterd::auth
