"""`sync()`: one pass, recorded as a `SyncRun` that the history and /healthz read."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.utils import timezone

from .. import locks
from ..asc.client import AscClient
from ..asc.errors import AscError
from ..connection import client_for, uses_settings
from ..models import Account, SyncRun, default_account
from ..webhooks import queue
from .errors import SyncError, SyncStopped
from .team import check_team
from .walk import ProgressEvent, SyncPass
from .writer import DryRunWriter, Writer

logger = logging.getLogger(__name__)

MAX_CONCURRENCY = 16  # workers a pass may use: more only queue behind Apple's latency


def sync(
    client: AscClient | None = None,
    products: Iterable[str] | None = None,
    full: bool = False,
    dry_run: bool = False,
    reserve: int | None = None,
    should_stop: Callable[[], bool] | None = None,
    progress: Callable[[ProgressEvent], None] | None = None,
    account: Account | None = None,
    concurrency: int | None = None,
) -> SyncRun:
    """Run one sync pass and return its `SyncRun` (SUCCEEDED, PARTIAL or FAILED).

    `concurrency`: how many workers fetch runs' actions and artifacts (default
    `SYNC_CONCURRENCY`); 1 fetches one call after another.

    Raises `SyncError` when the pass cannot start (no usable key, another sync running);
    a pass without a usable key is recorded as FAILED first, so /healthz reports it. A pass
    that fails once started is recorded as FAILED and returned. `account` (default: the
    account `default`) gives the key, base URL and reserve; only its rows are read or written.
    """
    product_ids = [p for p in (products or []) if p]
    account = account or default_account()
    if client is None:
        try:
            client = client_for(account)
        except AscError as exc:
            error = _one_line(str(exc))
            SyncRun.objects.create(
                account=account,
                full=full,
                dry_run=dry_run,
                products=",".join(product_ids)[:500],
                status=SyncRun.Status.FAILED,
                error=error,
                finished_at=timezone.now(),
            )
            raise SyncError(error) from None
    reserve = account.hourly_reserve if reserve is None else max(0, reserve)
    client.rate_limit = None  # what an earlier pass saw is out of date: the hour rolls on
    now = timezone.now()
    if dry_run:
        writer = DryRunWriter(now, account)
    else:
        writer = Writer(now, account, locks.per_product_locks())
    if concurrency is None:
        concurrency = settings.SYNC_CONCURRENCY
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise SyncError(f"SYNC_CONCURRENCY must be from 1 to {MAX_CONCURRENCY}")
    walk = SyncPass(client, writer, full, reserve, should_stop, progress, concurrency)
    try:
        with writer.account_lease() as held:
            walk.renew = held.renew if held else None
            return _record_pass(walk, full, dry_run, product_ids)
    except locks.LockBusy as exc:
        raise SyncError(f"{exc}; this pass did nothing") from None
    finally:
        walk.close()


def _record_pass(walk: SyncPass, full: bool, dry_run: bool, product_ids: list[str]) -> SyncRun:
    client = walk.client
    calls_before, rate_limited_before = client.calls, client.rate_limited
    _close_abandoned_passes()
    run = SyncRun.objects.create(
        account=walk.writer.account,
        full=full,
        dry_run=dry_run,
        products=",".join(product_ids)[:500],
        owner=locks.process_id(),
    )
    started = time.monotonic()
    status, error = SyncRun.Status.SUCCEEDED, ""
    try:
        walk.writer.begin()
        # Before anything is written, webhook runs included: is this key the account's team?
        check_team(walk, product_ids)
        if not dry_run:
            # Runs that webhooks announced come first: someone is waiting for them.
            queue.drain(walk.one_run, locks.process_id(), walk.writer.account, walk.should_stop)
        walk.run(product_ids)
    except SyncStopped as exc:
        status, error = SyncRun.Status.PARTIAL, str(exc)
    except (AscError, SyncError, locks.LockLost) as exc:
        error = _for_account(str(exc), walk.writer.account)
        status, error = SyncRun.Status.FAILED, _one_line(error)
    except BaseException as exc:
        # A bug or an interrupt: record it, then let it propagate with its traceback.
        walk.writer.finish(rebuild=full)
        error = f"{type(exc).__name__}: {_one_line(str(exc))}"
        _finish(
            run,
            walk,
            SyncRun.Status.FAILED,
            error,
            client.calls - calls_before,
            client.rate_limited - rate_limited_before,
        )
        raise
    # A full pass recounts every day; any pass recounts the days it touched.
    walk.writer.finish(rebuild=full)
    notes = []
    if status != SyncRun.Status.FAILED and walk.skipped_products:
        notes.append(f"skipped {len(walk.skipped_products)} product(s) another sync is working on")
    if walk.writer.foreign:
        notes.append(
            f"left {len(walk.writer.foreign)} record(s) alone that another account mirrors "
            "(the same team's data under two accounts?)"
        )
    if walk.skipped_records:
        shown = ", ".join(walk.skipped_records[:3]) + (
            ", …" if len(walk.skipped_records) > 3 else ""
        )
        notes.append(
            f"skipped {len(walk.skipped_records)} record(s) whose id cannot be stored ({shown})"
        )
    error = "; ".join(([error] if error else []) + notes)
    _finish(
        run,
        walk,
        status,
        error,
        client.calls - calls_before,
        client.rate_limited - rate_limited_before,
    )
    logger.info("sync %s in %.1fs", status, time.monotonic() - started)
    return run


def _close_abandoned_passes() -> None:
    """Passes left "running" by a process that no longer exists on this machine (killed)
    are recorded as failed, so the history and /healthz tell the truth about them."""
    running = SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exclude(owner="")
    dead = [run.pk for run in running.only("pk", "owner") if locks.holder_is_dead(run.owner)]
    SyncRun.objects.filter(pk__in=dead, status=SyncRun.Status.RUNNING).update(
        status=SyncRun.Status.FAILED,
        error="the sync process ended before the pass finished (killed?); later passes continue",
        finished_at=timezone.now(),
    )


def _finish(
    run: SyncRun, walk: SyncPass, status: str, error: str, calls: int, rate_limited: int
) -> None:
    counts = walk.writer.counts
    run.status = status
    run.error = error
    run.created, run.updated = counts.created, counts.updated
    run.unchanged, run.gone = counts.unchanged, counts.gone
    run.api_calls = calls
    run.rate_limited_calls = rate_limited
    rate_limit = walk.client.rate_limit
    run.rate_limit_remaining = rate_limit.remaining if rate_limit else None
    run.finished_at = timezone.now()
    run.save()


def _for_account(text: str, account: Account) -> str:
    """The client's hints name the ASC_* settings; a stored account's key is fixed elsewhere."""
    if uses_settings(account):
        return text
    return text.replace(
        "check ASC_KEY_ID/ASC_ISSUER_ID",
        f"check the key id and issuer id of account {account.name} (asc_account list)",
    )


def _one_line(text: str, limit: int = 500) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
