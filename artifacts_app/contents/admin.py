"""Admin for inspection records: read-only, filterable by outcome (why an artifact was not read)."""

from django.contrib import admin

from ..admin import ReadOnlyAdmin
from .models import ArtifactContents


@admin.register(ArtifactContents)
class ArtifactContentsAdmin(ReadOnlyAdmin):
    list_display = [
        "artifact",
        "status",
        "source",
        "entries",
        "uncompressed_bytes",
        "bytes_fetched",
        "attempts",
        "inspected_at",
    ]
    list_filter = ["status", "source"]
    list_select_related = ["artifact"]
    search_fields = ["artifact__asc_id", "artifact__file_name"]
    exclude = ["thinning"]
