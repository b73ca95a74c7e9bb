"""Every figure the dashboard shows, computed in the database; reads only.

An artifact belongs to its build run's `createdDate` in UTC (`CiArtifact.run_created_date`);
a week starts on Monday, a month on its first day. Counts and sizes per period come from the
daily rollup (`rollup.py`, refreshed by the sync after each pass) plus the artifacts added
since its last refresh, summed from the mirror rows, so the figures are never behind the
mirror and no reader writes. Figures per build run (the trend, regressions,
the latest runs) are in `runs.py`.

Artifacts marked `gone_upstream_at` still count, in the rollup, the API and the CSV alike:
Apple expires artifacts after a while, and the sizes a build produced are history that should
not shrink when Apple prunes the files.

Each function takes a `Scope` and returns plain dicts or lists, ready for `JsonResponse` or
`json_script`.
"""

from datetime import UTC, date, timedelta

from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Trunc

from .models import (
    Account,
    ArchivedArtifact,
    ArtifactDailyTotal,
    ArtifactDailyTypeTotal,
    ArtifactRollupState,
    CiArtifact,
    CiBuildRun,
    FileType,
    enum_label,
)
from .rollup import midnight, refresh_rollup, utc_date  # noqa: F401  (the sync refreshes through stats)
from .scope import Scope

# --- Counts and sizes per period ---------------------------------------------------------


def in_scope(qs, f: Scope):
    """`qs` (artifacts, runs, actions or rollup rows: all carry the ids) narrowed to the
    scope's accounts and the products, workflows and (artifacts and runs only) branches asked
    for. Every figure starts here, so none reads an account the user was not granted."""
    qs = f.of_accounts(qs)
    if f.product_pks:
        qs = qs.filter(product_id__in=f.product_pks)
    if f.workflow_pks:
        qs = qs.filter(workflow_id__in=f.workflow_pks)
    if f.branches:
        branch = "source_ref_name" if qs.model is CiBuildRun else "build_run__source_ref_name"
        qs = qs.filter(**{f"{branch}__in": f.branches})
    return qs


def _rolled(f: Scope, dated: bool):
    """The smallest rollup that answers for this scope."""
    if f.branches:
        # The rollup has no branches: `_pending` sums every artifact of the branches instead.
        return ArtifactDailyTypeTotal.objects.none()
    if f.product_pks or f.workflow_pks:
        qs = ArtifactDailyTotal.objects.all()
    else:
        qs = ArtifactDailyTypeTotal.objects.all()
    if dated:
        qs = qs.filter(day__gte=f.start, day__lte=f.end)
    return _of_types(in_scope(qs, f), f)


def _pending(f: Scope, dated: bool):
    """Artifacts above the rollup's watermark, stored since the sync last refreshed it; None
    when there are none, as once a pass has finished (one index lookup tells). With branches,
    which the rollup cannot answer, every artifact of those branches."""
    if f.branches:
        qs = CiArtifact.objects.all()
    else:
        first = _first_pending_id()
        if first is None:
            return None
        qs = CiArtifact.objects.filter(id__gte=first)
    if dated:
        qs = qs.filter(run_created_date__gte=f.start_datetime, run_created_date__lt=f.end_datetime)
    return _of_types(in_scope(qs, f), f)


def _watermark():
    """The highest artifact id the rollup holds, as a subquery."""
    return ArtifactRollupState.objects.filter(pk=1).values("last_artifact_id")


def _above_watermark():
    """Artifacts stored since the rollup's last refresh, by id."""
    return CiArtifact.objects.filter(id__gt=Coalesce(Subquery(_watermark()), Value(0))).order_by(
        "id"
    )


def _first_pending():
    """The id of the first artifact above the rollup's watermark (None if none), a subquery."""
    return Subquery(_above_watermark().values("id")[:1])


def _first_pending_id() -> int | None:
    """The id of the first artifact above the rollup's watermark, if any (one query)."""
    return _above_watermark().values_list("id", flat=True).first()


def _of_types(qs, f: Scope):
    return qs.filter(file_type__in=f.file_types) if f.file_types else qs


ROLLED_SUMS = {"n": Coalesce(Sum("count"), 0), "size": Coalesce(Sum("bytes"), 0)}
PENDING_SUMS = {"n": Count("id"), "size": Coalesce(Sum("file_size"), 0)}


def _sums(f: Scope, per_period: bool = False, by: str = "file_type") -> dict[tuple, dict]:
    """Count and bytes per file type (or `account_id`), and period as a date, in the range:
    the rollup and the artifacts above its watermark added together."""
    rolled, pending = _rolled(f, dated=True), _pending(f, dated=True)
    period = {}
    if per_period:
        rolled = rolled.values(by, period=F(f.granularity))
        period["period"] = Trunc("run_created_date", f.granularity, tzinfo=UTC)
    else:
        rolled = rolled.values(by)
    queries = [rolled.annotate(**ROLLED_SUMS).order_by()]
    if pending is not None:
        pending = pending.values(by, **period)
        queries.append(pending.annotate(**PENDING_SUMS).order_by())
    result: dict[tuple, dict] = {}
    for rows in queries:
        for row in rows:
            key = (utc_date(row["period"]), row[by]) if per_period else row[by]
            sums = result.setdefault(key, {"count": 0, "bytes": 0})
            sums["count"] += row["n"]
            sums["bytes"] += row["size"]
    return result


def totals(f: Scope, dated: bool = True) -> dict:
    """Artifact count and bytes in the range (or of all time when `dated` is false)."""
    return _totals(f, {"total": f if dated else None})["total"]


def _totals(f: Scope, ranges: dict) -> dict[str, dict]:
    """Count and bytes of each named range of `ranges` (None: all time) within `f`'s other
    filters, the rollup and the artifacts above its watermark added together."""
    rolled_sums, pending_sums = {}, {}
    for name, r in ranges.items():
        day = Q(day__gte=r.start, day__lte=r.end) if r else None
        rolled_sums[f"{name}_n"] = Coalesce(Sum("count", filter=day), 0)
        rolled_sums[f"{name}_b"] = Coalesce(Sum("bytes", filter=day), 0)
        when = (
            Q(run_created_date__gte=r.start_datetime, run_created_date__lt=r.end_datetime)
            if r
            else None
        )
        pending_sums[f"{name}_n"] = Count("id", filter=when)
        pending_sums[f"{name}_b"] = Coalesce(Sum("file_size", filter=when), 0)
    parts = [_rolled(f, dated=False).aggregate(**rolled_sums)]
    pending = _pending(f, dated=False)
    if pending is not None:
        parts.append(pending.aggregate(**pending_sums))
    return {
        name: {
            "count": sum(part[f"{name}_n"] for part in parts),
            "bytes": sum(part[f"{name}_b"] for part in parts),
        }
        for name in ranges
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
            "label": type_label(file_type),
            **sums,
            "share": sums["bytes"] / total if total else 0.0,
        }
        for file_type, sums in rows
    ]


def by_account(f: Scope) -> dict:
    """The accounts of the scope compared: bytes and count per period and account, and each
    account's share of the range's bytes (largest first)."""
    names = dict(Account.objects.filter(pk__in=f.account_pks).values_list("pk", "name"))
    per_period = sorted(
        (period, names[pk], sums) for (period, pk), sums in _sums(f, True, "account_id").items()
    )
    totals = sorted(
        ((names[pk], sums) for pk, sums in _sums(f, by="account_id").items()),
        key=lambda item: (-item[1]["bytes"], item[0]),
    )
    total = sum(sums["bytes"] for _, sums in totals)
    return {
        "series": [
            {"period": period.isoformat(), "account": name, **sums}
            for period, name, sums in per_period
        ],
        "share": [
            {"account": name, **sums, "share": sums["bytes"] / total if total else 0.0}
            for name, sums in totals
        ],
    }


def kpis(f: Scope) -> dict:
    """The dashboard's cards: all-time totals, the range, and the change against the range
    of equal length just before it (same product, workflow and type filters)."""
    figures = _totals(f, {"all_time": None, "current": f, "previous": f.previous()})
    all_time, current, previous = figures["all_time"], figures["current"], figures["previous"]
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
    first = bucket(f.start, f.granularity)
    result = []
    current = first
    while current <= f.end:
        result.append(current.isoformat())
        current = _next_bucket(current, f.granularity)
    return result


def partial_periods(f: Scope, today: date) -> list[str]:
    """The buckets the range covers only in part: a week or month cut by the range's ends, or
    still under way (it ends after `today`). Their totals are not comparable with full ones."""
    result = []
    for period in periods(f):
        first = date.fromisoformat(period)
        last = _next_bucket(first, f.granularity) - timedelta(days=1)
        if first < f.start or last > f.end or last >= today:
            result.append(period)
    return result


def _next_bucket(day: date, granularity: str) -> date:
    if granularity == "day":
        return day + timedelta(days=1)
    if granularity == "week":
        return day + timedelta(days=7)
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def largest_artifacts(f: Scope, limit: int = 10) -> list[CiArtifact]:
    """The biggest artifacts in the range, with their run, action, workflow and product.

    Read from the few rollup groups (a day, workflow and type) that can hold them, by index,
    rather than by sorting every artifact of the range; with branches, which the rollup
    cannot tell apart, the artifacts of the range are sorted.
    """
    qs = artifact_queryset(f).filter(file_size__isnull=False)
    candidates = _largest_candidates(f, limit)
    if candidates is not None:
        # By key from the few candidates, which the filters of the range then narrow.
        qs = qs.filter(pk__in=CiArtifact.objects.filter(candidates).values("pk"))
    return list(
        qs.select_related("build_run", "build_action", "workflow__product", "product").order_by(
            "-file_size", "id"
        )[:limit]
    )


def _largest_candidates(f: Scope, limit: int) -> Q | None:
    """The artifacts that can be among the `limit` largest of the range, as a filter.

    Each rollup group's biggest artifact is one of the range, so with T the `limit`-th
    biggest of those, at least `limit` artifacts reach T: the largest are those above T,
    all in the fewer than `limit` groups whose biggest is above T (read by index, per day,
    type and workflow or product), those of exactly T (by the size index), and those above
    the watermark. One query; None with branches, which the rollup cannot tell apart.
    """
    if f.branches:
        return None
    rolled = _rolled(f, dated=True)
    per_workflow = rolled.model is ArtifactDailyTotal
    fields = ("day", "file_type") + (("product_id", "workflow_id") if per_workflow else ())
    # The biggest groups, each row also carrying the first artifact above the watermark.
    top = list(
        rolled.annotate(pending=_first_pending())
        .order_by("-largest")
        .values_list("pending", "largest", *fields)[:limit]
    )
    threshold = top[-1][1] if len(top) == limit else 0
    candidates = Q(file_size=threshold)
    # Plain values, not subqueries, so that the database reads each part of the OR by index.
    if not top:
        candidates |= Q(id__gte=_first_pending())
    elif top[0][0] is not None:
        candidates |= Q(id__gte=top[0][0])
    for _, largest, day, file_type, *owner in top:
        if largest <= threshold:
            continue
        group = Q(
            file_type=file_type,
            run_created_date__gte=midnight(day),
            run_created_date__lt=midnight(day + timedelta(days=1)),
        )
        if owner:
            # A workflow implies its product; without one, the product's index serves.
            product_id, workflow_id = owner
            group &= Q(workflow_id=workflow_id) if workflow_id else Q(product_id=product_id)
        candidates |= group
    return candidates


# --- The artifacts behind the numbers ----------------------------------------------------


def artifact_queryset(f: Scope):
    """Artifacts in the range matching the filters, newest run first."""
    qs = scoped_artifacts(f).filter(
        run_created_date__gte=f.start_datetime, run_created_date__lt=f.end_datetime
    )
    return qs.order_by("-run_created_date", "file_type", "id")


def scoped_artifacts(f: Scope):
    """Artifacts of every date matching the product, workflow and file type filters."""
    return _of_types(in_scope(CiArtifact.objects.all(), f), f)


def with_archived(qs):
    """Annotate `archived`: whether archive storage holds a verified copy of the artifact."""
    copies = ArchivedArtifact.objects.filter(
        artifact=OuterRef("pk"), status=ArchivedArtifact.Status.ARCHIVED
    )
    return qs.annotate(archived=Exists(copies))


# --- Helpers -----------------------------------------------------------------------------


def bucket(day: date, granularity: str) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def type_label(file_type: str) -> str:
    return enum_label(FileType, file_type) or "(none)"
