#include "daemon/exports/focus.h"

#include <cstdint>
#include <optional>
#include <tuple>

#include "daemon/exports/csv_row.h"

namespace meterd::exports {
namespace {

// The columns in file order: Col{i} is kFocusColumns[i].
enum class Col : uint8_t {
  kBillingAccountId,
  kBillingAccountName,
  kSubAccountId,
  kSubAccountName,
  kBillingCurrency,
  kBillingPeriodStart,
  kBillingPeriodEnd,
  kChargePeriodStart,
  kChargePeriodEnd,
  kChargeCategory,
  kChargeFrequency,
  kChargeDescription,
  kProviderName,
  kPublisherName,
  kServiceName,
  kServiceCategory,
  kResourceId,
  kRegionName,
  kSkuId,
  kPricingQuantity,
  kPricingUnit,
  kConsumedQuantity,
  kConsumedUnit,
  kListUnitPrice,
  kContractedUnitPrice,
  kListCost,
  kContractedCost,
  kBilledCost,
  kEffectiveCost,
  kPartnerId,
  kPartnerName,
  kResellerMpnId,
  kMeterId,
  kMeterName,
  kMeterSubCategory,
  kProductId,
  kUsageDate,
  kPricingCurrency,
  kUnitPrice,
  kEffectiveUnitPrice,
  kListCostInPricingCurrency,
  kBilledCostInPricingCurrency,
  kPartnerEarnedCreditPercentage,
  kPartnerEarnedCredit,
  kExchangeRate,
  kExchangeRateDate,
  kExchangeRateProvisional,
  kCount,
};
static_assert(static_cast<size_t>(Col::kCount) == std::tuple_size_v<decltype(kFocusColumns)>);

struct CategoryMapping {
  std::string_view meter_category;
  std::string_view service_category;
};

// Azure meter categories of the price list and the FOCUS 1.0 ServiceCategory each belongs to.
constexpr CategoryMapping kServiceCategories[] = {
    {"API Management", "Integration"},
    {"Application Gateway", "Networking"},
    {"Automation", "Management and Governance"},
    {"Azure App Service", "Web"},
    {"App Service", "Web"},
    {"Azure Bastion", "Networking"},
    {"Azure Cosmos DB", "Databases"},
    {"Azure Data Explorer", "Analytics"},
    {"Azure Data Factory", "Analytics"},
    {"Azure Data Factory v2", "Analytics"},
    {"Azure Database for MariaDB", "Databases"},
    {"Azure Database for MySQL", "Databases"},
    {"Azure Database for PostgreSQL", "Databases"},
    {"Azure Databricks", "Analytics"},
    {"Azure DDOS Protection", "Security"},
    {"Azure DNS", "Networking"},
    {"Azure DevOps", "Developer Tools"},
    {"Azure Firewall", "Networking"},
    {"Azure Front Door Service", "Networking"},
    {"Azure Kubernetes Service", "Compute"},
    {"Azure Monitor", "Management and Governance"},
    {"Azure NetApp Files", "Storage"},
    {"Azure OpenAI", "AI and Machine Learning"},
    {"Azure Site Recovery", "Management and Governance"},
    {"Azure Synapse Analytics", "Analytics"},
    {"Backup", "Storage"},
    {"Bandwidth", "Networking"},
    {"Batch", "Compute"},
    {"Cloud Services", "Compute"},
    {"Cognitive Services", "AI and Machine Learning"},
    {"Container Instances", "Compute"},
    {"Container Registry", "Developer Tools"},
    {"Content Delivery Network", "Networking"},
    {"Event Grid", "Integration"},
    {"Event Hubs", "Integration"},
    {"ExpressRoute", "Networking"},
    {"Functions", "Compute"},
    {"HDInsight", "Analytics"},
    {"Insight and Analytics", "Management and Governance"},
    {"IoT Central", "Internet of Things"},
    {"IoT Hub", "Internet of Things"},
    {"Key Vault", "Security"},
    {"Load Balancer", "Networking"},
    {"Log Analytics", "Management and Governance"},
    {"Logic Apps", "Integration"},
    {"Machine Learning", "AI and Machine Learning"},
    {"Media Services", "Media"},
    {"Microsoft Defender for Cloud", "Security"},
    {"NAT Gateway", "Networking"},
    {"Network Watcher", "Networking"},
    {"Notification Hubs", "Mobile"},
    {"Power BI Embedded", "Analytics"},
    {"Redis Cache", "Databases"},
    {"Security Center", "Security"},
    {"Sentinel", "Security"},
    {"Service Bus", "Integration"},
    {"SignalR", "Web"},
    {"SQL Database", "Databases"},
    {"SQL Managed Instance", "Databases"},
    {"Storage", "Storage"},
    {"Stream Analytics", "Analytics"},
    {"Traffic Manager", "Networking"},
    {"Virtual Machines", "Compute"},
    {"Virtual Machines Licenses", "Compute"},
    {"Virtual Network", "Networking"},
    {"VPN Gateway", "Networking"},
};

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A USD price in the billing currency, as FOCUS states every price and cost in one currency.
void WritePriceInBillingCurrency(CsvRowWriter& row, rating::Decimal usd, rating::FxRate fx) {
  std::optional<rating::Decimal> bc = rating::MulFxRound9(usd, fx);
  if (bc) {
    row.Money(*bc);
  } else {
    row.Empty();
  }
}

}  // namespace

const std::array<ExportColumn, 47> kFocusColumns = {{
    {"BillingAccountId", false},
    {"BillingAccountName", false},
    {"SubAccountId", false},
    {"SubAccountName", false},
    {"BillingCurrency", false},
    {"BillingPeriodStart", false},
    {"BillingPeriodEnd", false},
    {"ChargePeriodStart", false},
    {"ChargePeriodEnd", false},
    {"ChargeCategory", false},
    {"ChargeFrequency", false},
    {"ChargeDescription", false},
    {"ProviderName", false},
    {"PublisherName", false},
    {"ServiceName", false},
    {"ServiceCategory", false},
    {"ResourceId", false},
    {"RegionName", false},
    {"SkuId", false},
    {"PricingQuantity", false},
    {"PricingUnit", false},
    {"ConsumedQuantity", false},
    {"ConsumedUnit", false},
    {"ListUnitPrice", false},
    {"ContractedUnitPrice", true},
    {"ListCost", false},
    {"ContractedCost", true},
    {"BilledCost", true},
    {"EffectiveCost", true},
    {"x_PartnerId", false},
    {"x_PartnerName", false},
    {"x_ResellerMpnId", false},
    {"x_MeterId", false},
    {"x_MeterName", false},
    {"x_MeterSubCategory", false},
    {"x_ProductId", false},
    {"x_UsageDate", false},
    {"x_PricingCurrency", false},
    {"x_UnitPrice", false},
    {"x_EffectiveUnitPrice", true},
    {"x_ListCostInPricingCurrency", false},
    {"x_BilledCostInPricingCurrency", true},
    {"x_PartnerEarnedCreditPercentage", true},
    {"x_PartnerEarnedCredit", true},
    {"x_ExchangeRate", false},
    {"x_ExchangeRateDate", false},
    {"x_ExchangeRateProvisional", false},
}};

std::string_view FocusServiceCategory(std::string_view meter_category) {
  meter_category = TrimSpaces(meter_category);
  for (const CategoryMapping& m : kServiceCategories) {
    if (EqualsIgnoreCase(m.meter_category, meter_category)) return m.service_category;
  }
  return "Other";
}

void AppendFocusHeader(Audience audience, std::string* out) {
  AppendHeader(kFocusColumns, audience, out);
}

bool AppendFocusRow(const LineContext& ctx, const ExportLine& line, Audience audience,
                    std::string* out) {
  const core::StoredLine& stored = *line.line;
  const rating::RatedAmounts& r = stored.rated;
  if (!r.rated()) return false;
  const rating::Customer& customer = *ctx.customer;
  const rating::Month month = rating::MonthOf(line.usage_date);
  const std::string_view category = ctx.meter_category();
  AppendRow(kFocusColumns, audience, out, [&](size_t i, CsvRowWriter& row) {
    switch (static_cast<Col>(i)) {
      case Col::kBillingAccountId:
        row.Text(customer.customer_id);
        break;
      case Col::kBillingAccountName:
        row.Text(customer.name);
        break;
      case Col::kSubAccountId:
        row.Text(line.entitlement_id);
        break;
      case Col::kSubAccountName:
        row.Text(ctx.entitlement_description());
        break;
      case Col::kBillingCurrency:
        row.Text(r.currency.view());
        break;
      case Col::kBillingPeriodStart:  // periods are half-open: [start, end)
        row.DayStart(rating::FirstDayOf(month));
        break;
      case Col::kBillingPeriodEnd:
        row.DayStart(rating::FirstDayOf(rating::NextMonth(month)));
        break;
      case Col::kChargePeriodStart:
        row.DayStart(line.usage_date);
        break;
      case Col::kChargePeriodEnd:
        row.DayStart(rating::Date{line.usage_date.days + 1});
        break;
      case Col::kChargeCategory:
        row.Text("Usage");
        break;
      case Col::kChargeFrequency:
        row.Text("Usage-Based");
        break;
      case Col::kChargeDescription:
      case Col::kMeterName:
        row.Text(ctx.meter_name());
        break;
      case Col::kProviderName:
        row.Text("Microsoft");
        break;
      case Col::kPublisherName:
        row.Text(ctx.price_column(&PriceDescription::publisher));
        break;
      case Col::kServiceName:
        row.Text(category);
        break;
      case Col::kServiceCategory:
        row.Text(ctx.table ? FocusServiceCategory(category) : std::string_view());
        break;
      case Col::kResourceId:
        row.Text(line.resource_uri);
        break;
      case Col::kRegionName:
        row.Text(ctx.price_column(&PriceDescription::meter_region));
        break;
      case Col::kSkuId:
        row.Text(ctx.price_column(&PriceDescription::sku_id));
        break;
      case Col::kPricingQuantity:
      case Col::kConsumedQuantity:
        row.Money(stored.quantity);
        break;
      case Col::kPricingUnit:
      case Col::kConsumedUnit:
        row.Text(ctx.unit_of_measure());
        break;
      case Col::kListUnitPrice:
        WritePriceInBillingCurrency(row, r.unit_price, r.fx);
        break;
      case Col::kContractedUnitPrice:
        WritePriceInBillingCurrency(row, r.effective_unit_price, r.fx);
        break;
      case Col::kListCost:
        row.Money(r.list_bc);
        break;
      case Col::kContractedCost:
      case Col::kBilledCost:
      case Col::kEffectiveCost:
        row.Money(r.billed_bc);
        break;
      case Col::kPartnerId:
        row.Text(customer.partner_id);
        break;
      case Col::kPartnerName:
        row.Text(ctx.partner_name());
        break;
      case Col::kResellerMpnId:
        row.Text(ctx.reseller_mpn_id());
        break;
      case Col::kMeterId:
        row.Text(line.meter_id);
        break;
      case Col::kMeterSubCategory:
        row.Text(ctx.price_column(&PriceDescription::meter_sub_category));
        break;
      case Col::kProductId:
        row.Text(ctx.price_column(&PriceDescription::product_id));
        break;
      case Col::kUsageDate:
        row.Date(line.usage_date);
        break;
      case Col::kPricingCurrency:
        row.Text("USD");
        break;
      case Col::kUnitPrice:
        row.Money(r.unit_price);
        break;
      case Col::kEffectiveUnitPrice:
        row.Money(r.effective_unit_price);
        break;
      case Col::kListCostInPricingCurrency:
        row.Money(r.list_usd);
        break;
      case Col::kBilledCostInPricingCurrency:
        row.Money(r.billed_usd);
        break;
      case Col::kPartnerEarnedCreditPercentage:
        AppendPecPercent(row, r);
        break;
      case Col::kPartnerEarnedCredit:
        row.Money(r.pec_bc);
        break;
      case Col::kExchangeRate:
        row.Rate(r.fx);
        break;
      case Col::kExchangeRateDate:
        row.Date(rating::FirstDayOf(month));
        break;
      case Col::kExchangeRateProvisional:
        row.Text(r.fx_provisional ? "true" : "false");
        break;
      case Col::kCount:
        row.Empty();
        break;
    }
  });
  return true;
}

}  // namespace meterd::exports
