"""server.io_realtime: the HTTP I/O threads, and only they, run under SCHED_FIFO at priority 1
(common/thread_name.h) when the process may (RLIMIT_RTPRIO >= 1 or CAP_SYS_NICE); otherwise
meterd says so once and runs them as normal threads. Reads work either way."""

import os
import resource
import unittest

from harness import DaemonTestCase


def realtime_allowed():
    if resource.getrlimit(resource.RLIMIT_RTPRIO)[0] >= 1:
        return True
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return bool((int(line.split()[1], 16) >> 23) & 1)
    return False


def threads(pid):
    """comm -> [(tid, policy)] of the process's threads."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            comm = f.read().strip()
        out.setdefault(comm, []).append((int(tid), os.sched_getscheduler(int(tid))))
    return out


class IoRealtime(DaemonTestCase):

    def test_io_threads_are_realtime_when_allowed_and_nothing_else_is(self):
        d = self.start_daemon(extra_args=("--io-realtime", "--io-threads", "3"))
        by_name = threads(d.proc.pid)
        io = [p for name, ts in by_name.items() if name.startswith("meterd-io-") for _, p in ts]
        self.assertEqual(len(io), 3, by_name)
        others = [(name, p) for name, ts in by_name.items() if not name.startswith("meterd-io-")
                  for _, p in ts]
        self.assertTrue(others)
        self.assertEqual([n for n, p in others if p != os.SCHED_OTHER], [], by_name)
        log = d.log_path.read_text()
        if realtime_allowed():
            self.assertEqual(set(io), {os.SCHED_FIFO})
            for name, ts in by_name.items():
                if name.startswith("meterd-io-"):
                    self.assertEqual(os.sched_getparam(ts[0][0]).sched_priority, 1)
            self.assertNotIn("server.io_realtime:", log)
        else:
            self.assertEqual(set(io), {os.SCHED_OTHER})
            self.assertEqual(log.count("server.io_realtime:"), 1, log)
        self.assertStatus(d.get("/readyz"), 200)

    def test_io_threads_are_normal_by_default(self):
        d = self.start_daemon()
        io = [p for name, ts in threads(d.proc.pid).items() if name.startswith("meterd-io-")
              for _, p in ts]
        self.assertEqual(set(io), {os.SCHED_OTHER})


if __name__ == "__main__":
    unittest.main()
