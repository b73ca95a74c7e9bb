from datetime import UTC, datetime, timedelta

from django.test import SimpleTestCase, TestCase

from artifacts_app.runs import (
    find_regressions,
    latest_runs,
    main_artifact_sizes,
    trend_and_regressions,
)
from tests.factories import make_workflow
from tests.test_stats import MiB, filters, run_with


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
        trend = trend_and_regressions(filters(start="2026-11-02", end="2026-11-03"))
        self.assertEqual(trend["periods"], ["2026-11-02", "2026-11-03"])
        (line,) = trend["workflows"]
        self.assertEqual(line["name"], "Demo App · Release")  # products share workflow names
        self.assertEqual(line["median"], [200 * MiB, None])
        self.assertEqual(line["max"], [300 * MiB, None])

    def test_the_trend_follows_the_file_type_filter(self):
        for i, (archive, logs) in enumerate([(100, 10), (300, 30), (200, 50)]):
            run_with(
                self.workflow,
                200 + i,
                self.start + timedelta(hours=i),
                ARCHIVE=archive,
                LOG_BUNDLE=logs,
            )
        scope = filters(start="2026-11-02", end="2026-11-02")
        self.assertEqual(trend_and_regressions(scope)["workflows"][0]["median"], [200])
        logs = trend_and_regressions(
            filters(start="2026-11-02", end="2026-11-02", file_type="LOG_BUNDLE")
        )
        self.assertEqual((logs["label"], logs["workflows"][0]["median"]), ("Log bundle", [30]))
        # Without a file type filter, the type chosen for the trend.
        chosen = trend_and_regressions(
            filters(start="2026-11-02", end="2026-11-02", trend_type="LOG_BUNDLE")
        )
        self.assertEqual(chosen["workflows"][0]["max"], [50])

    def test_a_run_above_the_median_of_the_previous_runs_by_the_threshold_is_a_regression(self):
        runs = self.runs([100, 104, 96, 100, 102, 120, 110])
        trend = trend_and_regressions(
            filters(start="2026-11-02", end="2026-11-02", threshold="10", window="5")
        )
        self.assertEqual([r["number"] for r in trend["regressions"]], [runs[5].number])
        regression = trend["regressions"][0]
        self.assertEqual(regression["baseline"], 100)
        self.assertAlmostEqual(regression["growth"], 0.20)
        self.assertEqual(regression["build_run"], runs[5].asc_id)

    def test_the_threshold_is_configurable(self):
        self.runs([100, 104, 96, 100, 102, 120, 110])
        trend = trend_and_regressions(
            filters(start="2026-11-02", end="2026-11-02", threshold="25", window="5")
        )
        self.assertEqual(trend["regressions"], [])

    def test_runs_of_another_workflow_are_not_the_baseline(self):
        other = make_workflow(product=self.workflow.product, name="CI")
        self.runs([10, 10, 10, 10, 10], workflow=other)
        run_with(self.workflow, 900, self.start + timedelta(hours=6), ARCHIVE=500)
        trend = trend_and_regressions(filters(start="2026-11-02", end="2026-11-02"))
        self.assertEqual(trend["regressions"], [])

    def test_the_baseline_reaches_back_before_the_range(self):
        self.runs([100, 100, 100, 100, 100])
        late = run_with(self.workflow, 999, datetime(2026, 11, 20, tzinfo=UTC), ARCHIVE=150)
        trend = trend_and_regressions(filters(start="2026-11-10", end="2026-11-30"))
        self.assertEqual([r["build_run"] for r in trend["regressions"]], [late.asc_id])


class LatestRunsTests(TestCase):
    def test_each_run_is_compared_with_the_baseline_of_its_workflow(self):
        release = make_workflow(name="Release")
        ci = make_workflow(product=release.product, name="CI")
        day = datetime(2026, 11, 2, tzinfo=UTC)
        run_with(release, 1, day, ARCHIVE=100, LOG_BUNDLE=1)
        run_with(ci, 2, day + timedelta(hours=1), ARCHIVE=5000)
        newest = run_with(release, 3, day + timedelta(hours=2), ARCHIVE=130, LOG_BUNDLE=1)
        rows = latest_runs(filters(start="2026-11-01", end="2026-11-30"))
        self.assertEqual([row["run"].number for row in rows], [3, 2, 1])
        self.assertEqual(rows[0]["run"], newest)
        self.assertEqual((rows[0]["bytes"], rows[0]["baseline_bytes"]), (131, 101))
        self.assertEqual(rows[0]["delta"], 30)
        self.assertEqual(rows[0]["baseline"]["number"], 1)
        self.assertIsNone(rows[1]["delta"])  # the first CI run has nothing to compare with
        self.assertIsNone(rows[2]["delta"])

    def test_a_failed_or_canceled_run_is_never_the_baseline(self):
        release = make_workflow()
        day = datetime(2026, 11, 2, tzinfo=UTC)
        run_with(release, 1, day, ARCHIVE=24_000)
        for number, status in ((2, "CANCELED"), (3, "FAILED")):
            run = run_with(release, number, day + timedelta(hours=number), ARCHIVE=23)
            run.completion_status = status
            run.save()
        run_with(release, 4, day + timedelta(hours=5), ARCHIVE=25_000)
        rows = latest_runs(filters(start="2026-11-01", end="2026-11-30"))
        self.assertEqual((rows[0]["baseline"]["number"], rows[0]["delta"]), (1, 1000))
        self.assertEqual(rows[1]["baseline"]["number"], 1)  # the failed #3 against #1 too

    def test_a_run_still_running_shows_no_change_yet(self):
        release = make_workflow()
        day = datetime(2026, 11, 2, tzinfo=UTC)
        run_with(release, 1, day, ARCHIVE=100)
        running = run_with(release, 2, day + timedelta(hours=1))
        running.execution_progress, running.completion_status = "RUNNING", ""
        running.save()
        rows = latest_runs(filters(start="2026-11-01", end="2026-11-30"))
        self.assertEqual((rows[0]["finished"], rows[0]["delta"]), (False, None))

    def test_the_file_type_filter_narrows_the_sizes_compared(self):
        release = make_workflow()
        day = datetime(2026, 11, 2, tzinfo=UTC)
        run_with(release, 1, day, ARCHIVE=100, LOG_BUNDLE=50)
        run_with(release, 2, day + timedelta(hours=1), ARCHIVE=100, LOG_BUNDLE=80)
        rows = latest_runs(filters(start="2026-11-01", end="2026-11-30", file_type="LOG_BUNDLE"))
        self.assertEqual(rows[0]["delta"], 30)


class RegressionRuleTests(SimpleTestCase):
    def test_a_size_above_the_median_of_the_window_before_it_by_the_threshold_is_flagged(self):
        sizes = [100, 104, 96, 100, 102, 120, 110]
        self.assertEqual(find_regressions(sizes, window=5, threshold=0.10), {5: 100})

    def test_growth_at_the_threshold_is_not_a_regression(self):
        self.assertEqual(find_regressions([100, 100, 110], window=2, threshold=0.10), {})

    def test_runs_without_a_full_window_before_them_are_never_flagged(self):
        self.assertEqual(find_regressions([1, 1000, 5000], window=3, threshold=0.10), {})

    def test_a_zero_baseline_flags_nothing(self):
        self.assertEqual(find_regressions([0, 0, 0, 50], window=3, threshold=0.10), {})

    def test_the_window_slides_with_each_run(self):
        sizes = [100, 100, 200, 200, 200, 200]
        self.assertEqual(find_regressions(sizes, window=2, threshold=0.10), {2: 100, 3: 150})


class MainArtifactSizeTests(TestCase):
    def test_the_newest_successful_archive_against_the_newest_one_30_days_earlier(self):
        release = make_workflow(name="Release")
        end = datetime(2026, 11, 30, 12, tzinfo=UTC)
        run_with(release, 1, end - timedelta(days=45), ARCHIVE=900)
        before = run_with(release, 2, end - timedelta(days=31), ARCHIVE=1000, LOG_BUNDLE=7)
        latest = run_with(release, 3, end - timedelta(days=2), ARCHIVE=1250)
        failed = run_with(release, 4, end - timedelta(days=1), ARCHIVE=5)
        failed.completion_status = "FAILED"
        failed.save()
        (row,) = main_artifact_sizes(filters(start="2026-11-01", end="2026-11-30"))
        self.assertEqual(row["file_type"], "ARCHIVE")
        self.assertEqual((row["latest"]["id"], row["latest"]["bytes"]), (latest.asc_id, 1250))
        self.assertEqual((row["earlier"]["id"], row["earlier"]["bytes"]), (before.asc_id, 1000))
        self.assertEqual((row["delta"], row["delta_ratio"]), (250, 0.25))

    def test_a_workflow_without_archives_is_measured_by_its_export(self):
        export = make_workflow(name="Export")
        run_with(export, 1, datetime(2026, 11, 20, tzinfo=UTC), ARCHIVE_EXPORT=300)
        make_workflow(name="Tests only")  # no archive or export: no row
        (row,) = main_artifact_sizes(filters(start="2026-11-01", end="2026-11-30"))
        self.assertEqual(
            (row["label"], row["latest"]["bytes"], row["earlier"]), ("Archive export", 300, None)
        )
