import importlib
from datetime import UTC, date, datetime

from django.apps import apps as django_apps
from django.test import TestCase
from django.utils import timezone

from artifacts_app import rollup, stats
from artifacts_app.models import (
    ArtifactDailyTotal,
    ArtifactDailyTypeTotal,
    ArtifactRollupState,
    CiArtifact,
)
from tests.factories import make_artifact, make_workflow
from tests.test_stats import filters, run_with

fill_largest = importlib.import_module(
    "artifacts_app.migrations.0014_rollup_largest_and_run_index"
).fill_largest


class RollupTests(TestCase):
    def test_refreshing_twice_counts_each_artifact_once(self):
        workflow = make_workflow()
        run_with(workflow, 1, datetime(2026, 11, 2, tzinfo=UTC), ARCHIVE=10, LOG_BUNDLE=5)
        rollup.refresh_rollup()
        rollup.refresh_rollup()
        rollup.refresh_rollup(rebuild=True)
        f = filters(start="2026-11-01", end="2026-11-30")
        self.assertEqual(stats.totals(f), {"count": 2, "bytes": 15})

    def test_a_late_artifact_for_an_old_day_is_recounted_into_that_day(self):
        workflow = make_workflow()
        old = run_with(workflow, 1, datetime(2026, 9, 1, 10, tzinfo=UTC), ARCHIVE=10)
        run_with(workflow, 2, datetime(2026, 11, 2, tzinfo=UTC), ARCHIVE=20)
        rollup.refresh_rollup()
        make_artifact(build_action=old.actions.get(), file_type="LOG_BUNDLE", file_size=3)
        rollup.refresh_rollup()
        f = filters(start="2026-09-01", end="2026-09-01")
        self.assertEqual(stats.totals(f), {"count": 2, "bytes": 13})
        self.assertEqual(ArtifactDailyTotal.objects.filter(day=date(2026, 9, 1)).count(), 2)

    def test_days_named_by_a_writer_that_moved_artifacts_are_recounted(self):
        workflow = make_workflow()
        run = run_with(workflow, 1, datetime(2026, 11, 2, tzinfo=UTC), ARCHIVE=10)
        rollup.refresh_rollup()
        run.artifacts.update(run_created_date=datetime(2026, 11, 5, tzinfo=UTC), file_size=12)
        rollup.refresh_rollup(days=[date(2026, 11, 2), datetime(2026, 11, 5, tzinfo=UTC)])
        series = stats.series(filters(start="2026-11-01", end="2026-11-30"))
        self.assertEqual(
            series, [{"period": "2026-11-05", "file_type": "ARCHIVE", "count": 1, "bytes": 12}]
        )

    def test_a_size_a_writer_changed_moves_the_largest_artifacts_once_its_day_is_recounted(self):
        workflow = make_workflow()
        early = run_with(workflow, 1, datetime(2026, 11, 2, tzinfo=UTC), ARCHIVE=10)
        run_with(workflow, 2, datetime(2026, 11, 3, tzinfo=UTC), ARCHIVE=20)
        rollup.refresh_rollup()
        early.artifacts.update(file_size=30)
        rollup.refresh_rollup(days=[date(2026, 11, 2)])
        largest = stats.largest_artifacts(filters(start="2026-11-01", end="2026-11-30"), limit=1)
        self.assertEqual([(a.build_run.number, a.file_size) for a in largest], [(1, 30)])

    def test_the_migration_fills_the_biggest_artifact_of_rows_counted_before_it(self):
        workflow = make_workflow()
        run_with(workflow, 1, datetime(2026, 11, 2, tzinfo=UTC), ARCHIVE=10, LOG_BUNDLE=4)
        run_with(workflow, 2, datetime(2026, 11, 2, 8, tzinfo=UTC), ARCHIVE=12)
        rollup.refresh_rollup()
        ArtifactDailyTotal.objects.update(largest=0)
        ArtifactDailyTypeTotal.objects.update(largest=0)
        fill_largest(django_apps, None)
        for model in (ArtifactDailyTotal, ArtifactDailyTypeTotal):
            with self.subTest(model=model.__name__):
                rows = model.objects.order_by("file_type").values_list("file_type", "largest")
                self.assertEqual(list(rows), [("ARCHIVE", 12), ("LOG_BUNDLE", 4)])

    def test_an_artifact_committed_late_with_a_lower_id_counts_once_its_day_is_named(self):
        # Two sync workers on PostgreSQL: the one holding the lower id commits last.
        workflow = make_workflow()
        day = datetime(2026, 11, 3, 9, tzinfo=UTC)
        other = run_with(workflow, 1, day, ARCHIVE=10).artifacts.get()
        low_id = other.id
        CiArtifact.objects.filter(pk=low_id).update(id=low_id + 1000)
        rollup.refresh_rollup()  # the watermark passes the other worker's row
        late = run_with(workflow, 2, day, LOG_BUNDLE=4).artifacts.get()
        CiArtifact.objects.filter(pk=late.pk).update(id=low_id)  # below the watermark
        rollup.refresh_rollup(days={day})
        day_filter = filters(start="2026-11-03", end="2026-11-03")
        self.assertEqual(stats.totals(day_filter), {"count": 2, "bytes": 14})

    def test_artifacts_gone_upstream_still_count_everywhere(self):
        workflow = make_workflow()
        run = run_with(workflow, 1, datetime(2026, 11, 2, tzinfo=UTC), ARCHIVE=10, LOG_BUNDLE=5)
        rollup.refresh_rollup()
        run.artifacts.filter(file_type="ARCHIVE").update(gone_upstream_at=timezone.now())
        rollup.refresh_rollup(rebuild=True)
        f = filters(start="2026-11-01", end="2026-11-30")
        self.assertEqual(stats.totals(f), {"count": 2, "bytes": 15})
        self.assertEqual(stats.artifact_queryset(f).count(), 2)

    def test_readers_count_artifacts_added_since_the_last_refresh_without_writing(self):
        workflow = make_workflow()
        run_with(workflow, 1, datetime(2026, 11, 2, tzinfo=UTC), ARCHIVE=10)
        rollup.refresh_rollup()
        run_with(workflow, 2, datetime(2026, 11, 3, tzinfo=UTC), ARCHIVE=20, LOG_BUNDLE=1)
        watermark = ArtifactRollupState.objects.get().last_artifact_id
        rows = ArtifactDailyTotal.objects.count()
        f = filters(start="2026-11-01", end="2026-11-30")
        self.assertEqual(stats.totals(f), {"count": 3, "bytes": 31})
        self.assertEqual(
            [(row["period"], row["bytes"]) for row in stats.series(f)],
            [("2026-11-02", 10), ("2026-11-03", 20), ("2026-11-03", 1)],
        )
        self.assertEqual(ArtifactRollupState.objects.get().last_artifact_id, watermark)
        self.assertEqual(ArtifactDailyTotal.objects.count(), rows)

    def test_an_artifact_added_during_a_refresh_counts_once(self):
        # Readers add what is above the watermark; the rollup holds exactly what is below it.
        workflow = make_workflow()
        run_with(workflow, 1, datetime(2026, 11, 2, tzinfo=UTC), ARCHIVE=10)
        rollup.refresh_rollup()
        late = run_with(workflow, 2, datetime(2026, 11, 2, 5, tzinfo=UTC), ARCHIVE=7)
        rollup._recount_days(date(2026, 11, 2), date(2026, 11, 2), top=late.artifacts.get().id - 1)
        f = filters(start="2026-11-02", end="2026-11-02")
        self.assertEqual(stats.totals(f), {"count": 2, "bytes": 17})
