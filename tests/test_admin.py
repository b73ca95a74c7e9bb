from datetime import timedelta

from django.contrib.auth.models import User
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from artifacts_app.budgets.models import SizeBudget
from artifacts_app.models import SyncRun, default_account

from .factories import (
    make_artifact,
    make_build_action,
    make_build_run,
    make_product,
    make_workflow,
)

CHANGELISTS = [
    "/admin/artifacts_app/ciproduct/",
    "/admin/artifacts_app/ciworkflow/",
    "/admin/artifacts_app/cibuildrun/",
    "/admin/artifacts_app/cibuildaction/",
    "/admin/artifacts_app/ciartifact/",
    "/admin/artifacts_app/syncrun/",
    "/admin/artifacts_app/apitoken/",
]


class AdminTests(TestCase):
    def setUp(self):
        self.staff = User.objects.create_superuser("admin", password="a-long-test-password")
        self.client.force_login(self.staff)

    def add_rows(self, runs):
        workflow = make_workflow()
        for _ in range(runs):
            action = make_build_action(make_build_run(workflow))
            make_artifact(action, file_size=3 * 2**30)
            make_artifact(action, file_type="LOG_BUNDLE", file_name="logs.zip", file_size=1200)
        SyncRun.objects.create(account=default_account(), status=SyncRun.Status.SUCCEEDED)

    def query_counts(self):
        counts = {}
        for url in CHANGELISTS:
            with CaptureQueriesContext(connection) as ctx:
                response = self.client.get(url)
            self.assertEqual(response.status_code, 200, url)
            counts[url] = len(ctx.captured_queries)
        return counts

    def test_changelists_render_with_a_query_count_independent_of_rows(self):
        self.add_rows(2)
        few = self.query_counts()
        self.add_rows(20)
        many = self.query_counts()
        self.assertEqual(few, many)
        self.assertLess(max(many.values()), 15)

    def test_artifact_sizes_are_human_readable(self):
        self.add_rows(1)
        response = self.client.get("/admin/artifacts_app/ciartifact/")
        self.assertContains(response, "3.2 GB")

    def test_mirror_rows_cannot_be_edited_or_added(self):
        self.add_rows(1)
        artifact = make_artifact()
        response = self.client.get(f"/admin/artifacts_app/ciartifact/{artifact.pk}/change/")
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, 'type="submit" value="Save"')
        self.assertEqual(self.client.get("/admin/artifacts_app/ciartifact/add/").status_code, 403)

    def test_search_finds_a_run_by_commit_sha(self):
        wanted = make_build_run(source_commit_sha="deadbeefcafe")
        make_build_run(source_commit_sha="0123456789ab")
        response = self.client.get("/admin/artifacts_app/cibuildrun/", {"q": "deadbeef"})
        self.assertEqual(list(response.context["cl"].result_list), [wanted])

    def test_workflows_are_named_with_their_product_in_columns_and_filters(self):
        for product in ("Nimbus", "Ledger"):
            make_build_run(make_workflow(make_product(name=product), name="Nightly"))
        page = self.client.get("/admin/artifacts_app/cibuildrun/").content.decode()
        for label in ("Nimbus · Nightly", "Ledger · Nightly"):
            # once in the list, once among the filter's choices
            self.assertGreaterEqual(page.count(label), 2, label)

    def test_a_run_shows_one_status_label_not_apples_raw_values(self):
        make_build_run(number=7, execution_progress="PENDING", completion_status="")
        make_build_run(number=8, completion_status="FAILED")
        page = self.client.get("/admin/artifacts_app/cibuildrun/").content.decode()
        self.assertIn('<td class="field-status">Pending</td>', page)
        self.assertIn('<td class="field-status">Failed</td>', page)
        self.assertNotIn(">PENDING<", page)

    def test_sync_durations_read_as_seconds_and_minutes(self):
        quick = SyncRun.objects.create(account=default_account(), status=SyncRun.Status.SUCCEEDED)
        SyncRun.objects.filter(pk=quick.pk).update(
            finished_at=quick.started_at + timedelta(seconds=2.709677)
        )
        slow = SyncRun.objects.create(account=default_account(), status=SyncRun.Status.SUCCEEDED)
        SyncRun.objects.filter(pk=slow.pk).update(
            finished_at=slow.started_at + timedelta(minutes=3, seconds=12.4)
        )
        response = self.client.get("/admin/artifacts_app/syncrun/")
        self.assertContains(response, '<td class="field-took">2.7 s</td>', html=False)
        self.assertContains(response, '<td class="field-took">3 min 12 s</td>', html=False)
        self.assertNotContains(response, "0:00:02.709677")

    def test_lists_load_the_stylesheet_that_keeps_sizes_on_one_line(self):
        response = self.client.get("/admin/artifacts_app/ciartifact/")
        self.assertContains(response, "/static/css/admin.css")


class SizeBudgetAdminTests(TestCase):
    SECRET_URL = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"

    def setUp(self):
        self.client.force_login(User.objects.create_superuser("admin", password="a-long-pw-1"))

    def add(self, **fields):
        data = {"name": "cap", "max_bytes": "1000", "new_notify_urls": self.SECRET_URL, **fields}
        return self.client.post("/admin/artifacts_app/sizebudget/add/", data)

    def test_budget_added_in_the_admin_keeps_its_url_secret(self):
        self.assertEqual(self.add().status_code, 302)
        budget = SizeBudget.objects.get()
        self.assertEqual(budget.notify_urls, [self.SECRET_URL])
        for page in (
            "/admin/artifacts_app/sizebudget/",
            f"/admin/artifacts_app/sizebudget/{budget.pk}/change/",
        ):
            with self.subTest(page=page):
                response = self.client.get(page)
                self.assertContains(response, "cap")
                self.assertNotContains(response, "TIiajkdnlazkcOXrIdevi7FQ")
        self.assertContains(
            self.client.get(f"/admin/artifacts_app/sizebudget/{budget.pk}/change/"), "slack://"
        )

    def test_saving_without_new_urls_keeps_the_stored_ones(self):
        self.add()
        budget = SizeBudget.objects.get()
        self.client.post(
            f"/admin/artifacts_app/sizebudget/{budget.pk}/change/",
            {"name": "cap", "max_bytes": "2000", "new_notify_urls": ""},
        )
        budget.refresh_from_db()
        self.assertEqual((budget.max_bytes, budget.notify_urls), (2000, [self.SECRET_URL]))

    def test_both_or_no_limit_is_refused_with_a_message(self):
        response = self.add(max_growth_percent="5")
        self.assertContains(response, "either a maximum size or a maximum growth")
        self.assertFalse(SizeBudget.objects.exists())

    def test_violations_and_webhook_queue_pages_open(self):
        for page in (
            "/admin/artifacts_app/budgetviolation/",
            "/admin/artifacts_app/webhookdelivery/",
            "/admin/artifacts_app/queuedrun/",
        ):
            with self.subTest(page=page):
                self.assertEqual(self.client.get(page).status_code, 200)
