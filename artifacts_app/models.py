"""Mirror of App Store Connect's Xcode Cloud resources, plus a record of each sync pass.

Mirror rows are written only by the sync (`artifacts_app.sync`): Apple's id is the
unique key (`asc_id`), and rows that vanish upstream are kept and marked with
`gone_upstream_at`, never deleted, so history survives Apple's retention.

Apple's enums are `TextChoices` for labels and admin filters, but the columns
are plain text without database constraints: a value Apple adds later is
stored as it came.
"""

from django.conf import settings
from django.db import models


class ProductType(models.TextChoices):
    APP = "APP", "App"
    FRAMEWORK = "FRAMEWORK", "Framework"


class ExecutionProgress(models.TextChoices):
    PENDING = "PENDING", "Pending"
    RUNNING = "RUNNING", "Running"
    COMPLETE = "COMPLETE", "Complete"


class CompletionStatus(models.TextChoices):
    SUCCEEDED = "SUCCEEDED", "Succeeded"
    FAILED = "FAILED", "Failed"
    ERRORED = "ERRORED", "Errored"
    CANCELED = "CANCELED", "Canceled"
    SKIPPED = "SKIPPED", "Skipped"


class ActionType(models.TextChoices):
    BUILD = "BUILD", "Build"
    ANALYZE = "ANALYZE", "Analyze"
    TEST = "TEST", "Test"
    ARCHIVE = "ARCHIVE", "Archive"


class FileType(models.TextChoices):
    ARCHIVE = "ARCHIVE", "Archive"
    ARCHIVE_EXPORT = "ARCHIVE_EXPORT", "Archive export"
    LOG_BUNDLE = "LOG_BUNDLE", "Log bundle"
    RESULT_BUNDLE = "RESULT_BUNDLE", "Result bundle"
    TEST_PRODUCTS = "TEST_PRODUCTS", "Test products"
    XCODEBUILD_PRODUCTS = "XCODEBUILD_PRODUCTS", "Xcodebuild products"
    STAPLED_NOTARIZED_ARCHIVE = "STAPLED_NOTARIZED_ARCHIVE", "Stapled notarized archive"


def enum_label(choices, value):
    """The human label of an enum value, or the raw value if Apple added it after us."""
    if not value:
        return ""
    try:
        return choices(value).label
    except ValueError:
        return value


def workflow_label(product_name: str, workflow_name: str) -> str:
    """How a workflow is named wherever its product is not already on screen."""
    return f"{product_name} · {workflow_name}"


def web_link(url: str) -> str:
    """`url` if it is a web address (a link to follow), else empty: never a javascript: URL."""
    return url if url.startswith(("https://", "http://")) else ""


def status_label(execution_progress: str, completion_status: str) -> str:
    """One word for a run or action: how it ended once complete, else how far it got."""
    if execution_progress == ExecutionProgress.COMPLETE and completion_status:
        return enum_label(CompletionStatus, completion_status)
    return enum_label(ExecutionProgress, execution_progress) or "Unknown"


class MirrorModel(models.Model):
    """Fields every mirror of an App Store Connect resource has."""

    asc_id = models.CharField("App Store Connect id", max_length=64, unique=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_synced_at = models.DateTimeField(auto_now=True)
    # Set when a sync no longer finds the resource upstream; the row stays for history.
    gone_upstream_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class IssueCountsMixin(models.Model):
    """Apple's `issueCounts`, null as a whole while a run or action has not finished."""

    analyzer_warnings = models.PositiveIntegerField(null=True, blank=True)
    errors = models.PositiveIntegerField(null=True, blank=True)
    test_failures = models.PositiveIntegerField(null=True, blank=True)
    warnings = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        abstract = True


class CiProduct(MirrorModel):
    name = models.CharField(max_length=255)
    product_type = models.CharField(max_length=40, blank=True, choices=ProductType.choices)
    created_date = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "product"

    def __str__(self):
        return self.name


class CiWorkflow(MirrorModel):
    product = models.ForeignKey(CiProduct, on_delete=models.PROTECT, related_name="workflows")
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    is_enabled = models.BooleanField(null=True, blank=True)
    last_modified_date = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["product__name", "name"]
        verbose_name = "workflow"

    def __str__(self):
        # Products often share workflow names ("Nightly", "Release"): name both out of context.
        return workflow_label(self.product.name, self.name)


class CiBuildRun(MirrorModel, IssueCountsMixin):
    product = models.ForeignKey(CiProduct, on_delete=models.PROTECT, related_name="build_runs")
    workflow = models.ForeignKey(
        CiWorkflow, on_delete=models.PROTECT, null=True, blank=True, related_name="build_runs"
    )
    number = models.PositiveIntegerField()
    created_date = models.DateTimeField(null=True, blank=True)
    started_date = models.DateTimeField(null=True, blank=True)
    finished_date = models.DateTimeField(null=True, blank=True)
    execution_progress = models.CharField(
        max_length=40, blank=True, choices=ExecutionProgress.choices
    )
    completion_status = models.CharField(
        max_length=40, blank=True, choices=CompletionStatus.choices
    )
    start_reason = models.CharField(max_length=40, blank=True)
    cancel_reason = models.CharField(max_length=40, blank=True)
    is_pull_request_build = models.BooleanField(null=True, blank=True)
    source_commit_sha = models.CharField(max_length=64, blank=True)
    source_commit_message = models.TextField(blank=True)
    source_commit_author = models.CharField(max_length=255, blank=True)
    source_commit_url = models.URLField(max_length=500, blank=True)
    destination_commit_sha = models.CharField(max_length=64, blank=True)
    source_ref_name = models.CharField("branch or tag", max_length=255, blank=True)
    source_ref_kind = models.CharField(max_length=20, blank=True)
    destination_branch_name = models.CharField(max_length=255, blank=True)
    pull_request_number = models.PositiveIntegerField(null=True, blank=True)
    pull_request_title = models.CharField(max_length=500, blank=True)
    pull_request_url = models.URLField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_date", "-number"]
        verbose_name = "build run"
        indexes = [
            # Recent runs of a workflow, newest first (run list, per-workflow deltas).
            models.Index(fields=["workflow", "-number"], name="run_workflow_number_idx"),
            # The sync's "runs still pending or running" re-poll.
            models.Index(fields=["product", "execution_progress"], name="run_product_progress_idx"),
            # The dashboard's "recent runs" table: newest runs in a date range.
            models.Index(fields=["-created_date", "-number"], name="run_created_idx"),
        ]

    def __str__(self):
        return f"#{self.number}"

    @property
    def is_finished(self):
        return self.execution_progress == ExecutionProgress.COMPLETE

    @property
    def status_label(self):
        return status_label(self.execution_progress, self.completion_status)

    @property
    def commit_link(self):
        return web_link(self.source_commit_url)

    @property
    def pull_request_link(self):
        return web_link(self.pull_request_url)


class CiBuildAction(MirrorModel, IssueCountsMixin):
    build_run = models.ForeignKey(CiBuildRun, on_delete=models.PROTECT, related_name="actions")
    name = models.CharField(max_length=255)
    action_type = models.CharField(max_length=40, blank=True, choices=ActionType.choices)
    started_date = models.DateTimeField(null=True, blank=True)
    finished_date = models.DateTimeField(null=True, blank=True)
    execution_progress = models.CharField(
        max_length=40, blank=True, choices=ExecutionProgress.choices
    )
    completion_status = models.CharField(
        max_length=40, blank=True, choices=CompletionStatus.choices
    )
    is_required_to_pass = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["build_run", "name"]
        verbose_name = "build action"

    def __str__(self):
        return self.name

    @property
    def status_label(self):
        return status_label(self.execution_progress, self.completion_status)


class CiArtifact(MirrorModel):
    """One artifact file of a build action.

    Apple's artifact has no date of its own; it belongs to its build run's
    `createdDate`. The run, workflow, product and that date are copied here
    by the sync so that every dashboard aggregate is a single-table GROUP BY
    served by the indexes below. The short-lived `downloadUrl` is not stored:
    it is a credential, and the archiver asks for a fresh one each time.
    """

    build_action = models.ForeignKey(
        CiBuildAction, on_delete=models.PROTECT, related_name="artifacts"
    )
    build_run = models.ForeignKey(CiBuildRun, on_delete=models.PROTECT, related_name="artifacts")
    workflow = models.ForeignKey(
        CiWorkflow, on_delete=models.PROTECT, null=True, blank=True, related_name="artifacts"
    )
    product = models.ForeignKey(CiProduct, on_delete=models.PROTECT, related_name="artifacts")
    run_created_date = models.DateTimeField(null=True, blank=True)
    file_type = models.CharField(max_length=40, blank=True, choices=FileType.choices)
    file_name = models.CharField(max_length=1024)
    # Result bundles of 300+ MB are normal and archives pass 2 GiB: 64-bit.
    file_size = models.PositiveBigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-run_created_date", "file_type"]
        verbose_name = "artifact"
        indexes = [
            # /api/v1/stats and the dashboard charts: bytes per period per type in a date range.
            models.Index(fields=["run_created_date", "file_type"], name="artifact_date_type_idx"),
            # The same aggregates filtered by product.
            models.Index(
                fields=["product", "run_created_date", "file_type"],
                name="artifact_product_date_idx",
            ),
            # The same aggregates filtered by workflow; per-workflow size trends.
            models.Index(
                fields=["workflow", "file_type", "run_created_date"],
                name="artifact_workflow_date_idx",
            ),
            # "Largest artifacts" table.
            models.Index(fields=["-file_size"], name="artifact_size_idx"),
        ]

    def __str__(self):
        return self.file_name


class SyncRun(models.Model):
    """One pass of `sync_artifacts`: what it did, what it cost, how it ended."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        # Stopped early on purpose (budget reserve reached, SIGTERM): the next pass continues.
        PARTIAL = "partial", "Partial"
        FAILED = "failed", "Failed"

    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RUNNING)
    full = models.BooleanField(default=False)
    dry_run = models.BooleanField(default=False)
    products = models.CharField(
        max_length=500, blank=True, help_text="Product ids asked for; empty for all."
    )
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    gone = models.PositiveIntegerField(default=0)
    api_calls = models.PositiveIntegerField(default=0)
    # 429 answers among `api_calls`: a pass that meets many shares its key with busy tools.
    rate_limited_calls = models.PositiveIntegerField(default=0)
    rate_limit_remaining = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    # The process doing the pass (`host:pid`), so a pass whose process was killed can be
    # told apart from one still running.
    owner = models.CharField(max_length=200, blank=True)
    # Set by `sync_artifacts --loop` after the pass: when the loop means to start the next one.
    next_pass_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        get_latest_by = "started_at"
        indexes = [
            # /healthz: the latest pass and the latest successful one.
            models.Index(fields=["status", "-started_at"], name="syncrun_status_started_idx"),
        ]

    def __str__(self):
        return f"sync {self.started_at:%Y-%m-%d %H:%M} {self.status}"

    @property
    def duration(self):
        if self.finished_at is None:
            return None
        return self.finished_at - self.started_at


class ProductSyncState(models.Model):
    """Where the sync got to in one product's build runs, so passes are incremental and resume.

    Runs are listed newest first. The sync keeps every run numbered from
    `oldest_synced_number` to `newest_synced_number` stored as a whole (run, actions,
    artifacts). A pass first walks down from the newest run until it reaches
    `newest_synced_number`; then, until `backfill_complete`, it continues the backfill of
    older runs from `backfill_next_url` (Apple's `links.next`, kept verbatim).
    """

    product = models.OneToOneField(CiProduct, on_delete=models.PROTECT, related_name="sync_state")
    newest_synced_number = models.PositiveIntegerField(null=True, blank=True)
    oldest_synced_number = models.PositiveIntegerField(null=True, blank=True)
    backfill_next_url = models.TextField(blank=True)
    backfill_complete = models.BooleanField(default=False)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_full_sync_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "product sync state"

    def __str__(self):
        return f"sync state of {self.product}"


class SyncLock(models.Model):
    """A lease that keeps two syncs off the same work, across processes and machines.

    `key` is a product's App Store Connect id (or "*" where the database allows only one
    sync at a time). A holder renews `expires_at` as it works; a lease that has expired,
    or whose holder process is known to be dead, may be taken over.
    """

    key = models.CharField(max_length=64, unique=True)
    owner = models.CharField(max_length=200, blank=True)
    acquired_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "sync lock"

    def __str__(self):
        return f"lock {self.key}"


class ArtifactDailyTotal(models.Model):
    """Artifacts per UTC day, product, workflow and file type: what /api/v1/stats adds up.

    A rollup of `CiArtifact` kept by `artifacts_app.rollup.refresh_rollup()`, so a year of
    daily figures sums a few thousand rows instead of grouping a million. `week` (its Monday)
    and `month` (its first day) are stored so no date function runs at query time.
    """

    day = models.DateField()
    week = models.DateField()
    month = models.DateField()
    product = models.ForeignKey(CiProduct, on_delete=models.CASCADE, related_name="+")
    workflow = models.ForeignKey(
        CiWorkflow, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    file_type = models.CharField(max_length=40, blank=True)
    count = models.PositiveIntegerField()
    bytes = models.PositiveBigIntegerField()

    class Meta:
        verbose_name = "artifact daily total"
        indexes = [
            # /api/v1/stats and the dashboard: a date range, optionally one file type. Count and
            # bytes are in the index so the sums never visit the table.
            models.Index(fields=["day", "file_type", "count", "bytes"], name="daily_day_sums_idx"),
            # The same filtered by product or by workflow.
            models.Index(fields=["product", "day"], name="daily_product_day_idx"),
            models.Index(fields=["workflow", "day"], name="daily_workflow_day_idx"),
            # /metrics: all-time totals per product, workflow and type, read from the index
            # alone in its own order (no sort of the rollup at each scrape).
            models.Index(
                fields=["product", "workflow", "file_type", "count", "bytes"],
                name="daily_series_idx",
            ),
        ]

    def __str__(self):
        return f"{self.day} {self.file_type} {self.count}"


class ArtifactDailyTypeTotal(models.Model):
    """`ArtifactDailyTotal` summed over products and workflows: per UTC day and file type.

    What the unfiltered dashboard and /api/v1/stats read: a year is under two thousand rows.
    Kept by `artifacts_app.rollup.refresh_rollup()` together with `ArtifactDailyTotal`.
    """

    day = models.DateField()
    week = models.DateField()
    month = models.DateField()
    file_type = models.CharField(max_length=40, blank=True)
    count = models.PositiveIntegerField()
    bytes = models.PositiveBigIntegerField()

    class Meta:
        verbose_name = "artifact daily total by type"
        constraints = [
            # One row per day and type; also the index of every date-range read.
            models.UniqueConstraint(fields=["day", "file_type"], name="daily_type_unique"),
        ]

    def __str__(self):
        return f"{self.day} {self.file_type} {self.count}"


class ArtifactRollupState(models.Model):
    """How far `ArtifactDailyTotal` has counted: the highest `CiArtifact` id folded in."""

    last_artifact_id = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "artifact rollup state"

    def __str__(self):
        return f"rollup up to artifact {self.last_artifact_id}"


class RollupRecount(models.Model):
    """A UTC day whose daily totals must be recounted from `CiArtifact`.

    The sync writes it in the same transaction as the artifact rows that changed that day,
    and removes it once the rollup has recounted the day: the days a killed pass touched are
    recounted by the next pass, whatever kind of pass it is.
    """

    day = models.DateField(unique=True)
    # Which write marked the day last: a recount removes only the marks it has read, so a
    # day marked again meanwhile (by another worker) stays marked.
    token = models.CharField(max_length=32)

    class Meta:
        verbose_name = "daily total to recount"

    def __str__(self):
        return f"recount {self.day}"


class ArchivedArtifact(models.Model):
    """The archiver's record of one artifact: a verified copy in archive storage, or why not.

    `status` is "archived" only once the whole file is in storage under `path` with the
    byte count Apple announced and the SHA-256 recorded here; a download that failed half
    way leaves no archived record. `path` is built from App Store Connect ids, never from
    Apple's file name, which is kept in `file_name` as metadata.
    """

    class Status(models.TextChoices):
        ARCHIVED = "archived", "Archived"
        # Apple answered 404: the artifact expired upstream before it could be archived.
        LOST = "lost", "Lost upstream"
        # The last attempt failed (cut off, size mismatch, missing or changed on verify).
        FAILED = "failed", "Failed"
        # Deleted from archive storage by the retention policy.
        PRUNED = "pruned", "Pruned by retention"

    artifact = models.OneToOneField(CiArtifact, on_delete=models.PROTECT, related_name="archive")
    status = models.CharField(max_length=20, choices=Status.choices)
    path = models.CharField("storage path", max_length=500, blank=True)
    file_name = models.CharField("Apple's file name", max_length=1024, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField("SHA-256", max_length=64, blank=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    pruned_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # Times Apple answered 404: a loss is final only once it was seen again a day later.
    lost_checks = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]
        verbose_name = "archived artifact"
        indexes = [
            # archive_summary() and the archiver's "what is still to do" anti-join.
            models.Index(fields=["status"], name="archive_status_idx"),
        ]

    def __str__(self):
        return f"{self.artifact_id} {self.status}"


class ApiToken(models.Model):
    """A token a script or CI job sends as `Authorization: Bearer ...` to act as its user.

    Only the SHA-256 of the token is stored; `prefix` (its first characters, shown by
    `api_token list`) finds the row, and the hashes are then compared in constant time.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField("label", max_length=100, blank=True)
    prefix = models.CharField(max_length=16)
    token_hash = models.CharField("SHA-256 of the token", max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user__username", "created_at"]
        verbose_name = "API token"
        indexes = [
            # Every token-authenticated request looks its token up by prefix.
            models.Index(fields=["prefix"], name="apitoken_prefix_idx"),
        ]

    def __str__(self):
        return f"{self.prefix}… ({self.name or 'no label'})"


# The webhook queue and the size budgets keep their models beside their code; importing them
# here registers them with the app.
from .budgets.models import BudgetCheck, BudgetViolation, SizeBudget  # noqa: E402,F401
from .contents.models import ArtifactComponent, ArtifactContents  # noqa: E402, F401
from .webhooks.models import QueuedRun, WebhookDelivery  # noqa: E402,F401
