"""Admin for the mirror rows and sync history.

Mirror rows are read-only: the next sync would overwrite any edit, so the admin
only lets people look, search and filter.
"""

from django.contrib import admin, messages

from .models import (
    ArchivedArtifact,
    CiArtifact,
    CiBuildAction,
    CiBuildRun,
    CiProduct,
    CiWorkflow,
    SyncRun,
)
from .units import format_bytes


class ReadOnlyAdmin(admin.ModelAdmin):
    """Viewing only: rows are written by the sync, never by hand."""

    list_per_page = 50
    show_full_result_count = False  # a COUNT(*) over a million artifacts on every page is waste

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CiProduct)
class CiProductAdmin(ReadOnlyAdmin):
    list_display = ["name", "product_type", "asc_id", "created_date", "gone_upstream_at"]
    list_filter = ["product_type"]
    search_fields = ["name", "asc_id"]


@admin.register(CiWorkflow)
class CiWorkflowAdmin(ReadOnlyAdmin):
    list_display = ["name", "product", "is_enabled", "last_modified_date", "gone_upstream_at"]
    list_filter = ["product", "is_enabled"]
    list_select_related = ["product"]
    search_fields = ["name", "asc_id"]


@admin.register(CiBuildRun)
class CiBuildRunAdmin(ReadOnlyAdmin):
    list_display = [
        "number",
        "workflow",
        "product",
        "created_date",
        "execution_progress",
        "completion_status",
        "source_ref_name",
        "short_sha",
    ]
    list_filter = ["execution_progress", "completion_status", "product", "workflow"]
    list_select_related = ["workflow", "product"]
    search_fields = ["asc_id", "source_commit_sha", "source_ref_name", "=number"]
    date_hierarchy = "created_date"

    @admin.display(description="commit")
    def short_sha(self, obj):
        return obj.source_commit_sha[:8]


@admin.register(CiBuildAction)
class CiBuildActionAdmin(ReadOnlyAdmin):
    list_display = [
        "name",
        "action_type",
        "build_run",
        "execution_progress",
        "completion_status",
        "started_date",
    ]
    list_filter = ["action_type", "execution_progress", "completion_status"]
    list_select_related = ["build_run"]
    search_fields = ["name", "asc_id", "build_run__asc_id"]
    date_hierarchy = "started_date"


@admin.register(CiArtifact)
class CiArtifactAdmin(ReadOnlyAdmin):
    list_display = [
        "file_name",
        "file_type",
        "size",
        "build_run",
        "workflow",
        "product",
        "run_created_date",
        "gone_upstream_at",
    ]
    list_filter = ["file_type", "product", "workflow"]
    list_select_related = ["build_run", "workflow", "product"]
    search_fields = ["file_name", "asc_id", "build_run__source_commit_sha"]
    date_hierarchy = "run_created_date"

    @admin.display(description="size", ordering="file_size")
    def size(self, obj):
        return format_bytes(obj.file_size)

    actions = ["archive_selected"]

    @admin.action(description="Archive selected", permissions=["archive"])
    def archive_selected(self, request, queryset):
        """Download the selected artifacts into the archive, within this request; bigger jobs
        belong to the archive_artifacts command."""
        from .archive import ADMIN_MAX_BYTES, Selection, archive_artifacts, plan

        selection = Selection(artifact_pks=tuple(queryset.values_list("pk", flat=True)))
        size = plan(selection).bytes
        if size > ADMIN_MAX_BYTES:
            self.message_user(
                request,
                f"The selection still to archive is {format_bytes(size)}, more than the admin "
                f"downloads in one request ({format_bytes(ADMIN_MAX_BYTES)}): run "
                "`python manage.py archive_artifacts` with filters instead.",
                messages.ERROR,
            )
            return
        report = archive_artifacts(selection)
        for line in report.problems[:10]:
            self.message_user(request, line, messages.WARNING)
        if report.fatal:
            self.message_user(request, report.fatal, messages.ERROR)
        if not report.started:
            return
        level = messages.SUCCESS if report.ok else messages.WARNING
        summary = report.summary()
        self.message_user(request, summary[:1].upper() + summary[1:], level)

    def has_archive_permission(self, request):
        return request.user.has_perm("artifacts_app.add_archivedartifact")


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = [
        "started_at",
        "status",
        "duration",
        "created",
        "updated",
        "unchanged",
        "gone",
        "api_calls",
        "rate_limit_remaining",
    ]
    list_filter = ["status", "full"]
    date_hierarchy = "started_at"


@admin.register(ArchivedArtifact)
class ArchivedArtifactAdmin(ReadOnlyAdmin):
    list_display = ["artifact", "status", "stored_size", "archived_at", "verified_at", "path"]
    list_filter = ["status"]
    list_select_related = ["artifact"]
    search_fields = ["artifact__asc_id", "file_name", "sha256", "path"]
    date_hierarchy = "archived_at"

    @admin.display(description="size", ordering="size")
    def stored_size(self, obj):
        return format_bytes(obj.size)


# Budgets and webhooks register their own admin classes.
from .budgets import admin as budgets_admin  # noqa: E402,F401
from .contents import admin as contents_admin  # noqa: E402, F401  (registers its model)
from .webhooks import admin as webhooks_admin  # noqa: E402,F401
