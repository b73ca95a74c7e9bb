"""Archive the selected artifacts: plan, download with bounded concurrency, record outcomes.

One archive run at a time per account, whoever starts it (the command or the admin action):
a run holds the account's archiver lease (`locks.archiver_key`) from planning to the last
record, and sweeps what killed runs left in the incoming folder before it starts. Each
account's artifacts are fetched with that account's key, into paths of its own.

Workers only download (`download.fetch`); every database write happens here, in the calling
thread, as each download finishes. An artifact already archived, pruned by retention or
finally lost is skipped, so a second run downloads nothing and an interrupted run resumes.
A 404 is a loss only if the key can see the artifact's product (a key of another account
answers 404 to everything) and becomes final when a second look a day later agrees.
"""

from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.files.storage import Storage
from django.db.models import F, Q
from django.utils import timezone

from .. import locks
from ..asc.client import AscClient
from ..asc.errors import AscError, NotFoundError
from ..models import Account, ArchivedArtifact, default_account
from .download import ARCHIVED, LOST, Job, Outcome, fetch
from .paths import printable, storage_name
from .progress import Progress, human_bytes
from .selection import Selection
from .storage import ArchiveError, archive_storage, sweep_incoming
from .verify import is_intact

Status = ArchivedArtifact.Status
DONE = (Status.ARCHIVED, Status.LOST, Status.PRUNED)  # never downloaded again...
LOST_RECHECK_AFTER = timedelta(days=1)  # ...except a loss seen once, looked at again a day later
LOST_CHECKS = 2  # 404s, a day apart, before a loss is final
MAX_CONCURRENCY = 16
ADMIN_MAX_BYTES = 2 * 1024**3  # what the admin action downloads within one web request
RENEW_EVERY = 60.0  # seconds between renewals of the lease while downloads run


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
    recheck_lost = Q(
        archive__status=Status.LOST,
        archive__lost_checks__lt=LOST_CHECKS,
        archive__updated_at__lte=timezone.now() - LOST_RECHECK_AFTER,
    )
    return (
        selection.artifacts()
        .filter(Q(archive__isnull=True) | ~Q(archive__status__in=DONE) | recheck_lost)
        .order_by(F("run_created_date").asc(nulls_first=True), "pk")
    )


def plan(selection: Selection) -> Plan:
    rows = pending(selection).values(
        "pk",
        "account__name",
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
    account: Account | None = None,
    client: AscClient | None = None,
    storage: Storage | None = None,
    concurrency: int = 2,
    progress: Progress | None = None,
) -> ArchiveReport:
    """Download what `selection` still needs into archive storage, account by account (only
    `account`'s when given), each with its own key and lease. Never raises for the expected
    failures: they end up in `report.problems` / `report.fatal`, one line each."""
    accounts = [account] if account is not None else selection.account_list()
    # With nothing to archive, `default`'s run still sweeps what killed runs left.
    accounts = accounts or [default_account()]
    report = ArchiveReport()
    for each in accounts:
        done = _archive_account(
            selection.of_account(each), each, client, storage, concurrency, progress
        )
        _merge(report, done, each.name if len(accounts) > 1 else "")
    return report


def _archive_account(selection, account, client, storage, concurrency, progress) -> ArchiveReport:
    report = ArchiveReport()
    try:
        with locks.lease(locks.archiver_key(account.name)) as lease:
            run = _Run(report, lease, client, storage, concurrency, progress or Progress())
            run.run(selection, account)
    except locks.LockBusy as exc:
        report.fatal = str(exc)
    except locks.LockLost:
        report.fatal = (
            "another archive run took over the lease of this one (it stopped renewing it); "
            "what was archived is recorded, run again for the rest"
        )
    return report


def _merge(report: ArchiveReport, done: ArchiveReport, name: str) -> None:
    """Add one account's report to the whole; with several accounts, lines name theirs."""
    prefix = f"account {name}: " if name else ""
    report.archived += done.archived
    report.lost += done.lost
    report.failed += done.failed
    report.bytes += done.bytes
    report.url_refreshes += done.url_refreshes
    report.problems += [prefix + line for line in done.problems]
    if done.fatal:
        report.fatal = "; ".join(filter(None, [report.fatal, prefix + done.fatal]))
    report.started = report.started or done.started


class _Run:
    def __init__(self, report, lease, client, storage, concurrency, progress):
        self.report = report
        self.lease = lease
        self.client = client
        self.storage = storage
        self.workers = max(1, min(concurrency, MAX_CONCURRENCY))
        self.progress = progress
        self.products_seen: dict[str, bool] = {}  # product id -> whether the key sees it

    def run(self, selection: Selection, account: Account) -> None:
        from ..connection import client_for

        self.account = account
        report = self.report
        try:
            self.storage = self.storage or archive_storage()
            sweep_incoming(self.storage, account.name)
            work = plan(selection)
            if not work.jobs:
                return
            self.client = self.client or client_for(account)
        except (ArchiveError, AscError) as exc:
            report.fatal = str(exc)
            return
        report.started = True
        self.progress.start(work.count, work.bytes)
        jobs = iter(work.jobs)
        in_flight: set[Future[Outcome]] = set()
        renewed = time.monotonic()
        with ThreadPoolExecutor(self.workers, thread_name_prefix="archive") as pool:
            try:
                while True:
                    while not report.fatal and len(in_flight) < self.workers * 2:
                        job = next(jobs, None)
                        if job is None:
                            break
                        in_flight.add(
                            pool.submit(fetch, self.client, job, self.storage, self.progress.add)
                        )
                    if not in_flight:
                        break
                    done, in_flight = wait(
                        in_flight, timeout=RENEW_EVERY, return_when=FIRST_COMPLETED
                    )
                    for future in done:
                        self._collect(future)
                    if time.monotonic() - renewed >= RENEW_EVERY:
                        self.lease.renew()
                        renewed = time.monotonic()
            finally:
                for future in in_flight:
                    future.cancel()
                for future in in_flight:
                    if not future.cancelled():
                        self._collect(future)
                self.progress.close()
        self.lease.renew()  # raises if another run took the lease over while this one worked

    def _collect(self, future: Future[Outcome]) -> None:
        report = self.report
        try:
            outcome = future.result()
        except (ArchiveError, AscError) as exc:
            report.fatal = report.fatal or str(exc)
            return
        self.progress.file_done()
        try:
            unseen = outcome.status == LOST and not self._key_sees(outcome.job.product_id)
        except AscError as exc:
            report.fatal = report.fatal or str(exc)
            return
        if unseen:
            report.fatal = report.fatal or (
                f"App Store Connect answers 404 for product {printable(outcome.job.product_id)} "
                f"with the key of account {self.account.name}: is it another team's key? "
                "Nothing was recorded as lost; check the account's key (asc_account list)"
            )
            return
        if not self._record(outcome):
            return  # archived meanwhile, and the copy is intact: nothing to report
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

    def _key_sees(self, product_id: str) -> bool:
        """Whether the key can read this product; one call per product and run, on a 404."""
        if product_id not in self.products_seen:
            try:
                self.client.product(product_id)
                self.products_seen[product_id] = True
            except NotFoundError:
                self.products_seen[product_id] = False
        return self.products_seen[product_id]

    def _record(self, outcome: Outcome) -> bool:
        """Store the outcome; False when it would demote a verified archived copy."""
        job = outcome.job
        if outcome.status != ARCHIVED:
            kept = (
                ArchivedArtifact.objects.filter(artifact_id=job.pk, status=Status.ARCHIVED)
                .values_list("path", "size", "sha256")
                .first()
            )
            if kept and is_intact(self.storage, *kept):
                return False
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
                lost_checks=0,
            )
        lost = 1 if outcome.status == LOST else 0
        ArchivedArtifact.objects.update_or_create(
            artifact_id=job.pk,
            defaults={
                **values,
                "attempts": F("attempts") + 1,
                **({"lost_checks": F("lost_checks") + 1} if lost else {}),
            },
            create_defaults={**values, "attempts": 1, "lost_checks": lost},
        )
        return True


def _job(row: dict) -> Job:
    file_name = row["file_name"] or ""
    return Job(
        pk=row["pk"],
        asc_id=row["asc_id"],
        file_name=file_name,
        file_size=row["file_size"],
        name=storage_name(
            account=row["account__name"],
            product_id=row["product__asc_id"],
            workflow_id=row["workflow__asc_id"],
            run_id=row["build_run__asc_id"],
            action_id=row["build_action__asc_id"],
            file_type=row["file_type"],
            artifact_id=row["asc_id"],
            file_name=file_name,
        ),
        label=f"{row['file_type'] or '?'} {printable(file_name, 60)} ({printable(row['asc_id'])})",
        product_id=row["product__asc_id"],
        account=row["account__name"],
    )
