"""App Store Connect accounts (one team's API key each) and who may see their data.

Every mirror row, daily total, sync record, budget and webhook delivery belongs to one
account. What a user may read is decided in one place, `Account.objects.visible_to(user)`,
and every read path goes through it: `visible_to()` on the mirror models' querysets, and the
account ids a `Scope` carries (`forms.FilterForm` fills them from the same method).
"""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models

# The account the `ASC_*` settings configure, and that data from before accounts belongs to.
DEFAULT_ACCOUNT = "default"


class AccountQuerySet(models.QuerySet):
    def visible_to(self, user) -> "AccountQuerySet":
        """The accounts `user` may see: every one for a superuser, else those granted to the
        user or to one of the user's groups; none for an anonymous or inactive user."""
        if not (user and user.is_authenticated and user.is_active):
            return self.none()
        if user.is_superuser:
            return self.all()
        granted = models.Q(users=user) | models.Q(groups__user=user)
        return self.filter(pk__in=Account.objects.filter(granted).values("pk"))


class Account(models.Model):
    """A team's App Store Connect API key and the data mirrored with it."""

    name = models.SlugField(max_length=50, unique=True)
    key_id = models.CharField("key ID", max_length=64, blank=True)
    # Empty for an individual key (its token carries `sub: user` instead of an issuer).
    issuer_id = models.CharField("issuer ID", max_length=64, blank=True)
    # The `.p8` key, encrypted (`artifacts_app.encryption`); never shown once stored.
    private_key_encrypted = models.TextField(blank=True, editable=False)
    # Empty: `ASC_API_BASE_URL`.
    base_url = models.URLField("API base URL", max_length=500, blank=True)
    # Calls of the hourly budget this account's passes leave to other tools of the same key;
    # empty: `SYNC_RESERVE_CALLS`.
    reserve_calls = models.PositiveIntegerField(null=True, blank=True)
    # SHA-256 of the account's own webhook token (`asc_account webhook-token`); empty: none.
    webhook_token_hash = models.CharField(max_length=64, blank=True, editable=False)
    # The key ("issuer:key id") of the account's last good pass. A pass with another key first
    # shows that it sees the same team's products (`sync.team`): a team's rows are its own.
    synced_key = models.CharField(max_length=140, blank=True, editable=False)
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="asc_accounts"
    )
    groups = models.ManyToManyField(Group, blank=True, related_name="asc_accounts")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AccountQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = "App Store Connect account"
        indexes = [
            # The webhook receiver finds the account a token belongs to.
            models.Index(fields=["webhook_token_hash"], name="account_webhook_token_idx"),
        ]

    def __str__(self):
        return self.name

    @property
    def has_stored_key(self) -> bool:
        return bool(self.key_id and self.private_key_encrypted)

    @property
    def hourly_reserve(self) -> int:
        """Calls of the hourly budget this account's passes leave to other tools."""
        return settings.SYNC_RESERVE_CALLS if self.reserve_calls is None else self.reserve_calls


def default_account() -> Account:
    """The account `default`, created on first use."""
    account, _ = Account.objects.get_or_create(name=DEFAULT_ACCOUNT)
    return account


class AccountScopedQuerySet(models.QuerySet):
    """Rows that belong to an account, readable only through the accounts a user may see.

    `account_path` is the lookup from the row to its account: `account` for the rows that
    carry one, a relation for those that belong to another row (an archived copy belongs to
    its artifact's account)."""

    account_path = "account"

    def visible_to(self, user):
        visible = Account.objects.visible_to(user).values("pk")
        return self.filter(**{f"{self.account_path}__in": visible})

    def of_accounts(self, account_pks):
        return self.filter(**{f"{self.account_path}__in": account_pks})


def scoped_through(path: str):
    """A manager for a model whose rows belong to the account of the row at `path`."""
    queryset = type(
        "AccountScopedQuerySet", (AccountScopedQuerySet,), {"account_path": f"{path}__account"}
    )
    return queryset.as_manager()


class AccountOwned(models.Model):
    """The account a row belongs to; `objects.visible_to(user)` is how views read them."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")

    objects = AccountScopedQuerySet.as_manager()

    class Meta:
        abstract = True
