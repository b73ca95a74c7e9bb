"""Admin views of the webhook deliveries and the queue of runs to fetch (read-only)."""

from django.contrib import admin

from ..admin_visibility import AccountScopedAdmin
from .models import QueuedRun, WebhookDelivery


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(AccountScopedAdmin):
    list_display = ["received_at", "event_type", "run_asc_id", "deliveries", "synced_at", "error"]
    list_filter = ["event_type"]
    search_fields = ["run_asc_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(QueuedRun)
class QueuedRunAdmin(AccountScopedAdmin):
    list_display = ["run_asc_id", "queued_at", "attempts", "not_before", "claimed_by", "error"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
