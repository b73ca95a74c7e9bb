"""What Xcode Cloud told us (one row per run and event type) and the runs still to fetch."""

from django.db import models

from ..models.accounts import AccountOwned


class WebhookDelivery(AccountOwned):
    """One event Xcode Cloud delivered about a build run.

    Apple retries a delivery until it gets a success, so (run, event type) is unique and a
    redelivery only counts itself in `deliveries`. Nothing in the payload is kept but the
    run's id and the event type: the run itself is read from the API. `synced_at` (or
    `error`) tells what came of it.
    """

    run_asc_id = models.CharField("build run id", max_length=64)
    event_type = models.CharField(max_length=40)
    received_at = models.DateTimeField(auto_now_add=True)
    deliveries = models.PositiveIntegerField(default=1)
    synced_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["run_asc_id", "event_type"], name="webhook_run_event_unique"
            ),
        ]
        indexes = [
            # /metrics: deliveries summed per event type, read from the index alone.
            models.Index(fields=["event_type", "deliveries"], name="webhook_event_idx"),
        ]

    def __str__(self):
        return f"{self.event_type} {self.run_asc_id}"


class QueuedRun(AccountOwned):
    """A build run to fetch from the API, one row per run however many events named it.

    A worker claims the row (`claimed_until`) inside a `SELECT ... FOR UPDATE SKIP LOCKED`,
    so two workers never take the same run; a claim whose worker died expires. A delivery
    arriving while the run is being fetched moves `queued_at`, and the worker then leaves the
    row queued instead of deleting it, so the newer state is fetched too. A failed fetch waits
    until `not_before` (backoff).
    """

    run_asc_id = models.CharField("build run id", max_length=64, unique=True)
    queued_at = models.DateTimeField()
    not_before = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["queued_at"]
        verbose_name = "queued run"

    def __str__(self):
        return self.run_asc_id
