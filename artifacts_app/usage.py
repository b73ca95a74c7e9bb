"""Estimated Xcode Cloud compute usage, from the build actions' start and finish times.

Apple bills Xcode Cloud by compute hours and offers no API for the figure. What it bills
is close to the time the actions ran, so the estimate sums `finishedDate - startedDate` of
every finished action; the wait before an action starts is not counted. A run belongs to
the period of its `createdDate` in UTC, like its artifacts in the size figures.

Each function returns plain dicts, ready for `JsonResponse` or `json_script`.
"""

from __future__ import annotations

import calendar
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from django.db.models import Count, DurationField, Exists, ExpressionWrapper, F, OuterRef, Sum
from django.db.models.functions import TruncDay, TruncMonth, TruncWeek
from django.utils import timezone

from .models import CiArtifact, CiBuildAction, ExecutionProgress
from .scope import Scope

TRUNC = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}
HOW = (
    "An estimate: the sum of each finished build action's run time (finish minus start), "
    "as App Store Connect reports them, for runs created in each period (UTC). Apple's "
    "bill may round or count differently."
)


def finished_actions(f: Scope):
    """Finished actions of runs created in the range, narrowed like the size figures.

    A file type filter keeps the actions that produced an artifact of that type (an
    ARCHIVE filter measures the archive actions)."""
    actions = f.of_accounts(CiBuildAction.objects).filter(
        execution_progress=ExecutionProgress.COMPLETE,
        started_date__isnull=False,
        finished_date__gte=F("started_date"),
        build_run__created_date__gte=f.start_datetime,
        build_run__created_date__lt=f.end_datetime,
    )
    if f.product_pks:
        actions = actions.filter(build_run__product_id__in=f.product_pks)
    if f.workflow_pks:
        actions = actions.filter(build_run__workflow_id__in=f.workflow_pks)
    if f.file_types:
        produced = CiArtifact.objects.filter(
            build_action=OuterRef("pk"), file_type__in=f.file_types
        )
        actions = actions.filter(Exists(produced))
    return actions


def usage_series(f: Scope) -> list[dict]:
    """Runs and compute minutes per period and workflow, sorted by period, then workflow."""
    run_time = ExpressionWrapper(F("finished_date") - F("started_date"), DurationField())
    rows = (
        finished_actions(f)
        .values(
            "build_run__workflow__asc_id",
            "build_run__workflow__name",
            period=TRUNC[f.granularity]("build_run__created_date", tzinfo=UTC),
        )
        .annotate(runs=Count("build_run", distinct=True), compute=Sum(run_time))
        .order_by()
    )
    series = [
        {
            "period": _day(row["period"]).isoformat(),
            "workflow": (
                {"id": row["build_run__workflow__asc_id"], "name": row["build_run__workflow__name"]}
                if row["build_run__workflow__asc_id"]
                else None
            ),
            "runs": row["runs"],
            "compute_minutes": round(_seconds(row["compute"]) / 60, 2),
        }
        for row in rows
    ]
    series.sort(key=lambda r: (r["period"], (r["workflow"] or {}).get("name", ""), _id(r)))
    return series


def usage_payload(f: Scope) -> dict:
    series = usage_series(f)
    return {
        "granularity": f.granularity,
        "start": f.start.isoformat(),
        "end": f.end.isoformat(),
        "estimate": HOW,
        "total_compute_minutes": round(sum(row["compute_minutes"] for row in series), 2),
        "series": series,
    }


def monthly_chart(f: Scope, plan_hours: int) -> dict:
    """Compute hours per month, one dataset per workflow, and the plan's hours per month."""
    series = usage_series(f)
    months = sorted({row["period"] for row in series})
    workflows: dict[str, dict] = {}
    for row in series:
        workflow = row["workflow"] or {"id": "", "name": "(no workflow)"}
        entry = workflows.setdefault(
            workflow["id"], {"name": workflow["name"], "hours": dict.fromkeys(months, 0.0)}
        )
        entry["hours"][row["period"]] += row["compute_minutes"] / 60
    return {
        "months": months,
        "plan_hours": plan_hours,
        "workflows": [
            {"name": entry["name"], "hours": [round(entry["hours"][m], 2) for m in months]}
            for entry in sorted(workflows.values(), key=lambda e: e["name"])
        ],
    }


def burn_rate(f: Scope, plan_hours: int, now: datetime | None = None) -> dict:
    """This month so far: hours used, the pace per day, where the month ends at that pace,
    and the day the plan's hours run out (None when the pace stays within the plan)."""
    now = now or timezone.now()
    today = now.astimezone(UTC).date()
    first = today.replace(day=1)
    days_in_month = calendar.monthrange(today.year, today.month)[1]
    month = replace(f, start=first, end=today, granularity="month")
    run_time = ExpressionWrapper(F("finished_date") - F("started_date"), DurationField())
    used = _seconds(finished_actions(month).aggregate(total=Sum(run_time))["total"]) / 3600
    elapsed_days = (now - datetime.combine(first, datetime.min.time(), UTC)) / timedelta(days=1)
    per_day = used / elapsed_days if elapsed_days > 0 else 0.0
    projected = per_day * days_in_month
    # The day this pace reaches the plan's hours (already past when the month is over plan).
    runs_out = first + timedelta(days=plan_hours / per_day) if projected > plan_hours else None
    return {
        "month": first.isoformat(),
        "used_hours": round(used, 1),
        "per_day_hours": round(per_day, 2),
        "projected_hours": round(projected, 1),
        "plan_hours": plan_hours,
        "projected_share": projected / plan_hours if plan_hours else None,
        "runs_out_on": runs_out.isoformat() if runs_out else None,
    }


def _seconds(value) -> float:
    # PostgreSQL sums intervals into a timedelta; SQLite's backend hands one back as well.
    if value is None:
        return 0.0
    if isinstance(value, timedelta):
        return value.total_seconds()
    return value / 1_000_000  # microseconds, where a backend returns the raw number


def _day(value) -> date:
    return value.astimezone(UTC).date() if isinstance(value, datetime) else value


def _id(row: dict) -> str:
    return (row["workflow"] or {}).get("id", "")
