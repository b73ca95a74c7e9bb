"""What an account owns, and deleting all of it with `asc_account remove --delete-data`."""

from __future__ import annotations

from django.apps import apps
from django.db import transaction

from ..models import (
    Account,
    AccountOwned,
    ArchivedArtifact,
    ArtifactDailyTotal,
    ArtifactDailyTypeTotal,
    CiArtifact,
    CiBuildAction,
    CiBuildRun,
    CiProduct,
    CiWorkflow,
    ProductSyncState,
    QueuedRun,
    SizeBudget,
    SyncRun,
    WebhookDelivery,
)

# Children before parents: the mirror's foreign keys protect parents from deletion.
DELETION_ORDER = [
    CiArtifact,
    CiBuildAction,
    CiBuildRun,
    ArtifactDailyTotal,
    ArtifactDailyTypeTotal,
    CiWorkflow,
    CiProduct,
    SyncRun,
    SizeBudget,
    WebhookDelivery,
    QueuedRun,
]


def owned_models() -> list:
    """Every model whose rows belong to an account, in an order they can be deleted in."""
    others = [
        model
        for model in apps.get_app_config("artifacts_app").get_models()
        if issubclass(model, AccountOwned) and model not in DELETION_ORDER
    ]
    return DELETION_ORDER + others


def owned_counts(account: Account) -> dict[str, int]:
    """Rows the account owns, by model (verbose plural name), leaving out the empty ones."""
    counts = {}
    for model in owned_models():
        count = model.objects.filter(account=account).count()
        if count:
            counts[str(model._meta.verbose_name_plural)] = count
    return counts


def delete_with_data(account: Account) -> int:
    """Delete the account and every row it owns, in one transaction; returns the archived
    files whose records went (the files stay in archive storage)."""
    with transaction.atomic():
        archived = ArchivedArtifact.objects.filter(artifact__account=account)
        files = archived.exclude(path="").count()
        archived.delete()
        ProductSyncState.objects.filter(product__account=account).delete()
        for model in owned_models():
            model.objects.filter(account=account).delete()
        account.delete()
    return files
