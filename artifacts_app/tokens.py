"""API tokens: what scripts and CI send as `Authorization: Bearer <token>`.

A token is `xcd_` and 43 random URL-safe characters, shown once when created. The database
keeps its SHA-256 (a fast hash is enough for 256 random bits) and its first 12 characters,
which identify it in listings and find its row; the hashes are compared in constant time.
A token acts as its user on `/api/v1/*` and `/export.csv` only (see `middleware.py`).
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.utils import timezone

from .models import ApiToken

TOKEN_MARK = "xcd_"  # noqa: S105 (marks our tokens in secret scanners; not a secret)
PREFIX_LENGTH = 12
# Recording every use would write on every request; once a minute says enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenError(ValueError):
    """A token that cannot be revoked as asked; the message says what to give instead."""


def create_token(user, name: str = "") -> tuple[ApiToken, str]:
    """A new token for `user`: the stored row and the token itself (not kept anywhere)."""
    token = TOKEN_MARK + secrets.token_urlsafe(32)
    row = ApiToken.objects.create(
        user=user, name=name, prefix=token[:PREFIX_LENGTH], token_hash=_hash(token)
    )
    return row, token


def user_for_token(token: str):
    """The active user `token` belongs to, or None."""
    if not token.startswith(TOKEN_MARK) or len(token) > 200:
        return None
    digest = _hash(token)
    candidates = ApiToken.objects.filter(prefix=token[:PREFIX_LENGTH]).select_related("user")
    match = None
    for row in candidates:  # one row, bar a prefix collision
        if hmac.compare_digest(row.token_hash, digest):
            match = row
    if match is None or not match.user.is_active:
        return None
    now = timezone.now()
    if match.last_used_at is None or now - match.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=match.pk).update(last_used_at=now)
    return match.user


def revoke_token(prefix_or_label: str) -> ApiToken:
    """Delete the one token whose prefix, whole text or label is `prefix_or_label`."""
    value = prefix_or_label.strip()
    if len(value) == PREFIX_LENGTH:
        matches = list(ApiToken.objects.filter(prefix=value))
    else:
        matches = list(ApiToken.objects.filter(token_hash=_hash(value)))
    if not matches:
        matches = list(ApiToken.objects.filter(name=value))
    if not matches:
        raise TokenError(f"no token has the prefix or label {value[:40]!r}; see `api_token list`")
    if len(matches) > 1:
        raise TokenError(
            f"{len(matches)} tokens match {value[:40]!r}; give the prefix `api_token list` shows"
        )
    matches[0].delete()
    return matches[0]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
