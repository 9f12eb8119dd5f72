#include "daemon/ingest/usage_parser.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "daemon/ingest/json_fields.h"

namespace meterd::ingest {
namespace {

using rating::Decimal;
using rating::Timestamp;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Timestamp At(std::string_view rfc3339) {
  Timestamp t;
  EXPECT_TRUE(rating::ParseRfc3339(rfc3339, &t)) << rfc3339;
  return t;
}

Decimal Dec(std::string_view text) {
  Decimal d;
  EXPECT_EQ(Decimal::Parse(text, &d), rating::DecimalError::kOk) << text;
  return d;
}

rating::Date Day(int y, int m, int d) { return rating::DateFromYmd(y, m, d); }

// A well-formed event line with fields overridable as raw JSON text.
struct Line {
  std::string id = R"("e-1")";
  std::string entitlement_id = R"("E1000000-0000-4000-8000-000000000001")";
  std::string meter_id = R"("0A3C6E2A-6D1F-4C55-9A43-5F1C2B7D9E01")";
  std::string resource_uri = R"("/subscriptions/E1/resourceGroups/Web/providers/X/vm1")";
  std::string quantity = R"("1.5")";
  std::string timestamp = R"("2026-11-20T10:00:00Z")";
  std::string extra;  // appended verbatim after the fields, e.g. R"(,"tags":{})"

  std::string Json() const {
    std::string s = "{";
    auto add = [&s](std::string_view name, const std::string& value) {
      if (value.empty()) return;  // empty = leave the field out
      if (s.size() > 1) s += ',';
      s += '"';
      s += name;
      s += "\":";
      s += value;
    };
    add("id", id);
    add("entitlement_id", entitlement_id);
    add("meter_id", meter_id);
    add("resource_uri", resource_uri);
    add("quantity", quantity);
    add("timestamp", timestamp);
    s += extra;
    s += '}';
    return s;
  }
};

class UsageParserTest : public ::testing::Test {
 protected:
  UsageParserTest() { options_.now = At("2026-11-20T12:00:00Z"); }

  // Parses `body` (padded by a PaddedBuffer) and expects OK.
  const UsageBatch& Parse(std::string_view body) {
    buffer_.Assign(body);
    Status st = parser_.Parse(buffer_.view(), options_, &batch_);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return batch_;
  }

  // The single outcome of a one-line body: the error name, or "ok".
  std::string Outcome(const std::string& line) {
    const UsageBatch& b = Parse(line);
    if (b.events().size() == 1 && b.rejected_count() == 0) return "ok";
    if (b.events().empty() && b.rejections().size() == 1) {
      return std::string(UsageErrorName(b.rejections()[0].error));
    }
    return "unexpected";
  }

  std::string QuantityOutcome(const std::string& quantity_json) {
    Line l;
    l.quantity = quantity_json;
    return Outcome(l.Json());
  }

  UsageParseOptions options_;
  UsageParser parser_;
  UsageBatch batch_;
  PaddedBuffer buffer_;
};

TEST_F(UsageParserTest, AcceptsAWellFormedEventAndFillsEveryField) {
  const UsageBatch& b = Parse(Line().Json());
  ASSERT_EQ(b.events().size(), 1u);
  EXPECT_EQ(b.rejected_count(), 0u);
  const UsageEvent& e = b.events()[0];
  EXPECT_EQ(e.line, 1u);
  EXPECT_EQ(e.id, "e-1");
  EXPECT_EQ(e.entitlement_id, "e1000000-0000-4000-8000-000000000001");
  EXPECT_EQ(e.meter_id, "0a3c6e2a-6d1f-4c55-9a43-5f1c2b7d9e01");
  EXPECT_EQ(e.resource_uri, "/subscriptions/e1/resourcegroups/web/providers/x/vm1");
  EXPECT_EQ(e.quantity, Dec("1.5"));
  EXPECT_EQ(e.timestamp, At("2026-11-20T10:00:00Z"));
  EXPECT_EQ(e.usage_date, Day(2026, 11, 20));
}

TEST_F(UsageParserTest, ParsesTheBasicExampleUsageWithOffsetsMovingTheUtcDay) {
  options_.now = At("2026-11-20T12:00:00Z");
  std::string body = ReadFile(METERD_FIXTURES_DIR "/examples/basic/usage.ndjson");
  const UsageBatch& b = Parse(body);
  // Duplicates are the shard's business: the parser accepts all nine well-formed lines.
  ASSERT_EQ(b.events().size(), 9u);
  EXPECT_EQ(b.rejected_count(), 0u);
  EXPECT_EQ(b.events()[0].quantity, Dec("10"));
  EXPECT_EQ(b.events()[1].quantity, Dec("2.5"));
  // "2026-11-04T00:30:00+02:00" is 2026-11-03T22:30Z.
  EXPECT_EQ(b.events()[2].timestamp, At("2026-11-03T22:30:00Z"));
  EXPECT_EQ(b.events()[2].usage_date, Day(2026, 11, 3));
  EXPECT_EQ(b.events()[5].quantity, Dec("24.0000075"));
  EXPECT_EQ(b.events()[6].quantity, Dec("1.000000125"));  // a JSON number, exactly
  EXPECT_EQ(b.events()[8].id, "E4");                      // case kept
  EXPECT_EQ(b.events()[4].id, "e4");
  for (size_t i = 0; i < b.events().size(); ++i) EXPECT_EQ(b.events()[i].line, i + 1);
}

TEST_F(UsageParserTest, ReproducesTheBadUsageFixtureExactly) {
  std::string now = ReadFile(METERD_FIXTURES_DIR "/examples/basic/now.txt");
  options_.now = At(TrimJsonWhitespace(now));
  std::string body = ReadFile(METERD_FIXTURES_DIR "/examples/basic/bad_usage.ndjson");
  const UsageBatch& b = Parse(body);

  simdjson::dom::parser dom;
  simdjson::dom::element expected =
      dom.load(METERD_FIXTURES_DIR "/examples/basic/bad_expected.json");
  simdjson::dom::element usage = expected["usage"];
  // The duplicate is decided later; for the parser it is an accepted event.
  EXPECT_EQ(int64_t(b.events().size()),
            int64_t(usage["counts"]["accepted"]) + int64_t(usage["counts"]["duplicates"]));
  EXPECT_EQ(int64_t(b.rejected_count()), int64_t(usage["counts"]["rejected"]));
  simdjson::dom::array lines = usage["lines"];
  ASSERT_EQ(b.rejections().size(), lines.size());
  size_t i = 0;
  for (simdjson::dom::element want : lines) {
    const UsageRejection& got = b.rejections()[i++];
    EXPECT_EQ(int64_t(got.line), int64_t(want["line"]));
    simdjson::dom::array codes = want["codes"];
    ASSERT_EQ(codes.size(), 1u);
    EXPECT_EQ(UsageErrorName(got.error), std::string_view(codes.at(0))) << "line " << got.line;
    if (want["id"].is_null()) {
      EXPECT_FALSE(got.id.has_value()) << "line " << got.line;
    } else {
      ASSERT_TRUE(got.id.has_value()) << "line " << got.line;
      EXPECT_EQ(*got.id, std::string_view(want["id"]));
    }
    EXPECT_FALSE(got.detail.empty());
  }
  ASSERT_EQ(b.events().size(), 1u);
  EXPECT_EQ(b.events()[0].line, 11u);
}

TEST_F(UsageParserTest, ReportsEveryErrorCodeWithItsOneBasedLineNumber) {
  Line ok;
  Line bad_json;
  Line missing;
  missing.meter_id = "";
  Line too_long;
  too_long.entitlement_id = '"' + std::string(129, 'a') + '"';
  Line bad_quantity;
  bad_quantity.quantity = "-1";
  Line too_large;
  too_large.quantity = R"("1000000000000000.000000001")";
  Line bad_timestamp;
  bad_timestamp.timestamp = R"("2026-11-20 10:00:00Z")";
  Line in_future;
  in_future.timestamp = R"("2026-11-21T12:00:00.000000001Z")";
  Line too_old;
  too_old.timestamp = R"("2026-09-30T23:59:59Z")";  // horizon 2026-10-01 + 35 d = 11-05

  std::string body = ok.Json() + "\n" + bad_json.Json().substr(0, 20) + "\n" + missing.Json() +
                     "\n" + too_long.Json() + "\n" + bad_quantity.Json() + "\n" + too_large.Json() +
                     "\n" + bad_timestamp.Json() + "\n" + in_future.Json() + "\n" + too_old.Json() +
                     "\n" + ok.Json() + "\n";
  const UsageBatch& b = Parse(body);
  ASSERT_EQ(b.events().size(), 2u);
  EXPECT_EQ(b.events()[0].line, 1u);
  EXPECT_EQ(b.events()[1].line, 10u);
  ASSERT_EQ(b.rejections().size(), 8u);
  EXPECT_EQ(b.rejected_count(), 8u);
  const UsageError want[] = {UsageError::kBadJson,  UsageError::kMissingField,
                             UsageError::kTooLong,  UsageError::kBadQuantity,
                             UsageError::kTooLarge, UsageError::kBadTimestamp,
                             UsageError::kInFuture, UsageError::kTooOld};
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(b.rejections()[i].line, i + 2);
    EXPECT_EQ(b.rejections()[i].error, want[i]) << "line " << i + 2;
  }
  EXPECT_EQ(b.line_count(), 10u);
}

TEST_F(UsageParserTest, NamesEveryErrorCodeAsTheApiSpellsIt) {
  EXPECT_EQ(UsageErrorName(UsageError::kBadJson), "bad_json");
  EXPECT_EQ(UsageErrorName(UsageError::kMissingField), "missing_field");
  EXPECT_EQ(UsageErrorName(UsageError::kTooLong), "too_long");
  EXPECT_EQ(UsageErrorName(UsageError::kBadQuantity), "bad_quantity");
  EXPECT_EQ(UsageErrorName(UsageError::kTooLarge), "too_large");
  EXPECT_EQ(UsageErrorName(UsageError::kBadTimestamp), "bad_timestamp");
  EXPECT_EQ(UsageErrorName(UsageError::kInFuture), "in_future");
  EXPECT_EQ(UsageErrorName(UsageError::kTooOld), "too_old");
}

TEST_F(UsageParserTest, TheFirstFailingCheckWinsInTheOrderOfTheSpec) {
  Line l;
  l.id = "";                                             // missing_field
  l.entitlement_id = '"' + std::string(200, 'x') + '"';  // too_long
  l.quantity = "-1";                                     // bad_quantity
  l.timestamp = R"("yesterday")";                        // bad_timestamp
  EXPECT_EQ(Outcome(l.Json()), "missing_field");
  l.id = R"("ok")";
  EXPECT_EQ(Outcome(l.Json()), "too_long");
  l.entitlement_id = R"("e1")";
  EXPECT_EQ(Outcome(l.Json()), "bad_quantity");
  l.quantity = "1e16";
  EXPECT_EQ(Outcome(l.Json()), "too_large");
  l.quantity = "1";
  EXPECT_EQ(Outcome(l.Json()), "bad_timestamp");
  l.timestamp = R"("2030-01-01T00:00:00Z")";
  EXPECT_EQ(Outcome(l.Json()), "in_future");
  // A duplicated field is bad_json even when every other check would fail too.
  l.id = R"("first")";
  l.extra = R"(,"id":"again")";
  EXPECT_EQ(Outcome(l.Json()), "bad_json");
}

TEST_F(UsageParserTest, RejectsEveryKnownFieldGivenTwiceAsBadJsonButKeepsTheId) {
  for (std::string dup :
       {R"("id":"x")", R"("entitlement_id":"e")", R"("meter_id":"m")", R"("resource_uri":"/r")",
        R"("quantity":1)", R"("timestamp":"2026-11-20T10:00:00Z")", R"("resource_group":"a")",
        R"("tags":{})"}) {
    Line l;
    l.extra = "," + dup + "," + dup;
    const UsageBatch& b = Parse(l.Json());
    ASSERT_EQ(b.rejections().size(), 1u) << dup;
    EXPECT_EQ(b.rejections()[0].error, UsageError::kBadJson) << dup;
    EXPECT_NE(b.rejections()[0].detail.find("more than once"), std::string_view::npos);
    if (dup.starts_with(R"("id")")) {
      EXPECT_FALSE(b.rejections()[0].id.has_value());  // which of the two ids?
    } else {
      ASSERT_TRUE(b.rejections()[0].id.has_value()) << dup;
      EXPECT_EQ(*b.rejections()[0].id, "e-1");
    }
  }
}

TEST_F(UsageParserTest, CountsANullFieldAsAbsentAndStillDetectsItsRepetition) {
  Line l;
  l.quantity = "null";
  EXPECT_EQ(Outcome(l.Json()), "missing_field");
  l = Line();
  l.timestamp = "null";
  EXPECT_EQ(Outcome(l.Json()), "missing_field");
  l = Line();
  l.extra = R"(,"resource_group":null,"tags":null)";
  EXPECT_EQ(Outcome(l.Json()), "ok");
  l.extra = R"(,"quantity":null)";
  EXPECT_EQ(Outcome(l.Json()), "bad_json");
}

TEST_F(UsageParserTest, TreatsAbsentEmptyAndNonStringRequiredFieldsAsMissing) {
  for (int field = 0; field < 6; ++field) {
    for (std::string value : {std::string(), std::string(R"("")"), std::string("17"),
                              std::string("true"), std::string("{}"), std::string("[]")}) {
      Line l;
      std::string* slots[] = {&l.id,           &l.entitlement_id, &l.meter_id,
                              &l.resource_uri, &l.quantity,       &l.timestamp};
      *slots[field] = value;
      std::string want = "missing_field";
      // A quantity that is a number is valid; a boolean, object or array is bad_quantity.
      if (field == 4 && value == "17") want = "ok";
      if (field == 4 && (value == "true" || value == "{}" || value == "[]")) {
        want = "bad_quantity";
      }
      EXPECT_EQ(Outcome(l.Json()), want) << "field " << field << " value '" << value << "'";
    }
  }
}

TEST_F(UsageParserTest, IgnoresUnknownFieldsButRequiresThemToBeWellFormed) {
  Line l;
  l.extra = R"(,"unit":"hours","nested":{"a":[1,2,{"b":null}],"c":true},"n":-1.5e-3)";
  EXPECT_EQ(Outcome(l.Json()), "ok");
  l.extra = R"(,"unit":"a","unit":"b")";  // unknown fields may repeat
  EXPECT_EQ(Outcome(l.Json()), "ok");
  for (std::string bad : {R"(,"x":tru)", R"(,"x":nul)", R"(,"x":[1,])", R"(,"x":01)", R"(,"x":1.)",
                          R"(,"x":-)", R"(,"x":{"a"})", R"(,"x":"\q")", R"(,"x":truee)"}) {
    l.extra = bad;
    EXPECT_EQ(Outcome(l.Json()), "bad_json") << bad;
  }
}

TEST_F(UsageParserTest, AcceptsTagsAndResourceGroupOfAnyWellFormedShape) {
  Line l;
  l.extra = R"(,"resource_group":"web","tags":{"env":"prod","cost":["a","b"]})";
  EXPECT_EQ(Outcome(l.Json()), "ok");
}

TEST_F(UsageParserTest, MatchesKeysAfterUnescapingThem) {
  Line l;
  l.id = "";
  l.extra = R"(,"\u0069d":"escaped-key")";
  const UsageBatch& b = Parse(l.Json());
  ASSERT_EQ(b.events().size(), 1u);
  EXPECT_EQ(b.events()[0].id, "escaped-key");
  l.id = R"("plain")";
  EXPECT_EQ(Outcome(l.Json()), "bad_json");  // "id" and "\u0069d" are the same key
}

TEST_F(UsageParserTest, DecodesSurrogatePairsAndRejectsUnpairedSurrogates) {
  Line l;
  l.id = R"("\ud83d\ude00-\u00e9")";
  const UsageBatch& b = Parse(l.Json());
  ASSERT_EQ(b.events().size(), 1u);
  EXPECT_EQ(b.events()[0].id, "\xF0\x9F\x98\x80-\xC3\xA9");
  for (std::string bad : {R"("\ud800")", R"("x\udc00")", R"("\ud800\u0041")", R"("\ud83dx")"}) {
    l.id = bad;
    EXPECT_EQ(Outcome(l.Json()), "bad_json") << bad;
    l.id = R"("ok")";
    l.extra = ",\"other\":" + bad;  // also in fields we do not read
    EXPECT_EQ(Outcome(l.Json()), "bad_json") << bad;
    l.extra = "," + bad + ":1";  // and in keys
    EXPECT_EQ(Outcome(l.Json()), "bad_json") << bad;
    l.extra.clear();
  }
}

TEST_F(UsageParserTest, RejectsRawNulBytesButKeepsAnEscapedNul) {
  Line l;
  l.id = std::string("\"a\0b\"", 5);
  EXPECT_EQ(Outcome(l.Json()), "bad_json");
  EXPECT_FALSE(batch_.rejections()[0].id.has_value());
  l = Line();
  EXPECT_EQ(Outcome(l.Json() + std::string(1, '\0')), "bad_json");
  EXPECT_EQ(Outcome(std::string(1, '\0') + l.Json()), "bad_json");
  l.extra = std::string(",\0\"x\":1", 7);
  EXPECT_EQ(Outcome(l.Json()), "bad_json");
  l = Line();
  l.id = R"("a\u0000b")";
  const UsageBatch& b = Parse(l.Json());
  ASSERT_EQ(b.events().size(), 1u);
  EXPECT_EQ(b.events()[0].id, std::string_view("a\0b", 3));
}

TEST_F(UsageParserTest, RejectsAnEscapedNulInIdentifiersThatKeyLines) {
  Line l;
  l.entitlement_id = R"("e1\u0000x")";
  EXPECT_EQ(Outcome(l.Json()), "bad_json");
  l = Line();
  l.meter_id = R"("m\u0000")";
  EXPECT_EQ(Outcome(l.Json()), "bad_json");
  l = Line();
  l.resource_uri = R"("/subscriptions/s/\u0000")";
  EXPECT_EQ(Outcome(l.Json()), "bad_json");
}

TEST_F(UsageParserTest, RejectsInvalidUtf8Anywhere) {
  for (std::string bad : {std::string("\xff"), std::string("\xc0\xaf"),  // overlong '/'
                          std::string("\xe2\x82"),                       // truncated
                          std::string("\xed\xa0\x80"),                   // UTF-16 surrogate
                          std::string("\xf4\x90\x80\x80")}) {            // > U+10FFFF
    Line l;
    l.id = "\"x" + bad + "\"";
    EXPECT_EQ(Outcome(l.Json()), "bad_json");
    l = Line();
    l.extra = ",\"note\":\"" + bad + "\"";
    EXPECT_EQ(Outcome(l.Json()), "bad_json");
    EXPECT_NE(batch_.rejections()[0].detail.find("UTF-8"), std::string_view::npos);
  }
  Line l;
  l.resource_uri = "\"/subscriptions/s/r/caf\xC3\xA9\"";  // valid UTF-8 is fine
  EXPECT_EQ(Outcome(l.Json()), "ok");
}

TEST_F(UsageParserTest, RejectsTruncatedTrailingAndNonObjectLinesAsBadJson) {
  std::string good = Line().Json();
  for (std::string bad :
       {good.substr(0, good.size() - 1), good + "x", good + "{}", good + good, good + ",",
        std::string("[") + good + "]", std::string("\"text\""), std::string("17"),
        std::string("null"), std::string("true"), std::string("{"), std::string("}"),
        std::string("{\"id\"}"), std::string("{,}"), std::string("{\"a\":1,}")}) {
    const UsageBatch& b = Parse(bad);
    ASSERT_EQ(b.rejections().size(), 1u) << bad;
    EXPECT_EQ(b.rejections()[0].error, UsageError::kBadJson) << bad;
    EXPECT_FALSE(b.rejections()[0].id.has_value()) << bad;
    EXPECT_TRUE(b.events().empty());
  }
  EXPECT_EQ(Outcome(good + "   \t"), "ok");  // trailing whitespace is not content
  EXPECT_EQ(Outcome("  \t" + good), "ok");
}

TEST_F(UsageParserTest, LimitsNestingTo32Levels) {
  auto nested = [](int levels) {
    std::string s;
    for (int i = 0; i < levels; ++i) s += "{\"a\":";
    s += "1";
    for (int i = 0; i < levels; ++i) s += "}";
    return s;
  };
  Line l;
  l.extra = ",\"deep\":" + nested(31);  // 31 + the event object = 32 levels
  EXPECT_EQ(Outcome(l.Json()), "ok");
  l.extra = ",\"deep\":" + nested(32);
  EXPECT_EQ(Outcome(l.Json()), "bad_json");
  l.extra = ",\"deep\":" + std::string(5000, '[') + std::string(5000, ']');
  EXPECT_EQ(Outcome(l.Json()), "bad_json");
}

TEST_F(UsageParserTest, ParsesQuantitiesExactlyFromNumbersAndStrings) {
  struct Case {
    const char* json;
    const char* value;
  } cases[] = {
      {"10", "10"},
      {R"("2.5")", "2.5"},
      {"1.000000125", "1.000000125"},
      {"1e3", "1000"},
      {"1E3", "1000"},
      {R"("2.5E+1")", "25"},
      {"15e-1", "1.5"},
      {"1.5e-8", "0.000000015"},
      {"0", "0"},
      {"-0", "0"},
      {R"("-0")", "0"},
      {"-0.0e7", "0"},
      {"1.5000000000", "1.5"},  // 10 digits, but the value needs only 1
      {R"("0.1000000000000000000000")", "0.1"},
      {"1000000000000000", "1000000000000000"},  // exactly 10^15
      {"1e15", "1000000000000000"},
      {"0.000000001", "0.000000001"},
  };
  for (const Case& c : cases) {
    Line l;
    l.quantity = c.json;
    const UsageBatch& b = Parse(l.Json());
    ASSERT_EQ(b.events().size(), 1u) << c.json;
    EXPECT_EQ(b.events()[0].quantity, Dec(c.value)) << c.json;
  }
}

TEST_F(UsageParserTest, RejectsQuantitiesThatAreNotExactNonNegativeDecimals) {
  // Judged on the value: ten fractional digits are fine only if the tenth is zero.
  EXPECT_EQ(QuantityOutcome("1.0000000001"), "bad_quantity");
  EXPECT_EQ(QuantityOutcome(R"("1.0000000001")"), "bad_quantity");
  EXPECT_EQ(QuantityOutcome("1e-10"), "bad_quantity");
  EXPECT_EQ(QuantityOutcome("-1"), "bad_quantity");
  EXPECT_EQ(QuantityOutcome(R"("-0.000000001")"), "bad_quantity");
  EXPECT_EQ(QuantityOutcome("-1e30"), "bad_quantity");
  EXPECT_EQ(QuantityOutcome("true"), "bad_quantity");
  EXPECT_EQ(QuantityOutcome("false"), "bad_quantity");
  EXPECT_EQ(QuantityOutcome(R"({"v":1})"), "bad_quantity");
  EXPECT_EQ(QuantityOutcome("[1]"), "bad_quantity");
  EXPECT_EQ(QuantityOutcome(R"("")"), "missing_field");
  // Strings must follow the JSON number grammar exactly, without spaces.
  for (const char* s :
       {R"("+1")", R"(".5")", R"("1.")", R"("01")", R"(" 1")", R"("1 ")", R"("1,5")", R"("0x10")",
        R"("NaN")", R"("Infinity")", R"("1e")", R"("--1")", R"("1..2")", R"("one")"}) {
    EXPECT_EQ(QuantityOutcome(s), "bad_quantity") << s;
  }
  // The same texts as bare JSON values are not JSON at all.
  for (const char* s : {"+1", ".5", "1.", "01", "1e", "NaN", "0x10"}) {
    EXPECT_EQ(QuantityOutcome(s), "bad_json") << s;
  }
}

TEST_F(UsageParserTest, RejectsQuantitiesAbove10To15AsTooLarge) {
  EXPECT_EQ(QuantityOutcome("1e16"), "too_large");
  EXPECT_EQ(QuantityOutcome("1000000000000000.000000001"), "too_large");
  EXPECT_EQ(QuantityOutcome(R"("1000000000000001")"), "too_large");
  EXPECT_EQ(QuantityOutcome("1e300"), "too_large");
  EXPECT_EQ(QuantityOutcome("123456789012345678901234567890"), "too_large");
  // Too precise wins over too large: bad_quantity is checked first.
  EXPECT_EQ(QuantityOutcome("1000000000000000000000.0000000001"), "bad_quantity");
}

TEST_F(UsageParserTest, ChecksLengthLimitsOnDecodedBytes) {
  Line l;
  l.id = '"' + std::string(128, 'i') + '"';
  l.entitlement_id = '"' + std::string(128, 'e') + '"';
  l.meter_id = '"' + std::string(128, 'm') + '"';
  l.resource_uri = '"' + std::string(1024, 'r') + '"';
  EXPECT_EQ(Outcome(l.Json()), "ok");
  // 128 escaped characters are 768 bytes of JSON but 128 decoded bytes.
  std::string escaped;
  for (int i = 0; i < 128; ++i) escaped += "\\u0041";
  l.meter_id = '"' + escaped + '"';
  EXPECT_EQ(Outcome(l.Json()), "ok");
  EXPECT_EQ(batch_.events()[0].meter_id, std::string(128, 'a'));
  // 64 × 'é' is 128 bytes; one more ASCII character is too long.
  std::string e_acute;
  for (int i = 0; i < 64; ++i) e_acute += "\xC3\xA9";
  l.id = '"' + e_acute + '"';
  EXPECT_EQ(Outcome(l.Json()), "ok");
  l.id = '"' + e_acute + "!\"";
  EXPECT_EQ(Outcome(l.Json()), "too_long");
  ASSERT_TRUE(batch_.rejections()[0].id.has_value());
  EXPECT_EQ(*batch_.rejections()[0].id, e_acute + "!");
  l = Line();
  l.entitlement_id = '"' + std::string(129, 'e') + '"';
  EXPECT_EQ(Outcome(l.Json()), "too_long");
  l = Line();
  l.meter_id = '"' + std::string(129, 'm') + '"';
  EXPECT_EQ(Outcome(l.Json()), "too_long");
  l = Line();
  l.resource_uri = '"' + std::string(1025, 'r') + '"';
  EXPECT_EQ(Outcome(l.Json()), "too_long");
}

TEST_F(UsageParserTest, LowercasesIdsAsciiOnlyAndKeepsTheEventIdAsSent) {
  Line l;
  l.id = R"("Ev-ABC")";
  l.entitlement_id = R"("ABCDEF")";
  l.meter_id = R"("MeTeR-É")";
  l.resource_uri = R"("/Subscriptions/S/resourceGroups/RG/Ü")";
  const UsageBatch& b = Parse(l.Json());
  ASSERT_EQ(b.events().size(), 1u);
  EXPECT_EQ(b.events()[0].id, "Ev-ABC");
  EXPECT_EQ(b.events()[0].entitlement_id, "abcdef");
  EXPECT_EQ(b.events()[0].meter_id, "meter-É");  // non-ASCII bytes untouched
  EXPECT_EQ(b.events()[0].resource_uri, "/subscriptions/s/resourcegroups/rg/Ü");
}

TEST_F(UsageParserTest, ConvertsTimestampOffsetsToTheUtcDay) {
  struct Case {
    const char* ts;
    int y, m, d;
  } cases[] = {
      {"2026-11-04T00:30:00+02:00", 2026, 11, 3},
      {"2026-11-03T23:30:00-01:00", 2026, 11, 4},
      {"2026-11-01t00:00:00z", 2026, 11, 1},
      {"2026-10-31T23:59:59.999999999Z", 2026, 10, 31},
      {"2026-11-01T05:29:59+05:30", 2026, 10, 31},
      {"2026-11-20T23:59:59-12:00", 2026, 11, 21},  // 11-21T11:59:59Z, not in the future
  };
  for (const Case& c : cases) {
    Line l;
    l.timestamp = std::string("\"") + c.ts + "\"";
    const UsageBatch& b = Parse(l.Json());
    ASSERT_EQ(b.events().size(), 1u) << c.ts;
    EXPECT_EQ(b.events()[0].usage_date, Day(c.y, c.m, c.d)) << c.ts;
    EXPECT_EQ(b.events()[0].timestamp, At(c.ts));
  }
}

TEST_F(UsageParserTest, RejectsTimestampsThatAreNotRfc3339) {
  for (const char* ts :
       {"2026-11-20T10:00:00", "2026-11-20", "2026-11-20T10:00Z", "2026-11-20T10:00:60Z",
        "2026-11-20T10:00:00.1234567890Z", "2026-02-30T10:00:00Z", "20261120T100000Z",
        " 2026-11-20T10:00:00Z", "2026-11-20T10:00:00+0200"}) {
    Line l;
    l.timestamp = std::string("\"") + ts + "\"";
    EXPECT_EQ(Outcome(l.Json()), "bad_timestamp") << ts;
  }
}

TEST_F(UsageParserTest, AcceptsUpTo24HoursAheadAndNoMore) {
  options_.now = At("2026-11-20T12:00:00Z");
  Line l;
  l.timestamp = R"("2026-11-21T12:00:00Z")";
  EXPECT_EQ(Outcome(l.Json()), "ok");
  l.timestamp = R"("2026-11-21T12:00:00.000000001Z")";
  EXPECT_EQ(Outcome(l.Json()), "in_future");
  l.timestamp = R"("2026-11-21T14:00:00+02:00")";  // the same instant as 12:00Z
  EXPECT_EQ(Outcome(l.Json()), "ok");
}

TEST_F(UsageParserTest, RejectsUsageOlderThanTheRetentionHorizon) {
  Line l;
  l.timestamp = R"("2026-10-31T23:59:59Z")";
  // October's horizon: 2026-11-01 + 35 days = 2026-12-06T00:00Z.
  options_.now = At("2026-12-05T23:59:59.999999999Z");
  EXPECT_EQ(Outcome(l.Json()), "ok");
  options_.now = At("2026-12-06T00:00:00Z");
  EXPECT_EQ(Outcome(l.Json()), "too_old");
  options_.retention_days = 36;
  EXPECT_EQ(Outcome(l.Json()), "ok");
  options_.retention_days = 0;
  options_.now = At("2026-11-01T00:00:00Z");
  EXPECT_EQ(Outcome(l.Json()), "too_old");
  // An offset decides the usage month: 11-01T00:30+01:00 is still October in UTC.
  options_.retention_days = 35;
  options_.now = At("2026-12-06T00:00:00Z");
  l.timestamp = R"("2026-11-01T00:30:00+01:00")";
  EXPECT_EQ(Outcome(l.Json()), "too_old");
}

TEST_F(UsageParserTest, JudgesTimestampsAtTheEdgesOfTheCalendarWithoutOverflow) {
  Line l;
  l.timestamp = R"("9999-12-31T23:59:59.999999999Z")";
  std::string far_future = Outcome(l.Json());
  EXPECT_TRUE(far_future == "in_future" || far_future == "bad_timestamp") << far_future;
  l.timestamp = R"("0001-01-01T00:00:00Z")";
  std::string far_past = Outcome(l.Json());
  EXPECT_TRUE(far_past == "too_old" || far_past == "bad_timestamp") << far_past;
  l.timestamp = R"("1970-01-01T00:00:00Z")";
  EXPECT_EQ(Outcome(l.Json()), "too_old");
  // An absurd retention is clamped to a century instead of overflowing: seen from 2100,
  // January 1970 is then still too old.
  options_.retention_days = 2'000'000'000;
  options_.now = At("2100-01-01T00:00:00Z");
  EXPECT_EQ(Outcome(l.Json()), "too_old");
  l.timestamp = R"("2099-12-31T00:00:00Z")";
  EXPECT_EQ(Outcome(l.Json()), "ok");
  options_.now = At("2026-11-20T12:00:00Z");
  options_.retention_days = -5;  // as 0
  l.timestamp = R"("2026-10-31T23:59:59Z")";
  EXPECT_EQ(Outcome(l.Json()), "too_old");
  l.timestamp = R"("2026-11-01T00:00:00Z")";
  EXPECT_EQ(Outcome(l.Json()), "ok");
}

TEST_F(UsageParserTest, HandlesCrlfBlankLinesAndAFinalLineWithoutNewline) {
  std::string ev = Line().Json();
  std::string bad = "{\"id\":\"x\"";
  std::string body = ev + "\r\n\r\n" + bad + "\r\n   \t\r\n" + ev + "\n\n" + ev;
  const UsageBatch& b = Parse(body);
  ASSERT_EQ(b.events().size(), 3u);
  EXPECT_EQ(b.events()[0].line, 1u);
  EXPECT_EQ(b.events()[1].line, 5u);  // blank lines still consume their numbers
  EXPECT_EQ(b.events()[2].line, 7u);
  ASSERT_EQ(b.rejections().size(), 1u);
  EXPECT_EQ(b.rejections()[0].line, 3u);
  EXPECT_EQ(b.line_count(), 7u);
  // The last line's value ends at the very end of the buffer: its padding is what follows.
  EXPECT_EQ(b.events()[2].id, "e-1");
}

TEST_F(UsageParserTest, AcceptsAnEmptyBodyAndABodyOfBlankLines) {
  EXPECT_TRUE(Parse("").events().empty());
  EXPECT_EQ(batch_.rejected_count(), 0u);
  EXPECT_TRUE(Parse("\n\r\n  \n").events().empty());
  EXPECT_EQ(batch_.rejected_count(), 0u);
  EXPECT_EQ(batch_.line_count(), 3u);
}

TEST_F(UsageParserTest, KeepsAStrayCarriageReturnInsideALineAsWhitespace) {
  Line l;
  l.extra = ",\r\"x\":1";
  EXPECT_EQ(Outcome(l.Json()), "ok");
}

TEST_F(UsageParserTest, ParsesVeryLongLinesAndShortOnesAfterThem) {
  Line big;
  big.extra = ",\"blob\":\"" + std::string(3 << 20, 'z') + "\"";
  std::string body = Line().Json() + "\n" + big.Json() + "\n" + Line().Json() + "\n";
  const UsageBatch& b = Parse(body);
  EXPECT_EQ(b.events().size(), 3u);
  EXPECT_EQ(b.rejected_count(), 0u);
  // A long line that is malformed at its very end.
  std::string broken = big.Json();
  broken.pop_back();
  EXPECT_EQ(Outcome(broken), "bad_json");
}

TEST_F(UsageParserTest, ListsTheFirstHundredRejectionsAndCountsThemAll) {
  std::string body;
  for (int i = 0; i < 150; ++i) {
    Line l;
    l.id = "\"bad-" + std::to_string(i) + "\"";
    l.quantity = "-1";
    body += l.Json() + "\n";
    if (i % 50 == 0) body += Line().Json() + "\n";
  }
  const UsageBatch& b = Parse(body);
  EXPECT_EQ(b.events().size(), 3u);
  EXPECT_EQ(b.rejected_count(), 150u);
  ASSERT_EQ(b.rejections().size(), kMaxListedRejections);
  EXPECT_EQ(*b.rejections()[0].id, "bad-0");
  EXPECT_EQ(b.rejections()[0].line, 1u);
  EXPECT_EQ(*b.rejections()[99].id, "bad-99");
  EXPECT_EQ(b.rejections()[99].line, 100u + 2);  // two valid lines came before it
  // Metrics count by reason beyond the listed hundred, and a reused batch starts from zero.
  EXPECT_EQ(b.rejected_count(UsageError::kBadQuantity), 150u);
  EXPECT_EQ(b.rejected_count(UsageError::kBadJson), 0u);
  const UsageBatch& again = Parse("{\n" + Line().Json() + "\n");
  EXPECT_EQ(again.rejected_count(UsageError::kBadQuantity), 0u);
  EXPECT_EQ(again.rejected_count(UsageError::kBadJson), 1u);
}

TEST_F(UsageParserTest, RefusesARequestWithMoreEventsThanTheLimit) {
  options_.max_events_per_request = 3;
  std::string ev = Line().Json() + "\n";
  buffer_.Assign(ev + "\n\n" + ev + ev);  // blank lines do not count
  EXPECT_TRUE(parser_.Parse(buffer_.view(), options_, &batch_).ok());
  EXPECT_EQ(batch_.events().size(), 3u);
  buffer_.Assign(ev + ev + "garbage\n" + ev);  // rejected lines count
  Status st = parser_.Parse(buffer_.view(), options_, &batch_);
  EXPECT_EQ(st.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(st.message().find("at most 3"), std::string::npos) << st.message();
  EXPECT_TRUE(batch_.events().empty());
  EXPECT_EQ(batch_.rejected_count(), 0u);
}

TEST_F(UsageParserTest, ReusesTheBatchWithoutKeepingEarlierResults) {
  std::string body;
  for (int i = 0; i < 500; ++i) {
    Line l;
    l.id = "\"big-" + std::to_string(i) + "\"";
    body += l.Json() + "\n";
  }
  EXPECT_EQ(Parse(body).events().size(), 500u);
  Line l;
  l.id = R"("small")";
  const UsageBatch& b = Parse(l.Json() + "\nnot json\n");
  ASSERT_EQ(b.events().size(), 1u);
  EXPECT_EQ(b.events()[0].id, "small");
  EXPECT_EQ(b.rejected_count(), 1u);
  EXPECT_EQ(b.rejections()[0].line, 2u);
  EXPECT_EQ(b.line_count(), 2u);
}

TEST_F(UsageParserTest, KeepsEventStringsValidUntilTheNextParse) {
  // Strings are decoded into the batch, not into the parser: the source buffer may go away.
  std::string body;
  for (int i = 0; i < 100; ++i) {
    Line l;
    l.id = "\"\\u0045v" + std::to_string(i) + "\"";
    l.entitlement_id = "\"ENT-" + std::to_string(i) + "\"";
    body += l.Json() + "\n";
  }
  Parse(body);
  buffer_.Assign(std::string(body.size(), 'x'));
  ASSERT_EQ(batch_.events().size(), 100u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(batch_.events()[i].id, "Ev" + std::to_string(i));
    EXPECT_EQ(batch_.events()[i].entitlement_id, "ent-" + std::to_string(i));
  }
}

TEST(NdjsonLines, SplitsOnNewlinesAndDropsOneCarriageReturn) {
  NdjsonLines lines("a\r\nb\n\nc\r\r\nd");
  std::string_view line;
  uint32_t n;
  std::vector<std::pair<std::string, uint32_t>> got;
  while (lines.Next(&line, &n)) got.emplace_back(std::string(line), n);
  std::vector<std::pair<std::string, uint32_t>> want = {
      {"a", 1}, {"b", 2}, {"", 3}, {"c\r", 4}, {"d", 5}};
  EXPECT_EQ(got, want);
  NdjsonLines trailing("x\n");
  ASSERT_TRUE(trailing.Next(&line, &n));
  EXPECT_FALSE(trailing.Next(&line, &n));
}

TEST(JsonNumberGrammar, AcceptsExactlyRfc8259Numbers) {
  for (const char* ok : {"0", "-0", "1", "10", "1.5", "-1.5e10", "1E+2", "1e-2", "0.0"}) {
    EXPECT_TRUE(IsJsonNumber(ok)) << ok;
  }
  for (const char* bad :
       {"", "-", "+1", ".5", "1.", "01", "-01", "1e", "1e+", "0x1", "1 ", "1.e5", "--1", "NaN"}) {
    EXPECT_FALSE(IsJsonNumber(bad)) << bad;
  }
}

TEST(AsciiCase, FoldsOnlyAsciiLetters) {
  std::string in = "AZaz09-_\xC3\x89\xC3\xA9[`@{";
  std::string lower(in.size(), '\0'), upper(in.size(), '\0');
  CopyAsciiLower(in, lower.data());
  CopyAsciiUpper(in, upper.data());
  EXPECT_EQ(lower, "azaz09-_\xC3\x89\xC3\xA9[`@{");
  EXPECT_EQ(upper, "AZAZ09-_\xC3\x89\xC3\xA9[`@{");
}

}  // namespace
}  // namespace meterd::ingest
