"""Limits and token handling of the real daemon (issue #6, Build points 1 and 2): every limit is
set from the command line to a small value, hit exactly at its boundary, answered as
docs/operations.md and docs/errors.md say, and counted in /metrics; a slow client cannot hold
the (single) I/O thread; tokens are stored only as SHA-256 hashes, the bootstrap admin token
file is mode 0600, and a revocation is effective at once on every connection and after a
restart.

The server's unit tests (tests/daemon/http/server_test.cc) cover the same mechanisms on a bare
server; these check that meterd wires them up with its configuration.
"""

import hashlib
import json
import os
import re
import socket
import stat
import threading
import time
import unittest

from harness import NO_TOKEN, DaemonTestCase, HttpAssertions, start_class_daemon

MAX_BODY = 4096
MAX_BULK = 65536
MAX_HEADER = 2048
MAX_CONNECTIONS = 6
MAX_EVENTS = 10
TIMEOUT_S = 1  # header and body deadlines

LIMIT_ARGS = ["--max-body-bytes", str(MAX_BODY), "--max-bulk-body-bytes", str(MAX_BULK),
              "--max-header-bytes", str(MAX_HEADER), "--max-connections", str(MAX_CONNECTIONS),
              "--max-events-per-request", str(MAX_EVENTS),
              "--header-timeout", f"{TIMEOUT_S}s", "--body-timeout", f"{TIMEOUT_S}s",
              # One I/O thread: if a slow client could hold it, nobody else would be served.
              "--io-threads", "1"]

ENTITLEMENT = "e1000000-0000-4000-8000-000000000001"


def event(i, **over):
    e = {"id": f"lim-{i}", "entitlement_id": ENTITLEMENT,
         "meter_id": "0a3c6e2a-6d1f-4c55-9a43-5f1c2b7d9e01",
         "resource_uri": f"/subscriptions/{ENTITLEMENT}/resourcegroups/rg/providers/x/y/vm{i}",
         "quantity": "1", "timestamp": "2026-11-10T10:00:00Z"}
    e.update(over)
    return e


def nested(levels):
    """A JSON value `levels` deep (arrays)."""
    return "[" * levels + "]" * levels


class Limits(HttpAssertions, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.daemon = start_class_daemon(cls, extra_args=LIMIT_ARGS)
        cls.daemon.load_example("basic")

    # ---------------------------------------------------------------- helpers

    def metric(self, name, **labels):
        return self.daemon.metric(name, **labels)

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.daemon.port), timeout=10)
        self.addCleanup(s.close)
        return s

    def raw(self, request_bytes):
        """Sends raw bytes on a new connection and reads until the server closes it."""
        s = self.connect()
        s.sendall(request_bytes)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            data += chunk
        return data

    def usage(self, lines, token=None):
        body = "".join((l if isinstance(l, str) else json.dumps(l)) + "\n" for l in lines)
        kw = {} if token is None else {"token": token}
        return self.daemon.request("POST", "/v1/usage", body, content_type="application/x-ndjson",
                                   **kw)

    def healthy_quickly(self):
        """A fresh client is answered at once (nothing holds the I/O thread)."""
        start = time.monotonic()
        s = self.connect()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = s.recv(4096)
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data)
        return time.monotonic() - start

    # ---------------------------------------------------------------- body and header sizes

    def test_an_ordinary_body_over_max_body_bytes_is_413_and_counted(self):
        before = self.metric("meterd_http_request_errors_total", reason="body_too_large")
        budget = {"amount": "10", "pad": "x" * (MAX_BODY - 40)}
        self.assertLessEqual(len(json.dumps(budget)), MAX_BODY)
        path = "/v1/customers/c0ffee00-0000-4000-8000-000000000001/budget"
        self.assertStatus(self.daemon.request("PUT", path, budget), 200, "at the limit")
        budget["pad"] += "x" * 64
        r = self.daemon.request("PUT", path, budget)
        self.assertProblem(r, 413, "over the limit")
        self.assertEqual(self.metric("meterd_http_request_errors_total", reason="body_too_large"),
                         before + 1)

    def test_bulk_routes_take_max_bulk_body_bytes_and_no_more(self):
        # Blank lines cost nothing to parse and are no events.
        body = b"\n" * (MAX_BULK - 1)
        r = self.daemon.request("POST", "/v1/usage", body, content_type="application/x-ndjson")
        self.assertStatus(r, 200, "a bulk body larger than max_body_bytes")
        r = self.daemon.request("POST", "/v1/usage", b"\n" * (MAX_BULK + 1),
                                content_type="application/x-ndjson")
        self.assertProblem(r, 413, "over max_bulk_body_bytes")
        r = self.daemon.request("POST", "/v1/reference", b"\n" * (MAX_BULK + 1),
                                content_type="application/x-ndjson")
        self.assertProblem(r, 413, "reference loads are bulk routes too")

    def test_a_chunked_body_over_the_limit_is_413(self):
        chunk = b"x" * 1000
        parts = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(MAX_BODY // 1000 + 2))
        data = self.raw(b"PUT /v1/fx/2026-11 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                        + self.daemon.admin_token.encode() + b"\r\nTransfer-Encoding: chunked\r\n"
                        b"Content-Type: application/json\r\n\r\n" + parts + b"0\r\n\r\n")
        self.assertTrue(data.startswith(b"HTTP/1.1 413"), data[:200])
        self.assertIn(b"application/problem+json", data)

    def test_headers_over_max_header_bytes_are_431_and_counted(self):
        before = self.metric("meterd_http_request_errors_total", reason="header_too_large")
        r = self.daemon.get("/healthz", token=NO_TOKEN, headers={"X-Pad": "p" * (MAX_HEADER - 200)})
        self.assertStatus(r, 200, "under the limit")
        r = self.daemon.get("/healthz", token=NO_TOKEN, headers={"X-Pad": "p" * MAX_HEADER})
        self.assertProblem(r, 431, "over the limit")
        self.assertEqual(
            self.metric("meterd_http_request_errors_total", reason="header_too_large"), before + 1)

    # ---------------------------------------------------------------- JSON and field limits

    def test_json_nesting_is_accepted_to_32_levels_and_refused_beyond(self):
        # The event object is level 1; its field "x" holds levels 2.. .
        ok = json.dumps(event(100))[:-1] + ',"x":' + nested(31) + "}"
        deep = json.dumps(event(101))[:-1] + ',"x":' + nested(32) + "}"
        bad_json = self.metric("meterd_events_rejected_total", reason="bad_json")
        answer = self.usage([ok, deep]).json()
        self.assertEqual(self.metric("meterd_events_rejected_total", reason="bad_json"),
                         bad_json + 1)
        self.assertEqual(answer["accepted"], 1, answer)
        self.assertEqual([(e["line"], e["error"]) for e in answer["errors"]], [(2, "bad_json")])
        # The same limit on every other JSON body.
        path = "/v1/customers/c0ffee00-0000-4000-8000-000000000001/budget"
        for method, p, base in (("PUT", path, '{"amount":"10"'),
                                ("PUT", "/v1/fx/2026-10", '{"rates":{}'),
                                ("POST", "/v1/tokens", '{"role":"ingest"'),
                                ("PUT", "/v1/partners/p-limits", '{"mpn_id":"1","kind":"direct"')):
            r = self.daemon.request(method, p, base + ',"x":' + nested(31) + "}",
                                    content_type="application/json")
            self.assertIn(r.status, (200, 201), f"{p} at 32 levels: {r!r}")
            r = self.daemon.request(method, p, base + ',"x":' + nested(32) + "}",
                                    content_type="application/json")
            self.assertProblem(r, 400, f"{p} at 33 levels")
        r = self.daemon.request("POST", "/v1/reference",
                                '{"type":"reseller","mpn_id":"r-lim","partner_id":"p","x":'
                                + nested(32) + "}\n", content_type="application/x-ndjson")
        self.assertEqual([(e["line"], e["error"]) for e in r.json()["errors"]], [(1, "bad_json")])

    def test_event_ids_to_128_bytes_and_resource_uris_to_1024_bytes(self):
        too_long = self.metric("meterd_events_rejected_total", reason="too_long")
        uri_ok = "/" + "u" * 1023
        lines = [event(200, id="i" * 128), event(201, id="i" * 129),
                 event(202, resource_uri=uri_ok), event(203, resource_uri=uri_ok + "u"),
                 event(204, entitlement_id="e" * 129), event(205, meter_id="m" * 129)]
        answer = self.usage(lines).json()
        self.assertEqual(answer["accepted"], 2, answer)
        self.assertEqual([(e["line"], e["error"]) for e in answer["errors"]],
                         [(2, "too_long"), (4, "too_long"), (5, "too_long"), (6, "too_long")])
        self.assertEqual(self.metric("meterd_events_rejected_total", reason="too_long"),
                         too_long + 4, "rejections are counted by reason")

    def test_more_events_than_max_events_per_request_is_413_and_stores_nothing(self):
        before = self.metric("meterd_events_total", result="accepted")
        refused = self.metric("meterd_usage_requests_refused_total", reason="too_many_events")
        r = self.usage([event(300 + i) for i in range(MAX_EVENTS + 1)])
        self.assertProblem(r, 413, "one event too many")
        self.assertEqual(
            self.metric("meterd_usage_requests_refused_total", reason="too_many_events"),
            refused + 1)
        self.assertEqual(self.metric("meterd_events_total", result="accepted"), before)
        answer = self.usage([event(400 + i) for i in range(MAX_EVENTS)]).json()
        self.assertEqual(answer["accepted"], MAX_EVENTS, answer)
        self.assertEqual(self.metric("meterd_events_total", result="accepted"), before + MAX_EVENTS)

    def test_rejected_and_duplicate_events_are_counted(self):
        rejected = self.metric("meterd_events_total", result="rejected")
        duplicate = self.metric("meterd_events_total", result="duplicate")
        answer = self.usage([event(500), "{bad"]).json()
        self.assertEqual((answer["accepted"], answer["rejected"]), (1, 1), answer)
        # A request of duplicates only has nothing to commit; its duplicates still count.
        answer = self.usage([event(500)]).json()
        self.assertEqual(answer["duplicates"], 1, answer)
        self.assertEqual(self.metric("meterd_events_total", result="rejected"), rejected + 1)
        self.assertEqual(self.metric("meterd_events_total", result="duplicate"), duplicate + 1)

    # ---------------------------------------------------------------- connections and deadlines

    def test_connections_beyond_max_connections_get_503_and_are_counted(self):
        self.daemon._close_conn()  # the harness's kept-alive connection counts too
        before = self.metric("meterd_http_connections_rejected_total")
        self.daemon._close_conn()
        time.sleep(0.2)
        held = [self.connect() for _ in range(MAX_CONNECTIONS)]
        # The server accepts asynchronously: let it register every held connection.
        for s in held:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertTrue(s.recv(4096).startswith(b"HTTP/1.1 200"))
        s = self.connect()
        data = s.recv(4096)
        self.assertTrue(data.startswith(b"HTTP/1.1 503"), data)
        self.assertIn(b"retry-after: 1", data.lower())
        self.assertIn(b"application/problem+json", data)
        held.pop().close()
        time.sleep(0.2)
        self.assertLess(self.healthy_quickly(), 2.0, "a slot freed by a close is reusable")
        for h in held:
            h.close()
        time.sleep(0.2)
        self.assertGreaterEqual(self.metric("meterd_http_connections_rejected_total"), before + 1)

    def test_a_slowloris_is_cut_at_the_header_deadline_without_holding_the_worker(self):
        before = self.metric("meterd_http_request_errors_total", reason="header_timeout")
        clients = [self.connect() for _ in range(3)]
        closed_after = [None] * len(clients)

        def trickle(i, s):
            start = time.monotonic()
            try:
                s.sendall(b"GET /healthz HTTP/1.1\r\n")
                for n in range(40):  # would take 8 s: far past the 1 s deadline
                    s.sendall(b"X-Slow-%d: y\r\n" % n)
                    time.sleep(0.2)
            except OSError:
                pass
            try:
                s.settimeout(5)
                while s.recv(4096):
                    pass
            except OSError:
                pass
            closed_after[i] = time.monotonic() - start

        threads = [threading.Thread(target=trickle, args=(i, s)) for i, s in enumerate(clients)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        # While they trickle, the only I/O thread still answers everybody else at once.
        for _ in range(3):
            self.assertLess(self.healthy_quickly(), 0.5)
        for t in threads:
            t.join(15)
        for took in closed_after:
            self.assertIsNotNone(took)
            self.assertGreater(took, TIMEOUT_S - 0.3, "cut by the deadline, not something else")
            self.assertLess(took, TIMEOUT_S + 2.5, "closed at the header deadline, not later")
        self.assertGreaterEqual(
            self.metric("meterd_http_request_errors_total", reason="header_timeout"), before + 3)

    def test_a_body_that_trickles_is_cut_at_the_body_deadline_and_stores_nothing(self):
        before = self.metric("meterd_http_request_errors_total", reason="body_timeout")
        accepted = self.metric("meterd_events_total", result="accepted")
        body = (json.dumps(event(600)) + "\n").encode()
        s = self.connect()
        s.sendall(b"POST /v1/usage HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                  + self.daemon.admin_token.encode() + b"\r\nContent-Type: application/x-ndjson"
                  b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n")
        start = time.monotonic()
        try:
            for b in body[:-1]:  # one byte every 0.1 s: several seconds, far past 1 s
                s.sendall(bytes([b]))
                time.sleep(0.1)
                self.assertLess(time.monotonic() - start, TIMEOUT_S + 3, "never cut off")
        except OSError:
            pass  # reset by the server: what we want
        self.assertLess(time.monotonic() - start, TIMEOUT_S + 3)
        self.assertLess(self.healthy_quickly(), 0.5)
        self.assertGreaterEqual(
            self.metric("meterd_http_request_errors_total", reason="body_timeout"), before + 1)
        self.assertEqual(self.metric("meterd_events_total", result="accepted"), accepted)


class Tokens(DaemonTestCase):
    """Token storage and revocation (api.md "Tokens and bootstrap"); each test its own daemon."""

    def test_the_bootstrap_admin_token_file_is_mode_0600(self):
        d = self.start_daemon()
        mode = stat.S_IMODE(os.stat(d.data_dir / "admin.token").st_mode)
        self.assertEqual(mode, 0o600, oct(mode))
        self.assertTrue(d.admin_token.startswith("mtr_"), "the file holds the secret itself")

    def test_only_hashes_of_token_secrets_are_stored(self):
        d = self.start_daemon()
        _, secret = d.create_token("partner", partner_id="p-hash", name="hash check")
        d.stop()
        stored = b""
        for root, _, files in os.walk(d.data_dir):
            for f in files:
                if f != "admin.token":
                    with open(os.path.join(root, f), "rb") as fh:
                        stored += fh.read()
        digest = hashlib.sha256(secret.encode()).digest()
        self.assertIn(digest, stored, "the SHA-256 of the secret is what identifies it")
        for token in (secret, d.admin_token):
            self.assertNotIn(token.encode(), stored, "a secret was stored in clear")
            self.assertNotIn(token[4:].encode(), stored, "a secret was stored in clear")

    def test_a_revocation_is_effective_at_once_on_other_connections_and_after_restart(self):
        d = self.start_daemon()
        token_id, secret = d.create_token("partner", partner_id="p-revoke")
        other = socket.create_connection(("127.0.0.1", d.port), timeout=10)
        self.addCleanup(other.close)
        req = (b"GET /v1/customers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
               + secret.encode() + b"\r\n\r\n")
        other.sendall(req)
        self.assertTrue(other.recv(65536).startswith(b"HTTP/1.1 200"))
        self.assertStatus(d.request("DELETE", f"/v1/tokens/{token_id}"), 204)
        # The very next request on a connection opened before the revocation is refused.
        other.sendall(req)
        self.assertTrue(other.recv(65536).startswith(b"HTTP/1.1 401"))
        d.stop()
        d.start()
        self.assertProblem(d.get("/v1/customers", token=secret), 401, "after a restart")


if __name__ == "__main__":
    unittest.main()
