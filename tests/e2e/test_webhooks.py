"""Webhook deliveries: Standard Webhooks signatures, retries after 5xx, 410 disabling, private
address refusal, and exactly one delivery after a kill -9 between commit and delivery."""

import base64
import hashlib
import hmac
import http.server
import json
import threading
import time
import unittest

from harness import ADMIN, NO_TOKEN, DaemonTestCase, EXAMPLES_DIR

PARTNER = "7d3f1c2a-0000-4000-8000-000000000001"
CUSTOMER = "c0ffee00-0000-4000-8000-000000000001"


class Receiver:
    """An HTTP receiver on 127.0.0.1:0 that records deliveries and answers from a script."""

    def __init__(self, port=0):
        self.lock = threading.Lock()
        self.deliveries = []  # (received_monotonic, headers, body, answered_status)
        self.statuses = []    # answers to give, in order; then `default`
        self.default = 200
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with receiver.lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else receiver.default
                    receiver.deliveries.append((time.monotonic(), {k.lower(): v for k, v in self.headers.items()}, body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/meterd"

    def close(self):
        if self.server is None:
            return
        self.server.shutdown()
        self.server.server_close()
        self.server = None

    def wait_for(self, predicate, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if predicate(list(self.deliveries)):
                    return list(self.deliveries)
            time.sleep(0.01)
        with self.lock:
            return list(self.deliveries)


def verify(secret, headers, body):
    key = base64.b64decode(secret[len("whsec_"):])
    msg = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(expected, s) for s in headers["webhook-signature"].split(" "))


class WebhookTestCase(DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.receiver = Receiver()
        self.addCleanup(self.receiver.close)

    def start(self, **extra):
        args = ["--webhook-allow-private", "--webhook-retry-initial", extra.pop("retry", "50ms")]
        return self.start_daemon(extra_args=args)

    def setup_basic(self, d):
        d.load_reference("basic")
        _, token = d.create_token("partner", partner_id=PARTNER)
        return token

    def put_hook(self, d, token, hook_id="h1", kinds=None):
        body = {"url": self.receiver.url}
        if kinds is not None:
            body["kinds"] = kinds
        r = d.request("PUT", f"/v1/webhooks/{hook_id}", body, token=token)
        self.assertEqual(r.status, 201, r)
        doc = r.json()
        self.assertTrue(doc["secret"].startswith("whsec_"), doc)
        return doc["secret"]

    def post_basic_usage(self, d):
        return d.post_usage((EXAMPLES_DIR / "basic" / "usage.ndjson").read_bytes())


class Deliveries(WebhookTestCase):
    def test_each_alert_is_delivered_signed_with_the_alert_id_soon_after_the_commit(self):
        d = self.start()
        token = self.setup_basic(d)
        secret = self.put_hook(d, token)
        self.post_basic_usage(d)
        answered = time.monotonic()
        alerts, _ = d.all_alerts(token=token)
        self.assertEqual(len(alerts), 3, alerts)
        got = self.receiver.wait_for(lambda ds: len(ds) >= 3)
        self.assertEqual(len(got), 3)
        self.assertEqual([json.loads(b)["id"] for _, _, b, _ in got], [a["id"] for a in alerts])
        for received, headers, body, _ in got:
            self.assertEqual(headers["webhook-id"], json.loads(body)["id"])
            self.assertTrue(verify(secret, headers, body), headers)
            self.assertEqual(json.loads(body), next(a for a in alerts if a["id"] == headers["webhook-id"]))
        # Delivered well within a second of the answer to the ingest request.
        self.assertLess(got[0][0] - answered, 1.0)

    def test_a_receiver_answering_500_sees_retries_of_the_same_webhook_id(self):
        d = self.start()
        token = self.setup_basic(d)
        secret = self.put_hook(d, token, kinds=["budget_actual"])
        self.receiver.statuses = [500, 503]
        self.post_basic_usage(d)
        got = self.receiver.wait_for(lambda ds: sum(1 for *_, s in ds if s == 200) >= 2)
        first_id = got[0][1]["webhook-id"]
        self.assertEqual([h["webhook-id"] for _, h, _, _ in got[:3]], [first_id] * 3)
        self.assertEqual([s for *_, s in got[:3]], [500, 503, 200])
        for _, headers, body, _ in got:
            self.assertTrue(verify(secret, headers, body))
            self.assertEqual(json.loads(body)["kind"], "budget_actual")
        # The check is not vacuous: another secret, or a changed body, does not verify.
        other = "whsec_" + base64.b64encode(b"\x01" * 24).decode()
        self.assertFalse(verify(other, got[0][1], got[0][2]))
        self.assertFalse(verify(secret, got[0][1], got[0][2] + b" "))
        # Exponential back-off with equal jitter from 50 ms: at least 25 ms, then 50 ms. The
        # daemon times the wait from the failed answer, which comes after this receiver saw the
        # request arrive; 1 ms of slack for the daemon's wall clock against this monotonic one.
        self.assertGreaterEqual(got[1][0] - got[0][0], 0.024)
        self.assertGreaterEqual(got[2][0] - got[1][0], 0.049)
        # Operators see the same in the delivery metrics.
        text = d.get("/metrics", token=NO_TOKEN).body.decode()
        self.assertIn('meterd_webhook_deliveries_total{result="failed"} 2', text)
        self.assertRegex(text, r'meterd_webhook_deliveries_total\{result="delivered"\} [1-9]')

    def test_an_anomaly_alert_is_delivered_like_the_budget_ones(self):
        d = self.start()
        token = self.setup_basic(d)
        secret = self.put_hook(d, token, kinds=["anomaly"])
        ent = "e1000000-0000-4000-8000-000000000001"
        vm = "0a3c6e2a-6d1f-4c55-9a43-5f1c2b7d9e01"
        lines = []
        # 110 VM hours a day (10.56 USD) from 11-06 to 11-19, then 400 (38.40 USD) on 11-20.
        for i, day in enumerate(list(range(6, 20)) + [20]):
            lines.append(json.dumps({
                "id": f"an{i}", "entitlement_id": ent, "meter_id": vm,
                "resource_uri": f"/subscriptions/{ent}/resourceGroups/web/providers/"
                                "Microsoft.Compute/virtualMachines/web-1",
                "quantity": "400" if day == 20 else "110",
                "timestamp": f"2026-11-{day:02d}T08:00:00Z"}))
        d.post_usage("\n".join(lines[:-1]) + "\n")
        d.post_usage(lines[-1] + "\n")
        alerts, _ = d.all_alerts(token=token)
        anomalies = [a for a in alerts if a["kind"] == "anomaly"]
        self.assertEqual([(a["date"], a["spend"]) for a in anomalies],
                         [("2026-11-20", "38.400000000")])
        got = self.receiver.wait_for(lambda ds: len(ds) >= 1)
        time.sleep(0.3)
        got = list(self.receiver.deliveries)
        self.assertEqual(len(got), 1, got)
        _, headers, body, _ = got[0]
        self.assertTrue(verify(secret, headers, body))
        self.assertEqual(json.loads(body), anomalies[0])

    def test_410_gone_disables_the_endpoint(self):
        d = self.start()
        token = self.setup_basic(d)
        self.put_hook(d, token)
        self.receiver.default = 410
        self.post_basic_usage(d)
        self.receiver.wait_for(lambda ds: len(ds) >= 1)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            hook = d.get_json("/v1/webhooks/h1", token=token)
            if hook["disabled"]:
                break
            time.sleep(0.05)
        self.assertTrue(hook["disabled"], hook)
        time.sleep(0.3)
        self.assertEqual(len(self.receiver.deliveries), 1)

    def test_private_targets_are_refused_unless_allowed(self):
        d = self.start_daemon(name="strict")
        token = self.setup_basic(d)
        r = d.request("PUT", "/v1/webhooks/h1", {"url": self.receiver.url}, token=token)
        self.assertEqual(r.status, 422, r)

    def test_webhooks_belong_to_their_partner(self):
        d = self.start()
        token = self.setup_basic(d)
        self.put_hook(d, token)
        d.request("PUT", "/v1/partners/other", {"partner_id": "other", "name": "Other",
                                               "mpn_id": "9999999", "kind": "direct"})
        _, other = d.create_token("partner", partner_id="other")
        self.assertEqual(d.get("/v1/webhooks/h1", token=other).status, 404)
        self.assertEqual(d.request("DELETE", "/v1/webhooks/h1", token=other).status, 404)
        _, ingest = d.create_token("ingest")
        self.assertEqual(d.get("/v1/webhooks/h1", token=ingest).status, 403)


class CommitsDuringDeliveries(WebhookTestCase):
    def test_alert_commits_while_deliveries_are_recorded_neither_block_nor_lose_one(self):
        # Each delivery records its cursor with a storage commit; each commit carrying alerts
        # wakes the delivery thread from the storage writer. Both at once used to deadlock (the
        # recording held the lock the wake-up needed while waiting for the writer).
        d = self.start()
        n = 150
        ref = []
        for i in range(n):
            c = f"c0ffee00-0000-4000-8000-1{i:011d}"
            ref.append({"type": "customer", "customer_id": c, "name": f"C{i}",
                        "domain": f"c{i}.example", "country": "US", "partner_id": PARTNER})
            ref.append({"type": "entitlement", "entitlement_id": f"e{i:035d}",
                        "customer_id": c, "description": "Azure plan", "offer": "azure_plan",
                        "created_at": "2026-01-01T00:00:00Z", "aobo": True})
        token = self.setup_basic(d)
        r = d.request("POST", "/v1/reference", "\n".join(json.dumps(o) for o in ref) + "\n",
                      content_type="application/x-ndjson")
        self.assertEqual(r.status, 200, r)
        r = d.request("POST", "/v1/budgets:batchSet",
                      {"customer_ids": [o["customer_id"] for o in ref[::2]], "amount": "0.01",
                       "thresholds": [50], "forecast_thresholds": []})
        self.assertEqual(r.status, 200, r)
        self.put_hook(d, token, kinds=["budget_actual"])
        vm = "0a3c6e2a-6d1f-4c55-9a43-5f1c2b7d9e01"
        for i in range(n):
            ev = {"id": f"x{i}", "entitlement_id": f"e{i:035d}", "meter_id": vm,
                  "resource_uri": f"/subscriptions/e{i:035d}/resourceGroups/r/providers/"
                                  "Microsoft.Compute/virtualMachines/vm",
                  "quantity": "1", "timestamp": "2026-11-19T12:00:00Z"}
            r = d.request("POST", "/v1/usage", json.dumps(ev) + "\n",
                          content_type="application/x-ndjson", timeout=10)
            self.assertEqual(r.status, 200, f"event {i}: {r!r}")
        got = self.receiver.wait_for(lambda ds: len(ds) >= n, timeout=30)
        alerts, _ = d.all_alerts(token=token)
        self.assertEqual(len(alerts), n)
        self.assertEqual([h["webhook-id"] for _, h, _, _ in got], [a["id"] for a in alerts])


class CrashBetweenCommitAndDelivery(WebhookTestCase):
    def test_kill_9_while_the_receiver_is_down_gives_exactly_one_delivery_each_after_restart(self):
        d = self.start()
        token = self.setup_basic(d)
        secret = self.put_hook(d, token)
        port = self.receiver.server.server_address[1]
        self.receiver.close()  # nothing listens: every attempt fails before reaching anyone
        self.post_basic_usage(d)
        alerts, _ = d.all_alerts(token=token)
        self.assertEqual(len(alerts), 3, alerts)
        time.sleep(0.2)  # a few failed attempts (connection refused) are made and recorded
        d.kill()
        self.receiver = Receiver(port=port)
        self.addCleanup(self.receiver.close)
        d.start()
        got = self.receiver.wait_for(lambda ds: len(ds) >= 3)
        time.sleep(0.5)  # anything more would be a duplicate
        got = list(self.receiver.deliveries)
        self.assertEqual([h["webhook-id"] for _, h, _, _ in got], [a["id"] for a in alerts])
        for _, headers, body, _ in got:
            self.assertTrue(verify(secret, headers, body))

    def test_kill_9_before_delivery_gives_exactly_one_delivery_after_restart(self):
        d = self.start(retry="1h")
        token = self.setup_basic(d)
        secret = self.put_hook(d, token, kinds=["budget_forecast"])
        self.receiver.default = 500  # the first attempt fails; the retry is an hour away
        self.post_basic_usage(d)
        self.receiver.wait_for(lambda ds: len(ds) >= 1)
        d.kill()
        self.receiver.default = 200
        failed = list(self.receiver.deliveries)
        self.assertEqual([s for *_, s in failed], [500])
        hook_id = failed[0][1]["webhook-id"]
        d.start()
        # After the restart the next attempt is still an hour away (the back-off is durable):
        # move it by re-putting the endpoint, which resets the retry clock but not the cursor.
        r = d.request("PUT", "/v1/webhooks/h1", {"url": self.receiver.url, "secret": secret,
                                                 "kinds": ["budget_forecast"]}, token=token)
        self.assertEqual(r.status, 200, r)
        got = self.receiver.wait_for(lambda ds: len(ds) >= 2)
        time.sleep(0.5)
        got = list(self.receiver.deliveries)
        self.assertEqual(len(got), 2, got)
        self.assertEqual(got[1][1]["webhook-id"], hook_id)
        self.assertEqual(got[1][3], 200)
        self.assertTrue(verify(secret, got[1][1], got[1][2]))


if __name__ == "__main__":
    unittest.main()
