"""Admin for App Store Connect accounts: the `.p8` key is uploaded, stored encrypted and never
shown again (the page says only whether one is stored, and its key id); grants to users and
groups are edited here."""

from django import forms
from django.contrib import admin
from django.db.models import OuterRef, Subquery

from ..connection import uses_settings
from ..models import Account, SyncRun
from .data import owned_counts
from .keys import BadKey, checked_pem, store_key
from .service import AccountError, encryption_ready

MAX_KEY_FILE_BYTES = 16 * 1024  # a .p8 is about 250 bytes


def _form_field(db_field, **kwargs):
    if db_field.name == "base_url":
        kwargs["assume_scheme"] = "https"  # Apple's API is https only
    return db_field.formfield(**kwargs)


class AccountForm(forms.ModelForm):
    private_key_file = forms.FileField(
        label="Private key (.p8)",
        required=False,
        help_text="The AuthKey_<KEY_ID>.p8 file from App Store Connect. It is stored "
        "encrypted and never shown again; leave empty to keep the stored key.",
    )

    class Meta:
        model = Account
        fields = ["name", "key_id", "issuer_id", "base_url", "reserve_calls", "users", "groups"]
        formfield_callback = _form_field

    def clean(self):
        data = super().clean()
        upload = data.get("private_key_file")
        self.pem = None
        if upload:
            if upload.size > MAX_KEY_FILE_BYTES:
                raise forms.ValidationError("That file is too big for a .p8 key.")
            try:
                encryption_ready()
                text = upload.read().decode("utf-8")
                self.pem = checked_pem(text, "the uploaded file")
            except UnicodeDecodeError:
                raise forms.ValidationError(
                    "The uploaded file is not a .p8 key (not text)."
                ) from None
            except (AccountError, BadKey) as exc:
                raise forms.ValidationError(str(exc)) from None
            if not data.get("key_id"):
                raise forms.ValidationError("Give the key ID that goes with the uploaded key.")
        elif self.instance.has_stored_key and (
            self.instance.key_id != data.get("key_id")
            or self.instance.issuer_id != data.get("issuer_id")
        ):
            raise forms.ValidationError(
                "A new key ID or issuer ID comes with its key: upload the .p8 file too."
            )
        return data

    def save(self, commit=True):
        account = super().save(commit=False)
        if self.pem:
            store_key(account, account.key_id, account.issuer_id, self.pem)
        if commit:
            account.save()
            self.save_m2m()
        return account


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    form = AccountForm
    list_display = ["name", "key_id", "issuer_id", "key", "api", "last_sync"]
    search_fields = ["name", "key_id"]
    filter_horizontal = ["users", "groups"]
    readonly_fields = ["key"]
    fieldsets = [
        (None, {"fields": ["name", "base_url", "reserve_calls"]}),
        ("API key", {"fields": ["key_id", "issuer_id", "key", "private_key_file"]}),
        ("Who may see its data (superusers see every account)", {"fields": ["users", "groups"]}),
    ]
    actions = None  # deleting an account with its data is `asc_account remove --delete-data`

    def get_readonly_fields(self, request, obj=None):
        # A name is in archive paths, leases and `--account`; `default` is the ASC_* key's.
        return ["name", "key"] if obj is not None else ["key"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "base_url":
            kwargs["assume_scheme"] = "https"  # Apple's API is https only
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_queryset(self, request):
        passes = SyncRun.objects.filter(account=OuterRef("pk"), dry_run=False).order_by(
            "-started_at"
        )
        return (
            super()
            .get_queryset(request)
            .visible_to(request.user)
            .annotate(
                last_sync_at=Subquery(passes.values("started_at")[:1]),
                last_sync_status=Subquery(passes.values("status")[:1]),
            )
        )

    @admin.display(description="key")
    def key(self, obj):
        if obj is None or obj.pk is None:
            return "none yet"
        if uses_settings(obj):
            return "from the ASC_* settings"
        return f"key stored (key ID {obj.key_id})" if obj.has_stored_key else "none stored"

    @admin.display(description="API base URL")
    def api(self, obj):
        return obj.base_url or "ASC_API_BASE_URL"

    @admin.display(description="last sync", ordering="last_sync_at")
    def last_sync(self, obj):
        if not obj.last_sync_at:
            return "never"
        return f"{obj.last_sync_at:%Y-%m-%d %H:%M} {obj.last_sync_status}"

    def has_delete_permission(self, request, obj=None):
        # An account with data goes with `asc_account remove NAME --delete-data`: the admin's
        # page of protected rows would list every artifact.
        if obj is not None and owned_counts(obj):
            return False
        return super().has_delete_permission(request, obj)
