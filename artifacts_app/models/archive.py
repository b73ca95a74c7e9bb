"""What the archiver kept of each artifact."""

from django.db import models

from .accounts import scoped_through
from .mirror import CiArtifact


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

    objects = scoped_through("artifact")

    class Meta:
        ordering = ["-updated_at"]
        verbose_name = "archived artifact"
        indexes = [
            # archive_summary() and the archiver's "what is still to do" anti-join; /metrics
            # counts and sums each state from this index alone.
            models.Index(fields=["status", "size"], name="archive_status_size_idx"),
        ]

    def __str__(self):
        return f"{self.artifact_id} {self.status}"
