#include "tools/meterctl/json.h"

#include <gtest/gtest.h>

namespace meterd::meterctl {
namespace {

TEST(MeterctlJson, KeepsNumbersAsTheirSourceText) {
  Result<Json> j =
      Json::Parse(R"({"rate":150.123456789012,"q":1e3,"n":-0,"big":12345678901234567890.5})");
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  EXPECT_EQ(j->GetText("rate"), "150.123456789012");
  EXPECT_EQ(j->GetText("q"), "1e3");
  EXPECT_EQ(j->GetText("n"), "-0");
  EXPECT_EQ(j->GetText("big"), "12345678901234567890.5");
  EXPECT_EQ(j->Dump(), R"({"rate":150.123456789012,"q":1e3,"n":-0,"big":12345678901234567890.5})");
}

TEST(MeterctlJson, DecodesEscapesAndSurrogatePairsToUtf8) {
  Result<Json> j = Json::Parse(R"(["a\"b\\c\/\n\t", "\u00e9\ud83d\ude00"])");
  ASSERT_TRUE(j.ok()) << j.status().ToString();
  ASSERT_EQ(j->items().size(), 2u);
  EXPECT_EQ(j->items()[0].text(), "a\"b\\c/\n\t");
  EXPECT_EQ(j->items()[1].text(), "\xC3\xA9\xF0\x9F\x98\x80");
}

TEST(MeterctlJson, RejectsWhatTheGrammarForbids) {
  for (const char* bad :
       {"", "{", "[1,]", "{\"a\":1,}", "01", "+1", ".5", "1.", "1e", "tru", "\"\\ud800\"",
        "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"a\nb\"", "{\"a\" 1}", "[1] 2", "nul"}) {
    EXPECT_FALSE(Json::Parse(bad).ok()) << bad;
  }
}

TEST(MeterctlJson, FindsMembersAndTreatsNullAsAbsentText) {
  Result<Json> j = Json::Parse(R"({"a":"x","b":null,"c":true,"d":[1]})");
  ASSERT_TRUE(j.ok());
  EXPECT_EQ(j->GetText("a"), "x");
  EXPECT_EQ(j->GetText("b"), std::nullopt);
  EXPECT_EQ(j->GetText("c"), std::nullopt);
  EXPECT_EQ(j->GetText("missing"), std::nullopt);
  ASSERT_NE(j->Find("c"), nullptr);
  EXPECT_TRUE(j->Find("c")->as_bool());
  EXPECT_TRUE(j->Find("b")->is_null());
}

TEST(MeterctlJson, EscapesControlCharactersWhenWriting) {
  Json o = Json::Object();
  o.Set("k", Json::String(std::string("q\"\x01\n", 4)));
  EXPECT_EQ(o.Dump(), "{\"k\":\"q\\\"\\u0001\\n\"}");
  Result<Json> back = Json::Parse(o.Dump());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->GetText("k"), std::string("q\"\x01\n", 4));
}

TEST(MeterctlJson, PrettyPrintsOneMemberPerLine) {
  Json o = Json::Object({{"a", Json::Number("1")}, {"b", Json::Array({Json::String("x")})}});
  EXPECT_EQ(o.Pretty(), "{\n  \"a\": 1,\n  \"b\": [\n    \"x\"\n  ]\n}\n");
}

TEST(MeterctlJson, RecognisesJsonNumbersOnly) {
  EXPECT_TRUE(IsJsonNumber("80"));
  EXPECT_TRUE(IsJsonNumber("2.50"));
  EXPECT_TRUE(IsJsonNumber("1e2"));
  EXPECT_FALSE(IsJsonNumber("80%"));
  EXPECT_FALSE(IsJsonNumber(" 80"));
  EXPECT_FALSE(IsJsonNumber("\"80\""));
  EXPECT_FALSE(IsJsonNumber(""));
}

}  // namespace
}  // namespace meterd::meterctl
