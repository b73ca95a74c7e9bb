"""The days whose daily totals the dashboard's rollup must recount after a pass.

New artifacts are found by the rollup's id watermark, but changed ones (a size, or a run's
date, workflow or product) and new ones a concurrent worker's watermark moved past are not:
their days are named here.
"""

from __future__ import annotations

from .upsert import UpsertPlan


class TouchedDays:
    def __init__(self) -> None:
        self.days: set = set()

    def add(self, *moments) -> None:
        self.days.update(moment for moment in moments if moment is not None)

    def add_artifacts(self, plan: UpsertPlan) -> None:
        """The days an artifact upsert adds to, leaves or changes."""
        for row, before in plan.to_update:
            self.add(before.get("run_created_date", row.run_created_date), row.run_created_date)
        # New artifacts are found by the rollup's id watermark too, but on PostgreSQL a
        # concurrent worker's lower ids can commit after the watermark moved past them:
        # naming their days keeps the daily totals exact either way.
        self.add(*(row.run_created_date for row in plan.to_create))
