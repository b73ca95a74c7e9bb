"""The days whose daily totals the dashboard's rollup must recount.

New artifacts are found by the rollup's id watermark, but changed ones (a size, or a run's
date, workflow or product) and new ones a concurrent worker's watermark moved past are not:
their days are named here. A writer keeps them in `RollupRecount` too, in the transaction
that changed them, so a pass killed before its recount leaves them to the next pass.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from .. import stats
from ..models import RollupRecount
from .upsert import UpsertPlan


class TouchedDays:
    def __init__(self, keep: bool = False, mark_again: bool = True) -> None:
        self.keep = keep  # whether the days are also kept in the database
        # Whether a day is marked again by every write that touches it: needed where another
        # worker may recount it (and take the mark) meanwhile. With one writer at a time, a
        # mark stays until this writer's own recount, so once is enough.
        self.mark_again = mark_again
        self.days: set[date] = set()
        self._unsaved: set[date] = set()
        self._marked: set[date] = set()  # marked since the last recount

    def add(self, *moments) -> None:
        days = {_utc_date(moment) for moment in moments if moment is not None}
        self.days |= days
        self._unsaved |= days

    def add_artifacts(self, plan: UpsertPlan) -> None:
        """The days an artifact upsert adds to, leaves or changes."""
        for row, before in plan.to_update:
            self.add(before.get("run_created_date", row.run_created_date), row.run_created_date)
        # New artifacts are found by the rollup's id watermark too, but on PostgreSQL a
        # concurrent worker's lower ids can commit after the watermark moved past them:
        # naming their days keeps the daily totals exact either way.
        self.add(*(row.run_created_date for row in plan.to_create))

    def save(self) -> None:
        """Keep the days added since the last save; call it inside the transaction that
        wrote the rows, so both commit or neither does."""
        days = self._unsaved if self.mark_again else self._unsaved - self._marked
        if self.keep and days:
            token = uuid.uuid4().hex
            RollupRecount.objects.bulk_create(
                # One statement in day order: concurrent workers lock the rows in one order.
                [RollupRecount(day=day, token=token) for day in sorted(days)],
                update_conflicts=True,
                unique_fields=["day"],
                update_fields=["token"],
            )
            self._marked |= days
        self._unsaved.clear()

    def recount(self, rebuild: bool = False) -> None:
        """Recount these days and every day a pass left marked; `rebuild` recounts all."""
        self._marked.clear()
        marked = list(RollupRecount.objects.values_list("token", "day"))
        stats.refresh_rollup(rebuild=rebuild, days=self.days | {day for _token, day in marked})
        # Only the marks read. Each save has its own token and a token is never written
        # again, so a row still holding a token read is a mark read; a day marked again
        # meanwhile holds a later token and stays. A statement per 500 saves, not per save.
        tokens = sorted({token for token, _day in marked})
        for start in range(0, len(tokens), 500):
            RollupRecount.objects.filter(token__in=tokens[start : start + 500]).delete()


def _utc_date(moment) -> date:
    if isinstance(moment, datetime):
        return moment.astimezone(UTC).date()
    return moment
