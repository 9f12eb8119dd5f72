"""Tenant isolation, table-driven (issue #6, domain §6 and §8.33, api.md auth): every route of
the daemon's own OpenAPI document × every kind of caller × own / other partner's / nonexistent
object, against one real daemon.

For each cell the test asserts the status (401 no or revoked token, 403 wrong role, 404 out of
scope exactly like a missing object) and scans the raw body for anything the caller may not see:
the other partner's ids, names, amounts and alert ids, a reseller's wholesale figures (PEC,
billed, effective prices) and field names. The table is checked against /v1/openapi.json, so a
route added to the document without a row here fails the test instead of escaping it.

Two partners are seeded with distinctive ids and prices so a leak shows as a string match:
partner A (indirect) with customer A1 sold through reseller RA and customer A2 sold directly;
partner B (indirect) with customer B1 sold through reseller RX (NOK, so its amounts differ in
currency too); plus usage for an unknown entitlement that only admin may read (§8.34).
"""

import csv
import io
import json
import re
import unittest
from dataclasses import dataclass, field
from typing import Callable, Optional

from harness import NO_TOKEN, HttpAssertions, start_class_daemon

MONTH = "2026-11"

PARTNER_A, PARTNER_B = "pa-11111111-aaaa", "pb-22222222-bbbb"
MPN_A, MPN_B = "1110001", "2220002"
RESELLER_A, RESELLER_X = "rs-a-4444441", "rs-x-5555552"
A1, A2, B1 = "ca1-aaaa-0001", "ca2-aaaa-0002", "cb1-bbbb-0001"
ENT_A1, ENT_A2, ENT_B1 = "ea1-aaaa-e001", "ea2-aaaa-e002", "eb1-bbbb-e001"
METER_A, METER_B = "mtr-aaaa-0001", "mtr-bbbb-0002"
ENT_UNKNOWN = "eu-unknown-9999"
URI_A1 = f"/subscriptions/{ENT_A1}/resourcegroups/rg-alpha/providers/microsoft.compute/virtualmachines/vm-alpha1"
URI_A2 = f"/subscriptions/{ENT_A2}/resourcegroups/rg-alpha2/providers/microsoft.web/sites/site-alpha2"
URI_B1 = f"/subscriptions/{ENT_B1}/resourcegroups/rg-bravo/providers/microsoft.storage/storageaccounts/stbravo1"
URI_UNKNOWN = f"/subscriptions/{ENT_UNKNOWN}/resourcegroups/rg-ghost/providers/microsoft.compute/disks/ghostdisk"
WEBHOOK_A, WEBHOOK_B = "wh-alpha", "wh-bravo"
WEBHOOK_URL = {WEBHOOK_A: "https://alpha-hooks.example.com/receive",
               WEBHOOK_B: "https://bravo-hooks.example.com/receive"}
WEBHOOK_SECRET = {WEBHOOK_A: "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQQ==",
                  WEBHOOK_B: "whsec_" + "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQg=="}
# Objects an admin creates by PUTting a nonexistent id: a third partner nobody else sees.
PARTNER_Z, CUSTOMER_Z, ENT_Z = "pz-99999999-zzzz", "cz1-zzzz-0001", "ez1-zzzz-e001"

REFERENCE = [
    {"type": "partner", "partner_id": PARTNER_A, "name": "Alphaworks Partner Ltd",
     "mpn_id": MPN_A, "kind": "indirect_provider"},
    {"type": "reseller", "mpn_id": RESELLER_A, "name": "Alpharesale Oy", "partner_id": PARTNER_A},
    {"type": "customer", "customer_id": A1, "name": "Alphaone Widgets",
     "domain": "alphaone.onmicrosoft.com", "country": "US", "partner_id": PARTNER_A,
     "reseller_mpn_id": RESELLER_A},
    {"type": "customer", "customer_id": A2, "name": "Alphatwo Gadgets",
     "domain": "alphatwo.onmicrosoft.com", "country": "US", "partner_id": PARTNER_A},
    {"type": "entitlement", "entitlement_id": ENT_A1, "customer_id": A1,
     "description": "Alphaone Prod", "offer": "azure_plan", "created_at": "2026-01-01T00:00:00Z"},
    {"type": "entitlement", "entitlement_id": ENT_A2, "customer_id": A2,
     "description": "Alphatwo Prod", "offer": "azure_plan", "created_at": "2026-01-01T00:00:00Z"},
    {"type": "partner", "partner_id": PARTNER_B, "name": "Bravoline Distribution",
     "mpn_id": MPN_B, "kind": "indirect_provider"},
    {"type": "reseller", "mpn_id": RESELLER_X, "name": "Xrayresale AS", "partner_id": PARTNER_B},
    {"type": "customer", "customer_id": B1, "name": "Bravoone Fisheries",
     "domain": "bravoone.onmicrosoft.com", "country": "NO", "partner_id": PARTNER_B,
     "reseller_mpn_id": RESELLER_X},
    {"type": "entitlement", "entitlement_id": ENT_B1, "customer_id": B1,
     "description": "Bravoone Prod", "offer": "azure_plan", "created_at": "2026-01-01T00:00:00Z"},
]
PRICE_HEADER = ("ProductId,SkuId,MeterId,MeterName,MeterCategory,MeterSubCategory,MeterRegion,"
                "UnitOfMeasure,Market,Currency,UnitPrice,PricingTierRangeMin,PricingTierRangeMax,"
                "EffectiveStartDate,EffectiveEndDate,Tags,Publisher\n")
PRICESHEET = PRICE_HEADER + (
    f"PRODALPHA01,0001,{METER_A},Alphameter D7,Alphacompute Category,,US East,1 Hour,US,USD,"
    "0.731313131,0,,2026-01-01,,Azure,Microsoft\n"
    f"PRODBRAVO02,0001,{METER_B},Bravometer S3,Bravostorage Category,,Norway East,1 GB,NO,USD,"
    "0.417171717,0,,2026-01-01,,Azure,Microsoft\n")
FX = {"NOK": "10.123456789"}
USAGE = [
    {"id": "iso-a1-1", "entitlement_id": ENT_A1, "meter_id": METER_A, "resource_uri": URI_A1,
     "quantity": "13.7", "timestamp": "2026-11-03T10:00:00Z"},
    {"id": "iso-a1-2", "entitlement_id": ENT_A1, "meter_id": METER_A, "resource_uri": URI_A1,
     "quantity": "2.9", "timestamp": "2026-11-04T10:00:00Z"},
    {"id": "iso-a2-1", "entitlement_id": ENT_A2, "meter_id": METER_A, "resource_uri": URI_A2,
     "quantity": "5.3", "timestamp": "2026-11-05T10:00:00Z"},
    {"id": "iso-b1-1", "entitlement_id": ENT_B1, "meter_id": METER_B, "resource_uri": URI_B1,
     "quantity": "17.3", "timestamp": "2026-11-03T11:00:00Z"},
    {"id": "iso-b1-2", "entitlement_id": ENT_B1, "meter_id": METER_B, "resource_uri": URI_B1,
     "quantity": "4.1", "timestamp": "2026-11-06T11:00:00Z"},
    {"id": "iso-unknown-1", "entitlement_id": ENT_UNKNOWN, "meter_id": METER_A,
     "resource_uri": URI_UNKNOWN, "quantity": "3.3", "timestamp": "2026-11-07T11:00:00Z"},
]
# A1's budget is on the list basis (a reseller may see and re-set it); B1's on billed (a reseller
# sees its amount only, §8.18, and may not set it, §8.33). Both low enough to fire alerts.
BUDGETS = {A1: {"amount": "11.110000000", "basis": "list", "thresholds": [50, 100],
                "forecast_thresholds": [100]},
           A2: {"amount": "3.330000000", "basis": "billed", "thresholds": [80],
                "forecast_thresholds": [100]},
           B1: {"amount": "77.770000000", "basis": "billed", "thresholds": [10, 100],
                "forecast_thresholds": [100]}}

# Field names (JSON) and columns (CSV) a reseller never gets (§8.33).
WHOLESALE_FIELDS = {"pec", "billed", "pec_usd", "billed_usd", "pec_rate", "effective_unit_price",
                    "pec_bc", "billed_bc"}
WHOLESALE_COLUMNS = {"BillingPreTaxTotal", "PricingPreTaxTotal", "EffectiveUnitPrice",
                     "PartnerEarnedCreditPercentage", "ContractedUnitPrice", "ContractedCost",
                     "BilledCost", "EffectiveCost", "x_EffectiveUnitPrice",
                     "x_BilledCostInPricingCurrency", "x_PartnerEarnedCreditPercentage",
                     "x_PartnerEarnedCredit"}
CUSTOMER_COLUMNS = ("CustomerId", "BillingAccountId")
# Fields a reseller does see; a wholesale figure equal to one of them is not a secret.
LIST_FIELDS = {"list", "list_usd", "list_bc", "unit_price", "quantity", "fx", "amount"}

DECIMAL = re.compile(r"^-?\d+\.\d+$")


@dataclass
class Caller:
    name: str
    role: Optional[str]        # None: no token; "revoked": a partner token revoked at setup
    partner: Optional[str] = None   # the partner whose objects are "own"
    reseller: Optional[str] = None
    visible: frozenset = frozenset()  # customers it may see
    token: object = NO_TOKEN


@dataclass
class Case:
    """One request of the matrix and what it should get."""
    method: str
    path: str
    body: object = None
    content_type: Optional[str] = None
    headers: dict = field(default_factory=dict)
    expect: int = 200
    restore: Optional[Callable[[], None]] = None  # undoes a successful mutation (run as admin)
    # After the request: (status, parsed body) -> extra assertions.
    check: Optional[Callable] = None


class IsolationMatrix(HttpAssertions, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        d = cls.daemon = start_class_daemon(cls)
        cls._seed(d)
        cls.callers = cls._make_callers(d)
        cls.foreign, cls.wholesale = cls._collect_figures(d)
        cls.initial_state = cls._state(d)

    # ---------------------------------------------------------------- seeding

    @classmethod
    def _seed(cls, d):
        ndjson = "".join(json.dumps(x) + "\n" for x in REFERENCE)
        r = d.request("POST", "/v1/reference", ndjson, content_type="application/x-ndjson")
        assert r.status == 200 and r.json()["rejected"] == 0, r
        r = d.request("POST", "/v1/pricesheet", PRICESHEET, content_type="text/csv")
        assert r.status == 200 and r.json()["rejected"] == 0, r
        r = d.request("PUT", f"/v1/fx/{MONTH}", {"rates": FX})
        assert r.status == 200, r
        for customer, budget in BUDGETS.items():
            r = d.request("PUT", f"/v1/customers/{customer}/budget", budget)
            assert r.status == 200, r
        answer = d.post_usage("".join(json.dumps(e) + "\n" for e in USAGE))
        assert (answer["accepted"], answer["rejected"]) == (len(USAGE), 0), answer
        for wid, partner in ((WEBHOOK_A, PARTNER_A), (WEBHOOK_B, PARTNER_B)):
            r = d.request("PUT", f"/v1/webhooks/{wid}?partner_id={partner}", cls._webhook(wid))
            assert r.status == 201, r
        # The scan is only meaningful if the wholesale figures differ from the list ones.
        spend = d.get_json(f"/v1/customers/{A1}/spend?month={MONTH}")
        assert spend["pec"] != "0.000000000" and spend["list"] != spend["billed"], spend
        alerts, _ = d.all_alerts()
        assert {a["customer_id"] for a in alerts} >= {A1, B1}, alerts

    @staticmethod
    def _webhook(wid):
        return {"url": WEBHOOK_URL[wid], "secret": WEBHOOK_SECRET[wid],
                "kinds": ["budget_actual", "budget_forecast", "pec_lost", "anomaly"]}

    @classmethod
    def _make_callers(cls, d):
        def tok(role, **kw):
            return d.create_token(role, name=f"matrix {role}", **kw)[1]

        revoked_id, revoked = d.create_token("partner", partner_id=PARTNER_A, name="revoked")
        r = d.request("DELETE", f"/v1/tokens/{revoked_id}")
        assert r.status == 204, r
        every = frozenset({A1, A2, B1})
        return [
            Caller("none", None),
            Caller("revoked", "revoked", token=revoked),
            Caller("bogus", "revoked", token="mtr_" + "0" * 43),
            Caller("admin", "admin", visible=every, token=d.admin_token),
            Caller("ingest", "ingest", token=tok("ingest")),
            Caller("partner A", "partner", partner=PARTNER_A, visible=frozenset({A1, A2}),
                   token=tok("partner", partner_id=PARTNER_A)),
            Caller("partner B", "partner", partner=PARTNER_B, visible=frozenset({B1}),
                   token=tok("partner", partner_id=PARTNER_B)),
            Caller("reseller of A1", "reseller", partner=PARTNER_A, reseller=RESELLER_A,
                   visible=frozenset({A1}), token=tok("reseller", mpn_id=RESELLER_A)),
            Caller("reseller of B1", "reseller", partner=PARTNER_B, reseller=RESELLER_X,
                   visible=frozenset({B1}), token=tok("reseller", mpn_id=RESELLER_X)),
        ]

    @classmethod
    def _collect_figures(cls, d):
        """Per customer: every id, name and amount the admin sees for it ("figures"), and the
        subset that is wholesale (PEC and billed amounts, billed-basis percents)."""
        figures, wholesale = {}, {}
        names = {A1: [PARTNER_A, MPN_A, "Alphaworks Partner Ltd", "Alpharesale Oy", RESELLER_A,
                      ENT_A1, METER_A, URI_A1, "Alphaone Widgets", "alphaone.onmicrosoft.com",
                      "Alphaone Prod", "Alphameter D7", "Alphacompute Category", "PRODALPHA01",
                      "0.731313131", WEBHOOK_URL[WEBHOOK_A]],
                 A2: [PARTNER_A, MPN_A, "Alphaworks Partner Ltd", ENT_A2, METER_A, URI_A2,
                      "Alphatwo Gadgets", "alphatwo.onmicrosoft.com", "Alphatwo Prod",
                      "0.731313131", WEBHOOK_URL[WEBHOOK_A]],
                 B1: [PARTNER_B, MPN_B, "Bravoline Distribution", "Xrayresale AS", RESELLER_X,
                      ENT_B1, METER_B, URI_B1, "Bravoone Fisheries", "bravoone.onmicrosoft.com",
                      "Bravoone Prod", "Bravometer S3", "Bravostorage Category", "PRODBRAVO02",
                      "0.417171717", "10.123456789000", WEBHOOK_URL[WEBHOOK_B]]}
        alerts, _ = d.all_alerts()
        for c in (A1, A2, B1):
            spend = d.get_json(f"/v1/customers/{c}/spend?month={MONTH}")
            lines = d.get_all(f"/v1/customers/{c}/lines?month={MONTH}", "lines")
            budget = d.get_json(f"/v1/customers/{c}/budget")
            values = set(names[c]) | {c, budget["amount"]}
            wh = set()
            for obj in [spend] + lines:
                for k, v in _leaves(obj):
                    if isinstance(v, str) and DECIMAL.match(v):
                        values.add(v)
                        if k in WHOLESALE_FIELDS:
                            wh.add(v)
            if BUDGETS[c]["basis"] == "billed":
                wh |= {v for v in (spend["percent"], spend["forecast"]) if v}
            for a in alerts:
                if a["customer_id"] == c:
                    values.add(a["id"])
                    for k in ("spend", "amount", "percent"):
                        if a.get(k):
                            values.add(str(a[k]))
                    if a["kind"] == "pec_lost" or (a["kind"].startswith("budget_")
                                                   and BUDGETS[c]["basis"] == "billed"):
                        wh |= {str(a[k]) for k in ("spend", "percent") if a.get(k)}
            figures[c] = values
            list_values = {v for obj in [spend] + lines for k, v in _leaves(obj)
                           if k in LIST_FIELDS}
            wholesale[c] = wh - list_values
        for c in figures:  # "0.000000000" and the like are nobody's secret
            figures[c] = {v for v in figures[c] if v not in ("0.000000000", "1.000000000")}
        return figures, wholesale

    @classmethod
    def _state(cls, d):
        """Admin's view of everything the matrix may touch, to compare before and after."""
        out = {}
        for c in (A1, A2, B1):
            out[f"spend {c}"] = d.get(f"/v1/customers/{c}/spend?month={MONTH}").body
            out[f"lines {c}"] = d.get(f"/v1/customers/{c}/lines?month={MONTH}").body
            out[f"budget {c}"] = d.get(f"/v1/customers/{c}/budget").body
        out["alerts"] = d.get("/v1/alerts?limit=10000").body
        out["unknown"] = d.get("/v1/unknown-usage").body
        for wid, partner in ((WEBHOOK_A, PARTNER_A), (WEBHOOK_B, PARTNER_B)):
            out[wid] = d.get(f"/v1/webhooks/{wid}?partner_id={partner}").body
        return out

    # ---------------------------------------------------------------- the table

    def own_customer(self, caller):
        return {PARTNER_A: A1, PARTNER_B: B1}.get(caller.partner, A1)

    def other_customer(self, caller):
        return B1 if self.own_customer(caller) == A1 else A1

    def customer_objects(self, caller):
        return {"own": self.own_customer(caller), "other": self.other_customer(caller),
                "nonexistent": "cn-nobody-0000"}

    def reading_status(self, caller, obj, roles=("admin", "partner", "reseller")):
        """Status of a customer-scoped call: 401, 403 by role, else 404 outside scope."""
        if caller.role in (None, "revoked"):
            return 401
        if caller.role not in roles:
            return 403
        if obj == "nonexistent" or (obj == "other" and caller.role != "admin"):
            return 404
        return None  # in scope: the route's success status

    def role_status(self, caller, roles):
        if caller.role in (None, "revoked"):
            return 401
        return None if caller.role in roles else 403

    def restore_budget(self, customer):
        def undo():
            r = self.daemon.request("PUT", f"/v1/customers/{customer}/budget", BUDGETS[customer])
            assert r.status == 200, r
        return undo

    def route_table(self):
        """(method, OpenAPI path) -> function(caller) -> list of (object kind, Case)."""
        d = self.daemon

        def public(path):
            return lambda caller: [("-", Case("GET", path, expect=200))]

        def admin_only(method, path, body=None, content_type=None, ok=200):
            def cases(caller):
                return [("-", Case(method, path, body, content_type,
                                   expect=self.role_status(caller, ("admin",)) or ok))]
            return cases

        def delete_token(caller):
            out = []
            for obj in ("own", "other", "nonexistent"):
                if obj == "nonexistent":
                    tid, secret = "tok-nonexistent-0000", None
                else:
                    tid, secret = d.create_token(
                        "partner", partner_id=PARTNER_A if obj == "own" else PARTNER_B)
                expect = self.role_status(caller, ("admin",)) or (404 if secret is None else 204)

                def check(status, _doc, secret=secret):
                    if secret is None:
                        return
                    # A refused DELETE leaves the token working; a 204 kills it at once.
                    r = d.get("/v1/alerts?limit=1", token=secret)
                    self.assertEqual(r.status, 401 if status == 204 else 200, r)
                out.append((obj, Case("DELETE", f"/v1/tokens/{tid}", expect=expect, check=check)))
            return out

        def entity(kind, key, own_a, own_b, new):
            def cases(caller):
                out = []
                for obj, doc in (("own", own_a), ("other", own_b), ("nonexistent", new)):
                    body = {k: v for k, v in doc.items() if k != "type"}
                    out.append((obj, Case("PUT", f"/v1/{kind}/{doc[key]}", body,
                                          expect=self.role_status(caller, ("admin",)) or 200)))
                return out
            return cases

        ref = {x.get("customer_id") if x["type"] == "customer" else
               x.get("entitlement_id") if x["type"] == "entitlement" else
               x.get("partner_id") if x["type"] == "partner" else x["mpn_id"]: x
               for x in REFERENCE}
        grant = {"grant_id": "gr-matrix-0001", "entitlement_id": ENT_Z, "scope": f"/subscriptions/{ENT_Z}",
                 "principal_mpn_id": "9990009", "role": "owner", "start": "2026-01-01T00:00:00Z"}

        def customer_get(suffix, headers=None, roles=("admin", "partner", "reseller")):
            def cases(caller):
                out = []
                for obj, cid in self.customer_objects(caller).items():
                    out.append((obj, Case("GET", f"/v1/customers/{cid}/{suffix}",
                                          headers=dict(headers or {}),
                                          expect=self.reading_status(caller, obj, roles) or 200)))
                return out
            return cases

        def put_budget(caller):
            out = []
            for obj, cid in self.customer_objects(caller).items():
                body = BUDGETS.get(cid, BUDGETS[A1])
                expect = self.reading_status(caller, obj)
                if expect is None:
                    # In scope: a reseller may set list-basis budgets only (§8.33).
                    expect = 403 if caller.role == "reseller" and body["basis"] == "billed" else 200
                out.append((obj, Case("PUT", f"/v1/customers/{cid}/budget", body, expect=expect,
                                      restore=self.restore_budget(cid) if cid in BUDGETS else None)))
            return out

        def delete_budget(caller):
            out = []
            for obj, cid in self.customer_objects(caller).items():
                out.append((obj, Case("DELETE", f"/v1/customers/{cid}/budget",
                                      expect=self.reading_status(caller, obj) or 204,
                                      restore=self.restore_budget(cid) if cid in BUDGETS else None)))
            return out

        def batch(kind):
            def cases(caller):
                out = []
                for obj, cid in self.customer_objects(caller).items():
                    body = {"customer_ids": [cid]}
                    if kind == "batchSet":
                        body.update(BUDGETS.get(cid, BUDGETS[A1]))
                    expect = self.role_status(caller, ("admin", "partner", "reseller"))
                    if expect is None and caller.role == "reseller" and body.get("basis") == "billed":
                        # Refused for the body alone, whatever the ids: it reveals nothing.
                        expect = 403
                    in_scope = self.reading_status(caller, obj) is None
                    # Out of scope is not an error in a batch: the id is listed as not_found,
                    # exactly like an id that does not exist.
                    want = {"updated": 1 if in_scope else 0,
                            "not_found": [] if in_scope else [cid]}

                    def check(status, doc, want=want):
                        if status == 200:
                            self.assertEqual(doc, want)
                    restore = self.restore_budget(cid) if cid in BUDGETS else None
                    out.append((obj, Case("POST", f"/v1/budgets:{kind}", body, expect=expect or 200,
                                          restore=restore, check=check)))
                return out
            return cases

        def listing(path, key, roles=("admin", "partner", "reseller")):
            def cases(caller):
                def check(status, doc):
                    if status != 200:
                        return
                    ids = {row["customer_id"] for row in doc[key]}
                    if caller.role == "admin":
                        self.assertLessEqual(caller.visible, ids)
                    elif key != "alerts":
                        # Every visible customer is listed: the filter is not merely empty.
                        self.assertEqual(ids, set(caller.visible), path)
                return [("-", Case("GET", path, expect=self.role_status(caller, roles) or 200,
                                   check=check))]
            return cases

        def export(kind, roles=("admin", "partner", "reseller")):
            return lambda caller: [("-", Case("GET", f"/v1/exports/{kind}?month={MONTH}",
                                              expect=self.role_status(caller, roles) or 200))]

        def webhook(method):
            def cases(caller):
                out = []
                if caller.role == "admin":
                    # An admin names the partner a webhook belongs to.
                    objects = (("own", WEBHOOK_A, PARTNER_A, True),
                               ("other", WEBHOOK_B, PARTNER_B, True),
                               ("nonexistent", "wh-nobody", PARTNER_A, False))
                else:
                    # A partner's own token decides the partner; the query is not needed.
                    mine = caller.partner or PARTNER_A
                    own = WEBHOOK_B if mine == PARTNER_B else WEBHOOK_A
                    other = WEBHOOK_A if own == WEBHOOK_B else WEBHOOK_B
                    objects = (("own", own, mine, True), ("other", other, mine, False),
                               ("nonexistent", "wh-nobody", mine, False),
                               # Naming the other partner does not make its webhook reachable:
                               # a partner token alone decides whose webhooks these are.
                               ("other, naming its partner", other, mine, False))
                for obj, wid, owner, exists in objects:
                    path = f"/v1/webhooks/{wid}"
                    if caller.role == "admin":
                        path += f"?partner_id={owner}"
                    elif obj.startswith("other, naming"):
                        path += "?partner_id=" + (PARTNER_A if wid == WEBHOOK_A else PARTNER_B)
                    expect = self.role_status(caller, ("admin", "partner"))
                    body, restore = None, None
                    if method == "PUT":
                        body = self._webhook(wid if wid in WEBHOOK_URL else WEBHOOK_A)
                        if obj.startswith("other, naming"):
                            body["partner_id"] = PARTNER_A if wid == WEBHOOK_A else PARTNER_B
                    if expect is None:
                        if method == "GET":
                            expect = 200 if exists else 404
                        elif method == "DELETE":
                            expect = 204 if exists else 404
                        else:
                            # Webhook ids are per partner: another partner's id names a new
                            # webhook of the caller's own, never the other's (the unchanged
                            # final state proves the other one untouched).
                            expect = 200 if exists else 201
                        if method != "GET":
                            restore = self._restore_webhook(wid, owner, existed=exists)
                    out.append((obj, Case(method, path, body, expect=expect, restore=restore)))
                return out
            return cases

        usage_line = json.dumps(USAGE[0]) + "\n"  # a duplicate: changes nothing

        def usage(caller):
            def check(status, doc):
                if status == 200:
                    self.assertEqual((doc["accepted"], doc["duplicates"]), (0, 1), doc)
            return [("-", Case("POST", "/v1/usage", usage_line, "application/x-ndjson",
                               expect=self.role_status(caller, ("admin", "ingest")) or 200,
                               check=check))]

        def create_token(caller):
            return [("-", Case("POST", "/v1/tokens", {"role": "ingest", "name": "matrix made"},
                               expect=self.role_status(caller, ("admin",)) or 201))]

        return {
            ("GET", "/healthz"): public("/healthz"),
            ("GET", "/readyz"): public("/readyz"),
            ("GET", "/metrics"): public("/metrics"),
            ("GET", "/v1/openapi.json"): public("/v1/openapi.json"),
            ("POST", "/v1/tokens"): create_token,
            ("DELETE", "/v1/tokens/{token_id}"): delete_token,
            ("POST", "/v1/reference"): admin_only(
                "POST", "/v1/reference", json.dumps(REFERENCE[0]) + "\n", "application/x-ndjson"),
            ("PUT", "/v1/partners/{id}"): entity(
                "partners", "partner_id", ref[PARTNER_A], ref[PARTNER_B],
                {"partner_id": PARTNER_Z, "name": "Zulu", "mpn_id": "9990009", "kind": "direct"}),
            ("PUT", "/v1/resellers/{id}"): entity(
                "resellers", "mpn_id", ref[RESELLER_A], ref[RESELLER_X],
                {"mpn_id": "rs-z-9999999", "name": "Zulu Resale", "partner_id": PARTNER_Z}),
            ("PUT", "/v1/customers/{id}"): entity(
                "customers", "customer_id", ref[A1], ref[B1],
                {"customer_id": CUSTOMER_Z, "name": "Zulu Customer", "country": "US",
                 "partner_id": PARTNER_Z}),
            ("PUT", "/v1/entitlements/{id}"): entity(
                "entitlements", "entitlement_id", ref[ENT_A1], ref[ENT_B1],
                {"entitlement_id": ENT_Z, "customer_id": CUSTOMER_Z, "offer": "azure_plan",
                 "created_at": "2026-01-01T00:00:00Z"}),
            ("PUT", "/v1/grants/{id}"): entity("grants", "grant_id", grant, grant, grant),
            ("POST", "/v1/pricesheet"): admin_only("POST", "/v1/pricesheet", PRICESHEET,
                                                   "text/csv"),
            ("PUT", "/v1/fx/{month}"): admin_only("PUT", f"/v1/fx/{MONTH}", {"rates": FX}),
            ("POST", "/v1/usage"): usage,
            ("GET", "/v1/customers"): listing("/v1/customers?limit=10000", "customers"),
            ("GET", "/v1/customers/{id}/spend"): customer_get(f"spend?month={MONTH}"),
            ("GET", "/v1/spend"): listing(f"/v1/spend?month={MONTH}&limit=10000", "rows"),
            ("GET", "/v1/customers/{id}/lines"): lambda caller: (
                customer_get(f"lines?month={MONTH}")(caller)
                + [(o, Case("GET", c.path, headers={"Accept": "text/csv"}, expect=c.expect))
                   for o, c in customer_get(f"lines?month={MONTH}")(caller)]),
            ("GET", "/v1/customers/{id}/budget"): customer_get("budget"),
            ("PUT", "/v1/customers/{id}/budget"): put_budget,
            ("DELETE", "/v1/customers/{id}/budget"): delete_budget,
            ("POST", "/v1/budgets:batchSet"): batch("batchSet"),
            ("POST", "/v1/budgets:batchRemove"): batch("batchRemove"),
            ("GET", "/v1/unknown-usage"): admin_only("GET", "/v1/unknown-usage"),
            ("GET", "/v1/alerts"): listing("/v1/alerts?limit=10000", "alerts"),
            ("GET", "/v1/webhooks/{webhook_id}"): webhook("GET"),
            ("PUT", "/v1/webhooks/{webhook_id}"): webhook("PUT"),
            ("DELETE", "/v1/webhooks/{webhook_id}"): webhook("DELETE"),
            ("GET", "/v1/exports/daily"): export("daily"),
            ("GET", "/v1/exports/recon"): export("recon", roles=("admin", "partner")),
            ("GET", "/v1/exports/focus"): export("focus"),
        }

    def _restore_webhook(self, wid, owner, existed):
        def undo():
            d = self.daemon
            if existed:
                r = d.request("PUT", f"/v1/webhooks/{wid}?partner_id={owner}", self._webhook(wid))
                assert r.status in (200, 201), r
            else:
                # The call created a webhook of the owner's under this id: remove it again.
                r = d.request("DELETE", f"/v1/webhooks/{wid}?partner_id={owner}")
                assert r.status == 204, r
        return undo

    # ---------------------------------------------------------------- the test

    def test_the_table_covers_every_route_of_the_openapi_document(self):
        doc = self.daemon.get_json("/v1/openapi.json", token=NO_TOKEN)
        documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops
                      if m in ("get", "put", "post", "delete", "patch")}
        missing = documented - set(self.route_table())
        self.assertFalse(missing, "routes without a row in the isolation table: "
                         f"{sorted(missing)}; add them to route_table()")
        stale = set(self.route_table()) - documented
        self.assertFalse(stale, f"rows for routes the document no longer has: {sorted(stale)}")

    def test_every_route_every_caller_every_object(self):
        d = self.daemon
        cells = 0
        for (method, template), make in sorted(self.route_table().items()):
            for caller in self.callers:
                bodies_404 = {}
                for obj, case in make(caller):
                    what = f"{caller.name} {case.method} {case.path} ({obj})"
                    with self.subTest(what):
                        r = d.request(case.method, case.path, case.body, token=caller.token,
                                      content_type=case.content_type, headers=case.headers)
                        cells += 1
                        try:
                            self._check_cell(caller, case, r, what)
                            if r.status == 404 and obj in ("other", "nonexistent"):
                                bodies_404[obj] = _without_ids(r.body)
                        finally:
                            if case.restore and r.status in (200, 201, 204):
                                case.restore()
                # Out of scope is exactly as if it did not exist (§6).
                if len(bodies_404) == 2:
                    self.assertEqual(bodies_404["other"], bodies_404["nonexistent"],
                                     f"{caller.name} {method} {template}")
        self.assertGreater(cells, 300)
        # Nothing a refused or restored call did is left behind.
        final = self._state(d)
        for key, before in self.initial_state.items():
            self.assertEqual(final[key], before, f"state changed: {key}")
        self.assertTrue(d.running())
        self.assertStatus(d.get("/healthz", token=NO_TOKEN), 200)

    def test_head_answers_every_get_of_the_table_with_the_same_status_and_no_body(self):
        """HEAD is served wherever GET is: it must not become a way around scope or role."""
        d = self.daemon
        checked = 0
        for (method, _), make in sorted(self.route_table().items()):
            if method != "GET":
                continue
            for caller in self.callers:
                for obj, case in make(caller):
                    r = d.request("HEAD", case.path, token=caller.token, headers=case.headers)
                    self.assertEqual(r.status, case.expect,
                                     f"{caller.name} HEAD {case.path} ({obj})")
                    self.assertEqual(r.body, b"")
                    checked += 1
        self.assertGreater(checked, 100)

    def test_a_cursor_taken_from_another_scope_reveals_nothing(self):
        """Cursors are opaque but client-supplied: one minted for partner B's lines (or for the
        admin's full lists) must not open anything outside the caller's scope."""
        d = self.daemon
        partner_a = next(c for c in self.callers if c.name == "partner A")
        reseller_a = next(c for c in self.callers if c.name == "reseller of A1")
        page = d.get_json(f"/v1/customers/{B1}/lines?month={MONTH}&limit=1")
        self.assertIsNotNone(page["next_cursor"], "B1 needs two lines for this test")
        r = d.get(f"/v1/customers/{A1}/lines?month={MONTH}&cursor={page['next_cursor']}",
                  token=partner_a.token)
        self.assertProblem(r, 400, "a cursor into another customer's lines")
        for path, key in (("/v1/customers", "customers"), (f"/v1/spend?month={MONTH}", "rows")):
            sep = "&" if "?" in path else "?"
            first = d.get_json(f"{path}{sep}limit=1")
            self.assertIsNotNone(first["next_cursor"])
            for caller in (partner_a, reseller_a):
                r = d.get(f"{path}{sep}cursor={first['next_cursor']}", token=caller.token)
                if r.status == 200:
                    ids = {row["customer_id"] for row in r.json()[key]}
                    self.assertLessEqual(ids, set(caller.visible), f"{caller.name} {path}")
                else:
                    self.assertProblem(r, 400, f"{caller.name} {path}")

    def _check_cell(self, caller, case, r, what):
        if case.expect in (200, 201, 204):
            self.assertStatus(r, case.expect, what)
        else:
            self.assertProblem(r, case.expect, what)
            if case.expect == 401:
                self.assertIn("bearer", r.headers.get("www-authenticate", "").lower(), what)
        doc = None
        if r.content_type in ("application/json", "application/problem+json"):
            doc = r.json()
        if case.check:
            case.check(r.status, doc)
        self._scan_body(caller, case, r, doc, what)

    def _scan_body(self, caller, case, r, doc, what):
        """No foreign figure, no customer out of scope, no wholesale figure for a reseller."""
        sent = case.path + (json.dumps(case.body) if isinstance(case.body, (dict, list))
                            else (case.body or ""))
        if caller.role == "admin":
            return
        forbidden = set()
        for c, values in self.foreign.items():
            if c not in caller.visible:
                forbidden |= values
        for c in caller.visible:
            forbidden -= self.foreign[c]
            if caller.role == "reseller":
                forbidden |= self.wholesale[c]
        # What the caller sent itself (a not_found id, say) is not a leak when echoed.
        forbidden = {v for v in forbidden if v not in sent}
        if case.path.startswith(("/metrics", "/v1/openapi.json")):
            # Public documents: counters and documented examples are numbers of their own.
            forbidden = {v for v in forbidden if not DECIMAL.match(v)}
        text = r.body.decode("utf-8", "replace")
        for value in forbidden:
            if re.search(r"(?<![A-Za-z0-9])" + re.escape(value) + r"(?![A-Za-z0-9])", text,
                         re.IGNORECASE):
                self.fail(f"{what}: body shows {value!r}, which {caller.name} may not see: "
                          f"{r!r}")
        if isinstance(doc, (dict, list)):
            for key, value in _leaves(doc):
                if key == "customer_id" and value not in sent:
                    self.assertIn(value, caller.visible, f"{what}: customer out of scope")
                if caller.role == "reseller":
                    self.assertNotIn(key, WHOLESALE_FIELDS, f"{what}: wholesale field {key}")
        if r.content_type == "text/csv" and r.status == 200:
            rows = list(csv.reader(io.StringIO(text)))
            header = rows[0] if rows else []
            if caller.role == "reseller":
                self.assertFalse(WHOLESALE_COLUMNS & set(header), f"{what}: {header}")
            for col in CUSTOMER_COLUMNS:
                if col in header:
                    i = header.index(col)
                    for row in rows[1:]:
                        self.assertIn(row[i], caller.visible, f"{what}: {col} out of scope")


def _leaves(obj, key=None):
    """(key, scalar) for every scalar of a parsed JSON value."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _leaves(v, k)
    elif isinstance(obj, list):
        for v in obj:
            yield from _leaves(v, key)
    else:
        yield key, obj


def _without_ids(body):
    text = body.decode("utf-8", "replace")
    for v in (A1, A2, B1, "cn-nobody-0000", WEBHOOK_A, WEBHOOK_B, "wh-nobody"):
        text = text.replace(v, "")
    return text


if __name__ == "__main__":
    unittest.main()
