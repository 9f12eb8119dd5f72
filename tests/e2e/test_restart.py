"""Durability of the real daemon: after kill -9 or SIGTERM, a restart on the same data directory
answers exactly what it answered before (lines, spend, alerts, tokens, dedupe identities), and
every acknowledged event counts exactly once even when the crash comes mid-stream."""

import http.client
import json
import threading
import time
import unittest
from decimal import Decimal

from harness import DaemonTestCase, example

CUSTOMER = "c0ffee00-0000-4000-8000-000000000001"
E1 = "e1000000-0000-4000-8000-000000000001"
VM_METER = "0a3c6e2a-6d1f-4c55-9a43-5f1c2b7d9e01"
MONTH = "2026-11"


def snapshot(daemon):
    """The answers a restart must reproduce byte for byte."""
    paths = [f"/v1/customers/{CUSTOMER}/spend?month={MONTH}",
             f"/v1/customers/{CUSTOMER}/lines?month={MONTH}",
             f"/v1/customers/{CUSTOMER}/budget",
             f"/v1/spend?month={MONTH}",
             "/v1/customers",
             "/v1/alerts?limit=1000"]
    out = {}
    for p in paths:
        r = daemon.get(p)
        assert r.status == 200, (p, r)
        out[p] = r.body
    return out


def crash_event(i):
    return json.dumps({
        "id": f"crash-{i:06d}", "entitlement_id": E1, "meter_id": VM_METER,
        "resource_uri": f"/subscriptions/{E1}/resourceGroups/load/providers/"
                        f"Microsoft.Compute/virtualMachines/vm-{i % 7}",
        "quantity": "1.25", "timestamp": f"2026-11-{10 + i % 9:02d}T{i % 24:02d}:00:00Z",
    })


class RestartAfterKill(DaemonTestCase):

    def setUp(self):
        super().setUp()
        self.daemon = self.start_daemon()
        answer = self.daemon.load_example("basic")
        self.assertEqual((answer["accepted"], answer["duplicates"]), (7, 2), answer)

    def test_kill_9_then_restart_answers_identical_lines_spend_and_alerts(self):
        before = snapshot(self.daemon)
        self.daemon.kill()
        self.daemon.start()
        after = snapshot(self.daemon)
        for path in before:
            self.assertEqual(after[path], before[path], f"GET {path} changed across kill -9")

    def test_the_same_usage_posted_after_a_crash_is_all_duplicates_and_raises_no_alert(self):
        alerts_before, cursor = self.daemon.all_alerts()
        spend_path = f"/v1/customers/{CUSTOMER}/spend?month={MONTH}"
        spend_before = self.daemon.get(spend_path).body
        self.daemon.kill()
        self.daemon.start()

        answer = self.daemon.post_usage(example("basic", "usage.ndjson"))
        self.assertEqual((answer["accepted"], answer["duplicates"], answer["rejected"]),
                         (0, 9, 0), answer)
        self.assertEqual(self.daemon.get(spend_path).body, spend_before)
        alerts_after, _ = self.daemon.all_alerts()
        self.assertEqual(alerts_after, alerts_before, "alerts must survive unchanged")
        newer, _ = self.daemon.all_alerts(after=cursor)
        self.assertEqual(newer, [], "no alert may fire twice across a restart")

    def test_tokens_issued_before_a_crash_still_work_and_revoked_ones_stay_revoked(self):
        _, kept = self.daemon.create_token("partner",
                                           partner_id="7d3f1c2a-0000-4000-8000-000000000001")
        revoked_id, revoked = self.daemon.create_token("ingest")
        self.assertStatus(self.daemon.request("DELETE", f"/v1/tokens/{revoked_id}"), 204)
        self.daemon.kill()
        self.daemon.start()
        self.assertStatus(self.daemon.get(f"/v1/customers/{CUSTOMER}/spend", token=kept), 200)
        self.assertProblem(self.daemon.request("POST", "/v1/usage", b"", token=revoked,
                                               content_type="application/x-ndjson"), 401)

    def test_sigterm_exits_zero_and_the_restart_keeps_everything(self):
        before = snapshot(self.daemon)
        self.assertEqual(self.daemon.stop(), 0, "a graceful SIGTERM must exit 0:\n"
                         + self.daemon.log_tail())
        self.daemon.start()
        after = snapshot(self.daemon)
        for path in before:
            self.assertEqual(after[path], before[path], f"GET {path} changed across SIGTERM")
        self.assertEqual(self.daemon.stop(), 0)

    def test_every_acknowledged_event_counts_exactly_once_after_a_kill_mid_stream(self):
        batch_size, batches = 40, 60
        bodies = [("\n".join(crash_event(b * batch_size + i) for i in range(batch_size)) + "\n")
                  .encode() for b in range(batches)]
        acked = []  # batch numbers whose answer arrived
        stop = threading.Event()

        def feed():
            # Its own connections: the Daemon's kept-alive one belongs to the test thread.
            for b, body in enumerate(bodies):
                if stop.is_set():
                    return
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    conn.request("POST", "/v1/usage", body=body, headers={
                        "Authorization": f"Bearer {token}",
                        "Content-Type": "application/x-ndjson"})
                    resp = conn.getresponse()
                    doc = json.loads(resp.read())
                    conn.close()
                except OSError:
                    return
                if resp.status == 200 and doc["accepted"] == batch_size:
                    acked.append(b)

        port, token = self.daemon.port, self.daemon.admin_token
        feeder = threading.Thread(target=feed)
        feeder.start()
        deadline = time.monotonic() + 30
        while len(acked) < batches // 3 and time.monotonic() < deadline and feeder.is_alive():
            time.sleep(0.005)
        self.daemon.kill()
        stop.set()
        feeder.join(30)
        self.assertGreater(len(acked), 0, "no batch was acknowledged before the kill")
        self.assertLess(len(acked), batches, "the kill came after the whole stream")

        self.daemon.start()
        for b, body in enumerate(bodies):
            answer = self.daemon.post_usage(body)
            self.assertEqual(answer["rejected"], 0, answer)
            self.assertEqual(answer["accepted"] + answer["duplicates"], batch_size, answer)
            if b in acked:
                self.assertEqual(answer["duplicates"], batch_size,
                                 f"batch {b} was acknowledged before the crash but is not "
                                 f"fully stored: {answer}")
        # Now every event is stored; each must count exactly once in the VM lines.
        lines = self.daemon.get_all(f"/v1/customers/{CUSTOMER}/lines?month={MONTH}", "lines")
        load = [line for line in lines if "/resourcegroups/load/" in line["resource_uri"]]
        total = sum(Decimal(line["quantity"]) for line in load)
        self.assertEqual(total, Decimal("1.25") * batch_size * batches)
        spend = self.daemon.get_json(f"/v1/customers/{CUSTOMER}/spend?month={MONTH}")
        self.assertEqual(Decimal(spend["list_usd"]),
                         Decimal("2.932000030") + Decimal("1.25") * batch_size * batches
                         * Decimal("0.096"))


if __name__ == "__main__":
    unittest.main()
