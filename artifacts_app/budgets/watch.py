"""What follows every write of build runs: budgets checked, alerts sent (or retried)."""

from .check import check_completed_runs
from .notify import deliver_due


def check_and_alert() -> int:
    """Check the budgets against newly completed runs, send due alerts; returns new violations."""
    violations = check_completed_runs()
    deliver_due()
    return len(violations)
