"""The write journal (docs/storage.md): identities and lines reach LMDB as journal records first
and are folded into their B-trees later. Everything a partner reads must already hold while the
journal is *not* folded: the daemon here runs with folding put off for a minute
(--fold-interval/--fold-idle-delay 60s), so only the barriers of exports and re-rating, a
restart, or a clean stop fold it. The example scenarios and the reference-change scenarios run
again in that mode, and a kill -9 with a full journal loses and double-counts nothing."""

import json
import unittest

import test_examples
import test_reference_changes
from harness import DaemonTestCase

NO_FOLD = ("--fold-interval", "60s", "--fold-idle-delay", "60s")
CUSTOMER = "c0ffee00-0000-4000-8000-000000000001"
E1 = "e1000000-0000-4000-8000-000000000001"
VM_METER = "0a3c6e2a-6d1f-4c55-9a43-5f1c2b7d9e01"
URI = (f"/subscriptions/{E1}/resourceGroups/journal/providers/"
       "Microsoft.Compute/virtualMachines/j-1")
MONTH = "2026-11"


class UnfoldedDaemon:
    """Starts every daemon of the test with the fold put off."""

    def start_daemon(self, name="d", **kwargs):
        kwargs["extra_args"] = tuple(kwargs.get("extra_args", ())) + NO_FOLD
        return super().start_daemon(name, **kwargs)


class BasicExampleUnfolded(UnfoldedDaemon, test_examples.BasicExample):
    pass


class TiersAndPecExampleUnfolded(UnfoldedDaemon, test_examples.TiersAndPecExample):
    pass


class CurrenciesExampleUnfolded(UnfoldedDaemon, test_examples.CurrenciesExample):
    pass


class ReferenceChangesUnfolded(UnfoldedDaemon, test_reference_changes.ReferenceChanges):
    pass


def event(event_id, quantity, hour):
    return json.dumps({"id": event_id, "entitlement_id": E1, "meter_id": VM_METER,
                       "resource_uri": URI, "quantity": quantity,
                       "timestamp": f"2026-11-19T{hour:02d}:00:00Z"})


class Journal(UnfoldedDaemon, DaemonTestCase):

    def setUp(self):
        super().setUp()
        self.daemon = self.start_daemon()
        self.daemon.load_reference("basic")

    def lag(self):
        return self.daemon.metric("meterd_storage_fold_lag_transactions")

    def journal_line(self):
        lines = self.daemon.get_all(f"/v1/customers/{CUSTOMER}/lines?month={MONTH}", "lines")
        return [l for l in lines if l["resource_uri"].lower() == URI.lower()]

    def test_unfolded_usage_is_deduplicated_and_read_and_a_kill_loses_none_of_it(self):
        body = "\n".join(event(f"j-{i}", "1.5", i) for i in range(10))
        answer = self.daemon.post_usage(body)
        self.assertEqual((answer["accepted"], answer["duplicates"]), (10, 0), answer)
        self.assertGreater(self.lag(), 0, "the journal should not be folded in this mode")
        # Dedupe sees identities that are only in the journal.
        answer = self.daemon.post_usage(body)
        self.assertEqual((answer["accepted"], answer["duplicates"]), (0, 10), answer)
        # Lines read through the journal: one daily line of 15.
        line = self.journal_line()
        self.assertEqual([l["quantity"] for l in line], ["15.000000000"], line)
        spend = self.daemon.get_json(f"/v1/customers/{CUSTOMER}/spend?month={MONTH}")
        self.assertGreater(self.lag(), 0, "reads must not need a fold")

        # kill -9 with everything still in the journal: the restart folds it first.
        self.daemon.kill()
        self.daemon.start()
        self.assertEqual(self.lag(), 0)
        answer = self.daemon.post_usage(body)
        self.assertEqual((answer["accepted"], answer["duplicates"]), (0, 10), answer)
        self.assertEqual([l["quantity"] for l in self.journal_line()], ["15.000000000"])
        after = self.daemon.get_json(f"/v1/customers/{CUSTOMER}/spend?month={MONTH}")
        for field in ("list", "billed", "list_usd", "billed_usd"):
            self.assertEqual(after[field], spend[field], field)

        # More usage on the same line after the restart, then a clean stop: it folds too.
        answer = self.daemon.post_usage(event("j-late", "0.25", 23))
        self.assertEqual(answer["accepted"], 1, answer)
        self.daemon.stop()
        self.daemon.start()
        self.assertEqual([l["quantity"] for l in self.journal_line()], ["15.250000000"])

    def test_an_export_folds_the_journal_first_and_holds_every_acknowledged_line(self):
        answer = self.daemon.post_usage("\n".join(event(f"x-{i}", "2", i) for i in range(4)))
        self.assertEqual(answer["accepted"], 4, answer)
        self.assertGreater(self.lag(), 0)
        before = self.daemon.metric("meterd_storage_fold_barriers_total")
        r = self.daemon.get(f"/v1/exports/daily?month={MONTH}")
        self.assertStatus(r, 200, "daily export")
        rows = [row for row in r.body.decode().splitlines() if URI.lower() in row.lower()]
        self.assertEqual(len(rows), 1, rows)
        self.assertIn("8.000000000", rows[0])
        self.assertEqual(self.lag(), 0)
        self.assertEqual(self.daemon.metric("meterd_storage_fold_barriers_total"), before + 1)


if __name__ == "__main__":
    unittest.main()
