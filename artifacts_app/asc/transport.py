"""What API calls and downloads share: which failures are retried, how long a ``Retry-After``
asks to wait, and a reason for a failure that holds no URL (a signed URL is a credential)."""

from __future__ import annotations

import requests

MAX_RETRY_AFTER = 60.0  # a longer Retry-After is raised to the caller instead of slept through

RETRYABLE_EXCEPTIONS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


def retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: rare enough to fall back to exponential backoff


def reason(exc: BaseException) -> str:
    """A short, secret-free reason: exception messages can embed full URLs, so use the type."""
    if isinstance(exc, requests.ConnectTimeout):
        return "connection timed out"
    if isinstance(exc, requests.ReadTimeout):
        return "read timed out"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the response was cut off"
    if isinstance(exc, requests.ConnectionError):
        return "connection failed or was reset"
    if isinstance(exc, ValueError):
        return "the response was not valid JSON"
    return type(exc).__name__
