"""Alert scenarios over the real daemon with a fixed clock (issue #5, domain §5, docs/alerts.md):
exact threshold reach, late events, FX and price re-rates, early forecasts, re-arming, restarts,
pec_lost once per (entitlement, day) and the anomaly rule. Each test builds its own small
reference (price 1 USD per unit, so a quantity is its list spend) and reads /v1/alerts right
after the ingest answer, without sleeping: an alert is committed with the spend that raised it.

Budget and FX re-rating paths already covered elsewhere are not repeated here: the first FX rate
of a currency and an unchanged-alert price version are in test_reference_changes.py, webhook
delivery in test_webhooks.py."""

import itertools
import json
import time
import unittest

from harness import DaemonTestCase

PARTNER = "7d3f1c2a-0000-4000-8000-0000000000f1"
METER = "0a3c6e2a-6d1f-4c55-9a43-5f1c2b7d9e01"
HEADER = ("ProductId,SkuId,MeterId,MeterName,MeterCategory,MeterSubCategory,MeterRegion,"
          "UnitOfMeasure,Market,Currency,UnitPrice,PricingTierRangeMin,PricingTierRangeMax,"
          "EffectiveStartDate,EffectiveEndDate,Tags,Publisher")
# The history of docs/alerts.md's first worked example: median 10, MAD 1.
NOISY = ["10", "12", "8", "11", "9", "10", "13", "7", "10", "11", "9", "12", "10", "8"]


METER_B = "5b7f0e8c-2f44-4d0a-8e61-7c9a3b1d2e02"


def price_row(market, price, meter=METER):
    return (f"DZH318Z0VIRT,0001,{meter},D2s v3,Virtual Machines,,US East,1 Hour,{market},USD,"
            f"{price},0,,2026-01-01,,Azure,Microsoft")


def customer_id(n):
    return f"c0ffee00-0000-4000-8000-{n:012d}"


def entitlement_id(n):
    return f"e0000000-0000-4000-8000-{n:012d}"


class AlertScenario(DaemonTestCase):
    """A daemon with one partner; customers are added per test with add_customer."""

    CLOCK = "2026-11-20T12:00:00Z"

    def setUp(self):
        super().setUp()
        self.d = self.start_daemon(fixed_clock=self.CLOCK)
        self.ids = itertools.count(1)
        self.post_reference([{"type": "partner", "partner_id": PARTNER, "name": "Contoso Cloud",
                              "mpn_id": "5555555", "kind": "direct", "mpn_active": True}])
        self.post_pricesheet([price_row("US", "1"), price_row("DE", "1")])
        _, self.cursor = self.d.all_alerts()

    # ------------------------------------------------------------------ helpers

    def post_reference(self, objects):
        body = "\n".join(json.dumps(o) for o in objects) + "\n"
        r = self.d.request("POST", "/v1/reference", body, content_type="application/x-ndjson")
        self.assertStatus(r, 200, "POST /v1/reference")
        self.assertEqual(r.json()["rejected"], 0, r)

    def post_pricesheet(self, rows):
        r = self.d.request("POST", "/v1/pricesheet", HEADER + "\n" + "\n".join(rows) + "\n",
                           content_type="text/csv")
        self.assertStatus(r, 200, "POST /v1/pricesheet")
        self.assertEqual(r.json()["rejected"], 0, r)
        return r.json()

    def add_customer(self, n, country="US", aobo=True):
        self.post_reference([
            {"type": "customer", "customer_id": customer_id(n), "name": f"Customer {n}",
             "domain": f"c{n}.onmicrosoft.com", "country": country, "partner_id": PARTNER},
            {"type": "entitlement", "entitlement_id": entitlement_id(n),
             "customer_id": customer_id(n), "description": "Azure plan", "offer": "azure_plan",
             "created_at": "2026-01-15T10:00:00Z", "aobo": aobo}])
        return customer_id(n)

    def put_budget(self, n, amount, thresholds, forecast=()):
        r = self.d.request("PUT", f"/v1/customers/{customer_id(n)}/budget",
                           {"amount": amount, "thresholds": list(thresholds),
                            "forecast_thresholds": list(forecast)})
        self.assertStatus(r, 200, "PUT budget")

    def use(self, n, quantity, day, hour="12:00:00", meter=METER):
        """Posts one event of `quantity` units for customer n's entitlement on `day`."""
        ev = {"id": f"ev-{next(self.ids)}", "entitlement_id": entitlement_id(n),
              "meter_id": meter, "quantity": str(quantity), "timestamp": f"{day}T{hour}Z",
              "resource_uri": f"/subscriptions/{entitlement_id(n)}/resourceGroups/rg/providers/"
                              "Microsoft.Compute/virtualMachines/vm1"}
        answer = self.d.post_usage(json.dumps(ev) + "\n")
        self.assertEqual(answer["accepted"], 1, answer)

    def new_alerts(self):
        """Alerts committed since the last call, read at once (no waiting)."""
        alerts, self.cursor = self.d.all_alerts(after=self.cursor)
        return alerts

    def spend(self, n, month="2026-11"):
        return self.d.get_json(f"/v1/customers/{customer_id(n)}/spend?month={month}")


class Thresholds(AlertScenario):

    def test_a_threshold_reached_exactly_fires_and_one_just_below_does_not(self):
        self.add_customer(1)
        self.put_budget(1, "1000000", [80])
        # 799999.999996 is 79.9999999996 %: it prints as 80.000000000 and still is not 80.
        self.use(1, "799999.999996", "2026-11-10")
        self.assertEqual(self.new_alerts(), [])
        spend = self.spend(1)
        self.assertEqual((spend["percent"], spend["percent_rounded"]), ("80.000000000", 80))

        self.use(1, "0.000004", "2026-11-10")
        alerts = self.new_alerts()
        self.assertEqual(len(alerts), 1, alerts)
        a = alerts[0]
        self.assertEqual((a["kind"], a["customer_id"], a["month"], a["threshold"], a["amount"],
                          a["spend"], a["percent"], a["currency"], a["date"],
                          a["entitlement_id"]),
                         ("budget_actual", customer_id(1), "2026-11", 80, "1000000.000000000",
                          "800000.000000000", "80.000000000", "USD", None, None))
        self.assertEqual(a["created_at"], self.CLOCK)

    def test_each_crossing_is_in_the_feed_as_soon_as_its_ingest_request_is_answered(self):
        for n in range(1, 11):
            self.add_customer(n)
            self.put_budget(n, "10", [50])
        for n in range(1, 11):
            self.use(n, "5", "2026-11-19")
            page = self.d.get_json(f"/v1/alerts?after={self.cursor}&limit=10")
            self.assertEqual([(a["customer_id"], a["threshold"]) for a in page["alerts"]],
                             [(customer_id(n), 50)], f"crossing {n}")
            self.cursor = page["next_cursor"]

    def test_a_late_event_for_an_earlier_day_or_month_crosses(self):
        self.add_customer(1)
        self.put_budget(1, "100", [80])
        self.use(1, "50", "2026-11-19")
        self.use(1, "29", "2026-11-05")
        self.assertEqual(self.new_alerts(), [])
        self.use(1, "1", "2026-11-02", hour="00:00:00")  # a day long past
        alerts = self.new_alerts()
        self.assertEqual([(a["kind"], a["month"], a["threshold"], a["spend"]) for a in alerts],
                         [("budget_actual", "2026-11", 80, "80.000000000")])

        # The standing budget judges October too: late October usage raises October's alert.
        self.use(1, "79.999999999", "2026-10-20")
        self.assertEqual(self.new_alerts(), [])
        self.use(1, "0.000000001", "2026-10-31", hour="23:59:59")
        alerts = self.new_alerts()
        self.assertEqual([(a["kind"], a["month"], a["threshold"], a["spend"]) for a in alerts],
                         [("budget_actual", "2026-10", 80, "80.000000000")])

    def test_a_final_fx_rate_above_the_provisional_one_crosses(self):
        self.add_customer(1, country="DE")
        self.assertEqual(self.spend(1)["currency"], "EUR")
        self.put_budget(1, "100", [80])
        r = self.d.request("PUT", "/v1/fx/2026-10", {"rates": {"EUR": "0.8"}})
        self.assertStatus(r, 200, "PUT /v1/fx/2026-10")
        self.use(1, "90", "2026-11-10")  # 90 USD at the provisional October rate: 72 EUR
        self.assertEqual(self.spend(1)["list"], "72.000000000")
        self.assertEqual(self.new_alerts(), [])

        r = self.d.request("PUT", "/v1/fx/2026-11", {"rates": {"EUR": "0.9"}})
        self.assertStatus(r, 200, "PUT /v1/fx/2026-11")
        self.assertGreaterEqual(r.json()["rerated_lines"], 1, r)
        alerts = self.new_alerts()
        self.assertEqual([(a["kind"], a["threshold"], a["spend"], a["currency"]) for a in alerts],
                         [("budget_actual", 80, "81.000000000", "EUR")])

    def test_a_corrected_price_sheet_crosses(self):
        self.add_customer(1)
        self.put_budget(1, "100", [80])
        self.use(1, "70", "2026-11-10")
        self.assertEqual(self.new_alerts(), [])
        # The same price row (market, meter, start, tier) uploaded again with the right price.
        result = self.post_pricesheet([price_row("US", "1.2")])
        self.assertGreaterEqual(result["rerated_lines"], 1, result)
        alerts = self.new_alerts()
        self.assertEqual([(a["kind"], a["threshold"], a["spend"]) for a in alerts],
                         [("budget_actual", 80, "84.000000000")])

    def test_raising_the_amount_rearms_a_threshold_no_longer_reached_and_it_fires_again(self):
        self.add_customer(1)
        self.put_budget(1, "100", [80])
        self.use(1, "85", "2026-11-10")
        self.assertEqual([(a["threshold"], a["amount"]) for a in self.new_alerts()],
                         [(80, "100.000000000")])
        # Still reached under 105 (84): stays fired, nothing new.
        self.put_budget(1, "105", [80])
        self.use(1, "1", "2026-11-11")
        self.assertEqual(self.new_alerts(), [])
        # Not reached under 200 (160): re-armed, fires when reached again.
        self.put_budget(1, "200", [80])
        self.assertEqual(self.new_alerts(), [])
        self.use(1, "73.999999999", "2026-11-12")
        self.assertEqual(self.new_alerts(), [])
        self.use(1, "0.000000001", "2026-11-12")
        alerts = self.new_alerts()
        self.assertEqual([(a["kind"], a["threshold"], a["amount"], a["spend"]) for a in alerts],
                         [("budget_actual", 80, "200.000000000", "160.000000000")])
        # And only once.
        self.use(1, "10", "2026-11-13")
        self.assertEqual(self.new_alerts(), [])


class EarlyForecast(AlertScenario):
    CLOCK = "2026-11-01T06:00:00Z"

    def test_the_forecast_fires_in_the_first_hours_of_the_month(self):
        # Elapsed counts as one full day on the 1st: forecast = spend x 30.
        self.add_customer(1)
        self.put_budget(1, "100", [], forecast=[100])
        self.use(1, "3.33", "2026-11-01", hour="01:00:00")
        self.assertEqual(self.spend(1)["forecast"], "99.900000000")
        self.assertEqual(self.new_alerts(), [])
        self.use(1, "0.01", "2026-11-01", hour="02:00:00")
        alerts = self.new_alerts()
        self.assertEqual([(a["kind"], a["threshold"], a["spend"], a["percent"]) for a in alerts],
                         [("budget_forecast", 100, "100.200000000", "100.200000000")])


class ForecastAtMonthStart(AlertScenario):
    """A month's forecast equals its spend until the month begins (§8.15), then jumps to
    spend × days_in(m): the forecast threshold is crossed by the clock alone, with no event. The
    shards review forecasts when the month changes (at start and on their timer)."""

    CLOCK = "2026-11-30T23:00:00Z"

    def wait_for_alerts(self, count, timeout_s=10):
        alerts = []
        deadline = time.monotonic() + timeout_s
        while len(alerts) < count and time.monotonic() < deadline:
            alerts.extend(self.new_alerts())
            time.sleep(0.05)
        return alerts

    def test_the_forecast_crosses_when_the_month_begins_without_a_new_event(self):
        self.add_customer(1)
        self.put_budget(1, "100", [80], forecast=[100])
        # 11 hours ahead of now (allowed up to 24 h, §8.9): December is still in the future.
        self.use(1, "10", "2026-12-01", hour="10:00:00")
        self.assertEqual(self.spend(1, month="2026-12")["forecast"], "10.000000000")
        self.assertEqual(self.new_alerts(), [])

        self.assertEqual(self.d.stop(), 0)
        self.d.fixed_clock = "2026-12-01T12:00:00Z"  # half a day counts as one: 10 × 31
        self.d.start()
        alerts = self.wait_for_alerts(1)
        self.assertEqual([(a["kind"], a["month"], a["threshold"], a["spend"], a["percent"])
                          for a in alerts],
                         [("budget_forecast", "2026-12", 100, "310.000000000",
                           "310.000000000")])
        self.assertEqual(self.spend(1, month="2026-12")["forecast"], "310.000000000")

        # Reviewed once per month change, fired once: a restart repeats nothing.
        self.d.kill()
        self.d.start()
        time.sleep(0.5)
        self.assertEqual(self.new_alerts(), [])


class PecLost(AlertScenario):

    def test_pec_lost_fires_once_per_entitlement_and_day_with_the_credit_lost_so_far(self):
        self.add_customer(1, aobo=False)  # no admin access at all: PEC lost on every day
        self.use(1, "10", "2026-11-10")
        alerts = self.new_alerts()
        self.assertEqual([(a["kind"], a["entitlement_id"], a["date"], a["spend"]) for a in alerts],
                         [("pec_lost", entitlement_id(1), "2026-11-10", "1.500000000")])
        self.assertIn("1.500000000 USD so far", alerts[0]["detail"])
        self.use(1, "10", "2026-11-10", hour="18:00:00")
        self.assertEqual(self.new_alerts(), [], "the same (entitlement, day) never fires twice")
        self.use(1, "4", "2026-11-11")
        self.assertEqual([(a["date"], a["spend"]) for a in self.new_alerts()],
                         [("2026-11-11", "0.600000000")])


class Anomaly(AlertScenario):

    def post_history(self, n, values, first_day):
        for i, v in enumerate(values):
            self.use(n, v, f"2026-11-{first_day + i:02d}")

    def test_a_spike_fires_once_and_steady_spend_does_not(self):
        self.add_customer(1)
        self.add_customer(2)
        self.post_history(1, NOISY, 6)  # 11-06 .. 11-19
        self.post_history(2, NOISY, 6)
        self.assertEqual(self.new_alerts(), [], "no day of the history is anomalous")

        self.use(2, "12", "2026-11-20", hour="09:00:00")  # an ordinary day
        self.use(1, "29.999999999", "2026-11-20", hour="09:00:00")  # just below 3 x median
        self.assertEqual(self.new_alerts(), [])
        self.use(1, "0.000000001", "2026-11-20", hour="10:00:00")
        alerts = self.new_alerts()
        self.assertEqual(len(alerts), 1, alerts)
        a = alerts[0]
        self.assertEqual((a["kind"], a["customer_id"], a["entitlement_id"], a["month"], a["date"],
                          a["threshold"], a["amount"], a["spend"], a["percent"], a["currency"]),
                         ("anomaly", customer_id(1), None, "2026-11", "2026-11-20", None, None,
                          "30.000000000", None, "USD"))
        for shown in ("13.489815190", "median 10.000000000", "MAD 1.000000000", "14 days"):
            self.assertIn(shown, a["detail"])
        self.use(1, "100", "2026-11-20", hour="11:00:00")
        self.assertEqual(self.new_alerts(), [], "at most once per (customer, day)")

    def test_a_late_spike_for_an_earlier_day_fires_for_that_day(self):
        self.add_customer(1)
        self.post_history(1, NOISY + ["10", "11", "9", "10", "12"], 1)  # 11-01 .. 11-19
        self.assertEqual(self.new_alerts(), [])
        self.use(1, "40", "2026-11-15")  # 11-15 becomes 50 against 11-01 .. 11-14
        alerts = self.new_alerts()
        self.assertEqual([(a["kind"], a["date"], a["spend"]) for a in alerts],
                         [("anomaly", "2026-11-15", "50.000000000")])

    def test_a_price_correction_that_multiplies_a_days_spend_fires_for_that_day(self):
        self.post_pricesheet([price_row("US", "1", meter=METER_B)])
        self.add_customer(1)
        self.post_history(1, ["10"] * 14, 6)  # 11-06 .. 11-19 on the first meter
        self.use(1, "10", "2026-11-20", hour="09:00:00", meter=METER_B)
        self.use(1, "10", "2026-11-20", hour="10:00:00")
        self.assertEqual(self.new_alerts(), [])
        # The second meter really costs 2.5: 11-20 becomes 35 (>= 3 x 10 over a flat history);
        # only that day's line moved, so only that day is judged.
        result = self.post_pricesheet([price_row("US", "2.5", meter=METER_B)])
        self.assertGreaterEqual(result["rerated_lines"], 1, result)
        alerts = self.new_alerts()
        self.assertEqual([(a["kind"], a["date"], a["spend"]) for a in alerts],
                         [("anomaly", "2026-11-20", "35.000000000")])
        self.assertIn("every one of them 10.000000000", alerts[0]["detail"])

    def test_a_new_customer_has_no_norm_yet_and_idle_days_count_as_zero(self):
        self.add_customer(1)
        self.add_customer(2)
        # Customer 1: six days of history only (first usage 11-13): nothing fires.
        self.post_history(1, ["1"] * 6, 13)
        self.use(1, "500", "2026-11-19")
        self.assertEqual(self.new_alerts(), [])
        # Customer 2: one day of usage, then seven idle days (zeros) and a day above the floor.
        self.use(2, "0.5", "2026-11-05")
        self.use(2, "9.999999999", "2026-11-13")
        self.assertEqual(self.new_alerts(), [], "below the floor of 10")
        self.use(2, "0.000000001", "2026-11-13")
        self.assertEqual([(a["kind"], a["date"]) for a in self.new_alerts()],
                         [("anomaly", "2026-11-13")])


class Restarts(AlertScenario):
    """Fired marks are committed with their alerts: neither kill -9 nor SIGTERM repeats one, and
    the anomaly history is rebuilt from stored lines (across a month boundary)."""

    def fire_everything(self):
        self.add_customer(1)
        self.put_budget(1, "100", [80, 100])
        self.use(1, "85", "2026-11-10")
        self.add_customer(2, aobo=False)
        self.use(2, "10", "2026-11-10")
        self.add_customer(3)
        for i, v in enumerate(NOISY):  # 10-28 .. 11-10
            day = f"2026-10-{28 + i}" if i < 4 else f"2026-11-{i - 3:02d}"
            self.use(3, v, day)
        self.use(3, "30", "2026-11-11")
        self.assertEqual(sorted(a["kind"] for a in self.new_alerts()),
                         ["anomaly", "budget_actual", "pec_lost"])
        # Customer 4: the same October-November history, its spike only after the restart.
        self.add_customer(4)
        for i, v in enumerate(NOISY):
            day = f"2026-10-{28 + i}" if i < 4 else f"2026-11-{i - 3:02d}"
            self.use(4, v, day)
        self.assertEqual(self.new_alerts(), [])

    def more_of_the_same(self):
        self.use(1, "10", "2026-11-12")      # 95: 80 stays fired, 100 not reached
        self.use(2, "10", "2026-11-10", hour="20:00:00")  # same entitlement and day
        self.use(3, "5", "2026-11-11", hour="20:00:00")   # the anomalous day grows
        self.assertEqual(self.new_alerts(), [])

    def check_after_restart(self):
        self.more_of_the_same()
        self.use(1, "5", "2026-11-12", hour="13:00:00")  # 100: only 100 fires
        self.use(4, "30", "2026-11-11")                    # history read back from the store
        self.assertEqual(sorted((a["kind"], a["customer_id"], a["threshold"], a["date"])
                                for a in self.new_alerts()),
                         [("anomaly", customer_id(4), None, "2026-11-11"),
                          ("budget_actual", customer_id(1), 100, None)])

    def test_kill_9_then_no_alert_fires_a_second_time(self):
        self.fire_everything()
        self.d.kill()
        self.d.start()
        self.check_after_restart()

    def test_sigterm_then_no_alert_fires_a_second_time(self):
        self.fire_everything()
        self.assertEqual(self.d.stop(), 0)
        self.d.start()
        self.check_after_restart()
        self.assertEqual(self.d.stop(), 0)
        self.d.start()
        self.use(1, "50", "2026-11-13")
        self.use(4, "50", "2026-11-11", hour="20:00:00")
        self.assertEqual(self.new_alerts(), [])


if __name__ == "__main__":
    unittest.main()
