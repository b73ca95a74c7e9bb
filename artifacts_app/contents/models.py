"""What is inside an artifact: its listing summed per component, and how it was read."""

from django.db import models

from ..models.accounts import scoped_through


class ArtifactContents(models.Model):
    """The inspection of one zip artifact: totals, where they were read from, or why not.

    `status` "inspected" carries components; "not_zip" and "gone" are final (never read
    again); "failed" is tried again by a later pass, up to `MAX_ATTEMPTS` times.
    """

    class Status(models.TextChoices):
        INSPECTED = "inspected", "Inspected"
        NOT_ZIP = "not_zip", "Not a zip"
        GONE = "gone", "Gone upstream"
        FAILED = "failed", "Failed"

    class Source(models.TextChoices):
        RANGES = "ranges", "HTTP range requests"
        STREAM = "stream", "a streamed download (the host refused ranges)"
        ARCHIVE = "archive", "the archived copy"

    artifact = models.OneToOneField(
        "artifacts_app.CiArtifact", on_delete=models.CASCADE, related_name="contents"
    )
    status = models.CharField(max_length=20, choices=Status.choices)
    source = models.CharField(max_length=20, choices=Source.choices, blank=True)
    inspected_at = models.DateTimeField()
    entries = models.PositiveIntegerField(default=0)
    uncompressed_bytes = models.PositiveBigIntegerField(default=0)
    compressed_bytes = models.PositiveBigIntegerField(default=0)
    bytes_fetched = models.PositiveBigIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    notes = models.TextField(blank=True, help_text="What was skipped, one line each.")
    # Apple's App Thinning Size Report, one dict per device variant (see contents.thinning).
    thinning = models.JSONField(default=list, blank=True)

    objects = scoped_through("artifact")

    class Meta:
        verbose_name = "artifact contents"
        verbose_name_plural = "artifact contents"
        indexes = [
            # inspect_artifacts: "which artifacts still need reading" excludes by status.
            models.Index(fields=["status"], name="contents_status_idx"),
        ]

    def __str__(self):
        return f"contents of {self.artifact_id} ({self.status})"


class ArtifactComponent(models.Model):
    """One component of an inspected artifact (a framework, the asset catalog, ...)."""

    contents = models.ForeignKey(
        ArtifactContents, on_delete=models.CASCADE, related_name="components"
    )
    # Text from the zip, never a path: it may hold "../", a leading "/" or any unicode.
    name = models.TextField()
    kind = models.CharField(max_length=20)
    entries = models.PositiveIntegerField()
    uncompressed_bytes = models.PositiveBigIntegerField()
    compressed_bytes = models.PositiveBigIntegerField()

    objects = scoped_through("contents__artifact")

    class Meta:
        ordering = ["-uncompressed_bytes", "name"]
        indexes = [
            # A workflow's top components over time: one artifact's rows, largest first.
            models.Index(
                fields=["contents", "-uncompressed_bytes"], name="component_contents_size_idx"
            ),
        ]

    def __str__(self):
        return self.name
