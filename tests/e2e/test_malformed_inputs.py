"""Hostile and malformed input (issue #6): every case of malformed/corpus.ndjson is sent to one
real daemon holding the `basic` and `tiers-and-pec` examples; each must get its documented error
(docs/errors.md: status, problem+json type and title, per-line error codes and line numbers where
api.md lists them) and leave every stored figure byte-for-byte unchanged. The daemon must still
be alive and healthy at the end.

The corpus is data, one JSON object per line:
  class        what kind of damage (truncated_json, nul_bytes, invalid_utf8, ...; docs/errors.md)
  name         one sentence, unique
  target       usage | reference | entity | pricesheet | fx | budget | token | webhook | query |
               raw_http (body_bytes is the whole request, sent on its own connection;
               `{{admin}}` expands to the admin's Authorization header)
  method/path  override the target's defaults
  body         UTF-8 text, or body_bytes: text whose code points 0-255 are the bytes sent (for
               raw NUL and invalid UTF-8). `{{c*N}}` expands to N copies of c; `{{seeded}}` to
               an event already stored (so it is a duplicate and changes nothing).
  expect       {"status": N} for a problem+json answer; {"errors": [[line, code], ...]} for the
               200 answers with per-line errors (plus optional "duplicates", "rejected").
"""

import json
import os
import re
import socket
import subprocess
import unittest
from pathlib import Path

from harness import EXAMPLES_DIR, NO_TOKEN, HttpAssertions, Response, start_class_daemon

CORPUS = Path(__file__).resolve().parent / "malformed" / "corpus.ndjson"
MAX_EVENTS = 200  # --max-events-per-request, so the 413 case stays small

TARGETS = {
    # target: (method, path, content type, answer kind)
    "usage": ("POST", "/v1/usage", "application/x-ndjson", "usage"),
    "reference": ("POST", "/v1/reference", "application/x-ndjson", "load"),
    "pricesheet": ("POST", "/v1/pricesheet", "text/csv", "load"),
    "entity": ("PUT", None, "application/json", "problem"),
    "fx": ("PUT", None, "application/json", "problem"),
    "budget": ("PUT", None, "application/json", "problem"),
    "token": ("POST", "/v1/tokens", "application/json", "problem"),
    "webhook": ("PUT", None, "application/json", "problem"),
    "query": ("GET", None, None, "problem"),
    "raw_http": (None, None, None, "problem"),
}
REASONS = {400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
           405: "Method Not Allowed", 413: "Content Too Large", 422: "Unprocessable Content",
           431: "Request Header Fields Too Large"}
CUSTOMERS = ("c0ffee00-0000-4000-8000-000000000001", "c0ffee00-0000-4000-8000-000000000002")
MONTHS = ("2026-10", "2026-11")
REPEAT = re.compile(r"\{\{(.+?)\*(\d+)\}\}")


def load_corpus():
    cases = []
    for n, line in enumerate(CORPUS.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            case = json.loads(line)
            case["corpus_line"] = n
            cases.append(case)
    return cases


def expand(text, seeded):
    text = text.replace("{{seeded}}", seeded)
    return REPEAT.sub(lambda m: m.group(1) * int(m.group(2)), text)


class MalformedInputs(HttpAssertions, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        d = cls.daemon = start_class_daemon(
            cls, extra_args=["--max-events-per-request", str(MAX_EVENTS)])
        for name in ("basic", "tiers-and-pec"):
            d.load_example(name)
        cls.seeded = (EXAMPLES_DIR / "basic" / "usage.ndjson").read_text().splitlines()[0]
        r = d.request("PUT", "/v1/webhooks/wh-seeded?partner_id=" + "7d3f1c2a-0000-4000-8000-000000000001",
                      {"url": "https://hooks.example.com/seeded",
                       "secret": "whsec_" + "U0VFREVEU0VFREVEU0VFREVEU0VFREVEU0VFREVE"})
        assert r.status == 201, r

    def snapshot(self):
        """Every stored figure a client can read, as raw bytes, plus the event counters."""
        d = self.daemon
        paths = ["/v1/customers?limit=10000", "/v1/alerts?limit=10000", "/v1/unknown-usage"]
        for m in MONTHS:
            paths.append(f"/v1/spend?month={m}&limit=10000")
            for c in CUSTOMERS:
                paths += [f"/v1/customers/{c}/spend?month={m}",
                          f"/v1/customers/{c}/lines?month={m}&limit=10000"]
        for c in CUSTOMERS:
            paths.append(f"/v1/customers/{c}/budget")
        paths.append("/v1/webhooks/wh-seeded?partner_id=7d3f1c2a-0000-4000-8000-000000000001")
        out = {p: (lambda r: (r.status, r.body))(d.get(p)) for p in paths}
        out["csv lines"] = d.get(f"/v1/customers/{CUSTOMERS[0]}/lines?month=2026-11",
                                 headers={"Accept": "text/csv"}).body
        # Accepted events and stored lines: counters that any stored change would move.
        metrics = d.get("/metrics", token=NO_TOKEN).body.decode()
        out["metrics"] = sorted(l for l in metrics.splitlines()
                                if re.match(r"meterd_(events_total\{result=\"accepted"
                                            r"|storage_lines|lines_)", l))
        out["store entries"] = self.store_entries()
        return out

    def store_entries(self):
        """Entries per LMDB database from `meterctl stats` (it reads a live store), so a
        refused input that stored a token, a webhook or a dedupe mark is caught too. None when
        meterctl is not built (ctest builds only meterd for the e2e tests)."""
        meterctl = os.environ.get("METERCTL_BIN") or str(
            Path(os.environ["METERD_BIN"]).resolve().parent.parent / "tools" / "meterctl" /
            "meterctl")
        if not os.access(meterctl, os.X_OK):
            return None
        text = subprocess.run([meterctl, "stats", "--data-dir", str(self.daemon.data_dir)],
                              capture_output=True, text=True, check=True).stdout
        rows = re.findall(r"^([a-z_]+)\s+(\d+)\s+\d+\s+\d+\s", text, re.MULTILINE)
        self.assertIn("tokens", dict(rows), text)
        return rows

    def test_the_corpus_is_large_and_covers_every_class(self):
        cases = load_corpus()
        self.assertGreaterEqual(len(cases), 100)
        names = [c["name"] for c in cases]
        self.assertEqual(len(names), len(set(names)), "case names must be unique")
        classes = {c["class"] for c in cases}
        for required in ("truncated_json", "invalid_json", "nul_bytes", "invalid_utf8",
                         "wrong_type", "duplicate_key", "number", "timestamp", "overlong",
                         "nesting", "csv_quoting", "query"):
            self.assertIn(required, classes)
        self.assertEqual({c["target"] for c in cases}, set(TARGETS))
        self.assertIn("http_framing", classes)

    def test_each_malformed_input_gets_its_documented_error_and_changes_nothing(self):
        d = self.daemon
        before = self.snapshot()
        for case in load_corpus():
            what = f"corpus line {case['corpus_line']}: {case['name']}"
            with self.subTest(what):
                self.run_case(case, what)
        self.assertTrue(d.running(), "meterd died:\n" + d.log_tail())
        after = self.snapshot()
        for key in before:
            self.assertEqual(after[key], before[key], f"stored state changed: {key}")
        self.assertStatus(d.get("/healthz", token=NO_TOKEN), 200, "healthz at the end")
        self.assertStatus(d.get("/readyz", token=NO_TOKEN), 200, "readyz at the end")
        log = d.log_path.read_text(errors="replace")
        self.assertNotIn("handler_exception", log)

    def send_raw(self, data):
        """One raw request on its own connection; the first response, parsed."""
        with socket.create_connection(("127.0.0.1", self.daemon.port), timeout=10) as s:
            s.sendall(data)
            got = b""
            while b"\r\n\r\n" not in got:
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
            head, _, body = got.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in
                       (line.partition(":") for line in lines[1:])}
            length = int(headers.get("content-length", "0"))
            while len(body) < length:
                chunk = s.recv(65536)
                if not chunk:
                    break
                body += chunk
        self.assertTrue(lines[0].startswith("HTTP/1.1 "), f"no HTTP answer: {got[:200]!r}")
        return Response(int(lines[0].split()[1]), headers, body[:length])

    def run_case(self, case, what):
        method, path, content_type, kind = TARGETS[case["target"]]
        method = case.get("method", method)
        path = case.get("path", path)
        path = expand(path, self.seeded) if path else path
        if "body_bytes" in case:
            body = expand(case["body_bytes"], self.seeded).encode("latin-1")
        elif "body" in case:
            body = expand(case["body"], self.seeded).encode("utf-8")
        else:
            body = None
        if case["target"] == "raw_http":
            body = body.replace(b"{{admin}}", b"Authorization: Bearer " +
                                self.daemon.admin_token.encode())
            r = self.send_raw(body)
        else:
            r = self.daemon.request(method, path, body, content_type=content_type)
        expect = case["expect"]
        if "status" in expect:
            doc = self.assertProblem(r, expect["status"], what)
            self.assertEqual(doc["type"], "about:blank", what)
            self.assertEqual(doc["title"], REASONS[expect["status"]], what)
            self.assertTrue(doc["detail"], what)
            return
        self.assertStatus(r, 200, what)
        self.assertEqual(r.content_type, "application/json", what)
        doc = r.json()
        got = [[e["line"], e["error"]] for e in doc["errors"]]
        self.assertEqual(got, expect["errors"], f"{what}: {r!r}")
        for e in doc["errors"]:
            self.assertIsInstance(e["detail"], str, what)
            self.assertTrue(e["detail"], what)
        if kind == "usage":
            self.assertEqual(doc["accepted"], 0, what)
            self.assertEqual(doc["duplicates"], expect.get("duplicates", 0), what)
            self.assertEqual(doc["rejected"], expect.get("rejected", len(expect["errors"])), what)
        else:
            self.assertEqual(doc["upserted"], 0, f"{what}: {r!r}")


if __name__ == "__main__":
    unittest.main()
