"""Adding, changing and granting accounts: what `asc_account` and the admin both call.

Every failure is an `AccountError` whose message is one line that never holds key text.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_slug

from ..encryption import DecryptionError, check_keys
from ..models import Account
from .keys import BadKey, checked_pem, store_key

# The key `settings.py` falls back to under DEBUG: public, so no secret may be derived from it.
DEVELOPMENT_SECRET_KEY = "insecure-local-development-key-do-not-use-in-production"  # noqa: S105


class AccountError(ValueError):
    """A request `asc_account` or the admin cannot carry out (one line, what to do)."""


def add_account(
    name: str,
    *,
    key_id: str,
    issuer_id: str = "",
    pem: str,
    base_url: str = "",
    reserve_calls: int | None = None,
    source: str = "the private key",
) -> Account:
    """A new account with its key; `default` may be given a key while it has none."""
    name = _checked_name(name)
    existing = Account.objects.filter(name=name).first()
    if existing is not None and existing.has_stored_key:
        raise AccountError(
            f"account {name} exists already (key {existing.key_id}): change it with "
            f"`asc_account update {name}`, or remove it first"
        )
    account = existing or Account(name=name)
    _set_key(account, key_id, issuer_id, pem, source)
    account.base_url = _checked_url(base_url)
    account.reserve_calls = _checked_reserve(reserve_calls)
    account.save()
    return account


def update_account(
    account: Account,
    *,
    key_id: str | None = None,
    issuer_id: str | None = None,
    pem: str | None = None,
    base_url: str | None = None,
    reserve_calls: int | None = None,
    source: str = "the private key",
) -> Account:
    """Change what is given; a new key id or issuer needs the key too (they go together)."""
    if pem is not None:
        _set_key(
            account,
            account.key_id if key_id is None else key_id,
            account.issuer_id if issuer_id is None else issuer_id,
            pem,
            source,
        )
    elif key_id is not None or issuer_id is not None:
        raise AccountError(
            "a new --key-id or --issuer-id comes with its key: add --private-key-path or "
            "--private-key-stdin"
        )
    if base_url is not None:
        account.base_url = _checked_url(base_url)
    if reserve_calls is not None:
        account.reserve_calls = _checked_reserve(reserve_calls)
    account.save()
    return account


def account_named(name: str) -> Account:
    found = Account.objects.filter(name=name).first()
    if found is None:
        known = ", ".join(Account.objects.values_list("name", flat=True)) or "none yet"
        raise AccountError(f"no account named {name!r}; known accounts: {known}")
    return found


def grant(account: Account, username: str) -> bool:
    """Let the user see the account's data; False when the user could already."""
    user = _user(username)
    if account.users.filter(pk=user.pk).exists():
        return False
    account.users.add(user)
    return True


def revoke(account: Account, username: str) -> bool:
    """Take the user's own grant away; False when there was none. A group's grant stays."""
    user = _user(username)
    if not account.users.filter(pk=user.pk).exists():
        return False
    account.users.remove(user)
    return True


def encryption_ready() -> None:
    """Refuse to store a key that no real secret would protect, or under a malformed key."""
    if not settings.FIELD_ENCRYPTION_KEY and settings.SECRET_KEY == DEVELOPMENT_SECRET_KEY:
        raise AccountError(
            "FIELD_ENCRYPTION_KEY is not set and SECRET_KEY is the public development key: set "
            "FIELD_ENCRYPTION_KEY in .env before storing a private key"
        )
    try:
        check_keys()
    except DecryptionError as exc:
        raise AccountError(str(exc)) from None


def _set_key(account: Account, key_id: str, issuer_id: str, pem: str, source: str) -> None:
    encryption_ready()
    try:
        store_key(account, key_id, issuer_id, checked_pem(pem, source))
    except BadKey as exc:
        raise AccountError(str(exc)) from None


def _checked_name(name: str) -> str:
    try:
        validate_slug(name)
    except ValidationError:
        raise AccountError(
            f"account name {name!r} is not usable: letters, digits, '-' and '_' only"
        ) from None
    if len(name) > Account._meta.get_field("name").max_length:
        raise AccountError(f"account name {name!r} is longer than 50 characters")
    return name


def _checked_url(url: str) -> str:
    url = (url or "").strip().rstrip("/")
    if not url:
        return ""
    try:
        URLValidator(schemes=["https", "http"])(url)
    except ValidationError:
        raise AccountError(
            f"--base-url {url!r} is not an http(s) URL, e.g. https://api.appstoreconnect.apple.com"
        ) from None
    return url


def _checked_reserve(reserve_calls: int | None) -> int | None:
    if reserve_calls is not None and reserve_calls < 0:
        raise AccountError("--reserve-calls must be 0 or more")
    return reserve_calls


def _user(username: str):
    try:
        return get_user_model().objects.get(username=username)
    except get_user_model().DoesNotExist:
        raise AccountError(
            f"no user {username!r}; create one with `manage.py createsuperuser` or the admin"
        ) from None
