"""Partner exports against the real daemon: the daily-rated file, invoice reconciliation and FOCUS
of the three worked examples, checked against expected.json to the digit (rows, columns, totals
that must equal GET /spend), the CSV form of GET /v1/customers/{id}/lines, and who may read what
(resellers get no wholesale columns and 403 on reconciliation; scope decides the rows)."""

import csv
import io
import unittest
from collections import defaultdict
from decimal import Decimal

from harness import NO_TOKEN, HttpAssertions, example, start_class_daemon

# [001:10019-10075] with the seed's "Skuld" read as "SkuId" (docs/exports.md).
DAILY_COLUMNS = [
    "PartnerId", "PartnerName", "CustomerId", "CustomerName", "CustomerDomainName",
    "CustomerCountry", "MpnId", "Tier2MpnId", "InvoiceNumber", "ProductId", "SkuId",
    "AvailabilityId", "SkuName", "ProductName", "PublisherName", "PublisherId",
    "SubscriptionDescription", "SubscriptionId", "ChargeStartDate", "ChargeEndDate", "UsageDate",
    "MeterType", "MeterCategory", "MeterId", "MeterSubCategory", "MeterName", "MeterRegion",
    "Unit", "ResourceLocation", "ConsumedService", "ResourceGroup", "ResourceURI", "ChargeType",
    "UnitPrice", "Quantity", "UnitType", "BillingPreTaxTotal", "BillingCurrency",
    "PricingPreTaxTotal", "PricingCurrency", "ServiceInfo1", "ServiceInfo2", "Tags",
    "AdditionalInfo", "EffectiveUnitPrice", "PCToBCExchangeRate", "PCToBCExchangeRateDate",
    "EntitlementId", "EntitlementDescription", "PartnerEarnedCreditPercentage"]
DAILY_WHOLESALE = {"BillingPreTaxTotal", "PricingPreTaxTotal", "EffectiveUnitPrice",
                   "PartnerEarnedCreditPercentage"}
RECON_COLUMNS = [
    "CustomerId", "CustomerName", "MeterId", "MeterName", "MeterCategory", "Month", "PecApplied",
    "Days", "Quantity", "UnitPrice", "EffectiveUnitPrice", "PricingPreTaxTotal",
    "PricingCurrency", "BillingPreTaxTotal", "BillingCurrency", "PCToBCExchangeRate",
    "PriceAdjustmentDescription"]
# FOCUS columns first (domain §7, §8.37 name BillingAccountId, SubAccountId, ResourceId,
# ChargePeriodStart/End, ChargeCategory, ListCost, BilledCost, EffectiveCost, BillingCurrency,
# PricingQuantity, ListUnitPrice, ContractedUnitPrice), then the x_ extensions
# (docs/exports.md "FOCUS file").
FOCUS_COLUMNS = [
    "BillingAccountId", "BillingAccountName", "SubAccountId", "SubAccountName", "BillingCurrency",
    "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd",
    "ChargeCategory", "ChargeFrequency", "ChargeDescription", "ProviderName", "PublisherName",
    "ServiceName", "ServiceCategory", "ResourceId", "RegionName", "SkuId", "PricingQuantity",
    "PricingUnit", "ConsumedQuantity", "ConsumedUnit", "ListUnitPrice", "ContractedUnitPrice",
    "ListCost", "ContractedCost", "BilledCost", "EffectiveCost", "x_PartnerId", "x_PartnerName",
    "x_ResellerMpnId", "x_MeterId", "x_MeterName", "x_MeterSubCategory", "x_ProductId",
    "x_UsageDate", "x_PricingCurrency", "x_UnitPrice", "x_EffectiveUnitPrice",
    "x_ListCostInPricingCurrency", "x_BilledCostInPricingCurrency",
    "x_PartnerEarnedCreditPercentage", "x_PartnerEarnedCredit", "x_ExchangeRate",
    "x_ExchangeRateDate", "x_ExchangeRateProvisional"]
FOCUS_WHOLESALE = {"ContractedUnitPrice", "ContractedCost", "BilledCost", "EffectiveCost",
                   "x_EffectiveUnitPrice", "x_BilledCostInPricingCurrency",
                   "x_PartnerEarnedCreditPercentage", "x_PartnerEarnedCredit"}
PEC_DESCRIPTION = "Partner earned credit for services managed"


def parse_csv(response):
    """(header, rows as dicts) of a CSV answer; every record must end with CRLF."""
    text = response.body.decode("utf-8")
    if text and not text.endswith("\r\n"):
        raise AssertionError("a CSV answer must end with CRLF")
    records = list(csv.reader(io.StringIO(text, newline="")))
    header, rows = records[0], records[1:]
    for r in rows:
        if len(r) != len(header):
            raise AssertionError(f"row with {len(r)} cells under a {len(header)}-cell header")
    return header, [dict(zip(header, r)) for r in rows]


def nine(value):
    return f"{value:.9f}"


def day_ranges(days):
    """§8.40: ascending maximal ranges, single days alone."""
    days = sorted(set(days))
    out, i = [], 0
    while i < len(days):
        j = i
        while j + 1 < len(days) and days[j + 1] == days[j] + 1:
            j += 1
        out.append(str(days[i]) if i == j else f"{days[i]}-{days[j]}")
        i = j + 1
    return ";".join(out)


def rated_lines(expected, customer_id, month):
    return [l for l in expected["customers"][customer_id]["lines"].get(month, [])
            if l["status"] == "rated"]


class ExampleExports(HttpAssertions):
    """One daemon per example, loaded once; every test only reads."""

    name = None

    @classmethod
    def setUpClass(cls):
        cls.expected = example(cls.name, "expected.json")
        cls.daemon = start_class_daemon(cls, fixed_clock=cls.expected["now"])
        cls.daemon.load_example(cls.name)

    def months(self):
        return sorted({m for c in self.expected["customers"].values() for m in c["lines"]})

    def get_csv(self, path, token=None, headers=None):
        kwargs = {"headers": headers}
        if token is not None:
            kwargs["token"] = token
        r = self.daemon.get(path, **kwargs)
        self.assertStatus(r, 200, path)
        self.assertEqual(r.content_type, "text/csv", path)
        return parse_csv(r)

    def test_the_daily_file_has_the_seed_columns_and_one_row_per_rated_line(self):
        for month in self.months():
            header, rows = self.get_csv(f"/v1/exports/daily?month={month}")
            self.assertEqual(header, DAILY_COLUMNS)
            want = []
            for customer_id in sorted(self.expected["customers"]):
                want += [(customer_id, l) for l in rated_lines(self.expected, customer_id, month)]
            self.assertEqual(len(rows), len(want), f"rows of {month}")
            for row, (customer_id, line) in zip(rows, want):
                what = f"{month} {customer_id} {line['meter_id']} {line['usage_date']}"
                self.assertEqual(row["CustomerId"], customer_id, what)
                self.assertEqual(row["MeterId"], line["meter_id"], what)
                self.assertEqual(row["EntitlementId"], line["entitlement_id"], what)
                self.assertEqual(row["ResourceURI"], line["resource_uri"], what)
                self.assertEqual(row["UsageDate"], line["usage_date"], what)
                self.assertEqual(row["Quantity"], line["quantity"], what)
                self.assertEqual(row["UnitPrice"], line["unit_price"], what)
                self.assertEqual(row["EffectiveUnitPrice"], line["effective_unit_price"], what)
                self.assertEqual(row["PricingPreTaxTotal"], line["billed_usd"], what)
                self.assertEqual(row["PricingCurrency"], "USD", what)
                self.assertEqual(row["BillingPreTaxTotal"], line["billed_bc"], what)
                self.assertEqual(row["BillingCurrency"], line["currency"], what)
                self.assertEqual(row["PCToBCExchangeRate"], line["fx"], what)
                self.assertEqual(row["PCToBCExchangeRateDate"], month + "-01", what)
                self.assertEqual(row["ChargeStartDate"], month + "-01", what)
                self.assertTrue(row["ChargeEndDate"].startswith(month + "-"), what)
                self.assertEqual(row["PartnerEarnedCreditPercentage"],
                                 "15" if line["pec_rate"] == "0.150000000" else "0", what)
                self.assertEqual(row["AdditionalInfo"],
                                 '{"fx_provisional":true}' if line["fx_provisional"] else "", what)
                for empty in ("InvoiceNumber", "AvailabilityId", "SkuName", "MeterType", "Tags"):
                    self.assertEqual(row[empty], "", f"{what}: {empty}")

    def test_focus_billed_and_list_costs_sum_to_the_spend_of_each_customer(self):
        for month in self.months():
            _, rows = self.get_csv(f"/v1/exports/focus?month={month}")
            billed, listed, count = defaultdict(Decimal), defaultdict(Decimal), defaultdict(int)
            for row in rows:
                billed[row["BillingAccountId"]] += Decimal(row["BilledCost"])
                listed[row["BillingAccountId"]] += Decimal(row["ListCost"])
                count[row["BillingAccountId"]] += 1
                self.assertEqual(row["EffectiveCost"], row["BilledCost"])
                self.assertEqual(row["ChargeCategory"], "Usage")
            for customer_id, c in self.expected["customers"].items():
                spend = self.daemon.get_json(f"/v1/customers/{customer_id}/spend?month={month}")
                self.assertEqual(nine(billed[customer_id]), spend["billed"],
                                 f"BilledCost of {customer_id} in {month}")
                self.assertEqual(nine(listed[customer_id]), spend["list"],
                                 f"ListCost of {customer_id} in {month}")
                self.assertEqual(count[customer_id],
                                 len(rated_lines(self.expected, customer_id, month)))

    def test_focus_rows_carry_periods_accounts_and_resource_of_each_line(self):
        for month in self.months():
            header, rows = self.get_csv(f"/v1/exports/focus?month={month}")
            self.assertEqual(header, FOCUS_COLUMNS)
            want = []
            for customer_id in sorted(self.expected["customers"]):
                want += [(customer_id, l) for l in rated_lines(self.expected, customer_id, month)]
            self.assertEqual(len(rows), len(want))
            for row, (customer_id, line) in zip(rows, want):
                self.assertEqual(row["BillingAccountId"], customer_id)
                self.assertEqual(row["SubAccountId"], line["entitlement_id"])
                self.assertEqual(row["ResourceId"], line["resource_uri"])
                self.assertEqual(row["ChargePeriodStart"], line["usage_date"] + "T00:00:00Z")
                self.assertEqual(row["BillingCurrency"], line["currency"])
                self.assertEqual(row["ListCost"], line["list_bc"])
                self.assertEqual(row["BilledCost"], line["billed_bc"])
                self.assertEqual(row["PricingQuantity"], line["quantity"])
                self.assertEqual(row["x_ExchangeRate"], line["fx"])
                self.assertEqual(row["x_UnitPrice"], line["unit_price"])

    def test_reconciliation_groups_by_customer_meter_and_pec_with_exact_sums(self):
        for month in self.months():
            header, rows = self.get_csv(f"/v1/exports/recon?month={month}")
            self.assertEqual(header, RECON_COLUMNS)
            groups = defaultdict(list)
            for customer_id in self.expected["customers"]:
                for l in rated_lines(self.expected, customer_id, month):
                    pec = "false" if Decimal(l["pec_rate"]) == 0 else "true"
                    groups[(customer_id, l["meter_id"], pec)].append(l)
            got = {(r["CustomerId"], r["MeterId"], r["PecApplied"]): r for r in rows}
            self.assertEqual(len(rows), len(got), "one row per (customer, meter, pec)")
            self.assertEqual(sorted(got), sorted(groups))
            for key, lines in groups.items():
                r = got[key]
                quantity = sum(Decimal(l["quantity"]) for l in lines)
                list_usd = sum(Decimal(l["list_usd"]) for l in lines)
                billed_usd = sum(Decimal(l["billed_usd"]) for l in lines)
                billed_bc = sum(Decimal(l["billed_bc"]) for l in lines)
                self.assertEqual(r["Month"], month)
                self.assertEqual(r["Days"], day_ranges(int(l["usage_date"][8:]) for l in lines))
                self.assertEqual(r["Quantity"], nine(quantity))
                self.assertEqual(r["PricingPreTaxTotal"], nine(billed_usd))
                self.assertEqual(r["BillingPreTaxTotal"], nine(billed_bc))
                self.assertEqual(r["BillingCurrency"], lines[0]["currency"])
                self.assertEqual(r["PCToBCExchangeRate"], lines[0]["fx"])
                if quantity:
                    self.assertEqual(Decimal(r["UnitPrice"]),
                                     (list_usd / quantity).quantize(Decimal("1e-9")))
                    self.assertEqual(Decimal(r["EffectiveUnitPrice"]),
                                     (billed_usd / quantity).quantize(Decimal("1e-9")))
                self.assertEqual(r["PriceAdjustmentDescription"],
                                 PEC_DESCRIPTION if key[2] == "true" else "")

    def test_lines_as_csv_are_the_daily_rows_of_that_customer(self):
        for month in self.months():
            _, daily = self.get_csv(f"/v1/exports/daily?month={month}")
            for customer_id in self.expected["customers"]:
                header, rows = self.get_csv(f"/v1/customers/{customer_id}/lines?month={month}",
                                            headers={"Accept": "text/csv"})
                self.assertEqual(header, DAILY_COLUMNS)
                self.assertEqual(rows, [r for r in daily if r["CustomerId"] == customer_id])
                for date in sorted({r["UsageDate"] for r in rows}):
                    _, day_rows = self.get_csv(
                        f"/v1/customers/{customer_id}/lines?month={month}&date={date}",
                        headers={"Accept": "text/csv"})
                    self.assertEqual(day_rows, [r for r in rows if r["UsageDate"] == date])

    def test_lines_stay_json_unless_the_client_asks_for_csv(self):
        customer_id = sorted(self.expected["customers"])[0]
        month = self.months()[0]
        for accept in (None, "*/*", "application/json", "application/json, text/csv;q=0.5"):
            headers = {"Accept": accept} if accept else None
            r = self.daemon.get(f"/v1/customers/{customer_id}/lines?month={month}",
                                headers=headers)
            self.assertStatus(r, 200, f"Accept: {accept}")
            self.assertEqual(r.content_type, "application/json", f"Accept: {accept}")

    def test_files_are_streamed_as_chunked_attachments_and_the_connection_stays_usable(self):
        month = self.months()[0]
        for kind in ("daily", "recon", "focus"):
            r = self.daemon.get(f"/v1/exports/{kind}?month={month}")
            self.assertStatus(r, 200, kind)
            self.assertEqual(r.headers.get("transfer-encoding"), "chunked", kind)
            self.assertNotIn("content-length", r.headers, kind)
            self.assertEqual(r.headers.get("content-disposition"),
                             f'attachment; filename="meterd-{kind}-{month}.csv"', kind)
            self.assertTrue(r.body.endswith(b"\r\n"), kind)
            # Same kept-alive connection: the stream ended cleanly with its last chunk.
            self.assertStatus(self.daemon.get("/healthz", token=NO_TOKEN), 200, kind)
        r = self.daemon.request("HEAD", f"/v1/exports/daily?month={month}")
        self.assertStatus(r, 200, "HEAD")
        self.assertEqual(r.body, b"")
        self.assertStatus(self.daemon.get("/healthz", token=NO_TOKEN), 200, "after HEAD")

    def test_a_bad_month_is_400_and_a_month_without_usage_is_the_header_alone(self):
        for kind in ("daily", "recon", "focus"):
            self.assertProblem(self.daemon.get(f"/v1/exports/{kind}?month=2026-13"), 400, kind)
            _, rows = self.get_csv(f"/v1/exports/{kind}?month=2020-01")
            self.assertEqual(rows, [], kind)


class BasicExports(ExampleExports, unittest.TestCase):
    name = "basic"


class CurrenciesExports(ExampleExports, unittest.TestCase):
    name = "currencies"


class TiersAndPecExports(ExampleExports, unittest.TestCase):
    name = "tiers-and-pec"

    def test_reconciliation_of_the_sql_meter_shows_the_pec_days_apart(self):
        _, rows = self.get_csv("/v1/exports/recon?month=2026-11")
        sql = {r["PecApplied"]: r for r in rows
               if r["MeterId"] == "20000000-0000-4000-8000-00000000005c"}
        self.assertEqual(sql["true"]["Days"], "5;12")
        self.assertEqual(sql["true"]["Quantity"], "14.000000000")
        self.assertEqual(sql["true"]["UnitPrice"], "0.214285714")
        self.assertEqual(sql["true"]["EffectiveUnitPrice"], "0.182142857")
        self.assertEqual(sql["true"]["PricingPreTaxTotal"], "2.550000000")
        self.assertEqual(sql["false"]["Days"], "6;12")
        self.assertEqual(sql["false"]["PricingPreTaxTotal"], "4.500000000")
        self.assertEqual(sql["true"]["MeterName"], "vCore")
        self.assertEqual(sql["true"]["MeterCategory"], "SQL Database")

    def test_daily_rows_name_product_sku_region_and_partner_from_reference_data(self):
        _, rows = self.get_csv("/v1/exports/daily?month=2026-11")
        bw = [r for r in rows if r["MeterId"] == "10000000-0000-4000-8000-0000000000bd"]
        self.assertEqual(len(bw), 4)
        for r in bw:
            self.assertEqual(r["ProductId"], "DZH318Z0BAND")
            self.assertEqual(r["SkuId"], "0001")
            self.assertEqual(r["MeterName"], "Data Transfer Out")
            self.assertEqual(r["MeterCategory"], "Bandwidth")
            self.assertEqual(r["MeterRegion"], "US East")
            self.assertEqual(r["Unit"], "1 GB")
            self.assertEqual(r["PublisherName"], "Microsoft")
            self.assertEqual(r["PartnerName"], "Northwind Distribution")
            self.assertEqual(r["MpnId"], "2222222")
            self.assertEqual(r["Tier2MpnId"], "3333333")
            self.assertEqual(r["CustomerName"], "Wide World Importers")
        self.assertEqual([r["ResourceGroup"] for r in bw], ["rg1", "rg1", "apps", "rg10"])

    def test_a_reseller_gets_list_columns_only_and_no_reconciliation(self):
        _, token = self.daemon.create_token("reseller", mpn_id="3333333")
        header, rows = self.get_csv("/v1/exports/daily?month=2026-11", token=token)
        self.assertEqual(header, [c for c in DAILY_COLUMNS if c not in DAILY_WHOLESALE])
        _, partner_rows = self.get_csv("/v1/exports/daily?month=2026-11")
        self.assertEqual(rows, [{k: v for k, v in r.items() if k not in DAILY_WHOLESALE}
                                for r in partner_rows])
        header, rows = self.get_csv("/v1/exports/focus?month=2026-11", token=token)
        self.assertEqual(header, [c for c in FOCUS_COLUMNS if c not in FOCUS_WHOLESALE])
        self.assertIn("ListCost", header)
        self.assertEqual(len(rows), len(partner_rows))
        self.assertProblem(self.daemon.get("/v1/exports/recon?month=2026-11", token=token), 403)
        header, _ = self.get_csv(
            "/v1/customers/c0ffee00-0000-4000-8000-000000000002/lines?month=2026-11",
            token=token, headers={"Accept": "text/csv"})
        self.assertFalse(DAILY_WHOLESALE & set(header), header)

    def test_callers_see_only_their_customers_rows(self):
        _, other_reseller = self.daemon.create_token("reseller", mpn_id="9999999")
        _, other_partner = self.daemon.create_token("partner", partner_id="someone-else")
        _, own_partner = self.daemon.create_token(
            "partner", partner_id="7d3f1c2a-0000-4000-8000-000000000002")
        for token in (other_reseller, other_partner):
            for kind in ("daily", "focus"):
                _, rows = self.get_csv(f"/v1/exports/{kind}?month=2026-11", token=token)
                self.assertEqual(rows, [], kind)
        _, rows = self.get_csv("/v1/exports/recon?month=2026-11", token=other_partner)
        self.assertEqual(rows, [])
        _, rows = self.get_csv("/v1/exports/recon?month=2026-11", token=own_partner)
        self.assertEqual(len(rows), 5)  # bandwidth both ways, SQL both ways, the third party
        self.assertProblem(self.daemon.get(
            "/v1/customers/c0ffee00-0000-4000-8000-000000000002/lines?month=2026-11",
            token=other_partner, headers={"Accept": "text/csv"}), 404)

    def test_exports_need_a_token_and_a_reading_role(self):
        _, ingest = self.daemon.create_token("ingest")
        for kind in ("daily", "recon", "focus"):
            self.assertProblem(self.daemon.get(f"/v1/exports/{kind}", token=NO_TOKEN), 401, kind)
            self.assertProblem(self.daemon.get(f"/v1/exports/{kind}", token=ingest), 403, kind)


if __name__ == "__main__":
    unittest.main()
