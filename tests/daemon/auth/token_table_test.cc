// The token table: Authorization header parsing, lookups, revocation (also while other threads
// authenticate), and keeping tables apart in the per-thread snapshot cache.

#include "daemon/auth/token_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace meterd::auth {
namespace {

IssuedToken Issue(Role role, std::string partner_id = "", std::string mpn_id = "") {
  auto issued = IssueToken(TokenSpec{role, std::move(partner_id), std::move(mpn_id), "test"},
                           rating::Timestamp{1});
  EXPECT_TRUE(issued.ok());
  return std::move(issued).value();
}

std::string Bearer(const IssuedToken& t) { return "Bearer " + t.secret; }

void ExpectUnauthenticated(const TokenTable& table, std::string_view header) {
  auto r = table.Authenticate(header);
  ASSERT_FALSE(r.ok()) << header;
  EXPECT_EQ(r.status().code(), kUnauthenticatedCode) << header;
}

TEST(TokenTable, AuthenticatesAnIssuedTokenToItsPrincipal) {
  TokenTable table;
  const IssuedToken partner = Issue(Role::kPartner, "Contoso");
  ASSERT_TRUE(table.Add(partner.record).ok());
  auto p = table.Authenticate(Bearer(partner));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->role, Role::kPartner);
  EXPECT_EQ(p->partner_id, "contoso");
  EXPECT_EQ(p->mpn_id, "");
  EXPECT_EQ(p->token_id, partner.record.token_id);
}

TEST(TokenTable, AcceptsTheSchemeInAnyCaseAndSurroundingBlanks) {
  TokenTable table;
  const IssuedToken t = Issue(Role::kIngest);
  ASSERT_TRUE(table.Add(t.record).ok());
  EXPECT_TRUE(table.Authenticate("bearer " + t.secret).ok());
  EXPECT_TRUE(table.Authenticate("BEARER " + t.secret).ok());
  EXPECT_TRUE(table.Authenticate("  Bearer \t " + t.secret + " \t").ok());
}

TEST(TokenTable, RefusesMissingAndMalformedHeaders) {
  TokenTable table;
  const IssuedToken t = Issue(Role::kAdmin);
  ASSERT_TRUE(table.Add(t.record).ok());
  ExpectUnauthenticated(table, "");
  ExpectUnauthenticated(table, "   ");
  ExpectUnauthenticated(table, "Bearer");
  ExpectUnauthenticated(table, "Bearer ");
  ExpectUnauthenticated(table, t.secret);                    // no scheme
  ExpectUnauthenticated(table, "Basic " + t.secret);         // wrong scheme
  ExpectUnauthenticated(table, "Bearer" + t.secret);         // no separator
  ExpectUnauthenticated(table, "Bearer " + t.secret + "x");  // too long
  ExpectUnauthenticated(table, "Bearer " + t.secret.substr(0, 46));
  ExpectUnauthenticated(table, "Bearer " + t.secret + " " + t.secret);
  ExpectUnauthenticated(table, "Bearer " + t.record.token_id);  // the id is not a credential
}

TEST(TokenTable, RefusesAWellFormedUnknownToken) {
  TokenTable table;
  ASSERT_TRUE(table.Add(Issue(Role::kAdmin).record).ok());
  const IssuedToken stranger = Issue(Role::kAdmin);
  ExpectUnauthenticated(table, Bearer(stranger));
  // The reason never echoes the secret.
  auto r = table.Authenticate(Bearer(stranger));
  EXPECT_EQ(r.status().message().find(stranger.secret), std::string::npos);
}

TEST(TokenTable, RevocationIsEffectiveImmediately) {
  TokenTable table;
  const IssuedToken keep = Issue(Role::kAdmin);
  const IssuedToken drop = Issue(Role::kPartner, "p1");
  ASSERT_TRUE(table.Add(keep.record).ok());
  ASSERT_TRUE(table.Add(drop.record).ok());
  ASSERT_TRUE(table.Authenticate(Bearer(drop)).ok());
  ASSERT_TRUE(table.Revoke(drop.record.token_id).ok());
  ExpectUnauthenticated(table, Bearer(drop));
  EXPECT_TRUE(table.Authenticate(Bearer(keep)).ok());
  EXPECT_EQ(table.Revoke(drop.record.token_id).code(), StatusCode::kNotFound);
  EXPECT_EQ(table.size(), 1u);
}

TEST(TokenTable, RefusesDuplicateIdsAndSecrets) {
  TokenTable table;
  const IssuedToken t = Issue(Role::kAdmin);
  ASSERT_TRUE(table.Add(t.record).ok());
  EXPECT_EQ(table.Add(t.record).code(), StatusCode::kAlreadyExists);
  TokenRecord same_secret = Issue(Role::kIngest).record;
  same_secret.hash = t.record.hash;
  EXPECT_EQ(table.Add(same_secret).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(table.size(), 1u);
}

TEST(TokenTable, LoadReplacesEverythingOrNothing) {
  TokenTable table;
  const IssuedToken old_token = Issue(Role::kAdmin);
  ASSERT_TRUE(table.Add(old_token.record).ok());
  const IssuedToken a = Issue(Role::kIngest);
  const IssuedToken b = Issue(Role::kReseller, "", "3333333");
  ASSERT_TRUE(table.Load({a.record, b.record}).ok());
  ExpectUnauthenticated(table, Bearer(old_token));
  EXPECT_TRUE(table.Authenticate(Bearer(a)).ok());
  auto reseller = table.Authenticate(Bearer(b));
  ASSERT_TRUE(reseller.ok());
  EXPECT_EQ(reseller->mpn_id, "3333333");

  EXPECT_EQ(table.Load({a.record, a.record}).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(table.Authenticate(Bearer(b)).ok());  // unchanged
  EXPECT_EQ(table.size(), 2u);
}

TEST(TokenTable, FindsAndListsRecordsInIdOrder) {
  TokenTable table;
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    const IssuedToken t = Issue(Role::kIngest);
    ids.push_back(t.record.token_id);
    ASSERT_TRUE(table.Add(t.record).ok());
  }
  std::sort(ids.begin(), ids.end());
  const std::vector<TokenRecord> listed = table.List();
  ASSERT_EQ(listed.size(), 5u);
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(listed[i].token_id, ids[i]);
  ASSERT_TRUE(table.Find(ids[2]).has_value());
  EXPECT_EQ(table.Find(ids[2])->token_id, ids[2]);
  EXPECT_FALSE(table.Find("tok_nope").has_value());
}

TEST(TokenTable, KeepsTwoTablesApartOnOneThread) {
  // The per-thread snapshot cache must never answer for the wrong table.
  TokenTable a, b;
  const IssuedToken ta = Issue(Role::kAdmin);
  const IssuedToken tb = Issue(Role::kIngest);
  ASSERT_TRUE(a.Add(ta.record).ok());
  ASSERT_TRUE(b.Add(tb.record).ok());
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(a.Authenticate(Bearer(ta)).ok());
    ExpectUnauthenticated(b, Bearer(ta));
    EXPECT_TRUE(b.Authenticate(Bearer(tb)).ok());
    ExpectUnauthenticated(a, Bearer(tb));
  }
}

TEST(TokenTable, ANewTableAtAReusedAddressDoesNotInheritTheCache) {
  const IssuedToken t = Issue(Role::kAdmin);
  {
    TokenTable first;
    ASSERT_TRUE(first.Add(t.record).ok());
    ASSERT_TRUE(first.Authenticate(Bearer(t)).ok());
  }
  TokenTable second;  // likely at the same address, same version number
  ExpectUnauthenticated(second, Bearer(t));
}

TEST(TokenTable, RevocationReachesThreadsThatAreAuthenticating) {
  TokenTable table;
  const IssuedToken keep = Issue(Role::kAdmin);
  const IssuedToken drop = Issue(Role::kIngest);
  ASSERT_TRUE(table.Add(keep.record).ok());
  ASSERT_TRUE(table.Add(drop.record).ok());

  std::atomic<bool> revoked{false};
  std::atomic<int> failures{0};
  std::atomic<int> started{0};
  std::vector<std::thread> readers;
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&] {
      started.fetch_add(1);
      for (int n = 0; n < 3000; ++n) {
        // Read the flag first: if the revocation had returned, the token must be refused.
        const bool after = revoked.load(std::memory_order_acquire);
        const bool ok = table.Authenticate(Bearer(drop)).ok();
        if (after && ok) failures.fetch_add(1);
        if (!table.Authenticate(Bearer(keep)).ok()) failures.fetch_add(1);
      }
    });
  }
  while (started.load() < 4) std::this_thread::yield();
  // Churn unrelated tokens while readers run, then revoke.
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(table.Add(Issue(Role::kIngest).record).ok());
  ASSERT_TRUE(table.Revoke(drop.record.token_id).ok());
  revoked.store(true, std::memory_order_release);
  for (auto& t : readers) t.join();
  EXPECT_EQ(failures.load(), 0);
  ExpectUnauthenticated(table, Bearer(drop));
}

}  // namespace
}  // namespace meterd::auth
