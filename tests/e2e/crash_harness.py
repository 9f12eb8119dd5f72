#!/usr/bin/env python3
"""Crash-safety harness: the promise "an acknowledged event is never lost nor counted twice"
tested against a real meterd that is killed with SIGKILL at random moments.

Several sender threads stream uniquely identified usage events over HTTP. At a random moment
the daemon gets kill -9 and is restarted on the same data directory. After every restart the
harness

  * re-sends a sample of the events that were acknowledged before, in batches of their own:
    every one must come back as a duplicate (an `accepted` there is a lost acknowledged event);
  * re-sends every event whose request got no 200 answer (it may or may not have been
    committed before the kill; either way it must end up counted exactly once);

and keeps streaming new events until the next kill. At the end it restarts once more, re-sends
everything ever sent (all must be duplicates now) and compares the daemon's daily lines and
month spend with its own independent sum, computed with decimal.Decimal from the events it
generated: per line the quantity, list and billed amounts; per month the spend totals.

Every event has a random quantity with up to six fractional digits, so one lost or doubled
event changes a line's quantity; and quantity × the list prices (0.096, 0.004) stays exact.

Usage (also imported by test_crash_resend.py):
  METERD_BIN=build/release/daemon/meterd python3 tests/e2e/crash_harness.py --kills 200
"""

import argparse
import http.client
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import Daemon  # noqa: E402

CUSTOMER = "c0ffee00-0000-4000-8000-000000000001"
ENTITLEMENT = "e1000000-0000-4000-8000-000000000001"  # azure_plan with AOBO: earns PEC
MONTH = "2026-11"
# The two flat meters of the basic example's US price sheet, with their list prices.
METERS = {
    "0a3c6e2a-6d1f-4c55-9a43-5f1c2b7d9e01": Decimal("0.096"),  # D2s v3, hours
    "5b7f0e8c-2f44-4d0a-8e61-7c9a3b1d2e02": Decimal("0.004"),  # public IP, hours
}
PEC_RATE = Decimal("0.15")  # meterd's default rating.pec_rate
NANO = Decimal("0.000000001")
RESOURCES = 6
DAYS = range(1, 20)  # 2026-11-01 .. 19: before the fixed clock, none too old


def make_event(rng, sender, seq):
    meter = rng.choice(list(METERS))
    day = rng.choice(DAYS)
    kind = "virtualMachines" if meter.startswith("0a3c") else "publicIPAddresses"
    # Up to six fractional digits: quantity × price is exact at nine.
    quantity = Decimal(rng.randint(1, 20_000_000)) / Decimal(1_000_000)
    return {
        "id": f"crash-s{sender}-{seq:08d}",
        "entitlement_id": ENTITLEMENT,
        "meter_id": meter,
        "resource_uri": f"/subscriptions/{ENTITLEMENT}/resourceGroups/crash/providers/"
                        f"Microsoft.Compute/{kind}/r-{rng.randrange(RESOURCES)}",
        "quantity": str(quantity),
        "timestamp": f"2026-11-{day:02d}T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00Z",
    }


class Failure(AssertionError):
    pass


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.kills = 0
        self.restarts = 0
        self.requests = 0
        self.acked_requests = 0
        self.failed_requests = 0  # transport error or no 200: events stay unacknowledged
        self.retry_answers = 0     # 429/503 with Retry-After
        self.verified_acked = 0    # acknowledged events re-sent and found stored
        self.losses = 0            # acknowledged events the daemon accepted again
        self.duplicates = 0        # line/spend excess over the independent sum (in events)

    def add(self, **kw):
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)


class CrashHarness:
    def __init__(self, workdir, senders=4, seed=1, max_batch=200, log=print, daemon_args=()):
        self.workdir = Path(workdir)
        self.senders = senders
        self.rng = random.Random(seed)
        self.seed = seed
        self.max_batch = max_batch
        self.log = log
        self.daemon = Daemon(self.workdir / "d", extra_args=daemon_args)
        self.events = {}        # id -> event (the exact bytes are re-rendered identically)
        self.acked = set()      # ids whose request was answered 200
        self.unacked = {}       # id -> event, sent but not (yet) acknowledged
        self.lock = threading.Lock()
        self.next_seq = [0] * senders
        self.stats = Stats()

    # ------------------------------------------------------------------ HTTP

    def post(self, port, token, events, timeout=30):
        """One POST /v1/usage. Returns the parsed answer, or None on transport error or a
        non-200 answer (the events then count as unacknowledged)."""
        body = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events).encode()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            conn.request("POST", "/v1/usage", body=body, headers={
                "Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"})
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException):
            return None
        finally:
            conn.close()
        self.stats.add(requests=1)
        if resp.status in (429, 503):
            if not resp.getheader("Retry-After"):
                raise Failure(f"{resp.status} without Retry-After: {data[:300]!r}")
            self.stats.add(retry_answers=1)
            return None
        if resp.status != 200:
            raise Failure(f"POST /v1/usage answered {resp.status}: {data[:500]!r}")
        doc = json.loads(data)
        if doc.get("rejected") != 0 or doc["accepted"] + doc["duplicates"] != len(events):
            raise Failure(f"unexpected answer for {len(events)} events: {doc}")
        return doc

    # ------------------------------------------------------------------ senders

    def sender(self, index, port, token, stop, rng):
        """Streams until `stop` is set or the daemon goes away. First re-sends its share of
        the unacknowledged events, then fresh ones."""
        with self.lock:
            mine = [e for i, e in sorted(self.unacked.items())
                    if hash(i) % self.senders == index]
        while not stop.is_set():
            size = rng.randint(1, self.max_batch)
            if mine:
                batch, mine = mine[:size], mine[size:]
            else:
                batch = []
                with self.lock:
                    for _ in range(size):
                        e = make_event(rng, index, self.next_seq[index])
                        self.next_seq[index] += 1
                        self.events[e["id"]] = e
                        self.unacked[e["id"]] = e
                        batch.append(e)
            doc = self.post(port, token, batch)
            if doc is None:
                self.stats.add(failed_requests=1)
                return  # the daemon is gone (or pushing back): wait for the next round
            self.stats.add(acked_requests=1)
            with self.lock:
                for e in batch:
                    self.unacked.pop(e["id"], None)
                    self.acked.add(e["id"])

    # ------------------------------------------------------------------ checks

    def verify_acked(self, port, token, ids):
        """Re-sends acknowledged events in batches of their own: all must be duplicates."""
        ids = sorted(ids)
        for start in range(0, len(ids), 1000):
            batch = [self.events[i] for i in ids[start:start + 1000]]
            for _ in range(100):
                doc = self.post(port, token, batch, timeout=120)
                if doc is not None:
                    break
                time.sleep(0.2)
            else:
                raise Failure("the daemon did not take a verification batch")
            self.stats.add(verified_acked=len(batch))
            if doc["accepted"] != 0:
                self.stats.add(losses=doc["accepted"])
                raise Failure(f"{doc['accepted']} acknowledged events were not stored "
                              f"(batch {batch[0]['id']}..{batch[-1]['id']})")

    def drain_unacked(self, port, token):
        """Without kills: re-send until every event sent is acknowledged."""
        for _ in range(1000):
            with self.lock:
                pending = sorted(self.unacked.items())
            if not pending:
                return
            for start in range(0, len(pending), 1000):
                batch = [e for _, e in pending[start:start + 1000]]
                if self.post(port, token, batch, timeout=120) is None:
                    time.sleep(0.2)
                    continue
                with self.lock:
                    for e in batch:
                        self.unacked.pop(e["id"], None)
                        self.acked.add(e["id"])
        raise Failure("unacknowledged events remain after 1000 attempts")

    def expected_lines(self):
        lines = defaultdict(Decimal)
        for e in self.events.values():
            key = (e["meter_id"], e["resource_uri"].lower(), e["timestamp"][:10])
            lines[key] += Decimal(e["quantity"])
        return lines

    def check_totals(self):
        d = self.daemon
        got = {}
        for line in d.get_all(f"/v1/customers/{CUSTOMER}/lines?month={MONTH}", "lines",
                              limit=1000):
            if "/resourcegroups/crash/" not in line["resource_uri"]:
                continue
            key = (line["meter_id"], line["resource_uri"], line["usage_date"])
            if key in got:
                raise Failure(f"line listed twice: {key}")
            got[key] = line
        want = self.expected_lines()
        problems = []
        excess = Decimal(0)
        list_total = billed_total = Decimal(0)
        for key in sorted(set(want) | set(got)):
            if key not in got:
                problems.append(f"missing line {key}")
                continue
            if key not in want:
                problems.append(f"unexpected line {key}")
                continue
            line, qty = got[key], want[key]
            price = METERS[key[0]]
            list_usd = qty * price  # exact: ≤ 6 + 3 fractional digits
            billed = (qty * price * (1 - PEC_RATE)).quantize(NANO, rounding=ROUND_HALF_EVEN)
            list_total += list_usd
            billed_total += billed
            if Decimal(line["quantity"]) != qty:
                excess += Decimal(line["quantity"]) - qty
                problems.append(f"{key}: quantity {line['quantity']}, expected {qty}")
            if Decimal(line["list_usd"]) != list_usd:
                problems.append(f"{key}: list_usd {line['list_usd']}, expected {list_usd}")
            if Decimal(line["billed_usd"]) != billed:
                problems.append(f"{key}: billed_usd {line['billed_usd']}, expected {billed}")
        spend = d.get_json(f"/v1/customers/{CUSTOMER}/spend?month={MONTH}")
        if Decimal(spend["list_usd"]) != list_total:
            problems.append(f"spend list_usd {spend['list_usd']}, expected {list_total}")
        if Decimal(spend["billed_usd"]) != billed_total:
            problems.append(f"spend billed_usd {spend['billed_usd']}, expected {billed_total}")
        if problems:
            if excess > 0:
                self.stats.add(duplicates=1)
            raise Failure(f"{len(problems)} differences from the independent sum:\n  "
                          + "\n  ".join(problems[:30]))
        return len(got), list_total, billed_total

    # ------------------------------------------------------------------ the run

    def setup(self):
        d = self.daemon.start()
        d.load_reference("basic")
        # Nothing of the example's own usage: the month holds only this harness's events.
        return d

    def one_round(self, kill_after):
        d = self.daemon
        port, token = d.port, d.admin_token
        with self.lock:
            sample_size = min(len(self.acked), max(50, len(self.acked) // 50))
            sample = self.rng.sample(sorted(self.acked), sample_size) if sample_size else []
        self.verify_acked(port, token, sample)
        stop = threading.Event()
        threads = [threading.Thread(target=self.sender,
                                    args=(i, port, token, stop,
                                          random.Random(self.rng.random())))
                   for i in range(self.senders)]
        for t in threads:
            t.start()
        time.sleep(kill_after)
        d.kill()  # SIGKILL: nothing is flushed, nothing is answered
        self.stats.add(kills=1)
        stop.set()
        for t in threads:
            t.join(120)
            if t.is_alive():
                raise Failure("a sender hung after the kill")
        d.start()
        self.stats.add(restarts=1)

    def run(self, kills, min_s=0.05, max_s=1.5, progress_every=10):
        started = time.monotonic()
        self.setup()
        for k in range(kills):
            # Mostly mid-stream; one in ten right after the restart, while re-sends are
            # still in flight.
            after = (self.rng.uniform(0.0, 0.05) if self.rng.random() < 0.1
                     else self.rng.uniform(min_s, max_s))
            self.one_round(after)
            if progress_every and (k + 1) % progress_every == 0:
                self.log(f"crash: {k + 1}/{kills} kills, {len(self.events)} events, "
                         f"{len(self.acked)} acknowledged, {len(self.unacked)} pending, "
                         f"{time.monotonic() - started:.0f}s")
        d = self.daemon
        self.drain_unacked(d.port, d.admin_token)
        # The last restart: everything ever sent is acknowledged now and must be stored.
        d.kill()
        d.start()
        self.verify_acked(d.port, d.admin_token, set(self.acked))
        lines, list_total, billed_total = self.check_totals()
        d.stop()
        return {
            "kills": self.stats.kills,
            "events": len(self.events),
            "acknowledged": len(self.acked),
            "requests": self.stats.requests,
            "requests_without_answer": self.stats.failed_requests,
            "retry_answers": self.stats.retry_answers,
            "acknowledged_events_reverified": self.stats.verified_acked,
            "losses": self.stats.losses,
            "duplicates": self.stats.duplicates,
            "lines": lines,
            "list_usd": str(list_total),
            "billed_usd": str(billed_total),
            "seconds": round(time.monotonic() - started, 1),
        }


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kills", type=int, default=200)
    ap.add_argument("--senders", type=int, default=4)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--max-batch", type=int, default=200)
    ap.add_argument("--max-interval", type=float, default=1.5,
                    help="longest run between kills, seconds")
    ap.add_argument("--keep", action="store_true", help="keep the data directory")
    ap.add_argument("--meterd-arg", action="append", default=[],
                    help="one meterd argument for every start (repeat: --meterd-arg=--workers --meterd-arg=4)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="meterd-crash-"))
    h = CrashHarness(work, senders=args.senders, seed=args.seed, max_batch=args.max_batch,
                     log=lambda m: print(m, flush=True), daemon_args=args.meterd_arg)
    print(f"crash: seed {args.seed}, data in {work}", flush=True)
    try:
        result = h.run(args.kills, max_s=args.max_interval)
    except Failure as e:
        h.daemon.kill()
        print(f"crash: FAILED (seed {args.seed}, kept {work}): {e}", flush=True)
        print(h.daemon.log_tail(), flush=True)
        return 1
    print("crash: " + json.dumps(result), flush=True)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
