"""Typed errors for App Store Connect calls.

Each error's ``str()`` is one line that says what went wrong and what to do about it.
It never contains a token, a private key or a signed download URL.
"""

from __future__ import annotations

from typing import Any


class AscError(Exception):
    """Base class: something App Store Connect (or the way to it) refused or failed."""

    default_hint = ""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class ConfigurationError(AscError):
    """The API key settings are missing, unreadable or malformed."""


class AuthenticationError(AscError):
    default_hint = "check ASC_KEY_ID/ASC_ISSUER_ID and that the clock is right"


class ForbiddenError(AscError):
    default_hint = "the API key's role does not allow this; use a key with Developer access or more"


class NotFoundError(AscError):
    default_hint = "it was deleted or has expired upstream"


class ParameterError(AscError):
    default_hint = "the request was malformed; this is a bug in the client"


class RateLimitError(AscError):
    default_hint = "the rate limit is reached (an hourly budget per key); wait and resume later"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(AscError):
    default_hint = "App Store Connect is failing; try again later"


class TransportError(AscError):
    """The host could not be reached, timed out, or sent a truncated or unreadable body."""


class ForeignLinkError(AscError):
    """A link to follow with the token (``links.next``, a stored cursor) names another host."""


class ExpiredDownloadError(AscError):
    default_hint = "the signed download URL has expired; fetch the artifact again for a fresh one"


_BY_STATUS: dict[int, type[AscError]] = {
    400: ParameterError,
    401: AuthenticationError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ParameterError,
    429: RateLimitError,
}


def error_from_response(
    status: int, document: Any, *, retry_after: float | None = None
) -> AscError:
    """Turn an HTTP status and Apple's error document (if any) into a typed error."""
    first = _first_error(document)
    code = first.get("code") or None
    detail = first.get("detail") or first.get("title") or ""
    parameter = (first.get("source") or {}).get("parameter")
    if parameter and parameter not in detail:
        detail = f"{detail} ({parameter})"
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else AscError)
    label = f"{status} {code}" if code else f"HTTP {status}"
    parts = [label]
    if detail:
        parts.append(_one_line(detail))
    if cls.default_hint:
        parts.append(cls.default_hint)
    message = ": ".join(parts)
    if cls is RateLimitError:
        return RateLimitError(message, retry_after=retry_after, status=status, code=code)
    return cls(message, status=status, code=code)


def _first_error(document: Any) -> dict[str, Any]:
    if isinstance(document, dict):
        errors = document.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return errors[0]
    return {}


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split()).rstrip(".")
    return text if len(text) <= limit else text[: limit - 1] + "…"
