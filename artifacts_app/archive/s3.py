"""Archive storage in an S3-compatible bucket (AWS S3, MinIO, Cloudflare R2, Ceph).

`django-storages`' S3 backend with the archive's guarantees:

- Downloads stream straight into the bucket (`open_upload`, in `s3_upload.py`): no staging
  on local disk, a few parts in memory at a time, and the object appears under its key only
  when the upload completes: a failed or cut-off download aborts the upload, a killed
  process leaves an unfinished upload, never half an object. The next archive run (holding
  the archiver's lease, so no other run is uploading) aborts such uploads.
- Reads (`--verify`, downloads from the run page) stream the object body instead of copying
  the whole object into memory first, as the stock backend does.
- Storage failures become one-line `ArchiveError`s naming the bucket, not tracebacks.
"""

from __future__ import annotations

from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.core.files import File
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

from .s3_upload import PART_SIZE, PARTS_IN_MEMORY, MultipartUpload
from .storage import ArchiveError

# Assembling a multi-GB object from its parts can take the server minutes (AWS documents it;
# AWS and MinIO keep the connection alive meanwhile, others may not): only that one call
# waits this long for an answer.
COMPLETE_READ_TIMEOUT = 15 * 60


class ArchiveS3Storage(S3Storage):
    def __init__(self, **options):
        if "transfer_config" not in options:
            config = TransferConfig(
                multipart_threshold=PART_SIZE,
                multipart_chunksize=PART_SIZE,
                max_concurrency=PARTS_IN_MEMORY,
            )
            config.max_in_memory_upload_chunks = PARTS_IN_MEMORY  # s3transfer's, not in boto3's
            options["transfer_config"] = config
        options.setdefault("file_overwrite", True)  # a key is replaced in one step
        options.setdefault("default_acl", None)
        super().__init__(**options)

    def _open(self, name, mode="rb"):
        if mode != "rb":
            return super()._open(name, mode)
        key = self._normalize_name(clean_name(name))
        try:
            body = self.bucket.Object(key).get()["Body"]
        except ClientError as exc:
            if _status(exc) == 404:
                raise FileNotFoundError(f"no object {key} in bucket {self.bucket_name}") from None
            raise self._error(exc) from None
        except BotoCoreError as exc:
            raise self._error(exc) from None
        return File(body, name=name)

    def _save(self, name, content):
        return self._translated(super()._save, name, content)

    def open_upload(self, name: str) -> MultipartUpload:
        """A streamed upload to `name`'s key: `write()` chunks, then `complete()` (the
        object appears) or `abort()` (nothing does)."""
        key = self._normalize_name(clean_name(name))
        return MultipartUpload(
            self.connection.meta.client,
            self.bucket_name,
            key,
            self._get_write_parameters(key),
            self._error,
            completing_client=self._completing_client,
        )

    def _completing_client(self):
        """A client like the storage's, with a read timeout long enough for the server to
        assemble a large object."""
        config = self.client_config.merge(Config(read_timeout=COMPLETE_READ_TIMEOUT))
        resource = self._create_session().resource(
            "s3",
            region_name=self.region_name,
            use_ssl=self.use_ssl,
            endpoint_url=self.endpoint_url,
            config=config,
            verify=self.verify,
        )
        return resource.meta.client

    def exists(self, name):
        return self._translated(super().exists, name)

    def delete(self, name):
        return self._translated(super().delete, name)

    def size(self, name):
        return self._translated(super().size, name)

    def abort_unfinished_uploads(self, folder: str = "") -> int:
        """Abort the multipart uploads under our prefix and `folder` (left by a killed
        process; the bucket would keep and bill their parts). Without a folder, those of the
        other accounts' "@name" folders are left to them. Returns how many."""
        client = self.connection.meta.client
        root = f"{self.location}/" if self.location else ""
        prefix = f"{root}{folder}/" if folder else root
        aborted = 0
        try:
            pages = client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket_name, Prefix=prefix
            )
            for page in pages:
                for upload in page.get("Uploads", []):
                    if not folder and upload["Key"][len(root) :].startswith("@"):
                        continue  # another account's archive run may be uploading it
                    client.abort_multipart_upload(
                        Bucket=self.bucket_name, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
                    aborted += 1
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc) from None
        return aborted

    def _translated(self, method, *args):
        try:
            return method(*args)
        except (BotoCoreError, ClientError) as exc:
            raise self._error(exc) from None

    def _error(self, exc: Exception) -> ArchiveError:
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            reason = f"{error.get('Code', _status(exc))}: {error.get('Message', '')}".strip(": ")
        else:
            reason = str(exc).splitlines()[0]
        where = f"bucket {self.bucket_name}" + (
            f" at {self.endpoint_url}" if self.endpoint_url else ""
        )
        return ArchiveError(
            f"S3 archive storage ({where}): {reason}; check ARCHIVE_S3_* and the credentials"
        )


def _status(exc: ClientError) -> int | None:
    return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
