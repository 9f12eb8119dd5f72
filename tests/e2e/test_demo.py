"""The README's main job: scripts/demo.sh starts meterd on its store with the demo reference data
and a gentle feed, and a newcomer sees spend and alerts move; run again on the same store, the
feed sends fresh events (not re-sends of the first run's, all answered as duplicates).

demo.sh runs the meterd and meter-loadgen of the build tree METERD_BIN lives in, with a live
clock, on a free loopback port (METERD_DEMO_LISTEN) and a temporary store (METERD_DEMO_DATA).
"""

import json
from decimal import Decimal
import os
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.request
from pathlib import Path

from harness import meterd_binary, metric_value

REPO = Path(__file__).resolve().parent.parent.parent
FIRST_ALERT_WITHIN_S = 120
RERUN_EVENTS_WITHIN_S = 40
# demo.sh's exit after Ctrl-C: 0 once it has stopped meterd, or the signal's own status.
STOPPED_BY_CTRL_C = (0, 130, -signal.SIGINT)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Demo:
    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        build_dir = Path(meterd_binary()).resolve().parent.parent
        env = dict(os.environ, METERD_DEMO_LISTEN=f"127.0.0.1:{self.port}",
                   METERD_DEMO_DATA=str(data_dir))
        self.log = open(Path(data_dir).parent / f"demo-{self.port}.log", "wb")
        # Its own process group: Ctrl-C, as a newcomer stops it, goes to the script and its feed.
        self.proc = subprocess.Popen(["bash", str(REPO / "scripts" / "demo.sh"), str(build_dir)],
                                     cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def token(self):
        return (Path(self.data_dir) / "admin.token").read_text().strip()

    def get(self, path, auth=True):
        req = urllib.request.Request(self.url + path)
        if auth:
            req.add_header("Authorization", "Bearer " + self.token())
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.read().decode()

    def wait_for(self, what, predicate, within_s):
        deadline = time.monotonic() + within_s
        last_error = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"demo.sh exited ({self.proc.returncode}) before {what}")
            try:
                value = predicate()
                if value:
                    return value
            except (OSError, ValueError, KeyError) as e:  # not up yet, or no token yet
                last_error = e
            time.sleep(0.5)
        raise AssertionError(f"no {what} within {within_s} s (last error: {last_error!r})")

    def spend_by_customer(self):
        rows = json.loads(self.get("/v1/spend"))["rows"]
        return {row["customer_id"]: Decimal(row["spend_usd"]) for row in rows}

    def metric(self, result):
        return metric_value(self.get("/metrics", auth=False), "meterd_events_total",
                            result=result) or 0

    def every_customer_has_spend(self):
        spend = self.spend_by_customer()
        return len(spend) == 5 and all(v > 0 for v in spend.values())

    def accepted(self):
        return self.metric("accepted")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


class DemoTest(unittest.TestCase):
    def test_spend_and_alerts_move_and_a_rerun_on_the_kept_store_sends_fresh_events(self):
        with tempfile.TemporaryDirectory() as tmp:
            data_dir = Path(tmp) / "demo-data"
            first = Demo(data_dir)
            try:
                first.wait_for("spend for each of the five demo customers",
                               first.every_customer_has_spend, FIRST_ALERT_WITHIN_S)
                alerts = first.wait_for(
                    "budget alert",
                    lambda: [a for a in json.loads(first.get("/v1/alerts?limit=1000"))["alerts"]
                             if a["kind"].startswith("budget_")],
                    FIRST_ALERT_WITHIN_S)
                self.assertTrue(alerts)
                spend = first.spend_by_customer()
            finally:
                first_exit = first.stop()
            self.assertIn(first_exit, STOPPED_BY_CTRL_C)

            second = Demo(data_dir)
            try:
                second.wait_for("accepted event in the rerun", second.accepted,
                                RERUN_EVENTS_WITHIN_S)
                # The feed's own re-sends start ~1,000 lines (~50 s) in: any duplicate this early
                # is the first run's events sent again.
                self.assertEqual(second.metric("duplicate"), 0)
                moved = second.wait_for(
                    "spend above the first run's",
                    lambda: [c for c, v in second.spend_by_customer().items()
                             if v > spend[c]],
                    RERUN_EVENTS_WITHIN_S)
                self.assertTrue(moved)
            finally:
                second_exit = second.stop()
            self.assertIn(second_exit, STOPPED_BY_CTRL_C)


if __name__ == "__main__":
    unittest.main()
