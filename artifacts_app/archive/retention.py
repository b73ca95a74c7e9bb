"""Retention: which archived files may go, and deleting them.

A policy keeps the newest N runs' files per workflow and file type, keeps every file of a
run built from a tag or a release branch, and lets log bundles older than N days go even
among the newest. Files of protected runs are never deleted. Decisions are made in the
database (a window function ranks runs); nothing is deleted on a dry run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.core.files.storage import Storage
from django.db.models import F, Q, QuerySet, Window
from django.db.models.functions import DenseRank
from django.utils import timezone

from ..models import ArchivedArtifact, FileType
from .progress import human_bytes
from .selection import Selection
from .storage import archive_storage, storage_error

Status = ArchivedArtifact.Status

DEFAULT_KEEP_LAST = 10
DEFAULT_KEEP_REFS = ("release/*",)
DEFAULT_LOG_DAYS = 30


@dataclass(frozen=True)
class RetentionPolicy:
    keep_last: int | None = DEFAULT_KEEP_LAST  # runs per workflow and file type; None keeps all
    keep_tags: bool = True  # runs built from a tag are kept whole
    keep_refs: tuple[str, ...] = DEFAULT_KEEP_REFS  # branch names; a trailing * is a prefix
    log_days: int | None = DEFAULT_LOG_DAYS  # log bundles older than this go; None keeps them

    def describe(self) -> str:
        parts = [
            f"keep the last {self.keep_last} runs per workflow and type"
            if self.keep_last is not None
            else "keep every run",
        ]
        kept = (["tags"] if self.keep_tags else []) + list(self.keep_refs)
        if kept:
            parts.append("keep runs on " + ", ".join(kept))
        if self.log_days is not None:
            parts.append(f"delete logs older than {self.log_days} days")
        return "; ".join(parts)


@dataclass
class RetentionReport:
    dry_run: bool
    count: int = 0
    bytes: int = 0
    paths: list[str] = field(default_factory=list)

    def summary(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        return f"retention {verb} {self.count} archived files, freeing {human_bytes(self.bytes)}"


def protected(policy: RetentionPolicy) -> Q:
    """Archived records whose run the policy keeps whole."""
    condition = Q(pk__in=[])
    if policy.keep_tags:
        condition |= Q(artifact__build_run__source_ref_kind="TAG")
    for pattern in policy.keep_refs:
        if pattern.endswith("*"):
            condition |= Q(artifact__build_run__source_ref_name__startswith=pattern[:-1])
        else:
            condition |= Q(artifact__build_run__source_ref_name=pattern)
    return condition


def candidates(
    policy: RetentionPolicy, selection: Selection | None = None, now: datetime | None = None
) -> QuerySet[ArchivedArtifact]:
    """Archived records the policy would delete, oldest runs first."""
    archived = ArchivedArtifact.objects.filter(status=Status.ARCHIVED)
    if selection is not None:
        archived = archived.filter(artifact__in=selection.artifacts())
    reasons = Q(pk__in=[])
    if policy.keep_last is not None:
        ranked = archived.annotate(
            run_rank=Window(
                DenseRank(),
                partition_by=[F("artifact__workflow_id"), F("artifact__file_type")],
                order_by=[
                    F("artifact__run_created_date").desc(nulls_last=True),
                    F("artifact__build_run_id").desc(),
                ],
            )
        ).filter(run_rank__gt=policy.keep_last)
        reasons |= Q(pk__in=ranked.values("pk"))
    if policy.log_days is not None:
        cutoff = (now or timezone.now()) - timedelta(days=policy.log_days)
        reasons |= Q(artifact__file_type=FileType.LOG_BUNDLE, artifact__run_created_date__lt=cutoff)
    return (
        archived.filter(reasons)
        .exclude(protected(policy))
        .order_by(F("artifact__run_created_date").asc(nulls_first=True), "pk")
    )


def apply_retention(
    policy: RetentionPolicy,
    *,
    dry_run: bool = True,
    selection: Selection | None = None,
    storage: Storage | None = None,
    now: datetime | None = None,
) -> RetentionReport:
    """Delete (or, on a dry run, list) what the policy lets go. Raises `ArchiveError`."""
    rows = list(candidates(policy, selection, now).values_list("pk", "path", "size"))
    report = RetentionReport(dry_run=dry_run)
    if not dry_run:
        storage = storage or archive_storage()
    for pk, path, size in rows:
        if not dry_run and not _prune(storage, pk, path):
            continue
        report.count += 1
        report.bytes += size or 0
        report.paths.append(path)
    return report


def _prune(storage: Storage, pk: int, path: str) -> bool:
    """Mark the record pruned, then delete its file; False if the record changed meanwhile.

    The record goes first, and only while it still says "archived" at this path: a file that
    another process is downloading again, or that its record no longer describes, stays.
    """
    now = timezone.now()
    claimed = ArchivedArtifact.objects.filter(pk=pk, status=Status.ARCHIVED, path=path).update(
        status=Status.PRUNED, pruned_at=now, updated_at=now
    )
    if not claimed:
        return False
    try:
        if path:
            storage.delete(path)
    except OSError as exc:
        ArchivedArtifact.objects.filter(pk=pk, status=Status.PRUNED).update(
            status=Status.ARCHIVED, pruned_at=None, updated_at=timezone.now()
        )
        raise storage_error(exc, path) from None
    return True
