from django.contrib.auth.models import User
from django.test import TestCase

from artifacts_app.budgets.check import check_completed_runs
from artifacts_app.budgets.rules import add_budget

from .factories import (
    grant,
    make_artifact,
    make_build_action,
    make_build_run,
    make_product,
    make_workflow,
)

MB = 1_000_000


class ViolationsTests(TestCase):
    def setUp(self):
        self.user = grant(User.objects.create_user("dana", password="a-long-test-password"))
        self.client.force_login(self.user)
        add_budget("cap", max_bytes=100 * MB)
        add_budget("logs", max_bytes=MB, file_type="LOG_BUNDLE")
        self.nimbus = make_workflow(make_product(name="Nimbus <b>Weather</b>"))
        self.ledger = make_workflow(make_product(name="Ledger"))
        for number, workflow in enumerate([self.nimbus, self.ledger, self.nimbus], start=1):
            run = make_build_run(workflow, number=number)
            make_artifact(make_build_action(run), file_size=200 * MB)
        check_completed_runs()

    def test_page_lists_violations_newest_first_and_escapes_names(self):
        response = self.client.get("/violations/")
        page = response.content.decode()
        self.assertContains(response, "3 violations")
        self.assertIn("Nimbus &lt;b&gt;Weather&lt;/b&gt;", page)
        self.assertLess(page.index("#3"), page.index("#2"))
        self.assertLess(page.index("#2"), page.index("#1"))

    def test_page_filters_by_product_budget_and_state(self):
        product = self.ledger.product.asc_id
        self.assertContains(self.client.get("/violations/", {"product": product}), "1 violation,")
        self.assertContains(self.client.get("/violations/", {"budget": "logs"}), "0 violations")
        response = self.client.get("/violations/", {"state": "nonsense"})
        self.assertEqual(response.status_code, 400)
        self.assertContains(response, "state:", status_code=400)

    def test_acknowledge_marks_the_violation_and_returns_to_the_list(self):
        violation_id = self.client.get("/api/v1/violations").json()["results"][0]["id"]
        response = self.client.post(
            "/violations/acknowledge",
            {"violation": violation_id, "next": "/violations/?state=open"},
        )
        self.assertRedirects(response, "/violations/?state=open")
        self.assertContains(self.client.get("/violations/?state=open"), "2 violations")
        self.assertContains(self.client.get("/violations/?state=acknowledged"), "by dana")

    def test_acknowledge_does_not_redirect_elsewhere(self):
        violation_id = self.client.get("/api/v1/violations").json()["results"][0]["id"]
        response = self.client.post(
            "/violations/acknowledge", {"violation": violation_id, "next": "https://evil.test/"}
        )
        self.assertRedirects(response, "/violations/")

    def test_api_lists_violations_as_the_contract_says(self):
        body = self.client.get("/api/v1/violations").json()
        self.assertEqual(body["count"], 3)
        self.assertIsNone(body["next"])
        first = body["results"][0]
        self.assertEqual(first["budget"], "cap")
        self.assertEqual(first["run"]["number"], 3)
        self.assertEqual((first["bytes"], first["limit_bytes"]), (200 * MB, 100 * MB))
        self.assertEqual(first["baseline_bytes"], 200 * MB)  # run #1 of the same workflow
        self.assertFalse(first["notified"])
        for key in ("file_type", "created_at"):
            self.assertIn(key, first)

    def test_api_rejects_bad_parameters(self):
        response = self.client.get("/api/v1/violations", {"page": "0"})
        self.assertEqual(response.status_code, 400)
        self.assertIn("page", response.json()["error"])
        response = self.client.get("/api/v1/violations", {"page": "9"})
        self.assertEqual(response.status_code, 400)
