#include "daemon/http/request.h"

#include <gtest/gtest.h>

#include "daemon/http/problem.h"

namespace meterd::http {
namespace {

TEST(PercentDecode, DecodesEscapesAndOnlyTurnsPlusIntoSpaceInQueries) {
  EXPECT_EQ(PercentDecode("a%3Ab%2fc", false).value(), "a:b/c");
  EXPECT_EQ(PercentDecode("a+b", false).value(), "a+b");
  EXPECT_EQ(PercentDecode("a+b", true).value(), "a b");
  EXPECT_EQ(PercentDecode("%e2%82%AC", true).value(), "\xE2\x82\xAC");
}

TEST(PercentDecode, RejectsTruncatedOrNonHexEscapes) {
  for (const char* bad : {"%", "%4", "a%zz", "%g0", "abc%"}) {
    EXPECT_EQ(PercentDecode(bad, true).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(QueryParams, ParsesPairsInOrderWithRepeatsAndBareNames) {
  auto q = QueryParams::Parse("month=2026-11&limit=10&flag&x=1&x=2&&empty=");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->Get("month"), "2026-11");
  EXPECT_EQ(q->Get("limit"), "10");
  EXPECT_EQ(q->Get("flag"), "");
  EXPECT_TRUE(q->Has("empty"));
  EXPECT_EQ(q->Get("x"), "1");
  EXPECT_EQ(q->GetAll("x"), (std::vector<std::string_view>{"1", "2"}));
  EXPECT_FALSE(q->Get("absent").has_value());
}

TEST(QueryParams, DecodesNamesAndValues) {
  auto q = QueryParams::Parse("cur%73or=ab%2B%3D&q=a+b");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->Get("cursor"), "ab+=");
  EXPECT_EQ(q->Get("q"), "a b");
  EXPECT_FALSE(QueryParams::Parse("a=%G1").ok());
}

TEST(Accept, AcceptsEverythingWithoutAHeader) {
  EXPECT_TRUE(AcceptsMediaType("", "text/csv"));
  EXPECT_TRUE(AcceptsMediaType("  ", "application/json"));
}

TEST(Accept, HonoursWildcardsAndQualityZero) {
  EXPECT_TRUE(AcceptsMediaType("*/*", "text/csv"));
  EXPECT_TRUE(AcceptsMediaType("text/*", "text/csv"));
  EXPECT_FALSE(AcceptsMediaType("text/*", "application/json"));
  EXPECT_TRUE(AcceptsMediaType("Text/CSV; charset=utf-8", "text/csv"));
  EXPECT_FALSE(AcceptsMediaType("text/csv;q=0, */*", "text/csv"));
  EXPECT_TRUE(AcceptsMediaType("text/csv;q=0, */*", "application/json"));
  EXPECT_FALSE(AcceptsMediaType("application/json", "text/csv"));
}

TEST(Accept, NegotiatesByQualityThenServerPreference) {
  EXPECT_EQ(NegotiateMediaType("", {"application/json", "text/csv"}), "application/json");
  EXPECT_EQ(NegotiateMediaType("text/csv", {"application/json", "text/csv"}), "text/csv");
  EXPECT_EQ(NegotiateMediaType("application/json;q=0.5, text/csv;q=0.9",
                               {"application/json", "text/csv"}),
            "text/csv");
  EXPECT_EQ(NegotiateMediaType("*/*", {"application/json", "text/csv"}), "application/json");
  EXPECT_FALSE(NegotiateMediaType("image/png", {"application/json", "text/csv"}).has_value());
}

TEST(Request, ExposesHeadersPathAndContentType) {
  BeastRequest m{Verb::post, "/v1/usage?x=1", 11};
  m.set("Content-Type", "Application/X-NDJSON; charset=utf-8");
  m.set("Accept", "text/csv");
  m.body() = "{}";
  Request r(std::move(m), "/v1/usage", {}, QueryParams::Parse("x=1").value());
  EXPECT_EQ(r.path(), "/v1/usage");
  EXPECT_EQ(r.target(), "/v1/usage?x=1");
  EXPECT_EQ(r.header("content-type"), "Application/X-NDJSON; charset=utf-8");
  EXPECT_EQ(r.content_type(), "application/x-ndjson");
  EXPECT_TRUE(r.has_header("ACCEPT"));
  EXPECT_FALSE(r.has_header("Authorization"));
  EXPECT_EQ(r.header("Authorization"), "");
  EXPECT_TRUE(r.Accepts("text/csv"));
  EXPECT_FALSE(r.Accepts("application/json"));
  EXPECT_EQ(r.query().Get("x"), "1");
  EXPECT_EQ(r.method(), Verb::post);
}

TEST(Problem, RendersRfc9457MembersAndOptionalErrors) {
  Problem p;
  p.status = 422;
  p.detail = "amount must be > 0";
  p.errors_json = R"([{"field":"amount"}])";
  const Response r = MakeProblem(p);
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.content_type, "application/problem+json");
  EXPECT_EQ(r.body, R"({"type":"about:blank","title":"Unprocessable Content","status":422,)"
                    R"("detail":"amount must be > 0","errors":[{"field":"amount"}]})");
}

TEST(Problem, CarriesRetryAfterFor503And429) {
  const Response busy = ServiceUnavailable(std::chrono::seconds(5), "draining");
  EXPECT_EQ(busy.status, 503);
  ASSERT_EQ(busy.headers.size(), 1u);
  EXPECT_EQ(busy.headers[0], (std::pair<std::string, std::string>{"Retry-After", "5"}));
  const Response slow = TooManyRequests(std::chrono::seconds(2), "queue full");
  EXPECT_EQ(slow.status, 429);
  EXPECT_EQ(slow.headers[0].second, "2");
  EXPECT_NE(slow.body.find(R"("title":"Too Many Requests")"), std::string::npos);
}

TEST(Problem, MapsStatusCodesAndHidesInternalMessages) {
  EXPECT_EQ(ProblemFromStatus(Status::InvalidArgument("bad")).status, 400);
  EXPECT_EQ(ProblemFromStatus(Status::NotFound("x")).status, 404);
  EXPECT_EQ(ProblemFromStatus(Status::AlreadyExists("x")).status, 409);
  EXPECT_EQ(ProblemFromStatus(Status::ResourceExhausted("q")).status, 429);
  const Response unavailable = ProblemFromStatus(Status::Unavailable("starting"));
  EXPECT_EQ(unavailable.status, 503);
  EXPECT_EQ(unavailable.headers.at(0).first, "Retry-After");
  const Response internal = ProblemFromStatus(Status::IoError("/var/lib/meterd: EIO"));
  EXPECT_EQ(internal.status, 500);
  EXPECT_EQ(internal.body.find("/var/lib"), std::string::npos);
}

}  // namespace
}  // namespace meterd::http
