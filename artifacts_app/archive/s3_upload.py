"""A download streamed into one S3 object, a few parts in memory at a time.

The caller `write()`s chunks as they come off the socket. Every `PART_SIZE` bytes become a
part sent by a small pool of threads; at most `PARTS_IN_MEMORY` parts exist at once (one
filling, the others being sent), so memory stays flat whatever the file size, and a slow
bucket slows the download instead of filling memory.

The object appears under its key only on `complete()`: CompleteMultipartUpload (or, for a
file smaller than one part, a single PutObject) is atomic. `abort()` ends the multipart
upload so no part stays billed; a killed process leaves it unfinished, and the next archive
run aborts it (`ArchiveS3Storage.abort_unfinished_uploads`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from botocore.exceptions import BotoCoreError, ClientError

PART_SIZE = 16 * 1024 * 1024
PARTS_IN_MEMORY = 4  # one filling, three being sent
# The checksums a part's answer may carry (botocore computes one by default) and that
# CompleteMultipartUpload then wants named again for each part.
PART_CHECKSUMS = (
    "ChecksumCRC32",
    "ChecksumCRC32C",
    "ChecksumCRC64NVME",
    "ChecksumSHA1",
    "ChecksumSHA256",
)


class MultipartUpload:
    """One object's upload: `write()` chunks, then `complete()` or `abort()`."""

    def __init__(
        self,
        client,
        bucket: str,
        key: str,
        parameters: dict,
        error: Callable[[Exception], Exception],
        completing_client: Callable[[], object] | None = None,
    ):
        self.client, self.bucket, self.key = client, bucket, key
        # CompleteMultipartUpload may take the server minutes: a client that waits for it.
        self._completing_client = completing_client or (lambda: client)
        self.parameters = parameters
        self._error = error  # turns a botocore failure into the storage's one-line error
        self._pending = bytearray()  # the part being filled
        self._upload_id: str | None = None
        self._parts: list[dict] = []
        self._sending: list[Future] = []
        self._slots = threading.BoundedSemaphore(PARTS_IN_MEMORY - 1)
        self._pool: ThreadPoolExecutor | None = None
        self._failure: Exception | None = None

    def write(self, chunk: bytes) -> None:
        self._raise_failure()
        self._pending += chunk
        if len(self._pending) >= PART_SIZE:
            self._send(self._take())

    def complete(self) -> None:
        """Make the object appear under its key, all at once; raises the storage's error."""
        try:
            if self._upload_id is None:  # smaller than one part: one atomic PutObject
                self.client.put_object(
                    Bucket=self.bucket, Key=self.key, Body=self._take(), **self.parameters
                )
                return
            if self._pending:
                self._send(self._take())
            self._wait()
            self._raise_failure()
            parts = sorted(self._parts, key=lambda part: part["PartNumber"])
            self._completing_client().complete_multipart_upload(
                Bucket=self.bucket,
                Key=self.key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": parts},
            )
            self._upload_id = None
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc) from None
        finally:
            self._shutdown()

    def abort(self) -> None:
        """Drop what was sent; no object appears. Best effort: a part of the upload left
        behind (the bucket unreachable now) is aborted by the next run's sweep."""
        self._pending = bytearray()
        for future in self._sending:
            future.cancel()
        self._wait()
        self._shutdown()
        if self._upload_id is not None:
            with contextlib.suppress(BotoCoreError, ClientError):
                self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=self.key, UploadId=self._upload_id
                )
            self._upload_id = None

    def _take(self) -> bytearray:
        """The filled part, handed over as it is (no copy): a new one starts filling."""
        data, self._pending = self._pending, bytearray()
        return data

    def _send(self, data: bytearray) -> None:
        self._slots.acquire()  # waits while the other parts in memory are being sent
        try:
            if self._upload_id is None:
                self._upload_id = self._create()
                self._pool = ThreadPoolExecutor(PARTS_IN_MEMORY - 1, thread_name_prefix="s3-part")
            number = len(self._sending) + 1
            future = self._pool.submit(self._upload_part, number, data)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _future: self._slots.release())
        self._sending.append(future)

    def _create(self) -> str:
        try:
            answer = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=self.key, **self.parameters
            )
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc) from None
        return answer["UploadId"]

    def _upload_part(self, number: int, data: bytearray) -> None:
        if self._failure is not None:
            return  # the upload is failing: send nothing more
        try:
            answer = self.client.upload_part(
                Bucket=self.bucket,
                Key=self.key,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=data,
            )
        except (BotoCoreError, ClientError) as exc:
            self._failure = self._error(exc)
            return
        checksums = {name: answer[name] for name in PART_CHECKSUMS if answer.get(name)}
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"], **checksums})

    def _wait(self) -> None:
        for future in self._sending:
            with contextlib.suppress(Exception):
                future.result()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure

    def _shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
