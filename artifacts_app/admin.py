"""Admin for the mirror rows and sync history.

Mirror rows are read-only: the next sync would overwrite any edit, so the admin
only lets people look, search and filter.
"""

from django.contrib import admin, messages

from .admin_visibility import AccountScopedAdmin, visible_rows
from .models import (
    ApiToken,
    ArchivedArtifact,
    CiArtifact,
    CiBuildAction,
    CiBuildRun,
    CiProduct,
    CiWorkflow,
    SyncRun,
)
from .units import format_bytes, format_duration


def short_datetime(value):
    """'2026-11-30 17:12' (UTC): one line in a list column, unlike Django's long format."""
    return f"{value:%Y-%m-%d %H:%M}" if value else "—"


class WorkflowFilter(admin.RelatedFieldListFilter):
    """Workflows as "Product · Workflow", in one query: products share workflow names."""

    def field_choices(self, field, request, model_admin):
        workflows = visible_rows(CiWorkflow, request.user).select_related("product")
        workflows = workflows.order_by("product__name", "name")
        return [(workflow.pk, str(workflow)) for workflow in workflows]


class ReadOnlyAdmin(AccountScopedAdmin):
    """Viewing only: rows are written by the sync, never by hand; each user sees the rows of
    the accounts granted to them."""

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
    # The workflow column names the product too; fewer, compact columns fit a laptop screen.
    list_display = ["number", "workflow", "created", "status", "source_ref_name", "short_sha"]
    list_filter = [
        "execution_progress",
        "completion_status",
        "product",
        ("workflow", WorkflowFilter),
    ]
    list_select_related = ["workflow__product"]
    search_fields = ["asc_id", "source_commit_sha", "source_ref_name", "=number"]
    date_hierarchy = "created_date"

    @admin.display(description="created", ordering="created_date")
    def created(self, obj):
        return short_datetime(obj.created_date)

    @admin.display(description="status", ordering="completion_status")
    def status(self, obj):
        return obj.status_label

    @admin.display(description="commit")
    def short_sha(self, obj):
        return obj.source_commit_sha[:8]


@admin.register(CiBuildAction)
class CiBuildActionAdmin(ReadOnlyAdmin):
    list_display = ["name", "action_type", "build_run", "status", "started"]
    list_filter = ["action_type", "execution_progress", "completion_status"]
    list_select_related = ["build_run"]
    search_fields = ["name", "asc_id", "build_run__asc_id"]
    date_hierarchy = "started_date"

    @admin.display(description="started", ordering="started_date")
    def started(self, obj):
        return short_datetime(obj.started_date)

    @admin.display(description="status", ordering="completion_status")
    def status(self, obj):
        return obj.status_label


@admin.register(CiArtifact)
class CiArtifactAdmin(ReadOnlyAdmin):
    list_display = ["file_name", "file_type", "size", "build_run", "workflow", "created", "gone"]
    list_filter = ["file_type", "product", ("workflow", WorkflowFilter)]
    list_select_related = ["build_run", "workflow__product"]
    search_fields = ["file_name", "asc_id", "build_run__source_commit_sha"]
    date_hierarchy = "run_created_date"

    @admin.display(description="run created", ordering="run_created_date")
    def created(self, obj):
        return short_datetime(obj.run_created_date)

    @admin.display(description="gone", ordering="gone_upstream_at")
    def gone(self, obj):
        """The day Apple no longer had it; empty (a dash) while it still has."""
        return f"{obj.gone_upstream_at:%Y-%m-%d}" if obj.gone_upstream_at else None

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
        "started",
        "status",
        "took",
        "created",
        "updated",
        "unchanged",
        "gone",
        "api_calls",
        "rate_limit_remaining",
    ]
    list_filter = ["status", "full"]
    date_hierarchy = "started_at"

    @admin.display(description="started", ordering="started_at")
    def started(self, obj):
        return short_datetime(obj.started_at)

    @admin.display(description="duration")
    def took(self, obj):
        return format_duration(obj.duration)


@admin.register(ArchivedArtifact)
class ArchivedArtifactAdmin(ReadOnlyAdmin):
    list_display = ["artifact", "status", "stored_size", "archived", "verified", "path"]
    list_filter = ["status"]
    list_select_related = ["artifact"]
    search_fields = ["artifact__asc_id", "file_name", "sha256", "path"]
    date_hierarchy = "archived_at"

    @admin.display(description="size", ordering="size")
    def stored_size(self, obj):
        return format_bytes(obj.size)

    @admin.display(description="archived", ordering="archived_at")
    def archived(self, obj):
        return short_datetime(obj.archived_at)

    @admin.display(description="verified", ordering="verified_at")
    def verified(self, obj):
        return short_datetime(obj.verified_at)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens can be looked at and revoked (deleted) here; `api_token create` makes them, as
    only the command can show a new token once."""

    list_display = ["prefix", "user", "name", "created_at", "last_used_at"]
    list_select_related = ["user"]
    search_fields = ["prefix", "name", "user__username"]
    fields = ["prefix", "user", "name", "created_at", "last_used_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# Accounts, budgets and webhooks register their own admin classes.
from .accounts import admin as accounts_admin  # noqa: E402,F401
from .budgets import admin as budgets_admin  # noqa: E402,F401
from .contents import admin as contents_admin  # noqa: E402, F401  (registers its model)
from .webhooks import admin as webhooks_admin  # noqa: E402,F401
