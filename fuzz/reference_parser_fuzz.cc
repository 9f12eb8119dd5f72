// libFuzzer target: the admin bodies of daemon/ingest/reference_parser.h. The first byte picks
// the form (NDJSON, a single entity, FX, budget, batch budget, customer ids); the rest is the
// body. Besides memory safety, checks the normalization promises on every accepted output.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "daemon/ingest/reference_parser.h"

namespace {

using meterd::ingest::ReferenceEntity;
using meterd::ingest::ReferenceParser;

void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

bool HasUpper(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}
bool HasLower(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

void CheckId(std::string_view id) {
  Check(!id.empty() && id.size() <= meterd::ingest::kMaxReferenceIdBytes, "id length");
  Check(!HasUpper(id), "id lowercased");
}

void CheckEntity(const ReferenceEntity& entity) {
  if (auto* p = std::get_if<meterd::rating::Partner>(&entity)) {
    CheckId(p->partner_id);
    CheckId(p->mpn_id);
  } else if (auto* r = std::get_if<meterd::rating::Reseller>(&entity)) {
    CheckId(r->mpn_id);
    CheckId(r->partner_id);
  } else if (auto* c = std::get_if<meterd::rating::Customer>(&entity)) {
    CheckId(c->customer_id);
    CheckId(c->partner_id);
    Check(c->country.size() == 2 && !HasLower(c->country), "country");
    Check(!c->currency || (c->currency->size() == 3 && !HasLower(*c->currency)), "currency");
    if (c->reseller_mpn_id) CheckId(*c->reseller_mpn_id);
  } else if (auto* e = std::get_if<meterd::rating::Entitlement>(&entity)) {
    CheckId(e->entitlement_id);
    CheckId(e->customer_id);
  } else if (auto* g = std::get_if<meterd::rating::Grant>(&entity)) {
    CheckId(g->grant_id);
    Check(!g->entitlement_id.empty() && !HasUpper(g->entitlement_id), "grant entitlement");
    if (!g->grant_id.starts_with(meterd::rating::kAoboGrantPrefix)) {
      Check(!g->scope.empty() && !HasUpper(g->scope), "scope");
      CheckId(g->role);
      CheckId(g->principal_mpn_id);
    }
  }
}

void CheckStatus(const meterd::Status& st) {
  Check(st.code() == meterd::ingest::kMalformedBody || st.code() == meterd::ingest::kInvalidBody,
        "error code");
  Check(!st.message().empty(), "error message");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static ReferenceParser parser;
  static meterd::ingest::ReferenceBatch batch;
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);

  switch (mode % 8) {
    case 0:
    case 1: {
      parser.ParseNdjson(body, &batch);
      Check(batch.errors.size() <= meterd::ingest::kMaxListedReferenceErrors, "listed errors");
      Check(batch.errors.size() <= batch.rejected, "error count");
      uint32_t prev = 0;
      for (const auto& line : batch.entities) {
        Check(line.line > prev, "entity line order");
        prev = line.line;
        CheckEntity(line.entity);
      }
      break;
    }
    case 2: {
      auto type = static_cast<meterd::ingest::EntityType>((mode >> 3) % 5);
      std::string_view path_id = (mode & 0x80) ? "aobo:E-1" : "ID-1";
      auto r = parser.ParseEntity(type, path_id, body);
      if (r.ok()) {
        CheckEntity(*r);
        Check(r->index() == static_cast<size_t>(type), "entity type");
      } else {
        CheckStatus(r.status());
      }
      break;
    }
    case 3: {
      auto r = parser.ParseFx(body);
      if (!r.ok()) {
        CheckStatus(r.status());
        break;
      }
      for (size_t i = 0; i < r->rates.size(); ++i) {
        Check(r->rates[i].currency.size() == 3 && !HasLower(r->rates[i].currency), "fx code");
        Check(r->rates[i].rate.picos() > 0, "fx rate positive");
        if (i > 0) Check(r->rates[i - 1].currency < r->rates[i].currency, "fx sorted unique");
      }
      break;
    }
    case 4:
    case 5: {
      auto kind = mode % 8 == 4 ? meterd::ingest::BudgetBodyKind::kSingle
                                : meterd::ingest::BudgetBodyKind::kBatchSet;
      auto r = parser.ParseBudget(kind, body);
      if (!r.ok()) {
        CheckStatus(r.status());
        break;
      }
      Check(r->budget.amount > meterd::rating::Decimal::Zero(), "amount positive");
      for (const auto* list : {&r->budget.thresholds, &r->budget.forecast_thresholds}) {
        for (size_t i = 1; i < list->size(); ++i) {
          Check((*list)[i - 1] < (*list)[i], "thresholds sorted unique");
        }
      }
      Check((kind == meterd::ingest::BudgetBodyKind::kBatchSet) != r->customer_ids.empty(),
            "customer ids only for batches");
      for (const auto& id : r->customer_ids) CheckId(id);
      break;
    }
    default: {
      auto r = parser.ParseCustomerIds(body);
      if (!r.ok()) {
        CheckStatus(r.status());
        break;
      }
      Check(!r->empty(), "customer ids non-empty");
      Check(std::is_sorted(r->begin(), r->end()), "customer ids sorted");
      for (const auto& id : *r) CheckId(id);
    }
  }
  return 0;
}
