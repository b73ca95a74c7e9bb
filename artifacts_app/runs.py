"""Figures per build run: the per-workflow size trend and its regressions, the latest runs
with their change against their baseline, one run's sizes by file type.

Medians cannot be summed, so the trend and regressions first add up each run's bytes in the
database, take a bounded number of those per-run sums, and compute medians over that short
list in Python; `find_regressions` is the rule itself, a function of a list of sizes.
"""

from datetime import timedelta
from statistics import median

from django.db.models import Count, Exists, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce

from .baselines import successful_runs
from .models import CiArtifact, CiBuildRun, CiWorkflow, FileType, workflow_label
from .rollup import utc_date
from .run_list import attach_sizes, run_queryset
from .scope import Scope
from .stats import bucket, in_scope, periods, type_label

# A workflow's main artifact: its archive, or its export when it makes no archive.
MAIN_TYPES = (FileType.ARCHIVE, FileType.ARCHIVE_EXPORT)
MAIN_COMPARE_DAYS = 30
# How many artifacts the per-run sums of the trend and the regression check read at most.
RUN_SUMS_LIMIT = 3000


def _run_sums(f: Scope, file_types: tuple[str, ...]) -> tuple[list[dict], bool]:
    """Bytes of `file_types` per build run, newest first, up to the end of the range.

    Summed in the database over the newest RUN_SUMS_LIMIT artifacts of that type (found by
    an index scan that stops there), so the GROUP BY reads a bounded slice however long the
    history is; the trend and regression checks compute medians over this bounded list.
    Also says whether older artifacts were left out.
    """
    qs = CiArtifact.objects.filter(
        file_type__in=file_types,
        workflow__isnull=False,
        run_created_date__lt=f.end_datetime,
    )
    qs = in_scope(qs, f)
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
    """Per-workflow median and max bytes of `f.trend_types` per period, and its regressions
    (`find_regressions` over each workflow's runs, `f.regression_window` and
    `f.regression_threshold`)."""
    rows, truncated = _run_sums(f, f.trend_types)
    by_workflow: dict[int, list[dict]] = {}
    for row in reversed(rows):  # oldest first; a bounded list of per-run sums
        by_workflow.setdefault(row["workflow_id"], []).append(row)

    labels = periods(f)
    start = f.start_datetime
    regressions = []
    datasets = []
    found = CiWorkflow.objects.filter(pk__in=by_workflow).values_list(
        "pk", "asc_id", "product__name", "name", "account__name"
    )
    asc_ids, names = {}, {}
    for pk, asc_id, product, name, account in found:
        asc_ids[pk], names[pk] = asc_id, workflow_label(product, name)
        if f.several_accounts:
            names[pk] = f"{account} · {names[pk]}"
    period_of: dict = {}  # a run's date -> its period: a few dates for thousands of runs
    for workflow_id, runs in by_workflow.items():
        sizes = [run["bytes"] for run in runs]
        baselines = find_regressions(sizes, f.regression_window, f.regression_threshold)
        per_period: dict[str, list[int]] = {}
        for index, run in enumerate(runs):
            if run["run_created_date"] < start:
                continue  # the baseline of the first runs in range reaches back before it
            day = utc_date(run["run_created_date"])
            period = period_of.get(day)
            if period is None:
                period = period_of[day] = bucket(day, f.granularity).isoformat()
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
                "median": _per_label(per_period, labels, _median_or_none),
                "max": _per_label(per_period, labels, max),
            }
        )
    datasets.sort(key=lambda d: d["name"].lower())
    _attach_runs(regressions)
    regressions.sort(key=lambda r: r["created_date"], reverse=True)
    return {
        "file_types": list(f.trend_types),
        "label": " + ".join(type_label(file_type) for file_type in f.trend_types),
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
    the change against its baseline (`baselines.py`). Two queries whatever the size."""
    found = list(run_queryset(f)[:limit])
    attach_sizes(found, f.file_types)
    result = []
    for run in found:
        # Artifacts arrive as a run finishes: until then there is no change to show.
        compared = run.is_finished and run.baseline_pk is not None
        result.append(
            {
                "run": run,
                "count": run.artifact_count,
                "bytes": run.bytes,
                "baseline": {"id": run.baseline_asc_id, "number": run.baseline_number}
                if compared
                else None,
                "baseline_bytes": run.baseline_bytes if compared else None,
                "delta": run.delta_bytes if compared else None,
                "delta_ratio": run.delta_bytes / run.baseline_bytes
                if compared and run.baseline_bytes
                else None,
                "finished": run.is_finished,
            }
        )
    return result


def run_totals_by_type(build_run) -> list[dict]:
    """Count and bytes per file type of one run's artifacts."""
    return list(
        CiArtifact.objects.filter(build_run=build_run)
        .values("file_type")
        .annotate(count=Count("id"), bytes=Coalesce(Sum("file_size"), 0))
        .order_by("-bytes", "file_type")
    )


def _per_label(per_period: dict, labels: list[str], figure) -> list:
    """`figure` of each period's sizes, None for periods without runs, in `labels`' order."""
    figures = {period: figure(sizes) for period, sizes in per_period.items()}
    return [figures.get(label) for label in labels]


def _median_or_none(values):
    return int(median(values)) if values else None


def main_artifact_sizes(f: Scope, days: int = MAIN_COMPARE_DAYS) -> list[dict]:
    """What a team asks first: each workflow's main artifact (its archive, or its export when
    it makes no archive) in its newest successful run up to the end of the range, against the
    newest successful run up to `days` before that end. Largest first; two queries."""
    end = f.end_datetime
    then = end - timedelta(days=days)

    def newest_before(moment):
        with_main = CiArtifact.objects.filter(build_run=OuterRef("pk"), file_type__in=MAIN_TYPES)
        runs = successful_runs().filter(
            Exists(with_main), workflow_id=OuterRef("pk"), created_date__lt=moment
        )
        if f.branches:
            runs = runs.filter(source_ref_name__in=f.branches)
        # Newest by number: the walk down `run_workflow_number_idx` stops at the first match.
        return Subquery(runs.order_by("-number").values("pk")[:1])

    workflows = f.of_accounts(CiWorkflow.objects).select_related("product")
    if f.product_pks:
        workflows = workflows.filter(product_id__in=f.product_pks)
    if f.workflow_pks:
        workflows = workflows.filter(pk__in=f.workflow_pks)
    workflows = list(
        workflows.annotate(latest_pk=newest_before(end), earlier_pk=newest_before(then)).filter(
            latest_pk__isnull=False
        )
    )
    pks = {w.latest_pk for w in workflows} | {w.earlier_pk for w in workflows if w.earlier_pk}
    runs: dict[int, dict] = {}
    sizes: dict[tuple[int, str], int] = {}
    for row in (
        CiArtifact.objects.filter(build_run_id__in=pks, file_type__in=MAIN_TYPES)
        .values("build_run_id", "build_run__asc_id", "build_run__number", "file_type")
        .annotate(bytes=Coalesce(Sum("file_size"), 0))
        .order_by()
    ):
        pk = row["build_run_id"]
        runs[pk] = {"id": row["build_run__asc_id"], "number": row["build_run__number"]}
        sizes[(pk, row["file_type"])] = row["bytes"]
    result = []
    for workflow in workflows:
        main = next(t for t in MAIN_TYPES if (workflow.latest_pk, t) in sizes)
        latest = sizes[(workflow.latest_pk, main)]
        earlier = sizes.get((workflow.earlier_pk, main)) if workflow.earlier_pk else None
        result.append(
            {
                "workflow": workflow,
                "file_type": main,
                "label": type_label(main),
                "latest": {**runs[workflow.latest_pk], "bytes": latest},
                "earlier": {**runs[workflow.earlier_pk], "bytes": earlier}
                if earlier is not None
                else None,
                "delta": latest - earlier if earlier is not None else None,
                "delta_ratio": (latest - earlier) / earlier if earlier else None,
            }
        )
    result.sort(key=lambda row: (-row["latest"]["bytes"], str(row["workflow"])))
    return result
