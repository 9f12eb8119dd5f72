"""The three worked examples of tests/fixtures/examples, reproduced to the digit by the real
daemon over HTTP: usage counts, every line, spend, the overview, budgets, alerts and unknown
usage, and (for `basic`) the rejection of every malformed event without any trace in spend."""

import unittest
from decimal import Decimal

from harness import EXAMPLES_DIR, DaemonTestCase, example

# Spend fields that depend on the clock or the commit, not on the example's numbers.
SPEND_CLOCK_FIELDS = ("days_remaining", "as_of")


def budget_alerts(alerts):
    return sorted((a["kind"], a["customer_id"], a["month"], a["threshold"])
                  for a in alerts if a["kind"].startswith("budget_"))


class ExampleChecks:
    """Loads one example into a fresh daemon and checks everything expected.json states."""

    name = None

    @classmethod
    def setUpClass(cls):
        cls.expected = example(cls.name, "expected.json")

    def setUp(self):
        super().setUp()
        self.daemon = self.start_daemon(fixed_clock=self.expected["now"])
        self.usage_answer = self.daemon.load_example(self.name)

    def test_the_usage_answer_counts_accepted_duplicate_and_rejected_events(self):
        counts = {k: self.usage_answer[k] for k in ("accepted", "duplicates", "rejected")}
        self.assertJsonEqual(counts, self.expected["usage_counts"], "usage counts")
        self.assertEqual(self.usage_answer["errors"], [], "no line of usage.ndjson is an error")

    def test_every_line_of_every_customer_and_month_matches_to_the_digit(self):
        for customer_id, c in self.expected["customers"].items():
            for month, want in c["lines"].items():
                got = self.daemon.get_all(f"/v1/customers/{customer_id}/lines?month={month}",
                                          "lines")
                self.assertJsonEqual(got, want, f"lines of {customer_id} in {month}")

    def test_lines_paged_one_at_a_time_are_the_same_lines_in_the_same_order(self):
        for customer_id, c in self.expected["customers"].items():
            for month, want in c["lines"].items():
                got = self.daemon.get_all(f"/v1/customers/{customer_id}/lines?month={month}",
                                          "lines", limit=1)
                self.assertJsonEqual(got, want, f"paged lines of {customer_id} in {month}")

    def test_lines_filtered_by_date_are_the_lines_of_that_day(self):
        for customer_id, c in self.expected["customers"].items():
            for month, want in c["lines"].items():
                for date in sorted({line["usage_date"] for line in want}):
                    got = self.daemon.get_json(
                        f"/v1/customers/{customer_id}/lines?month={month}&date={date}")
                    self.assertJsonEqual(got["lines"],
                                         [line for line in want if line["usage_date"] == date],
                                         f"lines of {customer_id} on {date}")

    def test_spend_of_every_customer_and_month_matches_every_expected_field(self):
        for customer_id, c in self.expected["customers"].items():
            for month, want in c["spend"].items():
                got = self.daemon.get_json(f"/v1/customers/{customer_id}/spend?month={month}")
                for field in SPEND_CLOCK_FIELDS:
                    self.assertIn(field, got, f"spend of {customer_id} {month}")
                self.assertEqual(got["as_of"], self.expected["now"],
                                 "under --fixed-clock every commit happens at the frozen instant")
                trimmed = {k: v for k, v in got.items() if k not in SPEND_CLOCK_FIELDS}
                self.assertJsonEqual(trimmed, want, f"spend of {customer_id} in {month}")

    def test_spend_and_lines_without_a_month_are_those_of_the_clocks_month(self):
        month = self.expected["now"][:7]
        for customer_id in self.expected["customers"]:
            for what in ("spend", "lines"):
                base = f"/v1/customers/{customer_id}/{what}"
                self.assertEqual(self.daemon.get(base).body,
                                 self.daemon.get(f"{base}?month={month}").body, base)

    def test_the_customer_list_shows_country_currency_partner_and_reseller(self):
        got = {c["customer_id"]: c for c in self.daemon.get_all("/v1/customers", "customers")}
        self.assertEqual(sorted(got), sorted(self.expected["customers"]))
        for customer_id, want in self.expected["customers"].items():
            for field in ("partner_id", "reseller_mpn_id", "country", "currency"):
                self.assertJsonEqual(got[customer_id][field], want[field],
                                     f"{field} of customer {customer_id}")

    def test_the_spending_overview_agrees_with_each_customers_spend(self):
        for month in self.expected["months"]:
            rows = {r["customer_id"]: r
                    for r in self.daemon.get_all(f"/v1/spend?month={month}", "rows")}
            self.assertEqual(sorted(rows), sorted(self.expected["customers"]))
            for customer_id, c in self.expected["customers"].items():
                spend = c["spend"][month]
                budget = spend["budget"]
                basis = budget["basis"] if budget else "list"
                want = {
                    "customer_id": customer_id,
                    "currency": c["currency"],
                    "budget_amount": budget["amount"] if budget else None,
                    "spend": spend[basis],
                    "spend_usd": spend[basis + "_usd"],
                    "percent_rounded": spend["percent_rounded"],
                }
                got = {k: v for k, v in rows[customer_id].items() if k != "name"}
                self.assertJsonEqual(got, want, f"overview row of {customer_id} in {month}")

    def test_each_budget_reads_back_stored_sorted_and_deduplicated(self):
        for customer_id, c in self.expected["customers"].items():
            budget = next(iter(c["spend"].values()))["budget"]
            r = self.daemon.get(f"/v1/customers/{customer_id}/budget")
            if budget is None:
                self.assertProblem(r, 404, f"budget of {customer_id}")
            else:
                self.assertStatus(r, 200, f"budget of {customer_id}")
                self.assertJsonEqual(r.json(), {"customer_id": customer_id, **budget},
                                     f"budget of {customer_id}")

    def test_budget_alerts_are_exactly_the_expected_ones(self):
        alerts, _ = self.daemon.all_alerts()
        want = sorted((a["kind"], a["customer_id"], a["month"], a["threshold"])
                      for a in self.expected["alerts"])
        self.assertEqual(budget_alerts(alerts), want)
        customers = self.expected["customers"]
        for a in alerts:
            if not a["kind"].startswith("budget_"):
                continue
            spend = customers[a["customer_id"]]["spend"][a["month"]]
            self.assertEqual(a["amount"], spend["budget"]["amount"], a)
            self.assertEqual(a["currency"], customers[a["customer_id"]]["currency"], a)
            self.assertIsNone(a["entitlement_id"], a)
            self.assertIsNone(a["date"], a)
            # `spend` is what the commit left (the forecast for budget_forecast, §8.27): at
            # or above the threshold, and `percent` is that spend over the amount.
            spent, amount = Decimal(a["spend"]), Decimal(a["amount"])
            self.assertGreaterEqual(spent * 100, Decimal(str(a["threshold"])) * amount, a)
            self.assertEqual(Decimal(a["percent"]),
                             (spent * 100 / amount).quantize(Decimal("1e-9")), a)

    def test_pec_lost_alerts_are_exactly_the_expected_entitlement_days(self):
        alerts, _ = self.daemon.all_alerts()
        got = sorted((a["customer_id"], a["entitlement_id"], a["date"])
                     for a in alerts if a["kind"] == "pec_lost")
        want = sorted((p["customer_id"], p["entitlement_id"], p["date"])
                      for p in self.expected["pec_lost"])
        self.assertEqual(got, want)
        for a in alerts:
            if a["kind"] == "pec_lost":
                self.assertEqual(a["month"], a["date"][:7], a)

    def test_alert_ids_are_unique_and_the_feed_resumes_after_its_cursor(self):
        alerts, cursor = self.daemon.all_alerts()
        ids = [a["id"] for a in alerts]
        self.assertEqual(len(ids), len(set(ids)), ids)
        newer, again = self.daemon.all_alerts(after=cursor)
        self.assertEqual(newer, [])
        self.assertEqual(again, cursor)

    def test_unknown_usage_lists_exactly_the_expected_lines(self):
        got = self.daemon.get_all("/v1/unknown-usage", "lines")
        self.assertJsonEqual(got, self.expected["unknown_entitlement_lines"], "unknown usage")


class BasicExample(ExampleChecks, DaemonTestCase):
    name = "basic"

    def test_malformed_events_are_rejected_one_code_per_line_and_leave_spend_untouched(self):
        customer_id = "c0ffee00-0000-4000-8000-000000000001"
        spend_path = f"/v1/customers/{customer_id}/spend?month=2026-11"
        lines_path = f"/v1/customers/{customer_id}/lines?month=2026-11"
        spend_before = self.daemon.get(spend_path).body
        lines_before = self.daemon.get(lines_path).body
        alerts_before, cursor = self.daemon.all_alerts()

        answer = self.daemon.post_usage(example("basic", "bad_usage.ndjson"))

        want = example("basic", "bad_expected.json")["usage"]
        counts = {k: answer[k] for k in ("accepted", "duplicates", "rejected")}
        self.assertJsonEqual(counts, want["counts"], "bad usage counts")
        self.assertEqual(len(answer["errors"]), len(want["lines"]), answer["errors"])
        for got, exp in zip(answer["errors"], want["lines"]):
            self.assertEqual(got["line"], exp["line"], got)
            self.assertEqual(got["id"], exp["id"], got)
            self.assertIn(got["error"], exp["codes"], got)
            self.assertIsInstance(got["detail"], str, got)
        self.assertEqual(self.daemon.get(spend_path).body, spend_before,
                         "spend must be byte-for-byte unchanged after rejected events")
        self.assertEqual(self.daemon.get(lines_path).body, lines_before)
        newer, _ = self.daemon.all_alerts(after=cursor)
        self.assertEqual(newer, [], "rejected events raise no alert")

    def test_a_rejected_event_leaves_no_identity_behind(self):
        # b1 was rejected for its quantity; the same id with a valid body is a new event.
        self.daemon.post_usage(example("basic", "bad_usage.ndjson"))
        fixed = (b'{"id":"b1","entitlement_id":"e1000000-0000-4000-8000-000000000001",'
                 b'"meter_id":"0a3c6e2a-6d1f-4c55-9a43-5f1c2b7d9e01","resource_uri":'
                 b'"/subscriptions/e1000000-0000-4000-8000-000000000001/resourceGroups/web/'
                 b'providers/Microsoft.Compute/virtualMachines/web-1","quantity":"1",'
                 b'"timestamp":"2026-11-05T10:00:00Z"}\n')
        answer = self.daemon.post_usage(fixed)
        self.assertEqual((answer["accepted"], answer["duplicates"], answer["rejected"]),
                         (1, 0, 0), answer)


class TiersAndPecExample(ExampleChecks, DaemonTestCase):
    name = "tiers-and-pec"


class CurrenciesExample(ExampleChecks, DaemonTestCase):
    name = "currencies"


if __name__ == "__main__":
    unittest.main()
