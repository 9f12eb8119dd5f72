#include "daemon/http/router.h"

#include <gtest/gtest.h>

#include "daemon/http/responder.h"

namespace meterd::http {
namespace {

Handler Noop() {
  return [](Request&, Responder) {};
}

TEST(Router, MatchesLiteralAndParameterSegments) {
  Router r;
  ASSERT_TRUE(r.Add(Verb::get, "/v1/customers/{id}/spend", Noop()).ok());
  ASSERT_TRUE(r.Add(Verb::get, "/v1/customers", Noop()).ok());
  RouteMatch m = r.Find(Verb::get, "/v1/customers/C-1/spend");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(m.route->pattern, "/v1/customers/{id}/spend");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].first, "id");
  EXPECT_EQ(m.params[0].second, "C-1");
  EXPECT_EQ(r.Find(Verb::get, "/v1/customers").route->pattern, "/v1/customers");
}

TEST(Router, KeepsColonsInIdsAndDecodesEscapedSlashes) {
  Router r;
  ASSERT_TRUE(r.Add(Verb::put, "/v1/grants/{id}", Noop()).ok());
  RouteMatch m = r.Find(Verb::put, "/v1/grants/aobo:0a1b");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(m.params[0].second, "aobo:0a1b");
  m = r.Find(Verb::put, "/v1/grants/a%2Fb%3Ac");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(m.params[0].second, "a/b:c");
  m = r.Find(Verb::put, "/v1/grants/a%2");
  EXPECT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_FALSE(m.status.ok());
}

TEST(Router, PrefersALiteralSegmentOverAParameter) {
  Router r;
  ASSERT_TRUE(r.Add(Verb::post, "/v1/{collection}", Noop()).ok());
  ASSERT_TRUE(r.Add(Verb::post, "/v1/budgets:batchSet", Noop()).ok());
  EXPECT_EQ(r.Find(Verb::post, "/v1/budgets:batchSet").route->pattern, "/v1/budgets:batchSet");
  EXPECT_EQ(r.Find(Verb::post, "/v1/budgets:other").route->pattern, "/v1/{collection}");
}

TEST(Router, SaysNotFoundForUnknownPathsAndEmptySegments) {
  Router r;
  ASSERT_TRUE(r.Add(Verb::get, "/v1/customers/{id}", Noop()).ok());
  EXPECT_EQ(r.Find(Verb::get, "/v1/customers").kind, RouteMatch::Kind::kNotFound);
  EXPECT_EQ(r.Find(Verb::get, "/v1/customers/").kind, RouteMatch::Kind::kNotFound);
  EXPECT_EQ(r.Find(Verb::get, "/v1/customers/a/b").kind, RouteMatch::Kind::kNotFound);
  EXPECT_EQ(r.Find(Verb::get, "v1/customers/a").kind, RouteMatch::Kind::kNotFound);
}

TEST(Router, ListsTheAllowedMethodsForAWrongMethod) {
  Router r;
  ASSERT_TRUE(r.Add(Verb::get, "/v1/customers/{id}/budget", Noop()).ok());
  ASSERT_TRUE(r.Add(Verb::put, "/v1/customers/{id}/budget", Noop()).ok());
  ASSERT_TRUE(r.Add(Verb::delete_, "/v1/customers/{id}/budget", Noop()).ok());
  RouteMatch m = r.Find(Verb::post, "/v1/customers/c1/budget");
  EXPECT_EQ(m.kind, RouteMatch::Kind::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "DELETE, GET, HEAD, PUT");
}

TEST(Router, AnswersHeadWithTheGetRoute) {
  Router r;
  ASSERT_TRUE(r.Add(Verb::get, "/healthz", Noop()).ok());
  RouteMatch m = r.Find(Verb::head, "/healthz");
  ASSERT_EQ(m.kind, RouteMatch::Kind::kFound);
  EXPECT_EQ(m.route->method, Verb::get);
}

TEST(Router, RejectsBadAndDuplicateRoutes) {
  Router r;
  EXPECT_EQ(r.Add(Verb::get, "no-slash", Noop()).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Add(Verb::get, "/a/{}", Noop()).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Add(Verb::get, "/a/x{id}", Noop()).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Add(Verb::get, "/a", Handler()).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(r.Add(Verb::get, "/a/{id}", Noop()).ok());
  EXPECT_EQ(r.Add(Verb::get, "/a/{other}", Noop()).code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(r.Add(Verb::put, "/a/{id}", Noop()).ok());
  EXPECT_EQ(r.routes().size(), 2u);
  EXPECT_EQ(r.routes()[1]->index, 1u);
}

}  // namespace
}  // namespace meterd::http
