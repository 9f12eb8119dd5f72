"""Resource URIs up to the 1024-byte limit: LMDB keys keep only a prefix and a hash of them, so
the full URI must come back from the stored value — also after a restart, when the ledger is
rebuilt from the store — and two long URIs sharing a prefix must stay two lines. A short URI's
value leaves it out (the key holds it), so it must come back from the key."""

import json

from harness import DaemonTestCase

CUSTOMER = "c0ffee00-0000-4000-8000-000000000001"
ENT = "e1000000-0000-4000-8000-000000000001"
METER = "0a3c6e2a-6d1f-4c55-9a43-5f1c2b7d9e01"


def event(i, uri, qty="1"):
    return json.dumps({"id": f"long-{i}", "entitlement_id": ENT, "meter_id": METER,
                       "resource_uri": uri, "quantity": qty,
                       "timestamp": "2026-11-10T10:00:00Z"})


class LongResourceUris(DaemonTestCase):
    def test_long_uris_round_trip_and_stay_distinct_across_a_restart(self):
        d = self.start_daemon()
        d.load_reference("basic")
        base = f"/subscriptions/{ENT}/resourcegroups/rg/providers/microsoft.compute/virtualmachines/"
        uri_a = base + "a" * (1024 - len(base) - 1) + "x"
        uri_b = base + "a" * (1024 - len(base) - 1) + "y"
        self.assertEqual(len(uri_a.encode()), 1024)
        # A short URI beside them: its key holds it whole, so its stored value does not repeat
        # it, and it must come back from the key (after the restart too).
        uri_c = base + "short-vm"
        answer = d.post_usage("\n".join([event(1, uri_a), event(2, uri_b, "2"),
                                         event(4, uri_c, "3")]))
        self.assertEqual(answer["accepted"], 3, answer)

        def lines():
            got = d.get_json(f"/v1/customers/{CUSTOMER}/lines?month=2026-11")["lines"]
            return sorted((l["resource_uri"], l["quantity"]) for l in got)

        expected = [(uri_a, "1.000000000"), (uri_b, "2.000000000"), (uri_c, "3.000000000")]
        self.assertEqual(lines(), expected)
        d.kill()
        d.start()
        self.assertEqual(lines(), expected)
        answer = d.post_usage("\n".join([event(3, uri_a, "4"), event(5, uri_c, "1")]))
        self.assertEqual(answer["accepted"], 2, answer)
        self.assertEqual(lines(), [(uri_a, "5.000000000"), (uri_b, "2.000000000"),
                                   (uri_c, "4.000000000")])

    def test_long_uris_of_unknown_entitlements_keep_their_full_text(self):
        d = self.start_daemon()
        uri = "/subscriptions/unknown/" + "b" * 1000
        body = json.dumps({"id": "u1", "entitlement_id": "ent-unknown", "meter_id": METER,
                           "resource_uri": uri, "quantity": "3",
                           "timestamp": "2026-11-10T10:00:00Z"})
        self.assertEqual(d.post_usage(body)["accepted"], 1)
        got = d.get_json("/v1/unknown-usage")["lines"]
        self.assertEqual([(l["resource_uri"], l["quantity"]) for l in got], [(uri, "3.000000000")])

    def test_pages_ending_on_a_long_uri_resume_after_it(self):
        # A page that ends on a line whose key holds a truncated URI (a maximum-size key) must
        # hand out a cursor that resumes after it (3bc35e9: it once gave 422 'bad key size').
        d = self.start_daemon()
        d.load_reference("basic")
        base = f"/subscriptions/{ENT}/resourcegroups/rg/providers/microsoft.compute/virtualmachines/"
        uris = [base + c * (1024 - len(base)) for c in "pqr"]
        answer = d.post_usage("\n".join(event(i, u) for i, u in enumerate(uris)))
        self.assertEqual(answer["accepted"], 3, answer)
        got = d.get_all(f"/v1/customers/{CUSTOMER}/lines?month=2026-11", "lines", limit=1)
        self.assertEqual(sorted(l["resource_uri"] for l in got), uris)

        unknown = [json.dumps({"id": f"u{i}", "entitlement_id": "ent-unknown",
                               "meter_id": METER, "resource_uri": "/x/" + c * 1020,
                               "quantity": "1", "timestamp": "2026-11-10T10:00:00Z"})
                   for i, c in enumerate("stu")]
        self.assertEqual(d.post_usage("\n".join(unknown))["accepted"], 3)
        got = d.get_all("/v1/unknown-usage", "lines", limit=1)
        self.assertEqual(sorted(l["resource_uri"] for l in got),
                         ["/x/" + c * 1020 for c in "stu"])
