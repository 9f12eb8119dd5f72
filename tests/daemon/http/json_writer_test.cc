#include "daemon/http/json_writer.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdint>
#include <limits>
#include <string>

namespace meterd::http {
namespace {

// Round trip through a real JSON parser: what we write must parse back to what we wrote.
std::string ParseBackString(const std::string& json) {
  simdjson::dom::parser parser;
  std::string_view s;
  EXPECT_EQ(parser.parse(json).get(s), simdjson::SUCCESS) << json;
  return std::string(s);
}

std::string Quoted(std::string_view s) {
  std::string out;
  JsonWriter::AppendQuoted(s, &out);
  return out;
}

TEST(JsonWriter, WritesNestedObjectsAndArraysWithCommas) {
  JsonWriter w;
  w.BeginObject()
      .Field("customer_id", "c1")
      .Field("count", 3)
      .Field("big", uint64_t{18446744073709551615u})
      .Field("neg", int64_t{-9223372036854775807LL - 1})
      .Field("ok", true)
      .Field("budget", nullptr)
      .Key("rows")
      .BeginArray()
      .BeginObject()
      .Field("a", 1)
      .EndObject()
      .BeginObject()
      .EndObject()
      .Int(7)
      .EndArray()
      .Key("empty")
      .BeginArray()
      .EndArray()
      .EndObject();
  EXPECT_TRUE(w.complete());
  EXPECT_EQ(w.view(), R"({"customer_id":"c1","count":3,"big":18446744073709551615,)"
                      R"("neg":-9223372036854775808,"ok":true,"budget":null,)"
                      R"("rows":[{"a":1},{},7],"empty":[]})");
}

TEST(JsonWriter, TreatsAStringLiteralAsAStringNotABool) {
  JsonWriter w;
  w.BeginObject().Field("s", "text").Field("b", false).EndObject();
  EXPECT_EQ(w.view(), R"({"s":"text","b":false})");
}

TEST(JsonWriter, EscapesQuotesBackslashesAndEveryControlCharacter) {
  EXPECT_EQ(Quoted("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(Quoted("\b\f\n\r\t"), R"("\b\f\n\r\t")");
  EXPECT_EQ(Quoted(std::string("\x00\x01\x1f", 3)), R"("\u0000\u0001\u001f")");
  EXPECT_EQ(Quoted("/ and \x7f stay"), "\"/ and \x7f stay\"");
  for (int c = 0; c < 0x20; ++c) {
    const std::string s(1, static_cast<char>(c));
    EXPECT_EQ(ParseBackString(Quoted(s)), s) << "control character " << c;
  }
}

TEST(JsonWriter, PassesValidUtf8Through) {
  const std::string s = "Kr\xC3\xB8ner \xE2\x82\xAC \xF0\x9F\x98\x80 \xE4\xB8\xAD";
  EXPECT_EQ(Quoted(s), "\"" + s + "\"");
  EXPECT_EQ(ParseBackString(Quoted(s)), s);
}

TEST(JsonWriter, ReplacesIllFormedUtf8SoTheOutputStaysValidJson) {
  const std::string replacement = "\xEF\xBF\xBD";
  EXPECT_EQ(Quoted("a\xFF"
                   "b"),
            "\"a" + replacement + "b\"");
  EXPECT_EQ(Quoted("\xC0\xAF"), "\"" + replacement + replacement + "\"");  // overlong '/'
  EXPECT_EQ(Quoted("\xED\xA0\x80"),
            "\"" + replacement + replacement + replacement + "\"");        // surrogate
  EXPECT_EQ(Quoted("\xE2\x82"), "\"" + replacement + replacement + "\"");  // truncated
  EXPECT_EQ(Quoted("\xF4\x90\x80\x80").substr(1, 3), replacement);         // above U+10FFFF
  for (const char* bad : {"\xFF", "\xC0\xAF", "\xED\xA0\x80", "\xE2\x82", "x\xF8y"}) {
    simdjson::dom::parser parser;
    std::string_view out;
    EXPECT_EQ(parser.parse(Quoted(bad)).get(out), simdjson::SUCCESS);
  }
}

TEST(JsonWriter, EscapesKeysToo) {
  JsonWriter w;
  w.BeginObject().Field("we\"ird\n", 1).EndObject();
  EXPECT_EQ(w.view(), R"({"we\"ird\n":1})");
}

TEST(JsonWriter, WritesDecimalsAsStringsWithNineFractionDigits) {
  JsonWriter w;
  w.BeginObject()
      .Field("list", rating::Decimal::FromNanos(12'500'000'000))
      .Field("neg", rating::Decimal::FromNanos(-1))
      .Key("zero")
      .Decimal(rating::Decimal::Zero())
      .Key("raw")
      .QuotedRaw("2026-11-20")
      .Key("pre")
      .RawValue(R"({"x":[1,2]})")
      .EndObject();
  EXPECT_EQ(w.view(), R"({"list":"12.500000000","neg":"-0.000000001","zero":"0.000000000",)"
                      R"("raw":"2026-11-20","pre":{"x":[1,2]}})");
}

TEST(JsonWriter, AppendsToACallerOwnedBuffer) {
  std::string buf = "prefix:";
  JsonWriter w(&buf);
  w.BeginArray().String("a").Uint(2).EndArray();
  EXPECT_EQ(buf, R"(prefix:["a",2])");
}

TEST(JsonWriter, ReleasesItsOutput) {
  JsonWriter w;
  w.String("only");
  EXPECT_TRUE(w.complete());
  EXPECT_EQ(w.Release(), R"("only")");
}

}  // namespace
}  // namespace meterd::http
