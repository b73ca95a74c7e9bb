"""`sync_queued()`: fetch the build runs that Xcode Cloud webhooks queued, between passes.

Each run costs what `SyncPass.one_run` says: the run, its actions and its new artifacts.
Passes drain the same queue first, so a run is fetched by whichever worker comes first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from .. import locks
from ..asc.client import AscClient
from ..asc.errors import AscError
from ..connection import client_for, key_identity
from ..models import Account, default_account
from ..webhooks import queue
from ..webhooks.models import QueuedRun
from .errors import SyncError, SyncStopped
from .walk import SyncPass
from .writer import Writer


@dataclass(frozen=True)
class QueuedResult:
    runs: int = 0
    api_calls: int = 0


def queue_is_due(account: Account) -> bool:
    """Whether a queued run of the account waits that no live worker holds (one cheap query)."""
    now = timezone.now()
    return (
        QueuedRun.objects.filter(account=account)
        .filter(Q(claimed_until=None) | Q(claimed_until__lt=now))
        .filter(Q(not_before=None) | Q(not_before__lte=now))
        .exists()
    )


def sync_queued(
    client: AscClient | None = None,
    should_stop: Callable[[], bool] | None = None,
    account: Account | None = None,
) -> QueuedResult:
    """Fetch every queued run of the account (default: `default`) that is due. Raises
    SyncError (one line) when the API refuses; returns at once when another sync holds the
    account (it takes the queue itself), or when the key is not the one of the account's last
    good pass (the next pass checks the key's team first)."""
    account = account or default_account()
    if not queue_is_due(account):
        return QueuedResult()
    try:
        client = client or client_for(account)
    except AscError as exc:
        raise SyncError(str(exc)) from None
    account.refresh_from_db(fields=["synced_key"])
    if account.synced_key and account.synced_key != key_identity(client):
        return QueuedResult()
    calls_before = client.calls
    writer = Writer(timezone.now(), account, locks.per_product_locks())
    # One run at a time: a queued run's calls depend on each other, nothing to fetch ahead.
    walk = SyncPass(client, writer, reserve=account.hourly_reserve, should_stop=should_stop)
    runs = 0
    try:
        with writer.account_lease() as held:
            walk.renew = held.renew if held else None
            runs = queue.drain(walk.one_run, locks.process_id(), writer.account, walk.should_stop)
    except (locks.LockBusy, SyncStopped):
        pass  # a pass elsewhere holds the account, or the budget or a stop says wait
    except AscError as exc:
        raise SyncError(" ".join(str(exc).split())) from None
    finally:
        walk.close()
        writer.finish(rebuild=False)
    return QueuedResult(runs, client.calls - calls_before)
