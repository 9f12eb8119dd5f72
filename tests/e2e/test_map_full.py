"""Resource exhaustion end to end: a full LMDB map (growth capped) and a full disk (simulated
with RLIMIT_FSIZE, which makes the daemon's writes fail with EFBIG like ENOSPC would) must
answer POST /v1/usage with 503 problem+json and Retry-After, keep serving reads, never
half-apply the refused batch, keep everything acknowledged, and take usage again once space
returns: after a restart with a bigger map, or at once when the disk has room again."""

import json
import resource
import signal
import unittest
from decimal import Decimal

from harness import DaemonTestCase

CUSTOMER = "c0ffee00-0000-4000-8000-000000000001"
E1 = "e1000000-0000-4000-8000-000000000001"
VM_METER = "0a3c6e2a-6d1f-4c55-9a43-5f1c2b7d9e01"
MONTH = "2026-11"
MIB = 1 << 20
BATCH = 200


def batch_body(tag, b):
    """BATCH events with unique ids and long resource URIs (each a line of its own, so the
    store grows quickly). Quantities have three decimals: quantity × 0.096 stays exact."""
    lines = []
    for i in range(BATCH):
        n = b * BATCH + i
        lines.append(json.dumps({
            "id": f"{tag}-{n:07d}", "entitlement_id": E1, "meter_id": VM_METER,
            "resource_uri": f"/subscriptions/{E1}/resourceGroups/full/providers/"
                            f"Microsoft.Compute/virtualMachines/{tag}-{n:07d}-" + "x" * 300,
            "quantity": f"{1 + n % 97}.{n % 1000:03d}",
            "timestamp": f"2026-11-{1 + n % 19:02d}T{n % 24:02d}:00:00Z"}))
    return ("\n".join(lines) + "\n").encode()


def quantity_of(body):
    return sum(Decimal(json.loads(line)["quantity"]) for line in body.splitlines())


class FullStoreChecks:
    """Filling a store until it refuses usage, and checking it holds exactly what was
    acknowledged (shared with test_reload.py). Mixed into a DaemonTestCase."""

    def post(self, d, body):
        return d.request("POST", "/v1/usage", body, content_type="application/x-ndjson")

    def fill_until_503(self, d, tag, limit=2000):
        """Posts fresh batches until one is refused; returns (acknowledged bodies, the refused
        body, the 503 response)."""
        acked = []
        for b in range(limit):
            body = batch_body(tag, b)
            r = self.post(d, body)
            if r.status == 200:
                doc = r.json()
                self.assertEqual((doc["accepted"], doc["duplicates"], doc["rejected"]),
                                 (BATCH, 0, 0), doc)
                acked.append(body)
                continue
            self.assertProblem(r, 503, "a full store")
            self.assertTrue(r.headers.get("retry-after", "").isdigit(),
                            f"503 without a numeric Retry-After: {r!r}")
            return acked, body, r
        self.fail(f"the store never filled after {limit} batches")

    def post_refused_again(self, d, acked, refused, tag, what):
        """Posts the refused batch again: refused whole (503), or accepted whole, since the
        journal's fold may have freed pages since the 503 (it deletes the records it folded).
        Then the batch joins `acked` and one never sent stands in for it. Returns the batch
        that is still unsent or refused."""
        r = self.post(d, refused)
        if r.status != 200:
            self.assertProblem(r, 503, what)
            return refused
        self.assertEqual((r.json()["accepted"], r.json()["duplicates"]), (BATCH, 0), r.json())
        acked.append(refused)
        return batch_body(f"{tag}-unsent", 0)

    def full_lines_quantity(self, d):
        lines = d.get_all(f"/v1/customers/{CUSTOMER}/lines?month={MONTH}", "lines", limit=1000)
        return sum(Decimal(x["quantity"]) for x in lines
                   if "/resourcegroups/full/" in x["resource_uri"]), len(lines)

    def assert_store_holds_exactly(self, d, acked, what):
        """Every acknowledged event stored (re-sent, all duplicates) and nothing else."""
        want = sum((quantity_of(b) for b in acked), Decimal(0))
        got, _ = self.full_lines_quantity(d)
        self.assertEqual(got, want, f"{what}: line quantities differ from the acknowledged sum")
        spend = d.get_json(f"/v1/customers/{CUSTOMER}/spend?month={MONTH}")
        self.assertEqual(Decimal(spend["list_usd"]), want * Decimal("0.096"), what)
        for body in acked:
            r = self.post(d, body)
            self.assertStatus(r, 200, what)
            self.assertEqual(r.json()["duplicates"], BATCH,
                             f"{what}: an acknowledged batch is not (fully) stored")


class StorageFull(FullStoreChecks, DaemonTestCase):

    def test_a_full_map_answers_503_keeps_acknowledged_data_and_a_bigger_map_recovers(self):
        # 2 MiB without growth: room for the example's reference data and a few hundred lines.
        d = self.start_daemon(extra_args=["--map-size", "2MiB", "--map-max", "2MiB",
                                          "--map-growth", "1MiB"])
        d.load_reference("basic")
        acked, refused, _ = self.fill_until_503(d, "map")
        self.assertGreater(len(acked), 0, "the map was full before any usage")
        # Reads keep working on a full map, and the refused batch left no trace in memory.
        self.assertStatus(d.get(f"/v1/customers/{CUSTOMER}/spend?month={MONTH}"), 200)
        got, _ = self.full_lines_quantity(d)
        self.assertEqual(got, sum((quantity_of(b) for b in acked), Decimal(0)),
                         "the refused batch shows in the lines before any restart")
        # Another attempt is refused the same way, not half-applied.
        refused = self.post_refused_again(d, acked, refused, "map", "still full")

        d.kill()
        d.extra_args = ["--map-size", "64MiB", "--map-max", "64MiB"]
        d.start()
        self.assert_store_holds_exactly(d, acked, "after a restart with a bigger map")
        # The refused batch was never applied: now it is accepted whole.
        r = self.post(d, refused)
        self.assertStatus(r, 200)
        self.assertEqual((r.json()["accepted"], r.json()["duplicates"]), (BATCH, 0), r.json())
        self.assert_store_holds_exactly(d, acked + [refused], "after the retry")

    def test_the_map_grows_under_a_batch_that_does_not_fit_and_at_reopen(self):
        # One request whose job alone outgrows the map: the writer grows the map and reruns
        # the batch — the shard's job must not count that as its own failure (it did: 503 and
        # a shard recovery). Then a restart with the same small map_size on the bigger file,
        # where LMDB maps only the used pages: the first batch must find room too.
        args = ["--map-size", "1MiB", "--map-max", "256MiB", "--map-growth", "1MiB"]
        d = self.start_daemon(extra_args=args)
        d.load_reference("basic")
        bodies = [batch_body("grow", b) for b in range(20)]  # 4,000 events, ~2.5 MB
        r = self.post(d, b"".join(bodies))
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["accepted"], 20 * BATCH)
        d.stop()
        d.start()
        bodies.append(batch_body("after-reopen", 0))
        r = self.post(d, bodies[-1])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["accepted"], BATCH)
        self.assert_store_holds_exactly(d, bodies, "after growing under a batch and a reopen")

    def test_a_full_disk_answers_503_and_ingest_resumes_in_process_when_space_returns(self):
        # The daemon inherits a file-size limit (soft; the hard limit stays, so it can be lifted
        # from outside with prlimit) and ignores SIGXFSZ, so an oversized write fails with EFBIG
        # instead of killing it. The map itself is large: only the disk runs out.
        limit = 3 * MIB
        saved = resource.getrlimit(resource.RLIMIT_FSIZE)
        old = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        try:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, saved[1]))
            d = self.start_daemon(extra_args=["--map-size", "64MiB", "--map-max", "64MiB"])
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, saved)
            signal.signal(signal.SIGXFSZ, old)
        self.assertEqual(resource.prlimit(d.proc.pid, resource.RLIMIT_FSIZE)[0], limit)
        d.load_reference("basic")
        acked, refused, _ = self.fill_until_503(d, "disk")
        self.assertGreater(len(acked), 0)
        self.assertTrue(d.running(), "a full disk must not kill the daemon")
        self.assertStatus(d.get(f"/v1/customers/{CUSTOMER}/spend?month={MONTH}"), 200)
        got, _ = self.full_lines_quantity(d)
        self.assertEqual(got, sum((quantity_of(b) for b in acked), Decimal(0)),
                         "the refused batch shows in the lines")

        # Space returns: the same process takes the refused batch whole, and more.
        resource.prlimit(d.proc.pid, resource.RLIMIT_FSIZE, saved)
        r = self.post(d, refused)
        self.assertStatus(r, 200, "after space returned")
        self.assertEqual((r.json()["accepted"], r.json()["duplicates"]), (BATCH, 0), r.json())
        more = batch_body("disk-after", 0)
        self.assertStatus(self.post(d, more), 200)
        self.assert_store_holds_exactly(d, acked + [refused, more], "after space returned")

        # And it all survives a crash.
        d.kill()
        d.start()
        self.assert_store_holds_exactly(d, acked + [refused, more], "after kill -9")


if __name__ == "__main__":
    unittest.main()
