"""Reference data arriving after usage, against the real daemon (domain §4.1 "never lose usage",
§4.4 provisional FX, §4.3 grants, §8.3, §8.23, §8.31; api.md "every load that changes what a
line would cost re-rates the affected lines before it answers, and alerts follow")."""

import json
import re
import unittest
from decimal import Decimal

from harness import DaemonTestCase, example

CUSTOMER_A = "c0ffee00-0000-4000-8000-000000000001"
E1 = "e1000000-0000-4000-8000-000000000001"
E2 = "e2000000-0000-4000-8000-000000000002"
VM = "0a3c6e2a-6d1f-4c55-9a43-5f1c2b7d9e01"
IP = "5b7f0e8c-2f44-4d0a-8e61-7c9a3b1d2e02"
FJORD = "c0ffee00-0000-4000-8000-0000000000a1"
GOTA = "c0ffee00-0000-4000-8000-0000000000a4"
MONTH = "2026-11"


def ndjson_without(name, predicate):
    """The example's reference.ndjson without the lines for which predicate(obj) holds."""
    lines = example(name, "reference.ndjson").decode().splitlines()
    return "\n".join(l for l in lines if l.strip() and not predicate(json.loads(l))) + "\n"


def csv_without(name, predicate):
    lines = example(name, "pricesheet.csv").decode().splitlines()
    return "\n".join([lines[0]] + [l for l in lines[1:] if not predicate(l)]) + "\n"


def reference_line(name, predicate):
    for l in example(name, "reference.ndjson").decode().splitlines():
        if l.strip() and predicate(json.loads(l)):
            return json.loads(l)
    raise AssertionError("no such reference line")


def decimals_in(text):
    return {Decimal(m) for m in re.findall(r"\d+\.\d+", text)}


class ReferenceChanges(DaemonTestCase):

    def setUp(self):
        super().setUp()
        self.daemon = self.start_daemon()
        self.basic = example("basic", "expected.json")["customers"][CUSTOMER_A]

    def post_reference(self, body):
        r = self.daemon.request("POST", "/v1/reference", body, content_type="application/x-ndjson")
        self.assertStatus(r, 200, "POST /v1/reference")
        self.assertEqual(r.json()["rejected"], 0, r)
        return r.json()

    def post_pricesheet(self, body):
        r = self.daemon.request("POST", "/v1/pricesheet", body, content_type="text/csv")
        self.assertStatus(r, 200, "POST /v1/pricesheet")
        self.assertEqual(r.json()["rejected"], 0, r)
        return r.json()

    def put(self, path, body):
        r = self.daemon.request("PUT", path, body)
        self.assertStatus(r, 200, f"PUT {path}")
        return r.json()

    def lines(self, customer_id, month=MONTH):
        return self.daemon.get_all(f"/v1/customers/{customer_id}/lines?month={month}", "lines")

    def spend(self, customer_id, month=MONTH):
        return self.daemon.get_json(f"/v1/customers/{customer_id}/spend?month={month}")

    def assertBasicSpend(self, spend):
        want = self.basic["spend"][MONTH]
        for field in ("list", "pec", "billed", "list_usd", "pec_usd", "billed_usd",
                      "unrated_lines", "by_category"):
            self.assertJsonEqual(spend[field], want[field], f"spend.{field}")

    # ------------------------------------------------------------- unknown entitlements

    def test_usage_for_an_unknown_entitlement_is_kept_and_moves_to_its_customer_when_loaded(self):
        self.post_reference(ndjson_without("basic", lambda o: o.get("entitlement_id") == E1
                                           and o["type"] == "entitlement"))
        self.post_pricesheet(example("basic", "pricesheet.csv"))
        answer = self.daemon.post_usage(example("basic", "usage.ndjson"))
        self.assertEqual((answer["accepted"], answer["duplicates"], answer["rejected"]),
                         (7, 2, 0), "unknown entitlements are accepted, never dropped")

        unknown = self.daemon.get_all("/v1/unknown-usage", "lines")
        want_unknown = [
            {"entitlement_id": l["entitlement_id"], "meter_id": l["meter_id"],
             "resource_uri": l["resource_uri"], "usage_date": l["usage_date"],
             "quantity": l["quantity"]}
            for l in self.basic["lines"][MONTH] if l["entitlement_id"] == E1]
        self.assertJsonEqual(sorted(unknown, key=lambda l: (l["meter_id"], l["usage_date"])),
                             want_unknown, "unknown usage before the entitlement")
        # The customer has only its E2 line; the E1 usage is nobody's spend yet.
        self.assertJsonEqual(self.lines(CUSTOMER_A),
                             [l for l in self.basic["lines"][MONTH] if l["entitlement_id"] == E2],
                             "lines before the entitlement")
        spend = self.spend(CUSTOMER_A)
        self.assertEqual((spend["list"], spend["unrated_lines"]), ("1.344000000", 0))

        entitlement = reference_line("basic", lambda o: o.get("entitlement_id") == E1)
        result = self.put(f"/v1/entitlements/{E1}", entitlement)
        self.assertGreaterEqual(result["rerated_lines"], 3, result)

        self.assertEqual(self.daemon.get_all("/v1/unknown-usage", "lines"), [])
        self.assertJsonEqual(self.lines(CUSTOMER_A), self.basic["lines"][MONTH],
                             "lines after the entitlement arrived")
        self.assertBasicSpend(self.spend(CUSTOMER_A))

    def test_usage_whose_entitlement_has_no_known_customer_waits_for_the_customer(self):
        self.post_reference(ndjson_without("basic", lambda o: o["type"] == "customer"))
        self.post_pricesheet(example("basic", "pricesheet.csv"))
        self.daemon.post_usage(example("basic", "usage.ndjson"))
        unknown = self.daemon.get_all("/v1/unknown-usage", "lines")
        self.assertEqual(len(unknown), 4, unknown)
        self.assertProblem(self.daemon.get(f"/v1/customers/{CUSTOMER_A}/spend"), 404,
                           "the customer does not exist yet")

        customer = reference_line("basic", lambda o: o["type"] == "customer")
        self.put(f"/v1/customers/{CUSTOMER_A}", customer)
        self.assertEqual(self.daemon.get_all("/v1/unknown-usage", "lines"), [])
        self.assertJsonEqual(self.lines(CUSTOMER_A), self.basic["lines"][MONTH],
                             "lines after the customer arrived")
        self.assertBasicSpend(self.spend(CUSTOMER_A))

    # ------------------------------------------------------------- prices

    def test_a_price_row_loaded_after_usage_rates_the_unpriced_lines(self):
        self.post_reference(example("basic", "reference.ndjson"))
        self.post_pricesheet(csv_without("basic", lambda row: IP in row))
        self.daemon.post_usage(example("basic", "usage.ndjson"))

        got = self.lines(CUSTOMER_A)
        want = self.basic["lines"][MONTH]
        self.assertEqual(len(got), 4)
        for g, w in zip(got, want):
            if w["meter_id"] == VM:
                self.assertJsonEqual(g, w, "a priced line is rated as usual")
                continue
            unpriced = dict(w, status="unrated", reason="unpriced", fx=None,
                            fx_provisional=False,
                            **{k: None for k in ("unit_price", "effective_unit_price",
                                                 "pec_rate", "list_usd", "pec_usd",
                                                 "billed_usd", "list_bc", "pec_bc",
                                                 "billed_bc")})
            self.assertJsonEqual(g, unpriced, "an unpriced line keeps its quantity, no amounts")
        spend = self.spend(CUSTOMER_A)
        self.assertEqual((spend["list"], spend["list_usd"], spend["unrated_lines"]),
                         ("2.832000000", "2.832000000", 2))

        result = self.post_pricesheet(csv_without("basic", lambda row: VM in row))
        self.assertGreaterEqual(result["rerated_lines"], 2, result)
        self.assertJsonEqual(self.lines(CUSTOMER_A), want, "lines after the price arrived")
        self.assertBasicSpend(self.spend(CUSTOMER_A))

    def test_a_new_price_version_rerates_lines_from_its_start_date_on(self):
        self.daemon.load_example("basic")
        _, cursor = self.daemon.all_alerts()
        header = example("basic", "pricesheet.csv").decode().splitlines()[0]
        # The IP meter costs 0.005 from 2026-11-05: only the 11-05 IP line changes.
        result = self.post_pricesheet(
            header + "\nDZH318Z0VIRT,0001," + IP + ",Standard IPv4 Static Public IP,"
            "Virtual Network,,US East,1 Hour,US,USD,0.005,0,,2026-11-05,,Azure,Microsoft\n")
        self.assertGreaterEqual(result["rerated_lines"], 1, result)
        got = self.lines(CUSTOMER_A)
        want = self.basic["lines"][MONTH]
        self.assertJsonEqual(got[:3], want[:3], "lines before 11-05 keep the old price")
        # 1.000000125 x 0.005 = 0.005000000625 -> 0.005000001; PEC 0.15 of it.
        self.assertEqual((got[3]["unit_price"], got[3]["list_usd"], got[3]["pec_usd"],
                          got[3]["billed_usd"], got[3]["effective_unit_price"]),
                         ("0.005000000", "0.005000001", "0.000750000", "0.004250001",
                          "0.004250000"))
        spend = self.spend(CUSTOMER_A)
        self.assertEqual(spend["list"], "2.933000031")
        newer, _ = self.daemon.all_alerts(after=cursor)
        self.assertEqual(newer, [], "thresholds already fired do not fire again")

    # ------------------------------------------------------------- FX

    def test_a_november_rate_replaces_the_provisional_october_one(self):
        self.daemon.load_example("currencies")
        before = self.lines(FJORD)[0]
        self.assertEqual((before["fx"], before["fx_provisional"]), ("10.500000000000", True))
        _, cursor = self.daemon.all_alerts()

        result = self.put("/v1/fx/2026-11", {"rates": {"NOK": "11.25"}})
        self.assertEqual(result["currencies"], 1)
        self.assertGreaterEqual(result["rerated_lines"], 1, result)

        after = self.lines(FJORD)
        want = dict(before, fx="11.250000000000", fx_provisional=False,
                    list_bc="21.600000000", billed_bc="18.360000000", pec_bc="3.240000000")
        self.assertJsonEqual(after, [want], "Fjord's November line at the final rate")
        spend = self.spend(FJORD)
        self.assertEqual((spend["list"], spend["pec"], spend["billed"]),
                         ("21.600000000", "3.240000000", "18.360000000"))
        # 21.6 / 25 = 86.4 %; forecast 21.6 x 30 / 19.5 = 33.2307692307...
        self.assertEqual((spend["percent"], spend["percent_rounded"], spend["forecast"]),
                         ("86.400000000", 86, "33.230769231"))
        # October is untouched.
        self.assertEqual(self.spend(FJORD, "2026-10")["list"], "24.192000000")
        newer, _ = self.daemon.all_alerts(after=cursor)
        self.assertEqual(newer, [], "80 % and the forecast had fired already; 100 % not reached")

    def test_a_first_rate_for_a_currency_rates_its_fx_missing_lines_and_alerts_follow(self):
        self.daemon.load_example("currencies")
        line = self.lines(GOTA)[0]
        self.assertEqual((line["status"], line["reason"]), ("unrated", "fx_missing"))
        _, cursor = self.daemon.all_alerts()

        # An October SEK rate: the November line becomes rated, provisionally.
        self.put("/v1/fx/2026-10", {"rates": {"SEK": "11"}})
        line = self.lines(GOTA)[0]
        self.assertEqual((line["status"], line["reason"], line["fx"], line["fx_provisional"],
                          line["list_bc"], line["billed_bc"], line["pec_bc"]),
                         ("rated", None, "11.000000000000", True, "10.560000000",
                          "8.976000000", "1.584000000"))
        spend = self.spend(GOTA)
        self.assertEqual((spend["list"], spend["unrated_lines"], spend["percent_rounded"]),
                         ("10.560000000", 0, 106))
        newer, cursor = self.daemon.all_alerts(after=cursor)
        self.assertEqual(sorted((a["kind"], a["customer_id"], a["month"], a["threshold"])
                                for a in newer),
                         [("budget_actual", GOTA, MONTH, 80), ("budget_actual", GOTA, MONTH, 100),
                          ("budget_forecast", GOTA, MONTH, 100)])

        # The final November rate is lower: spend falls, fired alerts stay fired (§8.16).
        self.put("/v1/fx/2026-11", {"rates": {"SEK": "9"}})
        line = self.lines(GOTA)[0]
        self.assertEqual((line["fx"], line["fx_provisional"], line["list_bc"]),
                         ("9.000000000000", False, "8.640000000"))
        newer, _ = self.daemon.all_alerts(after=cursor)
        self.assertEqual(newer, [])

    # ------------------------------------------------------------- grants

    def test_ending_the_implied_aobo_grant_loses_pec_on_later_days_and_raises_pec_lost(self):
        self.daemon.load_example("basic")
        _, cursor = self.daemon.all_alerts()

        self.put(f"/v1/grants/aobo:{E1}", {"end": "2026-11-04T12:00:00Z"})

        got = self.lines(CUSTOMER_A)
        want = self.basic["lines"][MONTH]
        self.assertJsonEqual(got[:2], want[:2], "11-03 (E1) and the legacy E2 line keep theirs")
        for g, w in zip(got[2:], want[2:]):
            lost = dict(w, pec_rate="0.000000000", pec_usd="0.000000000",
                        billed_usd=w["list_usd"], effective_unit_price=w["unit_price"],
                        pec_bc="0.000000000", billed_bc=w["list_bc"])
            self.assertJsonEqual(g, lost, f"E1 line of {w['usage_date']} without PEC")
        spend = self.spend(CUSTOMER_A)
        self.assertEqual((spend["list"], spend["pec"], spend["billed"]),
                         ("2.932000030", "0.223200000", "2.708800030"))

        newer, cursor = self.daemon.all_alerts(after=cursor)
        self.assertEqual(sorted((a["kind"], a["customer_id"], a["entitlement_id"], a["date"])
                                for a in newer),
                         [("pec_lost", CUSTOMER_A, E1, "2026-11-04"),
                          ("pec_lost", CUSTOMER_A, E1, "2026-11-05")])
        on_4th = next(a for a in newer if a["date"] == "2026-11-04")
        self.assertIn(Decimal("0.014400004"), decimals_in(on_4th["detail"]),
                      "the alert carries the credit lost that day")

        # A PUT without `end` reopens the grant (§8.23): PEC is back, nothing fires again.
        self.put(f"/v1/grants/aobo:{E1}", {})
        self.assertJsonEqual(self.lines(CUSTOMER_A), want, "lines with the grant reopened")
        newer, _ = self.daemon.all_alerts(after=cursor)
        self.assertEqual(newer, [])

    def test_removing_the_implied_grant_with_aobo_false_loses_pec_on_every_day(self):
        self.daemon.load_example("basic")
        _, cursor = self.daemon.all_alerts()
        entitlement = reference_line("basic", lambda o: o.get("entitlement_id") == E1)
        self.put(f"/v1/entitlements/{E1}", dict(entitlement, aobo=False))
        spend = self.spend(CUSTOMER_A)
        self.assertEqual((spend["pec"], spend["billed"]), ("0.000000000", "2.932000030"))
        newer, _ = self.daemon.all_alerts(after=cursor)
        self.assertEqual(sorted((a["kind"], a["entitlement_id"], a["date"]) for a in newer),
                         [("pec_lost", E1, "2026-11-03"), ("pec_lost", E1, "2026-11-04"),
                          ("pec_lost", E1, "2026-11-05")])

    def test_an_explicit_grant_loaded_later_restores_full_day_access(self):
        self.daemon.load_example("tiers-and-pec")
        # EB on 11-12 had no eligible grant; a Contributor grant for the partner from 11-12
        # 00:00 restores PEC on that day only.
        eb = "bbbbbbbb-0000-4000-8000-00000000000b"
        self.put("/v1/grants/g4", {"entitlement_id": eb, "scope": f"/subscriptions/{eb}",
                                   "principal_mpn_id": "2222222", "role": "Contributor",
                                   "start": "2026-11-12T00:00:00Z"})
        lines = self.lines("c0ffee00-0000-4000-8000-000000000002")
        eb_sql = {l["usage_date"]: l for l in lines
                  if l["entitlement_id"] == eb and l["meter_id"].startswith("20000000")}
        self.assertEqual(eb_sql["2026-11-12"]["pec_rate"], "0.150000000")
        self.assertEqual(eb_sql["2026-11-12"]["pec_usd"], "0.375000000")
        self.assertEqual(eb_sql["2026-11-06"]["pec_rate"], "0.000000000",
                         "11-06 is still only partly covered by g2")


if __name__ == "__main__":
    unittest.main()
