"""Signed download URLs and the storage host that serves them.

What a download returns is an ``ArtifactBody``: a size and ``read(offset, length)``. The
default body is the deterministic pattern of ``content_chunks``; the app plugs in generated
zips for ARCHIVE, ARCHIVE_EXPORT and STAPLED_NOTARIZED_ARCHIVE artifacts (``layouts``) through
``Downloads.body_for``, and HTTP Range answers (``ranges``) are cut from the same ``read``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qs

from .dataset import Dataset
from .errors import REASONS
from .faults import close_after, reset_connection
from .ranges import UNSATISFIABLE, requested_range
from .records import SimArtifact
from .stats import Stats

if TYPE_CHECKING:
    from .app import SimulatorConfig


BLOCK_SIZE = 64 * 1024


def block(artifact_id: str) -> bytes:
    seed = hashlib.sha256(artifact_id.encode()).digest()
    return (seed * (BLOCK_SIZE // len(seed) + 1))[:BLOCK_SIZE]


def content_chunks(artifact_id: str, size: int, chunk_size: int = BLOCK_SIZE):
    """The bytes of an artifact's download: ``size`` bytes of a block derived from its id."""
    pattern = block(artifact_id)
    if chunk_size != BLOCK_SIZE:
        pattern = (pattern * (chunk_size // BLOCK_SIZE + 1))[:chunk_size]
    remaining = size
    while remaining > 0:
        piece = pattern if remaining >= len(pattern) else pattern[:remaining]
        remaining -= len(piece)
        yield piece


def expected_sha256(artifact_id: str, size: int) -> str:
    """The SHA-256 hex digest of what the simulator serves for this artifact."""
    digest = hashlib.sha256()
    for chunk in content_chunks(artifact_id, size):
        digest.update(chunk)
    return digest.hexdigest()


class ArtifactBody(Protocol):
    """The bytes a download of one artifact serves."""

    @property
    def size(self) -> int: ...

    def read(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes from ``offset``; fewer only at the end of the body."""
        ...


class PatternBody:
    """``size`` bytes repeating a 64 KiB block derived from the artifact's id."""

    def __init__(self, artifact_id: str, size: int):
        self.size = size
        self._block = block(artifact_id)

    def read(self, offset: int, length: int) -> bytes:
        length = max(0, min(length, self.size - offset))
        start = offset % BLOCK_SIZE
        if start == 0 and length == BLOCK_SIZE:
            return self._block
        pieces = []
        while length > 0:
            piece = self._block[start : start + length]
            pieces.append(piece)
            length -= len(piece)
            start = 0
        return b"".join(pieces)


def pattern_body(artifact: SimArtifact) -> ArtifactBody:
    return PatternBody(artifact.id, artifact.file_size)


class Downloads:
    """Signs ``downloadUrl``s and answers them as a storage host would (no API token wanted)."""

    def __init__(
        self,
        dataset: Dataset,
        config: SimulatorConfig,
        stats: Stats,
        body_for: Callable[[SimArtifact], ArtifactBody] = pattern_body,
    ):
        self.dataset = dataset
        self.config = config
        self.stats = stats
        self.body_for = body_for
        self._secret = hashlib.sha256(f"download-secret/{dataset.seed}".encode()).digest()

    def url(self, base: str, artifact_id: str) -> str:
        expires = int(self.config.clock() + self.config.download_expiry)
        signature = self._sign(artifact_id, expires)
        return f"{base}/download/{artifact_id}?expires={expires}&sig={signature}"

    def _sign(self, artifact_id: str, expires: int) -> str:
        message = f"{artifact_id}:{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]

    def __call__(
        self, environ: dict[str, Any], start_response, artifact_id: str
    ) -> Iterable[bytes]:
        self.stats.record("download", api=False)
        if environ.get("HTTP_AUTHORIZATION"):
            self.stats.download_authorization_seen = True
            return self._plain(
                start_response,
                400,
                "Only one auth mechanism allowed: "
                "a signed URL must not carry an Authorization header",
            )
        refusal = self._refusal(environ, artifact_id)
        if refusal:
            return self._plain(start_response, *refusal)
        artifact = self.dataset.artifacts.get(artifact_id)
        if artifact is None:
            return self._plain(start_response, 404, "The specified key does not exist")
        fault = self.config.faults.next_download_fault()
        if self.config.faults.download_latency:
            time.sleep(self.config.faults.download_latency)
        if fault:
            self.stats.count("faults", f"download-{fault}")
        if fault == "reset":
            reset_connection(environ)
            start_response("500 Internal Server Error", [("Content-Length", "0")])
            return []
        if fault in FAULT_ANSWERS:
            return self._plain(start_response, *FAULT_ANSWERS[fault])
        body = self.body_for(artifact)
        span = requested_range(environ.get("HTTP_RANGE"), body.size)
        if not self.config.honour_ranges:
            span = None
        if span == UNSATISFIABLE:
            self.stats.count("by_status", 416)
            start_response(
                "416 Range Not Satisfiable",
                [("Content-Range", f"bytes */{body.size}"), ("Content-Length", "0")],
            )
            return []
        start, end = span or (0, body.size)
        headers = [("Content-Type", "application/zip"), ("Content-Length", str(end - start))]
        if self.config.honour_ranges:
            headers.append(("Accept-Ranges", "bytes"))
        if span:
            headers.append(("Content-Range", f"bytes {start}-{end - 1}/{body.size}"))
        start_response("206 Partial Content" if span else "200 OK", headers)
        self.stats.count("by_status", 206 if span else 200)
        if fault == "cut":
            close_after(environ)
            end = start + (end - start) // 2
        return self._stream(body, start, end)

    def _refusal(self, environ: dict[str, Any], artifact_id: str) -> tuple[int, str] | None:
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        try:
            expires = int(query.get("expires", ""))
        except ValueError:
            return 403, "Missing or malformed signature"
        if not hmac.compare_digest(query.get("sig", ""), self._sign(artifact_id, expires)):
            return 403, "Signature does not match"
        if self.config.clock() > expires:
            return 403, "Request has expired"
        return None

    def _stream(self, body: ArtifactBody, offset: int, end: int) -> Iterator[bytes]:
        """Bytes ``offset`` to ``end`` of ``body`` (a range, or half of it for a cut)."""
        while offset < end:
            chunk = body.read(offset, min(BLOCK_SIZE, end - offset))
            if not chunk:
                break
            offset += len(chunk)
            self.stats.bytes_sent(len(chunk))
            yield chunk

    def _plain(self, start_response, status: int, message: str) -> list[bytes]:
        self.stats.count("by_status", status)
        body = message.encode()
        start_response(
            f"{status} {REASONS.get(status, 'Error')}",
            [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))],
        )
        return [body]


FAULT_ANSWERS = {
    "500": (500, "Internal error"),
    "expired": (403, "Request has expired"),  # the URL's time ran out between fetch and use
    "410": (410, "Gone"),  # a storage host refusing one file for a reason of its own
}
