"""Back-pressure of POST /v1/usage on the real daemon (issue #4): with tiny queues, rounds of
concurrent usage requests on separate connections must be partly refused, and every refusal must
be 429 problem+json with Retry-After (docs/errors.md, docs/operations.md); every other answer is
200, and the store holds exactly the events the 200 answers accepted. Resending the refused
requests then completes the feed with no event lost or counted twice.

Each class fills one stage: `ParseQueue` the parse stage (`--parse-queue-capacity 1`, large
bodies), `ShardQueue` the shard queues (parse and shard queues of one, many small bodies).
`WriterQueue` holds the storage writer's queue to one as well: shards take a slice only with a
writer slot reserved, so a full writer queue backs up into the shard queues and is answered 429
too — never a refused job, a 503 or a shard recovery.
"""

import http.client
import json
import threading
import time
import unittest
from decimal import Decimal

from harness import DaemonTestCase

CUSTOMER = "c0ffee00-0000-4000-8000-000000000001"  # of the `basic` example
ENTITLEMENT = "e1000000-0000-4000-8000-000000000001"
METER = "0a3c6e2a-6d1f-4c55-9a43-5f1c2b7d9e01"
MONTH = "2026-11"

MAX_ROUNDS = 5  # rounds tried until one is refused with the detail a class looks for
# The refusal details of daemon/core (a client only relies on the status and Retry-After; the
# test uses them to tell which stage pushed back).
PARSE_QUEUE_FULL = "usage parse queue full"
SHARD_QUEUE_FULL = "ingest queue full"


def body_of(round_name, request, events, days=19):
    """One request's NDJSON: `events` events of quantity 1 on a resource of its own over `days`
    days, all of one customer, so the request goes to one shard and is counted busy at most
    once."""
    uri = f"/subscriptions/{ENTITLEMENT}/resourceGroups/bp/providers/x/y/{round_name}-{request}"
    lines = []
    for i in range(events):
        lines.append(json.dumps({
            "id": f"bp-{round_name}-{request}-{i}", "entitlement_id": ENTITLEMENT,
            "meter_id": METER, "resource_uri": uri, "quantity": "1",
            "timestamp": f"2026-11-{1 + i % days:02d}T10:00:00Z"}))
    return ("\n".join(lines) + "\n").encode()


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode())

    def __repr__(self):
        return f"<HTTP {self.status} {self.headers.get('content-type')} {self.body[:300]!r}>"


def post(port, token, body):
    """POST /v1/usage on a connection of its own."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("POST", "/v1/usage", body=body,
                     headers={"Authorization": f"Bearer {token}",
                              "Content-Type": "application/x-ndjson"})
        resp = conn.getresponse()
        return Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


class RoundChecks:
    """Rounds of `requests` concurrent POSTs of `events` events each against a daemon started
    with `queue_args`, until the stage under test refused one (with `want_detail`)."""

    queue_args = None
    requests = None
    events = None
    want_detail = None

    def setUp(self):
        super().setUp()
        args = ["--workers", "2", "--io-threads", "2",
                "--max-connections", str(self.requests + 16)] + self.queue_args
        self.daemon = self.start_daemon(extra_args=args)
        self.daemon.load_reference("basic")

    # ---------------------------------------------------------------- helpers

    def metric(self, name, **labels):
        return self.daemon.metric(name, **labels)

    def run_together(self, senders):
        """Runs each sender on a thread of its own (a barrier releases them together). A sender
        returns a list of (body, events, answer); returns all of them in sender order."""
        results = [[] for _ in senders]
        errors = []
        start = threading.Barrier(len(senders))

        def run(i):
            try:
                start.wait(timeout=30)
                results[i] = senders[i]()
            except Exception as e:  # reported below; a thread must not die silently
                errors.append(f"sender {i}: {e!r}")

        threads = [threading.Thread(target=run, args=(i,)) for i in range(len(senders))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        self.assertEqual(errors, [], "every request got an answer")
        return [r for rs in results for r in rs]

    def round(self, n):
        """Round n of requests: `requests` bodies of `events` events at once, each on its own
        connection."""
        port, token = self.daemon.port, self.daemon.admin_token

        def sender(r):
            body = body_of(f"{n}", f"{r}", self.events)
            return lambda: [(body, self.events, post(port, token, body))]

        return self.run_together([sender(r) for r in range(self.requests)])

    def stored_quantity(self):
        """The quantity stored on this test's resources (every event has quantity 1)."""
        lines = self.daemon.get_all(f"/v1/customers/{CUSTOMER}/lines?month={MONTH}", "lines",
                                    limit=1000)
        return sum(Decimal(str(l["quantity"])) for l in lines if "/bp/" in l["resource_uri"])

    def assertRefusal(self, answer, what):
        """A 429 problem+json with Retry-After in whole seconds; returns the seconds."""
        self.assertEqual(answer.status, 429, what)
        self.assertEqual(answer.headers.get("content-type", "").split(";")[0].strip(),
                         "application/problem+json", f"{what}: {answer!r}")
        doc = answer.json()
        for key in ("type", "title", "status", "detail"):
            self.assertIn(key, doc, f"{what}: problem without {key}: {answer!r}")
        self.assertEqual(doc["status"], 429, f"{what}: {answer!r}")
        retry_after = answer.headers.get("retry-after")
        self.assertIsNotNone(retry_after, f"{what}: 429 without Retry-After: {answer!r}")
        self.assertRegex(retry_after, r"^[1-9][0-9]*$", f"{what}: Retry-After in seconds")
        return int(retry_after)

    def stage_pushed_back(self, details):
        """Whether the stage under test refused something, given the 429 details seen."""
        return self.want_detail in details

    # ---------------------------------------------------------------- the check

    def check_rounds_are_partly_refused_with_429_and_nothing_is_lost(self):
        busy_before = self.metric("meterd_usage_requests_refused_total", reason="busy")
        accepted_before = self.metric("meterd_events_total", result="accepted")
        sent = []      # (body, events) of every request sent
        refused = []   # indexes into `sent` answered 429
        accepted = 0   # events the 200 answers accepted
        details = set()
        retry_after = 1
        for n in range(MAX_ROUNDS):
            for body, events, answer in self.round(n):
                what = f"round {n}, request {len(sent)}"
                if answer.status == 429:
                    retry_after = max(retry_after, self.assertRefusal(answer, what))
                    details.add(answer.json()["detail"])
                    refused.append(len(sent))
                else:
                    self.assertEqual(answer.status, 200,
                                     f"{what}: not 429, so it must be 200: {answer!r}")
                    doc = answer.json()
                    self.assertEqual((doc["accepted"], doc["duplicates"], doc["rejected"],
                                      doc["errors"]), (events, 0, 0, []), f"{what}: {doc}")
                    accepted += doc["accepted"]
                sent.append((body, events))
            if self.stage_pushed_back(details):
                break
        self.assertTrue(self.stage_pushed_back(details),
                        f"{len(sent)} requests in {MAX_ROUNDS} rounds were never refused by "
                        f"the stage under test ({len(refused)} refusals: {sorted(details)})")
        self.assertGreater(accepted, 0, "some requests got through")

        # Each refused request went to one shard (one customer), so it counts once as busy.
        self.assertEqual(self.metric("meterd_usage_requests_refused_total", reason="busy"),
                         busy_before + len(refused), f"429s by detail: {sorted(details)}")
        # The store holds exactly what the 200 answers acknowledged: a refused request left
        # nothing behind, an accepted one is there whole.
        self.assertEqual(self.stored_quantity(), accepted)
        self.assertEqual(self.metric("meterd_events_total", result="accepted"),
                         accepted_before + accepted)

        # Resending what was refused (one at a time, after Retry-After) completes the feed:
        # nothing is counted twice and nothing is missing.
        pending = list(refused)
        for _ in range(30):
            if not pending:
                break
            time.sleep(retry_after)
            still = []
            for i in pending:
                body, events = sent[i]
                answer = post(self.daemon.port, self.daemon.admin_token, body)
                if answer.status == 429:
                    retry_after = max(retry_after, self.assertRefusal(answer, f"resend {i}"))
                    still.append(i)
                    continue
                self.assertEqual(answer.status, 200, f"resend {i}: {answer!r}")
                doc = answer.json()
                self.assertEqual((doc["accepted"], doc["duplicates"]), (events, 0),
                                 f"resend {i}: a refused request stored nothing: {doc}")
                accepted += doc["accepted"]
            pending = still
        self.assertEqual(pending, [], "refused requests still refused after 30 rounds")
        total = sum(events for _, events in sent)
        self.assertEqual(accepted, total)
        self.assertEqual(self.stored_quantity(), total)


class ParseQueue(RoundChecks, DaemonTestCase):
    # One body parsing at a time across both parse threads. Equal bodies sent together rarely
    # meet in the parse stage (receiving a body takes about as long as parsing it), so each
    # round parses one large body while small ones keep arriving until it is answered.
    queue_args = ["--parse-queue-capacity", "1"]
    requests = 4        # small-body senders beside the large body
    events = 20         # per small body
    large_events = 60_000  # ~18 MB
    want_detail = PARSE_QUEUE_FULL

    def round(self, n):
        port, token = self.daemon.port, self.daemon.admin_token
        large_done = threading.Event()

        def large():
            body = body_of(f"{n}", "large", self.large_events)
            try:
                return [(body, self.large_events, post(port, token, body))]
            finally:
                large_done.set()

        def small(r):
            def send():
                out = []
                for j in range(10_000):
                    if large_done.is_set():
                        break
                    body = body_of(f"{n}", f"s{r}-{j}", self.events, days=1)
                    out.append((body, self.events, post(port, token, body)))
                return out
            return send

        return self.run_together([large] + [small(r) for r in range(self.requests)])

    def test_a_full_parse_queue_answers_429_and_nothing_is_lost(self):
        self.check_rounds_are_partly_refused_with_429_and_nothing_is_lost()


class ShardQueue(RoundChecks, DaemonTestCase):
    queue_args = ["--parse-queue-capacity", "1", "--shard-queue-capacity", "1"]
    requests = 48
    events = 300
    want_detail = SHARD_QUEUE_FULL

    def test_a_full_shard_queue_answers_429_and_nothing_is_lost(self):
        self.check_rounds_are_partly_refused_with_429_and_nothing_is_lost()


class WriterQueue(RoundChecks, DaemonTestCase):
    queue_args = ["--parse-queue-capacity", "1", "--shard-queue-capacity", "1",
                  "--writer-queue-capacity", "1"]
    requests = 48
    events = 300

    def stage_pushed_back(self, details):
        # A shard takes a slice only with a writer slot in hand (daemon/core/shard.cc, Run), so
        # a full writer queue holds slices in the shard queue, which then answers 429: any 429
        # here is the writer pushing back through the shards.
        return len(details) > 0

    def test_a_full_writer_queue_answers_429_too(self):
        self.check_rounds_are_partly_refused_with_429_and_nothing_is_lost()
        # The writer itself never had to refuse a job (that would fail it after its slice was
        # applied to memory: 503 and a shard recovery).
        self.assertEqual(self.metric("meterd_storage_jobs_total", outcome="rejected"), 0)
        self.assertEqual(self.metric("meterd_usage_requests_refused_total", reason="storage"), 0)


if __name__ == "__main__":
    unittest.main()
