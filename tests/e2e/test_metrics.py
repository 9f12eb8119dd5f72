"""What an operator's dashboard reads moves with what the daemon does: daily lines written by
status and unrated reason, the shards' cached ledgers and lines, the memory split."""

import json
import re
import time
import unittest

from harness import DaemonTestCase, metric_value

E1 = "e1000000-0000-4000-8000-000000000001"
VM_METER = "0a3c6e2a-6d1f-4c55-9a43-5f1c2b7d9e01"
UNPRICED_METER = "99999999-0000-4000-8000-000000000009"
UNKNOWN_ENT = "eeeeeeee-0000-4000-8000-00000000000e"


def event(event_id, entitlement, meter, vm):
    return json.dumps({
        "id": event_id, "entitlement_id": entitlement, "meter_id": meter,
        "resource_uri": f"/subscriptions/{entitlement}/resourceGroups/m/providers/"
                        f"Microsoft.Compute/virtualMachines/{vm}",
        "quantity": "2", "timestamp": "2026-11-19T10:00:00Z"})


class OperatorMetrics(DaemonTestCase):

    def setUp(self):
        super().setUp()
        self.daemon = self.start_daemon()
        self.daemon.load_example("basic")

    def metrics(self):
        return self.daemon.metrics_text()

    def value(self, text, name, **labels):
        value = metric_value(text, name, **labels)
        self.assertIsNotNone(value, f"{name}{labels} missing")
        return value

    def line_writes(self, text):
        return {reason: self.value(text, "meterd_line_writes_total",
                                   status="rated" if reason == "" else "unrated", reason=reason)
                for reason in ("", "unknown_entitlement", "unpriced", "fx_missing", "overflow")}

    def test_line_writes_count_each_status_and_reason(self):
        before_text = self.metrics()
        before = self.line_writes(before_text)
        lines_before = self.value(before_text, "meterd_cache_entries", kind="lines")
        answer = self.daemon.post_usage("\n".join([
            event("m-1", E1, VM_METER, "metrics-vm"),        # a new rated line
            event("m-2", E1, UNPRICED_METER, "metrics-vm"),  # no price row: unpriced
            event("m-3", UNKNOWN_ENT, VM_METER, "x"),        # unknown entitlement: kept aside
        ]))
        self.assertEqual((answer["accepted"], answer["duplicates"], answer["rejected"]),
                         (3, 0, 0), answer)
        after_text = self.metrics()
        after = self.line_writes(after_text)
        delta = {k: after[k] - before[k] for k in after}
        self.assertEqual(delta, {"": 1, "unknown_entitlement": 1, "unpriced": 1, "fx_missing": 0,
                                 "overflow": 0})
        # The two lines of a known customer are now held by its shard; the unknown one is not.
        self.assertEqual(self.value(after_text, "meterd_cache_entries", kind="lines"),
                         lines_before + 2)
        # A duplicate writes nothing.
        self.daemon.post_usage(event("m-1", E1, VM_METER, "metrics-vm"))
        final = self.metrics()
        self.assertEqual(self.line_writes(final), after)
        # Request sizes: the three-event request and the one-event one, in their buckets.
        self.assertEqual(self.value(final, "meterd_usage_request_events_count")
                         - self.value(before_text, "meterd_usage_request_events_count"), 2)
        self.assertEqual(self.value(final, "meterd_usage_request_events_sum")
                         - self.value(before_text, "meterd_usage_request_events_sum"), 4)
        self.assertEqual(self.value(final, "meterd_usage_request_events_bucket", le="1")
                         - self.value(before_text, "meterd_usage_request_events_bucket", le="1"), 1)
        # Answered requests leave nothing queued.
        self.assertEqual(self.value(final, "meterd_ingest_queue_depth", stage="parse"), 0)
        self.assertEqual(self.value(final, "meterd_ingest_queue_depth", stage="shards"), 0)

    def test_storage_and_build_metrics_follow_commits(self):
        before = self.metrics()
        self.daemon.post_usage(event("s-1", E1, VM_METER, "storage-vm"))
        after = self.metrics()
        for name in ("meterd_storage_commits_total", "meterd_storage_commit_seconds_count",
                     "meterd_storage_batch_seconds_count", "meterd_storage_batch_jobs_count"):
            self.assertGreaterEqual(self.value(after, name) - self.value(before, name), 1, name)
        self.assertGreater(self.value(after, "meterd_storage_commit_seconds_sum"),
                           self.value(before, "meterd_storage_commit_seconds_sum"))
        self.assertEqual(self.value(after, "meterd_storage_queue_depth"), 0)
        self.assertEqual(self.value(after, "meterd_storage_map_full_total"), 0)
        self.assertGreater(self.value(after, "meterd_storage_map_bytes", kind="used"), 0)
        # The idle writer folds the journal by itself within milliseconds.
        deadline = time.monotonic() + 10
        while True:
            folded = self.metrics()
            if self.value(folded, "meterd_storage_fold_lag_transactions") == 0:
                break
            self.assertLess(time.monotonic(), deadline, "the idle daemon never folded its journal")
            time.sleep(0.02)
        self.assertGreaterEqual(self.value(folded, "meterd_storage_fold_windows_total")
                                - self.value(before, "meterd_storage_fold_windows_total"), 1)
        self.assertGreaterEqual(self.value(folded, "meterd_storage_fold_writes_total")
                                - self.value(before, "meterd_storage_fold_writes_total"), 2)
        self.assertGreaterEqual(self.value(folded, "meterd_storage_fold_records_total")
                                - self.value(before, "meterd_storage_fold_records_total"), 1)
        m = re.search(r'^meterd_build_info\{version="([^"]+)"\} 1$', after, re.MULTILINE)
        self.assertIsNotNone(m, "meterd_build_info{version} 1 missing")

    def test_memory_split_and_heap_are_reported(self):
        text = self.metrics()
        anon = self.value(text, "meterd_process_resident_memory_split_bytes", kind="anon")
        file = self.value(text, "meterd_process_resident_memory_split_bytes", kind="file")
        self.assertGreater(anon, 0)
        self.assertGreater(file, 0)
        self.assertLessEqual(anon + file, self.value(text, "meterd_process_resident_memory_bytes")
                             * 1.5)
        in_use = self.value(text, "meterd_process_heap_bytes", kind="in_use")
        self.assertGreater(in_use, 0)
        self.assertGreaterEqual(self.value(text, "meterd_process_heap_bytes", kind="held"), in_use)


if __name__ == "__main__":
    unittest.main()
