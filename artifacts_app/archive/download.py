"""Fetch one artifact into archive storage: fresh URL, stream, count, hash, move into place.

Knows the App Store Connect client and Django's storage API, not the models: the caller
passes a `Job` of plain values and records the `Outcome`. Memory stays flat whatever the
file size: bytes go from the socket to a temporary file one chunk at a time, or, for object
storage that offers a streamed upload (S3), into that upload a few parts at a time.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

import requests
import urllib3
from django.core.files.storage import Storage

from ..asc.client import AscClient
from ..asc.errors import (
    AscError,
    ExpiredDownloadError,
    NotFoundError,
    ServerError,
    TransportError,
)
from .paths import safe_component
from .storage import (
    ArchiveError,
    describe,
    discard,
    move_into_place,
    new_temporary,
    storage_error,
)

CHUNK_SIZE = 1024 * 1024
QUEUED_CHUNKS = 8
SYNC_EVERY = 64 * 1024 * 1024  # flush as we go, so the final fsync is short
URL_ATTEMPTS = 3  # fresh URLs asked for when a download answers 403 (expired)

ARCHIVED = "archived"
LOST = "lost"
FAILED = "failed"

_CUT_OFF = (requests.RequestException, urllib3.exceptions.HTTPError)


@dataclass(frozen=True)
class Job:
    """One artifact to archive, as plain values (workers never touch the database)."""

    pk: int
    asc_id: str
    file_name: str
    file_size: int | None
    name: str  # storage name, from ids
    label: str = ""  # for messages: type, printable file name and id
    product_id: str = ""  # App Store Connect id of the artifact's product
    account: str = "default"  # the account's name: its downloads have their own folder


@dataclass(frozen=True)
class Outcome:
    job: Job
    status: str  # ARCHIVED, LOST or FAILED
    size: int | None = None
    sha256: str = ""
    error: str = ""
    url_refreshes: int = 0


def fetch(
    client: AscClient,
    job: Job,
    storage: Storage,
    progress: Callable[[int], None] = lambda n: None,
) -> Outcome:
    """Archive one artifact. Raises `ArchiveError` for failures that should stop the run."""
    refreshes = 0
    for _attempt in range(URL_ATTEMPTS):
        try:
            fresh = client.artifact(job.asc_id)
        except NotFoundError:
            return Outcome(job, LOST, error="404 from App Store Connect: expired upstream")
        except ServerError as exc:
            return Outcome(job, FAILED, error=str(exc), url_refreshes=refreshes)
        if not fresh.download_url:
            return Outcome(job, FAILED, error="App Store Connect gave no downloadUrl")
        expected = fresh.file_size if fresh.file_size is not None else job.file_size
        try:
            response = client.open_download(fresh.download_url)
        except ExpiredDownloadError:
            refreshes += 1
            continue
        except NotFoundError:
            return Outcome(job, LOST, error="404 on download: expired upstream")
        except (TransportError, ServerError) as exc:
            return Outcome(job, FAILED, error=str(exc), url_refreshes=refreshes)
        except AscError as exc:
            # Any other refusal by the download host concerns this file only (the API key
            # is not involved): the others go on, and the next run tries this one again.
            error = f"download refused with HTTP {exc.status}; the next run tries again"
            return Outcome(job, FAILED, error=error, url_refreshes=refreshes)
        with response:
            return _stream_and_store(response, job, expected, storage, progress, refreshes)
    return Outcome(
        job,
        FAILED,
        error=f"download URL refused as expired {refreshes} times in a row; run again later",
        url_refreshes=refreshes,
    )


def _stream_and_store(
    response: requests.Response,
    job: Job,
    expected: int | None,
    storage: Storage,
    progress: Callable[[int], None],
    refreshes: int,
) -> Outcome:
    target = _open_target(storage, job)
    received = 0
    stored = False
    try:
        sink = _Sink(target)
        try:
            # The bytes exactly as served (no content decoding), without requests' extra
            # buffering: the stored file is what Apple's fileSize describes.
            for chunk in response.raw.stream(CHUNK_SIZE, decode_content=False):
                sink.put(chunk)
                received += len(chunk)
                progress(len(chunk))
        except _CUT_OFF:
            sink.abort()
            progress(-received)
            return _incomplete(job, received, expected, refreshes)
        except BaseException:
            sink.abort()
            raise
        sha256 = sink.finish()
        if expected is not None and received != expected:
            progress(-received)
            return _incomplete(job, received, expected, refreshes)
        target.commit()
        stored = True
    except OSError as exc:
        raise storage_error(exc, describe(storage)) from None
    finally:
        if not stored:
            target.discard()
    return Outcome(job, ARCHIVED, size=received, sha256=sha256, url_refreshes=refreshes)


def _open_target(storage: Storage, job: Job):
    """Where the bytes go: straight into an object storage's upload when it offers one (S3),
    else a temporary file that reaches its final name in one step."""
    open_upload = getattr(storage, "open_upload", None)
    if open_upload is not None:
        return _UploadTarget(open_upload(job.name))
    # The id comes from the API: only its safe form may name a file ("../x" must not escape).
    prefix = safe_component(job.asc_id, "artifact")[:40]
    return _FileTarget(storage, job.name, prefix, job.account)


class _FileTarget:
    """A temporary file in the incoming folder, flushed as it grows, then moved into place."""

    def __init__(self, storage: Storage, name: str, prefix: str, account: str):
        self.storage, self.name = storage, name
        descriptor, self.temporary = new_temporary(storage, prefix, account)
        self.handle = os.fdopen(descriptor, "wb", buffering=0)
        self._written = 0
        self._synced = 0

    def write(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:  # an unbuffered write may take less than it was given
            view = view[self.handle.write(view) :]
        self._written += len(chunk)
        if self._written - self._synced >= SYNC_EVERY:
            os.fdatasync(self.handle.fileno())
            self._synced = self._written

    def flush(self) -> None:
        os.fsync(self.handle.fileno())
        self.handle.close()

    def commit(self) -> None:
        move_into_place(self.storage, self.temporary, self.name)

    def discard(self) -> None:
        self.handle.close()
        discard(self.temporary)


class _UploadTarget:
    """An object storage upload under the final key, visible only once completed."""

    def __init__(self, upload):
        self.upload = upload
        self.write = upload.write

    def flush(self) -> None:
        pass  # parts are sent as they fill; completing sends the last one

    def commit(self) -> None:
        self.upload.complete()

    def discard(self) -> None:
        self.upload.abort()


class _Sink:
    """Writes and hashes chunks on two helper threads while the caller reads the socket.

    Reading, writing and hashing all release the GIL, so the three overlap; a file target
    flushes to disk every `SYNC_EVERY` bytes so the final fsync has little left to do. At
    most `QUEUED_CHUNKS` chunks wait in each queue: memory stays flat.
    """

    def __init__(self, target):
        self.target = target
        self.digest = hashlib.sha256()
        self.error: Exception | None = None
        self._queues: list[queue.Queue[bytes | None]] = []
        self._threads: list[threading.Thread] = []
        for work in (target.write, self.digest.update):
            chunks: queue.Queue[bytes | None] = queue.Queue(QUEUED_CHUNKS)
            thread = threading.Thread(target=self._drain, args=(chunks, work), daemon=True)
            thread.start()
            self._queues.append(chunks)
            self._threads.append(thread)

    def put(self, chunk: bytes) -> None:
        if self.error is not None:
            raise self.error
        for chunks in self._queues:
            chunks.put(chunk)

    def finish(self) -> str:
        """Wait for the helpers, flush the target, and return the SHA-256 hex digest."""
        self._stop()
        if self.error is not None:
            raise self.error
        self.target.flush()
        return self.digest.hexdigest()

    def abort(self) -> None:
        self._stop()

    def _stop(self) -> None:
        for chunks in self._queues:
            chunks.put(None)
        for thread in self._threads:
            thread.join()

    def _drain(self, chunks: queue.Queue[bytes | None], work: Callable[[bytes], object]) -> None:
        while (chunk := chunks.get()) is not None:
            if self.error is None:
                try:
                    work(chunk)
                except Exception as exc:  # noqa: BLE001  (raised again in the reading thread)
                    self.error = exc  # keep draining so the reader never blocks on a full queue


def _incomplete(job: Job, received: int, expected: int | None, refreshes: int) -> Outcome:
    """A download cut off, or longer than Apple announced: not stored, tried again next run."""
    if expected is not None and received > expected:
        error = f"download sent {received:,} bytes but Apple announced {expected:,}; not archived"
    else:
        of = f" of {expected:,}" if expected is not None else ""
        error = f"download cut off after {received:,}{of} bytes; run again to retry it"
    return Outcome(job, FAILED, size=received, error=error, url_refreshes=refreshes)


__all__ = ["ArchiveError", "Job", "Outcome", "fetch", "ARCHIVED", "LOST", "FAILED"]
