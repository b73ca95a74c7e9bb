"""Where a pass's records go: `Writer` stores mirror rows, `DryRunWriter` only counts.

The walk hands both the same calls; the dry run differs only here. Each build run, with its
actions and artifacts, is written in one transaction, so a killed process leaves whole runs.
"""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import locks
from ..asc import resources
from ..models import (
    Account,
    CiArtifact,
    CiBuildAction,
    CiBuildRun,
    CiProduct,
    CiWorkflow,
    ProductSyncState,
)
from . import columns
from .days import TouchedDays
from .upsert import UpsertPlan, fit, plan_upsert


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    gone: int = 0

    def add(self, plan: UpsertPlan) -> None:
        self.created += len(plan.to_create)
        self.updated += len(plan.to_update)
        self.unchanged += plan.unchanged


@dataclass(frozen=True)
class FetchedRun:
    """A build run as the walk fetched it: its actions, and the artifacts of each action
    that completed since it was last stored."""

    product: CiProduct
    run: resources.BuildRun
    workflow_pk: int | None
    actions: list[resources.BuildAction]
    artifacts: dict[str, list[resources.Artifact]]
    row: CiBuildRun | None  # the run's stored row, as the walk read it under its lease

    @property
    def stored(self) -> bool:
        return self.row is not None


class DryRunWriter:
    """Counts what a pass would create, change and mark gone, and writes nothing."""

    # A writer that records the backfill cursor leaves older pages for the backfill phase;
    # a dry run records nothing, so its first walk of a product goes all the way down.
    records_backfill = False

    def __init__(self, now, account: Account) -> None:
        self.now = now
        self.account = account
        self.counts = Counts()
        self.days = TouchedDays()
        self.foreign: list[str] = []  # ids another account mirrors (see `UpsertPlan.foreign`)

    def rows(self, model):
        """The stored rows of this writer's account: the only ones a pass reads or changes."""
        return model.objects.filter(account_id=self.account.pk)

    # --- leases and the rollup ------------------------------------------------------------

    def account_lease(self):
        return nullcontext()

    def product_lease(self, product_id: str):
        return nullcontext()

    def begin(self) -> None:
        """Recount the days a killed pass left marked (a dry run leaves that to a writer)."""

    def bind_key(self, identity: str) -> None:
        """The account's rows are now the team of this key (`team.py`; a dry run records none)."""

    def finish(self, rebuild: bool) -> None:
        """Bring the daily totals up to date with what was written (nothing, here)."""

    # --- rows -----------------------------------------------------------------------------

    def upsert(self, model, records) -> dict:
        """Rows by asc_id, created or updated; returns asc_id -> pk of the stored ones."""
        return self._write(self._plan(model, records))

    def _plan(self, model, records, rows=None) -> UpsertPlan:
        plan = plan_upsert(model, records, self.now, self.account.pk, rows=rows)
        self.counts.add(plan)
        self.foreign += plan.foreign
        return plan

    def _write(self, plan: UpsertPlan) -> dict:
        return plan.pks

    def upsert_products(self, records) -> dict:
        return self.upsert(CiProduct, records)

    def product_rows(self, records: list[resources.Product], pks: dict) -> list[CiProduct]:
        return [
            CiProduct(asc_id=p.id, name=p.name, pk=pks.get(p.id), account=self.account)
            for p in records
            if p.id not in self.foreign
        ]

    def stored_workflow_pk(self, workflow_id: str) -> int | None:
        return None

    def mark_gone(self, queryset) -> None:
        """Mark the rows gone upstream (a dry run only counts them)."""
        self.counts.gone += queryset.filter(gone_upstream_at__isnull=True).count()

    def mark_run_tree_gone(self, runs) -> None:
        """Runs vanished upstream, with their actions and artifacts."""
        run_pks = list(runs.values_list("pk", flat=True))
        self.mark_gone(CiArtifact.objects.filter(build_run_id__in=run_pks))
        self.mark_gone(CiBuildAction.objects.filter(build_run_id__in=run_pks))
        self.mark_gone(CiBuildRun.objects.filter(pk__in=run_pks))

    def store_run(self, fetched: FetchedRun) -> None:
        """A run with its actions and artifacts; what it no longer lists is marked gone."""
        self._store_run(fetched, fresh=False)

    def _store_run(self, fetched: FetchedRun, fresh: bool) -> None:
        """`fresh`: the run is new and so, surely, is everything under it: no look-ups."""
        product, run, workflow_pk = fetched.product, fetched.run, fetched.workflow_pk
        run_values = columns.run_columns(run, product.pk, workflow_pk)
        # The walk read the run's row already (of this account): no second look-up.
        rows = [fetched.row] if fetched.stored else [] if fresh else None
        plan = self._plan(CiBuildRun, {run.id: run_values}, rows=rows)
        run_pk = self._write(plan).get(run.id)
        if run_pk is None and not plan.to_create:
            return  # another account mirrors this run: it keeps it (see `UpsertPlan.foreign`)
        stored = fetched.stored and run_pk is not None
        if stored:
            self._follow_run(run_pk, product.pk, workflow_pk, run.created_date)
        below = [] if fresh else None
        action_pks = self._write(
            self._plan(
                CiBuildAction,
                {a.id: columns.action_columns(a, run_pk) for a in fetched.actions},
                rows=below,
            )
        )
        if stored:
            self.mark_gone(
                CiBuildAction.objects.filter(build_run_id=run_pk).exclude(
                    asc_id__in=[a.id for a in fetched.actions]
                )
            )
        artifact_values = {
            artifact.id: {
                "build_action_id": action_pks.get(action_id),
                "build_run_id": run_pk,
                "workflow_id": workflow_pk,
                "product_id": product.pk,
                "run_created_date": run.created_date,
                **columns.artifact_columns(artifact),
            }
            for action_id, items in fetched.artifacts.items()
            for artifact in items
        }
        plan = self._plan(CiArtifact, artifact_values, rows=below)
        self.days.add_artifacts(plan)
        self._write(plan)
        if not stored:
            return
        for action_id, items in fetched.artifacts.items():
            action_pk = action_pks.get(action_id)
            if action_pk is not None:
                self.mark_gone(
                    CiArtifact.objects.filter(build_action_id=action_pk).exclude(
                        asc_id__in=[a.id for a in items]
                    )
                )

    def refresh_run(self, product, run: resources.BuildRun, row: CiBuildRun, workflow_pk) -> None:
        """A run stored as complete: update its own fields from the page, no further calls."""
        values = columns.run_columns(run, product.pk, workflow_pk)
        plan = self._plan(CiBuildRun, {run.id: values}, rows=[row])
        if plan.to_update:
            self._save_run(plan, product.pk, workflow_pk, run.created_date)

    def _save_run(self, plan: UpsertPlan, product_pk, workflow_pk, created_date) -> None:
        pass

    def _follow_run(self, run_pk, product_pk, workflow_pk, created_date) -> None:
        pass

    # --- where each product's walk got to -------------------------------------------------

    def sync_state(self, product: CiProduct) -> ProductSyncState:
        found = ProductSyncState.objects.filter(product_id=product.pk).first()
        return found or ProductSyncState(product_id=product.pk)

    def save_state(self, sync_state: ProductSyncState, **changes) -> None:
        pass

    def note_newest(self, sync_state: ProductSyncState, top_number: int) -> None:
        """The walk reached the runs stored before: everything down from `top_number` is."""

    def advance_backfill(self, sync_state, page: resources.Page, top_number) -> None:
        """A page of the first or backfill walk is stored: resume after it next time."""

    def note_whole_list(self, sync_state: ProductSyncState, full: bool) -> None:
        """Every run of the product was walked: no backfill is left to do."""


class Writer(DryRunWriter):
    """Stores the mirror rows and keeps the dashboard's daily totals current."""

    records_backfill = True

    def __init__(self, now, account: Account, per_product_locks: bool) -> None:
        super().__init__(now, account)
        self.per_product_locks = per_product_locks
        self.days = TouchedDays(keep=True, mark_again=per_product_locks)

    def account_lease(self):
        if self.per_product_locks:
            return nullcontext()
        return locks.lease(locks.sync_key(self.account.name))

    def product_lease(self, product_id: str):
        if not self.per_product_locks:
            return nullcontext()
        return locks.lease(locks.sync_key(self.account.name, product_id))

    def begin(self) -> None:
        self.days.recount()

    def bind_key(self, identity: str) -> None:
        if self.account.synced_key != identity:
            self.account.synced_key = identity
            Account.objects.filter(pk=self.account.pk).update(synced_key=identity)

    def finish(self, rebuild: bool) -> None:
        # Runs however the pass ends; a pass killed outright leaves its days marked instead.
        self.days.recount(rebuild=rebuild)

    @contextmanager
    def _transaction(self):
        """A transaction that also keeps the days its rows touched."""
        with transaction.atomic():
            yield
            self.days.save()

    def _write(self, plan: UpsertPlan) -> dict:
        return plan.apply()

    def upsert_products(self, records) -> dict:
        counted = dataclasses.replace(self.counts)
        try:
            with transaction.atomic():
                return self.upsert(CiProduct, records)
        except IntegrityError:
            # Another worker created the same products a moment ago: now they are updates.
            self.counts = counted
            return self.upsert(CiProduct, records)

    def product_rows(self, records, pks) -> list[CiProduct]:
        return list(
            self.rows(CiProduct).filter(asc_id__in=[p.id for p in records]).order_by("name")
        )

    def stored_workflow_pk(self, workflow_id: str) -> int | None:
        return self.rows(CiWorkflow).filter(asc_id=workflow_id).values_list("pk", flat=True).first()

    def mark_gone(self, queryset) -> None:
        queryset = queryset.filter(gone_upstream_at__isnull=True)
        self.counts.gone += queryset.update(gone_upstream_at=self.now)

    def mark_run_tree_gone(self, runs) -> None:
        with transaction.atomic():
            super().mark_run_tree_gone(runs)

    def store_run(self, fetched: FetchedRun) -> None:
        if not fetched.stored:
            # A run this account never stored: insert it and all under it without looking
            # up each row first. Should any be stored already (by another account mirroring
            # the same team), the transaction fails and the run is written the careful way.
            counted, foreign = dataclasses.replace(self.counts), list(self.foreign)
            try:
                with self._transaction():
                    self._store_run(fetched, fresh=True)
                return
            except IntegrityError:
                self.counts, self.foreign = counted, foreign
        with self._transaction():
            self._store_run(fetched, fresh=False)

    def _save_run(self, plan: UpsertPlan, product_pk, workflow_pk, created_date) -> None:
        with self._transaction():
            plan.apply()
            for row, _before in plan.to_update:
                self._follow_run(row.pk, product_pk, workflow_pk, created_date)

    def _follow_run(self, run_pk, product_pk, workflow_pk, created_date) -> None:
        """Artifacts carry their run's workflow, product and date: follow the run when it moves."""
        stale = CiArtifact.objects.filter(build_run_id=run_pk).exclude(
            workflow_id=workflow_pk, product_id=product_pk, run_created_date=created_date
        )
        old_dates = set(stale.values_list("run_created_date", flat=True).distinct())
        if old_dates:
            stale.update(
                workflow_id=workflow_pk, product_id=product_pk, run_created_date=created_date
            )
            self.days.add(*old_dates, created_date)

    def sync_state(self, product: CiProduct) -> ProductSyncState:
        found, _ = ProductSyncState.objects.get_or_create(product_id=product.pk)
        return found

    def save_state(self, sync_state: ProductSyncState, **changes) -> None:
        for name, value in changes.items():
            setattr(sync_state, name, value)
        # The cursor is Apple's links.next, checked for its origin but otherwise as sent.
        cursor = fit(ProductSyncState, {"backfill_next_url": sync_state.backfill_next_url})
        sync_state.backfill_next_url = cursor["backfill_next_url"]
        sync_state.last_synced_at = timezone.now()
        sync_state.save()

    def note_newest(self, sync_state: ProductSyncState, top_number: int) -> None:
        sync_state.newest_synced_number = max(top_number, sync_state.newest_synced_number or 0)
        self.save_state(sync_state)

    def note_whole_list(self, sync_state: ProductSyncState, full: bool) -> None:
        changes = {"backfill_next_url": "", "backfill_complete": True}
        if full:
            # When the walk ended, so another worker's full pass that began before skips it.
            changes["last_full_sync_at"] = timezone.now()
        self.save_state(sync_state, **changes)

    def advance_backfill(self, sync_state, page, top_number) -> None:
        if top_number is not None and sync_state.newest_synced_number is None:
            sync_state.newest_synced_number = top_number
        numbers = [run.number for run in page.items]
        if numbers:
            oldest = sync_state.oldest_synced_number
            sync_state.oldest_synced_number = min(numbers + ([oldest] if oldest else []))
        sync_state.backfill_next_url = page.next_url or ""
        sync_state.backfill_complete = page.next_url is None
        self.save_state(sync_state)
