"""Every figure the dashboard shows, computed in the database.

An artifact belongs to its build run's `createdDate` in UTC (`CiArtifact.run_created_date`);
a week starts on Monday, a month on its first day. Counts and sizes per period come from
`ArtifactDailyTotal`, a per-day rollup of `CiArtifact` that `refresh_rollup()` keeps up to date
(the sync calls it after each pass, and every reader folds in artifacts added since, so the
figures are never behind the mirror rows). Medians cannot be summed, so the per-workflow
trend and regressions first add up each run's bytes in the database, take a bounded number of
those per-run sums, and compute medians over that short list in Python.

Artifacts marked `gone_upstream_at` still count, in the rollup, the API and the CSV alike:
Apple expires artifacts after a while, and the sizes a build produced are history that should
not shrink when Apple prunes the files.

Each function takes `Filters` and returns plain dicts or lists, ready for `JsonResponse` or
`json_script`.
"""

from datetime import UTC, date, datetime, timedelta
from statistics import median

from django.db import transaction
from django.db.models import Count, Exists, F, Max, Min, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDay

from .filters import Filters
from .models import (
    ArchivedArtifact,
    ArtifactDailyTotal,
    ArtifactDailyTypeTotal,
    ArtifactRollupState,
    CiArtifact,
    CiBuildRun,
    CiWorkflow,
    FileType,
    enum_label,
)

# How many artifacts the per-run sums of the trend and the regression check read at most.
RUN_SUMS_LIMIT = 3000


# --- The rollup --------------------------------------------------------------------------


def refresh_rollup(rebuild: bool = False, days=()) -> int:
    """Fold artifacts added since the last refresh into `ArtifactDailyTotal`.

    Every day that gained an artifact is recounted from `CiArtifact` (delete, then insert the
    day's GROUP BY), so a refresh is idempotent and never counts a row twice. New rows are
    found by id; a writer that changes existing artifacts (a size, or a run's date, workflow
    or product) passes the UTC `days` they left and joined. `rebuild` recounts everything.
    Returns the number of rollup rows written.
    """
    with transaction.atomic():
        state, _ = ArtifactRollupState.objects.select_for_update().get_or_create(pk=1)
        top = CiArtifact.objects.aggregate(top=Max("id"))["top"] or 0
        if rebuild:
            ArtifactDailyTotal.objects.all().delete()
            ArtifactDailyTypeTotal.objects.all().delete()
            new = CiArtifact.objects.filter(id__lte=top)
        elif top == state.last_artifact_id and not days:
            return 0
        else:
            new = CiArtifact.objects.filter(id__gt=state.last_artifact_id, id__lte=top)
        bounds = new.aggregate(low=Min("run_created_date"), high=Max("run_created_date"))
        written, recounted = 0, None
        if bounds["low"] is not None:
            recounted = (_utc_date(bounds["low"]), _utc_date(bounds["high"]))
            written = _recount_days(*recounted)
        for day in sorted({_utc_date(day) for day in days}):
            if recounted is None or not recounted[0] <= day <= recounted[1]:
                written += _recount_days(day, day)
        state.last_artifact_id = top
        state.save()
    return written


def ensure_rollup():
    """Refresh the rollup if artifacts were added since (two cheap queries when it is fresh)."""
    top = CiArtifact.objects.aggregate(top=Max("id"))["top"] or 0
    done = ArtifactRollupState.objects.filter(pk=1).values_list("last_artifact_id", flat=True)
    if top != (done.first() or 0):
        refresh_rollup()


def _recount_days(first: date, last: date) -> int:
    ArtifactDailyTotal.objects.filter(day__gte=first, day__lte=last).delete()
    ArtifactDailyTypeTotal.objects.filter(day__gte=first, day__lte=last).delete()
    rows = (
        CiArtifact.objects.filter(
            run_created_date__gte=_midnight(first),
            run_created_date__lt=_midnight(last + timedelta(days=1)),
        )
        .values(
            "product_id",
            "workflow_id",
            "file_type",
            bucket=TruncDay("run_created_date", tzinfo=UTC),
        )
        .annotate(n=Count("id"), size=Coalesce(Sum("file_size"), 0))
        .order_by()
    )
    totals = []
    for row in rows.iterator(chunk_size=5000):
        day = _utc_date(row["bucket"])
        totals.append(
            ArtifactDailyTotal(
                day=day,
                week=day - timedelta(days=day.weekday()),
                month=day.replace(day=1),
                product_id=row["product_id"],
                workflow_id=row["workflow_id"],
                file_type=row["file_type"],
                count=row["n"],
                bytes=row["size"],
            )
        )
    ArtifactDailyTotal.objects.bulk_create(totals, batch_size=2000)
    by_type = (
        ArtifactDailyTotal.objects.filter(day__gte=first, day__lte=last)
        .values("day", "week", "month", "file_type")
        .annotate(n=Sum("count"), size=Sum("bytes"))
        .order_by()
    )
    ArtifactDailyTypeTotal.objects.bulk_create(
        (
            ArtifactDailyTypeTotal(
                day=row["day"],
                week=row["week"],
                month=row["month"],
                file_type=row["file_type"],
                count=row["n"],
                bytes=row["size"],
            )
            for row in by_type
        ),
        batch_size=2000,
    )
    return len(totals)


# --- Counts and sizes per period ---------------------------------------------------------


def _in_scope(qs, f: Filters):
    """`qs` narrowed to the products and workflows asked for (rows carry both ids)."""
    if f.product_pks:
        qs = qs.filter(product_id__in=f.product_pks)
    if f.workflow_pks:
        qs = qs.filter(workflow_id__in=f.workflow_pks)
    return qs


def _daily(f: Filters, dated: bool = True):
    """The smallest rollup that answers for these filters."""
    if f.product_pks or f.workflow_pks:
        qs = ArtifactDailyTotal.objects.all()
    else:
        qs = ArtifactDailyTypeTotal.objects.all()
    if dated:
        qs = qs.filter(day__gte=f.start, day__lte=f.end)
    qs = _in_scope(qs, f)
    if f.file_types:
        qs = qs.filter(file_type__in=f.file_types)
    return qs


def totals(f: Filters, dated: bool = True) -> dict:
    """Artifact count and bytes in the range (or of all time when `dated` is false)."""
    result = _daily(f, dated).aggregate(
        count=Coalesce(Sum("count"), 0), bytes=Coalesce(Sum("bytes"), 0)
    )
    return {"count": result["count"], "bytes": result["bytes"]}


def series(f: Filters) -> list[dict]:
    """Count and bytes per period and file type, sorted; empty combinations left out."""
    rows = (
        _daily(f)
        .values("file_type", period=F(f.granularity))
        .annotate(count=Sum("count"), bytes=Sum("bytes"))
        .order_by("period", "file_type")
    )
    return [
        {
            "period": row["period"].isoformat(),
            "file_type": row["file_type"],
            "count": row["count"],
            "bytes": row["bytes"],
        }
        for row in rows
    ]


def stats_payload(f: Filters) -> dict:
    """The body of GET /api/v1/stats."""
    ensure_rollup()
    return {
        "granularity": f.granularity,
        "start": f.start.isoformat(),
        "end": f.end.isoformat(),
        "totals": totals(f),
        "series": series(f),
    }


def share_by_type(f: Filters) -> list[dict]:
    """Bytes and count per file type in the range, largest first, with each type's share."""
    rows = list(
        _daily(f)
        .values("file_type")
        .annotate(count=Sum("count"), bytes=Sum("bytes"))
        .order_by("-bytes", "file_type")
    )
    total = sum(row["bytes"] for row in rows)  # a handful of types, already aggregated
    return [
        {
            "file_type": row["file_type"],
            "label": _type_label(row["file_type"]),
            "count": row["count"],
            "bytes": row["bytes"],
            "share": row["bytes"] / total if total else 0.0,
        }
        for row in rows
    ]


def kpis(f: Filters) -> dict:
    """The dashboard's cards: all-time totals, the range, and the change against the range
    of equal length just before it (same product, workflow and type filters)."""
    all_time = totals(f, dated=False)
    current = totals(f)
    previous = totals(f.previous())
    change = current["bytes"] - previous["bytes"]
    return {
        "artifacts": all_time["count"],
        "bytes": all_time["bytes"],
        "range_count": current["count"],
        "range_bytes": current["bytes"],
        "previous_bytes": previous["bytes"],
        "previous_start": f.previous().start.isoformat(),
        "previous_end": f.previous().end.isoformat(),
        "change_bytes": change,
        "change_ratio": change / previous["bytes"] if previous["bytes"] else None,
    }


def periods(f: Filters) -> list[str]:
    """The first day of every bucket that meets the range, in order."""
    first = _bucket(f.start, f.granularity)
    result = []
    current = first
    while current <= f.end:
        result.append(current.isoformat())
        if f.granularity == "day":
            current += timedelta(days=1)
        elif f.granularity == "week":
            current += timedelta(days=7)
        else:
            current = (current.replace(day=28) + timedelta(days=4)).replace(day=1)
    return result


# --- Per-run sums: trend, regressions, latest runs ----------------------------------------


def _run_sums(f: Filters, file_type: str) -> tuple[list[dict], bool]:
    """Bytes of `file_type` per build run, newest first, up to the end of the range.

    Summed in the database over the newest RUN_SUMS_LIMIT artifacts of that type (found by
    an index scan that stops there), so the GROUP BY reads a bounded slice however long the
    history is; the trend and regression checks compute medians over this bounded list.
    Also says whether older artifacts were left out.
    """
    qs = CiArtifact.objects.filter(
        file_type=file_type,
        workflow__isnull=False,
        run_created_date__lt=f.end_datetime,
    )
    qs = _in_scope(qs, f)
    newest = qs.order_by("-run_created_date").values_list("run_created_date", flat=True)
    cutoff = list(newest[RUN_SUMS_LIMIT - 1 : RUN_SUMS_LIMIT])
    if cutoff:
        qs = qs.filter(run_created_date__gte=cutoff[0])
    rows = (
        qs.values("build_run_id", "workflow_id", "run_created_date")
        .annotate(bytes=Coalesce(Sum("file_size"), 0))
        .order_by("-run_created_date", "-build_run_id")
    )
    return list(rows), bool(cutoff)


def trend_and_regressions(f: Filters) -> dict:
    """Per-workflow median and max bytes of `f.trend_type` per period, and its regressions.

    A regression is a run whose bytes of that type exceed the median of the workflow's
    previous `f.regression_window` runs by more than `f.regression_threshold`.
    """
    rows, truncated = _run_sums(f, f.trend_type)
    by_workflow: dict[int, list[dict]] = {}
    for row in reversed(rows):  # oldest first; a bounded list of per-run sums
        by_workflow.setdefault(row["workflow_id"], []).append(row)

    labels = periods(f)
    start = f.start_datetime
    regressions = []
    datasets = []
    found = list(CiWorkflow.objects.filter(pk__in=by_workflow).values_list("pk", "name", "asc_id"))
    names = {pk: name for pk, name, _ in found}
    asc_ids = {pk: asc_id for pk, _, asc_id in found}
    for workflow_id, runs in by_workflow.items():
        per_period: dict[str, list[int]] = {}
        for index, run in enumerate(runs):
            if run["run_created_date"] < start:
                continue
            period = _bucket(_utc_date(run["run_created_date"]), f.granularity).isoformat()
            per_period.setdefault(period, []).append(run["bytes"])
            window = [r["bytes"] for r in runs[max(0, index - f.regression_window) : index]]
            if len(window) == f.regression_window:
                baseline = median(window)
                if baseline and run["bytes"] > baseline * (1 + f.regression_threshold):
                    regressions.append(
                        {
                            "build_run_pk": run["build_run_id"],
                            "workflow": asc_ids[workflow_id],
                            "workflow_name": names[workflow_id],
                            "period": period,
                            "created_date": run["run_created_date"],
                            "bytes": run["bytes"],
                            "baseline": int(baseline),
                            "growth": run["bytes"] / baseline - 1,
                        }
                    )
        if not per_period:
            continue
        datasets.append(
            {
                "workflow": asc_ids[workflow_id],
                "name": names[workflow_id],
                "median": [_median_or_none(per_period.get(p)) for p in labels],
                "max": [max(per_period[p]) if p in per_period else None for p in labels],
            }
        )
    datasets.sort(key=lambda d: d["name"].lower())
    _attach_runs(regressions)
    regressions.sort(key=lambda r: r["created_date"], reverse=True)
    return {
        "file_type": f.trend_type,
        "label": _type_label(f.trend_type),
        "periods": labels,
        "workflows": datasets,
        "regressions": regressions,
        "threshold": f.regression_threshold,
        "window": f.regression_window,
        "truncated": truncated,
    }


def _attach_runs(regressions):
    runs = {
        run["pk"]: run
        for run in CiBuildRun.objects.filter(
            pk__in=[r["build_run_pk"] for r in regressions]
        ).values("pk", "asc_id", "number")
    }
    for regression in regressions:
        run = runs[regression.pop("build_run_pk")]
        regression["build_run"] = run["asc_id"]
        regression["number"] = run["number"]


def latest_runs(f: Filters, limit: int = 15) -> list[dict]:
    """The newest runs in the range, each with its artifact bytes (of the chosen types) and
    the change against the previous run of the same workflow. Three queries whatever the size."""
    runs = CiBuildRun.objects.filter(
        created_date__gte=f.start_datetime, created_date__lt=f.end_datetime
    )
    runs = _in_scope(runs, f)
    previous = CiBuildRun.objects.filter(
        workflow_id=OuterRef("workflow_id"), number__lt=OuterRef("number")
    ).order_by("-number")
    runs = list(
        runs.select_related("workflow", "product")
        .annotate(previous_pk=Subquery(previous.values("pk")[:1]))
        .order_by("-created_date", "-number")[:limit]
    )
    pks = {run.pk for run in runs} | {run.previous_pk for run in runs if run.previous_pk}
    artifacts = CiArtifact.objects.filter(build_run_id__in=pks)
    if f.file_types:
        artifacts = artifacts.filter(file_type__in=f.file_types)
    sums = {
        row["build_run_id"]: row
        for row in artifacts.values("build_run_id")
        .annotate(count=Count("id"), bytes=Coalesce(Sum("file_size"), 0))
        .order_by()
    }
    result = []
    for run in runs:
        mine = sums.get(run.pk, {"count": 0, "bytes": 0})
        before = sums.get(run.previous_pk) if run.previous_pk else None
        if before is None and run.previous_pk:
            before = {"count": 0, "bytes": 0}
        if not run.is_finished:
            before = None  # artifacts arrive as a run finishes: no change to show yet
        delta = mine["bytes"] - before["bytes"] if before else None
        result.append(
            {
                "run": run,
                "count": mine["count"],
                "bytes": mine["bytes"],
                "previous_bytes": before["bytes"] if before else None,
                "delta": delta,
                "delta_ratio": delta / before["bytes"] if before and before["bytes"] else None,
                "finished": run.is_finished,
            }
        )
    return result


def largest_artifacts(f: Filters, limit: int = 10) -> list[CiArtifact]:
    """The biggest artifacts in the range, with their run, action, workflow and product."""
    return list(
        artifact_queryset(f)
        .filter(file_size__isnull=False)
        .select_related("build_run", "build_action", "workflow", "product")
        .order_by("-file_size", "id")[:limit]
    )


def run_totals_by_type(build_run) -> list[dict]:
    """Count and bytes per file type of one run's artifacts."""
    return list(
        CiArtifact.objects.filter(build_run=build_run)
        .values("file_type")
        .annotate(count=Count("id"), bytes=Coalesce(Sum("file_size"), 0))
        .order_by("-bytes", "file_type")
    )


# --- The artifacts behind the numbers ----------------------------------------------------


def artifact_queryset(f: Filters):
    """Artifacts in the range matching the filters, newest run first."""
    qs = CiArtifact.objects.filter(
        run_created_date__gte=f.start_datetime, run_created_date__lt=f.end_datetime
    )
    qs = _in_scope(qs, f)
    if f.file_types:
        qs = qs.filter(file_type__in=f.file_types)
    return qs.order_by("-run_created_date", "file_type", "id")


def with_archived(qs):
    """Annotate `archived`: whether archive storage holds a verified copy of the artifact."""
    copies = ArchivedArtifact.objects.filter(
        artifact=OuterRef("pk"), status=ArchivedArtifact.Status.ARCHIVED
    )
    return qs.annotate(archived=Exists(copies))


# --- Helpers -----------------------------------------------------------------------------


def _utc_date(value) -> date:
    if isinstance(value, datetime):
        return value.astimezone(UTC).date()
    return value


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


def _bucket(day: date, granularity: str) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def _median_or_none(values):
    return int(median(values)) if values else None


def _type_label(file_type: str) -> str:
    return enum_label(FileType, file_type) or "(none)"
