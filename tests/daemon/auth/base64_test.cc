// Base64 and base64url codecs: RFC 4648 test vectors and strict rejection of malformed text.

#include "daemon/auth/base64.h"

#include <gtest/gtest.h>

#include <string>

namespace meterd::auth {
namespace {

TEST(Base64Encode, MatchesTheRfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
}

TEST(Base64UrlEncode, UsesTheUrlAlphabetWithoutPadding) {
  EXPECT_EQ(Base64UrlEncode(std::string("\xfb\xff", 2)), "-_8");
  EXPECT_EQ(Base64Encode(std::string("\xfb\xff", 2)), "+/8=");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
}

TEST(Base64Decode, RoundTripsEveryLengthWithAndWithoutPadding) {
  std::string bytes;
  for (int n = 0; n < 70; ++n) {
    const std::string padded = Base64Encode(bytes);
    std::string out;
    ASSERT_TRUE(Base64Decode(padded, &out)) << padded;
    EXPECT_EQ(out, bytes);
    std::string unpadded = padded;
    while (!unpadded.empty() && unpadded.back() == '=') unpadded.pop_back();
    ASSERT_TRUE(Base64Decode(unpadded, &out)) << unpadded;
    EXPECT_EQ(out, bytes);
    ASSERT_TRUE(Base64UrlDecode(Base64UrlEncode(bytes), &out));
    EXPECT_EQ(out, bytes);
    bytes.push_back(static_cast<char>(n * 37 + 11));
  }
}

TEST(Base64Decode, RejectsMalformedText) {
  std::string out;
  EXPECT_FALSE(Base64Decode("Z", &out));         // one character cannot hold a byte
  EXPECT_FALSE(Base64Decode("Zg=", &out));       // padding present but incomplete
  EXPECT_FALSE(Base64Decode("Zm9v=", &out));     // padding after a full group
  EXPECT_FALSE(Base64Decode("Zm9vY===", &out));  // three padding characters
  EXPECT_FALSE(Base64Decode("Zm 9v", &out));     // whitespace
  EXPECT_FALSE(Base64Decode("Zm9v\n", &out));
  EXPECT_FALSE(Base64Decode("Zm-_", &out));     // URL alphabet in standard text
  EXPECT_FALSE(Base64Decode("Z=g=", &out));     // padding in the middle
  EXPECT_FALSE(Base64UrlDecode("+/8", &out));   // standard alphabet in URL text
  EXPECT_FALSE(Base64UrlDecode("Zg==", &out));  // URL text carries no padding
}

}  // namespace
}  // namespace meterd::auth
