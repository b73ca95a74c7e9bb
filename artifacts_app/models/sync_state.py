"""Records of the sync's passes, per-product progress and leases."""

from django.db import models

from .accounts import AccountOwned, scoped_through
from .mirror import CiProduct


class SyncRun(AccountOwned):
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
            # /metrics: each account's newest pass of each outcome, and the counters summed
            # per account and outcome from this index alone (no read of the wide rows).
            models.Index(
                fields=[
                    "account",
                    "status",
                    "-started_at",
                    "dry_run",
                    "api_calls",
                    "rate_limited_calls",
                ],
                name="syncrun_account_status_idx",
            ),
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

    objects = scoped_through("product")

    class Meta:
        verbose_name = "product sync state"

    def __str__(self):
        return f"sync state of {self.product}"


class SyncLock(models.Model):
    """A lease that keeps two syncs off the same work, across processes and machines.

    `key` names the account and a product's App Store Connect id (or "*", the whole account,
    where the database allows only one sync at a time), or the account's archiver
    (`locks.sync_key`, `locks.archiver_key`). A holder renews `expires_at` as it works; a
    lease that has expired, or whose holder process is known to be dead, may be taken over.
    """

    key = models.CharField(max_length=150, unique=True)
    owner = models.CharField(max_length=200, blank=True)
    acquired_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "sync lock"

    def __str__(self):
        return f"lock {self.key}"
