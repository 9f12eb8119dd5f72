"""Crash smoke: crash_harness.py with a handful of kill -9s (the long run with hundreds is
scripts/crash_long.sh, figures in docs/reliability.md). Concurrent senders stream uniquely
identified events; after each restart acknowledged events re-sent must all be duplicates, and
at the end every line and the month's spend equal the harness's own Decimal sum."""

import os
import random
import time
import unittest

from crash_harness import CrashHarness, Failure
from harness import DaemonTestCase

KILLS = 8


class CrashResend(DaemonTestCase):

    def test_acknowledged_events_count_exactly_once_across_random_kills(self):
        # A fresh seed each run explores other kill moments; it is printed so a failure can be
        # replayed (METERD_CRASH_SEED=<seed>).
        seed = int(os.environ.get("METERD_CRASH_SEED", random.randrange(1 << 30)))
        print(f"crash smoke seed {seed}", flush=True)
        h = CrashHarness(self.tmp, senders=3, seed=seed, max_batch=150, log=lambda m: None)
        self._daemons.append(h.daemon)  # killed and its log shown by the test's cleanup
        started = time.monotonic()
        try:
            result = h.run(KILLS, min_s=0.2, max_s=1.2, progress_every=0)
        except Failure as e:
            self.fail(f"seed {seed}: {e}")
        print(f"crash smoke: {result}", flush=True)
        self.assertEqual(result["kills"], KILLS)
        self.assertEqual(result["losses"], 0)
        self.assertEqual(result["duplicates"], 0)
        # A run where the kills always came before any answer would prove nothing.
        self.assertGreater(result["acknowledged"], 0)
        self.assertGreater(result["requests_without_answer"], 0,
                           "no kill interrupted a request in flight")
        self.assertEqual(result["acknowledged"], result["events"])
        self.assertLess(time.monotonic() - started, 120)


if __name__ == "__main__":
    unittest.main()
