"""What the sync health page shows staff: recent passes, the API budget, backfill progress,
the queue of runs webhooks announced; per App Store Connect account.

`/healthz` stays the short machine-readable summary (`health.py`); this is the long form
for a person asking "is the sync keeping up, and when will the history be complete?".
Each figure is read for a set of account ids, so a caller that may show only some accounts
passes just those.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.db.models import Count, Max, Min, OuterRef, Q, Subquery
from django.utils import timezone

from .health import overall_errors_for, sync_health
from .models import Account, CiBuildAction, CiBuildRun, ProductSyncState, SyncRun
from .webhooks.models import QueuedRun, WebhookDelivery

RECENT_PASSES = 30
RUNS_PER_PAGE = 200  # build runs per list call: the backfill pages through them
ROLLING_HOUR = timedelta(hours=1)
RECENT_DELIVERIES = timedelta(hours=24)
CLAIMS_SHOWN = 10


def sync_overview(user, now=None) -> dict:
    """The page for `user`: one section per account they may see, grouped under the
    accounts' names only when there are several."""
    now = now or timezone.now()
    accounts = list(Account.objects.visible_to(user).order_by("name"))
    return {
        "health": sync_health(now=now, with_errors=overall_errors_for(user), user=user),
        "sections": [account_status(account, now) for account in accounts],
        "grouped": len(accounts) > 1,
    }


def account_status(account: Account, now) -> dict:
    passes = recent_passes([account.pk])
    return {
        "account": account,
        "passes": passes,
        "budget": _budget(passes, now),
        "backfill": backfill_progress([account.pk]),
        "next_pass": _next_pass(passes, now),
        "webhooks": webhook_queue([account.pk], now),
    }


def recent_passes(account_ids: Iterable[int]) -> list[SyncRun]:
    return list(SyncRun.objects.of_accounts(account_ids).order_by("-started_at")[:RECENT_PASSES])


def _budget(passes, now) -> dict | None:
    """Calls left when the last pass that saw the header ended. Apple's hour is rolling: the
    calls made up to then have all aged out an hour after it, so the whole budget is back
    by that time unless other tools use the key."""
    seen = next((p for p in passes if p.rate_limit_remaining is not None and p.finished_at), None)
    if seen is None:
        return None
    refilled_at = seen.finished_at + ROLLING_HOUR
    return {
        "remaining": seen.rate_limit_remaining,
        "seen_at": seen.finished_at,
        "refilled_at": refilled_at,
        "refilled": refilled_at <= now,
    }


def _next_pass(passes, now) -> dict | None:
    """When a running `sync_artifacts --loop` starts its next pass; overdue when the loop
    should have started it a while ago (stopped, or stuck in a long pass)."""
    latest = passes[0] if passes else None
    if latest is None or latest.next_pass_at is None:
        return None
    return {"at": latest.next_pass_at, "overdue": now - latest.next_pass_at > timedelta(minutes=5)}


def webhook_queue(account_ids: Iterable[int], now) -> dict:
    """The runs webhooks queued and the sync has not fetched: how many, how long the oldest
    has waited, which a worker holds now, which back off after a failed fetch; and how many
    deliveries came in the last day."""
    account_ids = list(account_ids)
    queued = QueuedRun.objects.of_accounts(account_ids)
    claimed = Q(claimed_until__gt=now)
    figures = queued.aggregate(
        total=Count("pk"),
        claimed=Count("pk", filter=claimed),
        backing_off=Count("pk", filter=~claimed & Q(not_before__gt=now)),
        oldest=Min("queued_at"),
    )
    deliveries = WebhookDelivery.objects.of_accounts(account_ids).aggregate(
        recent=Count("pk", filter=Q(received_at__gte=now - RECENT_DELIVERIES)),
        latest=Max("received_at"),
    )
    return {
        **figures,
        "oldest_wait": now - figures["oldest"] if figures["oldest"] else None,
        "claims": list(queued.filter(claimed).order_by("queued_at")[:CLAIMS_SHOWN]),
        "failing": list(
            queued.filter(~claimed, not_before__gt=now)
            .exclude(error="")
            .order_by("queued_at")[:CLAIMS_SHOWN]
        ),
        "recent_deliveries": deliveries["recent"],
        "latest_delivery": deliveries["latest"],
    }


def backfill_progress(account_ids: Iterable[int] | None = None) -> list[dict]:
    """Per product (of these accounts; default all): how far back the stored history
    reaches, and roughly what is left.

    Runs are numbered upwards from 1 and the backfill walks down, so about
    `oldest_synced_number - 1` runs are still to fetch. Each costs one call for its actions
    and one per action for its artifacts, plus a list call per 200 runs."""
    oldest_run = CiBuildRun.objects.filter(
        product=OuterRef("product"), number=OuterRef("oldest_synced_number")
    ).values("created_date")[:1]
    states = ProductSyncState.objects.select_related("product")
    runs = CiBuildRun.objects.all()
    actions = CiBuildAction.objects.all()
    if account_ids is not None:
        account_ids = list(account_ids)
        states = states.filter(product__account_id__in=account_ids)
        runs, actions = runs.of_accounts(account_ids), actions.of_accounts(account_ids)
    states = states.annotate(oldest_date=Subquery(oldest_run)).order_by("product__name", "pk")
    run_count = runs.aggregate(n=Count("pk"))["n"]
    actions_per_run = actions.count() / run_count if run_count else 1.0
    rows = []
    for state in states:
        runs_left = 0 if state.backfill_complete else max((state.oldest_synced_number or 1) - 1, 0)
        calls_left = runs_left * (1 + actions_per_run) + -(-runs_left // RUNS_PER_PAGE)
        rows.append(
            {
                "product": state.product.name,
                "complete": state.backfill_complete,
                "back_to": state.oldest_date,
                "runs_left": runs_left,
                "calls_left": round(calls_left),
                "last_synced_at": state.last_synced_at,
                "last_full_sync_at": state.last_full_sync_at,
            }
        )
    return rows
