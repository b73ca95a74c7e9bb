"""Seekable read-only file objects for `zipfile`: a window on another file, and a file whose
bytes are fetched on demand (HTTP ranges) with a small cache.

`zipfile` reads the end of central directory, the ZIP64 records when there are any, and then
the whole central directory in one `read()`; each miss here is one fetch, so a listing costs
two or three range requests.
"""

from __future__ import annotations

import io
from collections.abc import Callable

READ_AHEAD = 16 * 1024  # a miss fetches at least this much: local headers, small entries
CACHE_CHUNKS = 8


class RangesRefused(Exception):
    """The bytes asked for were not kept and cannot be fetched (the host refuses ranges)."""


class _Readable(io.RawIOBase):
    size = 0

    def __init__(self) -> None:
        super().__init__()
        self.position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise OSError("seek before the start of the file")
        self.position = base + offset
        return self.position

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            size = self.size - self.position
        size = max(0, min(size, self.size - self.position))
        data = self._read_at(self.position, size) if size else b""
        self.position += len(data)
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _read_at(self, offset: int, size: int) -> bytes:
        raise NotImplementedError


class Window(_Readable):
    """`size` bytes of `base` from `start` on: a zip stored inside a zip, read in place."""

    def __init__(self, base, start: int, size: int) -> None:
        super().__init__()
        self.base, self.start, self.size = base, start, size

    def _read_at(self, offset: int, size: int) -> bytes:
        self.base.seek(self.start + offset)
        return self.base.read(size)


class FetchedFile(_Readable):
    """A file of `size` bytes read through `fetch(start, end)`, with `known` chunks already
    at hand ({offset: bytes}). The first chunk given is kept for good (the zip's tail)."""

    def __init__(
        self,
        size: int,
        fetch: Callable[[int, int], bytes],
        known: dict[int, bytes] | None = None,
    ) -> None:
        super().__init__()
        self.size, self.fetch = size, fetch
        self.pinned = list((known or {}).items())
        self.cache: list[tuple[int, bytes]] = []

    def _read_at(self, offset: int, size: int) -> bytes:
        for start, data in (*self.pinned, *self.cache):
            if start <= offset and offset + size <= start + len(data):
                return data[offset - start : offset - start + size]
        end = min(self.size, offset + max(size, READ_AHEAD))
        data = self.fetch(offset, end)
        self.cache = [*self.cache[-(CACHE_CHUNKS - 1) :], (offset, data)]
        return data[:size]


def refuse(start: int, end: int) -> bytes:
    raise RangesRefused(f"bytes {start}-{end} were not kept")
