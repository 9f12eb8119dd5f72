#include "daemon/exports/daily_rated.h"

#include <cstdint>
#include <tuple>

#include "daemon/exports/csv_row.h"

namespace meterd::exports {
namespace {

constexpr std::string_view kPricingCurrency = "USD";  // Azure plan price lists are in USD (§3)

// The columns in file order: Col{i} is kDailyRatedColumns[i].
enum class Col : uint8_t {
  kPartnerId,
  kPartnerName,
  kCustomerId,
  kCustomerName,
  kCustomerDomainName,
  kCustomerCountry,
  kMpnId,
  kTier2MpnId,
  kInvoiceNumber,
  kProductId,
  kSkuId,
  kAvailabilityId,
  kSkuName,
  kProductName,
  kPublisherName,
  kPublisherId,
  kSubscriptionDescription,
  kSubscriptionId,
  kChargeStartDate,
  kChargeEndDate,
  kUsageDate,
  kMeterType,
  kMeterCategory,
  kMeterId,
  kMeterSubCategory,
  kMeterName,
  kMeterRegion,
  kUnit,
  kResourceLocation,
  kConsumedService,
  kResourceGroup,
  kResourceURI,
  kChargeType,
  kUnitPrice,
  kQuantity,
  kUnitType,
  kBillingPreTaxTotal,
  kBillingCurrency,
  kPricingPreTaxTotal,
  kPricingCurrency,
  kServiceInfo1,
  kServiceInfo2,
  kTags,
  kAdditionalInfo,
  kEffectiveUnitPrice,
  kPCToBCExchangeRate,
  kPCToBCExchangeRateDate,
  kEntitlementId,
  kEntitlementDescription,
  kPartnerEarnedCreditPercentage,
  kCount,
};
static_assert(static_cast<size_t>(Col::kCount) == std::tuple_size_v<decltype(kDailyRatedColumns)>);

}  // namespace

// Order and names: [001:10019-10075].
const std::array<ExportColumn, 50> kDailyRatedColumns = {{
    {"PartnerId", false},
    {"PartnerName", false},
    {"CustomerId", false},
    {"CustomerName", false},
    {"CustomerDomainName", false},
    {"CustomerCountry", false},
    {"MpnId", false},
    {"Tier2MpnId", false},
    {"InvoiceNumber", false},
    {"ProductId", false},
    {"SkuId", false},
    {"AvailabilityId", false},
    {"SkuName", false},
    {"ProductName", false},
    {"PublisherName", false},
    {"PublisherId", false},
    {"SubscriptionDescription", false},
    {"SubscriptionId", false},
    {"ChargeStartDate", false},
    {"ChargeEndDate", false},
    {"UsageDate", false},
    {"MeterType", false},
    {"MeterCategory", false},
    {"MeterId", false},
    {"MeterSubCategory", false},
    {"MeterName", false},
    {"MeterRegion", false},
    {"Unit", false},
    {"ResourceLocation", false},
    {"ConsumedService", false},
    {"ResourceGroup", false},
    {"ResourceURI", false},
    {"ChargeType", false},
    {"UnitPrice", false},
    {"Quantity", false},
    {"UnitType", false},
    {"BillingPreTaxTotal", true},
    {"BillingCurrency", false},
    {"PricingPreTaxTotal", true},
    {"PricingCurrency", false},
    {"ServiceInfo1", false},
    {"ServiceInfo2", false},
    {"Tags", false},
    {"AdditionalInfo", false},
    {"EffectiveUnitPrice", true},
    {"PCToBCExchangeRate", false},
    {"PCToBCExchangeRateDate", false},
    {"EntitlementId", false},
    {"EntitlementDescription", false},
    {"PartnerEarnedCreditPercentage", true},
}};

void AppendDailyRatedHeader(Audience audience, std::string* out) {
  AppendHeader(kDailyRatedColumns, audience, out);
}

bool AppendDailyRatedRow(const LineContext& ctx, const ExportLine& line, Audience audience,
                         std::string* out) {
  const core::StoredLine& stored = *line.line;
  const rating::RatedAmounts& r = stored.rated;
  if (!r.rated()) return false;
  const rating::Customer& customer = *ctx.customer;
  const rating::Month month = rating::MonthOf(line.usage_date);
  const rating::Date first_day = rating::FirstDayOf(month);
  AppendRow(kDailyRatedColumns, audience, out, [&](size_t i, CsvRowWriter& row) {
    switch (static_cast<Col>(i)) {
      case Col::kPartnerId:
        row.Text(customer.partner_id);
        break;
      case Col::kPartnerName:
        row.Text(ctx.partner_name());
        break;
      case Col::kCustomerId:
        row.Text(customer.customer_id);
        break;
      case Col::kCustomerName:
        row.Text(customer.name);
        break;
      case Col::kCustomerDomainName:
        row.Text(customer.domain);
        break;
      case Col::kCustomerCountry:
        row.Text(customer.country);
        break;
      case Col::kMpnId:
        row.Text(ctx.partner_mpn_id());
        break;
      case Col::kTier2MpnId:
        row.Text(ctx.reseller_mpn_id());
        break;
      case Col::kProductId:
        row.Text(ctx.price_column(&PriceDescription::product_id));
        break;
      case Col::kSkuId:
        row.Text(ctx.price_column(&PriceDescription::sku_id));
        break;
      case Col::kPublisherName:
        row.Text(ctx.price_column(&PriceDescription::publisher));
        break;
      case Col::kChargeStartDate:  // the billing cycle is the calendar month of usage
        row.Date(first_day);
        break;
      case Col::kChargeEndDate:
        row.Date(rating::Date{first_day.days + rating::DaysIn(month) - 1});
        break;
      case Col::kUsageDate:
        row.Date(line.usage_date);
        break;
      case Col::kMeterCategory:
        row.Text(ctx.meter_category());
        break;
      case Col::kMeterId:
        row.Text(line.meter_id);
        break;
      case Col::kMeterSubCategory:
        row.Text(ctx.price_column(&PriceDescription::meter_sub_category));
        break;
      case Col::kMeterName:
        row.Text(ctx.meter_name());
        break;
      case Col::kMeterRegion:
        row.Text(ctx.price_column(&PriceDescription::meter_region));
        break;
      case Col::kUnit:
        row.Text(ctx.unit_of_measure());
        break;
      case Col::kResourceGroup:
        row.Text(ResourceGroupOf(line.resource_uri));
        break;
      case Col::kResourceURI:
        row.Text(line.resource_uri);
        break;
      case Col::kUnitPrice:
        row.Money(r.unit_price);
        break;
      case Col::kQuantity:
        row.Money(stored.quantity);
        break;
      case Col::kBillingPreTaxTotal:
        row.Money(r.billed_bc);
        break;
      case Col::kBillingCurrency:
        row.Text(r.currency.view());
        break;
      case Col::kPricingPreTaxTotal:
        row.Money(r.billed_usd);
        break;
      case Col::kPricingCurrency:
        row.Text(kPricingCurrency);
        break;
      case Col::kAdditionalInfo:  // a provisional rate will still change (§4.4 Decision)
        if (r.fx_provisional) {
          row.Text(R"({"fx_provisional":true})");
        } else {
          row.Empty();
        }
        break;
      case Col::kEffectiveUnitPrice:
        row.Money(r.effective_unit_price);
        break;
      case Col::kPCToBCExchangeRate:
        row.Rate(r.fx);
        break;
      case Col::kPCToBCExchangeRateDate:  // the first day of the usage month [001:13821]
        row.Date(first_day);
        break;
      case Col::kEntitlementId:
        row.Text(line.entitlement_id);
        break;
      case Col::kEntitlementDescription:
        row.Text(ctx.entitlement_description());
        break;
      case Col::kPartnerEarnedCreditPercentage:  // 0 or 15 (the configured share, in percent)
        AppendPecPercent(row, r);
        break;
      // Not known to the product: empty.
      case Col::kInvoiceNumber:
      case Col::kAvailabilityId:
      case Col::kSkuName:
      case Col::kProductName:
      case Col::kPublisherId:
      case Col::kSubscriptionDescription:
      case Col::kSubscriptionId:
      case Col::kMeterType:
      case Col::kResourceLocation:
      case Col::kConsumedService:
      case Col::kChargeType:
      case Col::kUnitType:
      case Col::kServiceInfo1:
      case Col::kServiceInfo2:
      case Col::kTags:  // resource tags are per event; a daily line does not keep them
      case Col::kCount:
        row.Empty();
        break;
    }
  });
  return true;
}

}  // namespace meterd::exports
