"""Two App Store Connect accounts side by side, each with a row of every kind the site shows.

Every name and id of an account's rows contains the account's name, so a test can look for
one account's name in a page to find any of its data there.
"""

from datetime import timedelta

from django.core.files.base import ContentFile
from django.utils import timezone

from artifacts_app.archive import archive_storage
from artifacts_app.models import (
    ArchivedArtifact,
    ArtifactComponent,
    ArtifactContents,
    BudgetViolation,
    ProductSyncState,
    QueuedRun,
    SizeBudget,
    SyncRun,
    WebhookDelivery,
)
from artifacts_app.rollup import refresh_rollup

from .factories import (
    make_account,
    make_artifact,
    make_build_action,
    make_build_run,
    make_product,
    make_workflow,
)


def account_with_data(name: str, sha_digit: str, megabytes: int = 1):
    """An account `name` with two runs of one workflow, their artifacts (`megabytes` and
    twice that), an archived copy, an inspection, a budget broken by the second run, a
    webhook delivery, a queued run, a sync pass and the product's sync state. Returns the
    account and its rows by kind."""
    account = make_account(name)
    product = make_product(account=account, asc_id=f"{name}-product", name=f"{name} App")
    workflow = make_workflow(product, asc_id=f"{name}-workflow", name=f"{name} Nightly")
    now = timezone.now()
    runs, artifacts = [], []
    for number in (1, 2):
        run = make_build_run(
            workflow,
            asc_id=f"{name}-run-{number}",
            number=number,
            created_date=now - timedelta(days=4 - number),
            source_ref_name=f"{name}-branch",
            source_commit_sha=sha_digit * 40,
        )
        action = make_build_action(
            run,
            asc_id=f"{name}-action-{number}",
            name=f"{name} Archive",
            execution_progress="COMPLETE",
            started_date=run.created_date,
            finished_date=run.created_date + timedelta(minutes=20),
        )
        artifacts.append(
            make_artifact(
                action,
                asc_id=f"{name}-artifact-{number}",
                file_name=f"{name}-{number}.xcarchive.zip",
                file_size=1_000_000 * megabytes * number,
            )
        )
        runs.append(run)
    path = f"{name}/{artifacts[1].asc_id}.zip"
    archive_storage().save(path, ContentFile(f"{name} bytes".encode()))
    archived = ArchivedArtifact.objects.create(
        artifact=artifacts[1],
        status=ArchivedArtifact.Status.ARCHIVED,
        path=path,
        file_name=artifacts[1].file_name,
        size=len(name) + 6,
        archived_at=now,
    )
    for artifact in artifacts:
        contents = ArtifactContents.objects.create(
            artifact=artifact,
            status=ArtifactContents.Status.INSPECTED,
            inspected_at=now,
            entries=1,
            uncompressed_bytes=artifact.file_size,
        )
        ArtifactComponent.objects.create(
            contents=contents,
            name=f"{name}Kit.framework",
            kind="framework",
            entries=1,
            uncompressed_bytes=artifact.file_size,
            compressed_bytes=artifact.file_size // 2,
        )
    budget = SizeBudget.objects.create(account=account, name=f"{name}-cap", max_bytes=1)
    violation = BudgetViolation.objects.create(
        budget=budget, budget_name=budget.name, run=runs[1], bytes=2_000_000, limit_bytes=1
    )
    SyncRun.objects.create(
        account=account,
        status=SyncRun.Status.FAILED,
        finished_at=now,
        products=product.asc_id,
        error=f"{name}: 401 NOT_AUTHORIZED",
    )
    ProductSyncState.objects.create(product=product, newest_synced_number=2, last_synced_at=now)
    WebhookDelivery.objects.create(
        account=account, run_asc_id=f"{name}-run-2", event_type="BUILD_COMPLETED"
    )
    QueuedRun.objects.create(account=account, run_asc_id=f"{name}-run-3", queued_at=now)
    refresh_rollup(rebuild=True)
    return account, {
        "product": product,
        "workflow": workflow,
        "runs": runs,
        "artifacts": artifacts,
        "archived": archived,
        "violation": violation,
    }
