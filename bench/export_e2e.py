#!/usr/bin/env python3
"""Export benchmark and memory check: a store of N x M x R x D rated daily lines (made by
export_fill, not by ingest: see bench/export_fill.cc), then GET /v1/exports/{daily,focus,...}
from the real meterd with curl to /dev/null, sampling the daemon's anonymous memory (RssAnon in
/proc/PID/status, every 10 ms) while each export runs.

Why RssAnon and not VmHWM: the export reads the whole LMDB map, whose pages count in RSS as
file pages (shared, reclaimable, and as large as the store). Memory the daemon allocates for an
export is anonymous; VmHWM is reported too, for completeness.

    bench/export_e2e.py BUILD_DIR --customers 200 --meters 10 --resources 167  # 10.02 M lines
    bench/export_e2e.py BUILD_DIR --customers 20 --meters 10 --resources 34 --days 30 \\
        --max-growth-mb 48 --count-rows          # the ctest smoke: 204,000 lines

Exit status: 0 when every export completed (and stayed under --max-growth-mb, if given), 1
otherwise. Standard library only; needs curl.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

FIXED_CLOCK = "2026-12-05T00:00:00Z"  # the exported month (2026-11) is over


def status_kb(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


class Sampler(threading.Thread):
    """Peak RssAnon of a process while running."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.stop = pid, 0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.peak_kb = max(self.peak_kb, status_kb(self.pid, "RssAnon"))
            time.sleep(0.01)


class Meterd:
    def __init__(self, binary, data_dir, log):
        self.binary, self.data_dir, self.log = binary, data_dir, log
        self.proc = None

    def start(self):
        port_file = os.path.join(self.data_dir, "..", "port")
        if os.path.exists(port_file):
            os.remove(port_file)
        self.proc = subprocess.Popen(
            [self.binary, "--listen", "127.0.0.1:0", "--port-file", port_file,
             "--data-dir", self.data_dir, "--fixed-clock", FIXED_CLOCK],
            stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(600):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            if self.proc.poll() is not None:
                raise RuntimeError("meterd exited at start; see its log")
            time.sleep(0.05)
        self.url = "http://127.0.0.1:" + open(port_file).read().strip()
        self.token = open(os.path.join(self.data_dir, "admin.token")).read().strip()

    def post(self, path, body, content_type):
        req = urllib.request.Request(self.url + path, data=body, method="POST", headers={
            "Authorization": "Bearer " + self.token, "Content-Type": content_type})
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.read()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def fill_store(d, fill_bin, work, customers, meters, resources, days):
    """Loads export_fill's reference data and price sheet through meterd `d` (its data dir under
    `work`), stops it, then writes the rated lines of 2026-11 straight into the store. Returns
    the seconds the lines took."""
    d.start()
    subprocess.run([fill_bin, "reference", "--out", work, "--customers", str(customers),
                    "--meters", str(meters)], check=True)
    for path, name, ctype in (("/v1/reference", "reference.ndjson", "application/x-ndjson"),
                              ("/v1/pricesheet", "pricesheet.csv", "text/csv")):
        status, body = d.post(path, open(os.path.join(work, name), "rb").read(), ctype)
        if status != 200 or json.loads(body).get("rejected") != 0:
            raise RuntimeError(f"POST {path}: {status} {body[:300]!r}")
    d.stop()
    t0 = time.monotonic()
    subprocess.run([fill_bin, "lines", "--data-dir", d.data_dir, "--customers", str(customers),
                    "--meters", str(meters), "--resources", str(resources), "--days", str(days),
                    "--month", "2026-11"], check=True)
    return time.monotonic() - t0


def count_rows(url, token):
    """Reads the export through Python and counts its records (CRLF-terminated rows)."""
    req = urllib.request.Request(url, headers={"Authorization": "Bearer " + token})
    rows, size, last = 0, 0, b""
    with urllib.request.urlopen(req, timeout=600) as r:
        while True:
            block = r.read(1 << 20)
            if not block:
                break
            rows += block.count(b"\r\n")
            if last == b"\r" and block[:1] == b"\n":  # a CRLF split between two blocks
                rows += 1
            last = block[-1:]
            size += len(block)
    return rows - 1, size  # minus the header row


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("build_dir")
    p.add_argument("--customers", type=int, required=True)
    p.add_argument("--meters", type=int, required=True)
    p.add_argument("--resources", type=int, required=True)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--formats", default="daily,focus")
    p.add_argument("--work", default=None, help="parent of the temporary store (default: TMPDIR)")
    p.add_argument("--max-growth-mb", type=float, default=None,
                   help="fail when peak RssAnon during an export exceeds the idle daemon's by more")
    p.add_argument("--count-rows", action="store_true",
                   help="also read each export in Python and check its row count")
    a = p.parse_args()

    meterd_bin = os.path.join(a.build_dir, "daemon", "meterd")
    fill_bin = os.path.join(a.build_dir, "bench", "export_fill")
    lines = a.customers * a.meters * a.resources * a.days
    work = tempfile.mkdtemp(prefix="meterd-export-bench-", dir=a.work)
    data = os.path.join(work, "data")
    os.makedirs(data)
    log = open(os.path.join(work, "meterd.log"), "wb")
    d = Meterd(meterd_bin, data, log)
    ok = True
    try:
        fill_s = fill_store(d, fill_bin, work, a.customers, a.meters, a.resources, a.days)
        store_mb = os.path.getsize(os.path.join(data, "data.mdb")) / 1e6
        d.start()
        pid = d.proc.pid
        time.sleep(0.5)
        base_kb = status_kb(pid, "RssAnon")
        print(f"store: {lines:,} lines, data.mdb {store_mb:,.0f} MB, filled in {fill_s:.1f} s; "
              f"idle meterd RssAnon {base_kb / 1024:.1f} MB")
        print("| request | bytes | time to last byte | MB/s | lines/s | peak RssAnon above idle "
              "| VmHWM |")
        print("|---|---|---|---|---|---|---|")
        for fmt in a.formats.split(","):
            url = f"{d.url}/v1/exports/{fmt}?month=2026-11"
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")  # resets VmHWM to the current RSS
            sampler = Sampler(pid)
            sampler.start()
            t0 = time.monotonic()
            r = subprocess.run(["curl", "-sS", "--fail", "-o", "/dev/null", "-w",
                                "%{size_download}", "-H", "Authorization: Bearer " + d.token, url],
                               capture_output=True, text=True)
            took = time.monotonic() - t0
            sampler.stop.set()
            sampler.join()
            hwm_kb = status_kb(pid, "VmHWM")
            if r.returncode != 0:
                print(f"curl {url} failed ({r.returncode}): {r.stderr.strip()}")
                ok = False
                continue
            size = int(r.stdout)
            growth_mb = (sampler.peak_kb - base_kb) / 1024
            print(f"| `/v1/exports/{fmt}?month=2026-11` | {size:,} | {took:.2f} s "
                  f"| {size / 1e6 / took:.0f} | {lines / took / 1e6:.2f} M | {growth_mb:.1f} MB "
                  f"| {hwm_kb / 1024:,.0f} MB |")
            if a.max_growth_mb is not None and growth_mb > a.max_growth_mb:
                print(f"FAIL: {fmt} export grew the daemon's anonymous memory by {growth_mb:.1f} MB"
                      f" (bound {a.max_growth_mb} MB)")
                ok = False
            if a.count_rows:
                rows, csize = count_rows(url, d.token)
                if fmt in ("daily", "focus") and rows != lines:
                    print(f"FAIL: {fmt} export has {rows} rows, the store {lines} lines")
                    ok = False
                if csize != size:
                    print(f"FAIL: {fmt} export was {size} bytes through curl, {csize} through "
                          "Python")
                    ok = False
        sys.stdout.flush()
        d.stop()
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
            print(f"kept {work} (meterd.log)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
