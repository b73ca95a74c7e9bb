"""Create or update mirror rows by Apple's id, for any mirror model.

`plan_upsert()` compares the records with the stored rows field by field and says what would
change; `UpsertPlan.apply()` writes that in bulk: an insert for the new rows, an upsert of the
changed columns for the others. A dry run plans and never applies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from ..models import MirrorModel

_MAX_LENGTHS: dict[type, dict[str, int]] = {}
ASC_ID_LENGTH = MirrorModel._meta.get_field("asc_id").max_length
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


@dataclass
class UpsertPlan:
    model: type[models.Model]
    pks: dict[str, int]  # asc_id -> pk of the rows stored already
    to_create: list[models.Model] = field(default_factory=list)
    # Rows with their new values set, each with the values it had before.
    to_update: list[tuple[models.Model, dict[str, Any]]] = field(default_factory=list)
    changed_fields: set[str] = field(default_factory=set)
    unchanged: int = 0
    # Ids stored under another account: the same resource seen by a second team's key. The
    # account that mirrored it first keeps it; this one neither changes nor adopts it.
    foreign: list[str] = field(default_factory=list)

    def apply(self) -> dict[str, int]:
        """Write the plan; returns asc_id -> pk of every row, created ones included."""
        pks = dict(self.pks)
        model = self.model
        if self.to_create:
            model.objects.bulk_create(self.to_create, batch_size=500)
            if any(row.pk is None for row in self.to_create):  # a backend that returns no ids
                created_ids = [row.asc_id for row in self.to_create]
                pks.update(model.objects.filter(asc_id__in=created_ids).values_list("asc_id", "pk"))
            else:
                pks.update({row.asc_id: row.pk for row in self.to_create})
        if self.to_update:
            # One INSERT ... ON CONFLICT (asc_id) DO UPDATE of the changed columns, on SQLite
            # and PostgreSQL alike: lighter than an UPDATE with a CASE per row and column.
            # The rows exist (they were read), so every one of them takes the update.
            fields = [f for f in model._meta.concrete_fields if not f.primary_key]
            model.objects.bulk_create(
                [
                    model(**{f.attname: getattr(row, f.attname) for f in fields})
                    for row, _before in self.to_update
                ],
                update_conflicts=True,
                unique_fields=["asc_id"],
                update_fields=sorted(self.changed_fields | {"last_synced_at"}),
                batch_size=500,
            )
        return pks


def plan_upsert(
    model, records: dict[str, dict[str, Any]], now, account_id: int, rows=None
) -> UpsertPlan:
    """What writing `records` (asc_id -> column values) of an account would create and change.

    Values are fitted to their columns first and compared after, so a value that had to be
    cut is not seen as changed on every pass. Only fields that differ are written. A row that
    was marked gone upstream and is listed again is revived. `rows` are the stored rows, when
    the caller has read them already.
    """
    if not records:
        return UpsertPlan(model, {})
    if rows is None:
        # No default ordering: the rows are looked up by id, and ordering may join a table.
        rows = model.objects.filter(asc_id__in=list(records)).order_by()
    existing = {row.asc_id: row for row in rows}
    plan = UpsertPlan(
        model,
        {asc_id: row.pk for asc_id, row in existing.items() if row.account_id == account_id},
    )
    for asc_id, values in records.items():
        values = fit(model, values)
        row = existing.get(asc_id)
        if row is None:
            plan.to_create.append(model(asc_id=asc_id, account_id=account_id, **values))
            continue
        if row.account_id != account_id:
            plan.foreign.append(asc_id)
            continue
        changed = [name for name, value in values.items() if getattr(row, name) != value]
        before = {name: getattr(row, name) for name in changed}
        if row.gone_upstream_at is not None:
            before["gone_upstream_at"] = row.gone_upstream_at
            row.gone_upstream_at = None
            changed.append("gone_upstream_at")
        if not changed:
            plan.unchanged += 1
            continue
        for name in changed:
            if name != "gone_upstream_at":
                setattr(row, name, values[name])
        row.last_synced_at = now
        plan.to_update.append((row, before))
        plan.changed_fields.update(changed)
    return plan


def storable_id(asc_id) -> bool:
    """Whether an App Store Connect id fits the mirror's `asc_id` column as it is: an id
    cannot be cut or mended like a name, or it would name another resource."""
    return (
        isinstance(asc_id, str)
        and 0 < len(asc_id) <= ASC_ID_LENGTH
        and not _UNSTORABLE.search(asc_id)
    )


def fit(model, values: dict[str, Any]) -> dict[str, Any]:
    """Make Apple's strings storable, the one step every write of the sync goes through.

    PostgreSQL refuses NUL characters and strings longer than their column, and neither
    database can encode a lone UTF-16 surrogate (JSON can carry one): a NUL or a lone
    surrogate becomes U+FFFD, and a long string is cut."""
    for name, value in values.items():
        if isinstance(value, str) and _UNSTORABLE.search(value):
            values[name] = _UNSTORABLE.sub("\ufffd", value)
    limits = _MAX_LENGTHS.get(model)
    if limits is None:
        limits = {
            f.attname: f.max_length
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField) and f.max_length
        }
        _MAX_LENGTHS[model] = limits
    for name, limit in limits.items():
        value = values.get(name)
        if isinstance(value, str) and len(value) > limit:
            values[name] = value[:limit]
    return values
