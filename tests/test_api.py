"""/api/v1/stats, /api/v1/artifacts and /export.csv against figures computed by hand.

The expected values are brute-forced in Python over every row: the one place where a loop
over artifacts is the point.
"""

import csv
import io
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from django.contrib.auth.models import User
from django.test import TestCase
from django.urls import reverse

from artifacts_app.models import ArchivedArtifact, CiArtifact
from tests.factories import (
    grant,
    make_artifact,
    make_build_action,
    make_build_run,
    make_product,
    make_workflow,
)

TODAY = date(2026, 11, 30)


BRANCHES = ["main", "develop", "v2.0.1", "main"]


def build_history():
    """Two products, three workflows, six file types, runs across day, week and month edges."""
    apps = make_product(name="Nimbus"), make_product(name="Ledger")
    workflows = [
        make_workflow(product=apps[0], name="CI"),
        make_workflow(product=apps[0], name="Release"),
        make_workflow(product=apps[1], name="Nightly"),
    ]
    moments = [
        datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC),  # Saturday, last second of October
        datetime(2026, 11, 1, 0, 0, 0, tzinfo=UTC),  # Sunday, first second of November
        datetime(2026, 11, 1, 23, 59, 59, 999999, tzinfo=UTC),  # last instant of a week
        datetime(2026, 11, 2, 0, 0, 0, tzinfo=UTC),  # Monday: a new week
        datetime(2026, 11, 15, 12, 30, tzinfo=UTC),
        datetime(2026, 9, 30, 8, 0, tzinfo=UTC),
        datetime(2026, 8, 3, 8, 0, tzinfo=UTC),
    ]
    types = ["ARCHIVE", "LOG_BUNDLE", "RESULT_BUNDLE", "TEST_PRODUCTS", "ARCHIVE_EXPORT"]
    number = 0
    for i, moment in enumerate(moments):
        for j, workflow in enumerate(workflows):
            number += 1
            run = make_build_run(
                workflow=workflow,
                number=number,
                created_date=moment,
                source_ref_name=BRANCHES[(i + 2 * j) % len(BRANCHES)],
            )
            action = make_build_action(build_run=run)
            for k in range(1 + (i + j) % 3):
                make_artifact(
                    build_action=action,
                    file_type=types[(i + j + k) % len(types)],
                    file_size=1_000_000 * (i + 1) + 10_000 * j + k,
                )
    # An artifact whose size Apple has not reported yet still counts as one artifact.
    make_artifact(
        build_action=make_build_action(
            build_run=make_build_run(workflow=workflows[0], number=99, created_date=moments[4])
        ),
        file_type="ARCHIVE",
        file_size=None,
    )
    return apps, workflows


def bucket(day, granularity):
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def brute_force(
    start, end, granularity="day", products=(), workflows=(), file_types=(), branches=()
):
    totals = {"count": 0, "bytes": 0}
    cells = defaultdict(lambda: {"count": 0, "bytes": 0})
    for artifact in CiArtifact.objects.select_related("product", "workflow", "build_run"):
        day = artifact.run_created_date.astimezone(UTC).date()
        if not start <= day <= end:
            continue
        if products and artifact.product.asc_id not in products:
            continue
        if workflows and artifact.workflow.asc_id not in workflows:
            continue
        if file_types and artifact.file_type not in file_types:
            continue
        if branches and artifact.build_run.source_ref_name not in branches:
            continue
        size = artifact.file_size or 0
        cell = cells[(bucket(day, granularity).isoformat(), artifact.file_type)]
        for target in (totals, cell):
            target["count"] += 1
            target["bytes"] += size
    series = [
        {"period": period, "file_type": file_type, **cells[(period, file_type)]}
        for period, file_type in sorted(cells)
    ]
    return {
        "granularity": granularity,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "totals": totals,
        "series": series,
    }


class LoggedInTestCase(TestCase):
    def setUp(self):
        user = grant(User.objects.create_user("dana", password="a-long-test-password"))
        self.client.force_login(user)


class StatsEndpointTests(LoggedInTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.products, cls.workflows = build_history()

    def stats(self, **params):
        response = self.client.get(reverse("api-stats"), params)
        self.assertEqual(response.status_code, 200, response.content)
        return response.json()

    def test_daily_series_equals_brute_force(self):
        body = self.stats(start="2026-08-01", end="2026-11-30", granularity="day")
        self.assertEqual(body, brute_force(date(2026, 8, 1), date(2026, 11, 30), "day"))

    def test_weekly_series_equals_brute_force_with_weeks_starting_monday(self):
        body = self.stats(start="2026-08-01", end="2026-11-30", granularity="week")
        self.assertEqual(body, brute_force(date(2026, 8, 1), date(2026, 11, 30), "week"))
        periods = {date.fromisoformat(row["period"]) for row in body["series"]}
        self.assertEqual({p.weekday() for p in periods}, {0})

    def test_monthly_series_equals_brute_force(self):
        body = self.stats(start="2026-08-01", end="2026-11-30", granularity="month")
        self.assertEqual(body, brute_force(date(2026, 8, 1), date(2026, 11, 30), "month"))
        self.assertEqual(
            sorted({row["period"] for row in body["series"]}),
            ["2026-08-01", "2026-09-01", "2026-10-01", "2026-11-01"],
        )

    def test_each_filter_equals_brute_force(self):
        start, end = date(2026, 8, 1), date(2026, 11, 30)
        product = self.products[0].asc_id
        workflow = self.workflows[2].asc_id
        cases = [
            {"product": [product]},
            {"workflow": [workflow]},
            {"file_type": ["ARCHIVE"]},
            {"file_type": ["ARCHIVE", "LOG_BUNDLE"]},
            {"product": [product], "file_type": ["RESULT_BUNDLE"]},
            {"product": [p.asc_id for p in self.products], "workflow": [workflow]},
            {"branch": ["main"]},
            {"branch": ["develop", "v2.0.1"], "file_type": ["ARCHIVE", "LOG_BUNDLE"]},
            {"branch": ["main"], "product": [product]},
        ]
        for params in cases:
            with self.subTest(**params):
                body = self.stats(
                    start="2026-08-01", end="2026-11-30", granularity="week", **params
                )
                expected = brute_force(
                    start,
                    end,
                    "week",
                    products=params.get("product", ()),
                    workflows=params.get("workflow", ()),
                    file_types=params.get("file_type", ()),
                    branches=params.get("branch", ()),
                )
                self.assertEqual(body, expected)
                self.assertGreater(body["totals"]["count"], 0)

    def test_an_artifact_at_midnight_utc_belongs_to_the_new_day(self):
        saturday = self.stats(start="2026-10-31", end="2026-10-31")
        sunday = self.stats(start="2026-11-01", end="2026-11-01")
        self.assertEqual(saturday, brute_force(date(2026, 10, 31), date(2026, 10, 31)))
        self.assertEqual(sunday, brute_force(date(2026, 11, 1), date(2026, 11, 1)))
        self.assertEqual({row["period"] for row in saturday["series"]}, {"2026-10-31"})
        self.assertEqual({row["period"] for row in sunday["series"]}, {"2026-11-01"})
        # Sunday 23:59:59.999999 closes the week of Monday 26 October; Monday 00:00 opens a new one.
        weeks = self.stats(start="2026-11-01", end="2026-11-02", granularity="week")
        self.assertEqual({row["period"] for row in weeks["series"]}, {"2026-10-26", "2026-11-02"})
        monday = sum(r["count"] for r in weeks["series"] if r["period"] == "2026-11-02")
        self.assertEqual(monday, CiArtifact.objects.filter(run_created_date__day=2).count())

    def test_the_end_day_is_included(self):
        body = self.stats(start="2026-11-15", end="2026-11-15")
        self.assertEqual(
            body["totals"], brute_force(date(2026, 11, 15), date(2026, 11, 15))["totals"]
        )
        self.assertGreater(body["totals"]["count"], 0)

    def test_a_range_without_artifacts_has_zero_totals_and_no_series(self):
        body = self.stats(start="2020-01-01", end="2020-01-31")
        self.assertEqual(body["totals"], {"count": 0, "bytes": 0})
        self.assertEqual(body["series"], [])

    def test_without_dates_the_last_90_days_are_echoed_back(self):
        body = self.stats()
        end = date.fromisoformat(body["end"])
        self.assertEqual(date.fromisoformat(body["start"]), end - timedelta(days=89))
        self.assertEqual(body["granularity"], "day")
        self.assertEqual(body, brute_force(end - timedelta(days=89), end))

    def test_artifacts_synced_after_a_first_answer_are_counted(self):
        before = self.stats(start="2026-11-15", end="2026-11-15")["totals"]
        run = make_build_run(
            workflow=self.workflows[0], number=500, created_date=datetime(2026, 11, 15, tzinfo=UTC)
        )
        make_artifact(build_action=make_build_action(build_run=run), file_size=7)
        after = self.stats(start="2026-11-15", end="2026-11-15")["totals"]
        self.assertEqual(after, {"count": before["count"] + 1, "bytes": before["bytes"] + 7})


class BadParameterTests(LoggedInTestCase):
    def assertRejects(self, url, params, parameter):
        response = self.client.get(url, params)
        self.assertEqual(response.status_code, 400, params)
        self.assertIn(parameter, response.json()["error"])

    def assertRejectedByEveryEndpoint(self, cases):
        for url in (reverse("api-stats"), reverse("api-artifacts"), reverse("export-csv")):
            for params, parameter in cases:
                with self.subTest(url=url, params=params):
                    self.assertRejects(url, params, parameter)

    def test_each_unusable_parameter_is_named_in_a_400(self):
        cases = [
            ({"start": "2026-13-01"}, "start"),
            ({"start": "yesterday"}, "start"),
            ({"end": "2026-02-30"}, "end"),
            ({"start": "2026-11-02", "end": "2026-11-01"}, "start"),
            ({"start": "2000-01-01", "end": "2026-01-01"}, "range"),
            ({"granularity": "year"}, "granularity"),
            ({"granularity": ["day", "week"]}, "granularity"),
            ({"product": "no-such-product"}, "product"),
            ({"workflow": "no-such-workflow"}, "workflow"),
            ({"workflow": "<script>"}, "workflow"),
            ({"file_type": "archive"}, "file_type"),
            ({"file_type": "ARCHIVE;DROP"}, "file_type"),
        ]
        self.assertRejectedByEveryEndpoint(cases)

    def test_dates_at_the_edges_of_the_calendar_are_a_400_not_an_error_page(self):
        cases = [
            ({"start": "9999-12-30", "end": "9999-12-31"}, "start"),
            ({"start": "2026-11-01", "end": "9999-12-31"}, "end"),
            ({"start": "0001-01-01", "end": "0001-01-05"}, "start"),
        ]
        for name in ("dashboard", "api-stats", "api-artifacts", "export-csv"):
            for params, parameter in cases:
                with self.subTest(name=name, params=params):
                    response = self.client.get(reverse(name), params)
                    self.assertEqual(response.status_code, 400)
                    if name != "dashboard":
                        self.assertIn(parameter, response.json()["error"])

    def test_a_page_that_is_not_a_positive_number_is_rejected(self):
        for page in ("0", "-1", "two", "1.5"):
            with self.subTest(page=page):
                self.assertRejects(reverse("api-artifacts"), {"page": page}, "page")

    def test_other_scripts_digits_and_huge_numbers_are_a_400_naming_the_parameter(self):
        cases = [
            ({"page": "²"}, "page"),
            ({"page": "9" * 10240}, "page"),
            ({"window": "¹"}, "window"),
            ({"window": "٣"}, "window"),
            ({"threshold": "1e309"}, "threshold"),
        ]
        self.assertRejectedByEveryEndpoint(cases)
        response = self.client.get(reverse("dashboard"), {"window": "¹"})
        self.assertContains(response, "window: must be a whole number", status_code=400)

    def test_a_page_past_the_end_is_rejected(self):
        self.assertRejects(reverse("api-artifacts"), {"page": "3"}, "page")


class AnonymousAccessTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        build_history()

    def test_anonymous_requests_get_no_data(self):
        for name in ("api-stats", "api-artifacts", "api-runs", "export-csv"):
            with self.subTest(name=name):
                response = self.client.get(reverse(name), {"start": "2026-08-01"})
                self.assertEqual(response.status_code, 401)
                self.assertIn("log in", response.json()["error"])
                self.assertNotIn(b"ARCHIVE", response.content)
                self.assertNotIn(b"Nimbus", response.content)


class ArtifactsEndpointTests(LoggedInTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.products, cls.workflows = build_history()

    def test_results_are_the_filtered_artifacts_newest_run_first(self):
        workflow = self.workflows[1]
        body = self.client.get(
            reverse("api-artifacts"),
            {"start": "2026-08-01", "end": "2026-11-30", "workflow": workflow.asc_id},
        ).json()
        expected = CiArtifact.objects.filter(workflow=workflow).order_by(
            "-run_created_date", "file_type", "id"
        )
        self.assertEqual(body["count"], expected.count())
        self.assertIsNone(body["next"])
        self.assertEqual([r["id"] for r in body["results"]], [a.asc_id for a in expected])

    def test_the_branch_filter_keeps_the_artifacts_of_runs_on_those_branches(self):
        params = {"start": "2026-08-01", "end": "2026-11-30", "branch": ["develop", "v2.0.1"]}
        body = self.client.get(reverse("api-artifacts"), params).json()
        expected = CiArtifact.objects.filter(
            build_run__source_ref_name__in=params["branch"]
        ).order_by("-run_created_date", "file_type", "id")
        self.assertGreater(expected.count(), 0)
        self.assertEqual([r["id"] for r in body["results"]], [a.asc_id for a in expected])
        rows = list(
            csv.DictReader(
                io.StringIO(self.client.get(reverse("export-csv"), params).getvalue().decode())
            )
        )
        self.assertEqual([row["id"] for row in rows], [a.asc_id for a in expected])

    def test_each_result_names_its_run_action_workflow_and_product(self):
        artifact = CiArtifact.objects.filter(file_size__isnull=False).first()
        body = self.client.get(
            reverse("api-artifacts"),
            {"start": "2026-08-01", "end": "2026-11-30", "workflow": artifact.workflow.asc_id},
        ).json()
        result = next(r for r in body["results"] if r["id"] == artifact.asc_id)
        run, action = artifact.build_run, artifact.build_action
        self.assertEqual(
            result,
            {
                "id": artifact.asc_id,
                "file_name": artifact.file_name,
                "file_type": artifact.file_type,
                "file_size": artifact.file_size,
                "archived": False,
                "build_run": {
                    "id": run.asc_id,
                    "number": run.number,
                    "created_date": run.created_date.isoformat(),
                },
                "action": {"id": action.asc_id, "name": action.name, "action_type": "ARCHIVE"},
                "workflow": {"id": artifact.workflow.asc_id, "name": artifact.workflow.name},
                "product": {"id": artifact.product.asc_id, "name": artifact.product.name},
            },
        )

    def test_only_artifacts_with_a_verified_archive_copy_read_as_archived(self):
        copied, failed, *_ = CiArtifact.objects.filter(workflow=self.workflows[0])
        ArchivedArtifact.objects.create(artifact=copied, status=ArchivedArtifact.Status.ARCHIVED)
        ArchivedArtifact.objects.create(artifact=failed, status=ArchivedArtifact.Status.FAILED)
        params = {"start": "2026-08-01", "end": "2026-11-30", "workflow": self.workflows[0].asc_id}
        body = self.client.get(reverse("api-artifacts"), params).json()
        archived = {r["id"] for r in body["results"] if r["archived"]}
        self.assertEqual(archived, {copied.asc_id})
        rows = list(
            csv.DictReader(
                io.StringIO(
                    b"".join(
                        self.client.get(reverse("export-csv"), params).streaming_content
                    ).decode()
                )
            )
        )
        self.assertEqual({r["id"] for r in rows if r["archived"] == "true"}, {copied.asc_id})

    def test_pages_follow_next_links_to_every_artifact(self):
        run = make_build_run(
            workflow=self.workflows[0], created_date=datetime(2026, 11, 20, tzinfo=UTC)
        )
        action = make_build_action(build_run=run)
        CiArtifact.objects.bulk_create(
            CiArtifact(
                asc_id=f"bulk-{i}",
                build_action=action,
                build_run=run,
                workflow=run.workflow,
                product=run.product,
                account_id=run.account_id,
                run_created_date=run.created_date,
                file_type="LOG_BUNDLE",
                file_name=f"log-{i}.zip",
                file_size=i,
            )
            for i in range(150)
        )
        url = reverse("api-artifacts") + "?start=2026-11-20&end=2026-11-20&file_type=LOG_BUNDLE"
        seen = []
        while url:
            body = self.client.get(url).json()
            seen += [r["id"] for r in body["results"]]
            url = body["next"]
            if url:  # a full URL that keeps every filter
                self.assertTrue(url.startswith("http://testserver/api/v1/artifacts?"), url)
                self.assertIn("file_type=LOG_BUNDLE", url)
        self.assertEqual(len(seen), 150)
        self.assertEqual(len(set(seen)), 150)
        self.assertEqual(body["count"], 150)


class CsvExportTests(LoggedInTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.products, cls.workflows = build_history()

    def export(self, **params):
        response = self.client.get(reverse("export-csv"), params)
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.streaming)
        self.assertEqual(response["Content-Type"], "text/csv; charset=utf-8")
        text = b"".join(response.streaming_content).decode()
        return list(csv.DictReader(io.StringIO(text)))

    def test_rows_are_the_same_artifacts_as_the_api(self):
        params = {"start": "2026-08-01", "end": "2026-11-30", "product": self.products[1].asc_id}
        rows = self.export(**params)
        api = self.client.get(reverse("api-artifacts"), params).json()
        self.assertEqual([r["id"] for r in rows], [r["id"] for r in api["results"]])
        self.assertEqual(
            [int(r["file_size"]) for r in rows], [r["file_size"] for r in api["results"]]
        )

    def test_cells_that_a_spreadsheet_would_run_as_formulas_are_defused(self):
        workflow = make_workflow(product=self.products[0], name='=HYPERLINK("http://x")')
        run = make_build_run(workflow=workflow, created_date=datetime(2026, 11, 20, tzinfo=UTC))
        action = make_build_action(build_run=run, name="@SUM(A1)")
        for name in ("=cmd|' /C calc'!A0", "+1", "-1", "@x", "plain.zip"):
            make_artifact(build_action=action, file_name=name)
        rows = self.export(start="2026-11-20", end="2026-11-20", workflow=workflow.asc_id)
        self.assertEqual(
            sorted(r["file_name"] for r in rows),
            sorted(["'=cmd|' /C calc'!A0", "'+1", "'-1", "'@x", "plain.zip"]),
        )
        self.assertEqual({r["workflow_name"] for r in rows}, {'\'=HYPERLINK("http://x")'})
        self.assertEqual({r["action_name"] for r in rows}, {"'@SUM(A1)"})
