"""HTTP `Range` for the simulator's downloads (RFC 9110): 206 with `Content-Range` for one
range (suffix ranges included), 416 for a range past the end, the whole body otherwise."""

from __future__ import annotations

import re

UNSATISFIABLE = "unsatisfiable"
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def requested_range(header: str | None, size: int) -> tuple[int, int] | str | None:
    """(start, end) with `end` exclusive, `UNSATISFIABLE`, or None for the whole body.

    A header that is not one plain byte range (several ranges, other units) is ignored, as
    the RFC allows: the whole body is sent with 200.
    """
    match = _RANGE.fullmatch((header or "").strip())
    if not match or match[1] == match[2] == "":
        return None
    first, last = match[1], match[2]
    if first == "":  # a suffix: the last N bytes
        length = int(last)
        return (max(0, size - length), size) if length and size else UNSATISFIABLE
    start = int(first)
    if start >= size:
        return UNSATISFIABLE
    end = size if last == "" else int(last) + 1
    if end <= start:
        return None
    return start, min(end, size)
