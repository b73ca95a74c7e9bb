"""One pass over the API: products -> workflows -> build runs -> actions -> artifacts.

A pass first walks each product's runs from the newest down to the newest run a previous pass
stored as a whole, then re-polls runs that were still PENDING or RUNNING, then (budget
permitting) continues the backfill of older runs from the stored `links.next`. Recent data of
every product comes before the history of any. A run stored as COMPLETE is never fetched again
(unless `full`); an action stored as COMPLETE keeps its artifacts, so a re-polled run costs one
call plus one per new action. What the walk fetches goes to its writer.

Runs' actions and artifacts are fetched by a few workers (`fetch.py`) while this thread writes
the runs in list order; the hourly budget is checked before every call, whichever thread
makes it, and the pass stops before a call would dip into the reserve.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass

from .. import locks
from ..asc import resources
from ..asc.budget import CallBudget
from ..asc.client import AscClient
from ..asc.errors import NotFoundError, ParameterError
from ..models import CiBuildAction, CiBuildRun, CiProduct, CiWorkflow, ExecutionProgress
from . import columns
from .errors import SyncError, SyncStopped
from .fetch import Job, RunFetcher, RunTree
from .upsert import storable_id
from .writer import DryRunWriter, FetchedRun

logger = logging.getLogger(__name__)

COMPLETE = ExecutionProgress.COMPLETE
RENEW_EVERY = 60.0  # seconds between lease renewals: a lease lasts 15 minutes


@dataclass
class ProgressEvent:
    """What the pass is doing, for progress bars and log lines."""

    product: str
    phase: str  # "recent", "re-poll", "backfill"
    runs: int  # runs fully fetched so far in this pass
    api_calls: int
    rate_limit_remaining: int | None


class SyncPass:
    def __init__(
        self,
        client: AscClient,
        writer: DryRunWriter,
        full: bool = False,
        reserve: int = 0,
        should_stop: Callable[[], bool] | None = None,
        progress: Callable[[ProgressEvent], None] | None = None,
        concurrency: int = 1,
    ) -> None:
        self.client = client
        self.writer = writer
        self.full = full
        self.reserve = reserve
        self.should_stop = should_stop or (lambda: False)
        self.progress = progress
        self.runs_fetched = 0
        self.skipped_products: list[str] = []
        self.skipped_records: list[str] = []  # listed upstream with an id we cannot store
        self.renew: Callable[[], None] | None = None  # keeps the lease (account or product)
        # The key's products, when the team check (`team.py`) listed them already.
        self.listed_products: list[resources.Product] | None = None
        self._renewed_at = time.monotonic()
        # Every call of the pass, from any thread, asks this budget first.
        client.budget = CallBudget(reserve, self._reserve_reached)
        self.fetcher = RunFetcher(client, concurrency, self._storable)

    def close(self) -> None:
        """Stop the workers and hand the client back without this pass's budget."""
        self.fetcher.close()
        self.client.budget = None

    def run(self, product_ids: list[str]) -> None:
        products = self.products(product_ids)
        # Recent runs of every product first, then the history of each.
        for product in products:
            self._in_product_lease(product, self.recent)
        if self.writer.records_backfill:
            for product in products:
                self._in_product_lease(product, self.backfill)

    # --- budget, stop requests, progress ----------------------------------------------------

    def _reserve_reached(self, left: int) -> SyncStopped:
        return SyncStopped(
            f"the hourly budget reached the reserve of {self.reserve} calls "
            f"({left} left); the next pass continues"
        )

    def between_units(self) -> None:
        if self.should_stop():
            raise SyncStopped("stop requested; the next pass continues")

    def report(self, product: str, phase: str) -> None:
        if self.progress is not None:
            rate_limit = self.client.rate_limit
            remaining = rate_limit.remaining if rate_limit else None
            self.progress(
                ProgressEvent(product, phase, self.runs_fetched, self.client.calls, remaining)
            )

    def _storable(self, records: list, kind: str) -> list:
        """The records whose id can be stored; the others are skipped, and reported, so one
        odd record cannot stop the mirror."""
        kept = []
        for record in records:
            if storable_id(record.id):
                kept.append(record)
                continue
            shown = ascii(record.id)[:80]
            self.skipped_records.append(f"{kind} {shown}")
            logger.warning("skipped a %s whose id cannot be stored: %s", kind, shown)
        return kept

    def _renew(self) -> None:
        """Keep the lease, once a minute at most: a statement and a commit of its own."""
        if self.renew is not None and time.monotonic() - self._renewed_at >= RENEW_EVERY:
            self.renew()
            self._renewed_at = time.monotonic()

    def _in_product_lease(self, product: CiProduct, work) -> None:
        account_renew = self.renew
        try:
            with self.writer.product_lease(product.asc_id) as held:
                if held:
                    self.renew, self._renewed_at = held.renew, time.monotonic()
                work(product)
        except locks.LockBusy:
            if product.asc_id not in self.skipped_products:
                self.skipped_products.append(product.asc_id)
            logger.info("product %s: another sync is working on it; skipped", product.asc_id)
        finally:
            if self.renew is not account_renew:
                self.renew, self._renewed_at = account_renew, 0.0  # due: it waited meanwhile

    # --- phases -----------------------------------------------------------------------------

    def products(self, product_ids: list[str]) -> list[CiProduct]:
        """The products asked for (all by default), stored; the rest of them marked gone."""
        if product_ids:
            records = []
            for product_id in product_ids:
                if not storable_id(product_id):
                    raise SyncError(
                        f"{ascii(product_id)[:80]} is not a product id: check --product"
                    )
                try:
                    records.append(self.client.product(product_id))
                except NotFoundError:
                    stored = self.writer.rows(CiProduct).filter(asc_id=product_id).first()
                    if stored is None:
                        raise SyncError(
                            f"product {product_id} does not exist upstream: check the --product id"
                        ) from None
                    self._same_team_or_refuse()
                    self.writer.mark_gone(CiProduct.objects.filter(pk=stored.pk))
        elif self.listed_products is not None:
            records, self.listed_products = self.listed_products, None
        else:
            records = list(self.client.products())
        records = self._storable(records, "product")
        pks = self.writer.upsert_products({p.id: columns.product_columns(p) for p in records})
        if not product_ids:
            self.writer.mark_gone(
                self.writer.rows(CiProduct).exclude(asc_id__in=[p.id for p in records])
            )
        return self.writer.product_rows(records, pks)

    def _same_team_or_refuse(self) -> None:
        """A stored product answered 404: gone, unless the key sees none of the account's."""
        from .team import check_team

        check_team(self, [])
        self.listed_products = None

    def recent(self, product: CiProduct) -> None:
        """Workflows, the runs newer than the stored ones, and re-polls of unfinished runs."""
        writer = self.writer
        self.between_units()
        sync_state = writer.sync_state(product)
        walked = sync_state.last_full_sync_at
        if self.full and walked is not None and walked >= writer.now:
            # Another worker walked all of it after this pass began: not twice.
            logger.info("product %s: walked in full by another sync meanwhile", product.asc_id)
            return
        workflows = self._storable(list(self.client.workflows(product.asc_id)), "workflow")
        workflow_pks = writer.upsert(
            CiWorkflow, {w.id: columns.workflow_columns(w, product.pk) for w in workflows}
        )
        writer.mark_gone(
            CiWorkflow.objects.filter(product_id=product.pk).exclude(
                asc_id__in=[w.id for w in workflows]
            )
        )
        newest = None if self.full else sync_state.newest_synced_number
        seen: set[str] = set()
        top_number = None
        reached = False
        self.report(product.name, "recent")
        for page in self.client.build_run_pages(product.asc_id):
            if page.items and top_number is None:
                top_number = page.items[0].number
            for run in page.items:
                seen.add(run.id)
                if newest is not None and run.number <= newest:
                    reached = True
            self._sync_page(product, page.items, workflow_pks)
            self.report(product.name, "recent")
            if newest is None and not self.full:
                # A product's first walk is its backfill: record it page by page, and leave
                # the pages after the newest for the backfill phase, after every product's
                # recent runs.
                writer.advance_backfill(sync_state, page, top_number)
                if page.next_url and writer.records_backfill:
                    break
            if reached:
                break
        else:
            # The whole list was walked: everything not seen has vanished upstream.
            reached = True
            self._mark_runs_gone(product, seen)
            writer.note_whole_list(sync_state, full=self.full)
        if top_number is not None and reached:
            writer.note_newest(sync_state, top_number)
        self.repoll(product, seen, workflow_pks)

    def repoll(self, product: CiProduct, seen: set[str], workflow_pks: dict) -> None:
        """Runs stored as PENDING or RUNNING that the walk did not pass: one call each."""
        unfinished = (
            CiBuildRun.objects.filter(product_id=product.pk, gone_upstream_at__isnull=True)
            .exclude(execution_progress=COMPLETE)
            .order_by("-number")
        )
        self.report(product.name, "re-poll")
        rows = [row for row in unfinished if row.asc_id not in seen]
        jobs = [Job(row.asc_id, self._complete_actions(row), by_id=True) for row in rows]
        with closing(self.fetcher.in_order(jobs)) as trees:
            for row in rows:
                self.between_units()
                tree = next(trees)
                if tree.run is None:  # the run itself is gone upstream
                    self.writer.mark_run_tree_gone(CiBuildRun.objects.filter(pk=row.pk))
                    continue
                workflow_pk = self._workflow_pk(tree.run, workflow_pks)
                self._store_run(product, tree.run, workflow_pk, row, tree)

    def backfill(self, product: CiProduct) -> None:
        """Older runs, from where the last pass stopped, one page at a time."""
        writer = self.writer
        sync_state = writer.sync_state(product)
        if sync_state.backfill_complete or sync_state.newest_synced_number is None:
            return
        workflow_pks = dict(
            CiWorkflow.objects.filter(product_id=product.pk).values_list("asc_id", "pk")
        )
        start_url = sync_state.backfill_next_url or None
        if start_url and not self.client.is_own_link(start_url):
            # Stored before links were checked on arrival: never send the token there.
            logger.warning(
                "product %s: stored backfill cursor is off the API; restarting", product.asc_id
            )
            writer.save_state(sync_state, backfill_next_url="")
            start_url = None
        self.report(product.name, "backfill")
        try:
            pages = self.client.build_run_pages(product.asc_id, start_url=start_url)
            for page in pages:
                self._sync_page(product, page.items, workflow_pks)
                writer.advance_backfill(sync_state, page, None)
                self.report(product.name, "backfill")
        except (NotFoundError, ParameterError):
            if start_url is None:
                raise
            # The stored cursor is no longer accepted: walk again from the newest run. Stored
            # complete runs cost nothing but their page, so this only spends page calls.
            logger.info("product %s: stored backfill cursor refused; restarting", product.asc_id)
            writer.save_state(sync_state, backfill_next_url="")
            self.backfill(product)

    def one_run(self, run_id: str) -> None:
        """One build run by id: a run a webhook announced.

        A run still pending or running costs one call (its own fields: artifacts come only
        with completion); a completed one also its actions and one call per action completed
        since stored; one stored as complete costs nothing. A product or workflow not stored
        yet costs one call more. A run the API does not know raises NotFoundError, after
        marking a stored one gone; another worker holding the product's lease, LockBusy."""
        row = self.writer.rows(CiBuildRun).filter(asc_id=run_id).first()
        if row is not None and row.execution_progress == COMPLETE and not row.gone_upstream_at:
            return  # nothing about it can change any more
        run = self._fetch_run(run_id)
        product = self.writer.rows(CiProduct).filter(asc_id=run.product_id).first()
        if product is None:
            found = self.products([run.product_id])
            if not found:
                return  # another account mirrors its product: left alone, noted as foreign
            [product] = found
        with self.writer.product_lease(product.asc_id):
            workflow_pks: dict = {}
            if run.workflow_id and self._workflow_pk(run, workflow_pks) is None:
                workflows = list(self.client.workflows(product.asc_id))
                workflow_pks = self.writer.upsert(
                    CiWorkflow, {w.id: columns.workflow_columns(w, product.pk) for w in workflows}
                )
            workflow_pk = workflow_pks.get(run.workflow_id)
            if run.is_finished:
                tree = self.fetcher.tree(Job(run.id, self._complete_actions(row)))
                self._store_run(product, run, workflow_pk, row, tree)
            elif row is None:
                self.writer.store_run(FetchedRun(product, run, workflow_pk, [], {}, None))
            else:
                self.writer.refresh_run(product, run, row, workflow_pk)

    # --- pages and runs ---------------------------------------------------------------------

    def _fetch_run(self, run_id: str) -> resources.BuildRun:
        """The run from the API; one it no longer knows is marked gone (and NotFoundError)."""
        try:
            return self.client.build_run(run_id)
        except NotFoundError:
            self.writer.mark_run_tree_gone(self.writer.rows(CiBuildRun).filter(asc_id=run_id))
            raise

    def _sync_page(self, product, runs: list[resources.BuildRun], workflow_pks: dict) -> None:
        """Sync one page of runs: fetch what is new or unfinished, refresh the rest for free."""
        runs = self._storable(runs, "build run")
        stored = {
            row.asc_id: row
            for row in self.writer.rows(CiBuildRun).filter(asc_id__in=[r.id for r in runs])
        }
        to_fetch = []
        for run in runs:
            row = stored.get(run.id)
            workflow_pk = self._workflow_pk(run, workflow_pks)
            if (
                not self.full
                and row is not None
                and row.execution_progress == COMPLETE
                and row.gone_upstream_at is None
            ):
                self.writer.refresh_run(product, run, row, workflow_pk)
                continue
            to_fetch.append((run, workflow_pk, row))
        jobs = [Job(run.id, self._complete_actions(row)) for run, _pk, row in to_fetch]
        with closing(self.fetcher.in_order(jobs)) as trees:
            for run, workflow_pk, row in to_fetch:
                self.between_units()
                self._store_run(product, run, workflow_pk, row, next(trees))
        self._renew()  # a walk over stored runs can take a while too

    def _workflow_pk(self, run: resources.BuildRun, workflow_pks: dict) -> int | None:
        """The run's workflow; one deleted from the list but still referenced is kept as a row."""
        if not run.workflow_id or not storable_id(run.workflow_id):
            return None
        if run.workflow_id not in workflow_pks:
            pk = self.writer.stored_workflow_pk(run.workflow_id)
            if pk is not None:
                workflow_pks[run.workflow_id] = pk
        return workflow_pks.get(run.workflow_id)

    def _complete_actions(self, row) -> frozenset[str]:
        """The stored run's actions stored as complete: their artifacts are not fetched again.
        A new run skips the query."""
        if row is None or self.full:
            return frozenset()
        return frozenset(
            CiBuildAction.objects.filter(
                build_run_id=row.pk, execution_progress=COMPLETE, gone_upstream_at=None
            ).values_list("asc_id", flat=True)
        )

    def _store_run(self, product, run: resources.BuildRun, workflow_pk, row, tree: RunTree):
        """Hand a run with the actions and artifacts fetched under it to the writer.

        `row` is the run's stored row, or None; a new run skips the queries that only
        matter for rows stored before (gone marks, denormalised fields)."""
        if tree.gone:
            # The run (or an action) vanished between the list and now.
            self.writer.mark_run_tree_gone(self.writer.rows(CiBuildRun).filter(asc_id=run.id))
            return
        self.runs_fetched += 1
        self.writer.store_run(
            FetchedRun(product, run, workflow_pk, tree.actions, tree.artifacts, row)
        )
        self._renew()

    def _mark_runs_gone(self, product: CiProduct, seen: set[str]) -> None:
        """After a walk of the whole list: stored runs it did not see have vanished upstream."""
        stored = CiBuildRun.objects.filter(product_id=product.pk, gone_upstream_at__isnull=True)
        missing = [
            asc_id for asc_id in stored.values_list("asc_id", flat=True) if asc_id not in seen
        ]
        for start in range(0, len(missing), 500):
            self.writer.mark_run_tree_gone(
                self.writer.rows(CiBuildRun).filter(asc_id__in=missing[start : start + 500])
            )
