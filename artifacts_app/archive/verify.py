"""Re-hash archived files and compare them with what was recorded when they were archived."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from django.core.files.storage import Storage
from django.utils import timezone

from ..models import ArchivedArtifact
from .progress import Progress
from .selection import Selection
from .storage import archive_storage

CHUNK_SIZE = 1024 * 1024
Status = ArchivedArtifact.Status


@dataclass
class VerifyReport:
    checked: int = 0
    ok: int = 0
    missing: list[str] = field(default_factory=list)  # storage paths
    changed: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [f"missing: {path}" for path in self.missing] + [
            f"changed: {path}" for path in self.changed
        ]

    def summary(self) -> str:
        return (
            f"verified {self.checked} archived files: {self.ok} intact, "
            f"{len(self.missing)} missing, {len(self.changed)} changed"
        )


def verify_archive(
    selection: Selection | None = None,
    *,
    storage: Storage | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    """Check every archived file of `selection`. A missing or changed file stops counting as
    archived (its record becomes "failed"), so the next archive run downloads it again while
    Apple still has it."""
    storage = storage or archive_storage()
    progress = progress or Progress()
    records = ArchivedArtifact.objects.filter(status=Status.ARCHIVED)
    if selection is not None:
        records = records.filter(artifact__in=selection.artifacts())
    rows = list(records.values_list("pk", "path", "size", "sha256").order_by("pk"))
    progress.start(len(rows), sum(size or 0 for _, _, size, _ in rows))
    report = VerifyReport()
    intact: list[int] = []
    for pk, path, size, sha256 in rows:
        report.checked += 1
        problem = _check(storage, path, size, sha256, progress)
        progress.file_done()
        if problem is None:
            intact.append(pk)
            continue
        # Only a record that still describes this copy is demoted: retention may have pruned
        # it since the listing, and that file is meant to be gone.
        demoted = ArchivedArtifact.objects.filter(pk=pk, status=Status.ARCHIVED, path=path).update(
            status=Status.FAILED,
            error=f"{problem} at verify: the archived copy is not the one recorded",
            updated_at=timezone.now(),
        )
        if demoted:
            (report.missing if problem == "missing" else report.changed).append(path)
    progress.close()
    report.ok = len(intact)
    now = timezone.now()
    for start in range(0, len(intact), 500):
        ArchivedArtifact.objects.filter(pk__in=intact[start : start + 500]).update(verified_at=now)
    return report


def is_intact(storage: Storage, path: str, size: int | None, sha256: str) -> bool:
    """Whether the file at `path` is still exactly the one recorded."""
    return _check(storage, path, size, sha256, Progress()) is None


def _check(storage: Storage, path: str, size: int | None, sha256: str, progress) -> str | None:
    """None when the file is intact, else "missing" or "changed"."""
    if not path or not storage.exists(path):
        return "missing"
    digest = hashlib.sha256()
    count = 0
    try:
        with storage.open(path, "rb") as handle:
            while chunk := handle.read(CHUNK_SIZE):
                digest.update(chunk)
                count += len(chunk)
                progress.add(len(chunk))
    except FileNotFoundError:
        return "missing"
    if count != size or digest.hexdigest() != sha256:
        return "changed"
    return None
