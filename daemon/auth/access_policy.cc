#include "daemon/auth/access_policy.h"

#include <array>

namespace meterd::auth {
namespace {

enum class Method { kGet, kPut, kPost, kDelete, kOther };

Method ParseMethod(std::string_view m) {
  if (m == "GET" || m == "HEAD") return Method::kGet;
  if (m == "PUT") return Method::kPut;
  if (m == "POST") return Method::kPost;
  if (m == "DELETE") return Method::kDelete;
  return Method::kOther;
}

// Splits "/a/b/c" into at most kMax segments; false if there are more or the path is not
// absolute. Empty segments (a trailing or doubled '/') are kept so they never match a literal.
constexpr size_t kMaxSegments = 5;
struct Segments {
  std::array<std::string_view, kMaxSegments> s;
  size_t n = 0;
};

bool Split(std::string_view path, Segments* out) {
  const size_t query = path.find('?');
  if (query != std::string_view::npos) path = path.substr(0, query);
  if (path.empty() || path.front() != '/') return false;
  path.remove_prefix(1);
  while (true) {
    if (out->n == kMaxSegments) return false;
    const size_t slash = path.find('/');
    out->s[out->n++] = path.substr(0, slash);
    if (slash == std::string_view::npos) return true;
    path.remove_prefix(slash + 1);
  }
}

bool IsParam(std::string_view segment) { return !segment.empty(); }

std::optional<Action> ClassifyV1(Method m, const Segments& seg) {
  const std::string_view c = seg.n > 1 ? seg.s[1] : std::string_view();
  const size_t n = seg.n;
  const bool get = m == Method::kGet;

  if (n == 2 && c == "openapi.json" && get) return Action::kPublic;
  if (c == "tokens") {
    if (n == 2 && (m == Method::kPost || get)) return Action::kManageTokens;
    if (n == 3 && IsParam(seg.s[2]) && (m == Method::kDelete || get)) {
      return Action::kManageTokens;
    }
    return std::nullopt;
  }
  if (n == 2 && (c == "reference" || c == "pricesheet") && m == Method::kPost) {
    return Action::kManageReference;
  }
  if (n == 3 && IsParam(seg.s[2]) &&
      (c == "fx" || c == "partners" || c == "resellers" || c == "entitlements" || c == "grants") &&
      (get || m == Method::kPut || m == Method::kDelete)) {
    return Action::kManageReference;
  }
  if (c == "customers") {
    if (n == 2) return get ? std::optional(Action::kReadCustomers) : std::nullopt;
    if (!IsParam(seg.s[2])) return std::nullopt;
    if (n == 3) {
      if (get) return Action::kReadCustomers;
      if (m == Method::kPut || m == Method::kDelete) return Action::kManageReference;
      return std::nullopt;
    }
    if (n != 4) return std::nullopt;
    const std::string_view sub = seg.s[3];
    if (sub == "spend" && get) return Action::kReadSpend;
    if (sub == "lines" && get) return Action::kReadLines;
    if (sub == "budget") {
      if (get) return Action::kReadBudget;
      if (m == Method::kPut || m == Method::kDelete) return Action::kWriteBudget;
    }
    return std::nullopt;
  }
  if (n == 2 && (c == "budgets:batchSet" || c == "budgets:batchRemove") && m == Method::kPost) {
    return Action::kWriteBudget;
  }
  if (n == 2 && c == "spend" && get) return Action::kReadSpend;
  if (n == 2 && c == "usage" && m == Method::kPost) return Action::kIngestUsage;
  if (n == 2 && c == "alerts" && get) return Action::kReadAlerts;
  if (c == "webhooks") {
    if (n == 2 && get) return Action::kManageWebhooks;
    if (n == 3 && IsParam(seg.s[2]) && (get || m == Method::kPut || m == Method::kDelete)) {
      return Action::kManageWebhooks;
    }
    return std::nullopt;
  }
  if (n == 3 && c == "exports" && get) {
    if (seg.s[2] == "daily" || seg.s[2] == "focus") return Action::kReadExports;
    if (seg.s[2] == "recon") return Action::kReadReconExport;
    return std::nullopt;
  }
  if (n == 2 && c == "unknown-usage" && get) return Action::kReadUnknownUsage;
  return std::nullopt;
}

}  // namespace

std::string_view ActionName(Action action) {
  switch (action) {
    case Action::kPublic:
      return "public";
    case Action::kManageTokens:
      return "manage_tokens";
    case Action::kManageReference:
      return "manage_reference";
    case Action::kIngestUsage:
      return "ingest_usage";
    case Action::kReadCustomers:
      return "read_customers";
    case Action::kReadSpend:
      return "read_spend";
    case Action::kReadLines:
      return "read_lines";
    case Action::kReadBudget:
      return "read_budget";
    case Action::kWriteBudget:
      return "write_budget";
    case Action::kReadAlerts:
      return "read_alerts";
    case Action::kManageWebhooks:
      return "manage_webhooks";
    case Action::kReadExports:
      return "read_exports";
    case Action::kReadReconExport:
      return "read_recon_export";
    case Action::kReadUnknownUsage:
      return "read_unknown_usage";
  }
  return "unknown";
}

std::optional<Action> ActionForRoute(std::string_view method, std::string_view path) {
  const Method m = ParseMethod(method);
  if (m == Method::kOther) return std::nullopt;
  Segments seg;
  if (!Split(path, &seg)) return std::nullopt;
  if (seg.n == 1 && m == Method::kGet &&
      (seg.s[0] == "healthz" || seg.s[0] == "readyz" || seg.s[0] == "metrics")) {
    return Action::kPublic;
  }
  if (seg.n >= 2 && seg.s[0] == "v1") return ClassifyV1(m, seg);
  return std::nullopt;
}

bool RoleMayPerform(Role role, Action action) {
  if (action == Action::kPublic || role == Role::kAdmin) return true;
  switch (action) {
    case Action::kIngestUsage:
      return role == Role::kIngest;
    case Action::kReadCustomers:
    case Action::kReadSpend:
    case Action::kReadLines:
    case Action::kReadBudget:
    case Action::kWriteBudget:
    case Action::kReadAlerts:
    case Action::kReadExports:
      return role == Role::kPartner || role == Role::kReseller;
    case Action::kManageWebhooks:
    case Action::kReadReconExport:
      return role == Role::kPartner;
    case Action::kPublic:
    case Action::kManageTokens:
    case Action::kManageReference:
    case Action::kReadUnknownUsage:
      return false;
  }
  return false;
}

bool MayAccessCustomer(const Principal& principal, std::string_view customer_partner_id,
                       std::optional<std::string_view> customer_reseller_mpn_id) {
  switch (principal.role) {
    case Role::kAdmin:
      return true;
    case Role::kPartner:
      return !principal.partner_id.empty() && customer_partner_id == principal.partner_id;
    case Role::kReseller:
      return !principal.mpn_id.empty() && customer_reseller_mpn_id.has_value() &&
             *customer_reseller_mpn_id == principal.mpn_id;
    case Role::kIngest:
      return false;
  }
  return false;
}

bool MayAccessCustomer(const Principal& principal, const rating::Customer& customer) {
  std::optional<std::string_view> reseller;
  if (customer.reseller_mpn_id.has_value()) reseller = *customer.reseller_mpn_id;
  return MayAccessCustomer(principal, customer.partner_id, reseller);
}

bool MayAccessPartnerObject(const Principal& principal, std::string_view owner_partner_id) {
  if (principal.role == Role::kAdmin) return true;
  return principal.role == Role::kPartner && !principal.partner_id.empty() &&
         owner_partner_id == principal.partner_id;
}

bool FieldVisibility::alert(rating::AlertKind kind,
                            std::optional<rating::Basis> budget_basis) const {
  if (!reseller_) return true;
  switch (kind) {
    case rating::AlertKind::kPecLost:
      return false;
    case rating::AlertKind::kBudgetActual:
    case rating::AlertKind::kBudgetForecast:
      return budget_basis.value_or(rating::Basis::kList) == rating::Basis::kList;
    case rating::AlertKind::kAnomaly:
      return true;  // judged on list spend (docs/alerts.md)
  }
  return false;
}

}  // namespace meterd::auth
