"""The sync: walks App Store Connect's Xcode Cloud resources and mirrors them in the database.

- `run.py`: `sync()`, one pass recorded as a `SyncRun`, under the account's lease.
- `queued.py`: `sync_queued()`, the runs Xcode Cloud webhooks queued, between passes.
- `walk.py`: `SyncPass`, the walk itself, one method per phase (recent runs, re-poll of
  unfinished runs, backfill), checking the hourly budget before every call.
- `fetch.py`: `RunFetcher`, the workers that fetch runs' actions and artifacts ahead of the
  writer (`--concurrency`), in list order.
- `writer.py`: `Writer` stores what the walk fetched, a build run with its actions and
  artifacts in one transaction; `DryRunWriter` only counts it.
- `upsert.py`: creates or updates rows of any mirror model by Apple's id.
- `columns.py`: Apple's records -> column values. `days.py`: the days whose daily totals
  the rollup must recount.

Rows that vanish upstream are kept and marked `gone_upstream_at`, never deleted.
"""

from .errors import SyncError, SyncStopped
from .queued import QueuedResult, sync_queued
from .run import sync
from .walk import ProgressEvent, SyncPass
from .writer import Counts, DryRunWriter, Writer

__all__ = [
    "Counts",
    "DryRunWriter",
    "ProgressEvent",
    "QueuedResult",
    "SyncError",
    "SyncPass",
    "SyncStopped",
    "Writer",
    "sync",
    "sync_queued",
]
