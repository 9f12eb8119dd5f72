// The access policy: every api.md route's action, the role table (403), customer and partner
// scope (404), and what resellers may see (domain §6, §8.18, §8.33, §8.39).

#include "daemon/auth/access_policy.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace meterd::auth {
namespace {

using rating::AlertKind;
using rating::Basis;

Principal Admin() { return Principal{Role::kAdmin, "", "", "tok_a"}; }
Principal Ingest() { return Principal{Role::kIngest, "", "", "tok_i"}; }
Principal Partner(std::string id) { return Principal{Role::kPartner, std::move(id), "", "tok_p"}; }
Principal Reseller(std::string mpn) {
  return Principal{Role::kReseller, "", std::move(mpn), "tok_r"};
}

rating::Customer WideWorldImporters() {
  rating::Customer c;
  c.customer_id = "c0ffee00-0000-4000-8000-000000000002";
  c.name = "Wide World Importers";
  c.country = "US";
  c.partner_id = "northwind";
  c.reseller_mpn_id = "3333333";
  return c;
}

rating::Customer AlpineSkiShop() {
  rating::Customer c;
  c.customer_id = "c0ffee00-0000-4000-8000-000000000001";
  c.partner_id = "contoso";
  return c;
}

struct RouteCase {
  const char* method;
  const char* path;
  std::optional<Action> action;
};

TEST(ActionForRoute, ClassifiesEveryRouteOfTheApi) {
  const std::vector<RouteCase> cases = {
      {"GET", "/healthz", Action::kPublic},
      {"GET", "/readyz", Action::kPublic},
      {"GET", "/metrics", Action::kPublic},
      {"GET", "/v1/openapi.json", Action::kPublic},
      {"POST", "/v1/tokens", Action::kManageTokens},
      {"DELETE", "/v1/tokens/tok_0123", Action::kManageTokens},
      {"POST", "/v1/reference", Action::kManageReference},
      {"PUT", "/v1/partners/contoso", Action::kManageReference},
      {"PUT", "/v1/resellers/3333333", Action::kManageReference},
      {"PUT", "/v1/customers/c1", Action::kManageReference},
      {"PUT", "/v1/entitlements/e1", Action::kManageReference},
      {"PUT", "/v1/grants/aobo:e1", Action::kManageReference},
      {"POST", "/v1/pricesheet", Action::kManageReference},
      {"PUT", "/v1/fx/2026-11", Action::kManageReference},
      {"POST", "/v1/usage", Action::kIngestUsage},
      {"GET", "/v1/customers", Action::kReadCustomers},
      {"GET", "/v1/customers?cursor=abc&limit=5", Action::kReadCustomers},
      {"GET", "/v1/customers/c1/spend", Action::kReadSpend},
      {"GET", "/v1/customers/c1/spend?month=2026-11", Action::kReadSpend},
      {"HEAD", "/v1/customers/c1/spend", Action::kReadSpend},
      {"GET", "/v1/spend", Action::kReadSpend},
      {"GET", "/v1/customers/c1/lines", Action::kReadLines},
      {"GET", "/v1/customers/c1/budget", Action::kReadBudget},
      {"PUT", "/v1/customers/c1/budget", Action::kWriteBudget},
      {"DELETE", "/v1/customers/c1/budget", Action::kWriteBudget},
      {"POST", "/v1/budgets:batchSet", Action::kWriteBudget},
      {"POST", "/v1/budgets:batchRemove", Action::kWriteBudget},
      {"GET", "/v1/unknown-usage", Action::kReadUnknownUsage},
      {"GET", "/v1/alerts", Action::kReadAlerts},
      {"PUT", "/v1/webhooks/w1", Action::kManageWebhooks},
      {"GET", "/v1/webhooks/w1", Action::kManageWebhooks},
      {"DELETE", "/v1/webhooks/w1", Action::kManageWebhooks},
      {"GET", "/v1/exports/daily", Action::kReadExports},
      {"GET", "/v1/exports/focus", Action::kReadExports},
      {"GET", "/v1/exports/recon", Action::kReadReconExport},
      // Router patterns classify like paths.
      {"GET", "/v1/customers/{id}/spend", Action::kReadSpend},
      // Not in the API.
      {"POST", "/v1/customers/c1/spend", std::nullopt},
      {"GET", "/v1/exports/other", std::nullopt},
      {"GET", "/v1/customers//spend", std::nullopt},
      {"GET", "/v1/customers/c1/spend/extra", std::nullopt},
      {"PATCH", "/v1/customers/c1/budget", std::nullopt},
      {"GET", "/v2/spend", std::nullopt},
      {"GET", "v1/spend", std::nullopt},
      {"GET", "/", std::nullopt},
      {"POST", "/healthz", std::nullopt},
  };
  for (const RouteCase& c : cases) {
    EXPECT_EQ(ActionForRoute(c.method, c.path), c.action) << c.method << " " << c.path;
  }
}

TEST(RoleMayPerform, AdminMayDoEverything) {
  for (int a = 0; a <= static_cast<int>(Action::kReadUnknownUsage); ++a) {
    EXPECT_TRUE(RoleMayPerform(Role::kAdmin, static_cast<Action>(a))) << a;
  }
}

TEST(RoleMayPerform, IngestMayOnlyPostUsage) {
  EXPECT_TRUE(RoleMayPerform(Role::kIngest, Action::kIngestUsage));
  EXPECT_TRUE(RoleMayPerform(Role::kIngest, Action::kPublic));
  // An ingest token reading spend answers 403 (api.md).
  EXPECT_FALSE(RoleMayPerform(Role::kIngest, Action::kReadSpend));
  EXPECT_FALSE(RoleMayPerform(Role::kIngest, Action::kReadAlerts));
  EXPECT_FALSE(RoleMayPerform(Role::kIngest, Action::kManageReference));
  EXPECT_FALSE(RoleMayPerform(Role::kIngest, Action::kManageTokens));
}

TEST(RoleMayPerform, PartnersAndResellersReadAndSetBudgetsButNeverIngestOrAdminister) {
  for (Role r : {Role::kPartner, Role::kReseller}) {
    for (Action a :
         {Action::kReadCustomers, Action::kReadSpend, Action::kReadLines, Action::kReadBudget,
          Action::kWriteBudget, Action::kReadAlerts, Action::kReadExports}) {
      EXPECT_TRUE(RoleMayPerform(r, a)) << RoleName(r) << " " << ActionName(a);
    }
    for (Action a : {Action::kIngestUsage, Action::kManageTokens, Action::kManageReference,
                     Action::kReadUnknownUsage}) {
      EXPECT_FALSE(RoleMayPerform(r, a)) << RoleName(r) << " " << ActionName(a);
    }
  }
}

TEST(RoleMayPerform, WebhooksAndTheReconciliationExportArePartnerOnly) {
  EXPECT_TRUE(RoleMayPerform(Role::kPartner, Action::kManageWebhooks));
  EXPECT_TRUE(RoleMayPerform(Role::kPartner, Action::kReadReconExport));
  EXPECT_FALSE(RoleMayPerform(Role::kReseller, Action::kManageWebhooks));
  EXPECT_FALSE(RoleMayPerform(Role::kReseller, Action::kReadReconExport));  // 403, §8.33
}

TEST(MayAccessCustomer, AdminSeesEveryCustomer) {
  EXPECT_TRUE(MayAccessCustomer(Admin(), WideWorldImporters()));
  EXPECT_TRUE(MayAccessCustomer(Admin(), AlpineSkiShop()));
}

TEST(MayAccessCustomer, APartnerSeesOnlyItsOwnCustomers) {
  EXPECT_TRUE(MayAccessCustomer(Partner("northwind"), WideWorldImporters()));
  EXPECT_FALSE(MayAccessCustomer(Partner("northwind"), AlpineSkiShop()));
  EXPECT_TRUE(MayAccessCustomer(Partner("contoso"), AlpineSkiShop()));
  EXPECT_FALSE(MayAccessCustomer(Partner(""), AlpineSkiShop()));
}

TEST(MayAccessCustomer, AResellerSeesCustomersNamingItsMpnId) {
  EXPECT_TRUE(MayAccessCustomer(Reseller("3333333"), WideWorldImporters()));
  EXPECT_FALSE(MayAccessCustomer(Reseller("4444444"), WideWorldImporters()));
  // A customer without a reseller is nobody's reseller customer, whatever the partner.
  EXPECT_FALSE(MayAccessCustomer(Reseller("3333333"), AlpineSkiShop()));
  // The MPN ID alone decides; an MPN equal to the partner id means nothing.
  EXPECT_FALSE(MayAccessCustomer(Reseller("northwind"), WideWorldImporters()));
  rating::Customer empty_reseller = AlpineSkiShop();
  empty_reseller.reseller_mpn_id = "";
  EXPECT_FALSE(MayAccessCustomer(Reseller(""), empty_reseller));
}

TEST(MayAccessCustomer, IngestSeesNoCustomer) {
  EXPECT_FALSE(MayAccessCustomer(Ingest(), WideWorldImporters()));
}

TEST(MayAccessPartnerObject, OnlyTheOwningPartnerAndAdmin) {
  EXPECT_TRUE(MayAccessPartnerObject(Admin(), "contoso"));
  EXPECT_TRUE(MayAccessPartnerObject(Partner("contoso"), "contoso"));
  EXPECT_FALSE(MayAccessPartnerObject(Partner("northwind"), "contoso"));
  EXPECT_FALSE(MayAccessPartnerObject(Reseller("contoso"), "contoso"));
  EXPECT_FALSE(MayAccessPartnerObject(Ingest(), "contoso"));
}

TEST(FieldVisibility, HidesWholesaleFiguresFromResellersOnly) {
  EXPECT_TRUE(FieldVisibility::For(Admin()).wholesale());
  EXPECT_TRUE(FieldVisibility::For(Partner("p")).wholesale());
  EXPECT_FALSE(FieldVisibility::For(Reseller("3")).wholesale());
}

TEST(FieldVisibility, ShowsResellersBudgetFiguresOnlyOnTheListBasis) {
  const FieldVisibility reseller = FieldVisibility::For(Reseller("3"));
  EXPECT_TRUE(reseller.budget_figures(Basis::kList));
  EXPECT_TRUE(reseller.budget_figures(std::nullopt));  // no budget: list-basis forecast
  EXPECT_FALSE(reseller.budget_figures(Basis::kBilled));
  EXPECT_TRUE(FieldVisibility::For(Partner("p")).budget_figures(Basis::kBilled));
}

TEST(FieldVisibility, ShowsResellersNeitherPecLostNorBilledBasisBudgetAlerts) {
  const FieldVisibility reseller = FieldVisibility::For(Reseller("3"));
  EXPECT_FALSE(reseller.alert(AlertKind::kPecLost, std::nullopt));
  EXPECT_FALSE(reseller.alert(AlertKind::kBudgetActual, Basis::kBilled));
  EXPECT_FALSE(reseller.alert(AlertKind::kBudgetForecast, Basis::kBilled));
  EXPECT_TRUE(reseller.alert(AlertKind::kBudgetActual, Basis::kList));
  EXPECT_TRUE(reseller.alert(AlertKind::kBudgetForecast, Basis::kList));
  EXPECT_TRUE(reseller.alert(AlertKind::kAnomaly, std::nullopt));
  const FieldVisibility partner = FieldVisibility::For(Partner("p"));
  EXPECT_TRUE(partner.alert(AlertKind::kPecLost, std::nullopt));
  EXPECT_TRUE(partner.alert(AlertKind::kBudgetActual, Basis::kBilled));
}

TEST(FieldVisibility, LetsResellersSetListBasisBudgetsOnly) {
  EXPECT_TRUE(FieldVisibility::For(Reseller("3")).may_set_budget_basis(Basis::kList));
  EXPECT_FALSE(FieldVisibility::For(Reseller("3")).may_set_budget_basis(Basis::kBilled));
  EXPECT_TRUE(FieldVisibility::For(Partner("p")).may_set_budget_basis(Basis::kBilled));
}

TEST(FieldVisibility, ReportsSpendOnTheBudgetBasisExceptToResellers) {
  EXPECT_EQ(FieldVisibility::For(Partner("p")).spend_basis(Basis::kBilled), Basis::kBilled);
  EXPECT_EQ(FieldVisibility::For(Partner("p")).spend_basis(std::nullopt), Basis::kList);
  EXPECT_EQ(FieldVisibility::For(Admin()).spend_basis(Basis::kBilled), Basis::kBilled);
  EXPECT_EQ(FieldVisibility::For(Reseller("3")).spend_basis(Basis::kBilled), Basis::kList);
}

}  // namespace
}  // namespace meterd::auth
