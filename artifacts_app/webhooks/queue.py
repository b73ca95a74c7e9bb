"""The queue of build runs that webhooks announced: enqueue, claim, finish.

Claims are taken with `SELECT ... FOR UPDATE SKIP LOCKED` (on PostgreSQL; SQLite has one
writer at a time and ignores it), so two `sync_artifacts --loop` workers never take the same
run. A claim is a lease: if its worker dies, another takes the run after `CLAIM_FOR`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from ..asc.errors import AscError, NotFoundError
from ..locks import LockBusy
from ..models.accounts import Account
from .models import QueuedRun, WebhookDelivery

CLAIM_FOR = timedelta(minutes=10)
MAX_BACKOFF = timedelta(minutes=15)
BUSY_PAUSE = timedelta(seconds=5)


@dataclass(frozen=True)
class Claim:
    run_id: str
    queued_at: datetime


def record_delivery(run_id: str, event_type: str, account: Account) -> bool:
    """Store a delivery and queue its run for `account` (whose webhook URL it came to);
    False for a redelivery, which queues nothing."""
    with transaction.atomic():
        delivery, created = WebhookDelivery.objects.get_or_create(
            run_asc_id=run_id, event_type=event_type, defaults={"account": account}
        )
        if not created:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(deliveries=F("deliveries") + 1)
            return False
        QueuedRun.objects.update_or_create(
            run_asc_id=run_id,
            defaults={
                "account": account,
                "queued_at": timezone.now(),
                "not_before": None,
                "attempts": 0,
            },
        )
    return True


def claim(owner: str, account: Account) -> Claim | None:
    """Take the account's oldest run that is due and that no live worker holds."""
    now = timezone.now()
    with transaction.atomic():
        row = (
            QueuedRun.objects.select_for_update(skip_locked=True)
            .filter(account=account)
            .filter(Q(claimed_until=None) | Q(claimed_until__lt=now))
            .filter(Q(not_before=None) | Q(not_before__lte=now))
            .order_by("queued_at")
            .first()
        )
        if row is None:
            return None
        row.claimed_by, row.claimed_until = owner, now + CLAIM_FOR
        row.attempts += 1
        row.save(update_fields=["claimed_by", "claimed_until", "attempts"])
    return Claim(row.run_asc_id, row.queued_at)


def finish(taken: Claim, error: str = "") -> None:
    """The run was fetched (or cannot be): dequeue it unless a newer delivery came meanwhile."""
    now = timezone.now()
    with transaction.atomic():
        WebhookDelivery.objects.filter(
            run_asc_id=taken.run_id, synced_at=None, received_at__lte=taken.queued_at
        ).update(synced_at=now, error=error)
        dequeued, _ = QueuedRun.objects.filter(
            run_asc_id=taken.run_id, queued_at=taken.queued_at
        ).delete()
        if not dequeued:  # a newer event arrived while the run was fetched: fetch it again
            _release(taken, attempts=0)


def fail(taken: Claim, error: str) -> None:
    """A fetch that may succeed later: back off exponentially, keep the reason visible."""
    row = QueuedRun.objects.filter(run_asc_id=taken.run_id).first()
    attempts = row.attempts if row else 1
    delay = min(timedelta(seconds=5 * 2 ** (attempts - 1)), MAX_BACKOFF)
    _release(taken, not_before=timezone.now() + delay, error=error)


def release(taken: Claim, wait: timedelta | None = None) -> None:
    """Give the run back untried (the worker is stopping, or another holds its product)."""
    not_before = timezone.now() + wait if wait else None
    _release(taken, attempts=0, not_before=not_before)


def _release(taken: Claim, **changes) -> None:
    QueuedRun.objects.filter(run_asc_id=taken.run_id).update(
        claimed_by="", claimed_until=None, **changes
    )


def drain(
    fetch_run: Callable[[str], None],
    owner: str,
    account: Account,
    should_stop: Callable[[], bool] = lambda: False,
) -> int:
    """Fetch every queued run of `account` that is due, oldest first; returns how many were fetched.

    `fetch_run(run_id)` syncs one run from the API. A run the API does not know (404) is
    dequeued with that as its error; another API error leaves it queued with backoff; a run
    whose product another worker is syncing waits a few seconds."""
    fetched = 0
    while not should_stop():
        taken = claim(owner, account)
        if taken is None:
            break
        try:
            fetch_run(taken.run_id)
        except NotFoundError:
            finish(taken, error="the API does not know this build run (404): nothing fetched")
        except LockBusy:
            release(taken, wait=BUSY_PAUSE)  # a pass on another worker holds the product
        except AscError as exc:
            fail(taken, error=" ".join(str(exc).split())[:500])
            raise
        except BaseException:
            release(taken)
            raise
        else:
            finish(taken)
            fetched += 1
    return fetched
