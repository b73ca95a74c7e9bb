"""Open an artifact on Apple's download host as a seekable file, fetching only what is read.

The first request asks for the file's tail (`Range: bytes=-N`): a host that honours it
answers 206 with `Content-Range`, and `zipfile` then finds the central directory there or one
request further. A host that answers 200 sends the whole file: it is streamed once, keeping
only its last `STREAM_TAIL` bytes, so memory stays flat whatever the size. A URL refused as
expired is refreshed once (one API call).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable

import requests
import urllib3

from ..asc.client import AscClient
from ..asc.errors import ExpiredDownloadError
from .files import FetchedFile, refuse

TAIL = 128 * 1024
STREAM_TAIL = 16 * 1024 * 1024
CHUNK = 1024 * 1024
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")
_CUT_OFF = (requests.RequestException, urllib3.exceptions.HTTPError)


class Unreadable(Exception):
    """This attempt failed (cut off, host misbehaving); a later pass may try again."""


class RemoteZip:
    """Fetches ranges of one artifact; counts requests, bytes and URL refreshes."""

    def __init__(self, client: AscClient, fresh_url: Callable[[], str], expected_size: int | None):
        self.client = client
        self.fresh_url = fresh_url
        self.expected_size = expected_size
        self.url = fresh_url()
        self.bytes_fetched = 0
        self.requests = 0
        self.refreshes = 0
        self.streamed = False

    def open(self) -> FetchedFile:
        response = self._get(f"bytes=-{TAIL}")
        with response:
            if response.status_code != 206:
                return self._stream_tail(response)
            start, _end, total = self._content_range(response)
            data = self._body(response)
        if start + len(data) != total:
            raise Unreadable(f"download cut off after {len(data):,} bytes of the file's tail")
        return FetchedFile(total, self.fetch, {start: data})

    def fetch(self, start: int, end: int) -> bytes:
        response = self._get(f"bytes={start}-{end - 1}")
        with response:
            if response.status_code != 206:
                raise Unreadable("the download host stopped honouring range requests")
            first, _last, _total = self._content_range(response)
            data = self._body(response)
        if first != start or len(data) != end - start:
            raise Unreadable(f"download host sent {len(data):,} of {end - start:,} bytes asked")
        return data

    def _get(self, byte_range: str) -> requests.Response:
        while True:
            self.requests += 1
            try:
                return self.client.open_download(self.url, byte_range)
            except ExpiredDownloadError:
                if self.refreshes:
                    raise
                self.refreshes += 1
                self.url = self.fresh_url()

    def _content_range(self, response: requests.Response) -> tuple[int, int, int]:
        match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
        if not match:
            raise Unreadable("the download host answered 206 without a usable Content-Range")
        return int(match[1]), int(match[2]), int(match[3])

    def _body(self, response: requests.Response) -> bytes:
        try:
            data = response.raw.read(decode_content=False)
        except _CUT_OFF:
            raise Unreadable("download cut off; the next pass tries again") from None
        self.bytes_fetched += len(data)
        return data

    def _stream_tail(self, response: requests.Response) -> FetchedFile:
        """The host refused ranges: read the whole body once, keeping only its end."""
        self.streamed = True
        kept: deque[bytes] = deque()
        kept_bytes = received = 0
        try:
            for chunk in response.raw.stream(CHUNK, decode_content=False):
                received += len(chunk)
                kept.append(chunk)
                kept_bytes += len(chunk)
                while kept_bytes - len(kept[0]) >= STREAM_TAIL:
                    kept_bytes -= len(kept.popleft())
        except _CUT_OFF:
            raise Unreadable(f"download cut off after {received:,} bytes") from None
        finally:
            self.bytes_fetched += received
        announced = response.headers.get("Content-Length")
        expected = int(announced) if announced and announced.isdigit() else self.expected_size
        if expected is not None and received != expected:
            raise Unreadable(f"download sent {received:,} bytes of {expected:,}")
        return FetchedFile(received, refuse, {received - kept_bytes: b"".join(kept)})
