"""Mirror of App Store Connect's Xcode Cloud resources: products to artifacts.

Mirror rows are written only by the sync (`artifacts_app.sync`): Apple's id is the
unique key (`asc_id`), and rows that vanish upstream are kept and marked with
`gone_upstream_at`, never deleted, so history survives Apple's retention.

Apple's enums are `TextChoices` for labels and admin filters, but the columns
are plain text without database constraints: a value Apple adds later is
stored as it came.
"""

from django.db import models

from .accounts import AccountOwned


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


class MirrorModel(AccountOwned):
    """Fields every mirror of an App Store Connect resource has."""

    asc_id = models.CharField("App Store Connect id", max_length=64, unique=True)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_synced_at = models.DateTimeField(auto_now=True)
    # Set when a sync no longer finds the resource upstream; the row stays for history.
    gone_upstream_at = models.DateTimeField(null=True, blank=True)

    class Meta(AccountOwned.Meta):
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
            # The same narrowed to products: walked newest first, it stops at the page's last
            # run instead of sorting a year of them. (A workflow's runs are fewer, and such an
            # index would lure the newest-successful-run lookups off `run_workflow_number_idx`.)
            models.Index(
                fields=["product", "-created_date", "-number"], name="run_product_created_idx"
            ),
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
