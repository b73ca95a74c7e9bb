from datetime import UTC, date, datetime

from django.http import QueryDict
from django.test import TestCase

from artifacts_app import rollup, stats
from artifacts_app.forms import FilterForm
from tests.factories import (
    make_artifact,
    make_build_action,
    make_build_run,
    make_product,
    make_workflow,
    reader,
)

MiB = 1024 * 1024


def filters(**params):
    query = QueryDict(mutable=True)
    for key, value in params.items():
        query.setlist(key, value if isinstance(value, list) else [value])
    return FilterForm(query, user=reader(), today=date(2026, 11, 30)).scope


def run_with(workflow, number, when, **sizes):
    """A run of `workflow` with one artifact per file type given as TYPE=bytes."""
    run = make_build_run(workflow=workflow, number=number, created_date=when)
    action = make_build_action(build_run=run)
    for file_type, size in sizes.items():
        make_artifact(build_action=action, file_type=file_type, file_size=size)
    return run


class KpiTests(TestCase):
    def test_change_compares_with_the_range_of_equal_length_before(self):
        workflow = make_workflow()
        run_with(workflow, 1, datetime(2026, 10, 25, tzinfo=UTC), ARCHIVE=100)  # previous week
        run_with(workflow, 2, datetime(2026, 11, 1, tzinfo=UTC), ARCHIVE=150)  # this week
        run_with(workflow, 3, datetime(2026, 1, 1, tzinfo=UTC), ARCHIVE=1000)  # long ago
        rollup.refresh_rollup()
        kpis = stats.kpis(filters(start="2026-10-26", end="2026-11-01"))
        self.assertEqual(kpis["artifacts"], 3)
        self.assertEqual(kpis["bytes"], 1250)
        self.assertEqual(kpis["range_bytes"], 150)
        self.assertEqual(kpis["previous_bytes"], 100)
        self.assertEqual(
            (kpis["previous_start"], kpis["previous_end"]), ("2026-10-19", "2026-10-25")
        )
        self.assertEqual(kpis["change_bytes"], 50)
        self.assertAlmostEqual(kpis["change_ratio"], 0.5)

    def test_share_by_type_adds_up_to_the_whole_largest_first(self):
        workflow = make_workflow()
        run_with(workflow, 1, datetime(2026, 11, 2, tzinfo=UTC), ARCHIVE=300, LOG_BUNDLE=100)
        rollup.refresh_rollup()
        share = stats.share_by_type(filters(start="2026-11-01", end="2026-11-30"))
        self.assertEqual([row["file_type"] for row in share], ["ARCHIVE", "LOG_BUNDLE"])
        self.assertEqual([row["share"] for row in share], [0.75, 0.25])
        self.assertEqual(share[0]["label"], "Archive")


class PeriodTests(TestCase):
    def test_week_periods_start_on_the_monday_on_or_before_the_start(self):
        f = filters(start="2026-11-04", end="2026-11-20", granularity="week")
        self.assertEqual(stats.periods(f), ["2026-11-02", "2026-11-09", "2026-11-16"])

    def test_month_periods_cross_the_year(self):
        f = filters(start="2026-11-15", end="2027-02-01", granularity="month")
        self.assertEqual(stats.periods(f), ["2026-11-01", "2026-12-01", "2027-01-01", "2027-02-01"])


class PartialPeriodTests(TestCase):
    def test_weeks_cut_by_the_range_or_still_under_way_are_partial(self):
        # Wednesday 4 November to Tuesday 24 November; "today" is Monday 23 November.
        scope = filters(start="2026-11-04", end="2026-11-24", granularity="week")
        partial = stats.partial_periods(scope, today=date(2026, 11, 23))
        self.assertEqual(partial, ["2026-11-02", "2026-11-23"])

    def test_whole_months_of_the_past_are_not_partial(self):
        scope = filters(start="2026-09-01", end="2026-10-31", granularity="month")
        self.assertEqual(stats.partial_periods(scope, today=date(2026, 11, 30)), [])

    def test_today_is_a_partial_day(self):
        scope = filters(start="2026-11-28", end="2026-11-30")
        self.assertEqual(stats.partial_periods(scope, today=date(2026, 11, 30)), ["2026-11-30"])


class LargestArtifactsTests(TestCase):
    def test_largest_artifacts_in_the_range_come_first(self):
        workflow = make_workflow()
        run_with(workflow, 1, datetime(2026, 11, 2, tzinfo=UTC), ARCHIVE=5, LOG_BUNDLE=9)
        run_with(workflow, 2, datetime(2026, 11, 3, tzinfo=UTC), RESULT_BUNDLE=7)
        run_with(workflow, 3, datetime(2026, 1, 3, tzinfo=UTC), RESULT_BUNDLE=99)
        largest = stats.largest_artifacts(filters(start="2026-11-01", end="2026-11-30"), limit=2)
        self.assertEqual([a.file_size for a in largest], [9, 7])

    def test_product_filter_keeps_other_products_out(self):
        mine, theirs = make_product(name="Mine"), make_product(name="Theirs")
        run_with(make_workflow(product=mine), 1, datetime(2026, 11, 2, tzinfo=UTC), ARCHIVE=5)
        run_with(make_workflow(product=theirs), 2, datetime(2026, 11, 2, tzinfo=UTC), ARCHIVE=50)
        largest = stats.largest_artifacts(
            filters(start="2026-11-01", end="2026-11-30", product=mine.asc_id)
        )
        self.assertEqual([a.product for a in largest], [mine])

    def test_largest_artifacts_read_through_the_rollup_match_a_sort_of_every_artifact(self):
        # Sizes tie across days and workflows, some artifacts are counted by the rollup and
        # some came after its last refresh: the list is the one a plain sort gives.
        first, second = make_workflow(), make_workflow()
        sizes = [40, 10, 40, 25, 7, 40, 33, 12, 25, 3]
        for n, size in enumerate(sizes):
            workflow = first if n % 2 else second
            when = datetime(2026, 11, 1 + n, 6, tzinfo=UTC)
            run_with(workflow, n + 1, when, ARCHIVE=size, LOG_BUNDLE=1)
        rollup.refresh_rollup()
        run_with(first, 50, datetime(2026, 11, 20, tzinfo=UTC), ARCHIVE=35)  # above the watermark
        run_with(second, 51, datetime(2026, 10, 20, tzinfo=UTC), ARCHIVE=99)  # out of range
        f = filters(start="2026-11-01", end="2026-11-30")
        expected = list(
            stats.artifact_queryset(f).order_by("-file_size", "id").values_list("pk", flat=True)
        )
        for limit in (1, 3, 5, 12):
            with self.subTest(limit=limit):
                found = stats.largest_artifacts(f, limit=limit)
                self.assertEqual([a.pk for a in found], expected[:limit])
        sizes = [a.file_size for a in stats.largest_artifacts(f, limit=5)]
        self.assertEqual(sizes, [40, 40, 40, 35, 33])

    def test_largest_artifacts_tied_on_many_days_come_oldest_artifact_first(self):
        workflow = make_workflow()
        for day in range(1, 29):
            run_with(workflow, day, datetime(2026, 11, day, tzinfo=UTC), ARCHIVE=8, LOG_BUNDLE=1)
        rollup.refresh_rollup()
        found = stats.largest_artifacts(filters(start="2026-11-02", end="2026-11-30"), limit=3)
        self.assertEqual(
            [(a.build_run.number, a.file_size) for a in found], [(2, 8), (3, 8), (4, 8)]
        )
