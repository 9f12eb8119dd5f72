"""Who may see what (domain §6, §8.18, §8.33, §8.39; api.md auth) against the real daemon, with
the `basic` (partner A, direct) and `tiers-and-pec` (partner B, indirect, reseller 3333333)
examples loaded side by side."""

import unittest

from harness import NO_TOKEN, DaemonTestCase, HttpAssertions, start_class_daemon

PARTNER_A = "7d3f1c2a-0000-4000-8000-000000000001"
CUSTOMER_A = "c0ffee00-0000-4000-8000-000000000001"
PARTNER_B = "7d3f1c2a-0000-4000-8000-000000000002"
CUSTOMER_B = "c0ffee00-0000-4000-8000-000000000002"
RESELLER_B = "3333333"
MONTH = "2026-11"

WHOLESALE_SPEND_FIELDS = ("pec", "billed", "pec_usd", "billed_usd")
WHOLESALE_LINE_FIELDS = ("pec_rate", "effective_unit_price", "pec_usd", "billed_usd", "pec_bc",
                         "billed_bc")


class Access(HttpAssertions, unittest.TestCase):
    """One daemon for the class: every test here only reads, or is refused."""

    @classmethod
    def setUpClass(cls):
        cls.daemon = start_class_daemon(cls)
        for name in ("basic", "tiers-and-pec"):
            answer = cls.daemon.load_example(name)
            assert answer["rejected"] == 0, answer
        d = cls.daemon
        cls.partner_a = d.create_token("partner", partner_id=PARTNER_A, name="partner A")[1]
        cls.partner_b = d.create_token("partner", partner_id=PARTNER_B, name="partner B")[1]
        cls.reseller = d.create_token("reseller", mpn_id=RESELLER_B, name="Fourth Coffee")[1]
        cls.ingest = d.create_token("ingest", name="feed")[1]

    # ------------------------------------------------------------- authentication

    def test_a_request_without_a_token_is_401_with_a_bearer_challenge(self):
        for path in (f"/v1/customers/{CUSTOMER_A}/spend", "/v1/customers", "/v1/alerts",
                     "/v1/spend", "/v1/unknown-usage"):
            r = self.daemon.get(path, token=NO_TOKEN)
            self.assertProblem(r, 401, path)
            self.assertIn("bearer", r.headers.get("www-authenticate", "").lower(), path)
        r = self.daemon.request("POST", "/v1/usage", b"", token=NO_TOKEN,
                                content_type="application/x-ndjson")
        self.assertProblem(r, 401, "POST /v1/usage")

    def test_an_unknown_or_malformed_token_is_401(self):
        for token in ("not-a-token", self.partner_a + "x", ""):
            r = self.daemon.get(f"/v1/customers/{CUSTOMER_A}/spend", token=token)
            self.assertProblem(r, 401, repr(token))
        r = self.daemon.get(f"/v1/customers/{CUSTOMER_A}/spend", token=NO_TOKEN,
                            headers={"Authorization": "Basic " + self.partner_a})
        self.assertProblem(r, 401, "Basic scheme")

    def test_health_and_openapi_need_no_token(self):
        for path in ("/healthz", "/readyz", "/metrics", "/v1/openapi.json"):
            self.assertStatus(self.daemon.get(path, token=NO_TOKEN), 200, path)

    # ------------------------------------------------------------- roles (403)

    def test_an_ingest_token_may_post_usage_but_not_read_spend_lines_or_alerts(self):
        for path in (f"/v1/customers/{CUSTOMER_A}/spend", f"/v1/customers/{CUSTOMER_A}/lines",
                     "/v1/customers", "/v1/spend", "/v1/alerts",
                     f"/v1/customers/{CUSTOMER_A}/budget", "/v1/unknown-usage"):
            self.assertProblem(self.daemon.get(path, token=self.ingest), 403, path)
        answer = self.daemon.post_usage(b"", token=self.ingest)
        self.assertEqual((answer["accepted"], answer["rejected"]), (0, 0), answer)

    def test_partner_and_reseller_tokens_may_not_load_reference_data_or_make_tokens(self):
        for token in (self.partner_a, self.reseller, self.ingest):
            r = self.daemon.request("POST", "/v1/reference", b"", token=token,
                                    content_type="application/x-ndjson")
            self.assertProblem(r, 403, "POST /v1/reference")
            r = self.daemon.request("POST", "/v1/tokens", {"role": "admin"}, token=token)
            self.assertProblem(r, 403, "POST /v1/tokens")
            r = self.daemon.request("PUT", "/v1/fx/2026-11", {"rates": {"EUR": "1"}},
                                    token=token)
            self.assertProblem(r, 403, "PUT /v1/fx")
        for token in (self.partner_a, self.reseller):
            r = self.daemon.request("POST", "/v1/usage", b"", token=token,
                                    content_type="application/x-ndjson")
            self.assertProblem(r, 403, "POST /v1/usage")
            self.assertProblem(self.daemon.get("/v1/unknown-usage", token=token), 403,
                               "unknown usage is admin-only (§8.34)")

    # ------------------------------------------------------------- partner scope (404)

    def test_a_partner_cannot_see_another_partners_customer(self):
        for path in (f"/v1/customers/{CUSTOMER_B}/spend?month={MONTH}",
                     f"/v1/customers/{CUSTOMER_B}/lines?month={MONTH}",
                     f"/v1/customers/{CUSTOMER_B}/budget"):
            r = self.daemon.get(path, token=self.partner_a)
            self.assertProblem(r, 404, path)
            # Exactly as if it did not exist.
            missing = self.daemon.get(path.replace(CUSTOMER_B, "c0ffee00-dead"),
                                      token=self.partner_a)
            self.assertEqual(r.body.replace(CUSTOMER_B.encode(), b""),
                             missing.body.replace(b"c0ffee00-dead", b""), path)
        r = self.daemon.request("PUT", f"/v1/customers/{CUSTOMER_B}/budget", {"amount": "1"},
                                token=self.partner_a)
        self.assertProblem(r, 404, "PUT budget of another partner's customer")
        r = self.daemon.request("DELETE", f"/v1/customers/{CUSTOMER_B}/budget",
                                token=self.partner_a)
        self.assertProblem(r, 404, "DELETE budget of another partner's customer")
        r = self.daemon.request("POST", "/v1/budgets:batchSet",
                                {"customer_ids": [CUSTOMER_B], "amount": "1"},
                                token=self.partner_a)
        self.assertStatus(r, 200, "batchSet")
        self.assertEqual(r.json(), {"updated": 0, "not_found": [CUSTOMER_B]})
        # Partner B's budget is untouched.
        b = self.daemon.get_json(f"/v1/customers/{CUSTOMER_B}/budget", token=self.partner_b)
        self.assertEqual((b["amount"], b["basis"]), ("17.000000000", "billed"))

    def test_a_partner_lists_and_overviews_only_its_own_customers(self):
        ids = [c["customer_id"] for c in
               self.daemon.get_all("/v1/customers", "customers", token=self.partner_a)]
        self.assertEqual(ids, [CUSTOMER_A])
        rows = self.daemon.get_all(f"/v1/spend?month={MONTH}", "rows", token=self.partner_b)
        self.assertEqual([r["customer_id"] for r in rows], [CUSTOMER_B])
        admin_ids = [c["customer_id"] for c in self.daemon.get_all("/v1/customers", "customers")]
        self.assertEqual(sorted(admin_ids), sorted([CUSTOMER_A, CUSTOMER_B]))

    def test_a_partner_sees_only_its_own_customers_alerts(self):
        alerts_a, _ = self.daemon.all_alerts(token=self.partner_a)
        alerts_b, _ = self.daemon.all_alerts(token=self.partner_b)
        self.assertTrue(alerts_a and alerts_b)
        self.assertEqual({a["customer_id"] for a in alerts_a}, {CUSTOMER_A})
        self.assertEqual({a["customer_id"] for a in alerts_b}, {CUSTOMER_B})
        everything, _ = self.daemon.all_alerts()
        self.assertEqual(sorted(a["id"] for a in alerts_a + alerts_b),
                         sorted(a["id"] for a in everything))

    def test_a_partner_sees_wholesale_figures_of_its_own_customer(self):
        spend = self.daemon.get_json(f"/v1/customers/{CUSTOMER_B}/spend?month={MONTH}",
                                     token=self.partner_b)
        self.assertEqual((spend["pec"], spend["billed"]), ("0.696000000", "16.654000000"))
        self.assertEqual(spend["percent"], "97.964705882")

    # ------------------------------------------------------------- reseller

    def test_a_reseller_sees_its_customer_at_list_basis_without_pec_or_billed_fields(self):
        spend = self.daemon.get_json(f"/v1/customers/{CUSTOMER_B}/spend?month={MONTH}",
                                     token=self.reseller)
        for field in WHOLESALE_SPEND_FIELDS:
            self.assertNotIn(field, spend, "resellers never see wholesale figures (§8.33)")
        self.assertEqual((spend["list"], spend["list_usd"]), ("17.350000000", "17.350000000"))
        for cat in spend["by_category"]:
            self.assertNotIn("billed", cat, cat)
        # The budget is on the billed basis: its figures are hidden from a reseller (§8.39),
        # while the amount stays visible (§8.18).
        self.assertEqual(spend["budget"]["amount"], "17.000000000")
        self.assertIsNone(spend["percent"])
        self.assertIsNone(spend["percent_rounded"])
        self.assertIsNone(spend["forecast"])

        lines = self.daemon.get_all(f"/v1/customers/{CUSTOMER_B}/lines?month={MONTH}", "lines",
                                    token=self.reseller)
        self.assertEqual(len(lines), 9)
        for line in lines:
            for field in WHOLESALE_LINE_FIELDS:
                self.assertNotIn(field, line, line)
            self.assertIn("list_usd", line)
            self.assertIn("list_bc", line)

        rows = self.daemon.get_all(f"/v1/spend?month={MONTH}", "rows", token=self.reseller)
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0]["customer_id"], CUSTOMER_B)
        self.assertEqual(rows[0]["spend"], "17.350000000", "a reseller's spend is always list")
        self.assertIsNone(rows[0]["percent_rounded"])

    def test_a_reseller_cannot_see_customers_of_other_resellers_or_none(self):
        r = self.daemon.get(f"/v1/customers/{CUSTOMER_A}/spend?month={MONTH}",
                            token=self.reseller)
        self.assertProblem(r, 404, "customer without this reseller")
        ids = [c["customer_id"] for c in
               self.daemon.get_all("/v1/customers", "customers", token=self.reseller)]
        self.assertEqual(ids, [CUSTOMER_B])

    def test_a_reseller_never_sees_pec_lost_or_billed_basis_budget_alerts(self):
        alerts, _ = self.daemon.all_alerts(token=self.reseller)
        # Customer B's alerts are pec_lost and budget_* on a billed-basis budget: none visible.
        self.assertEqual(alerts, [])

    def test_a_reseller_may_not_set_a_billed_basis_budget(self):
        for body in ({"amount": "20", "basis": "billed"},):
            r = self.daemon.request("PUT", f"/v1/customers/{CUSTOMER_B}/budget", body,
                                    token=self.reseller)
            self.assertProblem(r, 403, "reseller billed budget")
        r = self.daemon.request("POST", "/v1/budgets:batchSet",
                                {"customer_ids": [CUSTOMER_B], "amount": "20", "basis": "billed"},
                                token=self.reseller)
        self.assertProblem(r, 403, "reseller billed batchSet")
        b = self.daemon.get_json(f"/v1/customers/{CUSTOMER_B}/budget", token=self.partner_b)
        self.assertEqual(b["amount"], "17.000000000", "a refused PUT changes nothing")


class ResellerBudgetAndRevocation(DaemonTestCase):
    """Tests that change state get their own daemon."""

    def setUp(self):
        super().setUp()
        self.daemon = self.start_daemon()
        self.daemon.load_example("tiers-and-pec")

    def test_a_reseller_may_set_a_list_basis_budget_and_then_sees_its_figures(self):
        _, reseller = self.daemon.create_token("reseller", mpn_id=RESELLER_B)
        r = self.daemon.request("PUT", f"/v1/customers/{CUSTOMER_B}/budget",
                                {"amount": "20", "basis": "list", "thresholds": [80]},
                                token=reseller)
        self.assertStatus(r, 200, "reseller list budget")
        self.assertEqual(r.json()["basis"], "list")
        spend = self.daemon.get_json(f"/v1/customers/{CUSTOMER_B}/spend?month={MONTH}",
                                     token=reseller)
        # 17.35 / 20 = 86.75 %.
        self.assertEqual((spend["percent"], spend["percent_rounded"]), ("86.750000000", 87))
        alerts, _ = self.daemon.all_alerts(token=reseller)
        self.assertEqual([(a["kind"], a["threshold"]) for a in alerts
                          if a["kind"] == "budget_actual"], [("budget_actual", 80)])
        self.assertFalse([a for a in alerts if a["kind"] == "pec_lost"])

    def test_a_revoked_token_is_refused_immediately(self):
        token_id, token = self.daemon.create_token("partner", partner_id=PARTNER_B)
        path = f"/v1/customers/{CUSTOMER_B}/spend?month={MONTH}"
        self.assertStatus(self.daemon.get(path, token=token), 200, "before revocation")
        self.assertStatus(self.daemon.request("DELETE", f"/v1/tokens/{token_id}"), 204, "DELETE")
        self.assertProblem(self.daemon.get(path, token=token), 401, "right after revocation")
        self.assertProblem(self.daemon.request("DELETE", f"/v1/tokens/{token_id}"), 404,
                           "a second DELETE")

    def test_a_partner_token_needs_a_partner_id_and_a_reseller_token_an_mpn_id(self):
        for body in ({"role": "partner"}, {"role": "reseller"}, {"role": "owner"}):
            r = self.daemon.request("POST", "/v1/tokens", body)
            self.assertProblem(r, 422, repr(body))


if __name__ == "__main__":
    unittest.main()
