"""Build runs with their sizes and baselines: GET /api/v1/runs and the commit search.

The runs asked for are those of a `Scope`: the range (by the run's `createdDate`; all time
for a commit asked without one), products, workflows, branches and commit. Sizes count the
run's artifacts of the scope's file types; the baseline is `baselines.with_baselines()`'s.
"""

from django.db.models import Count, Sum
from django.db.models.functions import Coalesce

from .baselines import with_baselines
from .models import CiArtifact, CiBuildRun
from .scope import Scope
from .stats import in_scope


def run_queryset(f: Scope):
    """The runs asked for, newest `createdDate` first, annotated with their baselines."""
    runs = CiBuildRun.objects.all()
    if not f.commit_all_time:
        runs = runs.filter(created_date__gte=f.start_datetime, created_date__lt=f.end_datetime)
    runs = in_scope(runs, f)
    if f.commit:
        runs = runs.filter(source_commit_sha__istartswith=f.commit)
    runs = runs.select_related("workflow__product", "product")
    runs = runs.order_by("-created_date", "-number", "-id")
    return with_baselines(runs)


def run_sums(run_pks, file_types=()) -> dict[int, tuple[int, int]]:
    """(artifact count, bytes) of each run in `run_pks` that has artifacts of `file_types`
    (all types when empty), in one query."""
    artifacts = CiArtifact.objects.filter(build_run_id__in=run_pks)
    if file_types:
        artifacts = artifacts.filter(file_type__in=file_types)
    return {
        row["build_run_id"]: (row["count"], row["bytes"])
        for row in artifacts.values("build_run_id")
        .annotate(count=Count("id"), bytes=Coalesce(Sum("file_size"), 0))
        .order_by()
    }


def attach_sizes(runs, file_types=()) -> None:
    """Set `artifact_count`, `bytes`, `baseline_bytes` and `delta_bytes` on each of `runs` (which
    carry `baseline_pk`), counting artifacts of `file_types` (all when empty). One query."""
    pks = {run.pk for run in runs} | {run.baseline_pk for run in runs if run.baseline_pk}
    sums = run_sums(pks, file_types)
    for run in runs:
        run.artifact_count, run.bytes = sums.get(run.pk, (0, 0))
        run.baseline_bytes = sums.get(run.baseline_pk, (0, 0))[1] if run.baseline_pk else None
        run.delta_bytes = run.bytes - run.baseline_bytes if run.baseline_pk else None


def run_json(run) -> dict:
    """One entry of /api/v1/runs (after `attach_sizes`)."""
    workflow = run.workflow
    return {
        "id": run.asc_id,
        "number": run.number,
        "created_date": run.created_date.isoformat() if run.created_date else None,
        "execution_progress": run.execution_progress,
        "completion_status": run.completion_status,
        "branch": run.source_ref_name,
        "commit_sha": run.source_commit_sha,
        "workflow": {"id": workflow.asc_id, "name": workflow.name} if workflow else None,
        "product": {"id": run.product.asc_id, "name": run.product.name},
        "artifacts": run.artifact_count,
        "bytes": run.bytes,
        "baseline": (
            {"id": run.baseline_asc_id, "number": run.baseline_number} if run.baseline_pk else None
        ),
        "delta_bytes": run.delta_bytes,
    }
