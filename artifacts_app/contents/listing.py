"""A zip's listing from any seekable file: entries (an `.ipa` inside expanded in place) and
Apple's App Thinning Size Report when the zip holds one.

`zipfile` does the parsing, ZIP64 and comments included; the one thing read by hand is an
entry's local header, to find where a stored `.ipa` starts inside its export.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from dataclasses import dataclass, field

from .components import Entry
from .files import RangesRefused, Window
from .thinning import parse_report

THINNING_REPORT = "App Thinning Size Report.txt"
MAX_REPORT = 1024 * 1024


class NotAZip(Exception):
    """The file is complete but is not a zip: recorded as such and never read again."""


@dataclass
class Listing:
    entries: list[Entry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was skipped, one line each
    thinning: list[dict] = field(default_factory=list)


def read_listing(file) -> Listing:
    listing = Listing()
    archive = _open(file)
    for info in archive.infolist():
        if info.is_dir():
            continue
        name = as_text(info.orig_filename)
        if name.lower().endswith(".ipa") and _expand_ipa(file, info, name, listing):
            continue
        listing.entries.append(Entry(name, info.compress_size, info.file_size))
        if name.rsplit("/", 1)[-1] == THINNING_REPORT:
            _read_report(archive, info, listing)
    return listing


def as_text(name: str) -> str:
    """An entry name as stored text: a NUL (which databases refuse) becomes U+FFFD."""
    return name.replace("\x00", "\ufffd")


def _open(file) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(file)
    except zipfile.BadZipFile as exc:
        raise NotAZip(f"not a zip file ({exc})") from None
    except UnicodeDecodeError:
        raise NotAZip("not a readable zip: entry names are not valid UTF-8") from None
    except (struct.error, ValueError, EOFError) as exc:
        raise NotAZip(
            f"not a readable zip: damaged central directory ({type(exc).__name__})"
        ) from None


def _expand_ipa(file, info: zipfile.ZipInfo, name: str, listing: Listing) -> bool:
    """List the entries of a stored `.ipa` in place of the `.ipa` itself; False if not read."""
    if info.compress_type != zipfile.ZIP_STORED:
        listing.notes.append(f"{name}: compressed inside the zip, so its contents were not read")
        return False
    try:
        file.seek(info.header_offset)
        header = file.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile("bad local header")
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        start = info.header_offset + 30 + name_length + extra_length
        inner = zipfile.ZipFile(Window(file, start, info.compress_size))
        entries = [
            Entry(as_text(i.orig_filename), i.compress_size, i.file_size)
            for i in inner.infolist()
            if not i.is_dir()
        ]
    except RangesRefused:
        listing.notes.append(f"{name}: not read, the download host refuses range requests")
        return False
    except (zipfile.BadZipFile, UnicodeDecodeError, ValueError, zlib.error):
        listing.notes.append(f"{name}: not a readable zip, listed as one file")
        return False
    listing.entries.extend(entries)
    return True


def _read_report(archive: zipfile.ZipFile, info: zipfile.ZipInfo, listing: Listing) -> None:
    if info.file_size > MAX_REPORT:
        listing.notes.append(f"{THINNING_REPORT}: larger than 1 MB, not read")
        return
    try:
        text = archive.read(info).decode("utf-8", "replace")
    except RangesRefused:
        listing.notes.append(f"{THINNING_REPORT}: not read, the host refuses range requests")
        return
    except (zipfile.BadZipFile, OSError, ValueError, zlib.error) as exc:
        listing.notes.append(f"{THINNING_REPORT}: unreadable ({type(exc).__name__})")
        return
    listing.thinning = parse_report(text)
