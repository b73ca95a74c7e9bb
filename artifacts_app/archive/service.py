"""Archive the selected artifacts: plan, download with bounded concurrency, record outcomes.

Workers only download (`download.fetch`); every database write happens here, in the calling
thread, as each download finishes. An artifact already archived, lost upstream or pruned by
retention is skipped, so a second run downloads nothing and an interrupted run resumes.
"""

from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from django.core.files.storage import Storage
from django.db.models import F
from django.utils import timezone

from ..asc.client import AscClient
from ..asc.errors import AscError
from ..models import ArchivedArtifact
from .download import ARCHIVED, LOST, Job, Outcome, fetch
from .paths import printable, storage_name
from .progress import Progress, human_bytes
from .selection import Selection
from .storage import ArchiveError, archive_storage, sweep_incoming

Status = ArchivedArtifact.Status
DONE = (Status.ARCHIVED, Status.LOST, Status.PRUNED)  # never downloaded again
MAX_CONCURRENCY = 16
ADMIN_MAX_BYTES = 2 * 1024**3  # what the admin action downloads within one web request


@dataclass
class ArchiveReport:
    archived: int = 0
    lost: int = 0
    failed: int = 0
    bytes: int = 0
    url_refreshes: int = 0
    problems: list[str] = field(default_factory=list)  # one line each
    fatal: str = ""  # why the run stopped early, if it did
    started: bool = False  # whether any download began (else there is nothing to sum up)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.fatal

    def summary(self) -> str:
        line = (
            f"archived {self.archived} ({human_bytes(self.bytes)}), lost upstream {self.lost}, "
            f"failed {self.failed}"
        )
        if self.url_refreshes:
            line += f", expired URLs refreshed {self.url_refreshes}"
        return line


@dataclass(frozen=True)
class Plan:
    count: int
    bytes: int
    jobs: list[Job]


def pending(selection: Selection):
    """Selected artifacts that still need a download, oldest runs first (they expire first)."""
    return (
        selection.artifacts()
        .exclude(archive__status__in=DONE)
        .order_by(F("run_created_date").asc(nulls_first=True), "pk")
    )


def plan(selection: Selection) -> Plan:
    rows = pending(selection).values(
        "pk",
        "asc_id",
        "file_type",
        "file_name",
        "file_size",
        "product__asc_id",
        "workflow__asc_id",
        "build_run__asc_id",
        "build_action__asc_id",
    )
    jobs = [_job(row) for row in rows]
    return Plan(len(jobs), sum(job.file_size or 0 for job in jobs), jobs)


def archive_artifacts(
    selection: Selection,
    *,
    client: AscClient | None = None,
    storage: Storage | None = None,
    concurrency: int = 2,
    progress: Progress | None = None,
) -> ArchiveReport:
    """Download what `selection` still needs into archive storage. Never raises for the
    expected failures: they end up in `report.problems` / `report.fatal`, one line each."""
    from ..connection import client_from_settings

    report = ArchiveReport()
    progress = progress or Progress()
    try:
        storage = storage or archive_storage()
        sweep_incoming(storage)
        work = plan(selection)
        if not work.jobs:
            return report
        client = client or client_from_settings()
    except (ArchiveError, AscError) as exc:
        report.fatal = str(exc)
        return report
    report.started = True
    progress.start(work.count, work.bytes)
    workers = max(1, min(concurrency, MAX_CONCURRENCY))
    jobs = iter(work.jobs)
    in_flight: set[Future[Outcome]] = set()
    with ThreadPoolExecutor(workers, thread_name_prefix="archive") as pool:
        try:
            while True:
                while not report.fatal and len(in_flight) < workers * 2:
                    job = next(jobs, None)
                    if job is None:
                        break
                    in_flight.add(pool.submit(fetch, client, job, storage, progress.add))
                if not in_flight:
                    break
                done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    _collect(future, report, progress)
        finally:
            for future in in_flight:
                future.cancel()
            for future in in_flight:
                if not future.cancelled():
                    _collect(future, report, progress)
            progress.close()
    return report


def _collect(future: Future[Outcome], report: ArchiveReport, progress: Progress) -> None:
    try:
        outcome = future.result()
    except (ArchiveError, AscError) as exc:
        report.fatal = report.fatal or str(exc)
        return
    _record(outcome)
    progress.file_done()
    report.url_refreshes += outcome.url_refreshes
    if outcome.status == ARCHIVED:
        report.archived += 1
        report.bytes += outcome.size or 0
    elif outcome.status == LOST:
        report.lost += 1
        report.problems.append(f"lost upstream: {outcome.job.label}: {outcome.error}")
    else:
        report.failed += 1
        report.problems.append(f"failed: {outcome.job.label}: {outcome.error}")


def _record(outcome: Outcome) -> None:
    job = outcome.job
    now = timezone.now()
    values = {"status": outcome.status, "file_name": job.file_name, "error": outcome.error}
    if outcome.status == ARCHIVED:
        values.update(
            path=job.name,
            size=outcome.size,
            sha256=outcome.sha256,
            archived_at=now,
            verified_at=now,
            pruned_at=None,
        )
    ArchivedArtifact.objects.update_or_create(
        artifact_id=job.pk,
        defaults={**values, "attempts": F("attempts") + 1},
        create_defaults={**values, "attempts": 1},
    )


def _job(row: dict) -> Job:
    file_name = row["file_name"] or ""
    return Job(
        pk=row["pk"],
        asc_id=row["asc_id"],
        file_name=file_name,
        file_size=row["file_size"],
        name=storage_name(
            product_id=row["product__asc_id"],
            workflow_id=row["workflow__asc_id"],
            run_id=row["build_run__asc_id"],
            action_id=row["build_action__asc_id"],
            file_type=row["file_type"],
            artifact_id=row["asc_id"],
            file_name=file_name,
        ),
        label=f"{row['file_type'] or '?'} {printable(file_name, 60)} ({printable(row['asc_id'])})",
    )
