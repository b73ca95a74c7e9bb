"""Archive storage: Django's storage API, a local folder by default.

`settings.STORAGES["archive"]` picks the backend (S3-compatible storage is a setting away);
a `FileSystemStorage` without a `location` is rooted at `settings.ARCHIVE_ROOT`. Downloads go
to a temporary file first and reach their final name in one step: `os.replace` on the same
filesystem, or a single `storage.save` elsewhere; S3 takes them as a streamed multipart upload
instead (`s3.py`). A crash never leaves half a file under the final name.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage
from django.utils.module_loading import import_string

from .paths import DEFAULT_ACCOUNT, account_folder

INCOMING = ".incoming"  # temporary downloads, next to the archive so a rename is atomic


class ArchiveError(Exception):
    """A failure that stops the whole run (disk full, permission denied, unusable storage).

    Its message is one line that says what to do.
    """


def archive_storage() -> Storage:
    config = settings.STORAGES.get("archive") or {
        "BACKEND": "django.core.files.storage.FileSystemStorage"
    }
    backend = import_string(config["BACKEND"])
    options = dict(config.get("OPTIONS") or {})
    if issubclass(backend, FileSystemStorage):
        options.setdefault("location", settings.ARCHIVE_ROOT)
    return backend(**options)


def is_local(storage: Storage) -> bool:
    return isinstance(storage, FileSystemStorage)


def describe(storage: Storage) -> str:
    return str(storage.location) if is_local(storage) else type(storage).__name__


def incoming_dir(storage: Storage, account: str = DEFAULT_ACCOUNT) -> Path:
    """Where temporary downloads go: inside a local archive root, so the final move is a
    rename; for remote storage under ARCHIVE_ROOT too, a disk folder (the system's temp dir
    may be a RAM disk, too small for a 4 GiB archive). Each account has its own, since each
    sweeps its own while another account's archive run may be downloading."""
    path = _incoming_path(storage, account)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise storage_error(exc, describe(storage)) from None
    return path


def _incoming_path(storage: Storage, account: str) -> Path:
    root = storage.location if is_local(storage) else settings.ARCHIVE_ROOT
    path = Path(root) / INCOMING
    return path if account == DEFAULT_ACCOUNT else path / account_folder(account)


def new_temporary(storage: Storage, prefix: str, account: str = DEFAULT_ACCOUNT) -> tuple[int, str]:
    """An open file descriptor and path for a download in progress."""
    try:
        folder = incoming_dir(storage, account)
        return tempfile.mkstemp(prefix=f"{prefix}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise storage_error(exc, describe(storage)) from None


def move_into_place(storage: Storage, temporary: str, name: str) -> None:
    """Give a complete temporary file its final name in one step, replacing any older copy."""
    try:
        if is_local(storage):
            final = Path(storage.path(name))  # safe_join refuses anything outside the root
            final.parent.mkdir(parents=True, exist_ok=True)
            mode = storage.file_permissions_mode
            if mode is not None:
                os.chmod(temporary, mode)
            os.replace(temporary, final)
            return
        if not getattr(storage, "file_overwrite", False) and storage.exists(name):
            storage.delete(name)  # else save() would pick another name
        with open(temporary, "rb") as handle:
            saved = storage.save(name, File(handle, name=name))
        if saved != name:
            storage.delete(saved)
            raise ArchiveError(f"archive storage saved {name} under another name; not recorded")
    except OSError as exc:
        raise storage_error(exc, describe(storage)) from None
    finally:
        discard(temporary)


def discard(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def sweep_incoming(storage: Storage, account: str = DEFAULT_ACCOUNT) -> int:
    """Remove the account's temporary downloads, and object storage's unfinished uploads,
    left behind by killed runs. Returns how many.

    Call it only while holding the account's archiver lease: then no other run is writing one.
    """
    # S3 uploads stream with no staging file: the folder is only there if an older run made it.
    folder = _incoming_path(storage, account)
    removed = 0
    abort_unfinished_uploads = getattr(storage, "abort_unfinished_uploads", None)  # S3
    if abort_unfinished_uploads is not None:
        removed += abort_unfinished_uploads(account_folder(account))
    for entry in folder.glob("*.part"):
        with contextlib.suppress(OSError):
            entry.unlink()
            removed += 1
    return removed


def storage_error(exc: OSError, where: str) -> ArchiveError:
    """One actionable line for a storage failure; the partial file is already gone."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return ArchiveError(
            f"disk full writing to the archive ({where}): free some space or apply retention "
            "(archive_artifacts --retention), then run again"
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ArchiveError(
            f"permission denied writing to the archive ({where}): make ARCHIVE_ROOT writable "
            "by this user, then run again"
        )
    reason = exc.strerror or type(exc).__name__
    return ArchiveError(f"cannot write to the archive ({where}): {reason}")
