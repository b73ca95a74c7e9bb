"""Where an artifact lives in archive storage: a path built from App Store Connect ids only.

Apple's file name is never part of the path (it is kept as metadata on the record): a name
such as ``../../x``, an absolute path, a NUL byte or 300 characters of unicode cannot steer
where a file is written. Ids are checked too, since they also come from the API.
"""

from __future__ import annotations

import hashlib
import re

# Kept as they are: short names of letters, digits, "-" and "_" (Apple's ids and types). No
# dot, so a ".zip" suffix is never part of an id; no "id-" prefix and no fallback word, which
# only the cases below produce. Every other value becomes "id-" and a hash of it: two values
# never share a component (up to a SHA-256 collision), so two artifacts never share a path.
_PLAIN = re.compile(r"[A-Za-z0-9_-]{1,100}")
_HASHED_PREFIX = "id-"
_FALLBACKS = frozenset({"none", "no-workflow", "UNKNOWN", "artifact"})


def safe_component(value: str | None, fallback: str = "none") -> str:
    """``value`` if it is a plain, short file name; ``fallback`` for no value; else a hash."""
    if not value:
        return fallback
    if _PLAIN.fullmatch(value) and not value.startswith(_HASHED_PREFIX) and value not in _FALLBACKS:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{_HASHED_PREFIX}{digest}"


# The account `default` keeps the paths it had before accounts; the others' start with
# "@<name>/", which no path of `default` can: "@" is in no kept component.
DEFAULT_ACCOUNT = "default"


def storage_name(
    *,
    account: str = DEFAULT_ACCOUNT,
    product_id: str,
    workflow_id: str | None,
    run_id: str,
    action_id: str,
    file_type: str | None,
    artifact_id: str,
    file_name: str = "",
) -> str:
    """``[@account/]product/workflow/run/action/TYPE/artifact[.zip]``, relative to the
    archive root: two accounts never share a path, whatever ids their teams have.

    The only thing taken from Apple's file name is whether it ends in ``.zip``, so the stored
    file opens with the right program.
    """
    leaf = safe_component(artifact_id)
    if file_name.lower().endswith(".zip"):
        leaf += ".zip"
    parts = [
        safe_component(product_id),
        safe_component(workflow_id, "no-workflow"),
        safe_component(run_id),
        safe_component(action_id),
        safe_component(file_type, "UNKNOWN"),
        leaf,
    ]
    if account != DEFAULT_ACCOUNT:
        parts.insert(0, account_folder(account))
    return "/".join(parts)


def account_folder(account: str) -> str:
    """The folder of an account's archived files: "" for `default` (the root, less the other
    accounts' folders), "@<name>" for the others."""
    return "" if account == DEFAULT_ACCOUNT else "@" + safe_component(account)


def printable(text: str, limit: int = 80) -> str:
    """Apple's text made safe for one terminal line: no control characters, bounded length."""
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def download_name(file_name: str, fallback: str) -> str:
    """Apple's file name for a `Content-Disposition`: its last path part, printable, bounded.

    Browsers also strip paths, but the name must not carry a separator, a control character
    or a NUL to any client; `fallback` stands in when nothing usable is left.
    """
    leaf = re.split(r"[/\\]", file_name or "")[-1]
    cleaned = "".join(ch for ch in leaf if ch.isprintable()).strip().lstrip(".")
    return cleaned[:200] or fallback
