"""Archive figures for the dashboard, computed in the database."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.db.models.functions import Coalesce

from ..models import ArchivedArtifact, CiArtifact

Status = ArchivedArtifact.Status


def archive_summary(
    artifacts=None, total_artifacts: int | None = None, account_pks=None
) -> dict[str, int]:
    """`{archived_count, archived_bytes, not_archived_count, lost_count,
    expired_upstream_but_safe_count, storage_bytes}`.

    - archived_count: artifacts with a verified copy in archive storage.
    - archived_bytes: their size as Apple announced it (`fileSize`).
    - not_archived_count: every other artifact (never tried, failed, lost, pruned);
      archived_count + not_archived_count is the number of artifacts.
    - lost_count: artifacts Apple answered 404 for before they could be archived.
    - expired_upstream_but_safe_count: archived artifacts the sync no longer finds upstream.
    - storage_bytes: bytes the archive occupies (sizes of the stored files).

    `artifacts` (a queryset of `CiArtifact`) narrows every figure to those artifacts, as the
    dashboard's filters do; by default all of them count. `total_artifacts` spares a COUNT(*)
    of them when the caller has it already. `account_pks` narrows them to those accounts'
    artifacts (the dashboard passes the accounts its user may see).
    """
    archived = Q(status=Status.ARCHIVED)
    records = ArchivedArtifact.objects.all()
    if account_pks is not None:
        records = records.of_accounts(account_pks)
    if artifacts is not None:
        # Each record looks its artifact up by key: an `IN (artifacts)` would first collect
        # every artifact the filters keep, however few records there are.
        records = records.filter(Exists(artifacts.filter(pk=OuterRef("artifact_id"))))
    figures = records.aggregate(
        archived_count=Count("pk", filter=archived),
        archived_bytes=Coalesce(Sum("artifact__file_size", filter=archived), 0),
        storage_bytes=Coalesce(Sum("size", filter=archived), 0),
        lost_count=Count("pk", filter=Q(status=Status.LOST)),
        expired_upstream_but_safe_count=Count(
            "pk", filter=archived & Q(artifact__gone_upstream_at__isnull=False)
        ),
    )
    if total_artifacts is None:
        if artifacts is None:
            artifacts = CiArtifact.objects.all()
            if account_pks is not None:
                artifacts = artifacts.of_accounts(account_pks)
        total_artifacts = artifacts.count()
    return {
        "archived_count": figures["archived_count"],
        "archived_bytes": figures["archived_bytes"],
        "not_archived_count": total_artifacts - figures["archived_count"],
        "lost_count": figures["lost_count"],
        "expired_upstream_but_safe_count": figures["expired_upstream_but_safe_count"],
        "storage_bytes": figures["storage_bytes"],
    }
