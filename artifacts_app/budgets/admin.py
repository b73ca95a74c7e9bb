"""Admin for size budgets and their violations.

Notification URLs are write-only here: the form takes new ones and shows the stored ones
masked, so a token never reaches a page.
"""

from django import forms
from django.contrib import admin
from django.utils import timezone

from ..admin_visibility import AccountScopedAdmin
from ..models import default_account
from ..units import format_bytes
from .models import BudgetViolation, SizeBudget
from .notify import mask
from .rules import BudgetError, check_file_type, check_scope, check_urls, describe


class SizeBudgetForm(forms.ModelForm):
    new_notify_urls = forms.CharField(
        label="Notify (Apprise URLs)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line (slack://…, msteams://…, mailtos://…, json://…). Leave empty "
        "to keep the stored ones; a single - removes them.",
    )

    class Meta:
        model = SizeBudget
        fields = [
            "account",
            "name",
            "max_bytes",
            "max_growth_percent",
            "product_asc_id",
            "workflow_asc_id",
            "branch",
            "file_type",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # One-team installs never choose: an empty account is the `default` one (see save).
        self.fields["account"].required = False
        self.fields["account"].help_text = "Whose runs it watches. Empty: the account default."

    def clean(self):
        data = super().clean()
        try:
            data["file_type"] = check_file_type(data.get("file_type", ""))
            check_scope(
                data.get("product_asc_id", ""),
                data.get("workflow_asc_id", ""),
                account=data.get("account"),
            )
            text = data.get("new_notify_urls", "").strip()
            data["urls"] = None if not text else [] if text == "-" else check_urls(text.split())
        except BudgetError as exc:
            raise forms.ValidationError(str(exc)) from None
        return data

    def save(self, commit=True):
        if self.cleaned_data["urls"] is not None:
            self.instance.notify_urls = self.cleaned_data["urls"]
        if self.instance.account_id is None:
            self.instance.account = default_account()
        return super().save(commit)


@admin.register(SizeBudget)
class SizeBudgetAdmin(AccountScopedAdmin):
    form = SizeBudgetForm
    list_display = ["name", "summary", "created_at"]
    readonly_fields = ["notify_targets", "created_at"]
    search_fields = ["name"]

    @admin.display(description="rule")
    def summary(self, obj):
        return describe(obj).removeprefix(obj.name).strip()

    @admin.display(description="notifies")
    def notify_targets(self, obj):
        try:
            return ", ".join(mask(url) for url in obj.notify_urls) or "nobody"
        except ValueError as exc:
            return str(exc)


@admin.register(BudgetViolation)
class BudgetViolationAdmin(AccountScopedAdmin):
    list_display = [
        "created_at",
        "budget_name",
        "run",
        "file_type",
        "size",
        "limit",
        "notified_at",
        "delivery_attempts",
        "delivery_error",
        "acknowledged_at",
    ]
    list_filter = ["budget_name", "acknowledged_at", "notified_at"]
    list_select_related = ["run"]
    actions = ["retry_now", "acknowledge"]
    exclude = ["delivered_to", "claimed_until"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="size", ordering="bytes")
    def size(self, obj):
        return format_bytes(obj.bytes)

    @admin.display(description="limit", ordering="limit_bytes")
    def limit(self, obj):
        return format_bytes(obj.limit_bytes)

    @admin.action(description="Retry the alert now")
    def retry_now(self, request, queryset):
        queryset.filter(notified_at=None).update(next_attempt_at=timezone.now())

    @admin.action(description="Acknowledge")
    def acknowledge(self, request, queryset):
        queryset.filter(acknowledged_at=None).update(
            acknowledged_at=timezone.now(), acknowledged_by=request.user
        )
