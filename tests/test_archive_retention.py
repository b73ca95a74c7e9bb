"""Retention decides in the database what may go; archive_summary counts in the database."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from artifacts_app.archive import RetentionPolicy, apply_retention, archive_summary
from artifacts_app.models import ArchivedArtifact

from .factories import make_artifact, make_build_action, make_build_run, make_workflow

Status = ArchivedArtifact.Status
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def root(tmp_path, settings):
    settings.ARCHIVE_ROOT = tmp_path / "archive"
    return settings.ARCHIVE_ROOT


def archived(artifact, root, size=100, status=Status.ARCHIVED):
    """An archive record with its file in storage, as the archiver leaves it."""
    path = f"{artifact.product.asc_id}/{artifact.asc_id}"
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    (root / path).write_bytes(b"x" * size)
    return ArchivedArtifact.objects.create(
        artifact=artifact,
        status=status,
        path=path,
        size=size,
        sha256="0" * 64,
        archived_at=timezone.now(),
    )


def run_with(workflow, days_ago, ref="main", kind="BRANCH", types=("ARCHIVE", "LOG_BUNDLE")):
    run = make_build_run(
        workflow,
        created_date=NOW - timedelta(days=days_ago),
        source_ref_name=ref,
        source_ref_kind=kind,
    )
    action = make_build_action(run)
    return [make_artifact(action, file_type=file_type, file_size=100) for file_type in types]


def names(records):
    return sorted(record.artifact.asc_id for record in records)


@pytest.mark.django_db
class RetentionTests:
    def test_keeps_the_last_n_runs_per_workflow_and_type(self, root):
        workflow, other = make_workflow(), make_workflow()
        old, middle, new = (run_with(workflow, days, types=("ARCHIVE",)) for days in (3, 2, 1))
        elsewhere = run_with(other, 9, types=("ARCHIVE",))
        for artifact in old + middle + new + elsewhere:
            archived(artifact, root)

        policy = RetentionPolicy(keep_last=2, log_days=None)

        report = apply_retention(policy, dry_run=False, now=NOW)

        assert report.count == 1 and report.bytes == 100
        gone = ArchivedArtifact.objects.get(artifact=old[0])
        assert gone.status == Status.PRUNED and not (root / gone.path).exists()
        kept = ArchivedArtifact.objects.filter(status=Status.ARCHIVED)
        assert names(kept) == sorted(a.asc_id for a in middle + new + elsewhere)
        assert all((root / record.path).exists() for record in kept)

    def test_runs_on_tags_and_release_branches_are_kept(self, root):
        workflow = make_workflow()
        tagged = run_with(workflow, 40, ref="v1.0.0", kind="TAG")
        release = run_with(workflow, 30, ref="release/2.0")
        plain = run_with(workflow, 20)
        newest = run_with(workflow, 1)
        for artifact in tagged + release + plain + newest:
            archived(artifact, root)

        report = apply_retention(RetentionPolicy(keep_last=1, log_days=1), dry_run=True, now=NOW)

        assert sorted(report.paths) == sorted(f"{a.product.asc_id}/{a.asc_id}" for a in plain)

    def test_logs_older_than_n_days_go_even_among_the_last_runs(self, root):
        workflow = make_workflow()
        recent = run_with(workflow, 2)
        old = run_with(workflow, 45)
        for artifact in recent + old:
            archived(artifact, root)

        report = apply_retention(RetentionPolicy(keep_last=10, log_days=30), dry_run=True, now=NOW)

        (old_log,) = [a for a in old if a.file_type == "LOG_BUNDLE"]
        assert report.paths == [f"{old_log.product.asc_id}/{old_log.asc_id}"]

    def test_dry_run_lists_and_counts_bytes_but_deletes_nothing(self, root):
        workflow = make_workflow()
        for days in (5, 4, 3):
            for artifact in run_with(workflow, days, types=("ARCHIVE",)):
                archived(artifact, root, size=1000)
        out = io.StringIO()

        call_command(
            "archive_artifacts", "--retention", "--dry-run", "--keep-last", "1", stdout=out
        )

        listed = [line for line in out.getvalue().splitlines() if line.startswith("would delete")]
        assert len(listed) == 2
        assert "retention would delete 2 archived files, freeing 2.0 KB" in out.getvalue()
        assert ArchivedArtifact.objects.filter(status=Status.ARCHIVED).count() == 3
        assert len([path for path in root.rglob("*") if path.is_file()]) == 3

    def test_pruned_files_are_not_downloaded_again(self, root):
        workflow = make_workflow()
        for days in (3, 2):
            for artifact in run_with(workflow, days, types=("ARCHIVE",)):
                archived(artifact, root)
        apply_retention(RetentionPolicy(keep_last=1, log_days=None), dry_run=False, now=NOW)
        out = io.StringIO()

        call_command("archive_artifacts", "--dry-run", stdout=out)

        assert "dry run: 0 artifacts to archive" in out.getvalue()

    def test_a_file_whose_record_changed_meanwhile_is_left_alone(self, root):
        from artifacts_app.archive import archive_storage

        workflow = make_workflow()
        first, second = (
            archived(artifact, root)
            for days in (5, 4)
            for artifact in run_with(workflow, days, types=("ARCHIVE",))
        )
        for artifact in run_with(workflow, 1, types=("ARCHIVE",)):
            archived(artifact, root)
        storage = archive_storage()
        real_delete = storage.delete

        def delete(path):
            # Meanwhile another process found the second file damaged and is downloading it
            # again to the same path: its record no longer says "archived".
            ArchivedArtifact.objects.filter(pk=second.pk).update(status=Status.FAILED)
            real_delete(path)

        storage.delete = delete

        report = apply_retention(
            RetentionPolicy(keep_last=1, log_days=None), dry_run=False, storage=storage, now=NOW
        )

        assert report.count == 1 and report.paths == [first.path]
        assert not (root / first.path).exists()
        second.refresh_from_db()
        assert second.status == Status.FAILED and second.pruned_at is None
        assert (root / second.path).exists()


@pytest.mark.django_db
class RetentionDuringVerifyTests:
    def test_a_file_pruned_while_verify_runs_stays_pruned(self, root, monkeypatch):
        from artifacts_app.archive import verify, verify_archive

        record = archived(make_artifact(), root)
        checked = verify._check

        def retention_first(storage, path, *args):
            # Retention deletes the file between verify's listing and its check.
            apply_retention(RetentionPolicy(keep_last=0), dry_run=False)
            return checked(storage, path, *args)

        monkeypatch.setattr(verify, "_check", retention_first)
        report = verify_archive()

        record.refresh_from_db()
        assert report.missing == []
        assert record.status == Status.PRUNED  # not "failed": nothing to download again


@pytest.mark.django_db
class ArchiveSummaryTests:
    def test_counts_archived_lost_and_expired_upstream_but_safe(self, root):
        safe, gone_safe, lost, never = (make_artifact(file_size=1000) for _ in range(4))
        archived(safe, root, size=1000)
        archived(gone_safe, root, size=1000)
        gone_safe.gone_upstream_at = timezone.now()
        gone_safe.save()
        ArchivedArtifact.objects.create(artifact=lost, status=Status.LOST)

        assert archive_summary() == {
            "archived_count": 2,
            "archived_bytes": 2000,
            "not_archived_count": 2,
            "lost_count": 1,
            "expired_upstream_but_safe_count": 1,
            "storage_bytes": 2000,
        }

    def test_is_all_zero_on_an_empty_database(self):
        assert set(archive_summary().values()) == {0}

    def test_takes_a_fixed_number_of_queries(self, root):
        for _ in range(3):
            archived(make_artifact(), root)
        with CaptureQueriesContext(connection) as few:
            archive_summary()
        for _ in range(30):
            archived(make_artifact(), root)
        with CaptureQueriesContext(connection) as many:
            archive_summary()
        assert len(few) == len(many) == 2
