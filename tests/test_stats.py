from datetime import UTC, date, datetime, timedelta

from django.http import QueryDict
from django.test import SimpleTestCase, TestCase

from artifacts_app import rollup, stats
from artifacts_app.forms import FilterForm
from tests.factories import (
    make_artifact,
    make_build_action,
    make_build_run,
    make_product,
    make_workflow,
)

MiB = 1024 * 1024


def filters(**params):
    query = QueryDict(mutable=True)
    for key, value in params.items():
        query.setlist(key, value if isinstance(value, list) else [value])
    return FilterForm(query, today=date(2026, 11, 30)).scope


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


class TrendAndRegressionTests(TestCase):
    def setUp(self):
        self.workflow = make_workflow(name="Release")
        self.start = datetime(2026, 11, 2, 9, tzinfo=UTC)

    def runs(self, sizes, workflow=None):
        return [
            run_with(workflow or self.workflow, 100 + i, self.start + timedelta(hours=i), ARCHIVE=s)
            for i, s in enumerate(sizes)
        ]

    def test_trend_gives_median_and_largest_per_period(self):
        self.runs([100 * MiB, 300 * MiB, 200 * MiB])
        trend = stats.trend_and_regressions(filters(start="2026-11-02", end="2026-11-03"))
        self.assertEqual(trend["periods"], ["2026-11-02", "2026-11-03"])
        (line,) = trend["workflows"]
        self.assertEqual(line["name"], "Release")
        self.assertEqual(line["median"], [200 * MiB, None])
        self.assertEqual(line["max"], [300 * MiB, None])

    def test_a_run_above_the_median_of_the_previous_runs_by_the_threshold_is_a_regression(self):
        runs = self.runs([100, 104, 96, 100, 102, 120, 110])
        trend = stats.trend_and_regressions(
            filters(start="2026-11-02", end="2026-11-02", threshold="10", window="5")
        )
        self.assertEqual([r["number"] for r in trend["regressions"]], [runs[5].number])
        regression = trend["regressions"][0]
        self.assertEqual(regression["baseline"], 100)
        self.assertAlmostEqual(regression["growth"], 0.20)
        self.assertEqual(regression["build_run"], runs[5].asc_id)

    def test_the_threshold_is_configurable(self):
        self.runs([100, 104, 96, 100, 102, 120, 110])
        trend = stats.trend_and_regressions(
            filters(start="2026-11-02", end="2026-11-02", threshold="25", window="5")
        )
        self.assertEqual(trend["regressions"], [])

    def test_runs_of_another_workflow_are_not_the_baseline(self):
        other = make_workflow(product=self.workflow.product, name="CI")
        self.runs([10, 10, 10, 10, 10], workflow=other)
        run_with(self.workflow, 900, self.start + timedelta(hours=6), ARCHIVE=500)
        trend = stats.trend_and_regressions(filters(start="2026-11-02", end="2026-11-02"))
        self.assertEqual(trend["regressions"], [])

    def test_the_baseline_reaches_back_before_the_range(self):
        self.runs([100, 100, 100, 100, 100])
        late = run_with(self.workflow, 999, datetime(2026, 11, 20, tzinfo=UTC), ARCHIVE=150)
        trend = stats.trend_and_regressions(filters(start="2026-11-10", end="2026-11-30"))
        self.assertEqual([r["build_run"] for r in trend["regressions"]], [late.asc_id])


class LatestRunsTests(TestCase):
    def test_each_run_is_compared_with_the_previous_run_of_its_workflow(self):
        release = make_workflow(name="Release")
        ci = make_workflow(product=release.product, name="CI")
        day = datetime(2026, 11, 2, tzinfo=UTC)
        run_with(release, 1, day, ARCHIVE=100, LOG_BUNDLE=1)
        run_with(ci, 2, day + timedelta(hours=1), ARCHIVE=5000)
        newest = run_with(release, 3, day + timedelta(hours=2), ARCHIVE=130, LOG_BUNDLE=1)
        rows = stats.latest_runs(filters(start="2026-11-01", end="2026-11-30"))
        self.assertEqual([row["run"].number for row in rows], [3, 2, 1])
        self.assertEqual(rows[0]["run"], newest)
        self.assertEqual((rows[0]["bytes"], rows[0]["previous_bytes"]), (131, 101))
        self.assertEqual(rows[0]["delta"], 30)
        self.assertIsNone(rows[1]["delta"])  # the first CI run has nothing to compare with
        self.assertIsNone(rows[2]["delta"])

    def test_a_run_still_running_shows_no_change_yet(self):
        release = make_workflow()
        day = datetime(2026, 11, 2, tzinfo=UTC)
        run_with(release, 1, day, ARCHIVE=100)
        running = run_with(release, 2, day + timedelta(hours=1))
        running.execution_progress, running.completion_status = "RUNNING", ""
        running.save()
        rows = stats.latest_runs(filters(start="2026-11-01", end="2026-11-30"))
        self.assertEqual((rows[0]["finished"], rows[0]["delta"]), (False, None))

    def test_the_file_type_filter_narrows_the_sizes_compared(self):
        release = make_workflow()
        day = datetime(2026, 11, 2, tzinfo=UTC)
        run_with(release, 1, day, ARCHIVE=100, LOG_BUNDLE=50)
        run_with(release, 2, day + timedelta(hours=1), ARCHIVE=100, LOG_BUNDLE=80)
        rows = stats.latest_runs(
            filters(start="2026-11-01", end="2026-11-30", file_type="LOG_BUNDLE")
        )
        self.assertEqual(rows[0]["delta"], 30)


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


class RegressionRuleTests(SimpleTestCase):
    def test_a_size_above_the_median_of_the_window_before_it_by_the_threshold_is_flagged(self):
        sizes = [100, 104, 96, 100, 102, 120, 110]
        self.assertEqual(stats.find_regressions(sizes, window=5, threshold=0.10), {5: 100})

    def test_growth_at_the_threshold_is_not_a_regression(self):
        self.assertEqual(stats.find_regressions([100, 100, 110], window=2, threshold=0.10), {})

    def test_runs_without_a_full_window_before_them_are_never_flagged(self):
        self.assertEqual(stats.find_regressions([1, 1000, 5000], window=3, threshold=0.10), {})

    def test_a_zero_baseline_flags_nothing(self):
        self.assertEqual(stats.find_regressions([0, 0, 0, 50], window=3, threshold=0.10), {})

    def test_the_window_slides_with_each_run(self):
        sizes = [100, 100, 200, 200, 200, 200]
        self.assertEqual(stats.find_regressions(sizes, window=2, threshold=0.10), {2: 100, 3: 150})
