"""The sync: walks App Store Connect's Xcode Cloud resources and upserts the mirror rows.

Products -> workflows -> build runs (newest first) -> actions -> artifacts, with the fewest
calls the API allows:

- A pass first walks each product's runs from the newest down to the newest run a previous
  pass stored as a whole, then re-polls runs that were still PENDING or RUNNING, then (budget
  permitting) continues the backfill of older runs from the stored `links.next`. Recent data
  of every product comes before the history of any.
- A run stored as COMPLETE is never fetched again (unless `full`); an action stored as
  COMPLETE keeps its artifacts, so a re-polled run costs one call plus one per new action.
- Each run, with its actions and artifacts, is written in one transaction: a killed process
  leaves whole runs, and a run is "stored as complete" only with its actions and artifacts.
- Before every call the hourly budget is checked against the reserve kept for other tools;
  reaching it (or `should_stop()` returning true) ends the pass early as PARTIAL, with the
  progress recorded for the next pass.
- Rows that vanish upstream are kept and marked `gone_upstream_at`, never deleted.

`sync()` records a `SyncRun` for the pass and returns it.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from . import locks, stats
from .asc import resources
from .asc.client import AscClient
from .asc.errors import AscError, NotFoundError, ParameterError
from .connection import client_from_settings
from .models import (
    CiArtifact,
    CiBuildAction,
    CiBuildRun,
    CiProduct,
    CiWorkflow,
    ExecutionProgress,
    ProductSyncState,
    SyncRun,
)

logger = logging.getLogger(__name__)

COMPLETE = ExecutionProgress.COMPLETE


class SyncError(Exception):
    """A sync that could not run or finish; the message is one actionable line."""


class SyncStopped(Exception):
    """The pass stops early on purpose (budget reserve reached, stop requested)."""


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    gone: int = 0


@dataclass
class ProgressEvent:
    """What the pass is doing, for progress bars and log lines."""

    product: str
    phase: str  # "recent", "re-poll", "backfill"
    runs: int  # runs fully fetched so far in this pass
    api_calls: int
    rate_limit_remaining: int | None


@dataclass
class _Pass:
    client: AscClient
    full: bool
    dry_run: bool
    reserve: int
    should_stop: Callable[[], bool]
    progress: Callable[[ProgressEvent], None] | None
    per_product_locks: bool
    counts: Counts = field(default_factory=Counts)
    runs_fetched: int = 0
    skipped_products: list[str] = field(default_factory=list)
    now: Any = None
    renew: Callable[[], None] | None = None  # keeps the lease (account or product) alive
    # Dates of existing artifacts that changed (size, type, run date, workflow): the days the
    # dashboard's daily rollup must recount.
    touched_days: set = field(default_factory=set)

    # --- budget -------------------------------------------------------------------------

    def before_call(self) -> None:
        """Stop before a call that would dip into the reserve kept for other tools."""
        remaining = self.client.rate_limit.remaining if self.client.rate_limit else None
        if remaining is not None and remaining <= self.reserve:
            raise SyncStopped(
                f"the hourly budget reached the reserve of {self.reserve} calls "
                f"({remaining} left); the next pass continues"
            )

    def between_units(self) -> None:
        if self.should_stop():
            raise SyncStopped("stop requested; the next pass continues")

    def guarded(self, iterable: Iterable) -> Iterator:
        """Iterate a paging generator, checking the budget before each page is fetched."""
        iterator = iter(iterable)
        while True:
            self.before_call()
            try:
                item = next(iterator)
            except StopIteration:
                return
            yield item

    def report(self, product: str, phase: str) -> None:
        if self.progress is not None:
            remaining = self.client.rate_limit.remaining if self.client.rate_limit else None
            self.progress(
                ProgressEvent(product, phase, self.runs_fetched, self.client.calls, remaining)
            )


def sync(
    client: AscClient | None = None,
    products: Iterable[str] | None = None,
    full: bool = False,
    dry_run: bool = False,
    reserve: int | None = None,
    should_stop: Callable[[], bool] | None = None,
    progress: Callable[[ProgressEvent], None] | None = None,
) -> SyncRun:
    """Run one sync pass and return its `SyncRun` (SUCCEEDED, PARTIAL or FAILED).

    Raises `SyncError` when the pass cannot start (no usable key, another sync running);
    a pass without a usable key is recorded as FAILED first, so /healthz reports it. A pass
    that fails once started is recorded as FAILED and returned.
    """
    product_ids = [p for p in (products or []) if p]
    if client is None:
        try:
            client = client_from_settings()
        except AscError as exc:
            error = _one_line(str(exc))
            SyncRun.objects.create(
                full=full,
                dry_run=dry_run,
                products=",".join(product_ids)[:500],
                status=SyncRun.Status.FAILED,
                error=error,
                finished_at=timezone.now(),
            )
            raise SyncError(error) from None
    reserve = settings.SYNC_RESERVE_CALLS if reserve is None else max(0, reserve)
    client.rate_limit = None  # what an earlier pass saw is out of date: the hour rolls on
    state = _Pass(
        client=client,
        full=full,
        dry_run=dry_run,
        reserve=reserve,
        should_stop=should_stop or (lambda: False),
        progress=progress,
        per_product_locks=locks.per_product_locks(),
        now=timezone.now(),
    )
    whole = (
        nullcontext() if state.per_product_locks or dry_run else locks.lease(locks.WHOLE_ACCOUNT)
    )
    try:
        with whole as held:
            state.renew = held.renew if held else None
            return _record_pass(state, product_ids)
    except locks.LockBusy as exc:
        raise SyncError(f"{exc}; this pass did nothing") from None


def _record_pass(state: _Pass, product_ids: list[str]) -> SyncRun:
    client = state.client
    calls_before = client.calls
    _close_abandoned_passes()
    run = SyncRun.objects.create(
        full=state.full,
        dry_run=state.dry_run,
        products=",".join(product_ids)[:500],
        owner=locks.process_id(),
    )
    started = time.monotonic()
    status, error = SyncRun.Status.SUCCEEDED, ""
    try:
        _walk(state, product_ids)
    except SyncStopped as exc:
        status, error = SyncRun.Status.PARTIAL, str(exc)
    except (AscError, SyncError, locks.LockLost) as exc:
        status, error = SyncRun.Status.FAILED, _one_line(str(exc))
    except BaseException as exc:
        # A bug or an interrupt: record it, then let it propagate with its traceback.
        _refresh_rollup(state)
        _finish(
            run,
            state,
            SyncRun.Status.FAILED,
            f"{type(exc).__name__}: {_one_line(str(exc))}",
            client.calls - calls_before,
        )
        raise
    _refresh_rollup(state)
    if status != SyncRun.Status.FAILED and state.skipped_products:
        note = f"skipped {len(state.skipped_products)} product(s) another sync is working on"
        error = f"{error}; {note}" if error else note
    _finish(run, state, status, error, client.calls - calls_before)
    logger.info("sync %s in %.1fs", status, time.monotonic() - started)
    return run


def _refresh_rollup(state: _Pass) -> None:
    """Bring the dashboard's daily totals up to date with what this pass wrote.

    New artifacts are found by the rollup itself; changed ones need their days named, and
    only this pass knows them, so it does this however it ends. A pass killed outright
    cannot: a full pass therefore recounts every day, mending whatever such a pass left."""
    if not state.dry_run:
        stats.refresh_rollup(rebuild=state.full, days=state.touched_days)


def _close_abandoned_passes() -> None:
    """Passes left "running" by a process that no longer exists on this machine (killed)
    are recorded as failed, so the history and /healthz tell the truth about them."""
    running = SyncRun.objects.filter(status=SyncRun.Status.RUNNING).exclude(owner="")
    dead = [run.pk for run in running.only("pk", "owner") if locks.holder_is_dead(run.owner)]
    SyncRun.objects.filter(pk__in=dead, status=SyncRun.Status.RUNNING).update(
        status=SyncRun.Status.FAILED,
        error="the sync process ended before the pass finished (killed?); later passes continue",
        finished_at=timezone.now(),
    )


def _finish(run: SyncRun, state: _Pass, status: str, error: str, calls: int) -> None:
    counts = state.counts
    run.status = status
    run.error = error
    run.created, run.updated = counts.created, counts.updated
    run.unchanged, run.gone = counts.unchanged, counts.gone
    run.api_calls = calls
    rate_limit = state.client.rate_limit
    run.rate_limit_remaining = rate_limit.remaining if rate_limit else None
    run.finished_at = timezone.now()
    run.save()


# --- the walk ----------------------------------------------------------------------------


def _walk(state: _Pass, product_ids: list[str]) -> None:
    products = _sync_products(state, product_ids)
    # Recent runs of every product first, then the history of each.
    for product in products:
        _with_product_lock(state, product, _sync_recent)
    if state.dry_run:
        return
    for product in products:
        _with_product_lock(state, product, _continue_backfill)


def _with_product_lock(state: _Pass, product: CiProduct, work) -> None:
    if not state.per_product_locks or state.dry_run:
        work(state, product)
        return
    try:
        with locks.lease(product.asc_id) as held:
            state.renew = held.renew
            work(state, product)
    except locks.LockBusy:
        if product.asc_id not in state.skipped_products:
            state.skipped_products.append(product.asc_id)
        logger.info("product %s: another sync is working on it; skipped", product.asc_id)
    finally:
        state.renew = None


def _renew(state: _Pass) -> None:
    if state.renew is not None:
        state.renew()


def _sync_products(state: _Pass, product_ids: list[str]) -> list[CiProduct]:
    client = state.client
    if product_ids:
        records = []
        for product_id in product_ids:
            state.before_call()
            try:
                records.append(client.product(product_id))
            except NotFoundError:
                stored = CiProduct.objects.filter(asc_id=product_id).first()
                if stored is None:
                    raise SyncError(
                        f"product {product_id} does not exist upstream: check the --product id"
                    ) from None
                _mark_gone(state, CiProduct.objects.filter(pk=stored.pk))
    else:
        records = list(state.guarded(client.products()))
    values = {p.id: _product_values(p) for p in records}
    counted = dataclasses.replace(state.counts)
    try:
        with transaction.atomic():
            rows = _upsert(state, CiProduct, values)
    except IntegrityError:
        # Another worker created the same products a moment ago: now they are updates.
        state.counts = counted
        rows = _upsert(state, CiProduct, values)
    if not product_ids:
        _mark_gone(state, CiProduct.objects.exclude(asc_id__in=[p.id for p in records]))
    if state.dry_run:
        return [CiProduct(asc_id=p.id, name=p.name, pk=rows.get(p.id)) for p in records]
    return list(CiProduct.objects.filter(asc_id__in=[p.id for p in records]).order_by("name"))


def _sync_recent(state: _Pass, product: CiProduct) -> None:
    """Workflows, the runs newer than the stored ones, and re-polls of unfinished runs."""
    client = state.client
    state.between_units()
    workflows = list(state.guarded(client.workflows(product.asc_id)))
    workflow_pks = _upsert(
        state, CiWorkflow, {w.id: _workflow_values(w, product.pk) for w in workflows}
    )
    _mark_gone(
        state,
        CiWorkflow.objects.filter(product_id=product.pk).exclude(
            asc_id__in=[w.id for w in workflows]
        ),
    )
    sync_state = _sync_state(state, product)
    newest = None if state.full else sync_state.newest_synced_number
    seen: set[str] = set()
    top_number = None
    reached = False
    state.report(product.name, "recent")
    for page in state.guarded(client.build_run_pages(product.asc_id)):
        if page.items and top_number is None:
            top_number = page.items[0].number
        for run in page.items:
            seen.add(run.id)
            if newest is not None and run.number <= newest:
                reached = True
        _sync_page(state, product, page.items, workflow_pks)
        state.report(product.name, "recent")
        if newest is None and not state.full:
            # A product's first walk is its backfill: record it page by page, and leave
            # the pages after the newest for the backfill phase, after every product's
            # recent runs.
            _advance_backfill(state, sync_state, page, top_number)
            if page.next_url and not state.dry_run:
                break
        if reached:
            break
    else:
        # The whole list was walked: everything not seen has vanished upstream.
        reached = True
        _mark_runs_gone(state, product, seen)
        if state.full:
            sync_state.last_full_sync_at = state.now
        _save_state(state, sync_state, backfill_next_url="", backfill_complete=True)
    if top_number is not None and reached and not state.dry_run:
        sync_state.newest_synced_number = max(top_number, sync_state.newest_synced_number or 0)
        _save_state(state, sync_state)
    _repoll_unfinished(state, product, seen, workflow_pks)


def _continue_backfill(state: _Pass, product: CiProduct) -> None:
    """Older runs, from where the last pass stopped, one page at a time."""
    sync_state = _sync_state(state, product)
    if sync_state.backfill_complete or sync_state.newest_synced_number is None:
        return
    workflow_pks = dict(
        CiWorkflow.objects.filter(product_id=product.pk).values_list("asc_id", "pk")
    )
    start_url = sync_state.backfill_next_url or None
    state.report(product.name, "backfill")
    try:
        pages = state.guarded(state.client.build_run_pages(product.asc_id, start_url=start_url))
        for page in pages:
            _sync_page(state, product, page.items, workflow_pks)
            _advance_backfill(state, sync_state, page, None)
            state.report(product.name, "backfill")
    except (NotFoundError, ParameterError):
        if start_url is None:
            raise
        # The stored cursor is no longer accepted: walk again from the newest run. Stored
        # complete runs cost nothing but their page, so this only spends page calls.
        logger.info("product %s: stored backfill cursor refused; restarting", product.asc_id)
        _save_state(state, sync_state, backfill_next_url="")
        _continue_backfill(state, product)


def _advance_backfill(state, sync_state, page, top_number) -> None:
    if state.dry_run:
        return
    if top_number is not None and sync_state.newest_synced_number is None:
        sync_state.newest_synced_number = top_number
    numbers = [run.number for run in page.items]
    if numbers:
        oldest = sync_state.oldest_synced_number
        sync_state.oldest_synced_number = min(numbers + ([oldest] if oldest else []))
    sync_state.backfill_next_url = page.next_url or ""
    sync_state.backfill_complete = page.next_url is None
    _save_state(state, sync_state)


def _sync_page(state, product, runs: list[resources.BuildRun], workflow_pks) -> None:
    """Sync one page of runs: fetch what is new or unfinished, refresh the rest for free."""
    stored = {row.asc_id: row for row in CiBuildRun.objects.filter(asc_id__in=[r.id for r in runs])}
    for run in runs:
        row = stored.get(run.id)
        workflow_pk = _workflow_pk(state, product, run, workflow_pks)
        if (
            not state.full
            and row is not None
            and row.execution_progress == COMPLETE
            and row.gone_upstream_at is None
        ):
            _refresh_stored_run(state, product, run, row, workflow_pk)
            continue
        state.between_units()
        _sync_run(state, product, run, workflow_pk, stored=row is not None)
    _renew(state)  # a walk over stored runs can take a while too


def _repoll_unfinished(state, product, seen: set[str], workflow_pks) -> None:
    """Runs stored as PENDING or RUNNING that the walk did not pass: one call each."""
    unfinished = (
        CiBuildRun.objects.filter(product_id=product.pk, gone_upstream_at__isnull=True)
        .exclude(execution_progress=COMPLETE)
        .order_by("-number")
        .values_list("asc_id", flat=True)
    )
    state.report(product.name, "re-poll")
    for run_id in [asc_id for asc_id in unfinished if asc_id not in seen]:
        state.between_units()
        state.before_call()
        try:
            run = state.client.build_run(run_id)
        except NotFoundError:
            with transaction.atomic():
                _mark_run_tree_gone(state, CiBuildRun.objects.filter(asc_id=run_id))
            continue
        _sync_run(state, product, run, _workflow_pk(state, product, run, workflow_pks), True)


def _workflow_pk(state, product, run, workflow_pks) -> int | None:
    """The run's workflow; one deleted from the list but still referenced is kept as a row."""
    if not run.workflow_id:
        return None
    if run.workflow_id not in workflow_pks and not state.dry_run:
        row = CiWorkflow.objects.filter(asc_id=run.workflow_id).first()
        if row is not None:
            workflow_pks[run.workflow_id] = row.pk
    return workflow_pks.get(run.workflow_id)


# --- one run: fetch, then one transaction -----------------------------------------------


def _sync_run(state: _Pass, product: CiProduct, run, workflow_pk, stored: bool) -> None:
    """Fetch a run's actions and their artifacts, then write them in one transaction.

    `stored` says whether the run has a row already; a new run skips the queries that
    only matter for rows stored before (gone marks, denormalised fields)."""
    client = state.client
    stored_complete_actions: set[str] = set()
    if stored and not state.full:
        stored_complete_actions = set(
            CiBuildAction.objects.filter(
                build_run__asc_id=run.id, execution_progress=COMPLETE, gone_upstream_at=None
            ).values_list("asc_id", flat=True)
        )
    try:
        actions = list(state.guarded(client.actions(run.id)))
        artifacts: dict[str, list[resources.Artifact]] = {}
        for action in actions:
            if action.execution_progress != COMPLETE:
                continue  # artifacts appear once an action completes; re-polled until then
            if action.id in stored_complete_actions:
                continue  # stored with its artifacts already
            artifacts[action.id] = list(state.guarded(client.artifacts(action.id)))
    except NotFoundError:
        # The run (or an action) vanished between the list and now.
        with transaction.atomic():
            _mark_run_tree_gone(state, CiBuildRun.objects.filter(asc_id=run.id))
        return
    state.runs_fetched += 1
    if state.dry_run:
        _store_run(state, product, run, workflow_pk, actions, artifacts, stored)
        return
    with transaction.atomic():
        _store_run(state, product, run, workflow_pk, actions, artifacts, stored)
    _renew(state)


def _store_run(state, product, run, workflow_pk, actions, artifacts, stored) -> None:
    run_pk = _upsert(state, CiBuildRun, {run.id: _run_values(run, product.pk, workflow_pk)})
    run_pk = run_pk.get(run.id)
    stored = stored and run_pk is not None
    if stored:
        _keep_denormalised_right(state, run_pk, product.pk, workflow_pk, run.created_date)
    action_pks = _upsert(state, CiBuildAction, {a.id: _action_values(a, run_pk) for a in actions})
    if stored:
        _mark_gone(
            state,
            CiBuildAction.objects.filter(build_run_id=run_pk).exclude(
                asc_id__in=[a.id for a in actions]
            ),
        )
    artifact_values = {}
    for action_id, items in artifacts.items():
        for artifact in items:
            artifact_values[artifact.id] = {
                "build_action_id": action_pks.get(action_id),
                "build_run_id": run_pk,
                "workflow_id": workflow_pk,
                "product_id": product.pk,
                "run_created_date": run.created_date,
                **_artifact_values(artifact),
            }
    _upsert(state, CiArtifact, artifact_values)
    if not stored:
        return
    for action_id, items in artifacts.items():
        action_pk = action_pks.get(action_id)
        if action_pk is not None:
            _mark_gone(
                state,
                CiArtifact.objects.filter(build_action_id=action_pk).exclude(
                    asc_id__in=[a.id for a in items]
                ),
            )


def _refresh_stored_run(state, product, run, row: CiBuildRun, workflow_pk) -> None:
    """A run stored as complete: update its own fields from the page, no further calls."""
    values = _run_values(run, product.pk, workflow_pk)
    changed = [name for name, value in values.items() if getattr(row, name) != value]
    if not changed:
        state.counts.unchanged += 1
        return
    state.counts.updated += 1
    if state.dry_run:
        return
    with transaction.atomic():
        for name in changed:
            setattr(row, name, values[name])
        row.save(update_fields=changed + ["last_synced_at"])
        _keep_denormalised_right(state, row.pk, product.pk, workflow_pk, run.created_date)


def _keep_denormalised_right(state, run_pk, product_pk, workflow_pk, created_date) -> None:
    """Artifacts carry their run's workflow, product and date: follow the run when it moves."""
    if state.dry_run:
        return
    stale = CiArtifact.objects.filter(build_run_id=run_pk).exclude(
        workflow_id=workflow_pk, product_id=product_pk, run_created_date=created_date
    )
    old_dates = set(stale.values_list("run_created_date", flat=True).distinct())
    if old_dates:
        stale.update(workflow_id=workflow_pk, product_id=product_pk, run_created_date=created_date)
        state.touched_days.update(d for d in old_dates | {created_date} if d is not None)


# --- gone upstream -----------------------------------------------------------------------


def _mark_gone(state: _Pass, queryset) -> None:
    """Mark the rows gone upstream (a dry run only counts them)."""
    queryset = queryset.filter(gone_upstream_at__isnull=True)
    if state.dry_run:
        state.counts.gone += queryset.count()
        return
    state.counts.gone += queryset.update(gone_upstream_at=state.now)


def _mark_run_tree_gone(state: _Pass, runs) -> None:
    run_pks = list(runs.values_list("pk", flat=True))
    _mark_gone(state, CiArtifact.objects.filter(build_run_id__in=run_pks))
    _mark_gone(state, CiBuildAction.objects.filter(build_run_id__in=run_pks))
    _mark_gone(state, CiBuildRun.objects.filter(pk__in=run_pks))


def _mark_runs_gone(state: _Pass, product: CiProduct, seen: set[str]) -> None:
    """After a walk of the whole list: stored runs it did not see have vanished upstream."""
    stored = CiBuildRun.objects.filter(product_id=product.pk, gone_upstream_at__isnull=True)
    missing = [asc_id for asc_id in stored.values_list("asc_id", flat=True) if asc_id not in seen]
    for start in range(0, len(missing), 500):
        with transaction.atomic():
            _mark_run_tree_gone(
                state, CiBuildRun.objects.filter(asc_id__in=missing[start : start + 500])
            )


# --- state -------------------------------------------------------------------------------


def _sync_state(state: _Pass, product: CiProduct) -> ProductSyncState:
    if state.dry_run or product.pk is None:
        found = ProductSyncState.objects.filter(product_id=product.pk).first()
        return found or ProductSyncState(product_id=product.pk)
    found, _ = ProductSyncState.objects.get_or_create(product_id=product.pk)
    return found


def _save_state(state: _Pass, sync_state: ProductSyncState, **changes) -> None:
    if state.dry_run:
        return
    for name, value in changes.items():
        setattr(sync_state, name, value)
    sync_state.last_synced_at = timezone.now()
    sync_state.save()


# --- upserts -----------------------------------------------------------------------------


def _upsert(state: _Pass, model, records: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Create or update rows by asc_id, counting honestly; returns asc_id -> pk.

    Rows are compared field by field: only those that differ are written, in bulk.
    A row that was marked gone upstream and is listed again is revived.
    """
    if not records:
        return {}
    counts = state.counts
    existing = {row.asc_id: row for row in model.objects.filter(asc_id__in=list(records))}
    to_create, to_update, changed_fields = [], [], set()
    for asc_id, values in records.items():
        values = _fit(model, values)
        row = existing.get(asc_id)
        if row is None:
            to_create.append(model(asc_id=asc_id, **values))
            continue
        changed = [name for name, value in values.items() if getattr(row, name) != value]
        if row.gone_upstream_at is not None:
            row.gone_upstream_at = None
            changed.append("gone_upstream_at")
        if not changed:
            counts.unchanged += 1
            continue
        if model is CiArtifact:
            dates = {row.run_created_date, values.get("run_created_date")}
            state.touched_days.update(d for d in dates if d is not None)
        for name in changed:
            if name != "gone_upstream_at":
                setattr(row, name, values[name])
        row.last_synced_at = state.now
        to_update.append(row)
        changed_fields.update(changed)
    if model is CiArtifact:
        # New artifacts are found by the rollup's id watermark too, but on PostgreSQL a
        # concurrent worker's lower ids can commit after the watermark moved past them:
        # naming their days keeps the daily totals exact either way.
        state.touched_days.update(
            row.run_created_date for row in to_create if row.run_created_date is not None
        )
    counts.created += len(to_create)
    counts.updated += len(to_update)
    pks = {asc_id: row.pk for asc_id, row in existing.items()}
    if state.dry_run:
        return pks
    if to_create:
        model.objects.bulk_create(to_create, batch_size=500)
        if any(row.pk is None for row in to_create):  # a backend that returns no ids
            created_ids = [row.asc_id for row in to_create]
            pks.update(model.objects.filter(asc_id__in=created_ids).values_list("asc_id", "pk"))
        else:
            pks.update({row.asc_id: row.pk for row in to_create})
    if to_update:
        model.objects.bulk_update(
            to_update, sorted(changed_fields | {"last_synced_at"}), batch_size=500
        )
    return pks


_MAX_LENGTHS: dict[type, dict[str, int]] = {}


def _fit(model, values: dict[str, Any]) -> dict[str, Any]:
    """Make Apple's strings storable: PostgreSQL refuses NUL characters and strings longer
    than their column, so a NUL becomes U+FFFD and a long string is cut."""
    for name, value in values.items():
        if isinstance(value, str) and "\x00" in value:
            values[name] = value.replace("\x00", "\ufffd")
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


# --- records -> column values -----------------------------------------------------------


def _product_values(product: resources.Product) -> dict[str, Any]:
    return {
        "name": product.name,
        "product_type": product.product_type or "",
        "created_date": product.created_date,
    }


def _workflow_values(workflow: resources.Workflow, product_pk) -> dict[str, Any]:
    return {
        "product_id": product_pk,
        "name": workflow.name,
        "description": workflow.description or "",
        "is_enabled": workflow.is_enabled,
        "last_modified_date": workflow.last_modified_date,
    }


def _issue_values(counts: resources.IssueCounts | None) -> dict[str, Any]:
    if counts is None:
        return {"analyzer_warnings": None, "errors": None, "test_failures": None, "warnings": None}
    return {
        "analyzer_warnings": counts.analyzer_warnings,
        "errors": counts.errors,
        "test_failures": counts.test_failures,
        "warnings": counts.warnings,
    }


def _run_values(run: resources.BuildRun, product_pk, workflow_pk) -> dict[str, Any]:
    source = run.source_commit
    destination = run.destination_commit
    return {
        "product_id": product_pk,
        "workflow_id": workflow_pk,
        "number": run.number,
        "created_date": run.created_date,
        "started_date": run.started_date,
        "finished_date": run.finished_date,
        "execution_progress": run.execution_progress or "",
        "completion_status": run.completion_status or "",
        "start_reason": run.start_reason or "",
        "cancel_reason": run.cancel_reason or "",
        "is_pull_request_build": run.is_pull_request_build,
        "source_commit_sha": source.sha if source else "",
        "source_commit_message": source.message if source else "",
        "source_commit_author": source.author if source else "",
        "source_commit_url": source.web_url if source else "",
        "destination_commit_sha": destination.sha if destination else "",
        "source_ref_name": run.source_ref_name or "",
        "source_ref_kind": run.source_ref_kind or "",
        "destination_branch_name": run.destination_branch_name or "",
        **_issue_values(run.issue_counts),
    }


def _action_values(action: resources.BuildAction, run_pk) -> dict[str, Any]:
    return {
        "build_run_id": run_pk,
        "name": action.name,
        "action_type": action.action_type or "",
        "started_date": action.started_date,
        "finished_date": action.finished_date,
        "execution_progress": action.execution_progress or "",
        "completion_status": action.completion_status or "",
        "is_required_to_pass": action.is_required_to_pass,
        **_issue_values(action.issue_counts),
    }


def _artifact_values(artifact: resources.Artifact) -> dict[str, Any]:
    # downloadUrl is deliberately not stored: it is a short-lived credential.
    return {
        "file_type": artifact.file_type or "",
        "file_name": artifact.file_name,
        "file_size": artifact.file_size,
    }


def _one_line(text: str, limit: int = 500) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
