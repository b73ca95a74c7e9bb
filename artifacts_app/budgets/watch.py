"""What follows every write of build runs: budgets checked, alerts sent (or retried)."""

from .check import check_completed_runs
from .notify import deliver_due


def check_and_alert(check_runs: bool = True) -> int:
    """Check the budgets against newly completed runs (unless nothing was written), send the
    alerts that are due; returns how many violations were found."""
    violations = check_completed_runs() if check_runs else []
    deliver_due()
    return len(violations)
