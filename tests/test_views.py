import json
import threading
import time
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import User
from django.db import connection, connections, transaction
from django.test import TestCase, TransactionTestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from artifacts_app import rollup
from artifacts_app.forms import FilterForm
from artifacts_app.models import ArchivedArtifact, CiArtifact, CiBuildRun
from tests.factories import (
    grant,
    make_artifact,
    make_build_action,
    make_build_run,
    make_product,
    make_workflow,
)

HOSTILE = "<script>alert(1)</script>"
RANGE = {"start": "2026-10-01", "end": "2026-11-30"}


def add_runs(workflow, count, first_number=1, start=datetime(2026, 11, 1, 8, tzinfo=UTC)):
    """`count` runs of `workflow`, one per hour, each with an archive and a log bundle."""
    runs = []
    for i in range(count):
        run = make_build_run(
            workflow=workflow,
            number=first_number + i,
            created_date=start + timedelta(hours=i),
            source_commit_sha="0123456789abcdef0123",
            source_ref_name="main",
        )
        action = make_build_action(build_run=run)
        make_artifact(build_action=action, file_size=100_000_000 + i * 1_000_000)
        make_artifact(
            build_action=action,
            file_type="LOG_BUNDLE",
            file_name="logs.zip",
            file_size=2_000_000,
        )
        runs.append(run)
    return runs


class PageTestCase(TestCase):
    def setUp(self):
        self.client.force_login(grant(User.objects.create_user("dana", password="x-long-password")))


class DashboardTests(PageTestCase):
    def test_an_empty_mirror_says_how_to_fetch_artifacts(self):
        response = self.client.get(reverse("dashboard"))
        self.assertContains(response, "No artifacts yet")
        self.assertContains(response, "sync_artifacts")
        self.assertNotContains(response, "<canvas")

    def test_archive_card_shows_what_is_kept_here_and_what_apple_dropped(self):
        runs = add_runs(make_workflow(name="Release"), 2)
        kept, dropped = CiArtifact.objects.filter(build_run=runs[0])
        dropped_at = datetime(2026, 11, 20, tzinfo=UTC)
        CiArtifact.objects.filter(pk=kept.pk).update(gone_upstream_at=dropped_at)
        ArchivedArtifact.objects.create(
            artifact=kept, status="archived", path="p/w/r/a/ARCHIVE/x", size=kept.file_size
        )
        ArchivedArtifact.objects.create(artifact=dropped, status="lost")
        page = self.client.get(reverse("dashboard"), RANGE)
        card = page.content.decode().split('id="archive-title"')[1].split("</section>")[0]
        self.assertIn("1 artifact, 100.0 MB stored", card)
        self.assertRegex(card, r"Not archived</dt><dd>3<")
        self.assertRegex(card, r"Expired at Apple, safe here</dt><dd>1<")
        self.assertRegex(card, r"Lost before archiving</dt><dd>1<")

    def test_archive_card_says_how_to_start_archiving(self):
        add_runs(make_workflow(name="Release"), 1)
        self.assertContains(self.client.get(reverse("dashboard"), RANGE), "archive_artifacts")

    def test_kpis_and_tables_show_sizes_in_human_units(self):
        add_runs(make_workflow(name="Release"), 3)
        response = self.client.get(reverse("dashboard"), RANGE)
        self.assertContains(response, "Size in range")
        self.assertContains(response, "309.0 MB")  # three archives and three log bundles
        self.assertContains(response, "102.0 MB")  # the largest archive
        self.assertEqual(response.content.decode().count("<canvas"), 4)

    def test_a_range_without_artifacts_has_its_own_empty_state(self):
        add_runs(make_workflow(), 2)
        response = self.client.get(
            reverse("dashboard"), {"start": "2025-01-01", "end": "2025-01-31"}
        )
        self.assertContains(response, "No artifacts match these filters")
        self.assertNotContains(response, "<canvas")

    def test_chart_data_reaches_the_page_as_json_script_matching_the_api(self):
        add_runs(make_workflow(), 3)
        page = self.client.get(reverse("dashboard"), {**RANGE, "granularity": "week"})
        data = page.context["chart_data"]
        api = self.client.get(reverse("api-stats"), {**RANGE, "granularity": "week"}).json()
        self.assertEqual(data["series"], api["series"])
        self.assertContains(page, '<script id="chart-data" type="application/json">')

    def test_the_filter_bar_keeps_the_chosen_filters(self):
        workflow = make_workflow(name="Release")
        add_runs(workflow, 2)
        response = self.client.get(
            reverse("dashboard"),
            {**RANGE, "granularity": "month", "workflow": workflow.asc_id, "file_type": "ARCHIVE"},
        )
        self.assertContains(response, '<option value="month" selected>')
        self.assertContains(
            response,
            f'<option value="{workflow.asc_id}" data-product="{workflow.product.asc_id}" selected>',
        )
        self.assertContains(response, '<option value="ARCHIVE" selected>')
        self.assertContains(response, 'value="2026-10-01"')
        self.assertContains(response, "file_type=ARCHIVE")  # the CSV link exports the same view

    def test_the_workflow_list_narrows_to_the_chosen_product(self):
        nimbus, ledger = make_product(name="Nimbus"), make_product(name="Ledger")
        mine = make_workflow(product=nimbus, name="Nightly")
        theirs = make_workflow(product=ledger, name="Nightly")
        add_runs(mine, 1)
        page = self.client.get(reverse("dashboard"), {**RANGE, "product": nimbus.asc_id})
        self.assertContains(page, f'<option value="{mine.asc_id}" data-product="{nimbus.asc_id}">')
        self.assertContains(
            page, f'<option value="{theirs.asc_id}" data-product="{ledger.asc_id}" hidden disabled>'
        )
        self.assertNotContains(page, "Nothing can match")

    def test_a_workflow_of_another_product_says_why_nothing_matches(self):
        nimbus, ledger = make_product(name="Nimbus"), make_product(name="Ledger")
        add_runs(make_workflow(product=nimbus, name="Nightly"), 1)
        theirs = make_workflow(product=ledger, name="Nightly")
        page = self.client.get(
            reverse("dashboard"), {**RANGE, "product": nimbus.asc_id, "workflow": theirs.asc_id}
        )
        self.assertContains(page, "Nothing can match: Ledger · Nightly is a workflow of another")
        # The select still reads the workflow asked for, not "All workflows".
        self.assertContains(
            page, f'<option value="{theirs.asc_id}" data-product="{ledger.asc_id}" selected>'
        )

    def test_the_branch_filter_narrows_the_dashboard_and_keeps_its_value(self):
        workflow = make_workflow(name="Release")
        main, feature = add_runs(workflow, 2)
        CiBuildRun.objects.filter(pk=feature.pk).update(source_ref_name="feature/x")
        page = self.client.get(reverse("dashboard"), {**RANGE, "branch": "main"})
        self.assertEqual(page.context["kpis"]["range_count"], 2)  # main's archive and logs
        self.assertEqual([row["run"] for row in page.context["runs"]], [main])
        self.assertContains(page, 'name="branch" list="f-branches" value="main"')
        self.assertContains(page, '<option value="feature/x">')
        self.assertContains(page, "branch=main")  # the CSV link exports the same view

    def test_a_bad_parameter_is_named_and_the_default_view_shown(self):
        add_runs(make_workflow(), 1)
        response = self.client.get(reverse("dashboard"), {"granularity": "fortnight"})
        self.assertContains(response, "granularity", status_code=400)
        self.assertContains(response, "fortnight", status_code=400)
        self.assertContains(response, 'role="alert"', status_code=400)
        default = FilterForm.default_scope(user=response.wsgi_request.user)
        self.assertEqual(response.context["filters"], default)
        self.assertContains(response, '<option value="day" selected>', status_code=400)

    def test_hostile_names_are_escaped_everywhere(self):
        product = make_product(name=HOSTILE)
        workflow = make_workflow(product=product, name=HOSTILE)
        runs = add_runs(workflow, 7)
        make_artifact(build_action=runs[-1].actions.get(), file_name=HOSTILE, file_size=10**10)
        for url in (
            reverse("dashboard") + "?start=2026-10-01&end=2026-11-30",
            reverse("workflow", args=[workflow.asc_id]) + "?start=2026-10-01&end=2026-11-30",
            reverse("run", args=[runs[-1].asc_id]),
        ):
            with self.subTest(url=url):
                page = self.client.get(url).content.decode()
                self.assertNotIn(HOSTILE, page)
                self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt;", page)

    def test_hostile_names_in_chart_data_cannot_close_the_script_element(self):
        workflow = make_workflow(name="</script><script>alert(1)</script>")
        add_runs(workflow, 2)
        page = self.client.get(reverse("dashboard"), RANGE).content.decode()
        start = page.index('<script id="chart-data"')
        body = page[page.index(">", start) + 1 : page.index("</script>", start)]
        names = [w["name"] for w in json.loads(body)["trend"]["workflows"]]
        self.assertEqual(names, ["Demo App · </script><script>alert(1)</script>"])


class BranchSuggestionTests(PageTestCase):
    def test_the_branch_field_suggests_the_branches_built_in_the_range_in_order(self):
        workflow = make_workflow()
        for number, (branch, day) in enumerate(
            [("release/2", 2), ("main", 3), ("", 4), ("main", 5), ("old", 40), ("feature/x", 6)]
        ):
            make_build_run(
                workflow=workflow,
                number=number + 1,
                source_ref_name=branch,
                created_date=datetime(2026, 11, 1, tzinfo=UTC) - timedelta(days=day - 2),
            )
        page = self.client.get(reverse("dashboard"), RANGE)
        self.assertEqual(page.context["options"]["branches"], ["feature/x", "main", "release/2"])


class DrillDownTests(PageTestCase):
    def test_a_workflow_page_lists_its_runs_with_deltas(self):
        workflow = make_workflow(name="Nightly")
        other = make_workflow(product=workflow.product, name="Other")
        add_runs(workflow, 3, first_number=10)
        add_runs(other, 1, first_number=50)
        response = self.client.get(reverse("workflow", args=[workflow.asc_id]), RANGE)
        self.assertContains(response, "<h1>Nightly</h1>", html=True)
        numbers = [row["run"].number for row in response.context["runs"]]
        self.assertEqual(numbers, [12, 11, 10])
        self.assertContains(response, "+1.0 MB")  # each archive 1,000,000 bytes bigger

    def test_a_run_page_shows_its_actions_artifacts_commit_and_branch(self):
        runs = add_runs(make_workflow(name="Release"), 2, first_number=41)
        response = self.client.get(reverse("run", args=[runs[1].asc_id]))
        self.assertContains(response, "Build run #42")
        self.assertContains(response, "Archive - iOS")
        self.assertContains(response, "App.xcarchive.zip")
        self.assertContains(response, "logs.zip")
        self.assertContains(response, "0123456789ab")
        self.assertContains(response, "<div><dt>Branch or tag</dt><dd>main</dd></div>", html=True)
        self.assertContains(response, "Succeeded")
        self.assertContains(response, f'href="{reverse("run", args=[runs[0].asc_id])}"')

    def test_unknown_ids_are_404(self):
        self.assertEqual(self.client.get(reverse("run", args=["nope"])).status_code, 404)
        self.assertEqual(self.client.get(reverse("workflow", args=["nope"])).status_code, 404)


class OddIdentifierTests(PageTestCase):
    """Apple's ids are opaque: a row whose id holds a slash, a space or a line break still
    has its page, and every page that lists it links to it."""

    ODD_IDS = ("release/1.0", "nightly build #2?x=%20", "two\nlines")

    def test_rows_with_odd_ids_render_and_link_to_their_own_pages(self):
        for number, odd in enumerate(self.ODD_IDS):
            with self.subTest(id=odd):
                workflow = make_workflow(asc_id=odd, name=f"Odd {number}")
                run = make_build_run(
                    workflow=workflow,
                    asc_id=f"{odd}/run",
                    number=number + 1,
                    created_date=datetime(2026, 11, 2, tzinfo=UTC),
                )
                artifact = make_artifact(
                    build_action=make_build_action(build_run=run), asc_id=f"{odd}/file"
                )
                ArchivedArtifact.objects.create(
                    artifact=artifact, status="archived", path="p/x", size=1
                )
                workflow_url = reverse("workflow", args=[odd])
                run_url = reverse("run", args=[run.asc_id])
                dashboard = self.client.get(reverse("dashboard"), RANGE)
                self.assertContains(dashboard, f'href="{workflow_url}?')
                self.assertContains(dashboard, f'href="{run_url}"')
                page = self.client.get(workflow_url, RANGE)
                self.assertContains(page, f"<h1>Odd {number}</h1>", html=True)
                self.assertContains(page, f'href="{run_url}"')
                run_page = self.client.get(run_url)
                self.assertContains(run_page, f'href="{workflow_url}"')
                self.assertContains(run_page, reverse("archived-file", args=[artifact.asc_id]))

    def test_the_dashboard_filters_by_a_workflow_with_an_odd_id(self):
        workflow = make_workflow(asc_id="release/1.0 beta", name="Beta")
        add_runs(workflow, 1)
        add_runs(make_workflow(name="Other"), 2, first_number=10)
        response = self.client.get(reverse("dashboard"), {**RANGE, "workflow": workflow.asc_id})
        self.assertEqual(response.context["kpis"]["artifacts"], 2)


class ArchiveCardFilterTests(PageTestCase):
    def test_the_archive_card_counts_only_the_artifacts_the_filters_keep(self):
        kept = add_runs(make_workflow(product=make_product(name="Kept")), 2)
        other = make_workflow(product=make_product(name="Other"))
        add_runs(other, 1, first_number=10)
        for artifact in CiArtifact.objects.filter(build_run__in=kept):
            ArchivedArtifact.objects.create(
                artifact=artifact, status="archived", path=f"p/{artifact.pk}", size=1
            )
        page = self.client.get(reverse("dashboard"), {**RANGE, "workflow": other.asc_id})
        self.assertEqual(page.context["archive"]["archived_count"], 0)
        self.assertEqual(page.context["archive"]["not_archived_count"], 2)
        page = self.client.get(reverse("dashboard"), {**RANGE, "file_type": "LOG_BUNDLE"})
        self.assertEqual(page.context["archive"]["archived_count"], 2)
        self.assertEqual(page.context["archive"]["not_archived_count"], 1)


class QueryCountTests(PageTestCase):
    """Pages cost the same number of queries whether there are few artifacts or many."""

    def count_queries(self, url):
        self.client.get(url)  # fold new artifacts into the rollup first
        with CaptureQueriesContext(connection) as queries:
            response = self.client.get(url)
        self.assertLess(response.status_code, 400)
        if response.streaming:
            b"".join(response.streaming_content)
        return len(queries)

    def grow(self, workflow, runs, first_number):
        add_runs(workflow, runs, first_number=first_number, start=datetime(2026, 11, 5, tzinfo=UTC))

    def test_query_counts_do_not_grow_with_the_number_of_artifacts(self):
        workflow = make_workflow(product=make_product(name="Nimbus"), name="Release")
        second = make_workflow(product=workflow.product, name="CI")
        add_runs(workflow, 2)
        add_runs(second, 2, first_number=100)
        run = workflow.build_runs.first()
        urls = [
            reverse("dashboard") + "?start=2026-10-01&end=2026-11-30",
            reverse("dashboard") + "?start=2026-10-01&end=2026-11-30&granularity=week",
            reverse("workflow", args=[workflow.asc_id]) + "?start=2026-10-01&end=2026-11-30",
            reverse("run", args=[run.asc_id]),
            reverse("api-stats") + "?start=2026-10-01&end=2026-11-30",
            reverse("api-artifacts") + "?start=2026-10-01&end=2026-11-30",
            reverse("export-csv") + "?start=2026-10-01&end=2026-11-30",
        ]
        small = {url: self.count_queries(url) for url in urls}
        self.grow(workflow, 30, first_number=1000)
        self.grow(second, 30, first_number=2000)
        for i in range(40):
            make_artifact(build_action=run.actions.first(), file_name=f"extra-{i}.zip")
        self.assertGreater(CiArtifact.objects.count(), 150)
        for url in urls:
            with self.subTest(url=url):
                self.assertEqual(self.count_queries(url), small[url])
        # Session, user and the user's accounts, then the figures: 26 on the dashboard.
        self.assertLessEqual(max(small.values()), 26)


class DashboardDuringSyncTests(TransactionTestCase):
    """A sync holds a write transaction for each run it stores; pages only read."""

    def setUp(self):
        self.client.force_login(grant(User.objects.create_user("dana", password="x-long-password")))

    def test_the_dashboard_loads_while_a_sync_holds_its_write_transaction(self):
        workflow = make_workflow(name="Release")
        add_runs(workflow, 2)
        rollup.refresh_rollup()
        add_runs(workflow, 1, first_number=3)  # stored by the pass, not yet in the rollup
        holding, release = threading.Event(), threading.Event()

        def store_a_run():
            try:
                with transaction.atomic():
                    add_runs(workflow, 1, first_number=4)
                    holding.set()
                    release.wait(timeout=30)
            finally:
                connections.close_all()

        writer = threading.Thread(target=store_a_run)
        writer.start()
        try:
            self.assertTrue(holding.wait(timeout=10))
            started = time.monotonic()
            response = self.client.get(reverse("dashboard"), RANGE)
            elapsed = time.monotonic() - started
            still_held = writer.is_alive()
        finally:
            release.set()
            writer.join()
        self.assertTrue(still_held)
        self.assertLess(elapsed, 1.0)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.context["kpis"]["artifacts"], 6)  # the three committed runs


class RunPageTests(PageTestCase):
    def test_the_change_is_against_the_newest_successful_run_not_a_canceled_one(self):
        workflow = make_workflow(name="Nightly")
        good, canceled, latest = add_runs(workflow, 3, first_number=30)
        canceled.completion_status = "CANCELED"
        canceled.save()
        CiArtifact.objects.filter(build_run=canceled).update(file_size=23_000_000)
        response = self.client.get(reverse("run", args=[latest.asc_id]))
        # #32's archive is 2,000,000 bytes bigger than #30's; #31 canceled does not count.
        self.assertContains(response, f'+2.0 MB</span> vs <a href="/runs/{good.asc_id}/">#30</a>')
        self.assertNotContains(response, "#31")

    def test_a_pull_request_run_shows_the_change_against_its_destination_branch_too(self):
        workflow = make_workflow(name="PR checks")
        main, feature = add_runs(workflow, 2, first_number=7)
        pull_request = add_runs(workflow, 1, first_number=9)[0]
        CiBuildRun.objects.filter(pk=pull_request.pk).update(
            is_pull_request_build=True,
            source_ref_name="feature/assets",
            destination_branch_name="main",
            pull_request_number=318,
            pull_request_title="Smaller <b>assets</b>",
            pull_request_url="https://git.example.com/app/pull/318",
            source_commit_url="javascript:alert(1)",
        )
        CiBuildRun.objects.filter(pk=feature.pk).update(source_ref_name="feature/other")
        CiArtifact.objects.filter(build_run=pull_request, file_type="ARCHIVE").update(
            file_size=103_000_000
        )
        response = self.client.get(reverse("run", args=[pull_request.asc_id]))
        page = response.content.decode()
        # 105 MB against the workflow's newest success (#8, 103 MB) and main's (#7, 102 MB).
        self.assertIn(f'+2.0 MB</span> vs <a href="/runs/{feature.asc_id}/">#8</a>', page)
        self.assertIn(f'+3.0 MB</span> vs main <a href="/runs/{main.asc_id}/">#7</a>', page)
        self.assertIn('<a href="https://git.example.com/app/pull/318" rel="noopener', page)
        self.assertIn("Smaller &lt;b&gt;assets&lt;/b&gt;", page)
        self.assertNotIn("javascript:", page)  # a commit URL that is not a web address

    def test_a_run_in_progress_shows_no_change_yet(self):
        workflow = make_workflow()
        add_runs(workflow, 1, first_number=1)
        running = make_build_run(workflow, number=2, execution_progress="RUNNING")
        response = self.client.get(reverse("run", args=[running.asc_id]))
        self.assertContains(response, "(in progress)")
        self.assertContains(response, "<dd>Running</dd>", html=True)
        self.assertNotContains(response, " vs ")


class FindRunsTests(PageTestCase):
    def test_a_commit_prefix_built_once_opens_its_run(self):
        run = make_build_run(source_commit_sha="4f2a9c1e77d0b3aa")
        response = self.client.get(reverse("runs"), {"commit": "4F2A9C1"})
        self.assertRedirects(response, reverse("run", args=[run.asc_id]))

    def test_a_commit_built_by_several_workflows_lists_them_with_their_change(self):
        product = make_product(name="Nimbus")
        for name in ("Nightly", "Release"):
            add_runs(make_workflow(product=product, name=name), 2, first_number=5)
        response = self.client.get(reverse("runs"), {"commit": "0123456789abcdef"})
        self.assertEqual(len(response.context["runs"]), 4)
        self.assertContains(response, "Nimbus · Nightly")
        self.assertContains(response, "Nimbus · Release")
        self.assertContains(response, "+1.0 MB")  # #6 against #5 in each workflow

    def test_an_unknown_or_malformed_commit_says_so(self):
        response = self.client.get(reverse("runs"), {"commit": "abcdef12"})
        self.assertContains(response, "No build run in the mirror")
        response = self.client.get(reverse("runs"), {"commit": "xyz"})
        self.assertContains(response, "at least 7 hex digits", status_code=400)
