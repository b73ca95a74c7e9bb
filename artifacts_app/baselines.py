"""A build run's baseline: the run its sizes are compared with.

The baseline is the newest run of the same workflow with a lower `number` that is COMPLETE
and SUCCEEDED (the product's contract), so a failed or cancelled run never becomes the
yardstick. Served by the `run_workflow_number_idx` index.
"""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from .models import CiBuildRun, CompletionStatus, ExecutionProgress


def _candidates(workflow_id, number) -> QuerySet[CiBuildRun]:
    return CiBuildRun.objects.filter(
        workflow_id=workflow_id,
        number__lt=number,
        execution_progress=ExecutionProgress.COMPLETE,
        completion_status=CompletionStatus.SUCCEEDED,
    ).order_by("-number")


def baseline_for(run: CiBuildRun) -> CiBuildRun | None:
    """The baseline of `run`, or None (no workflow, or no earlier successful run)."""
    if run.workflow_id is None:
        return None
    return _candidates(run.workflow_id, run.number).first()


def with_baseline_ids(runs: QuerySet[CiBuildRun]) -> QuerySet[CiBuildRun]:
    """`runs` annotated with `baseline_id` (one subquery, no query per row)."""
    return runs.annotate(
        baseline_id=Subquery(
            _candidates(OuterRef("workflow_id"), OuterRef("number")).values("pk")[:1]
        )
    )
