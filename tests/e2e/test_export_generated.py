"""Exports of a generated month against the real daemon: meter-loadgen makes a world (customers in
five markets and currencies, PEC and non-PEC entitlements, tiered and re-priced meters) and a
month of usage with late and re-sent events; after ingest, every customer's FOCUS BilledCost and
ListCost, daily-rated BillingPreTaxTotal and reconciliation BillingPreTaxTotal must add up to
GET /v1/customers/{id}/spend exactly, and the three files must agree with each other line for
line. The worked examples (test_exports.py) check values; this checks totals at scale, through
the streamed responses (files of several MiB, many pieces).

meter-loadgen is found through METER_LOADGEN_BIN or next to METERD_BIN in the build tree.
"""

import csv
import io
import json
import os
import subprocess
import tempfile
import unittest
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from harness import HttpAssertions, meterd_binary, start_class_daemon

MONTH = "2026-11"
FEED_END = "2026-12-01T00:00:00Z"  # the feed's 30 days are November
CLOCK = "2026-12-05T00:00:00Z"  # the month is over when it is exported
WORLD = ["--seed", "11", "--now", FEED_END, "--customers", "16", "--entitlements", "2",
         "--resources", "4", "--span-days", "30", "--markets", "US,NO,GB,JP,DE"]
BATCH_LINES = 20000


def loadgen_binary():
    path = os.environ.get("METER_LOADGEN_BIN")
    if not path:
        path = str(Path(meterd_binary()).resolve().parent.parent / "tools" / "loadgen" /
                   "meter-loadgen")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"meter-loadgen not found at {path}: build the meter-loadgen target "
                           "or set METER_LOADGEN_BIN")
    return path


def parse_csv(body):
    text = body.decode("utf-8")
    records = list(csv.reader(io.StringIO(text, newline="")))
    header = records[0]
    return header, [dict(zip(header, r)) for r in records[1:]]


class GeneratedMonthExports(HttpAssertions, unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        loadgen = loadgen_binary()
        cls.tmp = tempfile.TemporaryDirectory(prefix="meterd-export-gen-")
        out = Path(cls.tmp.name)
        subprocess.run([loadgen, "reference", "--out", str(out)] + WORLD, check=True,
                       stdout=subprocess.DEVNULL)
        subprocess.run([loadgen, "feed", "--out", str(out / "feed.ndjson"), "--late", "2%",
                        "--duplicates", "1%"] + WORLD, check=True, stdout=subprocess.DEVNULL)
        cls.daemon = start_class_daemon(cls, fixed_clock=CLOCK)
        d = cls.daemon
        for path, name, ctype in (("/v1/reference", "reference.ndjson", "application/x-ndjson"),
                                  ("/v1/pricesheet", "pricesheet.csv", "text/csv")):
            r = d.request("POST", path, (out / name).read_bytes(), content_type=ctype)
            if r.status != 200 or r.json().get("rejected") != 0:
                raise AssertionError(f"POST {path}: {r!r}")
        for month, rates in sorted(json.loads((out / "fx.json").read_text()).items()):
            r = d.request("PUT", f"/v1/fx/{month}", {"rates": rates})
            if r.status != 200:
                raise AssertionError(f"PUT /v1/fx/{month}: {r!r}")
        lines = (out / "feed.ndjson").read_bytes().splitlines(keepends=True)
        for i in range(0, len(lines), BATCH_LINES):
            d.post_usage(b"".join(lines[i:i + BATCH_LINES]))
        cls.customers = sorted(
            json.loads(l)["customer_id"] for l in (out / "reference.ndjson").read_text().split("\n")
            if l.strip() and json.loads(l).get("type") == "customer")
        cls.spend = {c: d.get_json(f"/v1/customers/{c}/spend?month={MONTH}")
                     for c in cls.customers}
        cls.files = {}
        for kind in ("daily", "recon", "focus"):
            r = d.request("GET", f"/v1/exports/{kind}?month={MONTH}", timeout=120)
            if r.status != 200:
                raise AssertionError(f"GET /v1/exports/{kind}: {r!r}")
            cls.files[kind] = (r, parse_csv(r.body))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def sums(self, kind, column, key="CustomerId"):
        out = defaultdict(Decimal)
        for row in self.files[kind][1][1]:
            out[row[key]] += Decimal(row[column])
        return out

    def test_the_month_is_big_enough_to_stream_in_many_pieces(self):
        r, (_, rows) = self.files["focus"]
        self.assertEqual(r.headers.get("transfer-encoding"), "chunked")
        self.assertNotIn("content-length", r.headers)
        self.assertGreater(len(r.body), 3 << 20, "the FOCUS file should span several 1 MiB pieces")
        self.assertEqual({row["BillingAccountId"] for row in rows}, set(self.customers))
        self.assertGreater(len({row["BillingCurrency"] for row in rows}), 2)
        self.assertIn("15", {row["x_PartnerEarnedCreditPercentage"] for row in rows})
        self.assertIn("0", {row["x_PartnerEarnedCreditPercentage"] for row in rows})

    def test_focus_billed_and_list_costs_equal_the_spend_of_every_customer(self):
        billed = self.sums("focus", "BilledCost", "BillingAccountId")
        listed = self.sums("focus", "ListCost", "BillingAccountId")
        for c in self.customers:
            self.assertGreater(billed[c], 0, c)
            self.assertEqual(f"{billed[c]:.9f}", self.spend[c]["billed"], f"BilledCost of {c}")
            self.assertEqual(f"{listed[c]:.9f}", self.spend[c]["list"], f"ListCost of {c}")

    def test_daily_and_reconciliation_totals_equal_the_spend_of_every_customer(self):
        daily = self.sums("daily", "BillingPreTaxTotal")
        recon = self.sums("recon", "BillingPreTaxTotal")
        for c in self.customers:
            self.assertEqual(f"{daily[c]:.9f}", self.spend[c]["billed"], f"daily file of {c}")
            self.assertEqual(f"{recon[c]:.9f}", self.spend[c]["billed"], f"recon file of {c}")

    def test_the_three_files_agree_line_for_line(self):
        daily = self.files["daily"][1][1]
        focus = self.files["focus"][1][1]
        self.assertEqual(len(daily), len(focus))
        for d, f in zip(daily, focus):
            self.assertEqual((d["CustomerId"], d["MeterId"], d["UsageDate"], d["EntitlementId"],
                              d["ResourceURI"], d["Quantity"], d["BillingPreTaxTotal"]),
                             (f["BillingAccountId"], f["x_MeterId"], f["x_UsageDate"],
                              f["SubAccountId"], f["ResourceId"], f["PricingQuantity"],
                              f["BilledCost"]))
        # Reconciliation rows are the daily rows summed per (customer, meter, PEC or not).
        want = defaultdict(Decimal)
        for d in daily:
            pec = "false" if d["PartnerEarnedCreditPercentage"] == "0" else "true"
            want[(d["CustomerId"], d["MeterId"], pec)] += Decimal(d["Quantity"])
        got = {(r["CustomerId"], r["MeterId"], r["PecApplied"]): Decimal(r["Quantity"])
               for r in self.files["recon"][1][1]}
        self.assertEqual(got, dict(want))

    def test_each_customers_lines_as_csv_are_its_daily_rows(self):
        _, daily = self.files["daily"][1]
        for c in self.customers[:3]:
            r = self.daemon.get(f"/v1/customers/{c}/lines?month={MONTH}",
                                headers={"Accept": "text/csv"})
            self.assertStatus(r, 200, c)
            self.assertEqual(r.headers.get("transfer-encoding"), "chunked")
            _, rows = parse_csv(r.body)
            self.assertEqual(rows, [row for row in daily if row["CustomerId"] == c])


if __name__ == "__main__":
    unittest.main()
