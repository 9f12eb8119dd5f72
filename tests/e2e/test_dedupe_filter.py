"""The dedupe filter (daemon/core/identity_filter.h, docs/storage.md): new identities are
answered by an in-memory filter built from the store, not by a look-up in the events tree. A
filter may err only towards "maybe", so whatever it answers, no acknowledged event may count
twice. Here the first filter holds 1,500 identities, so a few thousand events force several
rebuilds (doublings of the full filter, and scans of the store) while events are re-sent, around a kill -9, and with the journal unfolded (the builder
must read identities that are only in the journal)."""

import http.client
import json
import threading
import time
import unittest
from decimal import Decimal

from harness import DaemonTestCase

SMALL_FILTER = ("--dedupe-filter-initial-keys", "1500")
NO_FOLD = ("--fold-interval", "60s", "--fold-idle-delay", "60s")
E1 = "e1000000-0000-4000-8000-000000000001"
VM_METER = "0a3c6e2a-6d1f-4c55-9a43-5f1c2b7d9e01"
URI = (f"/subscriptions/{E1}/resourceGroups/filter/providers/"
       "Microsoft.Compute/virtualMachines/f-1")


def batch(first, count):
    return "\n".join(json.dumps({
        "id": f"ev-{i:07d}", "entitlement_id": E1, "meter_id": VM_METER, "resource_uri": URI,
        "quantity": "1", "timestamp": f"2026-11-19T{i % 24:02d}:00:00Z"})
        for i in range(first, first + count))


class DedupeFilter(DaemonTestCase):
    EXTRA = ()

    def setUp(self):
        super().setUp()
        self.daemon = self.start_daemon(extra_args=SMALL_FILTER + self.EXTRA)
        self.daemon.load_reference("basic")

    def post(self, first, count):
        answer = self.daemon.post_usage(batch(first, count))
        return answer["accepted"], answer["duplicates"]

    def lookups(self, by):
        return self.daemon.metric("meterd_dedupe_lookups_total", answered_by=by)

    def builds(self, result=None):
        """Filters made: from the store ("built"), by doubling the last ("doubled"), or both."""
        if result:
            return self.daemon.metric("meterd_dedupe_filter_builds_total", result=result)
        return self.builds("built") + self.builds("doubled")

    def wait_for_builds(self, at_least):
        for _ in range(200):
            if self.builds() >= at_least:
                return
            time.sleep(0.05)
        self.fail(f"dedupe filter builds stayed below {at_least}: {self.builds()}")

    def test_no_event_counts_twice_across_rebuilds_resends_and_a_kill(self):
        self.wait_for_builds(1)
        sent = 0
        for round_ in range(8):
            # 1,000 new events, then the previous round's 1,000 again, then an overlap of both.
            self.assertEqual(self.post(sent, 1000), (1000, 0), f"round {round_}")
            if sent:
                self.assertEqual(self.post(sent - 1000, 1000), (0, 1000), f"round {round_}")
            self.assertEqual(self.post(max(0, sent - 300), 600), (0, 600), f"round {round_}")
            sent += 1000
        # 8,000 identities through a first filter of 1,500: grown at least twice, by doubling
        # the full filter and by the scan of the store that follows a doubling.
        self.wait_for_builds(3)
        self.assertGreaterEqual(self.builds("doubled"), 1)
        self.assertGreaterEqual(self.builds("built"), 2)
        self.assertGreater(self.lookups("filter"), 0, "new identities should skip the store")
        self.assertLessEqual(self.daemon.metric("meterd_dedupe_filter_false_positives_total"),
                             self.lookups("store"))
        # Each rebuild sizes for twice the identities stored when it began (at least 1,500).
        capacity = self.daemon.metric("meterd_dedupe_filter_capacity")
        self.assertGreaterEqual(capacity, 2 * 1500, "rebuilt larger")

        # Everything again, in other batch sizes, while the filter may be rebuilding.
        for first in range(0, sent, 1700):
            count = min(1700, sent - first)
            self.assertEqual(self.post(first, count), (0, count))

        # kill -9: the restarted daemon answers from the store until its first filter is
        # built, then from the filter; either way every event is a duplicate.
        self.daemon.kill()
        self.daemon.start()
        self.assertEqual(self.post(0, sent), (0, sent))
        self.wait_for_builds(1)
        self.assertEqual(self.post(0, sent), (0, sent))
        self.assertEqual(self.post(sent, 10), (10, 0))
        quantity = sum(Decimal(l["quantity"]) for l in self.daemon.get_all(
            "/v1/customers/c0ffee00-0000-4000-8000-000000000001/lines?month=2026-11", "lines")
            if l["resource_uri"].lower() == URI.lower())
        self.assertEqual(quantity, sent + 10)

    def test_identities_accepted_while_a_filter_is_built_reach_it(self):
        # Four feeds at once through a filter rebuilt every few thousand identities: many
        # builds overlap ingest. Then, with every identity folded into the store (and gone from
        # the shards' in-flight set), all of it again: only the filter or the store can tell.
        def feed(k):
            conn = http.client.HTTPConnection("127.0.0.1", self.daemon.port, timeout=60)
            try:
                for j in range(12):
                    first = (k * 12 + j) * 400
                    conn.request("POST", "/v1/usage", body=batch(first, 400).encode(), headers={
                        "Authorization": f"Bearer {self.daemon.admin_token}",
                        "Content-Type": "application/x-ndjson"})
                    r = conn.getresponse()
                    answer = json.loads(r.read())
                    got = (r.status, answer.get("accepted"), answer.get("duplicates"))
                    if got != (200, 400, 0):
                        errors.append((first, got))
            except Exception as e:  # the main thread reports it
                errors.append((k, repr(e)))
            finally:
                conn.close()
        errors = []
        threads = [threading.Thread(target=feed, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        sent = 4 * 12 * 400
        self.assertGreaterEqual(self.builds(), 3)
        if not self.EXTRA:
            for _ in range(200):
                if self.daemon.metric("meterd_storage_fold_lag_transactions") == 0:
                    break
                time.sleep(0.05)
        for first in range(0, sent, 2500):
            count = min(2500, sent - first)
            self.assertEqual(self.post(first, count), (0, count), f"from {first}")

    def test_the_filter_is_off_with_a_zero_budget_and_dedupe_still_holds(self):
        self.daemon.stop()
        self.daemon.extra_args += ["--dedupe-filter-max", "0"]
        self.daemon.start()
        self.assertEqual(self.post(0, 500), (500, 0))
        self.assertEqual(self.post(0, 500), (0, 500))
        self.assertEqual(self.builds(), 0)
        self.assertEqual(self.lookups("filter"), 0)
        # The new identities were all looked up in the store (the re-sent ones may be answered
        # by the shards' in-flight set instead, while their journal is unfolded).
        self.assertGreaterEqual(self.lookups("store"), 500)


class DedupeFilterOverUnfoldedJournal(DedupeFilter):
    """The same with folding put off: the identities live only in the journal."""
    EXTRA = NO_FOLD


if __name__ == "__main__":
    unittest.main()
