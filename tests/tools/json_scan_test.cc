#include "tools/loadgen/json_scan.h"

#include <gtest/gtest.h>

namespace meterd::loadgen {
namespace {

TEST(JsonScan, SplitsAnObjectKeepingEachValuesExactText) {
  auto m = TopLevelMembers(
      R"( {"2026-10": {"JPY": "150.123456789012", "EUR": 0.920000000001},
           "b\"x": [1, {"a": "}"}], "n": null, "t": true, "num": -1.5e-7 } )");
  ASSERT_TRUE(m.ok()) << m.status().message();
  ASSERT_EQ(m->size(), 5u);
  EXPECT_EQ((*m)[0].key, "2026-10");
  EXPECT_EQ((*m)[0].value, R"({"JPY": "150.123456789012", "EUR": 0.920000000001})");
  EXPECT_EQ((*m)[1].key, "b\"x");
  EXPECT_EQ((*m)[1].value, R"([1, {"a": "}"}])");
  EXPECT_EQ(FindMember(*m, "num").value_or(""), "-1.5e-7");
  EXPECT_EQ(FindMember(*m, "n").value_or(""), "null");
  EXPECT_FALSE(FindMember(*m, "missing").has_value());
}

TEST(JsonScan, ReadsTheDaemonsUsageAnswer) {
  auto m = TopLevelMembers(
      R"({"accepted":998,"duplicates":1,"rejected":1,"errors":[{"line":3,"id":"x","error":"bad_quantity","detail":"\"accepted\":5"}]})");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(JsonUint(*FindMember(*m, "accepted")), 998u);
  EXPECT_EQ(JsonUint(*FindMember(*m, "duplicates")), 1u);
  EXPECT_EQ(JsonUint(*FindMember(*m, "rejected")), 1u);
}

TEST(JsonScan, RejectsWhatIsNotOneWellFormedObject) {
  for (const char* bad : {"", "[]", "{", R"({"a":})", R"({"a":1,})", R"({"a":1} x)", R"({"a":01})",
                          R"({"a":"\q"})", R"({a:1})", R"({"a":tru})"}) {
    EXPECT_FALSE(TopLevelMembers(bad).ok()) << bad;
  }
  EXPECT_TRUE(TopLevelMembers("{}").ok());
}

TEST(JsonScan, ReadsOnlyPlainNonNegativeIntegers) {
  EXPECT_EQ(JsonUint("0"), 0u);
  EXPECT_EQ(JsonUint("18446744073709551"), 18446744073709551u);
  EXPECT_FALSE(JsonUint("-1"));
  EXPECT_FALSE(JsonUint("1.0"));
  EXPECT_FALSE(JsonUint("01"));
  EXPECT_FALSE(JsonUint(""));
  EXPECT_FALSE(JsonUint("1e3"));
}

}  // namespace
}  // namespace meterd::loadgen
