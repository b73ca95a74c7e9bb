"""Encryption of secrets the database keeps (notification URLs, App Store Connect keys).

Fernet (from `cryptography`) with the keys in `FIELD_ENCRYPTION_KEY`, comma-separated: the
first encrypts, every one decrypts, so a key can be rotated. Without it a key is derived from
`SECRET_KEY`; changing `SECRET_KEY` then makes the stored secrets unreadable (they must be
entered again), which is why production should set its own key.
"""

from __future__ import annotations

import base64
import json
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


class DecryptionError(ValueError):
    """A stored secret that none of the configured keys opens, or a malformed key."""


_UNREADABLE = (
    "cannot be decrypted: FIELD_ENCRYPTION_KEY (or SECRET_KEY, when it is unset) is not the "
    "key it was stored with; put that key back in FIELD_ENCRYPTION_KEY (old keys may follow "
    "the new one, comma-separated) or store the secret again"
)


def encrypt_text(value: str) -> str:
    """One secret (a private key's PEM text) as a Fernet token; empty stays empty."""
    if not value:
        return ""
    return _fernet(_keys()).encrypt(value.encode()).decode()


def decrypt_text(token: str, what: str = "a stored secret") -> str:
    """The secret `encrypt_text` stored; `DecryptionError` (one line, naming `what` and
    FIELD_ENCRYPTION_KEY) when no configured key opens it, never an empty string instead."""
    if not token:
        return ""
    try:
        return _fernet(_keys()).decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError(f"{what} {_UNREADABLE}") from None


def check_keys() -> None:
    """Raise `DecryptionError` (one line) when FIELD_ENCRYPTION_KEY holds a malformed key."""
    _fernet(_keys())


def encrypt_list(values: list[str]) -> str:
    if not values:
        return ""
    return _fernet(_keys()).encrypt(json.dumps(values).encode()).decode()


def decrypt_list(token: str) -> list[str]:
    if not token:
        return []
    try:
        return json.loads(_fernet(_keys()).decrypt(token.encode()))
    except InvalidToken:
        raise DecryptionError(
            "a stored secret cannot be decrypted: FIELD_ENCRYPTION_KEY (or SECRET_KEY) changed; "
            "add the old key to FIELD_ENCRYPTION_KEY or enter the secret again"
        ) from None


def _keys() -> tuple[str, ...]:
    configured = tuple(k.strip() for k in settings.FIELD_ENCRYPTION_KEY.split(",") if k.strip())
    return configured or (_derived_key(settings.SECRET_KEY),)


def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return _cached_fernet(keys)
    except (ValueError, TypeError):
        raise DecryptionError(
            "FIELD_ENCRYPTION_KEY is not a list of Fernet keys (32 url-safe base64-encoded "
            'bytes each, comma-separated); make one with: python -c "from cryptography.fernet '
            'import Fernet; print(Fernet.generate_key().decode())"'
        ) from None


@cache
def _cached_fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _derived_key(secret_key: str) -> str:
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"artifacts-dashboard field key"
    ).derive(secret_key.encode())
    return base64.urlsafe_b64encode(derived).decode()
