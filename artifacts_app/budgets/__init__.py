"""Size budgets: rules on a build run's bytes, checked when a run completes, and their alerts."""
