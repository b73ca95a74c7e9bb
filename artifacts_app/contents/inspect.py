"""Inspect zip artifacts: read each one's listing, sum it per component, store the result.

The archived copy is read when there is one (no network at all). Otherwise one API call
fetches a fresh download URL and range requests read the zip's tail and central directory
(`remote.RemoteZip`). A failure on one artifact is recorded and the others go on; only an
unusable key, a rate limit or the budget reserve stops the pass.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..archive import Selection, archive_storage
from ..archive.paths import printable
from ..asc.budget import CallBudget
from ..asc.client import AscClient
from ..asc.errors import AscError, ExpiredDownloadError, NotFoundError, ServerError, TransportError
from ..connection import client_for
from ..models import Account, ArchivedArtifact, CiArtifact, FileType
from ..units import format_bytes
from .components import summarise
from .files import RangesRefused
from .listing import Listing, NotAZip, read_listing
from .models import ArtifactComponent, ArtifactContents
from .remote import RemoteZip, Unreadable

ZIP_TYPES = (FileType.ARCHIVE, FileType.ARCHIVE_EXPORT, FileType.STAPLED_NOTARIZED_ARCHIVE)
MAX_ATTEMPTS = 3  # a failing artifact is tried by this many passes, then left alone
CONCURRENCY = 4  # artifacts read at once: each is a few small requests, mostly waiting
Status = ArtifactContents.Status
Source = ArtifactContents.Source


class ReserveReached(AscError):
    """The next call would spend the hourly calls left to the key's other tools."""


@dataclass
class InspectReport:
    inspected: int = 0
    not_zip: int = 0
    gone: int = 0
    failed: int = 0
    bytes_fetched: int = 0
    bytes_listed: int = 0  # file sizes of the artifacts read over the network
    url_refreshes: int = 0
    problems: list[str] = field(default_factory=list)
    stopped: str = ""  # why the pass ended early (budget, rate limit, key), if it did
    budget_reached: bool = False  # stopped on purpose: the next pass continues

    def summary(self) -> str:
        line = (
            f"inspected {self.inspected}, not a zip {self.not_zip}, gone upstream {self.gone}, "
            f"failed {self.failed}; fetched {format_bytes(self.bytes_fetched)}"
        )
        if self.bytes_listed:
            share = self.bytes_fetched / self.bytes_listed
            line += f" ({share:.3%} of {format_bytes(self.bytes_listed)} listed remotely)"
        if self.url_refreshes:
            line += f", expired URLs refreshed {self.url_refreshes}"
        return line + (f"; stopped: {self.stopped}" if self.stopped else "")


@dataclass
class Outcome:
    status: str
    source: str = ""
    listing: Listing | None = None
    bytes_fetched: int = 0
    error: str = ""
    refreshes: int = 0


def pending(selection: Selection, first_seen_since=None):
    """Zip artifacts of `selection` not inspected yet (failed ones a few times at most),
    only those the mirror first saw at or after `first_seen_since` when it is given."""
    done = Q(contents__status__in=[Status.INSPECTED, Status.NOT_ZIP, Status.GONE]) | Q(
        contents__status=Status.FAILED, contents__attempts__gte=MAX_ATTEMPTS
    )
    artifacts = replace(selection, file_types=selection.file_types or ZIP_TYPES).artifacts()
    if first_seen_since is not None:
        artifacts = artifacts.filter(first_seen_at__gte=first_seen_since)
    return artifacts.exclude(done).select_related("archive").order_by("-run_created_date", "-pk")


def inspect_artifacts(
    selection: Selection,
    *,
    account: Account | None = None,
    client: AscClient | None = None,
    reserve: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    first_seen_since=None,
    concurrency: int = CONCURRENCY,
) -> InspectReport:
    """Inspect what `selection` still needs, account by account (only `account`'s when
    given), each with its own key and hourly reserve, newest runs first. Never raises for the
    expected failures: they end up in `report.problems` and `report.stopped`, one line each.
    """
    accounts = [account] if account is not None else selection.account_list()
    report = InspectReport()
    for each in accounts:
        done = _inspect_account(
            selection.of_account(each),
            each,
            client,
            each.hourly_reserve if reserve is None else max(0, reserve),
            progress,
            first_seen_since,
            concurrency,
        )
        _merge(report, done, each.name if len(accounts) > 1 else "")
    return report


def _merge(report: InspectReport, done: InspectReport, name: str) -> None:
    """Add one account's report to the whole; with several accounts, lines name theirs."""
    prefix = f"account {name}: " if name else ""
    for counted in ("inspected", "not_zip", "gone", "failed", "bytes_fetched", "bytes_listed"):
        setattr(report, counted, getattr(report, counted) + getattr(done, counted))
    report.url_refreshes += done.url_refreshes
    report.problems += [prefix + line for line in done.problems]
    if done.stopped:
        report.stopped = "; ".join(filter(None, [report.stopped, prefix + done.stopped]))
        report.budget_reached = report.budget_reached or done.budget_reached


def _inspect_account(
    selection, account, client, reserve, progress, first_seen_since, concurrency
) -> InspectReport:
    """Workers only read zips; every database write happens here, as each one finishes."""
    report = InspectReport()
    artifacts = list(pending(selection, first_seen_since))
    storage = archive_storage()
    workers = max(1, concurrency)
    # Every worker's API call asks this budget first, as the sync's do: answers arriving out
    # of order cannot make it overstate what is left, so no call spends the reserve.
    budget = CallBudget(reserve, lambda left: ReserveReached(_reserve_line(reserve)))
    previous = client.budget if client is not None else None
    in_flight: dict[Future[Outcome], CiArtifact] = {}
    position = done = 0
    try:
        with ThreadPoolExecutor(workers, thread_name_prefix="inspect") as pool:
            while True:
                while not report.stopped and position < len(artifacts) and len(in_flight) < workers:
                    artifact = artifacts[position]
                    archived = _archived_path(artifact)
                    if archived is None:
                        if client is None:
                            try:
                                client = client_for(account)
                            except AscError as exc:
                                report.stopped = str(exc)
                                break
                        client.budget = budget
                        if not _budget_allows(budget, reserve, len(in_flight), report):
                            break
                    future = pool.submit(_inspect_one, artifact, archived, storage, client)
                    in_flight[future] = artifact
                    position += 1
                if not in_flight:
                    break
                finished, _running = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in finished:
                    artifact = in_flight.pop(future)
                    try:
                        outcome = future.result()
                    except ReserveReached as exc:
                        report.budget_reached = True
                        report.stopped = report.stopped or str(exc)
                        continue
                    except AscError as exc:  # the key or the rate limit: the rest would fail too
                        report.stopped = report.stopped or str(exc)
                        continue
                    record(artifact, outcome)
                    _count(report, artifact, outcome)
                    done += 1
                    if progress is not None:
                        progress(done, len(artifacts))
    finally:
        if client is not None:
            client.budget = previous
    if report.budget_reached:
        report.stopped += f"; {len(artifacts) - done} artifacts left for the next run"
    return report


def _budget_allows(budget: CallBudget, reserve: int, in_flight: int, report) -> bool:
    """Whether one more download URL may be asked for. Until the first answer tells the
    budget, one request at a time; a reached reserve ends the pass. Each artifact in flight
    counts as a call still to come, so the pass stops a little early rather than late."""
    left = budget.left
    if left is None:
        return not in_flight
    if left - in_flight <= reserve:
        report.budget_reached = True
        report.stopped = _reserve_line(reserve)
        return False
    return True


def _reserve_line(reserve: int) -> str:
    return f"the hourly budget reached the reserve of {reserve} calls"


def inspect_after_sync(sync_run, client: AscClient | None = None) -> InspectReport | None:
    """Inspect the zip artifacts a sync pass found, unless INSPECT_AFTER_SYNC is off."""
    if not settings.INSPECT_AFTER_SYNC or sync_run.dry_run:
        return None
    return inspect_artifacts(
        Selection(), account=sync_run.account, client=client, first_seen_since=sync_run.started_at
    )


def _archived_path(artifact: CiArtifact) -> str | None:
    archive = getattr(artifact, "archive", None)
    if archive is not None and archive.status == ArchivedArtifact.Status.ARCHIVED:
        return archive.path
    return None


def _inspect_one(artifact, archived: str | None, storage, client) -> Outcome:
    if archived is not None:
        try:
            with storage.open(archived, "rb") as handle:
                return _listed(Source.ARCHIVE, lambda: read_listing(handle))
        except OSError:
            if client is None:
                return Outcome(Status.FAILED, error="the archived copy cannot be read")
    return _inspect_remote(artifact, client)


def _inspect_remote(artifact, client: AscClient) -> Outcome:
    def fresh_url() -> str:
        url = client.artifact(artifact.asc_id).download_url
        if not url:
            raise Unreadable("App Store Connect gave no downloadUrl")
        return url

    remote = None
    try:
        remote = RemoteZip(client, fresh_url, artifact.file_size)
        file = remote.open()
        outcome = _listed(Source.RANGES, lambda: read_listing(file))
        outcome.source = Source.STREAM if remote.streamed else Source.RANGES
    except NotFoundError:
        outcome = Outcome(Status.GONE, error="404: the artifact has expired upstream")
    except ExpiredDownloadError:
        outcome = Outcome(Status.FAILED, error="download URL refused as expired twice")
    except (Unreadable, TransportError, ServerError) as exc:
        outcome = Outcome(Status.FAILED, error=str(exc))
    except AscError as exc:
        if exc.status in (401, 429) or exc.status is None:
            raise
        outcome = Outcome(Status.FAILED, error=f"download refused with HTTP {exc.status}")
    if remote is not None:
        outcome.bytes_fetched, outcome.refreshes = remote.bytes_fetched, remote.refreshes
    return outcome


def _listed(source: str, read: Callable[[], Listing]) -> Outcome:
    try:
        return Outcome(Status.INSPECTED, source=source, listing=read())
    except NotAZip as exc:
        return Outcome(Status.NOT_ZIP, source=source, error=str(exc))
    except RangesRefused:
        return Outcome(
            Status.FAILED,
            source=Source.STREAM,
            error="the host refuses range requests and the central directory is over 16 MB",
        )


def record(artifact: CiArtifact, outcome: Outcome) -> ArtifactContents:
    """Store one outcome: the totals and components replace any earlier ones."""
    listing = outcome.listing or Listing()
    components = summarise(listing.entries)
    values = {
        "status": outcome.status,
        "source": outcome.source,
        "inspected_at": timezone.now(),
        "entries": sum(c.entries for c in components),
        "uncompressed_bytes": sum(c.uncompressed_bytes for c in components),
        "compressed_bytes": sum(c.compressed_bytes for c in components),
        "bytes_fetched": outcome.bytes_fetched,
        "error": outcome.error,
        "notes": "\n".join(listing.notes),
        "thinning": listing.thinning,
    }
    with transaction.atomic():
        contents, created = ArtifactContents.objects.get_or_create(
            artifact=artifact, defaults={**values, "attempts": 1}
        )
        if not created:
            for key, value in values.items():
                setattr(contents, key, value)
            contents.attempts += 1
            contents.save()
            contents.components.all().delete()
        ArtifactComponent.objects.bulk_create(
            ArtifactComponent(
                contents=contents,
                name=c.name,
                kind=c.kind,
                entries=c.entries,
                uncompressed_bytes=c.uncompressed_bytes,
                compressed_bytes=c.compressed_bytes,
            )
            for c in components
        )
    return contents


def _count(report: InspectReport, artifact: CiArtifact, outcome: Outcome) -> None:
    report.bytes_fetched += outcome.bytes_fetched
    report.url_refreshes += outcome.refreshes
    if outcome.source in (Source.RANGES, Source.STREAM):
        report.bytes_listed += artifact.file_size or 0
    label = f"{artifact.file_type} {printable(artifact.file_name, 60)} ({artifact.asc_id})"
    if outcome.status == Status.INSPECTED:
        report.inspected += 1
    elif outcome.status == Status.NOT_ZIP:
        report.not_zip += 1
        report.problems.append(f"not a zip: {label}")
    elif outcome.status == Status.GONE:
        report.gone += 1
        report.problems.append(f"gone upstream: {label}")
    else:
        report.failed += 1
        report.problems.append(f"failed: {label}: {outcome.error}")
