"""The daily totals the dashboard reads, and the days still to recount."""

from django.db import models

from .accounts import AccountOwned
from .mirror import CiProduct, CiWorkflow


class ArtifactDailyTotal(AccountOwned):
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
    # The biggest artifact's size: the days and groups that can hold the largest artifacts of
    # a range (`stats.largest_artifacts`), found without sorting the artifacts.
    largest = models.PositiveBigIntegerField(default=0)

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


class ArtifactDailyTypeTotal(AccountOwned):
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
    largest = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = "artifact daily total by type"
        constraints = [
            # One row per day and type; also the index of every date-range read.
            models.UniqueConstraint(
                fields=["account", "day", "file_type"], name="daily_type_unique"
            ),
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
