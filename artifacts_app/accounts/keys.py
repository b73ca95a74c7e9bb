"""An account's `.p8` private key: read, checked with `cryptography`, stored encrypted."""

from __future__ import annotations

from pathlib import Path

from ..asc.auth import load_private_key
from ..asc.errors import ConfigurationError
from ..encryption import encrypt_text
from ..models import Account


class BadKey(ValueError):
    """A key that cannot be read or is not an App Store Connect key (one line, no key text)."""


def read_key_file(path: str) -> str:
    """The PEM text of a `.p8` file; `BadKey` naming the file when it cannot be read."""
    try:
        return Path(path).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not a text file"
        raise BadKey(f"cannot read the private key file {path}: {reason}") from None


def checked_pem(text: str, source: str) -> str:
    """The PEM text, once `cryptography` loads it as an EC P-256 key (else `BadKey`)."""
    pem = (text or "").replace("\\n", "\n").strip()
    try:
        load_private_key(pem, source)
    except ConfigurationError as exc:
        raise BadKey(str(exc)) from None
    return pem + "\n"


def store_key(account: Account, key_id: str, issuer_id: str, pem: str) -> None:
    """Keep the key on the account, encrypted; the caller saves the account."""
    key_id = (key_id or "").strip()
    if not key_id:
        raise BadKey("--key-id is empty: copy the Key ID shown next to the key")
    account.key_id = key_id
    account.issuer_id = (issuer_id or "").strip()
    account.private_key_encrypted = encrypt_text(pem)
