"""GET /api/v1/runs against a brute-force computation over every row, baseline rule included.

The expected values walk the runs and artifacts in Python: the one place where a loop over
rows is the point. The history mixes failed, canceled and running runs, runs without
artifacts, interleaved numbers, branches and commits, so the baseline must skip over runs.
"""

import random
from datetime import UTC, date, datetime, timedelta

from django.contrib.auth.models import User
from django.test import TestCase
from django.urls import reverse

from artifacts_app.baselines import baseline_for
from artifacts_app.models import CiArtifact, CiBuildRun
from tests.factories import (
    grant,
    make_artifact,
    make_build_action,
    make_build_run,
    make_product,
    make_workflow,
)

STATUSES = [("COMPLETE", "SUCCEEDED")] * 5 + [
    ("COMPLETE", "FAILED"),
    ("COMPLETE", "CANCELED"),
    ("COMPLETE", "ERRORED"),
    ("RUNNING", ""),
    ("PENDING", ""),
]
BRANCHES = ["main", "main", "develop", "release/2.0", "feature/login", "v2.0.1"]
TYPES = ["ARCHIVE", "LOG_BUNDLE", "RESULT_BUNDLE", "TEST_PRODUCTS"]


def build_runs(count=140, seed=7):
    """Runs of three workflows of two products over about 100 days, seeded so they repeat."""
    rng = random.Random(seed)
    apps = make_product(name="Nimbus"), make_product(name="Ledger")
    workflows = [
        make_workflow(product=apps[0], name="Nightly"),
        make_workflow(product=apps[0], name="Release"),
        make_workflow(product=apps[1], name="Nightly"),
    ]
    first = datetime(2026, 8, 20, 6, 0, tzinfo=UTC)
    numbers = dict.fromkeys(workflows, 0)
    for i in range(count):
        workflow = rng.choice(workflows)
        numbers[workflow] += rng.choice([1, 1, 2])
        progress, status = rng.choice(STATUSES)
        run = make_build_run(
            workflow=workflow,
            number=numbers[workflow],
            created_date=first + timedelta(hours=17 * i + rng.randrange(5)),
            execution_progress=progress,
            completion_status=status,
            source_ref_name=rng.choice(BRANCHES),
            source_commit_sha=f"{rng.getrandbits(160):040x}",
        )
        if progress != "COMPLETE" or rng.random() < 0.1:
            continue  # artifacts arrive as a run completes; some runs make none
        action = make_build_action(build_run=run)
        for file_type in rng.sample(TYPES, rng.randint(1, 3)):
            size = None if rng.random() < 0.03 else rng.randrange(1_000_000, 900_000_000)
            make_artifact(build_action=action, file_type=file_type, file_size=size)
    return apps, workflows


def brute_force_runs(start, end, products=(), workflows=(), file_types=(), branches=(), commit=""):
    """What /api/v1/runs should list, computed row by row."""
    runs = list(CiBuildRun.objects.select_related("workflow", "product"))
    artifacts = list(CiArtifact.objects.all())

    def sizes(run):
        mine = [a for a in artifacts if a.build_run_id == run.pk]
        mine = [a for a in mine if not file_types or a.file_type in file_types]
        return len(mine), sum(a.file_size or 0 for a in mine)

    def baseline(run):
        earlier = [
            other
            for other in runs
            if run.workflow_id is not None
            and other.workflow_id == run.workflow_id
            and other.number < run.number
            and other.execution_progress == "COMPLETE"
            and other.completion_status == "SUCCEEDED"
        ]
        return max(earlier, key=lambda other: other.number, default=None)

    chosen = []
    for run in runs:
        day = run.created_date.astimezone(UTC).date()
        if start is not None and not start <= day <= end:
            continue
        if products and run.product.asc_id not in products:
            continue
        if workflows and (run.workflow is None or run.workflow.asc_id not in workflows):
            continue
        if branches and run.source_ref_name not in branches:
            continue
        if commit and not run.source_commit_sha.lower().startswith(commit.lower()):
            continue
        chosen.append(run)
    chosen.sort(key=lambda run: (run.created_date, run.number, run.pk), reverse=True)
    results = []
    for run in chosen:
        count, size = sizes(run)
        base = baseline(run)
        results.append(
            {
                "id": run.asc_id,
                "number": run.number,
                "created_date": run.created_date.isoformat(),
                "execution_progress": run.execution_progress,
                "completion_status": run.completion_status,
                "branch": run.source_ref_name,
                "commit_sha": run.source_commit_sha,
                "workflow": {"id": run.workflow.asc_id, "name": run.workflow.name},
                "product": {"id": run.product.asc_id, "name": run.product.name},
                "artifacts": count,
                "bytes": size,
                "baseline": {"id": base.asc_id, "number": base.number} if base else None,
                "delta_bytes": size - sizes(base)[1] if base else None,
            }
        )
    return results


class RunsEndpointTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.products, cls.workflows = build_runs()

    def setUp(self):
        self.client.force_login(grant(User.objects.create_user("dana")))

    def fetch_all(self, params):
        """Every page, following `next` links; checks each page's `count`."""
        response = self.client.get(reverse("api-runs"), params)
        self.assertEqual(response.status_code, 200, response.content)
        body = response.json()
        results, count = body["results"], body["count"]
        while body["next"]:
            self.assertTrue(body["next"].startswith("http://testserver/api/v1/runs?"))
            body = self.client.get(body["next"]).json()
            self.assertEqual(body["count"], count)
            results += body["results"]
        self.assertEqual(len(results), count)
        return results

    def test_every_filter_equals_brute_force(self):
        start, end = date(2026, 8, 1), date(2026, 11, 30)
        nimbus = self.products[0].asc_id
        nightly, release, ledger_nightly = (w.asc_id for w in self.workflows)
        some_sha = CiBuildRun.objects.order_by("number", "id")[3].source_commit_sha
        cases = [
            {},
            {"start": "2026-09-10", "end": "2026-10-05"},
            {"product": [nimbus]},
            {"workflow": [nightly]},
            {"workflow": [release, ledger_nightly]},
            {"file_type": ["ARCHIVE"]},
            {"file_type": ["ARCHIVE", "LOG_BUNDLE"]},
            {"branch": ["main"]},
            {"branch": ["release/2.0", "v2.0.1"], "file_type": ["RESULT_BUNDLE"]},
            {"product": [nimbus], "branch": ["develop"], "file_type": ["TEST_PRODUCTS"]},
            {"commit": some_sha},
            {"commit": some_sha[:7].upper()},
            {"commit": some_sha[:9], "workflow": [nightly, release, ledger_nightly]},
            {"branch": ["no-such-branch"]},
        ]
        for params in cases:
            with self.subTest(**params):
                query = {"start": start.isoformat(), "end": end.isoformat(), **params}
                results = self.fetch_all(query)
                expected = brute_force_runs(
                    date.fromisoformat(query["start"]),
                    date.fromisoformat(query["end"]),
                    products=params.get("product", ()),
                    workflows=params.get("workflow", ()),
                    file_types=params.get("file_type", ()),
                    branches=params.get("branch", ()),
                    commit=params.get("commit", ""),
                )
                self.assertEqual(results, expected)

    def test_the_history_exercises_the_baseline_rule(self):
        everything = brute_force_runs(None, None)
        self.assertGreater(len(everything), 100)  # more than one page
        by_id = {run.asc_id: run for run in CiBuildRun.objects.all()}
        skipped = 0
        for row in everything:
            run = by_id[row["id"]]
            base = baseline_for(run)
            self.assertEqual(row["baseline"] and row["baseline"]["id"], base and base.asc_id)
            previous = (
                CiBuildRun.objects.filter(workflow=run.workflow, number__lt=run.number)
                .order_by("-number")
                .first()
            )
            skipped += previous is not None and previous != base
        self.assertGreater(skipped, 10)  # the previous run was often not a successful one

    def test_a_commit_is_found_over_all_time_unless_a_range_is_asked(self):
        oldest = CiBuildRun.objects.order_by("created_date").first()
        found = self.fetch_all({"commit": oldest.source_commit_sha[:8]})
        self.assertEqual([row["id"] for row in found], [oldest.asc_id])
        self.assertEqual(
            self.fetch_all({"commit": oldest.source_commit_sha, "start": "2026-11-01"}), []
        )

    def test_without_dates_the_last_90_days_are_listed(self):
        results = self.fetch_all({})
        end = datetime.now(UTC).date()
        self.assertEqual(results, brute_force_runs(end - timedelta(days=89), end))

    def test_bad_parameters_get_400_naming_them(self):
        cases = {
            "commit": ({"commit": "abc12"}, "at least 7 hex digits"),
            "commit twice": ({"commit": ["abcdef12", "abcdef13"]}, "commit: give it once"),
            "branch": ({"branch": "main\nx"}, "branch:"),
            "page": ({"page": "9"}, "page: there are only"),
            "workflow": ({"workflow": "missing"}, "workflow: no workflow"),
        }
        for name, (params, message) in cases.items():
            with self.subTest(name):
                response = self.client.get(reverse("api-runs"), params)
                self.assertEqual(response.status_code, 400)
                self.assertIn(message, response.json()["error"])

    def test_one_page_costs_a_fixed_number_of_queries(self):
        # session + user, the accounts (which the user sees), count, the page with its
        # baselines, the sizes
        with self.assertNumQueries(6):
            self.client.get(reverse("api-runs"), {"start": "2026-08-01", "end": "2026-11-30"})
