"""What API calls and downloads share: the session and its bearer auth, which failures are
retried, how long a ``Retry-After`` asks to wait, and a reason for a failure that holds no
URL (a signed URL is a credential)."""

from __future__ import annotations

import os

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


class BearerAuth(requests.auth.AuthBase):
    """The token as request auth, so an entry in ~/.netrc cannot take its place."""

    def __init__(self, token: str):
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request


def own_session(base_url: str) -> requests.Session:
    """A session that reads the proxy and CA settings from the environment once, here:
    left to requests, they are read again on every call, a cost that adds up over 30,000."""
    session = requests.Session()
    session.trust_env = False
    session.proxies.update(requests.utils.get_environ_proxies(base_url))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    return session
