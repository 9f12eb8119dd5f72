#!/usr/bin/env python3
"""Reads GET /v1/customers/{id}/spend over one keep-alive connection every INTERVAL seconds for
DURATION seconds (while a load runs beside it) and prints the latency percentiles, so
bench/load_e2e.sh can show what a polling partner sees under full ingest.
Usage: spend_probe.py URL TOKEN_FILE DURATION_S [INTERVAL_S]"""

import http.client
import json
import sys
import time
import urllib.parse


def main():
    url, token_file, duration = sys.argv[1], sys.argv[2], float(sys.argv[3])
    interval = float(sys.argv[4]) if len(sys.argv) > 4 else 0.01
    token = open(token_file).read().strip()
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    headers = {"Authorization": f"Bearer {token}"}

    def get(path):
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        return r.status, r.read()

    customers = []
    deadline = time.monotonic() + 30
    while not customers and time.monotonic() < deadline:  # the load's --setup creates them
        status, body = get("/v1/customers?limit=50")
        if status == 200:
            customers = [c["customer_id"] for c in json.loads(body)["customers"]]
        if not customers:
            time.sleep(0.1)
    if not customers:
        print("spend probe: no customers to read", file=sys.stderr)
        return 1
    latencies_us, errors = [], 0
    end = time.monotonic() + duration
    i = 0
    while time.monotonic() < end:
        path = f"/v1/customers/{customers[i % len(customers)]}/spend"
        start = time.perf_counter_ns()
        status, _ = get(path)
        latencies_us.append((time.perf_counter_ns() - start) // 1000)
        if status != 200:
            errors += 1
        i += 1
        time.sleep(interval)
    latencies_us.sort()
    def pct(p):
        return latencies_us[min(len(latencies_us) - 1, (len(latencies_us) * p) // 1000)] / 1000
    print(f"spend reads    {len(latencies_us)} during ingest, errors {errors}: "
          f"p50 {pct(500):.3f} ms, p99 {pct(990):.3f} ms, p99.9 {pct(999):.3f} ms, "
          f"max {latencies_us[-1] / 1000:.3f} ms")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
