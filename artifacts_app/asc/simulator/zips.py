"""Zip files of an exact size, generated lazily: bodies with a `size`, a `crc` and `read()`.

A body is a tree of parts: literal bytes (headers, small deflated files), a block repeated to
any length (the big binaries), or a concatenation of parts (a whole zip, itself usable as an
entry of another zip: an `.ipa` inside an export). Nothing is held in memory but headers and
blocks of a few KiB, so a 5 GiB archive costs what a 5 KiB one does. Each part knows its
CRC-32 without reading itself: a repeated block's CRC is folded from the block's own with
zlib's `crc32_combine` algorithm (Python's `zlib` does not expose it), so the CRCs in every
header are the real ones and `zipfile` verifies them on extraction.

`build_zip()` lays entries out to exactly the size asked for: fixed entries (small files,
deflated) keep their size, and the bytes left over are shared among the stored entries by
weight. Sizes of 4 GiB and more get ZIP64 records. Importable without Django.
"""

from __future__ import annotations

import bisect
import hashlib
import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Protocol

ZIP64_LIMIT = 0xFFFFFFFF
BLOCK = 4096  # bytes of pseudo-random content repeated through a stored entry


class Body(Protocol):
    size: int
    crc: int

    def read(self, offset: int, length: int) -> bytes: ...


# --- CRC-32 of concatenations --------------------------------------------------------------


def _times(matrix: Sequence[int], vector: int) -> int:
    total, row = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[row]
        vector >>= 1
        row += 1
    return total


def _square(matrix: Sequence[int]) -> list[int]:
    return [_times(matrix, matrix[n]) for n in range(32)]


@cache
def _shift_tables() -> tuple[tuple[list[int], ...], ...]:
    """For k = 0..63, the operator advancing a CRC over 2**k zero bytes (zlib's GF(2)
    method), as four byte-indexed tables so applying one costs four lookups."""
    operator = [0xEDB88320] + [1 << n for n in range(31)]  # one zero bit
    for _ in range(3):
        operator = _square(operator)
    tables = []
    for _ in range(64):
        tables.append(
            tuple(
                [_times(operator, byte << shift) for byte in range(256)] for shift in (0, 8, 16, 24)
            )
        )
        operator = _square(operator)
    return tuple(tables)


def crc32_combine(crc1: int, crc2: int, length2: int) -> int:
    """The CRC-32 of A + B from the CRC of A, the CRC of B and B's length."""
    tables = _shift_tables()
    bit = 0
    while length2:
        if length2 & 1:
            t0, t1, t2, t3 = tables[bit]
            crc1 = t0[crc1 & 255] ^ t1[crc1 >> 8 & 255] ^ t2[crc1 >> 16 & 255] ^ t3[crc1 >> 24]
        length2 >>= 1
        bit += 1
    return crc1 ^ crc2


# --- parts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def crc(self) -> int:
        return zlib.crc32(self.data)

    def read(self, offset: int, length: int) -> bytes:
        return self.data[offset : offset + length]


@dataclass(frozen=True)
class Repeat:
    """`block` repeated, cut at `size` bytes."""

    block: bytes
    size: int

    @property
    def crc(self) -> int:
        whole, rest = divmod(self.size, len(self.block))
        crc, power, power_length = 0, zlib.crc32(self.block), len(self.block)
        while whole:
            if whole & 1:
                crc = crc32_combine(crc, power, power_length)
            power = crc32_combine(power, power, power_length)
            power_length *= 2
            whole >>= 1
        return crc32_combine(crc, zlib.crc32(self.block[:rest]), rest)

    def read(self, offset: int, length: int) -> bytes:
        length = min(length, self.size - offset)
        if length <= 0:
            return b""
        start = offset % len(self.block)
        copies = (start + length) // len(self.block) + 1
        return (self.block * copies)[start : start + length]


@dataclass(frozen=True)
class Concat:
    parts: tuple[Body, ...]
    _starts: list[int] = field(default_factory=list, compare=False, repr=False)

    def __post_init__(self) -> None:
        position = 0
        for part in self.parts:
            self._starts.append(position)
            position += part.size

    @property
    def size(self) -> int:
        return sum(part.size for part in self.parts)

    @property
    def crc(self) -> int:
        crc = 0
        for part in self.parts:
            crc = crc32_combine(crc, part.crc, part.size)
        return crc

    def read(self, offset: int, length: int) -> bytes:
        pieces = []
        index = max(0, bisect.bisect_right(self._starts, offset) - 1)
        while length > 0 and index < len(self.parts):
            part, start = self.parts[index], self._starts[index]
            piece = part.read(offset - start, length)
            pieces.append(piece)
            offset += len(piece)
            length -= len(piece)
            index += 1
        return b"".join(pieces)


def filler(seed: str, size: int) -> Repeat:
    """`size` bytes of content derived from `seed` (incompressible-looking, deterministic)."""
    return Repeat(hashlib.shake_256(seed.encode()).digest(BLOCK), size)


# --- zip layout -------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One file of a zip: fixed `text` (deflated) or a share `weight` of the bytes left over.

    `nested`, when given, builds a stored entry's content for the size it is given (a zip
    inside the zip); otherwise stored content is `filler`.
    """

    name: str
    weight: float = 0.0
    text: bytes | None = None
    nested: Callable[[int], Body | None] | None = None


@dataclass(frozen=True)
class _Member:
    name: bytes
    utf8: bool
    method: int  # 0 stored, 8 deflated
    data: Body
    crc: int
    usize: int


def build_zip(
    entries: Sequence[Entry],
    size: int,
    *,
    seed: str,
    date_time: tuple[int, int, int, int, int, int] = (2026, 1, 1, 0, 0, 0),
    comment: bytes = b"",
    zip64: bool | None = None,
) -> Body | None:
    """A zip of exactly `size` bytes holding `entries`, or None when not even one fits.

    When the stored entries do not all fit, the last ones are left out (list the most
    important first). ZIP64 records are written from 4 GiB on, or always with `zip64=True`.
    """
    zip64 = size >= ZIP64_LIMIT if zip64 is None else zip64
    entries = list(entries)
    while entries:
        members = _fit(entries, size - len(comment), zip64, seed)
        if members is not None:
            return _assemble(members, zip64, date_time, comment, size)
        entries.pop()
    return None


def _fit(entries: list[Entry], size: int, zip64: bool, seed: str) -> list[_Member] | None:
    fixed = {e.name: zlib.compress(e.text, 9, wbits=-15) for e in entries if e.text is not None}
    overhead = _EOCD + (_ZIP64_TRAILER if zip64 else 0)
    for entry in entries:
        name_length = len(entry.name.encode("utf-8", "surrogateescape"))
        overhead += _LOCAL + _CENTRAL + 2 * name_length
        overhead += (_LOCAL_EXTRA + _CENTRAL_EXTRA) if zip64 else 0
    left = size - overhead - sum(len(data) for data in fixed.values())
    weights = sum(e.weight for e in entries if e.text is None)
    if left < 0 or (left and not weights):
        return None
    shares = {
        e.name: int(left * e.weight / weights) if weights else 0 for e in entries if e.text is None
    }
    if shares:
        largest = max(shares, key=lambda name: shares[name])
        shares[largest] += left - sum(shares.values())
    members = []
    for entry in entries:
        name = entry.name.encode("utf-8", "surrogateescape")
        utf8 = not entry.name.isascii()
        if entry.text is not None:
            data = Literal(fixed[entry.name])
            members.append(_Member(name, utf8, 8, data, zlib.crc32(entry.text), len(entry.text)))
            continue
        share = shares[entry.name]
        body = entry.nested(share) if entry.nested else None
        body = body if body is not None else filler(f"{seed}/{entry.name}", share)
        members.append(_Member(name, utf8, 0, body, body.crc, share))
    return members


_LOCAL, _CENTRAL, _EOCD = 30, 46, 22
_LOCAL_EXTRA, _CENTRAL_EXTRA, _ZIP64_TRAILER = 20, 28, 56 + 20


def _assemble(
    members: list[_Member],
    zip64: bool,
    date_time: tuple[int, int, int, int, int, int],
    comment: bytes,
    size: int,
) -> Body:
    year, month, day, hour, minute, second = date_time
    dos_date = (year - 1980) << 9 | month << 5 | day
    dos_time = hour << 11 | minute << 5 | second // 2
    parts: list[Body] = []
    central: list[bytes] = []
    offset = 0
    for member in members:
        flags = 0x800 if member.utf8 else 0
        csize = member.data.size
        small = (ZIP64_LIMIT, ZIP64_LIMIT) if zip64 else (csize, member.usize)
        version = 45 if zip64 else 20
        local_extra = struct.pack("<HHQQ", 1, 16, member.usize, csize) if zip64 else b""
        # version needed, flags, method, time, date, CRC-32, compressed and uncompressed size
        common = (version, flags, member.method, dos_time, dos_date, member.crc, *small)
        local = struct.pack("<IHHHHHIIIHH", 0x04034B50, *common, len(member.name), len(local_extra))
        parts += [Literal(local + member.name + local_extra), member.data]
        central_extra = struct.pack("<HHQQQ", 1, 24, member.usize, csize, offset) if zip64 else b""
        central.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                0x0300 | version,  # made by: Unix
                *common,
                len(member.name),
                len(central_extra),
                0,
                0,
                0,
                0o100644 << 16,
                ZIP64_LIMIT if zip64 else offset,
            )
            + member.name
            + central_extra
        )
        offset += len(local) + len(member.name) + len(local_extra) + csize
    directory = b"".join(central)
    count = len(members)
    trailer = b""
    if zip64:
        trailer = struct.pack(
            "<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, len(directory), offset
        ) + struct.pack("<IIQI", 0x07064B50, 0, offset + len(directory), 1)
    eocd = struct.pack(
        "<IHHHHIIH",
        0x06054B50,
        0,
        0,
        0xFFFF if zip64 else count,
        0xFFFF if zip64 else count,
        ZIP64_LIMIT if zip64 else len(directory),
        ZIP64_LIMIT if zip64 else offset,
        len(comment),
    )
    parts.append(Literal(directory + trailer + eocd + comment))
    body = Concat(tuple(parts))
    if body.size != size:  # a layout bug, not bad input: fail loudly in tests
        raise AssertionError(f"zip laid out to {body.size} bytes instead of {size}")
    return body
