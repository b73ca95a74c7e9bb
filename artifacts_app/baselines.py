"""A build run's baseline: the run its size is compared with, wherever a change is shown.

The baseline of a run is the newest run of the same workflow with a lower `number` that is
`COMPLETE` and `SUCCEEDED`. A canceled or failed run made few or no artifacts, so comparing
with it would report growth that never happened.
"""

from django.db.models import OuterRef, Subquery

from .models import CiBuildRun, CompletionStatus, ExecutionProgress

BASELINE_FIELDS = ("pk", "number", "asc_id")


def successful_runs():
    """Runs that finished and succeeded: the only ones a size may be compared with."""
    return CiBuildRun.objects.filter(
        execution_progress=ExecutionProgress.COMPLETE,
        completion_status=CompletionStatus.SUCCEEDED,
    )


def baseline_for(run) -> CiBuildRun | None:
    """The baseline of one run (None without a workflow or an earlier successful run)."""
    if run.workflow_id is None:
        return None
    return (
        successful_runs()
        .filter(workflow_id=run.workflow_id, number__lt=run.number)
        .order_by("-number")
        .first()
    )


def _earlier_successes():
    """Successful runs of the outer run's workflow below its number, nearest first."""
    return (
        successful_runs()
        .filter(workflow_id=OuterRef("workflow_id"), number__lt=OuterRef("number"))
        .order_by("-number")
    )


def with_baselines(runs):
    """`runs` (a queryset) annotated with their baseline's `baseline_pk`, `baseline_number`
    and `baseline_asc_id`, in the same query.

    Each is a correlated subquery that walks the `run_workflow_number_idx` index down from
    the run's number to the first successful run; the database evaluates them only for the
    rows it returns.
    """
    earlier = _earlier_successes()
    return runs.annotate(
        **{f"baseline_{field}": Subquery(earlier.values(field)[:1]) for field in BASELINE_FIELDS}
    )


def with_baseline_ids(runs):
    """`runs` annotated with `baseline_id` only (one subquery), where the id is enough."""
    return runs.annotate(baseline_id=Subquery(_earlier_successes().values("pk")[:1]))


def destination_baseline_for(run) -> CiBuildRun | None:
    """For a pull-request run: the newest earlier successful run of the same workflow on the
    branch the pull request merges into (None for other runs, or when there is none)."""
    if not (run.is_pull_request_build and run.destination_branch_name and run.workflow_id):
        return None
    return (
        successful_runs()
        .filter(
            workflow_id=run.workflow_id,
            source_ref_name=run.destination_branch_name,
            number__lt=run.number,
        )
        .exclude(is_pull_request_build=True)
        .order_by("-number")
        .first()
    )
