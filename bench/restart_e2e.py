#!/usr/bin/env python3
"""Restart benchmark: how long the real meterd takes to be ready on a large store, and what
the first requests after it cost while the shards rebuild their memory lazily (issue #3: ready
in under 2 s on 10 million daily lines; LMDB needs no replay).

A store of N x M x R x D rated daily lines is made by export_fill (see bench/export_fill.cc),
then, for each of --rounds restarts (alternating SIGTERM and kill -9 of the previous process):
  - the store's pages are dropped from the page cache (posix_fadvise DONTNEED: a cold start);
  - meterd is exec'ed and timed to its port file and to the first `GET /readyz` answering 200;
  - one usage event for a customer whose month holds D x M x R lines is posted and timed (its
    shard loads that month's ledger from LMDB on the way), then the same customer's spend.

    bench/restart_e2e.py BUILD_DIR --customers 200 --meters 10 --resources 167  # 10.02 M lines
    bench/restart_e2e.py BUILD_DIR --customers 20 --meters 10 --resources 34 --max-ready-s 2

Exit status 0 when every restart was ready within --max-ready-s (default 2) and every answer
was right. Standard library only.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export_e2e import Meterd, fill_store  # noqa: E402  (same directory)

FIXED_CLOCK = "2026-11-30T12:00:00Z"


def evict_from_page_cache(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def get(url, token=None, timeout=30):
    headers = {"Authorization": "Bearer " + token} if token else {}
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class TimedMeterd(Meterd):
    """Meterd whose start is timed to the port file and to the first 200 from /readyz."""

    def start_timed(self):
        port_file = os.path.join(self.data_dir, "..", "port")
        if os.path.exists(port_file):
            os.remove(port_file)
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [self.binary, "--listen", "127.0.0.1:0", "--port-file", port_file,
             "--data-dir", self.data_dir, "--fixed-clock", FIXED_CLOCK],
            stdout=self.log, stderr=subprocess.STDOUT)
        while not (os.path.exists(port_file) and open(port_file).read().strip()):
            if self.proc.poll() is not None:
                raise RuntimeError("meterd exited at start; see its log")
            time.sleep(0.001)
        port_s = time.monotonic() - t0
        self.url = "http://127.0.0.1:" + open(port_file).read().strip()
        self.token = open(os.path.join(self.data_dir, "admin.token")).read().strip()
        while True:
            try:
                status, _ = get(self.url + "/readyz", timeout=5)
            except OSError:
                status = 0
            if status == 200:
                break
            if self.proc.poll() is not None:
                raise RuntimeError("meterd exited before ready; see its log")
            time.sleep(0.001)
        return port_s, time.monotonic() - t0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("build_dir")
    p.add_argument("--customers", type=int, required=True)
    p.add_argument("--meters", type=int, required=True)
    p.add_argument("--resources", type=int, required=True)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--max-ready-s", type=float, default=2.0)
    p.add_argument("--work", default=None, help="parent of the temporary store (default: TMPDIR)")
    a = p.parse_args()

    meterd_bin = os.path.join(a.build_dir, "daemon", "meterd")
    fill_bin = os.path.join(a.build_dir, "bench", "export_fill")
    lines = a.customers * a.meters * a.resources * a.days
    work = tempfile.mkdtemp(prefix="meterd-restart-bench-", dir=a.work)
    data = os.path.join(work, "data")
    os.makedirs(data)
    log = open(os.path.join(work, "meterd.log"), "wb")
    d = TimedMeterd(meterd_bin, data, log)
    ok = True
    try:
        fill_store(d, fill_bin, work, a.customers, a.meters, a.resources, a.days)
        store_mb = os.path.getsize(os.path.join(data, "data.mdb")) / 1e6
        # A customer, entitlement and meter of the filled store (export_fill's reference).
        entities = [json.loads(x) for x in open(os.path.join(work, "reference.ndjson"))]
        ent = next(e for e in entities if e.get("type") == "entitlement")
        customer = ent["customer_id"]
        meter = open(os.path.join(work, "pricesheet.csv")).read().splitlines()[1].split(",")[2]
        print(f"store: {lines:,} lines, data.mdb {store_mb:,.0f} MB; "
              f"{lines // a.customers:,} lines per customer-month")
        print("| restart | after | exec to port file | exec to /readyz 200 | first usage POST "
              "(loads the month's ledger) | then GET spend |")
        print("|---|---|---|---|---|---|")
        for i in range(a.rounds):
            evict_from_page_cache(os.path.join(data, "data.mdb"))
            port_s, ready_s = d.start_timed()
            event = json.dumps({
                "id": f"restart-{i}", "entitlement_id": ent["entitlement_id"], "meter_id": meter,
                "resource_uri": f"/subscriptions/{ent['entitlement_id']}/resourceGroups/rb/providers/"
                                "Microsoft.Compute/virtualMachines/restart",
                "quantity": "1", "timestamp": "2026-11-29T10:00:00Z"}).encode()
            t0 = time.monotonic()
            status, body = d.post("/v1/usage", event, "application/x-ndjson")
            usage_s = time.monotonic() - t0
            answer = json.loads(body)
            if status != 200 or answer.get("accepted") != 1:
                print(f"FAIL: usage after restart {i}: {status} {body[:300]!r}")
                ok = False
            t0 = time.monotonic()
            status, _ = get(f"{d.url}/v1/customers/{customer}/spend?month=2026-11", d.token)
            spend_s = time.monotonic() - t0
            if status != 200:
                print(f"FAIL: spend after restart {i}: {status}")
                ok = False
            how = "first start" if i == 0 else ("kill -9" if i % 2 == 0 else "SIGTERM")
            print(f"| {i + 1} | {how} | {port_s * 1000:.0f} ms | {ready_s * 1000:.0f} ms "
                  f"| {usage_s * 1000:.0f} ms | {spend_s * 1000:.1f} ms |")
            if ready_s > a.max_ready_s:
                print(f"FAIL: ready after {ready_s:.2f} s (bound {a.max_ready_s} s)")
                ok = False
            # Alternate the way the previous process ends.
            if i % 2 == 0:
                d.stop()
            else:
                d.proc.send_signal(signal.SIGKILL)
                d.proc.wait(timeout=30)
        sys.stdout.flush()
    except Exception as e:  # report, clean up, fail
        print(f"FAIL: {e}")
        ok = False
        if d.proc is not None and d.proc.poll() is None:
            d.proc.kill()
    finally:
        log.close()
        if ok:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"kept {work} for inspection")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
