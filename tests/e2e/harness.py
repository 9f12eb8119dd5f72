"""Runs the real meterd for end-to-end tests and talks HTTP to it.

Each Daemon is one meterd process on 127.0.0.1 port 0 with its own data directory and a fixed
clock; tests start and stop their own. Nothing here is shared between threads except where a
method says so. Only the Python standard library is used.
"""

import http.client
import json
import re
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

FIXED_NOW = "2026-11-20T12:00:00Z"
EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "fixtures" / "examples"
EXAMPLES = ("basic", "tiers-and-pec", "currencies")

# Passed as `token=` to send no Authorization header at all.
NO_TOKEN = object()
# The default `token=`: the daemon's bootstrap admin token.
ADMIN = object()

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0


def meterd_binary():
    path = os.environ.get("METERD_BIN")
    if not path:
        raise RuntimeError(
            "METERD_BIN is not set: run through ctest (tests/e2e/CMakeLists.txt sets it) or "
            "export METERD_BIN=<build>/daemon/meterd")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"METERD_BIN={path} is not an executable file")
    return path


class Response:
    """One HTTP answer: status, lowercased headers, raw body bytes."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def content_type(self):
        return self.headers.get("content-type", "").split(";")[0].strip()

    def json(self):
        # Floats would hide money bugs: any JSON number with a fraction or exponent is kept as
        # its text wrapped in JsonFloat so comparisons with expected strings stay exact.
        return json.loads(self.body.decode("utf-8"), parse_float=JsonFloat)

    def __repr__(self):
        text = self.body[:2000].decode("utf-8", "replace")
        return f"<HTTP {self.status} {self.content_type} {text}>"


class JsonFloat(str):
    """A JSON number with a fraction or exponent, kept as its source text."""

    def __repr__(self):
        return f"JsonFloat({str.__repr__(self)})"


class Daemon:
    """A meterd process. start() may be called again after stop()/kill() (same data dir)."""

    def __init__(self, data_dir, fixed_clock=FIXED_NOW, extra_args=()):
        self.data_dir = Path(data_dir)
        self.fixed_clock = fixed_clock
        self.extra_args = list(extra_args)
        self.proc = None
        self.port = None
        self.admin_token = None
        self.log_path = self.data_dir.parent / (self.data_dir.name + ".log")
        self._conn = None
        self._log_file = None

    # ----------------------------------------------------------------- lifecycle

    def start(self):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        port_file = self.data_dir.parent / (self.data_dir.name + ".port")
        if port_file.exists():
            port_file.unlink()
        args = [meterd_binary(), "--listen", "127.0.0.1:0", "--port-file", str(port_file),
                "--data-dir", str(self.data_dir), "--fixed-clock", self.fixed_clock]
        args += self.extra_args
        self._log_file = open(self.log_path, "ab")
        self._log_file.write(f"\n=== start: {' '.join(args)}\n".encode())
        self._log_file.flush()
        # METERD_* variables configure meterd; a developer's own must not leak into tests.
        env = {k: v for k, v in os.environ.items() if not k.startswith("METERD_")}
        self.proc = subprocess.Popen(args, stdout=self._log_file, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"meterd exited with {self.proc.returncode} while starting:\n"
                                   + self.log_tail())
            if port_file.exists():
                text = port_file.read_text().strip()
                if text.isdigit():
                    self.port = int(text)
                    break
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("meterd did not write its port file in time:\n"
                                   + self.log_tail())
            time.sleep(0.02)
        self._conn = None
        while True:
            try:
                if self.request("GET", "/readyz", token=NO_TOKEN).status == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("meterd did not become ready:\n" + self.log_tail())
            time.sleep(0.02)
        self.admin_token = (self.data_dir / "admin.token").read_text().strip()
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=STOP_TIMEOUT_S):
        """SIGTERM, then waits; returns the exit status."""
        self._close_conn()
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError("meterd ignored SIGTERM for %.0f s:\n%s" %
                                   (timeout, self.log_tail()))
        self._close_log()
        return self.proc.returncode

    def kill(self):
        """SIGKILL: a crash as far as the daemon can tell."""
        self._close_conn()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close_log()

    def log_tail(self, lines=40):
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def _close_conn(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _close_log(self):
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    # ----------------------------------------------------------------- HTTP

    def request(self, method, path, body=None, token=ADMIN, content_type=None, headers=None,
                timeout=60):
        """Sends one request on a kept-alive connection (reopened once if the daemon closed it)."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            content_type = content_type or "application/json"
        elif isinstance(body, str):
            body = body.encode()
        hdrs = dict(headers or {})
        if token is ADMIN:
            token = self.admin_token
        if token is not NO_TOKEN and token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        if content_type:
            hdrs["Content-Type"] = content_type
        for attempt in range(2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            self._conn.timeout = timeout
            if self._conn.sock is not None:
                self._conn.sock.settimeout(timeout)
            try:
                self._conn.request(method, path, body=body, headers=hdrs)
                resp = self._conn.getresponse()
                data = resp.read()
                headers_out = {k.lower(): v for k, v in resp.getheaders()}
                if resp.will_close:
                    self._close_conn()
                return Response(resp.status, headers_out, data)
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self._close_conn()
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def get(self, path, token=ADMIN, headers=None):
        return self.request("GET", path, token=token, headers=headers)

    def get_json(self, path, token=ADMIN, expect=200):
        r = self.get(path, token=token)
        if r.status != expect:
            raise AssertionError(f"GET {path}: expected {expect}, got {r!r}")
        return r.json()

    def get_all(self, path, key, token=ADMIN, limit=None):
        """Follows next_cursor and returns every item of list `key`."""
        items = []
        sep = "&" if "?" in path else "?"
        url = path + (f"{sep}limit={limit}" if limit else "")
        for _ in range(10000):
            page = self.get_json(url, token=token)
            items.extend(page[key])
            cursor = page.get("next_cursor")
            if cursor is None:
                return items
            s = "&" if "?" in path else "?"
            url = path + f"{s}cursor={cursor}" + (f"&limit={limit}" if limit else "")
        raise AssertionError(f"{path}: cursor never ended")

    def all_alerts(self, token=ADMIN, after=None):
        """Every visible alert after cursor `after` (the whole feed when None) and the cursor
        to resume from. An empty page means nothing newer (§8.20)."""
        alerts = []
        cursor = after
        for _ in range(10000):
            url = "/v1/alerts?limit=1000" + (f"&after={cursor}" if cursor is not None else "")
            page = self.get_json(url, token=token)
            if not isinstance(page.get("next_cursor"), str):
                raise AssertionError(f"GET {url}: next_cursor must be a string: {page!r}")
            alerts.extend(page["alerts"])
            cursor = page["next_cursor"]
            if not page["alerts"]:
                return alerts, cursor
        raise AssertionError("alert feed never ended")

    def create_token(self, role, **fields):
        body = {"role": role, **fields}
        r = self.request("POST", "/v1/tokens", body)
        if r.status != 201:
            raise AssertionError(f"POST /v1/tokens {body}: {r!r}")
        doc = r.json()
        return doc["token_id"], doc["token"]

    # ----------------------------------------------------------------- example data

    def load_reference(self, name):
        """POSTs reference.ndjson, pricesheet.csv, every FX month and every budget of an example."""
        d = EXAMPLES_DIR / name
        r = self.request("POST", "/v1/reference", (d / "reference.ndjson").read_bytes(),
                         content_type="application/x-ndjson")
        _expect_load(r, "POST /v1/reference " + name)
        r = self.request("POST", "/v1/pricesheet", (d / "pricesheet.csv").read_bytes(),
                         content_type="text/csv")
        _expect_load(r, "POST /v1/pricesheet " + name)
        fx = json.loads((d / "fx.json").read_text())
        for month, rates in sorted(fx.items()):
            r = self.request("PUT", f"/v1/fx/{month}", {"rates": rates})
            if r.status != 200 or r.json().get("currencies") != len(rates):
                raise AssertionError(f"PUT /v1/fx/{month} ({name}): {r!r}")
        budgets = json.loads((d / "budgets.json").read_text())
        for customer_id, budget in budgets.items():
            r = self.request("PUT", f"/v1/customers/{customer_id}/budget", budget)
            if r.status != 200:
                raise AssertionError(f"PUT budget {customer_id} ({name}): {r!r}")

    def metrics_text(self):
        return self.get("/metrics", token=NO_TOKEN).body.decode()

    def metric(self, name, **labels):
        """One sample of GET /metrics; AssertionError when the daemon does not export it."""
        value = metric_value(self.metrics_text(), name, **labels)
        if value is None:
            raise AssertionError(f"metric {name}{labels} missing")
        return value

    def post_usage(self, body, token=ADMIN):
        if isinstance(body, str):
            body = body.encode()
        r = self.request("POST", "/v1/usage", body, token=token,
                         content_type="application/x-ndjson")
        if r.status != 200:
            raise AssertionError(f"POST /v1/usage: {r!r}")
        return r.json()

    def load_example(self, name):
        """Loads an example's reference data and posts its usage in one request."""
        self.load_reference(name)
        return self.post_usage((EXAMPLES_DIR / name / "usage.ndjson").read_bytes())


def _expect_load(r, what):
    if r.status != 200:
        raise AssertionError(f"{what}: {r!r}")
    doc = r.json()
    if doc.get("rejected") != 0 or doc.get("errors") != []:
        raise AssertionError(f"{what}: rows rejected: {r!r}")


def metric_value(text, name, **labels):
    """The value of one sample of a Prometheus text exposition, or None when absent. Labels
    must be given in the order the daemon writes them."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(want) + r"\}" if labels else "") + r" (\S+)"
    m = re.search("^" + pattern + "$", text, re.MULTILINE)
    return float(m.group(1)) if m else None


def example(name, file):
    path = EXAMPLES_DIR / name / file
    if path.suffix == ".json":
        return json.loads(path.read_text())
    return path.read_bytes()


def strict_diff(got, want, path="$"):
    """Differences between two parsed JSON values with types compared too (1 != 1.0 != True,
    "1" != 1), so a field that changes its JSON type is caught. Returns a list of messages."""
    if type(got) is not type(want):
        return [f"{path}: expected {want!r} ({type(want).__name__}), "
                f"got {got!r} ({type(got).__name__})"]
    if isinstance(want, dict):
        out = []
        for k in sorted(set(want) | set(got)):
            if k not in got:
                out.append(f"{path}.{k}: missing (expected {want[k]!r})")
            elif k not in want:
                out.append(f"{path}.{k}: unexpected field {got[k]!r}")
            else:
                out.extend(strict_diff(got[k], want[k], f"{path}.{k}"))
        return out
    if isinstance(want, list):
        out = []
        if len(got) != len(want):
            out.append(f"{path}: expected {len(want)} items, got {len(got)}")
        for i, (g, w) in enumerate(zip(got, want)):
            out.extend(strict_diff(g, w, f"{path}[{i}]"))
        return out
    if got != want:
        return [f"{path}: expected {want!r}, got {got!r}"]
    return []


def start_class_daemon(cls, **kwargs):
    """Starts one daemon shared by every test of `cls` (for tests that only read, or write what
    no other test of the class reads); it is killed and its directory removed after the class."""
    tmp = Path(tempfile.mkdtemp(prefix="meterd-e2e-"))
    d = Daemon(tmp / "d", **kwargs)

    def cleanup():
        d.kill()
        if os.environ.get("METERD_E2E_KEEP"):
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    cls.addClassCleanup(cleanup)
    return d.start()


class HttpAssertions:
    """Assertions on parsed JSON and HTTP answers, for unittest.TestCase subclasses."""

    def assertJsonEqual(self, got, want, what=""):
        diffs = strict_diff(got, want)
        if diffs:
            self.fail(f"{what}: {len(diffs)} differences:\n  " + "\n  ".join(diffs[:40]))

    def assertStatus(self, response, status, what=""):
        if response.status != status:
            self.fail(f"{what}: expected HTTP {status}, got {response!r}")

    def assertProblem(self, response, status, what=""):
        """An RFC 9457 problem+json error with the given status."""
        self.assertStatus(response, status, what)
        self.assertEqual(response.content_type, "application/problem+json",
                         f"{what}: {response!r}")
        doc = response.json()
        for key in ("type", "title", "status", "detail"):
            self.assertIn(key, doc, f"{what}: problem without {key}: {response!r}")
        self.assertEqual(doc["status"], status, f"{what}: {response!r}")
        return doc


class DaemonTestCase(HttpAssertions, unittest.TestCase):
    """Gives each test a fresh data directory under a temp dir and helpers to run meterd there.
    Daemons started with start_daemon() are killed at the end of the test; when the test failed
    the tail of each daemon's log is printed. Set METERD_E2E_KEEP=1 to keep the directories."""

    def setUp(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="meterd-e2e-"))
        self._daemons = []
        self.addCleanup(self._cleanup)

    def start_daemon(self, name="d", **kwargs):
        d = Daemon(self.tmp / name, **kwargs)
        self._daemons.append(d)
        return d.start()

    def _cleanup(self):
        for d in self._daemons:
            d.kill()
        failed = self._failed()
        if failed:
            for d in self._daemons:
                print(f"\n--- {d.log_path} (tail)\n{d.log_tail()}", flush=True)
        if os.environ.get("METERD_E2E_KEEP") or failed:
            print(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _failed(self):
        outcome = getattr(self, "_outcome", None)
        if outcome is None:
            return False
        if hasattr(outcome, "errors"):  # Python < 3.11
            return any(exc is not None for _, exc in outcome.errors)
        result = getattr(outcome, "result", None)
        if result is None:
            return False
        return any(test is self for test, _ in result.failures + result.errors)
