#include "daemon/core/reference_codec.h"

#include <type_traits>

#include "daemon/http/json_writer.h"
#include "storage/schema.h"

namespace meterd::core {
namespace {

// maybe_unused: clang flags a variable template whose only use sits in a discarded branch.
template <class>
[[maybe_unused]] inline constexpr bool kAlwaysFalse = false;

void OptionalString(http::JsonWriter& w, std::string_view key, const std::optional<std::string>& v) {
  if (v) w.Field(key, *v);
}

}  // namespace

std::string EntityToJson(const ingest::ReferenceEntity& entity) {
  std::string out;
  http::JsonWriter w(&out);
  w.BeginObject();
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, rating::Partner>) {
          w.Field("type", "partner").Field("partner_id", e.partner_id).Field("name", e.name);
          w.Field("mpn_id", e.mpn_id).Field("kind", rating::PartnerKindName(e.kind));
          w.Field("mpn_active", e.mpn_active);
        } else if constexpr (std::is_same_v<T, rating::Reseller>) {
          w.Field("type", "reseller").Field("mpn_id", e.mpn_id).Field("name", e.name);
          w.Field("partner_id", e.partner_id);
        } else if constexpr (std::is_same_v<T, rating::Customer>) {
          w.Field("type", "customer").Field("customer_id", e.customer_id).Field("name", e.name);
          w.Field("domain", e.domain).Field("country", e.country).Field("partner_id", e.partner_id);
          OptionalString(w, "reseller_mpn_id", e.reseller_mpn_id);
          OptionalString(w, "currency", e.currency);
        } else if constexpr (std::is_same_v<T, rating::Entitlement>) {
          w.Field("type", "entitlement").Field("entitlement_id", e.entitlement_id);
          w.Field("customer_id", e.customer_id).Field("description", e.description);
          w.Field("offer", rating::OfferName(e.offer));
          w.Field("created_at", rating::FormatRfc3339(e.created_at)).Field("aobo", e.aobo);
        } else if constexpr (std::is_same_v<T, rating::Grant>) {
          w.Field("type", "grant").Field("grant_id", e.grant_id);
          w.Field("entitlement_id", e.entitlement_id).Field("scope", e.scope);
          w.Field("principal_mpn_id", e.principal_mpn_id).Field("role", e.role);
          w.Field("start", rating::FormatRfc3339(e.start));
          if (e.end) w.Field("end", rating::FormatRfc3339(*e.end));
        } else {
          static_assert(kAlwaysFalse<T>);
        }
      },
      entity);
  w.EndObject();
  return out;
}

std::string_view EntityKey(const ingest::ReferenceEntity& entity) {
  return std::visit(
      [](const auto& e) -> std::string_view {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, rating::Partner>) return e.partner_id;
        else if constexpr (std::is_same_v<T, rating::Reseller>) return e.mpn_id;
        else if constexpr (std::is_same_v<T, rating::Customer>) return e.customer_id;
        else if constexpr (std::is_same_v<T, rating::Entitlement>) return e.entitlement_id;
        else return e.grant_id;
      },
      entity);
}

uint8_t EntityRefType(const ingest::ReferenceEntity& entity) {
  static constexpr storage::RefType kTypes[] = {storage::RefType::kPartner, storage::RefType::kReseller,
                                                storage::RefType::kCustomer, storage::RefType::kEntitlement,
                                                storage::RefType::kGrant};
  return static_cast<uint8_t>(kTypes[entity.index()]);
}

void AppendCsvCell(std::string_view cell, std::string* out) {
  bool quote = cell.find_first_of(",\"\r\n") != std::string_view::npos ||
               (!cell.empty() && (cell.front() == ' ' || cell.back() == ' '));
  if (!quote) {
    out->append(cell);
    return;
  }
  out->push_back('"');
  for (char c : cell) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

std::string PriceRowToCsv(const rating::PriceRow& r) {
  std::string out;
  auto cell = [&](std::string_view v, bool last = false) {
    AppendCsvCell(v, &out);
    if (!last) out.push_back(',');
  };
  cell(r.product_id);
  cell(r.sku_id);
  cell(r.meter_id);
  cell(r.meter_name);
  cell(r.meter_category);
  cell(r.meter_sub_category);
  cell(r.meter_region);
  cell(r.unit_of_measure);
  cell(r.market);
  cell("USD");
  cell(r.unit_price.ToString());
  cell(r.tier_min.ToString());
  cell(r.tier_max ? r.tier_max->ToString() : std::string());
  cell(rating::FormatDate(r.effective_start));
  cell(r.effective_end ? rating::FormatDate(*r.effective_end) : std::string());
  cell(r.tags);
  cell(r.publisher, true);
  return out;
}

}  // namespace meterd::core
