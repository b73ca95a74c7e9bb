"""Artifact downloads from pre-signed URLs: streamed, retried, and never sent a credential."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from . import transport
from .errors import ExpiredDownloadError, NotFoundError, TransportError, error_from_response

if TYPE_CHECKING:
    from .client import AscClient


class DownloadSession(requests.Session):
    """Sends no Authorization header at all, whether from ~/.netrc or after a redirect:
    a pre-signed URL is its own credential, and a second one gets the download refused."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        request.headers.pop("Authorization", None)
        return super().send(request, **kwargs)


def open_download(client: AscClient, url: str, byte_range: str | None = None) -> requests.Response:
    """Start streaming a pre-signed download. The caller reads and closes the response.

    No Authorization header is sent. Connection failures and 5xx are retried; 403 means
    the URL expired (ExpiredDownloadError), 404 that the artifact is gone upstream.
    `byte_range` (``"bytes=-65536"``) asks for part of the file: the answer is 206 when
    the host honours it, 200 with the whole file when it does not.
    """
    headers = {"Range": byte_range} if byte_range else None
    attempt = 0
    host = _host_or_none(url)
    if host is None:
        raise TransportError("App Store Connect gave a download URL that is not a URL")
    while True:
        attempt += 1
        client.downloads += 1
        try:
            response = client.download_session.get(
                url, stream=True, timeout=client.timeout, headers=headers
            )
        except requests.RequestException as exc:
            # Never the exception's text: requests puts the whole signed URL in it.
            if not isinstance(exc, transport.RETRYABLE_EXCEPTIONS):
                raise TransportError(
                    f"cannot download from {host or 'the download URL'}: {transport.reason(exc)}"
                ) from None
            if attempt >= client.max_attempts:
                raise TransportError(
                    f"cannot reach {host}: {transport.reason(exc)} (download, {attempt} attempts)"
                ) from None
            client.wait_before_retry(attempt)
            continue
        if response.ok:
            return response
        status = response.status_code
        response.close()
        if status == 403:
            raise ExpiredDownloadError(
                f"403 download refused: {ExpiredDownloadError.default_hint}", status=403
            )
        if status == 404:
            raise NotFoundError(
                "404 download not found: the artifact has expired upstream", status=404
            )
        retry_after = transport.retry_after(response)
        if (
            (status >= 500 or status == 429)
            and attempt < client.max_attempts
            and (retry_after is None or retry_after <= transport.MAX_RETRY_AFTER)
        ):
            client.wait_before_retry(attempt, retry_after)
            continue
        raise error_from_response(status, None, retry_after=retry_after)


def _host_or_none(url: str) -> str | None:
    try:
        return urlsplit(url).netloc
    except ValueError:
        return None
