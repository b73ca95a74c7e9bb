"""What the sync health page shows staff: recent passes, the API budget, backfill progress.

`/healthz` stays the short machine-readable summary (`health.py`); this is the long form
for a person asking "is the sync keeping up, and when will the history be complete?".
"""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, OuterRef, Subquery
from django.utils import timezone

from .health import sync_health
from .models import CiBuildAction, CiBuildRun, ProductSyncState, SyncRun

RECENT_PASSES = 30
RUNS_PER_PAGE = 200  # build runs per list call: the backfill pages through them
ROLLING_HOUR = timedelta(hours=1)


def sync_overview(user, now=None) -> dict:
    """The page for `user`: passes and products of the accounts they may see only."""
    now = now or timezone.now()
    passes = list(SyncRun.objects.visible_to(user).order_by("-started_at")[:RECENT_PASSES])
    return {
        "health": sync_health(now=now, with_errors=True),
        "passes": passes,
        "budget": _budget(passes, now),
        "backfill": backfill_progress(user),
        "next_pass": _next_pass(passes, now),
    }


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


def backfill_progress(user) -> list[dict]:
    """Per product: how far back the stored history reaches, and roughly what is left.

    Runs are numbered upwards from 1 and the backfill walks down, so about
    `oldest_synced_number - 1` runs are still to fetch. Each costs one call for its actions
    and one per action for its artifacts, plus a list call per 200 runs."""
    oldest_run = CiBuildRun.objects.filter(
        product=OuterRef("product"), number=OuterRef("oldest_synced_number")
    ).values("created_date")[:1]
    states = (
        ProductSyncState.objects.visible_to(user)
        .select_related("product")
        .annotate(oldest_date=Subquery(oldest_run))
        .order_by("product__name", "pk")
    )
    runs = CiBuildRun.objects.visible_to(user).aggregate(n=Count("pk"))["n"]
    actions_per_run = CiBuildAction.objects.visible_to(user).count() / runs if runs else 1.0
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
