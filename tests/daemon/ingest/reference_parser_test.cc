#include "daemon/ingest/reference_parser.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

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

std::vector<Decimal> Decs(std::initializer_list<const char*> texts) {
  std::vector<Decimal> out;
  for (const char* t : texts) out.push_back(Dec(t));
  return out;
}

class ReferenceParserTest : public ::testing::Test {
 protected:
  // Parses one NDJSON line; returns the error name, or "ok".
  std::string LineOutcome(const std::string& line) {
    parser_.ParseNdjson(line, &batch_);
    if (batch_.entities.size() == 1 && batch_.rejected == 0) return "ok";
    if (batch_.entities.empty() && batch_.errors.size() == 1) {
      return std::string(ReferenceErrorName(batch_.errors[0].error));
    }
    return "unexpected";
  }

  template <typename T>
  const T& Only() {
    EXPECT_EQ(batch_.rejected, 0u) << (batch_.errors.empty() ? "" : batch_.errors[0].detail);
    EXPECT_EQ(batch_.entities.size(), 1u);
    static const T kEmpty{};
    if (batch_.entities.size() != 1) return kEmpty;
    const T* entity = std::get_if<T>(&batch_.entities[0].entity);
    EXPECT_NE(entity, nullptr);
    return entity ? *entity : kEmpty;
  }

  ReferenceParser parser_;
  ReferenceBatch batch_;
};

TEST_F(ReferenceParserTest, ParsesEveryExampleReferenceFile) {
  for (const char* example : {"basic", "currencies", "tiers-and-pec"}) {
    std::string body =
        ReadFile(std::string(METERD_FIXTURES_DIR "/examples/") + example + "/reference.ndjson");
    parser_.ParseNdjson(body, &batch_);
    EXPECT_EQ(batch_.rejected, 0u) << example;
    EXPECT_GT(batch_.entities.size(), 3u) << example;
  }
}

TEST_F(ReferenceParserTest, ParsesTheTiersExampleIntoNormalizedEntities) {
  parser_.ParseNdjson(ReadFile(METERD_FIXTURES_DIR "/examples/tiers-and-pec/reference.ndjson"),
                      &batch_);
  ASSERT_EQ(batch_.entities.size(), 8u);
  ASSERT_EQ(batch_.rejected, 0u);
  const auto& partner = std::get<rating::Partner>(batch_.entities[0].entity);
  EXPECT_EQ(partner.kind, rating::PartnerKind::kIndirectProvider);
  EXPECT_TRUE(partner.mpn_active);  // omitted: default true
  const auto& reseller = std::get<rating::Reseller>(batch_.entities[1].entity);
  EXPECT_EQ(reseller.mpn_id, "3333333");
  EXPECT_EQ(reseller.partner_id, "7d3f1c2a-0000-4000-8000-000000000002");
  const auto& customer = std::get<rating::Customer>(batch_.entities[2].entity);
  EXPECT_EQ(customer.reseller_mpn_id, "3333333");
  EXPECT_EQ(customer.country, "US");
  EXPECT_FALSE(customer.currency.has_value());
  const auto& ea = std::get<rating::Entitlement>(batch_.entities[3].entity);
  EXPECT_FALSE(ea.aobo);
  EXPECT_EQ(ea.offer, rating::Offer::kAzurePlan);
  EXPECT_EQ(ea.created_at, At("2026-01-01T00:00:00Z"));
  const auto& g1 = std::get<rating::Grant>(batch_.entities[5].entity);
  EXPECT_EQ(g1.grant_id, "g1");
  EXPECT_EQ(g1.scope, "/subscriptions/aaaaaaaa-0000-4000-8000-00000000000a/resourcegroups/rg1");
  EXPECT_EQ(g1.principal_mpn_id, "3333333");
  EXPECT_EQ(g1.role, "contributor");
  EXPECT_FALSE(g1.end.has_value());
  const auto& g2 = std::get<rating::Grant>(batch_.entities[6].entity);
  EXPECT_EQ(g2.role, "owner");
  ASSERT_TRUE(g2.end.has_value());
  EXPECT_EQ(*g2.end, At("2026-11-06T15:00:00Z"));
  for (size_t i = 0; i < batch_.entities.size(); ++i) EXPECT_EQ(batch_.entities[i].line, i + 1);
}

TEST_F(ReferenceParserTest, LowercasesIdsAndUppercasesCodesOfEveryType) {
  EXPECT_EQ(LineOutcome(R"({"type":"partner","partner_id":"P-ONE","name":"Contoso Cloud",)"
                        R"("mpn_id":"MPN-1","kind":"direct","mpn_active":false})"),
            "ok");
  {
    const auto& p = Only<rating::Partner>();
    EXPECT_EQ(p.partner_id, "p-one");
    EXPECT_EQ(p.name, "Contoso Cloud");  // free text keeps its case
    EXPECT_EQ(p.mpn_id, "mpn-1");
    EXPECT_EQ(p.kind, rating::PartnerKind::kDirect);
    EXPECT_FALSE(p.mpn_active);
  }
  EXPECT_EQ(LineOutcome(R"({"type":"reseller","mpn_id":"R-1","name":"Fourth Coffee",)"
                        R"("partner_id":"P-ONE"})"),
            "ok");
  {
    const auto& r = Only<rating::Reseller>();
    EXPECT_EQ(r.mpn_id, "r-1");
    EXPECT_EQ(r.partner_id, "p-one");
    EXPECT_EQ(r.name, "Fourth Coffee");
  }
  EXPECT_EQ(LineOutcome(R"({"type":"customer","customer_id":"C-1","name":"Alpine",)"
                        R"("domain":"Alpine.onmicrosoft.com","country":"no","partner_id":"P-ONE",)"
                        R"("reseller_mpn_id":"R-1","currency":"eur"})"),
            "ok");
  {
    const auto& c = Only<rating::Customer>();
    EXPECT_EQ(c.customer_id, "c-1");
    EXPECT_EQ(c.domain, "Alpine.onmicrosoft.com");
    EXPECT_EQ(c.country, "NO");
    EXPECT_EQ(c.partner_id, "p-one");
    EXPECT_EQ(c.reseller_mpn_id, "r-1");
    EXPECT_EQ(c.currency, "EUR");
  }
  EXPECT_EQ(LineOutcome(R"({"type":"entitlement","entitlement_id":"E-1","customer_id":"C-1",)"
                        R"("description":"Prod","offer":"shared_services",)"
                        R"("created_at":"2026-01-15T11:00:00+01:00","aobo":false})"),
            "ok");
  {
    const auto& e = Only<rating::Entitlement>();
    EXPECT_EQ(e.entitlement_id, "e-1");
    EXPECT_EQ(e.customer_id, "c-1");
    EXPECT_EQ(e.description, "Prod");
    EXPECT_EQ(e.offer, rating::Offer::kSharedServices);
    EXPECT_EQ(e.created_at, At("2026-01-15T10:00:00Z"));
    EXPECT_FALSE(e.aobo);
  }
  EXPECT_EQ(
      LineOutcome(R"({"type":"grant","grant_id":"G-1","entitlement_id":"E-1",)"
                  R"("scope":"/Subscriptions/E-1/ResourceGroups/RG","principal_mpn_id":"R-1",)"
                  R"("role":"Contributor","start":"2026-01-01T00:00:00Z",)"
                  R"("end":"2026-02-01T00:00:00Z"})"),
      "ok");
  {
    const auto& g = Only<rating::Grant>();
    EXPECT_EQ(g.grant_id, "g-1");
    EXPECT_EQ(g.entitlement_id, "e-1");
    EXPECT_EQ(g.scope, "/subscriptions/e-1/resourcegroups/rg");
    EXPECT_EQ(g.principal_mpn_id, "r-1");
    EXPECT_EQ(g.role, "contributor");
    EXPECT_EQ(g.start, At("2026-01-01T00:00:00Z"));
    EXPECT_EQ(g.end, At("2026-02-01T00:00:00Z"));
  }
}

TEST_F(ReferenceParserTest, AppliesDefaultsAndTreatsOptionalFieldsAsOptional) {
  EXPECT_EQ(LineOutcome(R"({"type":"partner","partner_id":"p","mpn_id":"m","kind":"direct"})"),
            "ok");
  EXPECT_TRUE(Only<rating::Partner>().mpn_active);
  EXPECT_EQ(Only<rating::Partner>().name, "");
  EXPECT_EQ(LineOutcome(R"({"type":"entitlement","entitlement_id":"e","customer_id":"c",)"
                        R"("offer":"legacy","created_at":"2026-01-01T00:00:00Z","aobo":null})"),
            "ok");
  EXPECT_TRUE(Only<rating::Entitlement>().aobo);
  EXPECT_EQ(LineOutcome(R"({"type":"customer","customer_id":"c","country":"US",)"
                        R"("partner_id":"p","reseller_mpn_id":"","currency":null})"),
            "ok");
  EXPECT_FALSE(Only<rating::Customer>().reseller_mpn_id.has_value());
  EXPECT_FALSE(Only<rating::Customer>().currency.has_value());
  EXPECT_EQ(LineOutcome(
                R"({"type":"grant","grant_id":"g","entitlement_id":"e","scope":"/subscriptions/e",)"
                R"("principal_mpn_id":"m","role":"owner","start":"2026-01-01T00:00:00Z",)"
                R"("end":null,"extra":{"ignored":[1,2]}})"),
            "ok");
  EXPECT_FALSE(Only<rating::Grant>().end.has_value());
}

TEST_F(ReferenceParserTest, ParsesTheImpliedAoboGrantFromItsEndAlone) {
  EXPECT_EQ(LineOutcome(
                R"({"type":"grant","grant_id":"AOBO:E1000000-0000","end":"2026-11-06T15:00:00Z"})"),
            "ok");
  const auto& g = Only<rating::Grant>();
  EXPECT_EQ(g.grant_id, "aobo:e1000000-0000");
  EXPECT_EQ(g.entitlement_id, "e1000000-0000");
  EXPECT_EQ(g.end, At("2026-11-06T15:00:00Z"));
  EXPECT_EQ(LineOutcome(R"({"type":"grant","grant_id":"aobo:e1"})"), "ok");
  EXPECT_FALSE(Only<rating::Grant>().end.has_value());
  EXPECT_EQ(LineOutcome(R"({"type":"grant","grant_id":"aobo:"})"), "bad_value");
  EXPECT_EQ(LineOutcome(R"({"type":"grant","grant_id":"aobo:e1","end":"soon"})"), "bad_timestamp");
}

TEST_F(ReferenceParserTest, ReportsEachBadLineWithItsNumberAndGoesOn) {
  std::string body =
      R"({"type":"partner","partner_id":"p1","mpn_id":"1","kind":"direct"})"
      "\r\n"
      R"({"type":"partner","partner_id":"p2","mpn_id":"2","kind":"Direct"})"
      "\n"
      "\n"
      R"({"type":"partner","partner_id":"p3","mpn_id":"3")"
      "\n"
      R"({"type":"vendor","id":"v"})"
      "\n"
      R"({"partner_id":"p4"})"
      "\n"
      R"({"type":"entitlement","entitlement_id":"e","customer_id":"c","offer":"azure_plan","created_at":"2026-13-01T00:00:00Z"})"
      "\n"
      R"({"type":"partner","partner_id":"p5","mpn_id":"5","kind":"indirect_provider"})";
  parser_.ParseNdjson(body, &batch_);
  ASSERT_EQ(batch_.entities.size(), 2u);
  EXPECT_EQ(batch_.entities[0].line, 1u);
  EXPECT_EQ(batch_.entities[1].line, 8u);
  EXPECT_EQ(batch_.rejected, 5u);
  ASSERT_EQ(batch_.errors.size(), 5u);
  std::vector<std::pair<uint32_t, std::string>> got;
  for (const auto& e : batch_.errors) {
    got.emplace_back(e.line, std::string(ReferenceErrorName(e.error)));
    EXPECT_FALSE(e.detail.empty());
  }
  std::vector<std::pair<uint32_t, std::string>> want = {{2, "bad_value"},
                                                        {4, "bad_json"},
                                                        {5, "unknown_type"},
                                                        {6, "missing_field"},
                                                        {7, "bad_timestamp"}};
  EXPECT_EQ(got, want);
  EXPECT_NE(batch_.errors[0].detail.find("'direct' or 'indirect_provider'"), std::string::npos);
}

TEST_F(ReferenceParserTest, RequiresTheKeyAndReferenceFieldsOfEveryType) {
  struct Case {
    const char* line;
    const char* want;
  } cases[] = {
      {R"({"type":"partner","mpn_id":"1","kind":"direct"})", "missing_field"},
      {R"({"type":"partner","partner_id":"p","kind":"direct"})", "missing_field"},
      {R"({"type":"partner","partner_id":"p","mpn_id":"1"})", "missing_field"},
      {R"({"type":"partner","partner_id":"","mpn_id":"1","kind":"direct"})", "missing_field"},
      {R"({"type":"reseller","mpn_id":"1"})", "missing_field"},
      {R"({"type":"reseller","partner_id":"p"})", "missing_field"},
      {R"({"type":"customer","customer_id":"c","partner_id":"p"})", "missing_field"},
      {R"({"type":"customer","customer_id":"c","country":"US"})", "missing_field"},
      {R"({"type":"customer","country":"US","partner_id":"p"})", "missing_field"},
      {R"({"type":"entitlement","entitlement_id":"e","customer_id":"c","offer":"legacy"})",
       "missing_field"},
      {R"({"type":"entitlement","entitlement_id":"e","customer_id":"c","created_at":"2026-01-01T00:00:00Z"})",
       "missing_field"},
      {R"({"type":"entitlement","entitlement_id":"e","offer":"legacy","created_at":"2026-01-01T00:00:00Z"})",
       "missing_field"},
      {R"({"type":"grant","grant_id":"g","entitlement_id":"e","scope":"/subscriptions/e","principal_mpn_id":"m","role":"owner"})",
       "missing_field"},
      {R"({"type":"grant","grant_id":"g","entitlement_id":"e","principal_mpn_id":"m","role":"owner","start":"2026-01-01T00:00:00Z"})",
       "missing_field"},
      {R"({"type":"grant","grant_id":"g","entitlement_id":"e","scope":"/subscriptions/e","role":"owner","start":"2026-01-01T00:00:00Z"})",
       "missing_field"},
      {R"({"type":"grant","grant_id":"g","entitlement_id":"e","scope":"/subscriptions/e","principal_mpn_id":"m","start":"2026-01-01T00:00:00Z"})",
       "missing_field"},
      {R"({"type":"grant","entitlement_id":"e","scope":"/subscriptions/e","principal_mpn_id":"m","role":"owner","start":"2026-01-01T00:00:00Z"})",
       "missing_field"},
      {R"({"type":"grant","grant_id":"g","scope":"/subscriptions/e","principal_mpn_id":"m","role":"owner","start":"2026-01-01T00:00:00Z"})",
       "missing_field"},
  };
  for (const Case& c : cases) EXPECT_EQ(LineOutcome(c.line), c.want) << c.line;
}

TEST_F(ReferenceParserTest, RejectsBadValuesTimestampsAndTypes) {
  struct Case {
    const char* line;
    const char* want;
  } cases[] = {
      {R"({"type":"partner","partner_id":"p","mpn_id":"1","kind":"reseller"})", "bad_value"},
      {R"({"type":"partner","partner_id":"p","mpn_id":"1","kind":"direct","mpn_active":"yes"})",
       "bad_value"},
      {R"({"type":"partner","partner_id":"p","mpn_id":1,"kind":"direct"})", "bad_value"},
      {R"({"type":"partner","partner_id":"p","mpn_id":"1","kind":"direct","name":42})",
       "bad_value"},
      {R"({"type":"customer","customer_id":"c","country":"USA","partner_id":"p"})", "bad_value"},
      {R"({"type":"customer","customer_id":"c","country":"U1","partner_id":"p"})", "bad_value"},
      {R"({"type":"customer","customer_id":"c","country":"US","partner_id":"p","currency":"EURO"})",
       "bad_value"},
      {R"({"type":"customer","customer_id":"c","country":"ÜS","partner_id":"p"})", "bad_value"},
      {R"({"type":"entitlement","entitlement_id":"e","customer_id":"c","offer":"Azure_Plan","created_at":"2026-01-01T00:00:00Z"})",
       "bad_value"},
      {R"({"type":"entitlement","entitlement_id":"e","customer_id":"c","offer":"legacy","created_at":"2026-01-01T00:00:00Z","aobo":1})",
       "bad_value"},
      {R"({"type":"entitlement","entitlement_id":"e","customer_id":"c","offer":"legacy","created_at":"2026-01-01"})",
       "bad_timestamp"},
      {R"({"type":"entitlement","entitlement_id":"e","customer_id":"c","offer":"legacy","created_at":1767225600})",
       "bad_timestamp"},
      {R"({"type":"grant","grant_id":"g","entitlement_id":"e","scope":"/subscriptions/e","principal_mpn_id":"m","role":"owner","start":"2026-01-01T00:00:00Z","end":"2026-01-01T24:00:00Z"})",
       "bad_timestamp"},
      {R"({"type":"grant","grant_id":"g","entitlement_id":"e","scope":"/subscriptions/e","principal_mpn_id":"m","role":"owner","start":"2026-01-01T00:00:00"})",
       "bad_timestamp"},
      {R"({"type":"Partner","partner_id":"p"})", "unknown_type"},
      {R"({"type":7,"partner_id":"p"})", "unknown_type"},
      {R"({"type":null,"partner_id":"p"})", "missing_field"},
      {R"({"type":"partner","partner_id":"p","mpn_id":"1","kind":"direct","kind":"direct"})",
       "bad_json"},
      {R"({"type":"partner","type":"partner","partner_id":"p","mpn_id":"1","kind":"direct"})",
       "bad_json"},
      {R"({"type":"partner","partner_id":"p","mpn_id":"1","kind":"direct"} x)", "bad_json"},
      {R"(["partner"])", "bad_json"},
      {R"({"type":"partner","partner_id":"\ud800","mpn_id":"1","kind":"direct"})", "bad_json"},
      {"{\"type\":\"partner\",\"partner_id\":\"p\xff\",\"mpn_id\":\"1\",\"kind\":\"direct\"}",
       "bad_json"},
  };
  for (const Case& c : cases) EXPECT_EQ(LineOutcome(c.line), c.want) << c.line;
}

TEST_F(ReferenceParserTest, LimitsTheLengthOfIdsAndTexts) {
  std::string long_id(129, 'x');
  EXPECT_EQ(LineOutcome(R"({"type":"reseller","mpn_id":")" + long_id + R"(","partner_id":"p"})"),
            "too_long");
  EXPECT_EQ(LineOutcome(R"({"type":"reseller","mpn_id":")" + std::string(128, 'x') +
                        R"(","partner_id":"p","name":")" + std::string(1024, 'n') + "\"}"),
            "ok");
  EXPECT_EQ(LineOutcome(R"({"type":"reseller","mpn_id":"m","partner_id":"p","name":")" +
                        std::string(1025, 'n') + "\"}"),
            "too_long");
}

// Storage keys separate their fields with NUL: an escaped \u0000 in any id, the scope or the
// role could alias another object's key, so those are bad values; free text may hold it.
TEST_F(ReferenceParserTest, RejectsANulCharacterInIdsScopeAndRoleButNotInFreeText) {
  const std::string nul = "\\u0000";
  const std::vector<std::string> lines = {
      R"({"type":"partner","partner_id":"p)" + nul + R"(x","mpn_id":"1","kind":"direct"})",
      R"({"type":"partner","partner_id":"p","mpn_id":"1)" + nul + R"(","kind":"direct"})",
      R"({"type":"reseller","mpn_id":"m","partner_id":")" + nul + R"("})",
      R"({"type":"customer","customer_id":"c)" + nul + R"(","country":"US","partner_id":"p"})",
      R"({"type":"customer","customer_id":"c","country":"US","partner_id":"p","reseller_mpn_id":"r)" +
          nul + R"("})",
      R"({"type":"entitlement","entitlement_id":"e)" + nul +
          R"(","customer_id":"c","offer":"azure_plan","created_at":"2026-01-01T00:00:00Z"})",
      R"({"type":"grant","grant_id":"g","entitlement_id":"e","scope":"/subscriptions/e)" + nul +
          R"(","principal_mpn_id":"1","role":"owner","start":"2026-01-01T00:00:00Z"})",
      R"({"type":"grant","grant_id":"g","entitlement_id":"e","scope":"/s","principal_mpn_id":"1",)"
      R"("role":"own)" +
          nul + R"(er","start":"2026-01-01T00:00:00Z"})",
      R"({"type":"grant","grant_id":"aobo:e)" + nul + R"("})",
  };
  for (const std::string& line : lines) {
    EXPECT_EQ(LineOutcome(line), "bad_value") << line;
  }
  EXPECT_EQ(
      LineOutcome(R"({"type":"reseller","mpn_id":"m","partner_id":"p","name":"a)" + nul + R"(b"})"),
      "ok");
  auto r = parser_.ParseEntity(EntityType::kCustomer, std::string("c\0d", 3),
                               R"({"country":"US","partner_id":"p"})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), kInvalidBody);
}

TEST_F(ReferenceParserTest, ListsAtMostAThousandErrorsAndCountsThemAll) {
  std::string body;
  for (int i = 0; i < 1200; ++i) body += "{\"type\":\"nope\"}\n";
  parser_.ParseNdjson(body, &batch_);
  EXPECT_EQ(batch_.rejected, 1200u);
  EXPECT_EQ(batch_.errors.size(), kMaxListedReferenceErrors);
  EXPECT_EQ(batch_.errors.back().line, 1000u);
  parser_.ParseNdjson("", &batch_);  // and a reused batch starts empty
  EXPECT_EQ(batch_.rejected, 0u);
  EXPECT_TRUE(batch_.errors.empty());
}

TEST_F(ReferenceParserTest, NamesTypesAndErrorsAsTheApiSpellsThem) {
  for (EntityType t : {EntityType::kPartner, EntityType::kReseller, EntityType::kCustomer,
                       EntityType::kEntitlement, EntityType::kGrant}) {
    EXPECT_EQ(EntityTypeFromName(EntityTypeName(t)), t);
  }
  EXPECT_FALSE(EntityTypeFromName("partners").has_value());
  EXPECT_EQ(ReferenceErrorName(ReferenceError::kUnknownType), "unknown_type");
  EXPECT_EQ(ReferenceErrorName(ReferenceError::kBadTimestamp), "bad_timestamp");
}

// Single-object PUT bodies.

TEST_F(ReferenceParserTest, FillsTheKeyFromThePathWhenTheBodyLeavesItOut) {
  auto r = parser_.ParseEntity(EntityType::kPartner, "P-9",
                               R"({"name":"N","mpn_id":"9","kind":"direct"})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(std::get<rating::Partner>(*r).partner_id, "p-9");
}

TEST_F(ReferenceParserTest, AcceptsAKeyThatMatchesThePathInAnyCase) {
  auto r =
      parser_.ParseEntity(EntityType::kCustomer, "c-1",
                          "\n{\"type\":\"customer\",\"customer_id\":\"C-1\",\"country\":\"us\","
                          "\"partner_id\":\"p\"}\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(std::get<rating::Customer>(*r).customer_id, "c-1");
  EXPECT_EQ(std::get<rating::Customer>(*r).country, "US");
}

TEST_F(ReferenceParserTest, RejectsAKeyOrTypeThatContradictsThePath) {
  auto r =
      parser_.ParseEntity(EntityType::kReseller, "r-1", R"({"mpn_id":"r-2","partner_id":"p"})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), kInvalidBody);
  EXPECT_NE(r.status().message().find("does not match"), std::string::npos);
  r = parser_.ParseEntity(EntityType::kReseller, "r-1", R"({"type":"partner","partner_id":"p"})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), kInvalidBody);
  r = parser_.ParseEntity(EntityType::kReseller, "", R"({"partner_id":"p"})");
  EXPECT_EQ(r.status().code(), kInvalidBody);
}

TEST_F(ReferenceParserTest, TellsMalformedBodiesFromInvalidOnes) {
  auto r = parser_.ParseEntity(EntityType::kPartner, "p", R"({"mpn_id":"1","kind":"direct")");
  EXPECT_EQ(r.status().code(), kMalformedBody);
  r = parser_.ParseEntity(EntityType::kPartner, "p", "");
  EXPECT_EQ(r.status().code(), kMalformedBody);
  r = parser_.ParseEntity(EntityType::kPartner, "p", R"("partner")");
  EXPECT_EQ(r.status().code(), kMalformedBody);
  r = parser_.ParseEntity(EntityType::kPartner, "p",
                          R"({"mpn_id":"1","mpn_id":"2","kind":"direct"})");
  EXPECT_EQ(r.status().code(), kMalformedBody);
  r = parser_.ParseEntity(EntityType::kPartner, "p", R"({"mpn_id":"1","kind":"other"})");
  EXPECT_EQ(r.status().code(), kInvalidBody);
  r = parser_.ParseEntity(EntityType::kPartner, "p", R"({"kind":"direct"})");
  EXPECT_EQ(r.status().code(), kInvalidBody);
}

TEST_F(ReferenceParserTest, RevokesTheImpliedGrantThroughItsPath) {
  auto r = parser_.ParseEntity(EntityType::kGrant, "aobo:E1", R"({"end":"2026-11-06T15:00:00Z"})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& g = std::get<rating::Grant>(*r);
  EXPECT_EQ(g.grant_id, "aobo:e1");
  EXPECT_EQ(g.entitlement_id, "e1");
  EXPECT_EQ(g.end, At("2026-11-06T15:00:00Z"));
  r = parser_.ParseEntity(EntityType::kGrant, "aobo:e1", "{}");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(std::get<rating::Grant>(*r).end.has_value());
}

// FX bodies.

TEST_F(ReferenceParserTest, ParsesFxRatesExactlyFromNumbersAndStrings) {
  auto r = parser_.ParseFx(
      R"({"rates":{"NOK":9.041,"eur":"0.913951469","JPY":"150.123456789012","GBP":7.9e-1}})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->rates.size(), 4u);
  EXPECT_EQ(r->rates[0].currency, "EUR");
  EXPECT_EQ(r->rates[0].rate, rating::FxRate::FromPicos(913'951'469'000));
  EXPECT_EQ(r->rates[1].currency, "GBP");
  EXPECT_EQ(r->rates[1].rate, rating::FxRate::FromPicos(790'000'000'000));
  EXPECT_EQ(r->rates[2].currency, "JPY");
  EXPECT_EQ(r->rates[2].rate, rating::FxRate::FromPicos(150'123'456'789'012));
  EXPECT_EQ(r->rates[3].currency, "NOK");
  EXPECT_EQ(r->rates[3].rate, rating::FxRate::FromPicos(9'041'000'000'000));
  r = parser_.ParseFx(R"({"rates":{}})");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->rates.empty());
  r = parser_.ParseFx(R"({"rates":{"EUR":"0.1000000000000"},"comment":"13 digits, value 0.1"})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

TEST_F(ReferenceParserTest, RejectsInvalidFxBodiesAs422AndMalformedOnesAs400) {
  for (const char* invalid :
       {R"({"rates":{"EUR":"0.9139514690001"}})", R"({"rates":{"EUR":0}})",
        R"({"rates":{"EUR":"-1"}})", R"({"rates":{"EURO":"1"}})", R"({"rates":{"E1R":"1"}})",
        R"({"rates":{"EUR":"1","eur":"1"}})", R"({"rates":{"EUR":true}})",
        R"({"rates":{"EUR":null}})", R"({"rates":{"EUR":"1.5 "}})", R"({"rates":[]})",
        R"({"rates":null})", R"({})", R"({"rates":{"EUR":"+1"}})"}) {
    auto r = parser_.ParseFx(invalid);
    EXPECT_EQ(r.status().code(), kInvalidBody) << invalid;
  }
  for (const char* malformed :
       {R"({"rates":{"EUR":1})", R"({"rates":{"EUR":01}})", R"({"rates":{},"rates":{}})", R"([])",
        "", R"({"rates":{"EUR":"1"}}})"}) {
    auto r = parser_.ParseFx(malformed);
    EXPECT_EQ(r.status().code(), kMalformedBody) << malformed;
  }
}

// Budget bodies.

TEST_F(ReferenceParserTest, ParsesTheBasicExampleBudgetSortedAndDeduplicated) {
  auto r = parser_.ParseBudget(BudgetBodyKind::kSingle,
                               R"({"amount":"2.50","basis":"list","thresholds":[100,80,150,80]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->budget.amount, Dec("2.5"));
  EXPECT_EQ(r->budget.basis, rating::Basis::kList);
  EXPECT_EQ(r->budget.thresholds, Decs({"80", "100", "150"}));
  EXPECT_EQ(r->budget.forecast_thresholds, Decs({"100"}));
  EXPECT_TRUE(r->customer_ids.empty());
}

TEST_F(ReferenceParserTest, AppliesBudgetDefaultsAndExactDecimals) {
  auto r = parser_.ParseBudget(BudgetBodyKind::kSingle, R"({"amount":17.000000001})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->budget.amount, Dec("17.000000001"));
  EXPECT_EQ(r->budget.basis, rating::Basis::kList);
  EXPECT_EQ(r->budget.thresholds, Decs({"80", "100"}));
  EXPECT_EQ(r->budget.forecast_thresholds, Decs({"100"}));
  r = parser_.ParseBudget(BudgetBodyKind::kSingle,
                          R"({"amount":"500","basis":"billed","thresholds":null,)"
                          R"("forecast_thresholds":["99.5",1000,"1e2"]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->budget.basis, rating::Basis::kBilled);
  EXPECT_EQ(r->budget.thresholds, Decs({"80", "100"}));
  EXPECT_EQ(r->budget.forecast_thresholds, Decs({"99.5", "100", "1000"}));
  r = parser_.ParseBudget(BudgetBodyKind::kSingle, R"({"amount":1,"thresholds":[]})");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->budget.thresholds.empty());  // switches actual alerts off
}

TEST_F(ReferenceParserTest, RejectsInvalidBudgetValuesAs422) {
  for (const char* invalid : {
           R"({})",
           R"({"amount":null})",
           R"({"amount":0})",
           R"({"amount":"-5"})",
           R"({"amount":"1.0000000001"})",
           R"({"amount":"1,5"})",
           R"({"amount":true})",
           R"({"amount":"1e16"})",
           R"({"amount":10,"basis":"LIST"})",
           R"({"amount":10,"basis":1})",
           R"({"amount":10,"thresholds":80})",
           R"({"amount":10,"thresholds":[0]})",
           R"({"amount":10,"thresholds":[-1]})",
           R"({"amount":10,"thresholds":[1000.000000001]})",
           R"({"amount":10,"thresholds":[true]})",
           R"({"amount":10,"thresholds":[[80]]})",
           R"({"amount":10,"thresholds":[null]})",
           R"({"amount":10,"forecast_thresholds":["abc"]})",
       }) {
    auto r = parser_.ParseBudget(BudgetBodyKind::kSingle, invalid);
    EXPECT_EQ(r.status().code(), kInvalidBody) << invalid;
  }
}

TEST_F(ReferenceParserTest, RejectsMalformedBudgetBodiesAs400) {
  for (const char* malformed :
       {R"({"amount":10)", R"({"amount":10,"amount":20})", R"([{"amount":10}])", R"({"amount":.5})",
        "not json", R"({"amount":10,"thresholds":[80,]})"}) {
    auto r = parser_.ParseBudget(BudgetBodyKind::kSingle, malformed);
    EXPECT_EQ(r.status().code(), kMalformedBody) << malformed;
  }
}

TEST_F(ReferenceParserTest, ParsesBatchBudgetBodiesWithTheirCustomerIds) {
  auto r = parser_.ParseBudget(BudgetBodyKind::kBatchSet,
                               R"({"customer_ids":["C-2","c-1","C-1"],"amount":"25.00"})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->customer_ids, (std::vector<std::string>{"c-1", "c-2"}));
  EXPECT_EQ(r->budget.amount, Dec("25"));
  for (const char* invalid :
       {R"({"amount":1})", R"({"customer_ids":[],"amount":1})",
        R"({"customer_ids":"c-1","amount":1})", R"({"customer_ids":[""],"amount":1})",
        R"({"customer_ids":[7],"amount":1})"}) {
    EXPECT_EQ(parser_.ParseBudget(BudgetBodyKind::kBatchSet, invalid).status().code(), kInvalidBody)
        << invalid;
  }
  // A single budget body ignores customer_ids like any unknown field.
  EXPECT_TRUE(
      parser_.ParseBudget(BudgetBodyKind::kSingle, R"({"customer_ids":5,"amount":1})").ok());

  auto ids = parser_.ParseCustomerIds(R"({"customer_ids":["B","a","b"]})");
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  EXPECT_EQ(*ids, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(parser_.ParseCustomerIds(R"({})").status().code(), kInvalidBody);
  EXPECT_EQ(parser_.ParseCustomerIds(R"({"customer_ids":["a"])").status().code(), kMalformedBody);
}

}  // namespace
}  // namespace meterd::ingest
