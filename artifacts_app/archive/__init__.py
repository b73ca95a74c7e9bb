"""Archive Xcode Cloud artifacts on our own storage: download, verify, retention, figures.

- `archive_artifacts(selection)`: fresh URL, streamed download, size and SHA-256 checks,
  atomic move into archive storage, one record per artifact.
- `verify_archive(selection)`: re-hash archived files; report missing and changed ones.
- `apply_retention(policy, dry_run=...)`: delete what the retention policy lets go.
- `archive_summary()`: figures for the dashboard.
- `download_name()`: Apple's file name, safe to hand back to a browser.
"""

from .download import Job, Outcome
from .paths import download_name, storage_name
from .progress import Progress
from .retention import RetentionPolicy, RetentionReport, apply_retention, candidates
from .selection import Selection
from .service import ADMIN_MAX_BYTES, ArchiveReport, archive_artifacts, pending, plan
from .storage import ArchiveError, archive_storage
from .summary import archive_summary
from .verify import VerifyReport, verify_archive

__all__ = [
    "ADMIN_MAX_BYTES",
    "ArchiveError",
    "ArchiveReport",
    "Job",
    "Outcome",
    "Progress",
    "RetentionPolicy",
    "RetentionReport",
    "Selection",
    "VerifyReport",
    "apply_retention",
    "archive_artifacts",
    "archive_storage",
    "archive_summary",
    "candidates",
    "download_name",
    "pending",
    "plan",
    "storage_name",
    "verify_archive",
]
