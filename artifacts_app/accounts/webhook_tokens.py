"""Each account's own webhook token: printed once, kept as a SHA-256 hash.

The receiver hashes the token in the URL and looks the hash up; a token is 32 random bytes, so
its hash needs no salt and reveals nothing. `XCODE_CLOUD_WEBHOOK_TOKEN` stays the token of the
account `default`, as before accounts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.conf import settings

from ..models import Account, default_account


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def new_token(account: Account) -> str:
    """A new token for the account, replacing its previous one (which stops working)."""
    token = secrets.token_urlsafe(32)
    account.webhook_token_hash = token_hash(token)
    account.save(update_fields=["webhook_token_hash"])
    return token


def account_for_token(token: str) -> Account | None:
    """The account a webhook token belongs to, or None for an unknown token."""
    given = token.encode("utf-8", "surrogatepass")
    # The settings' tokens, compared in constant time each, so timing tells nothing.
    if any(hmac.compare_digest(given, known.encode()) for known in settings_tokens()):
        return default_account()
    if not token:
        return None
    return Account.objects.filter(webhook_token_hash=token_hash(token)).first()


def settings_tokens() -> list[str]:
    return [token for token in settings.XCODE_CLOUD_WEBHOOK_TOKEN if token]
