"""Checking size budgets against build runs that completed after the budget was added.

Each (budget, run) pair is checked once: a `BudgetCheck` row, unique per pair, is written in
the same transaction as any `BudgetViolation`, so concurrent workers and restarts neither
skip a run nor alert twice. Runs are found by what is missing, not by an event, so a run
that completed while no worker was checking is still checked later.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q, Sum
from django.utils import timezone

from ..baselines import baseline_for
from ..models import CiArtifact, CiBuildRun, ExecutionProgress
from .models import BudgetCheck, BudgetViolation, SizeBudget

BATCH = 500  # runs per budget and call; the next call continues


@dataclass(frozen=True)
class Measure:
    bytes: int
    limit_bytes: int | None
    baseline_bytes: int | None

    @property
    def broken(self) -> bool:
        return self.limit_bytes is not None and self.bytes > self.limit_bytes


def check_completed_runs() -> list[BudgetViolation]:
    """Check every budget against the runs in its scope it has not seen; returns new violations."""
    violations = []
    for budget in SizeBudget.objects.all():
        for run in unchecked_runs(budget)[:BATCH]:
            violation = check(budget, run)
            if violation is not None:
                violations.append(violation)
    return violations


def unchecked_runs(budget: SizeBudget):
    """Runs in the budget's scope that completed since it exists and it has not checked."""
    since = budget.created_at
    runs = CiBuildRun.objects.filter(
        account_id=budget.account_id, execution_progress=ExecutionProgress.COMPLETE
    ).filter(Q(finished_date__gte=since) | Q(finished_date=None, first_seen_at__gte=since))
    if budget.product_asc_id:
        runs = runs.filter(product__asc_id=budget.product_asc_id)
    if budget.workflow_asc_id:
        runs = runs.filter(workflow__asc_id=budget.workflow_asc_id)
    if budget.branch:
        runs = runs.filter(source_ref_name=budget.branch)
    checked = BudgetCheck.objects.filter(budget=budget, run=OuterRef("pk"))
    return runs.filter(~Exists(checked)).order_by("pk")


def measure(budget: SizeBudget, run: CiBuildRun) -> Measure:
    size = run_bytes(run, budget.file_type)
    baseline = baseline_for(run)
    baseline_bytes = run_bytes(baseline, budget.file_type) if baseline else None
    if budget.max_bytes is not None:
        limit = budget.max_bytes
    elif baseline_bytes:  # growth over nothing has no meaning
        limit = int(baseline_bytes * (1 + budget.max_growth_percent / Decimal(100)))
    else:
        limit = None
    return Measure(size, limit, baseline_bytes)


def check(budget: SizeBudget, run: CiBuildRun) -> BudgetViolation | None:
    """Check one run once; the violation when it breaks the budget."""
    found = measure(budget, run)
    try:
        with transaction.atomic():
            BudgetCheck.objects.create(budget=budget, run=run)
            if not found.broken:
                return None
            return BudgetViolation.objects.create(
                budget=budget,
                budget_name=budget.name,
                run=run,
                file_type=budget.file_type,
                bytes=found.bytes,
                limit_bytes=found.limit_bytes,
                baseline_bytes=found.baseline_bytes,
                next_attempt_at=timezone.now() if budget.notify_urls_encrypted else None,
            )
    except IntegrityError:
        return None  # another worker checked this run a moment ago


def run_bytes(run: CiBuildRun, file_type: str = "") -> int:
    artifacts = CiArtifact.objects.filter(build_run=run)
    if file_type:
        artifacts = artifacts.filter(file_type=file_type)
    return artifacts.aggregate(total=Sum("file_size"))["total"] or 0
