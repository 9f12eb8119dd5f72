"""Bounded memory over a long uptime: shard workers forget the cached ledgers of months before
the previous one once they go cold (no usage for a whole review interval, last commit done),
and a late event for such a month still lands exactly: the ledger reloads from LMDB, the line
adds up, dedupe holds. Watched through meterd_cache_entries."""

import json
import time
import unittest

from harness import DaemonTestCase

CUSTOMER = "c0ffee00-0000-4000-8000-000000000001"
E1 = "e1000000-0000-4000-8000-000000000001"
VM_METER = "0a3c6e2a-6d1f-4c55-9a43-5f1c2b7d9e01"
URI = (f"/subscriptions/{E1}/resourceGroups/web/providers/"
       "Microsoft.Compute/virtualMachines/web-1")
# The clock is 2026-11-20: September is before the previous month, so its ledger may go; a
# 90-day dedupe horizon still accepts its usage.
ARGS = ("--review-interval", "200ms", "--dedupe-retention-days", "90")


def event(event_id, quantity, timestamp):
    return json.dumps({"id": event_id, "entitlement_id": E1, "meter_id": VM_METER,
                       "resource_uri": URI, "quantity": quantity, "timestamp": timestamp})


class ColdMonthEviction(DaemonTestCase):

    def setUp(self):
        super().setUp()
        self.daemon = self.start_daemon(extra_args=ARGS)
        self.daemon.load_example("basic")  # November usage: a ledger that must stay

    def cache(self, kind):
        return int(self.daemon.metric("meterd_cache_entries", kind=kind))

    def wait_for_ledgers(self, want, timeout_s=15):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.cache("ledgers") == want:
                return
            time.sleep(0.1)
        self.fail(f"cached ledgers stayed {self.cache('ledgers')}, want {want}")

    def september_lines(self):
        return self.daemon.get_json(f"/v1/customers/{CUSTOMER}/lines?month=2026-09")

    def test_a_cold_old_month_is_forgotten_and_reloads_exactly(self):
        november_ledgers = self.cache("ledgers")
        self.assertGreaterEqual(november_ledgers, 1)
        answer = self.daemon.post_usage(event("sep-1", "4.5", "2026-09-10T08:00:00Z"))
        self.assertEqual((answer["accepted"], answer["duplicates"]), (1, 0), answer)
        # Cached at once; gone after two quiet reviews; November's ledgers stay.
        self.assertEqual(self.cache("ledgers"), november_ledgers + 1)
        lines_before = self.september_lines()
        spend_before = self.daemon.get_json(f"/v1/customers/{CUSTOMER}/spend?month=2026-09")
        self.wait_for_ledgers(november_ledgers)
        self.assertEqual(self.september_lines(), lines_before)
        self.assertEqual(self.daemon.get_json(f"/v1/customers/{CUSTOMER}/spend?month=2026-09"),
                         spend_before)

        # A late event for the forgotten month reloads its ledger from the store and adds up.
        answer = self.daemon.post_usage("\n".join([
            event("sep-1", "4.5", "2026-09-10T08:00:00Z"),   # still a duplicate
            event("sep-2", "1.25", "2026-09-10T20:00:00Z"),  # same daily line
        ]))
        self.assertEqual((answer["accepted"], answer["duplicates"]), (1, 1), answer)
        lines = self.september_lines()["lines"]
        self.assertEqual(len(lines), 1, lines)
        self.assertEqual(lines[0]["quantity"], "5.750000000")
        self.assertEqual(self.cache("ledgers"), november_ledgers + 1)
        self.wait_for_ledgers(november_ledgers)

        # And across a restart the month's line is what was acknowledged.
        self.daemon.stop()
        self.daemon.start()
        self.assertEqual(self.september_lines()["lines"][0]["quantity"], "5.750000000")


if __name__ == "__main__":
    unittest.main()
