"""Every figure the dashboard shows, computed in the database; reads only.

An artifact belongs to its build run's `createdDate` in UTC (`CiArtifact.run_created_date`);
a week starts on Monday, a month on its first day. Counts and sizes per period come from the
daily rollup (`rollup.py`, refreshed by the sync after each pass) plus the artifacts added
since its last refresh, summed from the mirror rows, so the figures are never behind the
mirror and no reader writes. Medians cannot be summed, so the per-workflow trend and
regressions first add up each run's bytes in the database, take a bounded number of those
per-run sums, and compute medians over that short list in Python (`find_regressions` is the
rule itself, a function of a list of sizes).

Artifacts marked `gone_upstream_at` still count, in the rollup, the API and the CSV alike:
Apple expires artifacts after a while, and the sizes a build produced are history that should
not shrink when Apple prunes the files.

Each function takes a `Scope` and returns plain dicts or lists, ready for `JsonResponse` or
`json_script`.
"""

from datetime import UTC, date, timedelta
from statistics import median

from django.db.models import Count, Exists, F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Trunc

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
from .rollup import refresh_rollup, utc_date  # noqa: F401  (the sync refreshes through stats)
from .scope import Scope

# How many artifacts the per-run sums of the trend and the regression check read at most.
RUN_SUMS_LIMIT = 3000


# --- Counts and sizes per period ---------------------------------------------------------


def _in_scope(qs, f: Scope):
    """`qs` narrowed to the products and workflows asked for (rows carry both ids)."""
    if f.product_pks:
        qs = qs.filter(product_id__in=f.product_pks)
    if f.workflow_pks:
        qs = qs.filter(workflow_id__in=f.workflow_pks)
    return qs


def _rolled(f: Scope, dated: bool):
    """The smallest rollup that answers for this scope."""
    if f.product_pks or f.workflow_pks:
        qs = ArtifactDailyTotal.objects.all()
    else:
        qs = ArtifactDailyTypeTotal.objects.all()
    if dated:
        qs = qs.filter(day__gte=f.start, day__lte=f.end)
    return _of_types(_in_scope(qs, f), f)


def _pending(f: Scope, dated: bool):
    """Artifacts above the rollup's watermark: added since the sync last refreshed it."""
    watermark = ArtifactRollupState.objects.filter(pk=1).values("last_artifact_id")
    qs = CiArtifact.objects.filter(id__gt=Coalesce(Subquery(watermark), Value(0)))
    if dated:
        qs = qs.filter(run_created_date__gte=f.start_datetime, run_created_date__lt=f.end_datetime)
    return _of_types(_in_scope(qs, f), f)


def _of_types(qs, f: Scope):
    return qs.filter(file_type__in=f.file_types) if f.file_types else qs


def _sums(f: Scope, per_period: bool = False, dated: bool = True) -> dict[tuple, dict]:
    """Count and bytes per file type (and period, as a date), the rollup and the artifacts
    above its watermark added together: two queries whatever the size."""
    rolled, pending = _rolled(f, dated), _pending(f, dated)
    if per_period:
        rolled = rolled.values("file_type", period=F(f.granularity))
        bucket = Trunc("run_created_date", f.granularity, tzinfo=UTC)
        pending = pending.values("file_type", period=bucket)
    else:
        rolled, pending = rolled.values("file_type"), pending.values("file_type")
    result: dict[tuple, dict] = {}
    for rows in (
        rolled.annotate(n=Sum("count"), size=Sum("bytes")).order_by(),
        pending.annotate(n=Count("id"), size=Coalesce(Sum("file_size"), 0)).order_by(),
    ):
        for row in rows:
            key = (utc_date(row["period"]), row["file_type"]) if per_period else row["file_type"]
            sums = result.setdefault(key, {"count": 0, "bytes": 0})
            sums["count"] += row["n"]
            sums["bytes"] += row["size"]
    return result


def totals(f: Scope, dated: bool = True) -> dict:
    """Artifact count and bytes in the range (or of all time when `dated` is false)."""
    by_type = _sums(f, dated=dated).values()  # a handful of file types
    return {
        "count": sum(row["count"] for row in by_type),
        "bytes": sum(row["bytes"] for row in by_type),
    }


def series(f: Scope) -> list[dict]:
    """Count and bytes per period and file type, sorted; empty combinations left out."""
    return [
        {"period": period.isoformat(), "file_type": file_type, **sums}
        for (period, file_type), sums in sorted(_sums(f, per_period=True).items())
    ]


def stats_payload(f: Scope) -> dict:
    """The body of GET /api/v1/stats."""
    return {
        "granularity": f.granularity,
        "start": f.start.isoformat(),
        "end": f.end.isoformat(),
        "totals": totals(f),
        "series": series(f),
    }


def share_by_type(f: Scope) -> list[dict]:
    """Bytes and count per file type in the range, largest first, with each type's share."""
    rows = sorted(_sums(f).items(), key=lambda item: (-item[1]["bytes"], item[0]))
    total = sum(sums["bytes"] for _, sums in rows)
    return [
        {
            "file_type": file_type,
            "label": _type_label(file_type),
            **sums,
            "share": sums["bytes"] / total if total else 0.0,
        }
        for file_type, sums in rows
    ]


def kpis(f: Scope) -> dict:
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


def periods(f: Scope) -> list[str]:
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


def _run_sums(f: Scope, file_type: str) -> tuple[list[dict], bool]:
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


def find_regressions(sizes: list[int], window: int, threshold: float) -> dict[int, float]:
    """The regressions among one workflow's run sizes (oldest first), by index.

    A run is a regression when its size exceeds the median of the `window` runs before it by
    more than `threshold` (0.1 is 10 %); each maps to that median, its baseline. A run with
    fewer than `window` runs before it, or a baseline of zero, is never one.
    """
    found = {}
    for index in range(window, len(sizes)):
        baseline = median(sizes[index - window : index])
        if baseline and sizes[index] > baseline * (1 + threshold):
            found[index] = baseline
    return found


def trend_and_regressions(f: Scope) -> dict:
    """Per-workflow median and max bytes of `f.trend_type` per period, and its regressions
    (`find_regressions` over each workflow's runs, `f.regression_window` and
    `f.regression_threshold`)."""
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
        sizes = [run["bytes"] for run in runs]
        baselines = find_regressions(sizes, f.regression_window, f.regression_threshold)
        per_period: dict[str, list[int]] = {}
        for index, run in enumerate(runs):
            if run["run_created_date"] < start:
                continue  # the baseline of the first runs in range reaches back before it
            period = _bucket(utc_date(run["run_created_date"]), f.granularity).isoformat()
            per_period.setdefault(period, []).append(run["bytes"])
            if index in baselines:
                baseline = baselines[index]
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


def latest_runs(f: Scope, limit: int = 15) -> list[dict]:
    """The newest runs in the range, each with its artifact bytes (of the chosen types) and
    the change against the previous run of the same workflow. Three queries whatever the size."""
    runs = CiBuildRun.objects.filter(
        created_date__gte=f.start_datetime, created_date__lt=f.end_datetime
    )
    runs = _in_scope(runs, f)
    previous = _runs_before(OuterRef("workflow_id"), OuterRef("number"))
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


def largest_artifacts(f: Scope, limit: int = 10) -> list[CiArtifact]:
    """The biggest artifacts in the range, with their run, action, workflow and product."""
    return list(
        artifact_queryset(f)
        .filter(file_size__isnull=False)
        .select_related("build_run", "build_action", "workflow", "product")
        .order_by("-file_size", "id")[:limit]
    )


def _runs_before(workflow_id, number):
    """Runs of a workflow numbered below `number`, nearest first: the first is "the previous
    run", against which a run's size change is shown."""
    return CiBuildRun.objects.filter(workflow_id=workflow_id, number__lt=number).order_by("-number")


def previous_run(run: CiBuildRun) -> CiBuildRun | None:
    """The previous run of `run`'s workflow (None for a first run or one without workflow)."""
    return _runs_before(run.workflow_id, run.number).first() if run.workflow_id else None


def run_totals_by_type(build_run) -> list[dict]:
    """Count and bytes per file type of one run's artifacts."""
    return list(
        CiArtifact.objects.filter(build_run=build_run)
        .values("file_type")
        .annotate(count=Count("id"), bytes=Coalesce(Sum("file_size"), 0))
        .order_by("-bytes", "file_type")
    )


# --- The artifacts behind the numbers ----------------------------------------------------


def artifact_queryset(f: Scope):
    """Artifacts in the range matching the filters, newest run first."""
    qs = scoped_artifacts(f).filter(
        run_created_date__gte=f.start_datetime, run_created_date__lt=f.end_datetime
    )
    return qs.order_by("-run_created_date", "file_type", "id")


def scoped_artifacts(f: Scope):
    """Artifacts of every date matching the product, workflow and file type filters."""
    return _of_types(_in_scope(CiArtifact.objects.all(), f), f)


def with_archived(qs):
    """Annotate `archived`: whether archive storage holds a verified copy of the artifact."""
    copies = ArchivedArtifact.objects.filter(
        artifact=OuterRef("pk"), status=ArchivedArtifact.Status.ARCHIVED
    )
    return qs.annotate(archived=Exists(copies))


# --- Helpers -----------------------------------------------------------------------------


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
