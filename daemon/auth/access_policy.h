// Who may do what (domain §6, §8.18, §8.33, §8.39; api.md): the role table for routes (403),
// customer and partner scope (404 outside it), and which fields a caller may see. This is the
// one place these rules live; routes ask it instead of testing roles themselves.
// Pure functions and small values: thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "daemon/auth/token.h"
#include "rating/budget.h"
#include "rating/reference.h"

namespace meterd::auth {

// What a route does, as far as permissions go.
enum class Action : uint8_t {
  kPublic = 0,        // /healthz, /readyz, /metrics, GET /v1/openapi.json: no token needed
  kManageTokens,      // /v1/tokens…
  kManageReference,   // /v1/reference, /v1/pricesheet, /v1/fx/…, PUT/DELETE of reference objects
  kIngestUsage,       // POST /v1/usage
  kReadCustomers,     // GET /v1/customers, GET /v1/customers/{id}
  kReadSpend,         // GET /v1/customers/{id}/spend, GET /v1/spend
  kReadLines,         // GET /v1/customers/{id}/lines
  kReadBudget,        // GET /v1/customers/{id}/budget
  kWriteBudget,       // PUT/DELETE /v1/customers/{id}/budget, POST /v1/budgets:batch…
  kReadAlerts,        // GET /v1/alerts
  kManageWebhooks,    // /v1/webhooks…
  kReadExports,       // GET /v1/exports/daily, /v1/exports/focus
  kReadReconExport,   // GET /v1/exports/recon (PEC information)
  kReadUnknownUsage,  // GET /v1/unknown-usage
};

std::string_view ActionName(Action action);

// Classifies a request path (or a router pattern such as "/v1/customers/{id}/spend") and its
// method ("GET", "HEAD" = GET, "PUT", "POST", "DELETE"). A query string is ignored. nullopt for
// anything api.md does not define: the router answers 404 or 405 before permissions matter.
std::optional<Action> ActionForRoute(std::string_view method, std::string_view path);

// The role table: admin everything; ingest only usage; partner and reseller the customer reads,
// budgets, alerts and exports; webhooks and the reconciliation export are the partner's only.
// A valid token whose role may not perform the action answers 403.
bool RoleMayPerform(Role role, Action action);

// Customer scope (404 outside it): admin all; partner when customer.partner_id is its own;
// reseller when customer.reseller_mpn_id is its MPN ID (that alone decides, §8.33); ingest none.
// Both sides hold lowercased ids (domain §2), so the comparison is byte-wise.
bool MayAccessCustomer(const Principal& principal, const rating::Customer& customer);
bool MayAccessCustomer(const Principal& principal, std::string_view customer_partner_id,
                       std::optional<std::string_view> customer_reseller_mpn_id);

// Partner-owned objects such as webhooks: admin all; a partner its own; nobody else.
bool MayAccessPartnerObject(const Principal& principal, std::string_view owner_partner_id);

// What parts of spend, lines, budgets, alerts and exports a caller sees. Resellers never see
// wholesale figures (PEC and billed amounts, §8.33) nor anything measured on a billed basis.
class FieldVisibility {
 public:
  static FieldVisibility For(const Principal& principal) {
    return FieldVisibility(principal.role == Role::kReseller);
  }

  // pec_rate, effective_unit_price, pec*, billed* (JSON fields and CSV columns).
  bool wholesale() const { return !reseller_; }
  // percent, percent_rounded and forecast of a customer whose budget is on `budget_basis`
  // (nullopt: no budget, figures on the list basis).
  bool budget_figures(std::optional<rating::Basis> budget_basis) const {
    return !reseller_ || budget_basis.value_or(rating::Basis::kList) == rating::Basis::kList;
  }
  // An alert of `kind`; `budget_basis` is the basis the budget_* alert was measured on.
  bool alert(rating::AlertKind kind, std::optional<rating::Basis> budget_basis) const;
  // Resellers may set list-basis budgets only (a billed basis answers 403).
  bool may_set_budget_basis(rating::Basis basis) const {
    return !reseller_ || basis == rating::Basis::kList;
  }
  // The basis `spend` is reported on in GET /v1/spend (§8.29): the budget's, list without one,
  // always list for a reseller.
  rating::Basis spend_basis(std::optional<rating::Basis> budget_basis) const {
    if (reseller_) return rating::Basis::kList;
    return budget_basis.value_or(rating::Basis::kList);
  }

 private:
  explicit FieldVisibility(bool reseller) : reseller_(reseller) {}
  bool reseller_;
};

}  // namespace meterd::auth
